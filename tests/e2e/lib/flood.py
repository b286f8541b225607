#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""UDP at a steady rate, and what arrives of it: the packet flood that runs
through an upgrade (tests/e2e/upgrade.sh).

  flood.py send HOST PORT RATE SECONDS OUT [DEV]
      RATE datagrams a second for SECONDS, each numbered; with DEV, from a
      socket bound to that device. OUT (JSON): sent, ok (the kernel took
      it), errors by name (EPERM: a kill switch refused it).
  flood.py recv PORT SECONDS OUT
      Counts, per source address, the datagrams that arrive for SECONDS,
      and the longest silence between two of them. OUT (JSON).
"""
import errno
import json
import socket
import sys
import time

SO_BINDTODEVICE = 25


def send(host, port, rate, seconds, out, dev=None):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode())
    result = {"sent": 0, "ok": 0, "errors": {}}
    start = time.monotonic()
    n = 0
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            break
        # Catch up after a stall rather than stretch the run.
        due = int((now - start) * rate) + 1
        while n < due:
            n += 1
            result["sent"] += 1
            try:
                s.sendto(n.to_bytes(8, "big") + b"wgks-flood", (host, port))
                result["ok"] += 1
            except OSError as e:
                name = errno.errorcode.get(e.errno, str(e.errno))
                result["errors"][name] = result["errors"].get(name, 0) + 1
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
    with open(out, "w") as f:
        json.dump(result, f)


def recv(port, seconds, out):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.settimeout(0.05)
    per = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            _, addr = s.recvfrom(2048)
        except socket.timeout:
            continue
        now = time.monotonic()
        src = addr[0].removeprefix("::ffff:")
        p = per.setdefault(src, {"received": 0, "max_gap_ms": 0.0, "last": now})
        p["max_gap_ms"] = max(p["max_gap_ms"], (now - p["last"]) * 1000)
        p["last"] = now
        p["received"] += 1
    for p in per.values():
        del p["last"]
        p["max_gap_ms"] = round(p["max_gap_ms"], 1)
    with open(out, "w") as f:
        json.dump(per, f)


def main():
    if len(sys.argv) in (7, 8) and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]),
             sys.argv[6],
             sys.argv[7] if len(sys.argv) > 7 else None)
    elif len(sys.argv) == 5 and sys.argv[1] == "recv":
        recv(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
