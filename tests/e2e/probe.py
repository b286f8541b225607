#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Socket probes for the leak suite: how a send or a connect() ends.
(How fast blocked connects fail is tests/lib/failfast.c's: the kernel
matrix's guests, which run it too, have no Python.)

  probe.py local HOST
      Listen on HOST, connect to it: must connect (local traffic passes).
  probe.py survives HOST PORT CMD [ARG...]
      Open a connection to an echo server, check it echoes, run CMD, check
      it still echoes on the same connection.
  probe.py dns HOST [DEV]
      Send one DNS query (A example.com) over UDP to HOST:53. Exit 0 if the
      kernel took it, 1 with the error printed ("Operation not permitted"
      for a kill switch's drop) if it refused it.

  probe.py send HOST PORT
      One UDP datagram to HOST:PORT. Exit 0 if the kernel took it, 1 with
      the error printed if it refused it.
  probe.py knock HOST PORT
      One TCP connect from here (a LAN host knocking on the client), 1 s at
      most; prints how it ended. Always exit 0: the leak counters judge.
  probe.py connect HOST PORT
      A TCP connection to HOST:PORT, 2 s at most. Exit 0 only if it was
      set up.
  probe.py send-marked HOST PORT MARK
      One UDP datagram from a socket with SO_MARK MARK (root in its
      namespace): a container forging the tunnel's fwmark or wgks-bpf's
      judged bit. Exit 0 if the kernel took it.
  probe.py accept-once HOST PORT
      Listen on HOST:PORT, take one connection, read until it is closed,
      close in turn. Prints "listening" once it listens.
  probe.py close-first HOST PORT
      Connect to HOST:PORT and close first, so that this side's socket
      goes to TIME_WAIT; prints its local port.
  probe.py syn-from HOST PORT TO_HOST TO_PORT
      A SYN from HOST:PORT to TO_HOST:TO_PORT (SO_REUSEADDR), 1 s at most:
      to a TIME_WAIT socket there, it draws the kernel's ACK.
  probe.py rthdr-udp FIRST_HOP DEST PORT
      UDP to DEST:PORT with an IPv6 segment routing header through
      FIRST_HOP (the header's destination), as any user may send it.
      Exit 0 if the kernel took it, 1 with the error if it refused it.

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


def send(host, port):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    try:
        s.sendto(b"wgks", (host, port))
    except OSError as e:
        print("UDP to %s:%d refused: %s" % (host, port, e))
        return False
    print("UDP to %s:%d sent" % (host, port))
    return True


def knock(host, port):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect((host, port))
        print("knock %s:%d: connected" % (host, port))
    except OSError as e:
        print("knock %s:%d: %s" % (host, port, e))
    return True


def connect(host, port):
    """A TCP connection to HOST:PORT within 2 s: True only if it is set up."""
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((host, port))
    except OSError as e:
        print("connect %s:%d: %s" % (host, port, e))
        return False
    print("connect %s:%d: connected" % (host, port))
    s.close()
    return True


def send_marked(host, port, mark):
    """UDP to HOST:PORT from a socket with SO_MARK MARK (needs CAP_NET_ADMIN)."""
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
    try:
        s.sendto(b"wgks", (host, port))
    except OSError as e:
        print("UDP to %s:%d with mark %#x refused: %s" % (host, port, mark, e))
        return False
    print("UDP to %s:%d with mark %#x sent" % (host, port, mark))
    return True


def accept_once(host, port):
    server = socket.socket(family(host), socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(1)
    print("listening", flush=True)
    conn, _ = server.accept()
    server.close()
    while conn.recv(4096):
        pass
    conn.close()
    return True


def close_first(host, port):
    # FIN first, then read to the peer's FIN: closing with unread data
    # would send a RST instead, and no TIME_WAIT.
    s = socket.create_connection((host, port), timeout=3)
    s.sendall(b"bye\n")
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    print(s.getsockname()[1])
    s.close()
    return True


def syn_from(host, port, to_host, to_port):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.settimeout(1)
    try:
        s.connect((to_host, to_port))
        print("SYN to %s:%d: connected" % (to_host, to_port))
    except OSError as e:
        print("SYN to %s:%d: %s" % (to_host, to_port, e))
    return True


def rthdr_udp(first_hop, dest, port):
    # RFC 8754 segment routing header with two segments: the first hop
    # (segments[1], the packet's destination on the wire) and DEST
    # (segments[0], which the kernel fills in from sendto's address).
    # The kernel takes it from an unprivileged socket.
    srh = struct.pack("!BBBBBBH", 0, 4, 4, 1, 1, 0, 0) + bytes(16)
    srh += socket.inet_pton(socket.AF_INET6, first_hop)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RTHDR, srh)
        s.sendto(b"wgks", (dest, port))
    except OSError as e:
        print("routed through %s to %s: %s" % (first_hop, dest, e))
        return False
    print("routed through %s to %s: sent" % (first_hop, dest))
    return True


def main(argv):
    if len(argv) == 3 and argv[1] == "local":
        return 0 if local(argv[2]) else 1
    if len(argv) >= 5 and argv[1] == "survives":
        return 0 if survives(argv[2], int(argv[3]), argv[4:]) else 1
    if len(argv) in (3, 4) and argv[1] == "dns":
        return 0 if dns(*argv[2:]) else 1
    if len(argv) == 4 and argv[1] in ("send", "knock", "connect", "accept-once", "close-first"):
        fn = {"send": send, "knock": knock, "connect": connect, "accept-once": accept_once,
              "close-first": close_first}[argv[1]]
        return 0 if fn(argv[2], int(argv[3])) else 1
    if len(argv) == 5 and argv[1] == "send-marked":
        return 0 if send_marked(argv[2], int(argv[3]), int(argv[4], 0)) else 1
    if len(argv) == 6 and argv[1] == "syn-from":
        return 0 if syn_from(argv[2], int(argv[3]), argv[4], int(argv[5])) else 1
    if len(argv) == 5 and argv[1] == "rthdr-udp":
        return 0 if rthdr_udp(argv[2], argv[3], int(argv[4])) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
