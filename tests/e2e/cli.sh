#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The command line against a real kernel: every bad input gets a clear
# message and the right exit code and changes nothing; attach is idempotent;
# several namespaces are independent; concurrent invocations end with one
# program; attach and detach from different `ip netns exec` (different mount
# namespaces, no bpffs or cgroup2 visible) meet. Everything happens in
# throwaway namespaces and is removed on exit.
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$HERE/../lib/tap.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/sandbox.sh
. "$HERE/../lib/sandbox.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/wgks.sh
. "$HERE/../lib/wgks.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/probes.sh
. "$HERE/../lib/probes.sh"

BIN=${1:?usage: cli.sh /path/to/wgks-bpf}
TAG=$$
NS_A=wgksa$TAG
NS_B=wgksb$TAG

[ "$(id -u)" = 0 ] || skip_all "cli.sh needs root"
CGROUP2=$(wgks_cgroup2)

USERNS_PID=
cleanup() {
	set +e
	[ -n "$USERNS_PID" ] && kill "$USERNS_PID" 2>/dev/null
	drop_ns "$BIN" "$NS_A" "$NS_B"
	rmdir "$CGROUP2/wgks-cli-$TAG" 2>/dev/null || true
}
trap cleanup EXIT

# check_clean WHEN: nothing of ours attached (the state before and after
# every failing command).
check_clean() { check_fails "$1: nothing attached" wgks_attached; }

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# One program serves the whole host: e2e suites take turns (leaks.sh too).
e2e_lock

! wgks_attached >/dev/null || skip_all "a wgks program is already attached on this host; not touching it"

for ns in "$NS_A" "$NS_B"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	# The "tunnel" is a tun device (attach protects only tunnels), the
	# "LAN" a veth pair.
	ip -n "$ns" tuntap add tun0 mode tun
	ip -n "$ns" link add eth0 type veth peer name eth0p
	for dev in tun0 eth0 eth0p; do ip -n "$ns" link set "$dev" up; done
done

# --- usage errors: exit 2 ---
check_exit "no command" 2 "Usage:" "$BIN"
check_exit "unknown command" 2 "invalid subcommand \`frob'" "$BIN" frob
check_exit "attach without interface" 2 "missing interface name" "$BIN" attach
check_exit "bad fwmark" 2 "\`12x'" "$BIN" attach tun0 --fwmark 12x
check_exit "unknown option" 2 "unknown option \`--nope'" "$BIN" detach --nope
check_clean "usage errors"

# --- failures: exit 1, nothing changed ---
check_exit "unknown interface" 1 "nosuch0: no such interface" in_a "$BIN" attach nosuch0
check_exit "not WireGuard, no --fwmark" 1 "tun0: not a WireGuard interface" in_a "$BIN" attach tun0
check_exit "not a tunnel (veth), even with --fwmark" 1 "eth0: not a tunnel (a veth device)" \
	in_a "$BIN" attach eth0 --fwmark 1
ip -n "$NS_A" tuntap add tap0 mode tap
check_exit "not a tunnel (tap), even with --fwmark" 1 "tap0: not a tunnel (a tap device)" \
	in_a "$BIN" attach tap0 --fwmark 1
ip -n "$NS_A" link del tap0
check_exit "fwmark off, not WireGuard" 1 "tun0: not a WireGuard interface" \
	in_a "$BIN" attach tun0 --fwmark off
check_exit "not a cgroup2 dir" 1 "cgroup /tmp: not a cgroup v2 directory" \
	in_a "$BIN" attach tun0 --fwmark 0x10 --cgroup /tmp
check_exit "not root" 1 "must run as root" \
	in_a setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" attach tun0 --fwmark 0x10
check_exit "forced unknown variant" 1 "WGKS_VARIANT=bogus" \
	in_a env WGKS_VARIANT=bogus "$BIN" attach tun0 --fwmark 0x10
check_clean "failed attaches"
check_exit "status, nothing attached" 3 "" in_a "$BIN" status
check_exit "detach, nothing attached" 0 "nothing to do" in_a "$BIN" detach tun0

# --- the cgroup root found must be the hierarchy's real root ---
# A subtree bind-mounted where cgroup2 was, or a cgroup namespace: attach
# would guard only the processes below it while status said "protected".
SUBCG="$CGROUP2/wgks-cli-$TAG"
mkdir "$SUBCG"
# shellcheck disable=SC2016  # the inner script expands its own arguments
check_exit "a subtree bind-mounted in place of the cgroup2 root is refused" 1 \
	"is not the root of the hierarchy" unshare -m sh -c \
	'mount --bind "$1" "$2" && exec nsenter --net="/run/netns/$3" "$4" attach tun0 --fwmark 0x10' \
	sh "$SUBCG" "$CGROUP2" "$NS_A" "$BIN"
