#!/usr/bin/env python3
"""Differential check of the string and expire commands: runs the same command
sequences against real redis-server and redsim serve and compares raw replies.

Usage: strings_diff.py REDIS_PORT REDSIM_PORT
A command prefixed with "~" is time dependent: integer replies may differ by 1
(TTL) or by up to 50 (PTTL / PEXPIRETIME in ms)."""

import shlex
import socket
import sys
import time


def encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self.buf += self.s.recv(65536)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def reply(self):
        """One whole reply, as raw bytes."""
        line = self._line()
        raw = line + b"\r\n"
        t = line[:1]
        if t == b"$":
            n = int(line[1:])
            if n >= 0:
                raw += self._exact(n + 2)
        elif t == b"*":
            n = int(line[1:])
            for _ in range(max(n, 0)):
                raw += self.reply()
        return raw

    def call(self, args):
        self.s.sendall(encode(args))
        return self.reply()


def close_enough(a, b):
    if not (a.startswith(b":") and b.startswith(b":")):
        return a == b
    x, y = int(a[1:-2]), int(b[1:-2])
    return abs(x - y) <= 50


CASES = []


def case(*cmds):
    CASES.append([shlex.split(c) if isinstance(c, str) else c for c in cmds])


NOW = int(time.time())
NOWMS = NOW * 1000
FAR = str(NOW + 100000)
FARMS = str(NOWMS + 100000000)

# GET / SET and its options
case("get nokey", "set k v", "get k", "set k v2 nx", "get k", "set k v3 xx", "get k", "set n v xx", "get n")
case("set k v nx xx", "set k v xx nx", "set k v get get", "set k v keepttl ex 10", "set k v ex 10 keepttl")
case("set k v ex 10 px 100", "set k v ex", "set k v px", "set k v foo", "set k v ex 10 ex 20", "~ttl k")
case("set k v ex 0", "set k v ex -1", "set k v px 0", "set k v ex abc", "set k v ex 9223372036854775807",
     "set k v px 9223372036854775807", "set k v exat 0", "set k v pxat -5", "set k v ex 9223372036854775")
case("set k v exat 1", "get k", "exists k", "set k v pxat 1", "get k")
case("set k v ex 100", "~ttl k", "set k v2 keepttl", "~ttl k", "set k v3", "ttl k")
case("set k old", "set k new get", "set k newer get nx", "get k", "set x v get xx", "get x", "set x v get nx", "get x")
case("lpush l a", "set l v get", "set l v", "type l", "get l")
case("lpush l a", "set l v nx get", "set l v xx get", "get l")
case(["set", "k", "v", "EX", FAR[-3:]], ["set", "k2", "v", "exat", FAR], "~ttl k2", "~expiretime k2",
     ["set", "k3", "v", "pxat", FARMS], "~pexpiretime k3", "~pttl k3")
case("set k v nX", "set k v Nx", "set k v GeT", "set k v KeEpTtL", "set k v pXaT", "set k v persist")
case("set", "set k", "get", "get a b")
# SETNX SETEX PSETEX
case("setnx k v", "setnx k v2", "get k", "setnx k", "setex k 10 v", "~ttl k", "setex k 0 v", "setex k -1 v",
     "setex k abc v", "psetex k 0 v", "psetex k 100000 v", "~pttl k", "psetex k abc v", "setex k 9223372036854775 v")
case("lpush l a", "setnx l v", "setex l 10 v", "type l", "~ttl l")
# MGET MSET MSETNX
case("mset a 1 b 2", "mget a b c", "lpush l x", "mget a l b", "mset a", "mset a 1 b", "msetnx a 1 b 2",
     "msetnx c 3 d 4", "mget c d", "msetnx c 3", "msetnx e 1 e 2", "get e")
# GETSET GETDEL GETEX
case("getset k v", "getset k v2", "get k", "lpush l a", "getset l v", "set t v ex 100", "getset t v2", "ttl t")
case("getdel k", "set k v", "getdel k", "exists k", "lpush l a", "getdel l", "exists l")
case("getex k", "set k v", "getex k", "ttl k", "getex k ex 100", "~ttl k", "getex k persist", "ttl k",
     "getex k px 5000", "~pttl k", "getex k exat 1", "exists k")
