#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A device's tcx egress chain, as the kernel has it. Debian 12's bpftool
(7.1) does not show tcx, and the tests must not ask wgks-bpf itself what
wgks-bpf did. In the device's network namespace:

  tcx.py DEV               the programs on DEV's chain, in the order they
                           run: one line each, "ID NAME"
  tcx.py --all             the same for every device: "DEV ID NAME"
  tcx.py attach-first DEV [N]
                           someone else's program, first of the chain
                           (BPF_F_BEFORE), held by the device: "other_next",
                           which passes every packet on (TCX_NEXT); its id.
                           N times, or with N "full" until the kernel takes
                           no more (ERANGE: 63 here)

Exit 0; 3 if the kernel has no tcx (Linux < 6.6); 1 on any other error.
"""
import ctypes
import os
import socket
import struct
import sys

SYS_BPF = 321  # x86_64
BPF_PROG_LOAD, BPF_PROG_ATTACH = 5, 8
BPF_PROG_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD, BPF_PROG_QUERY = 13, 15, 16
BPF_PROG_TYPE_SCHED_CLS = 3
BPF_TCX_EGRESS = 47
BPF_F_BEFORE = 1 << 3
ATTR_SIZE = 128
libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd, attr):
    """The bpf(2) command CMD on ATTR (a ctypes buffer); its result, or OSError."""
    ret = libc.syscall(SYS_BPF, cmd, attr, ATTR_SIZE)
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret


def prog_name(prog_id):
    attr = ctypes.create_string_buffer(struct.pack("I", prog_id), ATTR_SIZE)
    try:
        fd = bpf(BPF_PROG_GET_FD_BY_ID, attr)
    except OSError:
        return "?"  # freed meanwhile
    try:
        info = ctypes.create_string_buffer(80)
        attr = ctypes.create_string_buffer(struct.pack("IIQ", fd, len(info), ctypes.addressof(info)),
                                           ATTR_SIZE)
        bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
        return info.raw[64:80].split(b"\0")[0].decode()
    finally:
        os.close(fd)


def prog_id(fd):
    info = ctypes.create_string_buffer(80)
    attr = ctypes.create_string_buffer(struct.pack("IIQ", fd, len(info), ctypes.addressof(info)),
                                       ATTR_SIZE)
    bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    return struct.unpack_from("I", info.raw, 4)[0]


def attach_first(ifindex):
    """r0 = -1 (TCX_NEXT); exit. Loaded, attached first, its fd closed: the device holds it."""
    insns = struct.pack("<BBhi", 0xb7, 0, 0, -1) + struct.pack("<BBhi", 0x95, 0, 0, 0)
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"GPL")
    # prog_type, insn_cnt, insns, license, log_level, log_size, log_buf, kern_version,
    # prog_flags, prog_name
    attr = ctypes.create_string_buffer(
        struct.pack("IIQQIIQII16s", BPF_PROG_TYPE_SCHED_CLS, len(insns) // 8,
                    ctypes.addressof(code), ctypes.addressof(lic), 0, 0, 0, 0, 0, b"other_next"),
        ATTR_SIZE)
    fd = bpf(BPF_PROG_LOAD, attr)
    try:
        # target_ifindex, attach_bpf_fd, attach_type, attach_flags
        attr = ctypes.create_string_buffer(struct.pack("IIII", ifindex, fd, BPF_TCX_EGRESS,
                                                       BPF_F_BEFORE), ATTR_SIZE)
        bpf(BPF_PROG_ATTACH, attr)
        print(prog_id(fd))
    finally:
        os.close(fd)


def chain(ifindex):
    """The ids on IFINDEX's tcx egress chain; None if the kernel has no tcx."""
    ids = (ctypes.c_uint32 * 64)()
    # query: target_ifindex, attach_type, query_flags, attach_flags, prog_ids, count
    attr = ctypes.create_string_buffer(
        struct.pack("IIIIQI", ifindex, BPF_TCX_EGRESS, 0, 0, ctypes.addressof(ids), 64),
        ATTR_SIZE)
    try:
        bpf(BPF_PROG_QUERY, attr)
    except OSError as e:
        if e.errno in (2, 19):  # ENOENT: tcx, but nothing on this device; ENODEV: gone
            return []
        if e.errno == 22:  # EINVAL: the attach type is unknown here
            return None
        raise
    return list(ids[:min(struct.unpack_from("I", attr.raw, 24)[0], 64)])


def main():
    if len(sys.argv) in (3, 4) and sys.argv[1] == "attach-first":
        n = sys.argv[3] if len(sys.argv) == 4 else "1"
        for _ in range(10 ** 6 if n == "full" else int(n)):
            try:
                attach_first(socket.if_nametoindex(sys.argv[2]))
            except OSError as e:
                if n == "full" and e.errno == 34:  # ERANGE: the chain is full
                    return 0
                raise
        return 0 if n != "full" else 1
    if len(sys.argv) != 2:
        sys.exit("usage: tcx.py DEV | tcx.py --all | tcx.py attach-first DEV [N]")
    devs = socket.if_nameindex() if sys.argv[1] == "--all" else \
        [(socket.if_nametoindex(sys.argv[1]), None)]
    for ifindex, name in devs:
        ids = chain(ifindex)
        if ids is None:
            return 3
        for i in ids:
            print(*([name] if name else []), i, prog_name(i))
    return 0


if __name__ == "__main__":
    sys.exit(main())