# shellcheck disable=SC2016
check_exit "in a cgroup namespace (its own cgroup2 root) it is refused" 1 \
	"is not the root of the hierarchy" sh -c \
	'echo $$ >"$1/cgroup.procs" && exec unshare -C ip netns exec "$2" "$3" attach tun0 --fwmark 0x10' \
	sh "$SUBCG" "$NS_A" "$BIN"
check_clean "cgroup subtrees"
# (nsenter --net, not ip netns exec: the path must stay in view.)
check_exit "a subtree named on purpose with --cgroup is taken" 0 "tun0 protected" \
	nsenter --net="/run/netns/$NS_A" "$BIN" attach tun0 --fwmark 0x10 --cgroup "$SUBCG"
egress_on_subcg() { wgks_cgroup_progs "$SUBCG" | grep '^egress '; }
check "--cgroup: attached to $SUBCG" egress_on_subcg
check_exit "detach --cgroup the subtree" 0 "" \
	nsenter --net="/run/netns/$NS_A" "$BIN" detach --cgroup "$SUBCG"
rmdir "$SUBCG"

# --- a namespace owned by another user namespace: attach and status say so ---
unshare --user --map-root-user --net sleep 300 >/dev/null 2>&1 </dev/null 9>&- &
USERNS_PID=$!
sleep 0.3
nsenter --net="/proc/$USERNS_PID/ns/net" ip tuntap add tun0 mode tun
check_exit "attach in a rootless container's namespace warns" 0 "not the initial one" \
	nsenter --net="/proc/$USERNS_PID/ns/net" "$BIN" attach tun0 --fwmark 0x10
if { nsenter --net="/proc/$USERNS_PID/ns/net" "$BIN" status --json || true; } |
	grep -q '"this_netns_userns_initial":false'; then
	ok "status --json says the namespace's user namespace is not the initial one"
else
	not_ok "status --json: $(nsenter --net="/proc/$USERNS_PID/ns/net" "$BIN" status --json)"
fi
if { in_a "$BIN" status --json || true; } | grep -q '"this_netns_userns_initial":true'; then
	ok "status --json: an ordinary namespace's is the initial one"
else
	not_ok "status --json in A: $(in_a "$BIN" status --json)"
fi
check_exit "detach in the rootless container's namespace" 0 "" \
	nsenter --net="/proc/$USERNS_PID/ns/net" "$BIN" detach
kill "$USERNS_PID"; wait "$USERNS_PID" 2>/dev/null || true
check_clean "user namespaces"

# --- CO-RE from the minimal BTF of this boot (loader/corebtf.c) ---
# Built once, root's alone; a file that is not its own, not root's or not
# BTF is built anew, never used. kctx (6.2-6.14) uses the kernel's BTF.
core=/run/wgks-bpf/core-$(cat /proc/sys/kernel/random/boot_id).btf
# attach_core WHAT: attach + detach in A, verbose; checks the BTF used.
attach_core() {
	local out
	out=$(in_a "$BIN" --verbose attach tun0 --fwmark 0x10 2>&1 >/dev/null)
	in_a "$BIN" detach >/dev/null 2>&1
	if [[ "$out" == *"accepted the kctx variant"* ]]; then
		ok "$1: kctx variant, kernel's BTF (skip)"
	elif [[ "$out" == *"variant (minimal BTF)"* && "$out" == *"$2"* ]]; then
		ok "$1"
	else
		not_ok "$1: $(grep -i 'btf\|variant' <<<"$out" | head -5)"
	fi
}
core_file_ok() {
	if [ "$(stat -c '%F %U %a' "$core" 2>/dev/null)" = "regular file root 600" ]; then
		ok "$1: $core is root's, mode 600"
	else
		not_ok "$1: $core is $(stat -c '%F %U %a' "$core" 2>&1)"
	fi
}
rm -f "$core"
attach_core "first load builds the minimal BTF" "kept the kernel's CO-RE fields in $core"
core_file_ok "built"
inode=$(stat -c %i "$core")
attach_core "next load uses it" ""
if [ "$(stat -c %i "$core")" = "$inode" ]; then ok "used as it was"; else not_ok "built again"; fi
echo "not BTF" >"$core"
attach_core "a file that is not BTF is built anew" "kept the kernel's CO-RE fields"
core_file_ok "rebuilt"
chown 65534 "$core"
attach_core "a file not root's is built anew" "kept the kernel's CO-RE fields"
core_file_ok "rebuilt"
check_clean "CO-RE loads"