case("set k v", "getex k ex 0", "getex k ex -1", "getex k px abc", "getex k ex 10 px 10", "getex k persist ex 10",
     "getex k ex 10 persist", "getex k nx", "getex k get", "getex k keepttl", "getex k ex", "getex k foo",
     "getex missing ex 0", "getex missing foo", "ttl k")
case("lpush l a", "getex l", "getex l ex 0", "getex l foo", "getex", "set k v",
     ["getex", "k", "pxat", str(NOWMS - 1000)], "exists k")
case("set k v", ["getex", "k", "exat", FAR], "~expiretime k", "getex k persist", "getex k persist", "ttl k")
# INCR family
case("incr k", "incr k", "decr k", "incrby k 10", "decrby k 3", "get k", "incrby k abc", "decrby k 1.5",
     "set k 9223372036854775807", "incr k", "incrby k 1", "decr k", "set k -9223372036854775808", "decr k",
     "decrby k 1", "decrby k -9223372036854775808", "decrby x -9223372036854775808", "incrby k -9223372036854775808")
case("set k abc", "incr k", "set k ' 1'", "incr k", "set k 01", "incr k", "set k -0", "incr k", "set k +1",
     "incr k", "set k 1.0", "incr k", "lpush l a", "incr l", "incrby l 1", "decr l")
case("set k 10", "expire k 100", "incr k", "~ttl k", "incrbyfloat k 1.5", "~ttl k", "append k x", "~ttl k",
     "setrange k 0 9", "~ttl k", "get k")
# INCRBYFLOAT
case("incrbyfloat k 10.1", "incrbyfloat k 0.1", "incrbyfloat k 0.1", "incrbyfloat k -20.3", "get k",
     "incrbyfloat k 5.0e3", "incrbyfloat k 2.0e2", "incrbyfloat k 1e-5", "incrbyfloat k abc", "incrbyfloat k ' 1'",
     "incrbyfloat k nan", "incrbyfloat k inf", "incrbyfloat k -inf", "incrbyfloat k 1e400", "incrbyfloat k -1e400")
case("incrbyfloat a 0.1", "incrbyfloat b 1", "incrbyfloat c 3.0", "incrbyfloat d 1.1e1", "incrbyfloat e -0.0",
     "incrbyfloat f 0x10", "incrbyfloat g 1e-20", "incrbyfloat h -1e-20", "incrbyfloat i 1.23456789012345678901",
     "incrbyfloat j 12345678901234567890", "incrbyfloat k 0.3", "incrbyfloat k 0.6", "incrbyfloat l 1e30",
     "incrbyfloat m 2.5e-3", "incrbyfloat n 1e4931", "incrbyfloat n 1e4931", "incrbyfloat o 1e-4940",
     "incrbyfloat p 1e-5000", "incrbyfloat q 1.5e308", "incrbyfloat r 3.14159265358979323846264338327950288",
     "incrbyfloat s +5", "incrbyfloat t 1.", "incrbyfloat u .5", "incrbyfloat v 1e", "incrbyfloat w 1e+",
     "incrbyfloat x INF", "incrbyfloat y Infinity", "incrbyfloat z 0x1p-3", "incrbyfloat aa 1_0")
case("set k abc", "incrbyfloat k 1", "set k 1.5e3", "incrbyfloat k 1", "set k 9223372036854775807",
     "incrbyfloat k 1", "set k 99999999999999999999", "incrbyfloat k 1", "lpush l a", "incrbyfloat l 1",
     "set k 0.1", "incrbyfloat k 0.2", "set k 1e3", "incrbyfloat k 0", "set k 7.0", "incrbyfloat k 0")
# APPEND STRLEN GETRANGE SUBSTR SETRANGE
case("append k hello", "append k ' world'", "get k", "strlen k", "strlen nokey", "lpush l a", "append l x",
     "strlen l", "append n ''", "exists n", "set i 123", "append i 4", "get i", "strlen i")
