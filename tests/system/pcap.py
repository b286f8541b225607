#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""What a guest sent in plaintext, from qemu's packet dump of its NIC.

`make test-system` records every frame of the guest's NIC with qemu's
filter-dump (a pcap file, both directions, from power-on). This reads the
frames the guest sent (by its MAC address) and sorts each into one class:

  wireguard  UDP to the WireGuard server's endpoint: encrypted, fine
  arp        no IP at all
  dhcpv4     UDP 68 -> 67: DHCPv4 clients send from packet sockets, which no
             cgroup hook sees (README, Known limits): allowed by design
  igmp       sent by the kernel with no socket: allowed by design
  ndp, mld   IPv6 link upkeep, which the policy passes (its row 5)
  leak       anything else: a plaintext packet the kill switch should have
             stopped, unless no policy was in force (then: what it would
             have stopped)

The file is read up to its last complete record, so it can be read while
qemu writes it. Windows are given as record numbers (`mark` prints the
number of complete records so far), which a clock cannot blur.

  pcap.py mark FILE
  pcap.py count FILE --mac MAC --endpoint IP:PORT [--from N] [--to N]
      prints `key=value` pairs (one class each, `leak` and its kinds, e.g.
      `leak_dns`), then one `leak: ...` line per leaked packet
"""

import argparse
import ipaddress
import struct
import sys

NDP = {133, 134, 135, 136, 137}
MLD = {130, 131, 132, 143}
CLASSES = ("wireguard", "arp", "dhcpv4", "igmp", "ndp", "mld", "leak")


def records(path):
    """(index, frame) of every complete record."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, idx = 24, 0
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        if off + 16 + incl > len(data):
            break
        yield idx, data[off + 16:off + 16 + incl]
        off += 16 + incl
        idx += 1


def ports(l4):
    return struct.unpack("!HH", l4[:4]) if len(l4) >= 4 else (0, 0)


def classify(frame, endpoint):
    """(class, kind, description) of one frame the guest sent."""
    ethertype = struct.unpack("!H", frame[12:14])[0]
    payload = frame[14:]
    if ethertype == 0x8100:  # a VLAN tag: the real type follows
        ethertype = struct.unpack("!H", frame[16:18])[0]
        payload = frame[18:]
    if ethertype == 0x0806:
        return "arp", "", "arp"
    if ethertype == 0x0800:
        ihl = (payload[0] & 0x0F) * 4
        proto = payload[9]
        src = ipaddress.ip_address(payload[12:16])
        dst = ipaddress.ip_address(payload[16:20])
        l4 = payload[ihl:]
    elif ethertype == 0x86DD:
        proto = payload[6]
        hlim = payload[7]
        src = ipaddress.ip_address(payload[8:24])
        dst = ipaddress.ip_address(payload[24:40])
        l4 = payload[40:]
        # Extension headers (MLD reports carry hop-by-hop options).
        while proto in (0, 43, 60) and len(l4) >= 8:
            proto, hdrlen = l4[0], (l4[1] + 1) * 8
            l4 = l4[hdrlen:]
        if proto == 58 and l4:
            if l4[0] in NDP and hlim == 255:
                return "ndp", "", f"icmpv6 type {l4[0]} {src} -> {dst}"
            if l4[0] in MLD and hlim == 1:
                return "mld", "", f"icmpv6 type {l4[0]} {src} -> {dst}"
    else:
        return "leak", "other", f"ethertype 0x{ethertype:04x}"

    if proto == 17:
        sport, dport = ports(l4)
        desc = f"udp {src}:{sport} -> {dst}:{dport}"
        if (str(dst), dport) == endpoint:
            return "wireguard", "", desc
        if ethertype == 0x0800 and (sport, dport) == (68, 67):
            return "dhcpv4", "", desc
        kind = {53: "dns", 123: "ntp", 547: "dhcpv6", 5353: "mdns", 5355: "llmnr"}.get(dport, "udp")
        return "leak", kind, desc
    if proto == 6:
        sport, dport = ports(l4)
        return "leak", "tcp", f"tcp {src}:{sport} -> {dst}:{dport}"
    if proto == 2:
        return "igmp", "", f"igmp {src} -> {dst}"
    if proto == 1:
        return "leak", "icmp", f"icmp type {l4[0] if l4 else '?'} {src} -> {dst}"
    if proto == 58:
        return "leak", "icmpv6", f"icmpv6 type {l4[0] if l4 else '?'} {src} -> {dst}"
    return "leak", "other", f"ip proto {proto} {src} -> {dst}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mark")
    m.add_argument("file")
    c = sub.add_parser("count")
    c.add_argument("file")
    c.add_argument("--mac", required=True)
    c.add_argument("--endpoint", required=True, help="the WireGuard server's IP:PORT")
    c.add_argument("--from", dest="start", type=int, default=0)
    c.add_argument("--to", dest="end", type=int, default=None)
    args = ap.parse_args()

    if args.cmd == "mark":
        print(sum(1 for _ in records(args.file)))
        return 0

    mac = bytes.fromhex(args.mac.replace(":", ""))
    host, _, port = args.endpoint.rpartition(":")
    endpoint = (str(ipaddress.ip_address(host.strip("[]"))), int(port))
    counts = {k: 0 for k in CLASSES}
    kinds = {}
    leaks = []
    for idx, frame in records(args.file):
        if idx < args.start or (args.end is not None and idx >= args.end):
            continue
        if len(frame) < 14 or frame[6:12] != mac:
            continue
        try:
            cls, kind, desc = classify(frame, endpoint)
        except (IndexError, ValueError, struct.error):
            cls, kind, desc = "leak", "other", "malformed frame"
        counts[cls] += 1
        if cls == "leak":
            kinds[kind] = kinds.get(kind, 0) + 1
            leaks.append(f"leak: #{idx} {desc}")
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    print(" ".join(f"leak_{k}={v}" for k, v in sorted(kinds.items())))
    for line in leaks:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