# --- attach, twice: one program, updated in place ---
check_exit "attach A" 0 "tun0 protected" in_a "$BIN" attach tun0 --fwmark 0x10
first=$(wgks_programs)
if [[ "$first" == *egress:* && "$first" == *sock_ops:* ]]; then
	ok "attached on egress and sock_ops ($first)"
else
	not_ok "attach left programs: $first"
fi
check_exit "attach A again, new fwmark" 0 "fwmark 0x20" in_a "$BIN" attach tun0 --fwmark 0x20
if [ "$(wgks_programs)" = "$first" ] && [ -n "$first" ]; then
	ok "second attach keeps the one program ($first)"
else
	not_ok "second attach: programs '$first' then '$(wgks_programs)'"
fi
if in_a "$BIN" status --json | grep -q '"name":"tun0","ifindex":[0-9]*,"fwmark":32,'; then
	ok "policy updated in place (fwmark 32)"
else
	not_ok "policy not updated: $(in_a "$BIN" status --json)"
fi
if bpftool map dump name wgks_policy | grep -q '"fwmark": 32'; then
	ok "bpftool map dump name wgks_policy shows the fwmark"
else
	not_ok "bpftool map dump does not show the policy"
fi
check_exit "status in A: protected" 0 "" in_a "$BIN" status
check_exit "status in B: not protected" 3 "" in_b "$BIN" status

# --- the policy blocks in A only ---
ip -n "$NS_A" addr add 10.66.0.1/24 dev eth0
ip -n "$NS_B" addr add 10.66.0.1/24 dev eth0
check_refused "A: send off the tunnel fails with EPERM" udp_send "$NS_A" 10.66.0.2 9
check "A: loopback works" ping_once "$NS_A" 127.0.0.1
# ping itself does not say why a send failed: ask the socket.
if [ "$(in_a python3 -c 'import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
try:
    s.sendto(b"\x08\x00\xf7\xff\x00\x00\x00\x00", ("10.66.0.2", 0)); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])')" = EPERM ]; then
	ok "A: ICMP echo off the tunnel fails with EPERM"
else
	not_ok "A: ICMP off the tunnel was not refused with EPERM"
fi
check "B (no policy): untouched" udp_send "$NS_B" 10.66.0.2 9

# --- status --json: every field of the schema (README), with its type ---
if in_a "$BIN" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
want = {"attached": bool, "cgroup": str, "program": dict, "fail_fast": dict, "attach_mode": str,
        "variant": str, "this_netns": int, "unmanaged": dict, "namespaces": list, "protected": bool}
for k, t in want.items():
    assert isinstance(d[k], t), k
assert set(d["program"]) == {"id", "name"} and d["program"]["name"].startswith("wgks_eg_")
assert set(d["unmanaged"]) == {"packets", "bytes"}
ns = [n for n in d["namespaces"] if n["current"]][0]
assert ns["netns"] == d["this_netns"] and d["protected"] is True
for k, t in {"lockdown": bool, "tunnels": list, "endpoints": list, "allowed": list, "counters": dict}.items():
    assert isinstance(ns[k], t), k
for k, t in {"backstop": list, "backstop_hook": str, "backstop_behind": list, "lockdown": bool}.items():
    assert isinstance(ns[k], t), k
assert all(isinstance(dev, str) for dev in ns["backstop"])
assert ns["backstop_hook"] in ("tcx", "clsact")
assert set(ns["tunnels"][0]) == {"name", "ifindex", "fwmark", "wireguard", "listen_port",
                                 "wireguard_sockets"}
assert set(ns["counters"]) == {"tunnel", "fwmark", "local", "link", "endpoint", "lan", "blocked",
                               "internal", "handshake", "packet", "forward", "kernel"}
assert all(set(c) == {"packets", "bytes"} for c in ns["counters"].values())
assert isinstance(d["this_netns_userns"], int) and d["this_netns_userns_initial"] is True
'; then ok "status --json: every field, with its type"; else not_ok "status --json schema"; fi

