#!/usr/bin/env python3
"""A Sentinel-aware writer, as redsim's `target = "sentinel:<name>"` clients and redis-py's
Sentinel behave: ask the sentinels in turn with SENTINEL get-master-addr-by-name (a refused,
reset or silent sentinel means: ask the next one), connect to the answer, check with ROLE that
it is the master, and only then write. It asks again when the connection fails, when an
operation times out, and when the server says it is not the master (-READONLY).

Every operation is a SET of a key no other operation writes (`<client>:<i>`), so an
acknowledged write is lost exactly when its key is missing from the final master. Each
operation is written as one JSON line when it completes: client, i, key, invoke and complete
times (seconds since the run's time 0, wall clock of this machine, which every namespace
shares), outcome ok / fail (with the error's first word) / unknown (timed out), and the
address that answered.

`dump` mode prints one JSON object {key: value} of every key of a server (SCAN + MGET).

Standard library only. Run inside a network namespace by run_splitbrain.py.
"""

import argparse
import json
import socket
import sys
import time


class RespError(Exception):
    pass


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, host, port, timeout_s):
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.addr = "%s:%d" % (host, port)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ConnectionError("bad reply %r" % line)

    def call(self, *args):
        self.sock.sendall(encode(*args))
        return self.reply()


def discover(sentinels, master_name, timeout_s):
    """The master's connection, asking each sentinel in turn; None when none answers."""
    for host, port in sentinels:
        try:
            s = Conn(host, port, timeout_s)
            try:
                addr = s.call("SENTINEL", "get-master-addr-by-name", master_name)
            finally:
                s.close()
            if not addr:
                continue
            c = Conn(addr[0].decode(), int(addr[1]), timeout_s)
            role = c.call("ROLE")
            if role and role[0] == b"master":
                return c
            c.close()
        except (OSError, RespError, ConnectionError, ValueError):
            continue
    return None


def write_loop(args):
    sentinels = []
    for s in args.sentinels.split(","):
        host, port = s.rsplit(":", 1)
        sentinels.append((host, int(port)))
    timeout_s = args.timeout_ms / 1000.0
    out = open(args.out, "w")
    conn = None
    period = 1.0 / args.rate
    i = 0
    while True:
        slot = args.t0 + args.start + i * period
        if slot >= args.t0 + args.stop:
            break
        now = time.time()
        if slot > now:
            time.sleep(slot - now)
        elif now - slot > period:
            # Late (a timeout or a discovery took the time): skip the slots that passed,
            # as an open-loop client that sheds load would; attempts are the ops sent.
            i += int((now - slot) / period)
            continue
        key = "%s:%d" % (args.name, i)
        invoke = time.time() - args.t0
        rec = {"client": args.name, "i": i, "key": key, "invoke_s": round(invoke, 4)}
        if conn is None:
            conn = discover(sentinels, args.master_name, timeout_s)
        if conn is None:
            rec.update(outcome="fail", error="NOCONN")
        else:
            rec["node"] = conn.addr
            try:
                reply = conn.call("SET", key, "%s@%.4f" % (key, invoke))
                rec["outcome"] = "ok" if reply == "OK" else "fail"
            except RespError as e:
                code = str(e).split(" ", 1)[0]
                rec.update(outcome="fail", error=code)
                if code in ("READONLY", "MASTERDOWN"):
                    conn.close()
                    conn = None
            except socket.timeout:
                rec["outcome"] = "unknown"
                conn.close()
                conn = None
            except (OSError, ConnectionError):
                rec["outcome"] = "unknown"
                conn.close()
                conn = None
        rec["complete_s"] = round(time.time() - args.t0, 4)
        out.write(json.dumps(rec) + "\n")
        out.flush()
        i += 1
    out.close()


def dump(args):
    c = Conn(args.host, args.port, 10.0)
    cursor = b"0"
    keys = []
    while True:
        cursor, batch = c.call("SCAN", cursor, "COUNT", 1000)
        keys += batch
        if cursor == b"0":
            break
    values = {}
    for k in range(0, len(keys), 500):
        chunk = keys[k:k + 500]
        for key, value in zip(chunk, c.call("MGET", *chunk)):
            if value is not None:
                values[key.decode()] = value.decode()
    json.dump(values, sys.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    w = sub.add_parser("write")
    w.add_argument("--name", required=True)
    w.add_argument("--sentinels", required=True, help="host:port,... in the order to ask")
    w.add_argument("--master-name", default="mymaster")
    w.add_argument("--rate", type=float, default=50.0, help="writes per second")
    w.add_argument("--t0", type=float, required=True, help="the run's time 0 (unix seconds)")
    w.add_argument("--start", type=float, default=0.0, help="seconds after t0")
    w.add_argument("--stop", type=float, required=True, help="seconds after t0")
    w.add_argument("--timeout-ms", type=int, default=1000)
    w.add_argument("--out", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--host", required=True)
    d.add_argument("--port", type=int, default=6379)
    args = ap.parse_args()
    if args.mode == "write":
        write_loop(args)
    else:
        dump(args)


if __name__ == "__main__":
    main()
