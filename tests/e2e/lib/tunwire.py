#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A plain layer-3 tunnel for tests: two tun devices, in two network
namespaces, joined by this process (no encryption, no WireGuard).

wgks-bpf protects only tunnels (WireGuard, tun): a test that needs a
"tunnel" that really carries traffic to another namespace, but not all of
WireGuard, runs this in the background:

    ip netns exec NS_A tunwire.py TUN_A /run/netns/NS_B TUN_B

It creates TUN_A here and TUN_B in the namespace NS_B (tun in layer-3
mode, no packet information), and copies every packet from one to the
other until it is killed. The devices go with it; addresses and routes
are the caller's.
"""
import ctypes
import fcntl
import os
import select
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: tunwire.py TUN_HERE NETNS_PATH TUN_THERE")
    here = open_tun(sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)
    ns = os.open(sys.argv[2], os.O_RDONLY)
    if libc.setns(ns, CLONE_NEWNET) != 0:
        sys.exit("setns %s: %s" % (sys.argv[2], os.strerror(ctypes.get_errno())))
    there = open_tun(sys.argv[3])
    peer = {here: there, there: here}
    # Ready: the caller waits for this line before using the devices.
    print("ready", flush=True)
    while True:
        for fd in select.select([here, there], [], [])[0]:
            try:
                os.write(peer[fd], os.read(fd, 65536))
            except OSError:
                pass  # the other side is down for a moment: a lost packet


main()