# --- a failing command changes nothing, also while attached ---
state() { bpftool -j map dump name wgks_policy; bpftool -j map dump name wgks_allow4; }
before=$(state)
check_exit "attached: unknown interface" 1 "no such interface" in_a "$BIN" attach nosuch0
check_exit "attached: not WireGuard" 1 "tun0: not a WireGuard interface" in_a "$BIN" attach tun0
check_exit "attached: eth0 --fwmark 1 (not a tunnel) refused" 1 \
	"eth0: not a tunnel (a veth device)" in_a "$BIN" attach eth0 --fwmark 1
check_exit "attached: --allow 0.0.0.0/0 refused" 2 "cover every IPv4 address" \
	in_a "$BIN" attach tun0 --fwmark 0x20 --allow 0.0.0.0/0
check_exit "attached: --allow ::/1 --allow 8000::/1 refused" 2 "cover every IPv6 address" \
	in_a "$BIN" attach tun0 --fwmark 0x20 --allow ::/1 --allow 8000::/1
check_exit "attached: bad CIDR" 2 "" in_a "$BIN" attach tun0 --allow 10.66.0.0/33
if [ "$(state)" = "$before" ]; then ok "failed commands left the policy as it was"; else not_ok "a failed command changed the maps"; fi

# --- what a tunnel lets through goes with it on detach ---
check_exit "attach A with --allow 10.66.0.0/24" 0 "" in_a "$BIN" attach tun0 --fwmark 0x20 --allow 10.66.0.0/24
check "A: the allowed prefix passes" udp_send "$NS_A" 10.66.0.2 9
check_exit "lockdown on in A" 0 "" in_a "$BIN" lockdown on
check_exit "detach tun0, lockdown stays" 0 "lockdown stays" in_a "$BIN" detach tun0
check_refused "A: the prefix went with the tunnel" udp_send "$NS_A" 10.66.0.2 9
if bpftool -j map dump name wgks_allow4 | python3 -c 'import json,sys; sys.exit(len(json.load(sys.stdin)))'; then
	ok "wgks_allow4 is empty again"
else
	not_ok "wgks_allow4 kept entries: $(bpftool -j map dump name wgks_allow4)"
fi
check_exit "lockdown off in A" 0 "" in_a "$BIN" lockdown off
check_clean "lockdown off, no tunnel"

# --- the backstop: tcx where the kernel has it, first of the chain; others' filters still run ---
# (README, "The backstop"). tcx.py asks the kernel, not wgks-bpf.
tcx_progs() { in_a python3 "$WGKS_TCX_PY" "$1"; }
first_tcx() { tcx_progs "$1" | awk 'NR == 1 { print $2 }'; }
ns_field() {
	in_a "$BIN" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([n for n in d["namespaces"] if n["current"]][0][sys.argv[1]])' "$1"
}
# send_marked N: N UDP datagrams from A to 10.66.0.2 with the tunnel's fwmark
# (tun0 is no WireGuard: any socket with its mark passes, judged).
send_marked() {
	in_a python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 36, 0x20)
for _ in range(int(sys.argv[1])):
    s.sendto(b"wgks", ("10.66.0.2", 9))' "$1"
}
# Packets the u32 filter of "someone else" (pref 2 on eth0) has seen.
u32_seen() {
	in_a tc -s filter show dev eth0 egress pref 2 |
		awk '/Sent [0-9]+ bytes [0-9]+ pkt/ { for (i = 1; i < NF; i++) if ($(i + 1) == "pkt") n += $i } END { print n + 0 }'
}
rc=0; in_a python3 "$WGKS_TCX_PY" lo >/dev/null || rc=$?
case $rc in 0) want_hook=tcx ;; 3) want_hook=clsact ;; *) want_hook="? (tcx.py: exit $rc)" ;; esac
check_exit "attach A (fwmark 0x20, eth0 holds the backstop)" 0 "" in_a "$BIN" attach tun0 --fwmark 0x20
hook=$(ns_field backstop_hook)
if [ "$hook" = "$want_hook" ]; then ok "status: the backstop is on $hook (this kernel: $want_hook)"; else not_ok "status: the backstop is on $hook, want $want_hook"; fi
filters=$(in_a tc filter show dev eth0 egress)
if [ "$want_hook" = tcx ]; then
	if [[ "$(first_tcx eth0)" == wgks_bs_* ]]; then ok "tcx: wgks_bs_* first on eth0"; else not_ok "tcx: eth0's chain is: $(tcx_progs eth0)"; fi
	if [[ "$filters" != *wgks_* ]]; then ok "tcx: no clsact filter of ours on eth0"; else not_ok "tcx: a clsact filter too: $filters"; fi
