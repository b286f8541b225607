#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""`make bench`: what the kill switch costs, next to no filter, the
iptables recipe and an nftables twin, in one run (tests/bench/README.md).
Prints Markdown tables, writes everything as JSON (--json).

Parts (--only picks some): testrun, insitu, sidebyside, sequential, latency.
  testrun     isolated cost per verdict path: BPF_PROG_TEST_RUN, ours and an
              empty allow-all program, on a fresh copy in private namespaces
              (the cgroup program, and the backstop's full table)
  insitu      cost per packet in the kernel: bpf_stats of the attached program
              under a UDP flood, between two empty programs, and of the
              backstop's tc program after an empty one; for 1, 16 and 256
              protected namespaces and allow-LAN with 0 and 1,000 more prefixes;
              also packets a "container" namespace sends through the protected one
  sidebyside  end to end, every filter at once in its own namespace and cgroup,
              one sender taking turns (packets per CPU second, paired ratios);
              wgks-bpf also with its backstop forced onto clsact, without its
              backstop, and with an empty tc program in its place (clsact, tcx);
              a flow forwarded into the tunnel; an allowed prefix
  sequential  end to end, one filter after the other, as a user has them
  latency     attach + detach against PostUp + PreDown (hyperfine)

Everything happens in namespaces and cgroups made here and is removed on
exit, however the run ends. The host-wide lock of the e2e suites is held
throughout: one program serves the whole host.
"""
import argparse
import fcntl
import glob
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback

TAG = str(os.getpid())
NS_P = "wgkbp" + TAG  # protected: tun0 (the tunnel), eth0 (the "physical" link), ctr0
NS_C = "wgkbc" + TAG  # a "container" that NS_P routes for (its eth0 is NS_P's ctr0)
NS_U = "wgkbu" + TAG  # unmanaged: no policy
NS_L = "wgkbl" + TAG  # attach/detach latency: a wireguard-go interface
WG_IF = "wgkb" + TAG
FWMARK = "0x10"
# The backstop's tc filter (loader/backstop.h), and the empty tc program's beside it.
TC_HANDLE, TC_PRIO, TC_EMPTY_HANDLE = "0x776b", "1", "0x776c"
SYSTEMS = ["none", "iptables", "nftables", "wgks-bpf"]
# Side by side also: wgks-bpf with its backstop forced onto clsact
# (WGKS_BACKSTOP_HOOK=clsact: the hook it has where the kernel has no tcx,
# and the one it had on every kernel before), wgks-bpf with its backstop
# taken off again (what the backstop adds), and with the empty tc program
# in the backstop's place (the floor of any tc program there), attached
# with clsact and cls_bpf and with tcx (BPF_TCX_EGRESS, 6.6+), the empty
# program alone (the floor of any cgroup_skb program), and wgks-bpf seen
# from a namespace without a policy (what it costs everyone else). One
# namespace each: netfilter rules and tc programs are per namespace.
SIDE = SYSTEMS + ["clsact", "nobackstop", "emptytc", "emptytcx", "empty", "unmanaged"]
NS_SIDE = {s: "wgkb%s%s" % (letter, TAG) for s, letter in zip(SIDE, "adefxghijv")}
# Each one's "container", routed by it.
NS_SIDEC = {s: "wgkb%s%s" % (letter, TAG) for s, letter in zip(SIDE, "kmnoyqrstw")}
# The cgroup each one's socket is made in (those that attach wgks-bpf, and
# unmanaged, share wgks-bpf's).
CG_SIDE = {s: s for s in SIDE}
for s in ("unmanaged", "clsact", "nobackstop", "emptytc", "emptytcx"):
    CG_SIDE[s] = "wgks-bpf"
# The side-by-side systems that attach wgks-bpf in their namespace.
SIDE_WGKS = ("wgks-bpf", "clsact", "nobackstop", "emptytc", "emptytcx")
# The LAN of the side-by-side namespaces (their eth0 leads there), allowed by wgks-bpf.
SIDE_LAN = "192.168.77.0/24"
# Allowed paths, side by side: (name, destination, udpturns options, from the container).
SIDE_PATHS = [
    ("tunnel", "10.201.1.2", [], False),
    ("fwmark", "198.18.0.2", ["mark=" + FWMARK], False),
    ("local", "127.0.0.1", ["sink"], False),
    # Sent in the container, forwarded by the protected namespace into its tunnel.
    ("forwarded", "10.201.1.2", [], True),
    # To an allowed prefix: the recipes refuse it (they know no allow-LAN).
    ("lan", "192.168.77.2", [], False),
]
# Who takes part in which side-by-side path.
SIDE_OF_PATH = {"lan": [s for s in SIDE if s not in ("iptables", "nftables")]}
LOCK = "/run/wgks-bpf-e2e.lock"
RECIPE_RULE = "OUTPUT ! -o {i} -m mark ! --mark {m} -m addrtype ! --dst-type LOCAL -j REJECT"
NFT_RECIPE = """table inet wgks_bench {{
  chain output {{
    type filter hook output priority filter; policy accept;
    oifname != "{i}" meta mark != {m} fib daddr type != local reject
  }}
}}
"""

# A udpflood "option" of PATHS: the sender runs as uid 65534, not root.
AS_NOBODY = "as-nobody"
# The verdict paths: (name, namespace, destination, udpflood options).
PATHS = [
    ("tunnel", NS_P, "10.201.1.2", []),
    # As blocked packets go: one per system call (sendmmsg stops at EPERM).
    ("tunnel-1", NS_P, "10.201.1.2", ["--batch", "1"]),
    ("fwmark", NS_P, "198.18.0.2", ["--mark", FWMARK]),
    ("local", NS_P, "127.0.0.1", ["--sink"]),
    ("blocked", NS_P, "198.18.0.2", []),
    # Root's blocked packets are read for a WireGuard handshake (row 9); others' are not.
    ("blocked-user", NS_P, "198.18.0.2", [AS_NOBODY]),
    ("unmanaged", NS_U, "198.18.0.2", []),
    ("lan", NS_P, "192.168.77.2", []),  # only with allow-LAN
    # Sent in the container and forwarded by NS_P: the cgroup hook sees them
    # in the container (no policy there), the backstop on NS_P's devices.
    ("fwd-tunnel", NS_C, "10.201.1.2", []),
    ("fwd-blocked", NS_C, "198.18.0.2", []),
    # NS_P's prerouting marks these with the tunnel's fwmark (MARK_TABLE):
    # unjudged packets with the mark, as the kernel's WireGuard sends them.
    ("fwd-fwmark", NS_C, "198.18.0.3", []),
    ("fwd-lan", NS_C, "192.168.77.2", []),  # only with allow-LAN
]
ALLOW_LAN_ONLY = ("lan", "fwd-lan")
PATH_LABELS = {"tunnel-1": "tunnel, 1 packet per system call", "lan": "lan (allowed prefix)",
               "blocked": "blocked (root's socket)", "blocked-user": "blocked (uid 65534)",
               "fwd-tunnel": "forwarded into the tunnel",
               "fwd-blocked": "forwarded off the tunnel (dropped)",
               "fwd-fwmark": "forwarded with the tunnel's fwmark (as kernel WireGuard's)",
               "fwd-lan": "forwarded to an allowed prefix"}
# What each path's packets count as in the protected namespace ("unmanaged":
# nothing counted there).
EXPECT = {"tunnel-1": "tunnel", "blocked-user": "blocked", "fwd-tunnel": "unmanaged", "fwd-blocked": "forward",
          "fwd-fwmark": "fwmark", "fwd-lan": "lan"}
MARK_TABLE = """table ip wgksbench_mark {{
  chain pre {{
    type filter hook prerouting priority mangle; policy accept;
    ip daddr 198.18.0.3 meta mark set {m}
  }}
}}
"""
# Scale configurations: (name, namespaces, allow-LAN, extra prefixes).
CONFIGS = [
    ("1 namespace", 1, False, 0),
    ("16 namespaces", 16, False, 0),
    ("256 namespaces", 256, False, 0),
    ("allow-LAN", 1, True, 0),
    ("allow-LAN + 1000 prefixes", 1, True, 1000),
]


class Bench:
    def __init__(self, args):
        self.a = args
        self.bin = args.bin
        self.tool = os.path.join(args.tools, "wgks-bench")
        self.flood = os.path.join(args.tools, "udpflood")
        self.cgroup = cgroup2_root()
        self.namespaces = []
        self.cgroups = []  # ours, made for the side-by-side run (children first)
        self.empty_ids = []
        self.wggo = None
        self.wg_rundir_ours = False
        self.filled = False
        self.lock_fd = None
        self.wgks_maps_before = False
        self.wgks_id = None
        self.bpffs_before = set(os.listdir("/sys/fs/bpf")) if os.path.isdir("/sys/fs/bpf") else set()
        self.result = {"machine": machine(), "settings": vars(args).copy(), "commit": commit()}

    # ------------------------------------------------------------ helpers

    def run(self, cmd, ns=None, check=True, capture=True, inp=None, env=None):
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        p = subprocess.run(cmd, input=inp, text=True, capture_output=capture,
                           env=dict(os.environ, **env) if env else None)
        if check and p.returncode != 0:
            raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                                   (p.stderr or "").strip()))
        return p

    def wgks(self, ns, *args, check=True):
        return self.run([self.bin] + list(args), ns=ns, check=check)

    def flood_cmd(self, ns, dst, opts, seconds):
        cmd = ["ip", "netns", "exec", ns]
        if self.a.cpu is not None:
            cmd += ["nice", "-n", "-20", "taskset", "-c", str(self.a.cpu)]
        if AS_NOBODY in opts:
            opts = [o for o in opts if o != AS_NOBODY]
            cmd += ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        return cmd + [self.flood, "--seconds", str(seconds)] + opts + [dst, "9"]

    def our_programs(self, cgroup=None):
        out = self.run(["bpftool", "-j", "cgroup", "show", cgroup or self.cgroup]).stdout.strip()
        progs = json.loads(out) if out else []
        return [p for p in progs if p.get("name", "").startswith("wgks")]

    def side_cgroup(self, system=None):
        base = os.path.join(self.cgroup, "wgksbench." + TAG)
        return os.path.join(base, system) if system else base

    def side_wgks(self, system, *args, check=True):
        """wgks-bpf in SYSTEM's side-by-side namespace, on wgks-bpf's own
        cgroup. nsenter, not ip netns exec: the cgroup path must stay visible.
        The system "clsact" has its backstop forced onto clsact."""
        return self.run(["nsenter", "--net=/run/netns/" + NS_SIDE[system], self.bin] +
                        list(args) + ["--cgroup", self.side_cgroup("wgks-bpf")], check=check,
                        env={"WGKS_BACKSTOP_HOOK": "clsact"} if system == "clsact" else None)

    # ------------------------------------------------------------ set-up

    def lock(self):
        self.lock_fd = open(LOCK, "a")
        deadline = time.time() + self.a.lock_timeout
        waited = False
        while True:
            try:
                fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.time() > deadline:
                    raise RuntimeError("%s held by another run for %d s" % (LOCK, self.a.lock_timeout))
                if not waited:
                    log("waiting for %s (an e2e suite is running)" % LOCK)
                    waited = True
                time.sleep(1)

    def add_ns(self, name):
        self.run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        # No IPv6: its link upkeep would add packets of its own to the counts.
        for key in ("all", "default"):
            self.run(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % key], ns=name)
        self.run(["ip", "-n", name, "link", "set", "lo", "up"])

    def veth(self, ns, dev, addr, neigh, mac):
        """DEV with ADDR/24; NEIGH answers to MAC, a MAC that its peer does not
        have: the peer drops what arrives at once (not for this host), with no
        reply to count."""
        self.run(["ip", "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", dev + "p"])
        for d in (dev, dev + "p"):
            self.run(["ip", "-n", ns, "link", "set", d, "up"])
        self.run(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev])
        self.run(["ip", "-n", ns, "neigh", "add", neigh, "lladdr", mac, "dev", dev, "nud", "permanent"])

    def tun(self, ns, dev, addr):
        """A tun device (layer 3) with no reader: what is routed into it is
        dropped by the device (its carrier is down, the queue discipline
        takes nothing), after the egress hooks ran."""
        self.run(["ip", "-n", ns, "tuntap", "add", dev, "mode", "tun"])
        self.run(["ip", "-n", ns, "link", "set", dev, "up"])
        self.run(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev])

    def container(self, router, ns):
        """NS, a "container" that ROUTER routes for: a veth pair, ctr0 in
        ROUTER (10.204.0.1), eth0 in NS (10.204.0.2) with its default route
        through it, permanent neighbours (no ARP while measuring)."""
        self.add_ns(ns)
        self.run(["ip", "-n", router, "link", "add", "ctr0", "type", "veth", "peer", "name",
                  "eth0", "netns", ns])
        self.run(["ip", "-n", router, "link", "set", "ctr0", "up"])
        self.run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        self.run(["ip", "-n", router, "addr", "add", "10.204.0.1/24", "dev", "ctr0"])
        self.run(["ip", "-n", ns, "addr", "add", "10.204.0.2/24", "dev", "eth0"])
        self.run(["ip", "-n", ns, "route", "add", "default", "via", "10.204.0.1"])
        for here, there, addr, dev in ((ns, router, "10.204.0.1", "eth0"),
                                       (router, ns, "10.204.0.2", "ctr0")):
            peer = "ctr0" if dev == "eth0" else "eth0"
            mac = json.loads(self.run(["ip", "-j", "-n", there, "link", "show", peer]).stdout)[0]["address"]
            self.run(["ip", "-n", here, "neigh", "replace", addr, "lladdr", mac, "dev", dev,
                      "nud", "permanent"])
        self.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"], ns=router)

    def protected_ns(self, ns):
        """The protected namespace's devices: tun0 (the tunnel), eth0 (the
        link packets off the tunnel leave by; its peer drops them)."""
        self.add_ns(ns)
        self.tun(ns, "tun0", "10.201.1.1")
        self.veth(ns, "eth0", "10.201.2.1", "10.201.2.2", "02:00:00:00:00:02")
        self.run(["ip", "-n", ns, "route", "add", "default", "via", "10.201.2.2"])

    def setup(self):
        self.protected_ns(NS_P)
        self.container(NS_P, NS_C)
        self.add_ns(NS_U)
        self.veth(NS_U, "eth0", "10.202.2.1", "10.202.2.2", "02:00:00:00:00:03")
        self.run(["ip", "-n", NS_U, "route", "add", "default", "via", "10.202.2.2"])

    def setup_wireguard(self):
        """A userspace WireGuard interface with fwmark 51820, as wg-quick leaves it."""
        if not (shutil.which("wireguard-go") and shutil.which("wg")):
            return False
        self.add_ns(NS_L)
        # The link the backstop goes on at attach (and comes off at detach);
        # its peer is in the unmanaged namespace.
        self.run(["ip", "-n", NS_L, "link", "add", "eth0", "type", "veth", "peer", "name", "l0",
                  "netns", NS_U])
        self.run(["ip", "-n", NS_L, "link", "set", "eth0", "up"])
        if not os.path.exists("/var/run/wireguard"):
            self.wg_rundir_ours = True
        env = dict(os.environ, WG_PROCESS_FOREGROUND="1")
        self.wggo = subprocess.Popen(["ip", "netns", "exec", NS_L, "wireguard-go", WG_IF],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if self.run(["ip", "-n", NS_L, "link", "show", WG_IF], check=False).returncode == 0 \
                    and os.path.exists("/var/run/wireguard/%s.sock" % WG_IF):
                break
            time.sleep(0.05)
        self.run(["wg", "set", WG_IF, "fwmark", "51820"], ns=NS_L)
        self.run(["ip", "-n", NS_L, "link", "set", WG_IF, "up"])
        return True

    def cleanup(self):
        problems = []

        def attempt(what, fn):
            try:
                fn()
            except Exception as e:  # keep cleaning up whatever fails
                problems.append("%s: %s" % (what, e))

        if self.filled:
            attempt("unfill", lambda: self.run([self.tool, "unfill", self.cgroup,
                                                "/run/netns/" + NS_P], check=False))
        for ns in self.namespaces:
            attempt("detach in " + ns, lambda ns=ns: self.wgks(ns, "detach", check=False))
        if self.cgroups:
            for s in SIDE_WGKS[::-1]:
                attempt("detach side by side (%s)" % s,
                        lambda s=s: self.side_wgks(s, "detach", check=False))
        for pid in self.empty_ids:
            attempt("detach empty %s" % pid,
                    lambda pid=pid: self.run([self.tool, "empty-detach", self.cgroup, str(pid)]))
        self.empty_ids = []
        if self.wggo:
            self.wggo.kill()
            self.wggo.wait()
            try:
                os.unlink("/var/run/wireguard/%s.sock" % WG_IF)
            except FileNotFoundError:
                pass
            if self.wg_rundir_ours:
                try:
                    os.rmdir("/var/run/wireguard")
                except OSError:
                    pass
        for ns in self.namespaces:
            attempt("netns del " + ns, lambda ns=ns: self.run(["ip", "netns", "del", ns]))
        self.namespaces = []
        for cg in self.cgroups:
            # Whatever is still attached there goes with the cgroup.
            attempt("rmdir " + cg, lambda cg=cg: os.rmdir(cg))
        self.cgroups = []
        # Everything of ours attached since we took the lock (there was none
        # before) is ours: what the commands above could not remove goes by id.
        try:
            for p in self.our_programs():
                hook = p["attach_type"].replace("cgroup_inet_", "").replace("cgroup_", "")
                log("cleanup: detaching program %d (%s) by id" % (p["id"], p["name"]))
                self.run(["bpftool", "cgroup", "detach", self.cgroup, hook, "id", str(p["id"])],
                         check=False)
            left = self.our_programs()
            if left:
                problems.append("programs still attached: %s" % left)
        except Exception as e:
            problems.append("cannot list programs: %s" % e)
        if os.path.isdir("/sys/fs/bpf"):
            # Not pins: bpf_preload's iterators, made by the kernel on every mount
            # of a bpffs (someone may mount it while we run).
            new_pins = set(os.listdir("/sys/fs/bpf")) - self.bpffs_before - \
                {"maps.debug", "progs.debug"}
            if new_pins:
                problems.append("new pins in /sys/fs/bpf: %s" % sorted(new_pins))
        for _ in range(20):  # maps go when the kernel's RCU grace periods are over
            maps = self.run(["bpftool", "map", "list"], check=False).stdout
            if "wgks" not in maps or self.wgks_maps_before:
                break
            time.sleep(0.1)
        if "wgks" in maps and not self.wgks_maps_before:
            problems.append("wgks maps left: %s" % [l for l in maps.splitlines() if "wgks" in l])
        if self.lock_fd:
            self.lock_fd.close()
            self.lock_fd = None
        for p in problems:
            log("cleanup: " + p)
        return not problems

    # ------------------------------------------------------------ 1 and 4: per-packet cost

    def testrun(self):
        log("isolated cost: BPF_PROG_TEST_RUN, repeat %d, median of %d"
            % (self.a.repeat, self.a.testrun_rounds))
        out = self.run([self.tool, "testrun", str(self.a.repeat), str(self.a.testrun_rounds)]).stdout
        self.result["testrun"] = json.loads(out)

    def attach_empty(self):
        pid = int(self.run([self.tool, "empty-attach", self.cgroup]).stdout.strip())
        self.empty_ids.append(pid)
        return pid

    def status(self):
        return json.loads(self.wgks(NS_P, "status", "--json", check=False).stdout)

    def own_counters(self):
        for n in self.status().get("namespaces", []):
            if n.get("current"):
                return {k: v["packets"] for k, v in n["counters"].items()}
        return {}

    def configure(self, cfg):
        """Attach again, which updates the policy in place (the program keeps
        its place between the empty ones) and takes allow-LAN away or adds it;
        then the made-up namespaces and prefixes."""
        name, nns, allow_lan, prefixes = cfg
        self.run([self.tool, "unfill", self.cgroup, "/run/netns/" + NS_P])
        self.wgks(NS_P, "attach", "tun0", "--fwmark", FWMARK, *(["--allow-lan"] if allow_lan else []))
        self.run([self.tool, "fill", self.cgroup, "/run/netns/" + NS_P, str(nns), str(prefixes)])
        self.filled = True

    def tc_programs(self, ns, dev):
        """{name: (id, hook)} of the tc egress programs on DEV: its clsact
        filters as bpftool shows them, its tcx chain as wgks-bench does
        (Debian 12's bpftool shows no tcx)."""
        out = self.run(["bpftool", "-j", "net", "show", "dev", dev], ns=ns).stdout
        progs = {}
        for d in json.loads(out):
            for f in d.get("tc", []):
                if f.get("kind") == "clsact/egress":
                    # bpftool names them "NAME:[ID]".
                    progs[f["name"].split(":")[0]] = (f["id"], "clsact")
        tcx = self.run([self.tool, "tcx-list", "/run/netns/" + ns, dev], check=False)
        if tcx.returncode not in (0, 3):  # 3: the kernel has no tcx
            raise RuntimeError("tcx-list %s %s: %s" % (ns, dev, tcx.stderr.strip()))
        for line in tcx.stdout.split("\n") if tcx.returncode == 0 else []:
            if line.strip():
                pid, name = line.split()
                progs[name] = (int(pid), "tcx")
        return progs

    def backstop_off(self, ns, devs):
        """wgks-bpf's backstop off DEVS of NS, by hand (its policy stays): its
        tcx programs, and the clsact queueing discipline where it has one."""
        for dev in devs:
            for name, (pid, hook) in self.tc_programs(ns, dev).items():
                if name.startswith("wgks_") and hook == "tcx":
                    self.run([self.tool, "tcx-detach", "/run/netns/" + ns, dev, str(pid)])
            self.run(["tc", "-n", ns, "qdisc", "del", "dev", dev, "clsact"], check=False)

    def attach_wgks_between_empties(self):
        """empty, wgks-bpf, empty: the order in which they run for each packet.
        At eth0's egress, the empty tc program and the backstop, attached the
        same way: with tcx, the backstop first and then the empty program (the
        backstop stays first of the chain); with clsact, the empty program
        first (a filter added later at the same priority runs first)."""
        for pid in self.empty_ids:
            self.run([self.tool, "empty-detach", self.cgroup, str(pid)])
        self.empty_ids = []
        self.attach_empty()
        self.wgks(NS_P, "attach", "tun0", "--fwmark", FWMARK)
        self.attach_empty()
        self.wgks_id = self.status()["program"]["id"]
        self.backstop_hook = next(n for n in self.status()["namespaces"]
                                  if n.get("current"))["backstop_hook"]
        self.tc_empty_id = int(self.run(
            [self.tool, "tc-empty-attach"] + (["--tcx"] if self.backstop_hook == "tcx" else []) +
            ["/run/netns/" + NS_P, "eth0"]).stdout.strip())
        progs = self.tc_programs(NS_P, "eth0")
        ours = [i for n, (i, h) in progs.items() if n.startswith("wgks_bs")]
        if len(ours) != 1 or progs.get("wgksbench_tc", (0,))[0] != self.tc_empty_id:
            raise RuntimeError("eth0's tc programs are not the backstop and the empty one: %s"
                               % progs)
        self.backstop_id = ours[0]
        # What the backstop covers, and what not (the tunnel, loopback).
        self.result.setdefault("backstop", {})["devices"] = next(
            n for n in self.status()["namespaces"] if n.get("current")).get("backstop", [])
        self.result["backstop"]["hook"] = self.backstop_hook
        self.result["backstop"]["tun0_filters"] = \
            self.run(["tc", "-n", NS_P, "filter", "show", "dev", "tun0", "egress"]).stdout.strip()
        self.result["backstop"]["tun0_tcx"] = sorted(self.tc_programs(NS_P, "tun0"))

    def insitu(self):
        log("in-situ cost: bpf_stats under a UDP flood, %d x %.1f s per path and configuration"
            % (self.a.insitu_rounds, self.a.insitu_seconds))
        self.attach_wgks_between_empties()
        self.run(["nft", "-f", "-"], ns=NS_P, inp=MARK_TABLE.format(m=FWMARK))
        chosen = [c for i, c in enumerate(CONFIGS) if str(i + 1) in self.a.configs.split(",")]
        samples = {cfg[0]: {p[0]: [] for p in PATHS if p[0] not in ALLOW_LAN_ONLY or cfg[2]}
                   for cfg in chosen}
        # Configurations take turns too: a drift of the machine must not pass for scale.
        for r in range(self.a.insitu_rounds):
            for cfg in rotate(chosen, r):
                self.configure(cfg)
                paths = [p for p in PATHS if p[0] in samples[cfg[0]]]
                for p in rotate(paths, r):
                    samples[cfg[0]][p[0]].append(self.insitu_sample(p))
        configs = []
        for cfg in chosen:
            # Where the backstop drops and runs first (tcx), the empty tc program after it
            # never runs: its cost is the same on every path, taken from the others there.
            empties = [x["tc_empty_ns"] for ss in samples[cfg[0]].values() for x in ss
                       if x["tc_empty_ns"] is not None]
            tc_empty = statistics.median(empties) if empties else None
            summary = {name: summarize_insitu(ss, tc_empty) for name, ss in samples[cfg[0]].items()}
            configs.append({"config": cfg[0], "namespaces": cfg[1], "allow_lan": cfg[2],
                            "prefixes": cfg[3], "paths": summary, "samples": samples[cfg[0]]})
            log("  %-26s %s" % (cfg[0], "  ".join("%s %.0f/%.0f ns (%.2fx)" % (
                k, v["wgks_ns"], v["empty_ns"], v["ratio"]) for k, v in summary.items())))
        self.run([self.tool, "unfill", self.cgroup, "/run/netns/" + NS_P])
        self.filled = False
        self.result["insitu"] = {"order": ["empty (first)", "wgks-bpf", "empty (last)"],
                                 "tc_order": ["backstop (eth0)", "empty tc (eth0)"]
                                 if self.backstop_hook == "tcx" else
                                 ["empty tc (eth0)", "backstop (eth0)"],
                                 "tc_hook": self.backstop_hook,
                                 "program": self.status()["program"]["name"], "configs": configs}
        self.run(["nft", "delete", "table", "ip", "wgksbench_mark"], ns=NS_P)
        if self.backstop_hook == "tcx":
            self.run([self.tool, "tcx-detach", "/run/netns/" + NS_P, "eth0", str(self.tc_empty_id)])
        else:
            self.run(["tc", "-n", NS_P, "filter", "del", "dev", "eth0", "egress", "pref", TC_PRIO,
                      "handle", TC_EMPTY_HANDLE, "bpf"])
        for pid in self.empty_ids:
            self.run([self.tool, "empty-detach", self.cgroup, str(pid)])
        self.empty_ids = []
        self.wgks(NS_P, "detach")

    def insitu_sample(self, path):
        name, ns, dst, opts = path
        first, last = self.empty_ids
        before = self.own_counters()
        cmd = [self.tool, "stats", str(first), str(self.wgks_id), str(last),
               str(self.tc_empty_id), str(self.backstop_id), "--"] + \
            self.flood_cmd(ns, dst, opts, self.a.insitu_seconds)
        lines = self.run(cmd).stdout.strip().splitlines()
        flood, stats = json.loads(lines[-2]), json.loads(lines[-1])["progs"]
        after = self.own_counters()
        moved = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        s = {"attempts": flood["attempts"], "sent": flood["sent"],
             "counted_as": max(moved, key=moved.get) if moved and max(moved.values()) else "unmanaged"}
        for key, pid in (("empty_first", first), ("wgks", self.wgks_id), ("empty_last", last),
                         ("tc_empty", self.tc_empty_id), ("backstop", self.backstop_id)):
            st = stats[str(pid)]
            s[key + "_ns"] = st["run_time_ns"] / st["run_cnt"] if st["run_cnt"] else None
            s[key + "_cnt"] = st["run_cnt"]
        # After a backstop on tcx, the empty program runs only for what it passed.
        if s["tc_empty_cnt"] != s["backstop_cnt"] and not (
                self.backstop_hook == "tcx" and name == "fwd-blocked" and not s["tc_empty_cnt"]):
            log("  warning: %s: the empty tc program ran %d times, the backstop %d"
                % (name, s["tc_empty_cnt"], s["backstop_cnt"]))
        want = EXPECT.get(name, name)
        if s["counted_as"] != want:
            log("  warning: %s packets were counted as %s" % (name, s["counted_as"]))
        return s

    # ------------------------------------------------------------ 2: end to end

    def system_up(self, system):
        if system == "iptables":
            for t in ("iptables", "ip6tables"):
                self.run([t, "-I"] + RECIPE_RULE.format(i="tun0", m=FWMARK).split(), ns=NS_P)
        elif system == "nftables":
            self.run(["nft", "-f", "-"], ns=NS_P, inp=NFT_RECIPE.format(i="tun0", m=FWMARK))
        elif system == "wgks-bpf":
            self.wgks(NS_P, "attach", "tun0", "--fwmark", FWMARK)

    def system_down(self, system):
        if system in ("iptables", "nftables"):
            # Also the empty tables iptables-nft leaves: their hooks cost too.
            self.run(["nft", "flush", "ruleset"], ns=NS_P)
        elif system == "wgks-bpf":
            self.wgks(NS_P, "detach")

    def sequential(self):
        """The systems one after the other, as a user would have them: nothing
        attached at all for none, wgks-bpf on the root cgroup. Noisier than
        side by side (set-up between samples, minutes apart), so a cross-check."""
        log("end to end, one after the other: %d rounds x %d systems x %.1f s, through the tunnel"
            % (self.a.rounds, len(SYSTEMS), self.a.seconds))
        samples = {s: [] for s in SYSTEMS}
        for r in range(self.a.rounds):
            for s in rotate(SYSTEMS, r):
                self.system_up(s)
                try:
                    out = self.run(self.flood_cmd(NS_P, "10.201.1.2", [], self.a.seconds)).stdout
                finally:
                    self.system_down(s)
                f = json.loads(out)
                if f["sent"] != f["attempts"]:
                    raise RuntimeError("%s dropped %d packets of the tunnel path"
                                       % (s, f["attempts"] - f["sent"]))
                samples[s].append({"pps": f["pps"], "pps_cpu": f["pps_cpu"]})
        summary = {}
        for s in SYSTEMS:
            out = {}
            for key in ("pps", "pps_cpu"):
                mine = [x[key] for x in samples[s]]
                base = [x[key] for x in samples["none"]]
                out["median_" + key] = statistics.median(mine)
                out["ratio_" + key] = statistics.median(mine) / statistics.median(base)
                out["paired_ratio_" + key] = statistics.median([x / y for x, y in zip(mine, base)])
            summary[s] = out
        log("  " + "  ".join("%s %.3f" % (s, v["paired_ratio_pps_cpu"]) for s, v in summary.items()))
        self.result["sequential"] = {"samples": samples, "summary": summary}

    def sidebyside(self):
        """Every system at once, each in its namespace and cgroup; one sender
        takes turns among them (tests/bench/udpturns.c), on each allowed path."""
        log("end to end, side by side: %s, %.0f s each, turns of %.0f ms, 64-byte UDP"
            % (", ".join(p[0] for p in SIDE_PATHS), self.a.side_seconds, self.a.slice_ms))
        os.mkdir(self.side_cgroup())
        self.cgroups.insert(0, self.side_cgroup())
        for s in SIDE:
            self.protected_ns(NS_SIDE[s])
            self.container(NS_SIDE[s], NS_SIDEC[s])
            if CG_SIDE[s] == s:
                os.mkdir(self.side_cgroup(s))
                self.cgroups.insert(0, self.side_cgroup(s))
        # Detached by rmdir at the latest.
        self.run([self.tool, "empty-attach", self.side_cgroup("empty")])
        for t in ("iptables", "ip6tables"):
            self.run([t, "-I"] + RECIPE_RULE.format(i="tun0", m=FWMARK).split(), ns=NS_SIDE["iptables"])
        self.run(["nft", "-f", "-"], ns=NS_SIDE["nftables"], inp=NFT_RECIPE.format(i="tun0", m=FWMARK))
        devs = ("eth0", "eth0p", "ctr0")
        for s in SIDE_WGKS:
            self.side_wgks(s, "attach", "tun0", "--fwmark", FWMARK, "--allow", SIDE_LAN)
        # nobackstop: less the backstop, taken off by hand (the clsact queueing
        # disciplines too, where it had them).
        self.backstop_off(NS_SIDE["nobackstop"], devs)
        # emptytc, emptytcx: the empty tc program in the backstop's place, with
        # clsact and cls_bpf, and with tcx.
        self.backstop_off(NS_SIDE["emptytc"], devs)
        self.run([self.tool, "tc-empty-attach", "/run/netns/" + NS_SIDE["emptytc"], "eth0"])
        self.backstop_off(NS_SIDE["emptytcx"], devs)
        self.run([self.tool, "tc-empty-attach", "--tcx", "/run/netns/" + NS_SIDE["emptytcx"],
                  "eth0"])
        hook = "tcx" if self.run([self.tool, "tcx-list", "/run/netns/" + NS_SIDE["none"], "lo"],
                                 check=False).returncode == 0 else "clsact"
        want = {"wgks-bpf": [("wgks_bs", hook)], "clsact": [("wgks_bs", "clsact")],
                "emptytc": [("wgksbench_tc", "clsact")], "emptytcx": [("wgksbench_tc", "tcx")]}
        for s in SIDE:
            have = sorted((n[:len("wgks_bs")] if n.startswith("wgks_bs") else n, h)
                          for n, (i, h) in self.tc_programs(NS_SIDE[s], "eth0").items())
            if have != want.get(s, []):
                raise RuntimeError("side by side, %s: eth0's tc programs: %s" % (s, have))
        self.result.setdefault("backstop", {})["side_hook"] = hook
        paths = {}
        try:
            for name, dst, opts, forwarded in SIDE_PATHS:
                paths[name] = self.side_path(dst, opts, forwarded, SIDE_OF_PATH.get(name, SIDE))
                log("  %s: %s" % (name, "  ".join("%s %.3f" % (s, v["ratio_cpu"])
                                                  for s, v in paths[name]["summary"].items())))
        finally:
            for s in SIDE_WGKS[::-1]:
                self.side_wgks(s, "detach")
        self.result["sidebyside"] = {"slice_ms": self.a.slice_ms, "seconds": self.a.side_seconds,
                                     "paths": paths}

    def side_path(self, dst, opts, forwarded, systems):
        """One path, each of SYSTEMS' sockets in turn; FORWARDED: the socket is
        made in the system's container, which the system's namespace routes for."""
        ns = NS_SIDEC if forwarded else NS_SIDE
        targets = ["%s=/run/netns/%s,%s,%s,9%s" % (s, ns[s], self.side_cgroup(CG_SIDE[s]), dst,
                                                   "".join("," + o for o in opts)) for s in systems]
        cmd = [os.path.join(self.a.tools, "udpturns"), "--seconds", str(self.a.side_seconds),
               "--slice-ms", str(self.a.slice_ms)] + targets
        if self.a.cpu is not None:
            cmd = ["nice", "-n", "-20", "taskset", "-c", str(self.a.cpu)] + cmd
        out = json.loads(self.run(cmd).stdout)
        t = out["targets"]
        base = t["none"]
        base_ns = 1e9 * base["cpu_seconds"] / base["packets"]
        summary = {}
        for s in systems:
            v = t[s]
            ratios_cpu = [x / y for x, y in zip(v["round_pps_cpu"], base["round_pps_cpu"])]
            ratios = [x / y for x, y in zip(v["round_pps"], base["round_pps"])]
            vs_ipt = [x / y for x, y in zip(v["round_pps_cpu"], t["iptables"]["round_pps_cpu"])] \
                if "iptables" in t else None
            vs_nob = [x / y for x, y in zip(v["round_pps_cpu"], t["nobackstop"]["round_pps_cpu"])]
            vs_cls = [x / y for x, y in zip(v["round_pps_cpu"], t["clsact"]["round_pps_cpu"])]
            nob = t["nobackstop"]
            summary[s] = {
                # Against wgks-bpf with its backstop on clsact: what the hook changes.
                "vs_clsact": statistics.median(vs_cls), "vs_clsact_quartiles": quartiles(vs_cls),
                "vs_iptables": statistics.median(vs_ipt) if vs_ipt else None,
                "vs_iptables_quartiles": quartiles(vs_ipt) if vs_ipt else None,
                "pps_cpu": v["packets"] / v["cpu_seconds"], "pps": v["packets"] / v["wall_seconds"],
                # What the filter adds to each packet, from CPU time per packet.
                "added_ns": 1e9 * v["cpu_seconds"] / v["packets"] - base_ns,
                # Against wgks-bpf less its backstop: what the backstop adds.
                "vs_nobackstop": statistics.median(vs_nob),
                "vs_nobackstop_quartiles": quartiles(vs_nob),
                "backstop_ns": 1e9 * (v["cpu_seconds"] / v["packets"] -
                                      nob["cpu_seconds"] / nob["packets"]),
                "ratio_cpu": statistics.median(ratios_cpu), "ratio_cpu_quartiles": quartiles(ratios_cpu),
                "ratio": statistics.median(ratios), "ratio_quartiles": quartiles(ratios),
            }
        return {"rounds": out["rounds"], "summary": summary,
                "raw": {s: {k: v for k, v in t[s].items()} for s in systems}}

    # ------------------------------------------------------------ 3: attach + detach

    def latency(self):
        if not shutil.which("hyperfine"):
            log("SKIP attach/detach latency: hyperfine is not installed (apt-get install hyperfine)")
            return
        if not self.setup_wireguard():
            log("SKIP attach/detach latency: needs wireguard-go and wg")
            return
        i = WG_IF
        mark = "$(wg show %s fwmark)" % i
        post_up = " && ".join("%s -I %s" % (t, RECIPE_RULE.format(i=i, m=mark))
                              for t in ("iptables", "ip6tables"))
        pre_down = " && ".join("%s -D %s" % (t, RECIPE_RULE.format(i=i, m=mark))
                               for t in ("iptables", "ip6tables"))
        wgks = "%s attach %s && %s detach %s" % (self.bin, i, self.bin, i)
        log("attach + detach latency: hyperfine, %d runs each" % self.a.latency_runs)
        res = self.hyperfine([
            ("wgks-bpf attach + detach", wgks),
            ("recipe PostUp + PreDown (iptables + ip6tables)", "%s && %s" % (post_up, pre_down)),
            ("`wg show IF fwmark` alone", "wg show %s fwmark" % i),
        ])
        # With another namespace protected the program stays: attach is a map update.
        self.wgks(NS_P, "attach", "tun0", "--fwmark", FWMARK)
        try:
            res += self.hyperfine([("wgks-bpf attach + detach, program already attached for "
                                    "another namespace", wgks)])
        finally:
            self.wgks(NS_P, "detach")
        recipe = res[1]["median_ms"]
        for r in res:
            r["ratio_to_recipe"] = r["median_ms"] / recipe
        # Where attach's time goes: loading the object, each in a fresh process as attach
        # is; and the first load of a boot, which builds the minimal BTF for CO-RE from the
        # kernel's whole BTF (its cache file removed before each of those).
        loads = [json.loads(self.run([self.tool, "load-time"]).stdout) for _ in range(7)]
        firsts = []
        for _ in range(3):
            for f in glob.glob("/run/wgks-bpf/core-*.btf"):
                os.unlink(f)
            firsts.append(json.loads(self.run([self.tool, "load-time"]).stdout))
        self.result["latency"] = {
            "commands": res, "interface": "wireguard-go, fwmark 51820",
            "load_ms": statistics.median(x["load_ms"] for x in loads),
            "minimal_btf": all(x.get("minimal_btf") for x in loads),
            "first_load_ms": statistics.median(x["load_ms"] for x in firsts),
            "first_kernel_btf_ms": statistics.median(x["kernel_btf_ms"] for x in firsts),
            "loads": loads, "first_loads": firsts}
        lat = self.result["latency"]
        log("  " + "  ".join("%.1f ms" % r["median_ms"] for r in res) +
            "; loading the object %.1f ms (minimal BTF: %s); the first load of a boot %.1f ms"
            % (lat["load_ms"], lat["minimal_btf"], lat["first_load_ms"]))

    def hyperfine(self, cmds):
        out = "/tmp/wgks-bench-hyperfine.%s.json" % TAG
        argv = ["hyperfine", "--style", "none", "--warmup", "3", "--runs", str(self.a.latency_runs),
                "--export-json", out]
        for _, c in cmds:
            argv.append(c)
        self.run(argv, ns=NS_L)
        with open(out) as f:
            data = json.load(f)["results"]
        os.unlink(out)
        return [{"what": w, "command": c, "median_ms": d["median"] * 1e3, "mean_ms": d["mean"] * 1e3,
                 "stddev_ms": d["stddev"] * 1e3, "min_ms": d["min"] * 1e3, "max_ms": d["max"] * 1e3}
                for (w, c), d in zip(cmds, data)]

    # ------------------------------------------------------------ all

    def main(self):
        self.lock()
        self.wgks_maps_before = "wgks" in self.run(["bpftool", "map", "list"], check=False).stdout
        if self.our_programs():
            raise RuntimeError("a wgks program is already attached on this host; not touching it")
        start = time.time()
        self.setup()
        parts = self.a.only.split(",") if self.a.only else \
            ["testrun", "insitu", "sidebyside", "sequential", "latency"]
        for part in parts:
            getattr(self, part)()
        self.result["seconds"] = time.time() - start


# ---------------------------------------------------------------- pure helpers

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def rotate(items, r):
    r %= len(items)
    return items[r:] + items[:r]


def summarize_insitu(samples, tc_empty=None):
    """TC_EMPTY: the empty tc program's ns per run, for paths where it never ran."""
    def med(key):
        vals = [s[key] for s in samples if s[key] is not None]
        if not vals and key == "tc_empty_ns" and tc_empty is not None:
            return tc_empty
        return statistics.median(vals) if vals else float("nan")
    first, last, wgks = med("empty_first_ns"), med("empty_last_ns"), med("wgks_ns")
    empty = (first + last) / 2
    ratios = [s["wgks_ns"] / ((s["empty_first_ns"] + s["empty_last_ns"]) / 2) for s in samples]
    attempts = sum(s["attempts"] for s in samples)
    tc_runs = sum(s["backstop_cnt"] for s in samples)
    return {"wgks_ns": wgks, "empty_first_ns": first, "empty_last_ns": last, "empty_ns": empty,
            "ratio": wgks / empty, "ratio_max": max(ratios),
            "packets": sum(s["wgks_cnt"] for s in samples),
            # The backstop: runs per packet sent, ns per run, the empty tc program's beside it.
            "attempts": attempts, "backstop_runs": tc_runs,
            "backstop_per_packet": tc_runs / attempts if attempts else float("nan"),
            "backstop_ns": med("backstop_ns"), "tc_empty_ns": med("tc_empty_ns"),
            "backstop_added_ns": med("backstop_ns") - med("tc_empty_ns") if tc_runs
            else 0.0}


def commit():
    """The source measured: git's commit, and whether the tree had changes."""
    here = os.path.dirname(os.path.abspath(__file__))
    rev = subprocess.run(["git", "-C", here, "describe", "--always", "--dirty"],
                         capture_output=True, text=True)
    return rev.stdout.strip() if rev.returncode == 0 else None


def quartiles(v):
    q = statistics.quantiles(v, n=4)
    return [q[0], q[2]]


def cgroup2_root():
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] == "cgroup2":
                return fields[1]
    raise RuntimeError("no cgroup2 mount")


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    virt = "none"
    with open("/proc/cpuinfo") as f:
        if " hypervisor" in f.read():
            virt = "virtual machine"
    if shutil.which("systemd-detect-virt"):
        vm = subprocess.run(["systemd-detect-virt", "--vm"], capture_output=True, text=True).stdout.strip()
        if vm and vm != "none":
            virt = "virtual machine (%s)" % vm
    with open("/proc/cmdline") as f:
        cmdline = f.read()
    flags = [x for x in ("pti=on", "mitigations=off") if x in cmdline.split()]
    distro = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    elif os.path.exists("/etc/debian_version"):
        with open("/etc/debian_version") as f:
            distro = "Debian " + f.read().strip()
    return {"kernel": platform.release(), "cpu": cpu, "cpus": os.cpu_count(),
            "memory_gib": round(mem_kb / 2**20, 1), "virtualization": virt, "os": distro,
            "kernel_flags": flags, "date": time.strftime("%Y-%m-%d"),
            "load_average": os.getloadavg()}


