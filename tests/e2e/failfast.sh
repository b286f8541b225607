#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Fail fast, the hard cases: the kill switch must cut short only connects
# whose SYN it really drops. Two namespaces: a client (C) whose "tunnel" is
# a tun device joined to one in a server (S) by lib/tunwire.py, and a "LAN"
# veth that leads nowhere.
#   - A connection that the route says goes off the tunnel, but that a
#     netfilter mark reroutes into it (split tunnelling), and whose first
#     SYNs are lost: it must still connect.
#   - A socket whose connect failed fast, connected again once the route
#     passes: it gets its TCP_SYNCNT back, the user's own value included.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$(dirname "$(readlink -f "$0")")/../lib/tap.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/sandbox.sh
. "$(dirname "$(readlink -f "$0")")/../lib/sandbox.sh"

BIN=${1:?usage: failfast.sh /path/to/wgks-bpf}
TAG=$$
NS_C=wgksfc$TAG
NS_S=wgksfs$TAG
SERVER_PID=
WIRE_PID=
HERE=$(dirname "$(readlink -f "$0")")

[ "$(id -u)" = 0 ] || skip_all "failfast.sh needs root"

cleanup() {
	set +e
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	[ -n "$WIRE_PID" ] && kill "$WIRE_PID" 2>/dev/null && wait "$WIRE_PID" 2>/dev/null
	drop_ns "$BIN" "$NS_C" "$NS_S"
}
trap cleanup EXIT


in_c() { ip netns exec "$NS_C" "$@"; }

# One program serves the whole host: e2e suites take turns.
e2e_lock

ip netns add "$NS_C"
ip netns add "$NS_S"
ip -n "$NS_C" link set lo up
ip -n "$NS_S" link set lo up
ip netns exec "$NS_C" "$HERE/lib/tunwire.py" tun0 "/run/netns/$NS_S" tun0p 9>&- </dev/null \
	>"/tmp/wgks-failfast-wire.$TAG" 2>&1 &
WIRE_PID=$!
for _ in $(seq 50); do grep -q ready "/tmp/wgks-failfast-wire.$TAG" && break; sleep 0.1; done
rm -f "/tmp/wgks-failfast-wire.$TAG"
ip -n "$NS_C" link add lan0 type veth peer name lan0p
for dev in tun0 lan0 lan0p; do ip -n "$NS_C" link set "$dev" up; done
ip -n "$NS_S" link set tun0p up
ip -n "$NS_C" addr add 10.98.0.1/24 dev tun0
ip -n "$NS_C" addr add 10.66.0.1/24 dev lan0
ip -n "$NS_S" addr add 10.98.0.2/24 dev tun0p
ip -n "$NS_S" addr add 10.99.0.2/32 dev lo
ip -n "$NS_S" route add 10.66.0.0/24 via 10.98.0.1
# 10.99.0.2 is routed off the tunnel (into the LAN veth)...
ip -n "$NS_C" route add 10.99.0.0/24 via 10.66.0.2 dev lan0 onlink
# ...but port 80 is marked and rerouted into the tunnel, as split tunnelling does.
in_c iptables -t mangle -A OUTPUT -p tcp --dport 80 -d 10.99.0.0/24 -j MARK --set-mark 0x5
ip -n "$NS_C" rule add fwmark 0x5 lookup 100
ip -n "$NS_C" route add default via 10.98.0.2 dev tun0 table 100
# The server loses the first three SYNs of each connection: the client's
# retries must not be cut short.
ip netns exec "$NS_S" iptables -A INPUT -p tcp --syn -m recent --name wgks --rcheck \
	--seconds 5 --hitcount 3 -j ACCEPT
ip netns exec "$NS_S" iptables -A INPUT -p tcp --syn -m recent --name wgks --set -j DROP
ip netns exec "$NS_S" socat TCP-LISTEN:80,fork,reuseaddr PIPE >/dev/null 2>&1 </dev/null 9>&- &
SERVER_PID=$!
sleep 0.3

in_c "$BIN" attach tun0 --fwmark 0x10 2>/dev/null

check_noted "rerouted into the tunnel, first SYNs lost: connects" in_c python3 -c '
import socket, time
s = socket.socket(); s.settimeout(10); t = time.monotonic()
s.connect(("10.99.0.2", 80))
print("connected after %.0f ms" % ((time.monotonic() - t) * 1000))'

# A blocked connect, then the same socket again once its route passes: the
# program gives back the TCP_SYNCNT it lowered (the default, or the user's).
same_socket() {
	in_c python3 -c '
import errno, signal, socket, subprocess, sys
user = int(sys.argv[1])
# Blocking connects (a timed-out non-blocking one leaves the socket in a
# state where the next connect() reports ECONNABORTED); an alarm guards them.
signal.alarm(10)
s = socket.socket()
if user:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, user)
before = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT)
try:
    s.connect(("10.66.0.2", 9)); sys.exit("connected off the tunnel?!")
except OSError as e:
    if e.errno != errno.ETIMEDOUT: sys.exit("first connect: %r" % e)
during = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT)
# Now 10.66.0.2 is reached through the tunnel (the server has it on lo).
subprocess.check_call(["ip", "route", "replace", "10.66.0.2/32", "via", "10.98.0.2", "dev", "tun0"])
subprocess.check_call(["ip", "netns", "exec", sys.argv[2], "ip", "addr", "replace", "10.66.0.2/32", "dev", "lo"])
try:
    s.connect(("10.66.0.2", 80))
finally:
    subprocess.call(["ip", "route", "del", "10.66.0.2/32"])
    subprocess.call(["ip", "netns", "exec", sys.argv[2], "ip", "addr", "del", "10.66.0.2/32", "dev", "lo"])
after = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT)
print("TCP_SYNCNT %d, %d while blocked, %d when connected again" % (before, during, after))
sys.exit(0 if during == 1 and after == before else 1)' "$1" "$NS_S"
}
check_noted "same socket, default TCP_SYNCNT given back" same_socket 0
check_noted "same socket, the user's TCP_SYNCNT 3 given back" same_socket 3

summary