else
	if [[ "$filters" == *wgks_bs_* ]]; then ok "clsact: our filter on eth0"; else not_ok "clsact: eth0 has: $filters"; fi
fi
# Someone else's filter after ours: a u32 that matches everything and
# counts, in its action's statistics (mirred, which kernels without act_gact
# have too: a copy to a tun device with no reader, dropped there).
ip -n "$NS_A" tuntap add mirr0 mode tun
ip -n "$NS_A" link set mirr0 up
in_a tc qdisc show dev eth0 | grep -q clsact || in_a tc qdisc add dev eth0 clsact
in_a tc filter add dev eth0 egress pref 2 protocol all u32 match u32 0 0 action mirred egress mirror dev mirr0
in_a ip neigh replace 10.66.0.2 lladdr "$(in_a cat /sys/class/net/eth0p/address)" dev eth0 nud permanent
seen0=$(u32_seen)
send_marked 50
seen=$(($(u32_seen) - seen0))
# Before: the backstop's TC_ACT_OK ended the chain, and the u32 saw none of them.
if ((seen >= 50)); then
	ok "another's filter after the backstop sees what it passed ($seen of 50 judged packets)"
else
	not_ok "another's filter after the backstop saw $seen of 50 judged packets"
fi
if [ "$want_hook" = tcx ]; then
	# Someone else's program first of the tcx chain: the next command puts ours before it.
	other=$(in_a python3 "$WGKS_TCX_PY" attach-first eth0)
	if [ "$(first_tcx eth0)" = other_next ]; then ok "another's tcx program put first (id $other)"; else not_ok "another's tcx program not first: $(tcx_progs eth0)"; fi
	if [ "$(ns_field backstop_behind)" = "['eth0']" ] &&
		in_a "$BIN" status | grep -q "eth0 (tcx, another's program first: run sync)"; then
		ok "status: on eth0 another's program runs first"
	else
		not_ok "status does not say another's program runs first: $(ns_field backstop_behind)"
	fi
	check_exit "sync" 0 "" in_a "$BIN" sync
	if [ "$(ns_field backstop_behind)" = "[]" ]; then ok "status: after sync, none behind"; else not_ok "status after sync: behind $(ns_field backstop_behind)"; fi
	order=$(tcx_progs eth0 | awk '{ print $2 }' | xargs)
	if [[ "$order" == "wgks_bs_"*" other_next" ]]; then ok "sync: ours first again, the other after it ($order)"; else not_ok "sync: eth0's tcx chain is $order"; fi
	# clsact and tcx, back and forth, under a flood of what only the cgroup
	# program passes: root's WireGuard handshake initiations (row 9). A
	# moment with our filter running after our tcx program, which cleared
	# the judged bit, would drop some as the kernel's (the handover).
	in_a python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
init = bytes([1, 0, 0, 0]) + bytes(144)
end = time.time() + 4
while time.time() < end:
    s.sendto(init, ("10.66.0.2", 51820))' >/dev/null 2>&1 </dev/null 9>&- &
	flood=$!
	sleep 0.3
	k0=$(in_a "$BIN" status --json | grep -o '"kernel":{"packets":[0-9]*' | grep -o '[0-9]*$')
	h0=$(in_a "$BIN" status --json | grep -o '"handshake":{"packets":[0-9]*' | grep -o '[0-9]*$')
	moves=0
	for _ in $(seq 8); do
		WGKS_BACKSTOP_HOOK=clsact in_a "$BIN" sync 2>/dev/null && [[ "$(in_a tc filter show dev eth0 egress)" == *wgks_bs_* ]] &&
			[[ "$(tcx_progs eth0)" != *wgks_* ]] && moves=$((moves + 1))
		in_a "$BIN" sync 2>/dev/null && [[ "$(first_tcx eth0)" == wgks_bs_* ]] &&
			[[ "$(in_a tc filter show dev eth0 egress)" != *wgks_* ]] && moves=$((moves + 1))
	done
	wait "$flood" 2>/dev/null || true
	k=$(($(in_a "$BIN" status --json | grep -o '"kernel":{"packets":[0-9]*' | grep -o '[0-9]*$') - k0))
	h=$(($(in_a "$BIN" status --json | grep -o '"handshake":{"packets":[0-9]*' | grep -o '[0-9]*$') - h0))
	if ((moves == 16)); then ok "16 moves between clsact and tcx, each complete"; else not_ok "$moves of 16 moves complete"; fi
	if ((h > 1000 && k == 0)); then
		ok "none of $h handshake initiations dropped at the backstop while it moved"
	else
		not_ok "$k of $h handshake initiations dropped at the backstop while it moved"
	fi
	if [ "$(tcx_progs eth0 | awk '{ print $2 }' | xargs)" = "$order" ]; then ok "afterwards: $order"; else not_ok "afterwards eth0's tcx chain is $(tcx_progs eth0 | xargs)"; fi