LABELS = {"none": "(a) no filter", "iptables": "(b) iptables + ip6tables recipe",
          "nftables": "(c) nftables twin", "wgks-bpf": "(d) wgks-bpf",
          "clsact": "wgks-bpf, its backstop on clsact (WGKS_BACKSTOP_HOOK=clsact)",
          "nobackstop": "wgks-bpf without its backstop (taken off by hand)",
          "emptytc": "wgks-bpf, the empty tc program in its backstop's place (clsact + cls_bpf)",
          "emptytcx": "wgks-bpf, the empty tc program attached with tcx in its backstop's place",
          "empty": "empty cgroup_skb program (`return 1;`)",
          "unmanaged": "wgks-bpf, seen from a namespace without a policy"}


SOCKET_PATHS = [p[0] for p in PATHS if not p[0].startswith("fwd-")]
FWD_PATHS = [p[0] for p in PATHS if p[0].startswith("fwd-")]
# The backstop's judged fast path: what the cgroup program passed off the tunnel.
JUDGED_PATHS = ("fwmark", "lan")


def config_with(ins, path):
    """The first in-situ configuration that has PATH (allow-LAN's only)."""
    for c in ins["configs"]:
        if path in c["paths"]:
            return c
    return None


def targets(res):
    """The issues' targets against what was measured: (what, measured, met);
    met None: measured, no target."""
    out = []
    ins = res.get("insitu")
    if ins:
        base = {k: v for k, v in ins["configs"][0]["paths"].items() if k in SOCKET_PATHS}
        worst = max(base.items(), key=lambda kv: kv[1]["ratio"])
        batched = {k: v for k, v in base.items() if k not in ("blocked", "blocked-user", "tunnel-1")}
        worst_b = max(batched.items(), key=lambda kv: kv[1]["ratio"])
        out.append(("in situ <= 2x the empty program, every path",
                    "%.2fx at most on the batched paths (%s); %.2fx on %s (one packet per system call)"
                    % (worst_b[1]["ratio"], worst_b[0], worst[1]["ratio"], worst[0]),
                    worst[1]["ratio"] <= 2))
        for c in ins["configs"]:
            if "lan" in c["paths"]:
                v = c["paths"]["lan"]
                out.append(("in situ <= 2x the empty program, %s: lan path" % c["config"],
                            "%.2fx" % v["ratio"], v["ratio"] <= 2))
        for name in ("tunnel", "blocked", "unmanaged"):
            vals = [c["paths"][name]["wgks_ns"] for c in ins["configs"] if c["prefixes"] == 0
                    and not c["allow_lan"] and name in c["paths"]]
            if len(vals) > 1:
                out.append(("flat from 1 to 256 namespaces (%s)" % name,
                            "%s ns" % " / ".join("%.0f" % v for v in vals),
                            max(vals) <= 1.15 * min(vals)))
        lan = [c["paths"]["lan"]["wgks_ns"] for c in ins["configs"] if "lan" in c["paths"]]
        if len(lan) > 1:
            out.append(("flat from allow-LAN to allow-LAN + 1,000 prefixes (lan path)",
                        "%s ns" % " / ".join("%.0f" % v for v in lan), max(lan) <= 1.15 * min(lan)))
        # The backstop (issue #13).
        b = ins["configs"][0]["paths"]
        crossed = {k: b[k]["backstop_runs"] for k in ("tunnel", "tunnel-1", "local") if k in b}
        out.append(("backstop: nothing added on the tunnel and local paths",
                    "the backstop ran %s times for %s packets sent"
                    % (" / ".join("%d" % v for v in crossed.values()),
                       " / ".join("%d" % b[k]["attempts"] for k in crossed)),
                    not any(crossed.values())))
        for name in JUDGED_PATHS:
            c = config_with(ins, name)
            if not c:
                continue
            v = c["paths"][name]
            out.append(("backstop: <= +15 ns a packet the cgroup program judged (%s path, in situ)"
                        % name,
                        "%.1f ns a run (%.2f runs a packet), the empty tc program %.1f ns: %+.1f ns"
                        % (v["backstop_ns"], v["backstop_per_packet"], v["tc_empty_ns"],
                           v["backstop_added_ns"]),
                        v["backstop_added_ns"] <= 15))
    side = res.get("sidebyside")
    if side:
        for path, v in side["paths"].items():
            sw = v["summary"]["wgks-bpf"]
            w = sw["ratio_cpu"]
            if path in ("forwarded", "lan"):
                out.append(("end to end, %s, against no filter" % (
                                "a flow forwarded into the tunnel" if path == "forwarded" else
                                "to an allowed prefix (lan path)"),
                            "%.1f%% of no filter (%+.0f ns a packet); the empty cgroup_skb "
                            "program: %.1f%%" % (100 * w, sw["added_ns"],
                                                 100 * v["summary"]["empty"]["ratio_cpu"]), None))
                continue
            ipt = v["summary"]["iptables"]["ratio_cpu"]
            q = sw["vs_iptables_quartiles"]
            out.append(("end to end >= 98%% of no filter (%s path)" % path, "%.1f%%" % (100 * w), w >= 0.98))
            # Above only if it is in most rounds: the lower quartile of the per-round ratio > 1.
            out.append(("end to end above the iptables recipe (%s path)" % path,
                        "%.1f%% vs %.1f%%; per round, wgks-bpf / iptables: median %.3f, "
                        "quartiles %.3f – %.3f" % (100 * w, 100 * ipt, sw["vs_iptables"], q[0], q[1]),
                        "yes" if q[0] > 1 else "tie" if q[1] >= 1 else "no"))
        for path in ("fwmark", "lan"):
            if path not in side["paths"]:
                continue
            sw = side["paths"][path]["summary"]["wgks-bpf"]
            q = sw["vs_nobackstop_quartiles"]
            out.append(("backstop end to end: <= +15 ns a packet the cgroup program judged "
                        "(%s path, wgks-bpf against wgks-bpf without it)" % path,
                        "%+.0f ns a packet; per round, with / without: median %.3f, quartiles "
                        "%.3f – %.3f" % (sw["backstop_ns"], sw["vs_nobackstop"], q[0], q[1]),
                        sw["backstop_ns"] <= 15))
    lat = res.get("latency")
    if lat:
        c = lat["commands"]
        out.append(("attach + detach <= 1/3 of PostUp + PreDown",
                    "%.0f ms vs %.0f ms (%.2f)" % (c[0]["median_ms"], c[1]["median_ms"],
                                                   c[0]["ratio_to_recipe"]),
                    c[0]["ratio_to_recipe"] <= 1 / 3))
    return out