case("set k 'Hello World'", "getrange k 0 4", "getrange k -5 -1", "getrange k 5 2", "getrange k -1 -5",
     "getrange k 0 -1", "getrange k 0 1000", "getrange k -1000 3", "getrange k 100 200", "getrange k a 1",
     "getrange k 0 b", "getrange nokey 0 -1", "substr k 0 3", "substr k -3 -1", "set e ''", "getrange e 0 -1",
     "getrange e -1 0", "getrange k -9223372036854775808 9223372036854775807", "lpush l a", "getrange l 0 1",
     "getrange nokey a b", "getrange k 2 -100", "set i 12345", "getrange i 1 2")
case("setrange k 5 hello", "get k", "strlen k", "setrange k 0 XY", "get k", "setrange k -1 x", "setrange k a x",
     "setrange n 10 ''", "exists n", "setrange k 100 ''", "setrange k 536870911 x", "setrange k 536870912 x",
     "setrange z 536870912 x", "setrange z 9223372036854775807 x", "lpush l a", "setrange l 0 x",
     "setrange l 0 ''", "set i 12345", "setrange i 1 9", "get i", "setrange nokey -1 ''", "exists z")
# EXPIRE family
case("set k v", "expire k 100", "~ttl k", "~pttl k", "pexpire k 200000", "~ttl k", "expire nokey 10",
     "ttl nokey", "pttl nokey", "expiretime nokey", "pexpiretime nokey", "set p v", "ttl p", "pttl p",
     "expiretime p", "pexpiretime p", "persist p", "persist nokey", "persist k", "persist k", "ttl k")
case("set k v", "expire k 100 nx", "expire k 200 nx", "~ttl k", "expire k 300 xx", "~ttl k", "expire k 200 gt",
     "~ttl k", "expire k 400 gt", "~ttl k", "expire k 500 lt", "expire k 100 lt", "~ttl k", "set j v",
     "expire j 100 xx", "expire j 100 gt", "expire j 100 lt", "~ttl j", "set m v", "expire m -1 lt", "exists m")
case("set k v", "expire k 10 nx xx", "expire k 10 nx gt", "expire k 10 nx lt", "expire k 10 gt lt",
     "expire k 10 foo", "expire k 10 xx gt", "expire k abc", "expire k 10 nx nx", "expire k abc foo",
     "expire k abc nx xx", "expire k 9223372036854775807", "expire k -9223372036854775808",
     "expire k 9223372036854775", "pexpire k 9223372036854775807", "expireat k 9223372036854775807",
     "pexpireat k 9223372036854775807", "~ttl k", "expire nokey abc", "expire nokey 10 foo", "expire k",
     "expire k 1.5", "pexpire k 9223372036854775806", "expire k 10 XX Gt", "~ttl k")
case("set k v", "expire k 0", "exists k", "set k v", "expire k -10", "exists k", "set k v", "pexpire k -1",
     "exists k", "set k v", "expireat k 1", "exists k", "set k v", "pexpireat k 1000", "exists k",
     "set k v", "pexpireat k -9223372036854775808", "exists k", "set k v",
     "expireat k -9223372036854775", "exists k")
case("set k v", ["expireat", "k", FAR], "~ttl k", "~expiretime k", "~pexpiretime k", ["pexpireat", "k", FARMS],
     "~pttl k", "~pexpiretime k", "expire k 100 gt", "~ttl k")
case("lpush l a", "expire l 100", "~ttl l", "persist l", "ttl l", "type l", "ttl", "persist", "expire",
     "ttl a b", "pttl", "expiretime a b")
case("set k v px 100", "~pttl k", "ttl k")
case("set k v", "pexpire k 1", "sleep", "get k", "ttl k", "exists k", "set j v px 1", "sleep", "mget j",
     "strlen j", "append j x", "ttl j", "get j")
case("set k v", "pexpire k 1", "sleep", "incr k", "ttl k", "set j v px 1", "sleep", "getex j ex 10",
     "set m v px 1", "sleep", "setnx m x", "get m", "set n v px 1", "sleep", "expire n 100", "persist n",
     "set o v px 1", "sleep", "set o w xx", "set o w nx", "get o", "set q v px 1", "sleep", "getdel q",
     "getrange q 0 -1", "setrange q 0 ''", "msetnx q 1")
