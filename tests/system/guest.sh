# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Helpers for the scripts `make test-system` runs in its guests through the
# agent (agent.sh). Installed in the guest as
# /usr/local/lib/wgks-test/system/guest.sh, with tests/lib/wgks.sh beside
# as in the tree, and sourced before every script. The network
# (tests/system/run.sh):
#
#   guest NIC (DHCP, SLAAC)  --  peer: 10.99.0.1, fd99::1 (DHCP, RA, DNS)
#   "internet" on the peer:      198.18.0.1, 2001:db8:77::1
#   WireGuard server:            endpoint 203.0.113.1:51820, tunnel 10.100.0.1, fd64::1
#   the guest's tunnel address:  10.100.0.2, fd64::2

# What the kernel holds of wgks-bpf (wgks_backstop_on; the guest has no
# bpftool, so only what tc tells).
# shellcheck source-path=SCRIPTDIR source=../lib/wgks.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/wgks.sh"

PEER4=10.99.0.1
PEER6=fd99::1
NET4=198.18.0.1
NET6=2001:db8:77::1
TUN4=10.100.0.1

# The physical NIC (its name depends on the PCI slot; there is one).
nic() { ip -o link show | awk -F': ' '$2 ~ /^en/ { print $2; exit }'; }

# wait_for SECONDS CMD...: until CMD succeeds; fails after SECONDS.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.5
	done
}

# wgks-bpf status: 0 protected, 3 not (README "Commands").
protected() { wgks-bpf status >/dev/null 2>&1; }
not_protected() {
	local rc=0
	wgks-bpf status >/dev/null 2>&1 || rc=$?
	[[ $rc == 3 ]]
}
# tunnel_attached IFACE: IFACE is one of this namespace's protected tunnels.
tunnel_attached() { wgks-bpf status --json | grep -q "\"name\":\"$1\""; }
# attached_now IFACE: protected with the ifindex IFACE has now (a device
# made again has a new one, which attach must have picked up).
attached_now() {
	wgks-bpf status --json | grep -q "\"name\":\"$1\",\"ifindex\":$(cat "/sys/class/net/$1/ifindex"),"
}
lockdown_on() { wgks-bpf status --json | grep -q '"current":true,"lockdown":true'; }

# The tunnel carries traffic: the server's tunnel address and the
# "internet" answer through it (a fresh handshake may take a few tries).
tunnel_works() {
	local _
	for _ in 1 2 3 4 5 6; do
		ping -c1 -W2 -q "$TUN4" >/dev/null 2>&1 && ping -c1 -W2 -q "$NET4" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}

# udp_outcome HOST PORT: one datagram with bash; prints sent / the error.
# (Not the library's udp_send: this guest has no socat and no namespaces,
# and its probes report rather than judge; the host counts what arrived.)
udp_outcome() {
	local err
	if err=$( (printf 'wgks-probe' >"/dev/udp/$1/$2") 2>&1); then echo sent; else echo "${err##*: }"; fi
}

# probes: what a kill switch must stop while a tunnel is protected, all
# off the tunnel: the LAN (its route leads past the tunnel), the LAN's
# resolver, and the internet from sockets bound to the NIC. Prints what
# each send did; the host counts what arrived.
probes() {
	local eth
	eth=$(nic)
	echo "udp $PEER4:53 (LAN resolver): $(udp_outcome "$PEER4" 53)"
	echo "udp $PEER6:53: $(udp_outcome "$PEER6" 53)"
	echo "ping $PEER4: $(ping -c1 -W1 -q "$PEER4" >/dev/null 2>&1 && echo answered || echo "no answer")"
	echo "ping -I $eth $NET4: $(ping -c1 -W1 -q -I "$eth" "$NET4" >/dev/null 2>&1 && echo answered || echo "no answer")"
	echo "ping -I $eth $NET6: $(ping -6 -c1 -W1 -q -I "$eth" "$NET6" >/dev/null 2>&1 && echo answered || echo "no answer")"
	echo "tcp $PEER4:53: $(timeout 3 bash -c "exec 3<>/dev/tcp/$PEER4/53" 2>/dev/null && echo connected || echo failed)"
}

# traffic_start / traffic_stop: while a manager reconfigures, something
# sends all the time (every 50 ms, to the LAN's resolver and to the
# internet by the routes of the moment), as applications would: a leak
# window this wide cannot go unnoticed.
traffic_start() {
	(
		while :; do
			udp_outcome "$PEER4" 53
			udp_outcome "$NET4" 53
			udp_outcome "$NET6" 53
			sleep 0.05
		done
	) >/dev/null 2>&1 &
	echo $! >/run/wgks-test-traffic.pid
}
traffic_stop() {
	kill "$(cat /run/wgks-test-traffic.pid)" 2>/dev/null
	rm -f /run/wgks-test-traffic.pid
}

# mono UNIT PROPERTY: a monotonic timestamp of a unit, in microseconds.
mono() { systemctl show -P "$2" "$1"; }