fi
in_a tc filter del dev eth0 egress pref 2
ip -n "$NS_A" link del mirr0
check_exit "detach A" 0 "" in_a "$BIN" detach
if [ "$want_hook" = tcx ]; then
	if [ "$(tcx_progs eth0 | awk '{ print $2 }' | xargs)" = other_next ]; then
		ok "detach: ours off eth0's tcx chain, the other's stays"
	else
		not_ok "detach: eth0's tcx chain is $(tcx_progs eth0 | xargs)"
	fi
fi
if [[ "$(in_a tc filter show dev eth0 egress)" != *wgks_* ]]; then ok "detach: no clsact filter of ours"; else not_ok "detach: eth0 has $(in_a tc filter show dev eth0 egress)"; fi
check_clean "detach after the backstop's moves"

# --- a device the backstop cannot go on does not leave the next uncovered ---
# (tcx only: a full chain takes no more programs, ERANGE.)
if [ "$want_hook" = tcx ]; then
	# veth registers the peer first: fullb gets the lower index, and the
	# backstop goes on devices in the order of their index.
	ip -n "$NS_A" link add fulla type veth peer name fullb
	for dev in fulla fullb; do ip -n "$NS_A" link set "$dev" up; done
	first=fulla next=fullb
	(($(in_a cat /sys/class/net/fullb/ifindex) < $(in_a cat /sys/class/net/fulla/ifindex))) &&
		first=fullb next=fulla
	in_a python3 "$WGKS_TCX_PY" attach-first "$first" full >/dev/null
	check_exit "attach, $first's tcx chain full: fails, naming it" 1 "$first" in_a "$BIN" attach tun0 --fwmark 0x20
	check "  ... $next, after it, has the backstop all the same" wgks_backstop_on "$next" "$NS_A"
	check "  ... and eth0" wgks_backstop_on eth0 "$NS_A"
	ip -n "$NS_A" link del fulla
	check_exit "detach A" 0 "" in_a "$BIN" detach
	check_clean "detach after a device that was full"
fi

# --- a macvlan on eth0: its packets are judged once, at eth0 ---
# What leaves by a macvlan (vlan, ipvlan) goes on out through its lower
# device; a backstop on both would see at eth0 a packet whose judged bit
# the upper one already cleared, and drop what only the cgroup program can
# pass: root's WireGuard handshake initiation (row 9).
counter_of() {
	in_a "$BIN" status --json | grep -o "\"$1\":{\"packets\":[0-9]*" | grep -o '[0-9]*$'
}
ip -n "$NS_A" link add link eth0 name mv0 type macvlan mode private
ip -n "$NS_A" link set mv0 up
ip -n "$NS_A" addr add 10.67.0.1/24 dev mv0
in_a ip neigh replace 10.67.0.2 lladdr 02:00:00:00:67:02 dev mv0 nud permanent
check_exit "attach A (mv0, a macvlan of eth0)" 0 "" in_a "$BIN" attach tun0 --fwmark 0x20
check "eth0 has the backstop" wgks_backstop_on eth0 "$NS_A"
check_fails "mv0, whose packets leave by eth0, has none of its own" wgks_backstop_on mv0 "$NS_A"
h0=$(counter_of handshake) k0=$(counter_of kernel)
in_a python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(20):
    s.sendto(bytes([1, 0, 0, 0]) + bytes(144), ("10.67.0.2", 51820))'
h=$(($(counter_of handshake) - h0)) k=$(($(counter_of kernel) - k0))
if ((h == 20 && k == 0)); then
	ok "20 handshake initiations by mv0 passed (row 9), none dropped at eth0"
else
	not_ok "handshake initiations by mv0: $h passed at the cgroup hook, $k dropped at the backstop"