case("set k v", "set k2 v", "mset a", "mset a b c d", "getset k", "getdel", "getdel a b", "incrbyfloat k",
     "setrange k 0", "getrange k 0", "append k", "strlen", "psetex k 10", "substr k 0", "decrby k")
case(["set", "k", "v", "nx\x00junk"], "get k", ["set", "k", "v", "\x00"], ["expire", "k", "10", "f\x00oo"],
     ["expire", "k", "10", "nx\x00"], "~ttl k", ["getex", "k", "persist\x00x"], "ttl k")
case(["set", "big", "x" * 100000], "strlen big", ["append", "big", "y" * 50000], "strlen big", "getrange big 99998 100001",
     "get big", "setrange big 200000 z", "strlen big", "getrange big 149999 150001")
case("set k v ex 100 nx get", "set k v2 ex 100 nx get", "set k v3 px 100000 xx get", "~pttl k", "get k",
     "set k v4 exat 1 get", "exists k", "set k v5 keepttl get", "set k v6 keepttl xx", "ttl k")
case("set k v px 1", "sleep", "set k w get", "set j v px 1", "sleep", "set j w xx get", "get j",
     "set m v px 1", "sleep", "getset m w", "set n 5 px 1", "sleep", "incrbyfloat n 1", "ttl n")
case("set k 1", "expire k 100", "getex k pxat 1", "exists k", "set k 1", "expire k 100", "~expiretime k",
     "getex k", "~ttl k", "set k 1 keepttl", "ttl k", "mset k 2", "ttl k")
case("mset a ohmytext b mynewtext", "lcs a b", "lcs a b len", "lcs a b idx", "lcs a b idx minmatchlen 4",
     "lcs a b idx withmatchlen", "lcs a b idx minmatchlen 4 withmatchlen", "lcs a b len idx", "lcs a b foo",
     "lcs a b minmatchlen", "lcs a b minmatchlen x", "lcs a b idx minmatchlen -5", "lcs a nokey", "lcs nokey nokey2 idx",
     "lcs a", "lcs a a idx withmatchlen", "lcs a b LEN", "set c ACCGGTCGAGTGCGCGGAAGCCGGCCGAA",
     "set d GTCGTTCGGAATGCCGTTGCTCTGTAAA", "lcs c d", "lcs c d idx withmatchlen", "lcs c d idx minmatchlen 3")
case("lpush l a", "set a x", "lcs a l", "lcs l a", "lcs l a foo")
case(["set", "x", "ab" * 3000], ["set", "y", "ba" * 3000], "lcs x y len", "lcs y x len")


def run(redis_port, redsim_port):
    a, b = Conn(redis_port), Conn(redsim_port)
    total = same = skipped = 0
    for i, cmds in enumerate(CASES):
        for c in (a, b):
            c.call(["flushall"])
        # Cases that build lists need LPUSH, which redsim may not have yet.
        if any(cmd[0] == "lpush" for cmd in cmds) and b.call(["lpush", "__probe", "x"]).startswith(b"-ERR unknown"):
            skipped += 1
            continue
        for cmd in cmds:
            if cmd == ["sleep"]:
                time.sleep(0.01)
                continue
            fuzzy = cmd[0].startswith("~")
            args = [cmd[0][1:]] + cmd[1:] if fuzzy else cmd
            ra, rb = a.call(args), b.call(args)
            total += 1
            ok = close_enough(ra, rb) if fuzzy else ra == rb
            if ok:
                same += 1
            else:
                print("DIFF case %d: %s\n  redis : %r\n  redsim: %r" % (i, " ".join(args), ra, rb))
    print("%d compared, %d identical (%d cases skipped: no LPUSH in redsim)" % (total, same, skipped))
    return total == same


if __name__ == "__main__":
    sys.exit(0 if run(int(sys.argv[1]), int(sys.argv[2])) else 1)
