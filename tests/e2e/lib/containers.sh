# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2034  # the containers' addresses are for leaks.sh
#
# Containers behind client C, for the leak suite's forwarding scenarios
# (sourced by leaks.sh after lib/net.sh). Docker's layout: each container
# is a namespace with a veth whose other end is a port of a bridge in C; C
# routes for them (ip_forward) and NATs what leaves by another device
# (MASQUERADE ! -o br+).
#
#   K1 10.70.0.2, fd70::2 --+
#   K2 10.70.0.3, fd70::3 --+-- bridge A in C (10.70.0.1, fd70::1)
#   K3 10.71.0.2, fd71::2 ----- bridge B in C (10.71.0.1, fd71::1)
#   K4 10.72.0.2, fd72::2 ----- bridge N in C (10.72.0.1, fd72::1), made after attach
#
# Every container namespace is one of NAMESPACES (e2e_cleanup removes it);
# a scenario's fresh client takes its bridges and veths with it, and
# containers_drop removes the container namespaces.

BR_A="bra$T"
BR_B="brb$T"
BR_N="brn$T"
declare -A BR_NET=([$BR_A]=70 [$BR_B]=71 [$BR_N]=72)
declare -A K_NS=() K_ADDR4=() K_ADDR6=()

# add_bridge NAME: a bridge in C with its .1 / ::1 address, as Docker's
# docker0, and its NAT for what leaves by any other device.
add_bridge() {
	local n=${BR_NET[$1]}
	ip -n "$NS_C" link add "$1" type bridge
	ip -n "$NS_C" addr add "10.$n.0.1/24" dev "$1"
	ip -n "$NS_C" addr add "fd$n::1/64" dev "$1" nodad
	ip -n "$NS_C" link set "$1" up
	in_c iptables -t nat -A POSTROUTING -s "10.$n.0.0/24" ! -o br+ -j MASQUERADE
	in_c ip6tables -t nat -A POSTROUTING -s "fd$n::/64" ! -o br+ -j MASQUERADE
}

# add_container K BRIDGE HOST: container K (1..4) at host number HOST on BRIDGE.
add_container() {
	local k=$1 br=$2 h=$3 n=${BR_NET[$2]} ns="wgksk$1$T"
	add_ns "$ns"
	K_NS[$k]=$ns K_ADDR4[$k]="10.$n.0.$h" K_ADDR6[$k]="fd$n::$h"
	ip -n "$NS_C" link add "vk$k$T" type veth peer name "ek$k$T" netns "$ns"
	ip -n "$NS_C" link set "vk$k$T" master "$br" up
	ip -n "$ns" addr add "10.$n.0.$h/24" dev "ek$k$T"
	ip -n "$ns" addr add "fd$n::$h/64" dev "ek$k$T" nodad
	ip -n "$ns" link set "ek$k$T" up
	ip -n "$ns" route add default via "10.$n.0.1"
	ip -n "$ns" -6 route add default via "fd$n::1"
}

# Containers K1, K2 (bridge A) and K3 (bridge B) behind C, forwarding and
# NAT on. Run inside a check: every step must work.
containers_up() {
	containers_drop
	add_bridge "$BR_A" && add_bridge "$BR_B" || return 1
	add_container 1 "$BR_A" 2 && add_container 2 "$BR_A" 3 && add_container 3 "$BR_B" 2 ||
		return 1
	in_c sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

# Container K4 on a new bridge N: a container started after attach.
container_late() { add_bridge "$BR_N" && add_container 4 "$BR_N" 2; }

containers_drop() {
	local k kept=() x
	for k in "${!K_NS[@]}"; do
		drop_ns "${WGKS:-}" "${K_NS[$k]}"
		for x in "${NAMESPACES[@]}"; do [[ "$x" == "${K_NS[$k]}" ]] || kept+=("$x"); done
		NAMESPACES=("${kept[@]}") kept=()
	done
	K_NS=() K_ADDR4=() K_ADDR6=()
}

in_k() { local k=$1; shift; ip netns exec "${K_NS[$k]}" "$@"; }

# k_sends K HOST: container K sends one ping, one UDP datagram and one TCP
# SYN to HOST, answered or not (a router's drop gives the sender no error).
# What got out is for the leak counters to say.
k_sends() {
	ping_once "${K_NS[$1]}" "$2" || true
	echo wgks | in_k "$1" timeout 2 socat -T0.2 - "UDP:$(sockaddr "$2"):$UDP_PORT" || true
	in_k "$1" python3 "$PROBE" knock "$2" "$TCP_PORT"
	# Root in the container forges marks: the tunnel's fwmark and the bit the
	# cgroup program sets on what it judged. The kernel clears a packet's mark
	# as it crosses into the client's namespace (README, "The backstop"), so
	# neither may get a forwarded packet out.
	in_k "$1" python3 "$PROBE" send-marked "$2" "$UDP_PORT" "$FWMARK" || true
	in_k "$1" python3 "$PROBE" send-marked "$2" "$UDP_PORT" 0x80000000 || true
}