fi
check_refused "A: UDP by mv0 off the tunnel still refused" udp_send "$NS_A" 10.67.0.2 9
check_exit "detach A" 0 "" in_a "$BIN" detach
ip -n "$NS_A" link del mv0
check_clean "detach after the macvlan"
# A macvlan whose lower device is in another namespace (as a container's
# is): it keeps its own backstop, whatever index its lower device has there.
ip -n "$NS_A" link add link eth0 name mvx type macvlan mode private
ip -n "$NS_A" link set mvx netns "$NS_B"
ip -n "$NS_B" link set mvx up
check_exit "attach B (mvx, a macvlan of A's eth0)" 0 "" in_b "$BIN" attach tun0 --fwmark 0x20
check "mvx, its lower device in A, has its own backstop" wgks_backstop_on mvx "$NS_B"
check_exit "detach B" 0 "" in_b "$BIN" detach
ip -n "$NS_B" link del mvx
check_clean "detach after the macvlan from A"

# --- two tunnels, one detached: the other stays protected ---
ip -n "$NS_A" tuntap add tun1 mode tun
ip -n "$NS_A" link set tun1 up
check_exit "attach tun0" 0 "" in_a "$BIN" attach tun0 --fwmark 0x20
check_exit "attach tun1" 0 "" in_a "$BIN" attach tun1 --fwmark 0x30
check_exit "detach tun1" 0 "" in_a "$BIN" detach tun1
tunnels=$(in_a "$BIN" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(t["name"] for n in d["namespaces"] if n["current"] for t in n["tunnels"]))')
if [ "$tunnels" = tun0 ]; then ok "tun0 still protected, tun1 gone"; else not_ok "tunnels after detach tun1: '$tunnels'"; fi
check_refused "A: off the tunnel still refused" udp_send "$NS_A" 10.66.0.2 9
ip -n "$NS_A" link del tun1

# --- a second namespace, then detach one: the other stays protected ---
check_exit "attach B" 0 "tun0 protected" in_b "$BIN" attach tun0 --fwmark 0x10
check_exit "detach A" 0 "" in_a "$BIN" detach tun0
check_exit "status in B still protected" 0 "" in_b "$BIN" status
check "program stays while B has a policy" wgks_attached
check_exit "detach B by name, from another ip netns exec" 0 "" in_b "$BIN" detach tun0
check_clean "last detach"

# --- crash: the interface vanishes, detach still cleans up ---
check_exit "attach A" 0 "" in_a "$BIN" attach tun0 --fwmark 0x10
ip -n "$NS_A" link del tun0
check_refused "A: still blocked after the tunnel vanished" udp_send "$NS_A" 10.66.0.2 9
check_exit "detach after the interface vanished" 0 "" in_a "$BIN" detach tun0
check_clean "detach after crash"

# --- concurrent attaches in two namespaces: one program, both protected ---
ip -n "$NS_A" tuntap add tun0 mode tun
ip -n "$NS_A" link set tun0 up
in_a "$BIN" attach tun0 --fwmark 0x10 2>/dev/null 9>&- &
p1=$!
in_b "$BIN" attach tun0 --fwmark 0x10 2>/dev/null 9>&- &
p2=$!
if wait $p1 && wait $p2; then ok "concurrent attaches succeed"; else not_ok "concurrent attaches"; fi
progs=$(wgks_programs)
if [ "$(wc -w <<<"$progs")" = 2 ] && [[ "$progs" == *egress:* && "$progs" == *sock_ops:* ]]; then
	ok "concurrent attaches: one program per hook ($progs)"
else
	not_ok "concurrent attaches: programs $progs"
fi
check_exit "A protected" 0 "" in_a "$BIN" status
check_exit "B protected" 0 "" in_b "$BIN" status
check_exit "detach all of A" 0 "" in_a "$BIN" detach
check_exit "detach all of B" 0 "" in_b "$BIN" detach
check_clean "after concurrent test"
# --- the lock: root's alone, in /run/wgks-bpf; a holder makes attach wait, not fail ---
# An unprivileged user can open and flock the cgroup directory (the old
# lock): that must not hold anything back.
setpriv --reuid=65534 --regid=65534 --clear-groups flock --no-fork "$CGROUP2" sleep 45 \
	>/dev/null 2>&1 </dev/null 9>&- &
squatter=$!
sleep 0.3
start=$(date +%s%N)
check_exit "attach while uid 65534 holds flock on the cgroup root" 0 "tun0 protected" \
	in_a "$BIN" attach tun0 --fwmark 0x10
waited=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$waited" -lt 5000 ]; then ok "not held back (${waited} ms)"; else not_ok "held back ${waited} ms"; fi
check_exit "detach while uid 65534 holds flock on the cgroup root" 0 "" in_a "$BIN" detach
kill "$squatter"; wait "$squatter" 2>/dev/null || true
check_exit "uid 65534 cannot even open the lock file" 66 "Permission denied" \
	setpriv --reuid=65534 --regid=65534 --clear-groups flock -n /run/wgks-bpf/lock true