def fmt(v, f="%.0f"):
    return "–" if v is None or v != v else f % v


def markdown(res):
    m = res["machine"]
    out = ["Measured on %s, Linux %s%s, %d vCPUs (%s), %.0f GiB, %s, load average %.1f at the "
           "start; %s. `make bench` at %s, one run." % (
               m["os"] or "?", m["kernel"], " (%s)" % ", ".join(m["kernel_flags"]) if m["kernel_flags"]
               else "", m["cpus"], m["cpu"], m["memory_gib"], m["virtualization"],
               m["load_average"][0], m["date"], res.get("commit") or "?")]
    ins = res.get("insitu")
    tr = res.get("testrun")
    if ins:
        base = ins["configs"][0]["paths"]
        tbase = tr["configs"][0]["paths"] if tr else {}
        out += ["", "**Per-packet cost in the kernel**, ns, one namespace protected "
                "(program %s). *In situ*: bpf_stats run_time_ns / run_cnt under a UDP "
                "flood, next to an empty `return 1;` program attached before and after ours "
                "(\"empty\" is their mean); *isolated*: BPF_PROG_TEST_RUN%s."
                % (ins["program"], ", repeat %d" % tr["repeat"] if tr else ""), "",
                "| path | in situ: empty | wgks-bpf | ratio | isolated: empty | wgks-bpf | ratio |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for name in SOCKET_PATHS:
            v = base.get(name)
            if not v:
                continue
            t = tbase.get(name)
            out.append("| %s | %.0f | %.0f | %.2fx | %s | %s | %s |" % (
                PATH_LABELS.get(name, name), v["empty_ns"], v["wgks_ns"], v["ratio"],
                "%.0f" % t["empty_ns"] if t else "", "%.0f" % t["wgks_ns"] if t else "",
                "%.2fx" % (t["wgks_ns"] / t["empty_ns"]) if t else ""))
        names = [c["config"] for c in ins["configs"]]
        out += ["", "**Scale**, in situ: wgks-bpf ns per packet (ratio to the empty program). "
                "Extra namespaces are policies with made-up cookies written into the map; extra "
                "prefixes are /8 to /32 entries of the protected namespace, spread over the "
                "IPv4 space.", "",
                "| path | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for p in SOCKET_PATHS:
            cells = []
            for c in ins["configs"]:
                v = c["paths"].get(p)
                cells.append("%.0f (%.2fx)" % (v["wgks_ns"], v["ratio"]) if v else "–")
            out.append("| %s | %s |" % (PATH_LABELS.get(p, p), " | ".join(cells)))
        out += ["", "**The backstop, in situ**: bpf_stats of the tc program on eth0 (the link "
                "off the tunnel) during the same floods, next to an empty tc program attached "
                "the same way (%s), %s. Runs: backstop runs per packet sent. Forwarded " % (
                    ins.get("tc_hook", "clsact"),
                    "run after it (the backstop stays first; where it drops, the empty "
                    "program does not run, and its cost is that of the other paths)"
                    if ins.get("tc_hook") == "tcx" else "run before it") +
                "paths: sent in a container namespace that the protected one routes for; the "
                "cgroup program sees them in the container (no policy there). One namespace "
                "protected; the allowed-prefix paths with allow-LAN.", "",
                "| path | runs | tc: empty | backstop | added | cgroup program |",
                "|---|---:|---:|---:|---:|---:|"]
        for name in SOCKET_PATHS + FWD_PATHS:
            c = config_with(ins, name)
            if not c:
                continue
            v = c["paths"][name]
            ran = v["backstop_runs"] > 0
            out.append("| %s | %.2f | %s | %s | %s | %.0f |" % (
                PATH_LABELS.get(name, name), v["backstop_per_packet"],
                fmt(v["tc_empty_ns"]) if ran else "–", fmt(v["backstop_ns"]) if ran else "–",
                "%+.1f" % v["backstop_added_ns"] if ran else "0 (not crossed)", v["wgks_ns"]))
        out += ["", "**The backstop's scale**, in situ: ns per run on the paths that cross it "
                "(added over the empty tc program).", "",
                "| path | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for p in SOCKET_PATHS + FWD_PATHS:
            cells = []
            for c in ins["configs"]:
                v = c["paths"].get(p)
                cells.append("%.0f (%+.0f)" % (v["backstop_ns"], v["backstop_added_ns"])
                             if v and v["backstop_runs"] else "–")
            if any(x != "–" for x in cells):
                out.append("| %s | %s |" % (PATH_LABELS.get(p, p), " | ".join(cells)))
    if tr:
        names = [c["config"] for c in tr["configs"]]
        out += ["", "**Scale**, isolated (BPF_PROG_TEST_RUN): wgks-bpf ns per run (ratio to the "
                "empty program):", "", "| path | " + " | ".join(names) + " |",
                "|---|" + "---:|" * len(names)]
        for key, plist in (("paths", SOCKET_PATHS), ("tc_paths", FWD_PATHS)):
            for p in plist:
                cells = []
                for c in tr["configs"]:
                    v = c.get(key, {}).get(p)
                    cells.append("%.0f (%.2fx)" % (v["wgks_ns"], v["wgks_ns"] / v["empty_ns"])
                                 if v else "–")
                if any(x != "–" for x in cells):
                    label = PATH_LABELS.get(p, p) + (": the backstop" if key == "tc_paths" else "")
                    out.append("| %s | %s |" % (label, " | ".join(cells)))
    side = res.get("sidebyside")
    if side:
        paths = list(side["paths"])
        rounds = side["paths"][paths[0]]["rounds"]
        out += ["", "**End to end**, side by side: 64-byte UDP payloads with sendmmsg (64 a call) "
                "from one thread pinned to one CPU, taking %.0f ms turns among sockets in "
                "separate namespaces and cgroups, one per filter, %.0f s per path (%d rounds). "
                "Packets per second of the sender's CPU time (the VM's neighbours do not move "
                "it); ratio = median over rounds of each round's ratio to no filter; ns = what "
                "the filter adds to each packet. *forwarded*: sent in a container namespace, "
                "routed by the filter's namespace into its tunnel." % (
                    side["slice_ms"], side["seconds"], rounds), "",
                "| filter | " + " | ".join("%s: ratio | ns" % p for p in paths) + " |",
                "|---|" + "---:|---:|" * len(paths)]
        for s in SIDE:
            cells = []
            for p in paths:
                v = side["paths"][p]["summary"].get(s)
                cells.append("%.3f | %+.0f" % (v["ratio_cpu"], v["added_ns"]) if v else "– | –")
            out.append("| %s | %s |" % (LABELS[s], " | ".join(cells)))
        out.append("| *no filter, packets/s* | %s |" % " | ".join(
            "%.0f | " % side["paths"][p]["summary"]["none"]["pps_cpu"] for p in paths))
        out += ["", "What the backstop adds end to end (wgks-bpf against wgks-bpf without it, "
                "paired by round): " + "; ".join(
                    "%s %+.0f ns (ratio %.3f, quartiles %.3f – %.3f)" % (
                        p, side["paths"][p]["summary"]["wgks-bpf"]["backstop_ns"],
                        side["paths"][p]["summary"]["wgks-bpf"]["vs_nobackstop"],
                        *side["paths"][p]["summary"]["wgks-bpf"]["vs_nobackstop_quartiles"])
                    for p in paths) + "."]
        if "clsact" in side["paths"][paths[0]]["summary"]:
            out += ["", "What the hook changes (wgks-bpf, its backstop on %s, against the same "
                    "with its backstop on clsact, paired by round): " % res.get(
                        "backstop", {}).get("side_hook", "tcx") + "; ".join(
                        "%s %+.0f ns (ratio %.3f, quartiles %.3f – %.3f)" % (
                            p, 1e9 / side["paths"][p]["summary"]["clsact"]["pps_cpu"] -
                            1e9 / side["paths"][p]["summary"]["wgks-bpf"]["pps_cpu"],
                            side["paths"][p]["summary"]["wgks-bpf"]["vs_clsact"],
                            *side["paths"][p]["summary"]["wgks-bpf"]["vs_clsact_quartiles"])
                        for p in paths) + " (positive: saved by tcx)."]
    seq = res.get("sequential")
    if seq:
        n = len(seq["samples"]["none"])
        out += ["", "**End to end**, one after the other (wgks-bpf on the root cgroup, nothing "
                "attached for no filter; each system set up and torn down around its %.1f s "
                "sample, %d interleaved rounds), through the tunnel:"
                % (res["settings"]["seconds"], n), "",
                "| filter | median packets/s | ratio | median packets/CPU-s | ratio |",
                "|---|---:|---:|---:|---:|"]
        for s, v in seq["summary"].items():
            out.append("| %s | %.0f | %.3f | %.0f | %.3f |" % (
                LABELS[s], v["median_pps"], v["paired_ratio_pps"], v["median_pps_cpu"],
                v["paired_ratio_pps_cpu"]))
    lat = res.get("latency")
    if lat:
        out += ["", "**Attach + detach**, in a namespace (`ip netns exec`), on a wireguard-go "
                "interface with fwmark 51820, hyperfine, median of %d runs:"
                % res["settings"]["latency_runs"], "",
                "| what | median ms | min – max ms | ratio to the recipe |", "|---|---:|---:|---:|"]
        for r in lat["commands"]:
            out.append("| %s | %.1f | %.1f – %.1f | %.2f |" % (
                r["what"], r["median_ms"], r["min_ms"], r["max_ms"], r["ratio_to_recipe"]))
        out.append("| of attach: loading the BPF object (fresh process, %s BTF) | %.1f | | |" % (
            "minimal" if lat.get("minimal_btf") else "the kernel's", lat["load_ms"]))
        if "first_load_ms" in lat:
            out.append("| the first load of a boot (builds the minimal BTF; libbpf read the "
                       "kernel's after %.1f ms) | %.1f | | |" % (lat["first_kernel_btf_ms"],
                                                                lat["first_load_ms"]))
    t = targets(res)
    if t:
        out += ["", "**Targets**:", "", "| target | measured | met |", "|---|---|---|"]
        for what, got, met in t:
            if met is None:
                verdict = "(no target)"
            elif met is True or met == "yes":
                verdict = "yes"
            elif met == "tie":
                verdict = "**tie** (within the noise)"
            else:
                verdict = "**no**"
            out.append("| %s | %s | %s |" % (what, got, verdict))
    return "\n".join(out)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="the wgks-bpf binary")
    ap.add_argument("--tools", required=True, help="directory of udpflood and wgks-bench")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--rounds", type=int, default=10, help="one after the other: rounds (default 10)")
    ap.add_argument("--seconds", type=float, default=1.0,
                    help="one after the other: seconds per system and round")
    ap.add_argument("--side-seconds", type=float, default=20.0,
                    help="side by side: seconds per path (default 20)")
    ap.add_argument("--slice-ms", type=float, default=20.0, help="side by side: each turn (ms)")
    ap.add_argument("--insitu-rounds", type=int, default=4)
    ap.add_argument("--insitu-seconds", type=float, default=0.4)
    ap.add_argument("--repeat", type=int, default=1000000, help="BPF_PROG_TEST_RUN repeat")
    ap.add_argument("--testrun-rounds", type=int, default=5)
    ap.add_argument("--latency-runs", type=int, default=20)
    ap.add_argument("--cpu", type=int, default=0,
                    help="pin the sender to this CPU (-1: do not pin)")
    ap.add_argument("--only", help="comma-separated parts: testrun,insitu,sidebyside,sequential,latency")
    ap.add_argument("--configs", default=",".join(str(i + 1) for i in range(len(CONFIGS))),
                    help="in situ: these scale configurations only (1-%d, comma-separated)"
                    % len(CONFIGS))
    ap.add_argument("--lock-timeout", type=int, default=900)
    a = ap.parse_args()
    if a.cpu is not None and a.cpu < 0:
        a.cpu = None
    return a


def main():
    args = parse_args()
    if os.geteuid() != 0:
        log("SKIP: make bench needs root")
        return 0
    b = Bench(args)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    ok = False
    try:
        b.main()
        ok = True
    except KeyboardInterrupt as e:
        log("interrupted: %s" % e)
    except Exception as e:  # anything: clean up, say what it was
        log("bench: %s: %s" % (type(e).__name__, e))
        if not isinstance(e, RuntimeError):
            traceback.print_exc()
    finally:
        clean = b.cleanup()
    if ok:
        if args.json:
            with open(args.json, "w") as f:
                json.dump(b.result, f, indent=1)
            log("results: %s" % args.json)
        print(markdown(b.result))
    return 0 if ok and clean else 1


if __name__ == "__main__":
    sys.exit(main())
