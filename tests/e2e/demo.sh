#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: what a VPN kill switch is for, in under a minute. In a sandbox
# of network namespaces (lib/net.sh), a client with wg-quick + wireguard-go
# talks to the "internet" through a real WireGuard tunnel; then wireguard-go
# crashes. Without a kill switch its traffic leaks in plain to the gateway,
# which counts it; with wgks-bpf nothing gets out, and `wgks-bpf status` says
# what it blocked. Everything is removed at the end.
#
# Usage: tests/e2e/demo.sh /path/to/wgks-bpf
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/net.sh
. "$(dirname "$(readlink -f "$0")")/lib/net.sh"

WGKS=${1:?usage: demo.sh /path/to/wgks-bpf}
[[ "$WGKS" == /* ]] || WGKS="$PWD/$WGKS"

if [[ -t 1 ]]; then
	B=$'\e[1m' R=$'\e[31m' G=$'\e[32m' N=$'\e[0m'
else
	B="" R="" G="" N=""
fi

say() { echo "$*"; }
heading() { echo; echo "${B}$*${N}"; }
cmd() { echo "  \$ $*"; }

# probe DESC CMD...: run a probe in the client, one line with how it ended.
probe() {
	local desc=$1 out rc=0 start=$EPOCHREALTIME ms
	shift
	out=$("$@" 2>&1) || rc=$?
	ms=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
	if (( rc == 0 )); then
		printf '  %-46s %s\n' "$desc" "${R}got out${N}"
	elif grep -q 'Operation not permitted' <<<"$out"; then
		printf '  %-46s %s\n' "$desc" "${G}refused${N}: Operation not permitted"
	elif grep -q 'timed out' <<<"$out"; then
		printf '  %-46s %s\n' "$desc" "${G}failed${N}: Connection timed out (${ms} ms)"
	else
		printf '  %-46s %s\n' "$desc" "no answer (${ms} ms)"
	fi
}

tcp_connect() { nsx "$NS_C" timeout 5 socat -T1 /dev/null "TCP:$(sockaddr "$1"):$TCP_PORT,connect-timeout=3"; }

# What an application keeps sending after the tunnel died.
traffic() {
	probe "ping $NET4" ping_once "$NS_C" "$NET4"
	probe "ping $NET6" ping_once "$NS_C" "$NET6"
	probe "DNS query to $NET4:53" dns_query "$NS_C" "$NET4"
	probe "UDP to $NET4:$UDP_PORT" udp_send "$NS_C" "$NET4" "$UDP_PORT"
	probe "TCP connect to $NET4:$TCP_PORT" tcp_connect "$NET4"
	probe "TCP connect to [$NET6]:$TCP_PORT" tcp_connect "$NET6"
}

show_leaks() {
	local v4 v6
	v4=$(counted c wgks-leak iptables)
	v6=$(counted c wgks-leak ip6tables)
	if (( v4 + v6 > 0 )); then
		say "  ${R}The gateway counted $((v4 + v6)) plaintext packets from the client" \
			"(IPv4 $v4, IPv6 $v6): a leak.${N}"
	else
		say "  ${G}The gateway counted 0 plaintext packets from the client: no leak.${N}"
	fi
}

# A run of the story: tunnel up with SYSTEM's hooks, use it, crash, traffic.
story() {
	local system=$1 pid
	new_client c
	write_conf c "$system"
	cmd "ip netns exec $NS_C wg-quick up $WG_C.conf"
	wg_quick c up >"$TMP/wg-quick.log" 2>&1 || { cat "$TMP/wg-quick.log"; return 1; }
	if ping_ok "$NS_C" "$NET4" >/dev/null 2>&1; then
		say "  The tunnel works: ping $NET4 through $WG_C answered."
	else
		say "  ${R}The tunnel does not work.${N}"; return 1
	fi
	reset_counters
	pid=$(wggo_pid "$NS_C" "$WG_C")
	say "  wireguard-go crashes:"
	cmd "kill -9 $pid"
	crash c >/dev/null
	say "  $WG_C is gone, wg-quick's PreDown never ran. The client keeps sending:"
	traffic
	show_leaks
}

cleanup() {
	local rc=$?
	set +e
	e2e_cleanup
	(( rc == 0 )) || say "demo: failed (exit $rc); everything it made is removed" >&2
	exit "$rc"
}

main() {
	e2e_lock
	if ! e2e_preflight; then echo "demo: cannot run here: $PREFLIGHT_WHY" >&2; exit 1; fi
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	e2e_tmp

	heading "wgks-bpf demo: a WireGuard kill switch, shown with real WireGuard"
	say "  A sandbox of network namespaces: a client that runs wg-quick with wireguard-go"
	say "  (AllowedIPs = 0.0.0.0/0, ::/0), and a gateway that is its WireGuard server, its"
	say "  router and the \"internet\" ($NET4, $NET6). The gateway counts every"
	say "  plaintext packet that arrives from the client: anything but WireGuard itself"
	say "  (and IPv6 neighbour discovery) is a leak."
	setup_gateway
	setup_leak_counters c
	setup_server

	heading "1. Without a kill switch"
	story none

	heading "2. With wgks-bpf"
	say "  The client's wg-quick config gets two lines:"
	say "    PostUp  = wgks-bpf attach %i"
	say "    PreDown = wgks-bpf detach %i"
	story wgks
	say "  What wgks-bpf saw in the client's namespace:"
	cmd "ip netns exec $NS_C wgks-bpf status"
	in_c "$WGKS" status | sed 's/^/    /' || true
	say "  The tunnel is gone, its policy stays (fail closed) until PreDown or"
	say "  \`wgks-bpf detach\` removes it; \`wg-quick up\` again attaches the new tunnel."

	heading "3. Cleaning up"
	cmd "ip netns exec $NS_C wgks-bpf detach"
	in_c "$WGKS" detach 2>&1 | sed 's/^/    /'
	e2e_cleanup
	PIDS=() NAMESPACES=() TMP=""
	if wgks_attached >/dev/null; then
		say "  wgks-bpf's program is still attached (another namespace of this host uses it)."
	else
		say "  Namespaces, processes and wgks-bpf's program are gone."
	fi
	say
	say "Next: \`make test\` runs every suite, \`make compare\` the leak suite against"
	say "no kill switch, the iptables recipe and wgks-bpf (README.md, \"Compared\")."
}

main "$@"
