#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Socket probes for the e2e tests: how a send or a connect() ends, and how fast.

  probe.py failfast HOST PORT TRIES LIMIT_MS [DEV]
      TRIES blocking and TRIES non-blocking connects: each must fail with
      ETIMEDOUT (none may connect, hang past LIMIT_MS + 500 ms or fail
      otherwise; it stops at the first that does), and their median time must be under LIMIT_MS
      (one slow try on a busy machine is no failure). Prints the errno and
      min/median/max times.
  probe.py local HOST
      Listen on HOST, connect to it: must connect (local traffic passes).
  probe.py survives HOST PORT CMD [ARG...]
      Open a connection to an echo server, check it echoes, run CMD, check
      it still echoes on the same connection.
  probe.py dns HOST [DEV]
      Send one DNS query (A example.com) over UDP to HOST:53. Exit 0 if the
      kernel took it, 1 with the error printed ("Operation not permitted"
      for a kill switch's drop) if it refused it.

DEV, where given, binds the socket to that interface (SO_BINDTODEVICE), as an
application that picks the physical interface would.
"""
import errno
import select
import socket
import struct
import subprocess
import sys
import time

SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def new_socket(host, kind, dev=None):
    s = socket.socket(family(host), kind)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode())
    return s


def connect_once(host, port, blocking, dev=None, timeout=1.0):
    """(errno name, 'connected' or 'hung' after timeout seconds, milliseconds)"""
    s = new_socket(host, socket.SOCK_STREAM, dev)
    start = time.monotonic()
    try:
        if blocking:
            s.settimeout(timeout)
            s.connect((host, port))
            result = "connected"
        else:
            s.setblocking(False)
            e = s.connect_ex((host, port))
            if e == errno.EINPROGRESS:
                select.select([], [s], [], timeout)
                e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            result = errno.errorcode.get(e, str(e)) if e else "connected"
    except OSError as e:
        # The socket's own timeout has no errno; ETIMEDOUT from the kernel does
        # (and is also a TimeoutError since Python 3.10).
        result = "hung" if e.errno is None else errno.errorcode.get(e.errno, str(e))
    finally:
        s.close()
    return result, (time.monotonic() - start) * 1000


def failfast(host, port, tries, limit_ms, dev=None):
    ok = True
    for blocking in (True, False):
        results, times = set(), []
        for _ in range(tries):
            result, ms = connect_once(host, port, blocking, dev, limit_ms / 1000 + 0.5)
            results.add(result)
            times.append(ms)
            # What README and the man page promise: ETIMEDOUT, every time.
            if result != "ETIMEDOUT":
                ok = False
                break
        times.sort()
        median = times[len(times) // 2]
        ok &= median < limit_ms
        print("%s x%d connect to %s:%d%s: %s in min %.1f / median %.1f / max %.1f ms" % (
            "blocking" if blocking else "non-blocking", len(times), host, port,
            " (bound to %s)" % dev if dev else "", ",".join(sorted(results)),
            times[0], median, times[-1]))
        if not ok:
            break
    return ok


def local(host):
    server = socket.socket(family(host), socket.SOCK_STREAM)
    server.bind((host, 0))
    server.listen(1)
    result, ms = connect_once(host, server.getsockname()[1], True)
    print("connect to local %s: %s in %.1f ms" % (host, result, ms))
    return result == "connected"


def echo(conn, word):
    conn.sendall(word)
    got = b""
    while len(got) < len(word):
        chunk = conn.recv(len(word) - len(got))
        if not chunk:
            break
        got += chunk
    return got == word


def survives(host, port, cmd):
    conn = socket.create_connection((host, port), timeout=5)
    if not echo(conn, b"before\n"):
        print("no echo before")
        return False
    rc = subprocess.call(cmd)
    if rc != 0:
        print("command failed with %d" % rc)
        return False
    ok = echo(conn, b"after\n")
    print("same connection %s after: %s" % ("echoes" if ok else "is dead", " ".join(cmd)))
    conn.close()
    return ok


def dns(host, dev=None):
    query = struct.pack("!HHHHHH", 0x77c5, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in "example.com".split("."))
    query += b"\0" + struct.pack("!HH", 1, 1)
    s = new_socket(host, socket.SOCK_DGRAM, dev)
    try:
        s.sendto(query, (host, 53))
    except OSError as e:
        print("DNS query to %s:53 refused: %s" % (host, e))
        return False
    print("DNS query to %s:53 sent" % host)
    return True


def main(argv):
    if len(argv) in (6, 7) and argv[1] == "failfast":
        return 0 if failfast(argv[2], int(argv[3]), int(argv[4]), float(argv[5]),
                             *argv[6:]) else 1
    if len(argv) == 3 and argv[1] == "local":
        return 0 if local(argv[2]) else 1
    if len(argv) >= 5 and argv[1] == "survives":
        return 0 if survives(argv[2], int(argv[3]), argv[4:]) else 1
    if len(argv) in (3, 4) and argv[1] == "dns":
        return 0 if dns(*argv[2:]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
