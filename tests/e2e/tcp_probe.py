#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""TCP probes for the e2e tests: how a connect() ends, and how fast.

  tcp_probe.py failfast HOST PORT TRIES LIMIT_MS
      TRIES blocking and TRIES non-blocking connects; each must fail with an
      error within LIMIT_MS. Prints the errno and min/median/max times.
  tcp_probe.py local HOST
      Listen on HOST, connect to it: must connect (local traffic passes).
  tcp_probe.py survives HOST PORT CMD [ARG...]
      Open a connection to an echo server, check it echoes, run CMD, check
      it still echoes on the same connection.
"""
import errno
import select
import socket
import subprocess
import sys
import time


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect_once(host, port, blocking):
    """(errno name or 'connected', milliseconds)"""
    s = socket.socket(family(host), socket.SOCK_STREAM)
    start = time.monotonic()
    try:
        if blocking:
            s.settimeout(2)
            s.connect((host, port))
            result = "connected"
        else:
            s.setblocking(False)
            e = s.connect_ex((host, port))
            if e == errno.EINPROGRESS:
                select.select([], [s], [], 2)
                e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            result = errno.errorcode.get(e, str(e)) if e else "connected"
    except OSError as e:
        # The socket's own timeout has no errno; ETIMEDOUT from the kernel does
        # (and is also a TimeoutError since Python 3.10).
        result = "hung" if e.errno is None else errno.errorcode.get(e.errno, str(e))
    finally:
        s.close()
    return result, (time.monotonic() - start) * 1000


def failfast(host, port, tries, limit_ms):
    ok = True
    for blocking in (True, False):
        results, times = set(), []
        for _ in range(tries):
            result, ms = connect_once(host, port, blocking)
            results.add(result)
            times.append(ms)
            ok &= result not in ("connected", "hung") and ms < limit_ms
        times.sort()
        print("%s %s connect to %s:%d: %s in min %.1f / median %.1f / max %.1f ms" % (
            "blocking" if blocking else "non-blocking", "x%d" % tries, host, port,
            ",".join(sorted(results)), times[0], times[len(times) // 2], times[-1]))
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


def main(argv):
    if len(argv) >= 6 and argv[1] == "failfast":
        return 0 if failfast(argv[2], int(argv[3]), int(argv[4]), float(argv[5])) else 1
    if len(argv) == 3 and argv[1] == "local":
        return 0 if local(argv[2]) else 1
    if len(argv) >= 5 and argv[1] == "survives":
        return 0 if survives(argv[2], int(argv[3]), argv[4:]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
