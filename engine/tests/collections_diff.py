#!/usr/bin/env python3
"""Differential check of the collection commands: sends the same command
sequences to real Redis and to `redsim serve`, and compares raw replies.

usage: collections_diff.py REDIS_PORT REDSIM_PORT [-v]

Each case starts from FLUSHALL. A command is a list of arguments, optionally
prefixed by a mode: '=' exact bytes (default), 'S' compare the array's
elements sorted (Redis hash order), 'P' compare pairs sorted (HGETALL of a
hashtable), 'N' compare only the reply's shape (random commands).
"""
import socket, sys

def enc(args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    return out

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port)); self.buf = b''
    def _fill(self):
        d = self.s.recv(65536)
        if not d: raise EOFError
        self.buf += d
    def _line(self):
        while b'\r\n' not in self.buf: self._fill()
        i = self.buf.index(b'\r\n'); l = self.buf[:i]; self.buf = self.buf[i+2:]; return l
    def _n(self, n):
        while len(self.buf) < n: self._fill()
        r = self.buf[:n]; self.buf = self.buf[n:]; return r
    def read(self):
        """Returns (raw bytes, parsed value)."""
        l = self._line(); t = l[:1]; raw = l + b'\r\n'
        if t == b'$':
            n = int(l[1:])
            if n < 0: return raw, None
            data = self._n(n + 2); return raw + data, data[:-2]
        if t == b'*':
            n = int(l[1:])
            if n < 0: return raw, None
            items = []
            for _ in range(n):
                r, v = self.read(); raw += r; items.append(v)
            return raw, items
        if t == b':': return raw, int(l[1:])
        return raw, l
    def cmd(self, args):
        self.s.sendall(enc(args)); return self.read()

def shape(v):
    if isinstance(v, list): return ('array', len(v), [shape(x) if isinstance(x, list) else type(x).__name__ for x in v][:0])
    return type(v).__name__ if not isinstance(v, bytes) or not v.startswith(b'ERR') else v

def norm(mode, raw, v):
    if mode == '=': return raw
    if mode == 'S':
        if isinstance(v, list):
            if len(v) == 2 and isinstance(v[1], list) and isinstance(v[0], bytes) and v[0].isdigit():
                return ('scan', v[0] == b'0', sorted(v[1]))
            return sorted(repr(x) for x in v)
        return raw
    if mode == 'P':
        if isinstance(v, list):
            if len(v) == 2 and isinstance(v[1], list):
                v = v[1]
            return sorted(zip(v[0::2], v[1::2]))
        return raw
    if mode == 'N':
        if isinstance(v, list): return ('array', len(v))
        if isinstance(v, bytes) and raw.startswith(b'-'): return raw
        return type(v).__name__
    raise ValueError(mode)

from collections_diff_cases import CASES

def stat_lines(info):
    return [l for l in info.decode().split('\r\n') if l.startswith(('keyspace_hits', 'keyspace_misses'))]

def main():
    rport, sport = int(sys.argv[1]), int(sys.argv[2])
    verbose = '-v' in sys.argv
    total = same = 0
    for name, cmds in CASES:
        r, s = Conn(rport), Conn(sport)
        r.cmd(['FLUSHALL']); s.cmd(['FLUSHALL'])
        r.cmd(['CONFIG', 'RESETSTAT']); s.cmd(['CONFIG', 'RESETSTAT'])
        for c in cmds:
            mode = '='
            if c and c[0] in ('=', 'S', 'P', 'N'):
                mode, c = c[0], c[1:]
            rr, rv = r.cmd(c); sr, sv = s.cmd(c)
            total += 1
            if norm(mode, rr, rv) == norm(mode, sr, sv):
                same += 1
                if verbose: print('ok  ', name, c)
            else:
                print('DIFF', name, ' '.join(map(str, c)))
                print('   redis :', rr[:300])
                print('   redsim:', sr[:300])
        # keyspace_hits/misses say which lookups were reads, as Redis counts them.
        stats = [stat_lines(x.cmd(['INFO', 'stats'])[1]) for x in (r, s)]
        total += 1
        if stats[0] == stats[1]:
            same += 1
        else:
            print('DIFF', name, 'INFO stats', stats)
    print(f'{same}/{total} identical')
    return 0 if same == total else 1

if __name__ == '__main__':
    sys.exit(main())
