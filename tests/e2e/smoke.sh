#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end smoke test for wgks-bpf with real WireGuard (wireguard-go +
# wg-quick) in network namespaces (DESIGN.md, sections 1 and 4).
#
#   client (C) --veth underlay 10.77.0.0/24, fd77::/64-- gateway (G)
#   other  (O) --veth 10.79.0.0/24---------------------- gateway (G)
#
# The gateway is the client's default router, the WireGuard server
# (10.78.0.1, fd78::1) and the "internet" (198.18.0.1, 2001:db8:77::1 on its
# lo). Netfilter counters in G count every packet arriving from the client's
# underlay that is neither WireGuard's own UDP nor IPv6 link upkeep: a leak.
#
# Usage: tests/e2e/smoke.sh /path/to/wgks-bpf
# Output is TAP-like; the last line is "N passed, M failed".
# Exit 0 when all pass (or SKIP), 1 otherwise.
set -euo pipefail

# ---------------------------------------------------------------- settings

# Unique per run: namespaces, and WireGuard names too, because wireguard-go's
# control sockets (/var/run/wireguard/NAME.sock) are shared by all namespaces.
NS_C="wgksc$$"          # client
NS_G="wgksg$$"          # gateway: WireGuard server + "internet"
NS_O="wgkso$$"          # another namespace, never protected
WG_S="wgs$$"            # server interface (in G)
WG_C="wgc$$"            # client interface, crashed on purpose (in C)
WG_D="wgd$$"            # client interface for the clean wg-quick down (in C)
VETH_C="vc$$"           # client end of the underlay  (in C)
VETH_G="vg$$"           # gateway end of the underlay (in G)
VETH_O="vo$$"           # other's end                 (in O)
VETH_OG="vog$$"         # gateway end towards other   (in G)
for n in "$WG_S" "$WG_C" "$WG_D" "$VETH_C" "$VETH_G" "$VETH_O" "$VETH_OG"; do
	(( ${#n} <= 15 )) || { echo "interface name too long: $n" >&2; exit 1; }
done

WG_PORT=51900           # server's ListenPort on 10.77.0.1
TCP_PORT=7001           # echo listeners on the gateway's "internet" address
UDP_PORT=7002
FWMARK=51820            # what wg-quick sets for AllowedIPs = 0.0.0.0/0, ::/0
LEAK_CHAIN=wgks_leak

TMP=""                  # mktemp dir: keys, wg-quick configs, command logs
PIDS=()                 # every background process we started (by PID only)
NAMESPACES=()           # every namespace we created
WG_NAMES=("$WG_S" "$WG_C" "$WG_D")
WG_RUNDIR_OURS=""       # set if /var/run/wireguard did not exist before us
SUMMARY_DONE=""
PASSED=0
FAILED=0
TESTNO=0

# ---------------------------------------------------------------- output

ok() {
	TESTNO=$((TESTNO + 1)); PASSED=$((PASSED + 1))
	echo "ok $TESTNO - $1"
}

not_ok() {
	TESTNO=$((TESTNO + 1)); FAILED=$((FAILED + 1))
	echo "not ok $TESTNO - $1"
	# The failing command's output, as TAP diagnostics.
	if [[ -s "$TMP/last.log" ]]; then sed 's/^/#   /' "$TMP/last.log" | tail -n 20; fi
}

note() { echo "# $*"; }

skip() { echo "SKIP: $*"; exit 0; }

# expect DESC CMD...: the command must succeed.
expect() {
	local desc=$1; shift
	if "$@" >"$TMP/last.log" 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}

# expect_noted DESC CMD...: as expect, and its output is shown as notes
# (measurements worth reading even when they pass).
expect_noted() {
	expect "$@"
	sed 's/^/#   /' "$TMP/last.log"
}

# expect_fail DESC CMD...: the command must fail. For ping: iputils ping
# swallows sendmsg's EPERM, so its failure alone is all it can tell; the
# leak counters prove that nothing got out.
expect_fail() {
	local desc=$1; shift
	if "$@" >"$TMP/last.log" 2>&1; then not_ok "$desc"; else ok "$desc"; fi
}

# expect_refused DESC CMD...: the command must fail because the kernel
# refused its send with EPERM, as a cgroup egress drop does (DESIGN.md:
# "a blocked UDP/ICMP send fails at once with EPERM"). Failing for any other
# reason (no route, a typo, a timeout) does not count.
expect_refused() {
	local desc=$1; shift
	if "$@" >"$TMP/last.log" 2>&1; then
		not_ok "$desc"
	elif grep -q 'Operation not permitted' "$TMP/last.log"; then
		ok "$desc"
	else
		echo "(failed, but not with EPERM)" >>"$TMP/last.log"
		not_ok "$desc"
	fi
}

# ---------------------------------------------------------------- helpers

in_c() { ip netns exec "$NS_C" "$@"; }
in_g() { ip netns exec "$NS_G" "$@"; }
in_o() { ip netns exec "$NS_O" "$@"; }

# Positive network checks retry a little: the first packet may wait for the
# WireGuard handshake. Negative checks never retry (one attempt must fail).
retry() {
	local i
	for i in 1 2 3; do
		"$@" && return 0
		sleep 0.3
	done
	return 1
}

# ping_ok WRAPPER ADDR, e.g. ping_ok in_c 10.78.0.1
ping_ok() { retry "$1" ping -c1 -W2 -q "$2"; }

# cgroup2 mount as this (host) mount namespace sees it: /sys/fs/cgroup on
# unified hosts, /sys/fs/cgroup/unified on hybrid ones.
cgroup2_root() { awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts; }

wgks_prog_attached() { bpftool cgroup show "$CGROUP2" 2>/dev/null | grep -q ' wgks_'; }

wgks_maps_exist() { bpftool map list 2>/dev/null | grep -q ' name wgks_'; }

wgks_pins_exist() { compgen -G '/sys/fs/bpf/wgks*' >/dev/null; }

# Map freeing lags the detach a little (RCU, then a workqueue): poll ~2 s.
wgks_maps_gone() {
	local i
	for i in $(seq 0 20); do
		if ! wgks_maps_exist; then
			(( i == 0 )) || note "wgks maps were freed ~$((i * 100)) ms after the detach" >&3
			return 0
		fi
		sleep 0.1
	done
	return 1
}

wgks_all_gone() {
	! wgks_prog_attached && wgks_maps_gone && ! wgks_pins_exist
}

# PID of the wireguard-go serving IFNAME inside namespace NS, if any. Looked up
# among that namespace's processes only, so nothing else can ever match.
wggo_pid() {
	local ns=$1 ifname=$2 pid
	for pid in $(ip netns pids "$ns" 2>/dev/null); do
		[[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == wireguard-go ]] || continue
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qw -- "$ifname" || continue
		echo "$pid"
		return 0
	done
	return 1
}

# Background process inside a namespace, remembered for cleanup.
start_bg() {
	local ns=$1; shift
	ip netns exec "$ns" "$@" >/dev/null 2>&1 3>&- 4>&- 9>&- &
	PIDS+=("$!")
}

# ---------------------------------------------------------------- cleanup

cleanup() {
	local rc=$? ns pid name
	set +e
	# A signal may land inside expect(), whose output goes to a log: back
	# to the real stdout and stderr (saved as fds 3 and 4).
	exec 1>&3 2>&4
	if [[ -z "$SUMMARY_DONE" ]]; then
		# Died half-way (a setup step failed, or a signal): still end with
		# the summary line, counting the abort as a failure.
		echo "# aborted (exit $rc) after test $TESTNO"
		echo "$PASSED passed, $((FAILED + 1)) failed"
		(( rc != 0 )) || rc=1
	fi
	# wireguard-go daemonizes and socat forks, so also take every process
	# still inside our own namespaces (e.g. after a wg-quick up that failed
	# half-way): all of them were started by this test.
	for ns in "${NAMESPACES[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do PIDS+=("$pid"); done
	done
	for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	for ns in "${NAMESPACES[@]}"; do
		# Deleting a namespace does not remove its policy entry; detach does.
		# It is a no-op where nothing is attached. Only ever inside our own
		# namespaces: never touch the host namespace's policy.
		if [[ -n "${WGKS:-}" ]] && ip netns exec "$ns" true 2>/dev/null; then
			ip netns exec "$ns" "$WGKS" detach >/dev/null 2>&1
		fi
		ip netns del "$ns" 2>/dev/null
	done
	# A killed wireguard-go leaves its control socket behind.
	for name in "${WG_NAMES[@]}"; do rm -f "/var/run/wireguard/$name.sock"; done
	[[ -n "$WG_RUNDIR_OURS" ]] && rmdir /var/run/wireguard 2>/dev/null
	[[ -n "$TMP" ]] && rm -rf "$TMP"
	exit "$rc"
}

# ---------------------------------------------------------------- setup

preflight() {
	local tool
	[[ -n "${WGKS:-}" && -x "$WGKS" ]] || { echo "usage: $0 /path/to/wgks-bpf" >&2; exit 1; }
	for tool in ip wg wg-quick wireguard-go bpftool iptables ip6tables ping socat timeout awk; do
		command -v "$tool" >/dev/null || skip "$tool not found"
	done
	CGROUP2=$(cgroup2_root)
	[[ -n "$CGROUP2" ]] || skip "no cgroup2 mount in /proc/self/mounts"
	# The "nothing left behind" checks need a host without any wgks program.
	# Another e2e suite may be finishing (the lock only covers suites that
	# take it): give it a moment before giving up.
	local i
	for i in $(seq 60); do
		wgks_prog_attached || wgks_maps_exist || return 0
		sleep 1
	done
	skip "a wgks program or map already exists (another test or a real install)"
}

add_ns() {
	ip netns add "$1"
	NAMESPACES+=("$1")
	ip -n "$1" link set lo up
}

# Client <-> gateway underlay, other <-> gateway, and the gateway's "internet".
setup_network() {
	add_ns "$NS_C"; add_ns "$NS_G"; add_ns "$NS_O"

	ip link add "$VETH_C" netns "$NS_C" type veth peer name "$VETH_G" netns "$NS_G"
	ip -n "$NS_C" addr add 10.77.0.2/24 dev "$VETH_C"
	ip -n "$NS_C" addr add fd77::2/64 dev "$VETH_C" nodad
	ip -n "$NS_G" addr add 10.77.0.1/24 dev "$VETH_G"
	ip -n "$NS_G" addr add fd77::1/64 dev "$VETH_G" nodad
	ip -n "$NS_C" link set "$VETH_C" up
	ip -n "$NS_G" link set "$VETH_G" up
	ip -n "$NS_C" route add default via 10.77.0.1
	ip -n "$NS_C" -6 route add default via fd77::1

	ip link add "$VETH_O" netns "$NS_O" type veth peer name "$VETH_OG" netns "$NS_G"
	ip -n "$NS_O" addr add 10.79.0.2/24 dev "$VETH_O"
	ip -n "$NS_G" addr add 10.79.0.1/24 dev "$VETH_OG"
	ip -n "$NS_O" link set "$VETH_O" up
	ip -n "$NS_G" link set "$VETH_OG" up
	ip -n "$NS_O" route add default via 10.79.0.1

	ip -n "$NS_G" addr add 198.18.0.1/32 dev lo
	ip -n "$NS_G" addr add 2001:db8:77::1/128 dev lo
}

# Leak counters in the gateway's raw PREROUTING, before anything else sees
# the packet. Everything arriving on the underlay veth is a leak except:
# WireGuard's encrypted UDP to the server's endpoint (IPv4 only), and NDP (hop limit 255) /
# MLD (hop limit 1), which the kill switch passes on purpose. Those are
# counted too, under their own comment, so NDP can be seen working.
setup_leak_counters() {
	local t
	in_g iptables -t raw -N "$LEAK_CHAIN"
	in_g iptables -t raw -A PREROUTING -i "$VETH_G" -j "$LEAK_CHAIN"
	in_g iptables -t raw -A "$LEAK_CHAIN" -d 10.77.0.1 -p udp --dport "$WG_PORT" -j RETURN
	in_g iptables -t raw -A "$LEAK_CHAIN" -m comment --comment wgks-leak -j RETURN

	in_g ip6tables -t raw -N "$LEAK_CHAIN"
	in_g ip6tables -t raw -A PREROUTING -i "$VETH_G" -j "$LEAK_CHAIN"
	for t in 133 134 135 136 137; do
		in_g ip6tables -t raw -A "$LEAK_CHAIN" -p ipv6-icmp --icmpv6-type "$t" \
			-m hl --hl-eq 255 -m comment --comment wgks-ndp -j RETURN
	done
	for t in 130 131 132 143; do
		in_g ip6tables -t raw -A "$LEAK_CHAIN" -p ipv6-icmp --icmpv6-type "$t" \
			-m hl --hl-eq 1 -m comment --comment wgks-mld -j RETURN
	done
	in_g ip6tables -t raw -A "$LEAK_CHAIN" -m comment --comment wgks-leak -j RETURN
}

# counted COMMENT [iptables|ip6tables]: sum of the packet counters of the
# rules tagged COMMENT, in one family or (default) both.
counted() {
	local comment=$1 tool total=0 n
	for tool in ${2:-iptables ip6tables}; do
		n=$(in_g "$tool" -t raw -nvxL "$LEAK_CHAIN" |
			awk -v c="/* $comment */" 'index($0, c) { s += $1 } END { print s + 0 }')
		total=$((total + n))
	done
	echo "$total"
}

leaks() { counted wgks-leak; }

no_leaks() {
	local n
	n=$(leaks)
	echo "leaked packets: $n"
	[[ "$n" == 0 ]]
}

reset_counters() {
	in_g iptables -t raw -Z "$LEAK_CHAIN"
	in_g ip6tables -t raw -Z "$LEAK_CHAIN"
}

# The server: wireguard-go (it daemonizes) configured with wg, plus echo
# listeners on the "internet" address for TCP and UDP.
setup_server() {
	umask 077
	wg genkey >"$TMP/server.key"
	wg pubkey <"$TMP/server.key" >"$TMP/server.pub"
	wg genkey >"$TMP/client.key"
	wg pubkey <"$TMP/client.key" >"$TMP/client.pub"

	env -u WG_PROCESS_FOREGROUND ip netns exec "$NS_G" wireguard-go "$WG_S" \
		>"$TMP/wg-go-server.log" 2>&1 3>&- 4>&- 9>&-
	PIDS+=("$(wggo_pid "$NS_G" "$WG_S")")
	in_g wg set "$WG_S" listen-port "$WG_PORT" private-key "$TMP/server.key" \
		peer "$(cat "$TMP/client.pub")" allowed-ips 10.78.0.2/32,fd78::2/128
	ip -n "$NS_G" addr add 10.78.0.1/24 dev "$WG_S"
	ip -n "$NS_G" addr add fd78::1/64 dev "$WG_S"
	ip -n "$NS_G" link set "$WG_S" up

	start_bg "$NS_G" socat TCP-LISTEN:$TCP_PORT,bind=198.18.0.1,reuseaddr,fork PIPE
	start_bg "$NS_G" socat "TCP6-LISTEN:$TCP_PORT,bind=[2001:db8:77::1],reuseaddr,fork" PIPE
	start_bg "$NS_G" socat UDP-RECVFROM:$UDP_PORT,bind=198.18.0.1,fork PIPE
}

# wg-quick config for client interface IFNAME; the kill switch comes and goes
# with the interface through PostUp/PreDown, as a user would set it up.
write_client_conf() {
	local ifname=$1
	cat >"$TMP/$ifname.conf" <<-EOF
	[Interface]
	PrivateKey = $(cat "$TMP/client.key")
	Address = 10.78.0.2/32, fd78::2/128
	PostUp = $WGKS attach %i
	PreDown = $WGKS detach %i

	[Peer]
	PublicKey = $(cat "$TMP/server.pub")
	Endpoint = 10.77.0.1:$WG_PORT
	AllowedIPs = 0.0.0.0/0, ::/0
	EOF
}

wg_quick() {
	WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go \
		ip netns exec "$NS_C" env -u WG_PROCESS_FOREGROUND wg-quick "$@" 3>&- 4>&- 9>&-
}

# ---------------------------------------------------------------- probes (run in C)

# Each probe is one attempt, bounded by a timeout; success = data came back.
tcp_echo() { [[ "$(echo wgks | in_c timeout 3 socat -T2 - "TCP:$1:$TCP_PORT")" == wgks ]]; }
udp_echo() { [[ "$(echo wgks | in_c timeout 3 socat -T2 - "UDP:$1:$UDP_PORT")" == wgks ]]; }
# A send that must be refused: socat exits non-zero when the kernel says EPERM.
udp_send() { echo wgks | in_c timeout 3 socat -T1 - "UDP:$1:$2"; }
tcp_connect() { in_c timeout 3 socat -T1 /dev/null "TCP:$1:$2"; }
ping_c() { in_c ping -c1 -W1 -q "$1"; }
# TCP timing and survival checks (tcp_probe.py); output lands in the log.
PROBE="$(dirname "$(readlink -f "$0")")/tcp_probe.py"
FAILFAST_TRIES=10
FAILFAST_MS=100
# A blocked connect must fail with an error within FAILFAST_MS, every try.
tcp_fails_fast() { in_c python3 "$PROBE" failfast "$1" "$2" "$FAILFAST_TRIES" "$FAILFAST_MS"; }
tcp_local() { in_c python3 "$PROBE" local "$1"; }
# A connection through the tunnel keeps working while CMD runs in C.
tcp_survives() { in_c python3 "$PROBE" survives 198.18.0.1 "$TCP_PORT" "$@"; }

status_json_has_tunnel() {
	local out
	out=$(in_c "$WGKS" status --json) || return 1
	echo "$out"
	grep -q "\"name\":\"$1\"" <<<"$out" && grep -q '"protected":true' <<<"$out"
}

# bpftool (from the host) shows the tunnel's ifindex and fwmark in the policy.
policy_map_has() {
	local ifindex=$1 out
	out=$(bpftool map dump name wgks_policy) || return 1
	echo "$out"
	grep -Eq "\"ifindex\": $ifindex,?\$" <<<"$out" && grep -Eq "\"fwmark\": $FWMARK,?\$" <<<"$out"
}

# The "blocked" counter of this namespace (status --json) went up.
blocked_counted() {
	local out n
	out=$(in_c "$WGKS" status --json) || return 1
	echo "$out"
	n=$(grep -o '"blocked":{"packets":[0-9]*' <<<"$out" | grep -o '[0-9]*$')
	(( ${n:-0} > 0 ))
}

status_exit_is() {
	local ns=$1 want=$2 rc=0
	ip netns exec "$ns" "$WGKS" status || rc=$?
	echo "exit $rc"
	[[ "$rc" == "$want" ]]
}

# NDP under the policy: the gateway forgets the client's neighbour entry and
# pings it. The echo reply is off-tunnel and dropped, but the client's
# neighbour advertisement must get out, so the gateway learns its MAC.
ndp_works() {
	local before
	before=$(counted wgks-ndp ip6tables)
	in_g ip -6 neigh flush dev "$VETH_G"
	in_g ping -6 -c1 -W1 -q fd77::2 || true
	note "NDP packets from the client at the gateway during this check:" \
		"$(( $(counted wgks-ndp ip6tables) - before ))" >&3
	in_g ip -6 neigh show fd77::2 dev "$VETH_G"
	in_g ip -6 neigh show fd77::2 dev "$VETH_G" | grep -Eq 'lladdr .*(REACHABLE|STALE|DELAY|PROBE)'
}

# ---------------------------------------------------------------- test phases

saw_plain_traffic() {
	local v4 v6
	v4=$(counted wgks-leak iptables)
	v6=$(counted wgks-leak ip6tables)
	echo "counted packets: IPv4 $v4, IPv6 $v6"
	(( v4 > 0 && v6 > 0 ))
}

test_control() {
	# Without a policy the leak counter must see plain traffic, or a zero
	# later would prove nothing.
	ping_c 10.77.0.1 >/dev/null 2>&1 || true
	ping_c fd77::1 >/dev/null 2>&1 || true
	expect "leak counter counts plain client traffic (control, no policy yet)" saw_plain_traffic
	reset_counters
}

test_tunnel_up() {
	local ifindex
	write_client_conf "$WG_C"
	expect "wg-quick up $WG_C (PostUp attaches the kill switch)" wg_quick up "$TMP/$WG_C.conf"
	reset_counters

	expect "ping 10.78.0.1 (server) through the tunnel" ping_ok in_c 10.78.0.1
	expect "ping 198.18.0.1 (internet) through the tunnel" ping_ok in_c 198.18.0.1
	expect "ping 2001:db8:77::1 (internet, IPv6) through the tunnel" ping_ok in_c 2001:db8:77::1
	expect "TCP echo with 198.18.0.1 through the tunnel" retry tcp_echo 198.18.0.1
	expect "TCP echo with [2001:db8:77::1] through the tunnel" retry tcp_echo "[2001:db8:77::1]"
	expect "UDP echo with 198.18.0.1 through the tunnel" retry udp_echo 198.18.0.1
	expect "ping 127.0.0.1 (loopback)" ping_c 127.0.0.1
	expect "ping ::1 (loopback)" ping_c ::1
	expect "ping 10.77.0.2 (own underlay address, local)" ping_c 10.77.0.2
	expect "TCP connect to 127.0.0.1 (local) succeeds" tcp_local 127.0.0.1
	expect "TCP connect to ::1 (local) succeeds" tcp_local ::1
	expect "TCP connect to 10.77.0.2 (own address, local) succeeds" tcp_local 10.77.0.2

	expect "status exits 0 in the client namespace" status_exit_is "$NS_C" 0
	expect "status --json names $WG_C and says protected" status_json_has_tunnel "$WG_C"
	note "program variant: $(in_c "$WGKS" status --json 2>/dev/null |
		grep -o '"variant":"[a-z]*"' | cut -d'"' -f4)"
	ifindex=$(ip -n "$NS_C" -o link show "$WG_C" | cut -d: -f1) || ifindex="?"
	expect "wgks_policy holds ifindex $ifindex and fwmark $FWMARK" policy_map_has "$ifindex"
}

test_off_tunnel_blocked() {
	expect_fail "ping 10.77.0.1 (LAN gateway, off-tunnel) is blocked" ping_c 10.77.0.1
	expect_fail "ping fd77::1 (LAN gateway, off-tunnel) is blocked" ping_c fd77::1
	expect_refused "UDP send to 10.77.0.1:9999 (off-tunnel) is refused" udp_send 10.77.0.1 9999
	expect_noted "blocked TCP connects to 10.77.0.1 fail within ${FAILFAST_MS} ms" \
		tcp_fails_fast 10.77.0.1 80
	expect_noted "blocked TCP connects to fd77::1 fail within ${FAILFAST_MS} ms" \
		tcp_fails_fast fd77::1 80
	expect "a tunnel TCP connection survives re-attach and blocked connects" \
		tcp_survives sh -c "'$WGKS' attach '$WG_C' &&
			python3 '$PROBE' failfast 10.77.0.1 80 3 $FAILFAST_MS"
	expect "NDP works under the policy (gateway resolves fd77::2)" ndp_works
	expect "status counts the blocked packets" blocked_counted
	expect "no leak at the gateway while the tunnel is up" no_leaks
}

test_other_namespace() {
	expect "other namespace pings the gateway while the client is protected" \
		ping_ok in_o 10.79.0.1
	expect "other namespace reaches 198.18.0.1" ping_ok in_o 198.18.0.1
	expect "status exits 3 in the other namespace" status_exit_is "$NS_O" 3
}

# wg-quick falls back to wireguard-go only when the kernel has no WireGuard;
# with the module, deleting the link is the closest thing to a crash.
crash_client() {
	local pid
	if pid=$(wggo_pid "$NS_C" "$WG_C"); then
		echo "kill -9 $pid (wireguard-go $WG_C)"
		kill -9 "$pid"
	else
		note "no wireguard-go serves $WG_C (kernel WireGuard?): ip link del instead" >&3
		ip -n "$NS_C" link del "$WG_C"
	fi
	# Wait for the interface to vanish (the tun fd closes with the process).
	for _ in $(seq 30); do
		ip -n "$NS_C" link show "$WG_C" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	return 1
}

test_crash() {
	expect "crash: kill -9 the client's wireguard-go, $WG_C vanishes without PreDown" crash_client
	expect_fail "after crash: ping 198.18.0.1 is blocked" ping_c 198.18.0.1
	expect_fail "after crash: ping 2001:db8:77::1 is blocked" ping_c 2001:db8:77::1
	expect_refused "after crash: UDP to 198.18.0.1:$UDP_PORT is refused" udp_send 198.18.0.1 "$UDP_PORT"
	expect_refused "after crash: DNS (UDP 53) to 198.18.0.1 is refused" udp_send 198.18.0.1 53
	expect_refused "after crash: UDP to [2001:db8:77::1]:53 is refused" udp_send "[2001:db8:77::1]" 53
	expect_noted "after crash: TCP connects to 198.18.0.1 fail within ${FAILFAST_MS} ms" \
		tcp_fails_fast 198.18.0.1 "$TCP_PORT"
	expect_noted "after crash: TCP connects to [2001:db8:77::1] fail within ${FAILFAST_MS} ms" \
		tcp_fails_fast 2001:db8:77::1 "$TCP_PORT"
	expect "after crash: no leak at the gateway" no_leaks
	expect "after crash: status still exits 0 (policy persists)" status_exit_is "$NS_C" 0
}

test_cleanup_after_crash() {
	expect "detach $WG_C succeeds although the interface is gone" in_c "$WGKS" detach "$WG_C"
	expect "no wgks program attached, no wgks map, no pin left" wgks_all_gone
	expect "status exits 3 in the client namespace" status_exit_is "$NS_C" 3
	expect "off-tunnel traffic flows again (ping 10.77.0.1)" ping_ok in_c 10.77.0.1
}

# What `wg-quick down` would have removed, had the crashed interface still
# existed: its policy routing rules (a second `up` fails on them with EEXIST)
# and its nft tables, whose "not from IFACE to 10.78.0.2: drop" rule would
# drop every reply arriving through the new interface.
remove_wg_quick_leftovers() {
	local ifname=$1 v pf
	for v in -4 -6; do
		ip -n "$NS_C" "$v" rule del table "$FWMARK" 2>/dev/null || true
		ip -n "$NS_C" "$v" rule del table main suppress_prefixlength 0 2>/dev/null || true
	done
	# wg-quick uses nft when it has it, iptables otherwise.
	if command -v nft >/dev/null; then
		for pf in ip ip6; do
			in_c nft delete table "$pf" "wg-quick-$ifname" 2>/dev/null || true
		done
	else
		for pf in iptables ip6tables; do
			in_c "$pf-save" -t raw | grep -v "wg-quick(8) rule for $ifname" |
				in_c "$pf-restore" -T raw || true
		done
	fi
}

test_normal_down() {
	remove_wg_quick_leftovers "$WG_C"
	write_client_conf "$WG_D"
	expect "wg-quick up $WG_D (fresh interface)" wg_quick up "$TMP/$WG_D.conf"
	reset_counters
	expect "ping 198.18.0.1 through $WG_D" ping_ok in_c 198.18.0.1
	expect "status exits 0 with $WG_D up" status_exit_is "$NS_C" 0
	expect_fail "ping 10.77.0.1 (off-tunnel) is blocked with $WG_D up" ping_c 10.77.0.1
	expect "no leak with $WG_D up" no_leaks
	expect "wg-quick down $WG_D (PreDown detaches)" wg_quick down "$TMP/$WG_D.conf"
	expect "after wg-quick down: no wgks program, map or pin left" wgks_all_gone
	expect "after wg-quick down: ping 10.77.0.1 works again" ping_ok in_c 10.77.0.1
}

# ---------------------------------------------------------------- main

# One wgks program serves the whole host, so two e2e runs at once would see
# each other's program and maps: hold a host-wide lock on fd 9 for the whole
# run. The daemons we start get it closed (9>&-), so none can keep it.
E2E_LOCK=/run/wgks-bpf-e2e.lock
take_lock() {
	command -v flock >/dev/null || return 0
	exec 9>>"$E2E_LOCK"
	flock -w 300 9 || { echo "another e2e run held $E2E_LOCK for 300 s" >&2; exit 1; }
}

main() {
	WGKS=${1:-}
	[[ -n "$WGKS" && "$WGKS" != /* ]] && WGKS="$PWD/$WGKS"
	(( EUID == 0 )) || skip "must run as root"
	take_lock
	preflight
	# The real stdout and stderr, for notes written inside expect() (whose
	# output goes to a log) and for cleanup(). Daemons get them closed.
	exec 3>&1 4>&2
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	TMP=$(mktemp -d /tmp/wgks-e2e.XXXXXX)
	[[ -e /var/run/wireguard ]] || WG_RUNDIR_OURS=1

	setup_network
	setup_leak_counters
	setup_server

	test_control
	test_tunnel_up
	test_off_tunnel_blocked
	test_other_namespace
	test_crash
	test_cleanup_after_crash
	test_normal_down

	echo "$PASSED passed, $FAILED failed"
	SUMMARY_DONE=1
	(( FAILED == 0 ))
}

main "$@"