if [ "$(stat -c '%U %a' /run/wgks-bpf /run/wgks-bpf/lock)" = "root 700"$'\n'"root 600" ]; then
	ok "lock: /run/wgks-bpf is root's, 700; the lock file root's, 600"
else
	not_ok "lock: $(stat -c '%n %U %a' /run/wgks-bpf /run/wgks-bpf/lock)"
fi
flock /run/wgks-bpf/lock sleep 2 9>&- &
holder=$!
sleep 0.3
start=$(date +%s%N)
check_exit "attach waits for the lock" 0 "tun0 protected" in_a "$BIN" attach tun0 --fwmark 0x10
waited=$(( ($(date +%s%N) - start) / 1000000 ))
wait $holder
if [ "$waited" -ge 1000 ]; then ok "attach waited ${waited} ms for the holder"; else not_ok "attach did not wait (${waited} ms)"; fi
check_exit "detach A" 0 "" in_a "$BIN" detach
check_clean "after the lock test"

# --- a namespace deleted without detach: the next command forgets it, never a live one ---
NS_C=wgksx$TAG
ip netns add "$NS_C"
ip -n "$NS_C" tuntap add tun0 mode tun
check_exit "attach in a namespace about to vanish" 0 "" ip netns exec "$NS_C" "$BIN" attach tun0 --fwmark 7
check_exit "attach in B, which stays" 0 "" in_b "$BIN" attach tun0 --fwmark 0x10
policies() { bpftool -j map dump name wgks_policy | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
if [ "$(policies)" = 2 ]; then ok "two policies"; else not_ok "policies: $(policies)"; fi
ip netns del "$NS_C"
json=$(in_a "$BIN" status --json || true) # exit 3: A itself is not protected
if grep -q '"fwmark":7,' <<<"$json"; then
	ok "status changes nothing: the deleted namespace's policy is listed"
else
	not_ok "the deleted namespace's policy vanished before a command ran?"
fi
# The kernel takes the loopback's entry out of wgks_devices a moment after the namespace goes.
pruned() {
	local _
	for _ in $(seq 50); do
		in_a "$BIN" sync >/dev/null 2>&1
		[ "$(policies)" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}
if pruned; then ok "the next command (in A) forgot the deleted namespace"; else not_ok "still $(policies) policies"; fi
check_exit "B, alive, keeps its policy" 0 "" in_b "$BIN" status
# Deleted while another command's mount namespace cannot see /run/netns: still the kernel's word.
NS_C=wgksy$TAG
ip netns add "$NS_C"
ip -n "$NS_C" tuntap add tun0 mode tun
check_exit "attach in another namespace about to vanish" 0 "" ip netns exec "$NS_C" "$BIN" attach tun0 --fwmark 7
ip netns del "$NS_C"
ip netns exec "$NS_B" sleep 30 >/dev/null 2>&1 </dev/null 9>&- &
in_b_pid=$!
sleep 0.2
# shellcheck disable=SC2016
if unshare -m sh -c 'mount -t tmpfs none /run/netns && for i in $(seq 50); do
	nsenter --net="/proc/$1/ns/net" "$2" sync >/dev/null 2>&1
	[ "$(bpftool -j map dump name wgks_policy | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = 1 ] && exit 0
	sleep 0.1; done; exit 1' sh "$in_b_pid" "$BIN"; then
	ok "forgotten from a mount namespace that sees no /run/netns"
else
	not_ok "not forgotten without /run/netns in view"
fi
kill "$in_b_pid"; wait "$in_b_pid" 2>/dev/null || true
check_exit "B, alive, still keeps its policy" 0 "" in_b "$BIN" status
check_exit "detach B" 0 "" in_b "$BIN" detach
check_clean "after forgetting the deleted namespaces"
# detach --all: every namespace's policy, and the programs.
check_exit "attach A again" 0 "" in_a "$BIN" attach tun0 --fwmark 0x10
check_exit "attach B again" 0 "" in_b "$BIN" attach tun0 --fwmark 0x10
check_exit "detach --all with an interface" 2 "exclude each other" in_b "$BIN" detach --all tun0
check_exit "detach --all" 0 "" in_b "$BIN" detach --all
check_clean "detach --all"
check_fails "detach --all in B took the backstop off A's devices too" wgks_backstop_on eth0 "$NS_A"

check_fails "no pins" wgks_pins

summary
