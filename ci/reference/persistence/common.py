"""Shared helpers for the persistence calibration scripts (standard library only).

Each script starts its own redis-server (ports 23100-23199) in its own temp
directory, speaks RESP over a plain socket, and removes the directory and
stops the server when it is done, even on an exception.
"""

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

REDIS_SERVER = "/usr/bin/redis-server"
HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS_DIR = os.path.join(HERE, "results")


def encode(*args):
    """One RESP command as bytes; arguments may be str, bytes or int."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n" % len(a))
        out.append(a)
        out.append(b"\r\n")
    return b"".join(out)


class RespError(Exception):
    pass


class Conn:
    """A blocking RESP connection with a buffered reader for pipelining."""

    def __init__(self, port, host="127.0.0.1", timeout=600):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rf = self.sock.makefile("rb", buffering=1 << 20)

    def close(self):
        try:
            self.rf.close()
            self.sock.close()
        except OSError:
            pass

    def read_reply(self):
        line = self.rf.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rf.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read_reply() for _ in range(n)]
        raise ValueError("bad RESP line %r" % line)

    def call(self, *args):
        self.sock.sendall(encode(*args))
        r = self.read_reply()
        if isinstance(r, RespError):
            raise r
        return r

    def pipeline(self, payload, n):
        """Send pre-encoded commands and read n replies; raise on the first error."""
        self.sock.sendall(payload)
        errs = None
        for _ in range(n):
            r = self.read_reply()
            if isinstance(r, RespError) and errs is None:
                errs = r
        if errs is not None:
            raise errs

    def info(self, section=None):
        raw = self.call("INFO", section) if section else self.call("INFO")
        d = {}
        for ln in raw.decode().split("\r\n"):
            if ":" in ln and not ln.startswith("#"):
                k, v = ln.split(":", 1)
                d[k] = v
        return d


def num(v):
    try:
        return int(v)
    except ValueError:
        return float(v)


class Server:
    """A redis-server child process in a fresh temp dir, stopped on exit."""

    def __init__(self, port, config=(), name="calib"):
        assert 23100 <= port <= 23199, "calibration ports are 23100-23199"
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="redsim-calib-%s-" % name, dir="/tmp")
        self.log = os.path.join(self.dir, "redis.log")
        base = [
            "--port", str(port), "--bind", "127.0.0.1", "--dir", self.dir,
            "--logfile", self.log, "--loglevel", "verbose", "--save", "",
            "--appendonly", "no", "--enable-debug-command", "yes",
            "--daemonize", "no",
        ]
        args = [REDIS_SERVER] + base + [str(a) for a in config]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.conn = self._connect()

    def _connect(self):
        deadline = time.time() + 20
        while True:
            try:
                c = Conn(self.port)
                c.call("PING")
                return c
            except (ConnectionError, OSError):
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("redis-server did not start; see %s" % self.log)
                time.sleep(0.05)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.conn.sock.sendall(encode("SHUTDOWN", "NOSAVE"))
            except OSError:
                pass
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.conn.close()
        if os.environ.get("CALIB_KEEP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def wait_idle(self, field, poll=0.01, timeout=3600):
        """Poll INFO persistence until `field` (e.g. rdb_bgsave_in_progress) is 0."""
        t0 = time.time()
        while True:
            if self.conn.info("persistence")[field] == "0":
                return time.time() - t0
            if time.time() - t0 > timeout:
                raise TimeoutError(field)
            time.sleep(poll)

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


LOG_TS = re.compile(r"^(\d+):([A-Z]) (\d+ \w+ \d+ \d+:\d+:\d+\.\d+) [.\-*#] (.*)$")


def log_events(text):
    """(pid, role, epoch seconds, message) for each server log line."""
    out = []
    for ln in text.splitlines():
        m = LOG_TS.match(ln)
        if m:
            ts = time.mktime(time.strptime(m.group(3)[:-4], "%d %b %Y %H:%M:%S"))
            ts += float("0" + m.group(3)[-4:])
            out.append((int(m.group(1)), m.group(2), ts, m.group(4)))
    return out


COW_RE = re.compile(r"Fork CoW for (RDB|AOF rewrite): current (\d+) MB, peak (\d+) MB, average (\d+) MB")


def last_child_span(text, start_msg, end_msg):
    """Seconds between the last `start_msg` line and the next `end_msg` line, and the final CoW line."""
    ev = log_events(text)
    start = end = None
    for i, (_, _, ts, msg) in enumerate(ev):
        if start_msg in msg:
            start, end = ts, None
        elif end_msg in msg and start is not None:
            end = ts
    cows = [m.groups() for m in COW_RE.finditer(text)]
    cow = None
    if cows:
        _, cur, peak, avg = cows[-1]
        cow = {"current_mb": int(cur), "peak_mb": int(peak), "average_mb": int(avg)}
    return (end - start if start is not None and end is not None else None), cow


def summary(values):
    """median, min, max of a list of numbers (None values dropped)."""
    vs = [v for v in values if v is not None]
    if not vs:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(vs), "min": min(vs), "max": max(vs), "n": len(vs)}


def percentile(vs, p):
    s = sorted(vs)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def schedstat(pid, tid=None):
    """(ns on CPU, ns waiting on a run queue) of one thread, or summed over a process's threads."""
    tids = [tid] if tid else os.listdir("/proc/%d/task" % pid)
    run = wait = 0
    for t in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                a, b, _ = f.read().split()
            run += int(a)
            wait += int(b)
        except OSError:
            pass
    return run, wait


def machine_note():
    load = open("/proc/loadavg").read().split()[:3]
    thp = open("/sys/kernel/mm/transparent_hugepage/enabled").read().strip()
    mem = open("/proc/meminfo").read().split("\n")[:3]
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "loadavg": load,
            "thp": thp, "nproc": os.cpu_count(), "meminfo": [m.split(":")[1].strip() for m in mem]}


def save_result(name, data):
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, name + ".json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    print("wrote", path)


def load_random_strings(conn, n, size, prefix="key:", batch=1000, start=0):
    """SET prefix<i> to `size` random bytes for i in [start, start+n), pipelined."""
    i = start
    end = start + n
    while i < end:
        m = min(batch, end - i)
        blob = os.urandom(size * m)
        payload = b"".join(encode("SET", b"%s%d" % (prefix.encode(), i + j), blob[j * size:(j + 1) * size])
                           for j in range(m))
        conn.pipeline(payload, m)
        i += m


def populate(srv, n, size, prefix="key", random_values=False):
    """DEBUG POPULATE (zero padded, compressible) or random values under the same key names."""
    if random_values:
        load_random_strings(srv.conn, n, size, prefix=prefix + ":")
    else:
        srv.conn.call("DEBUG", "POPULATE", n, prefix, size)
