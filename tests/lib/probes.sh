# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The network probes the leak suite (tests/e2e/leaks.sh, through
# lib/net.sh) and the kernel matrix (tests/kernels/checks.sh, in qemu
# guests too) share: one body each. Each is one attempt from inside network
# namespace NS, bounded by a timeout; retry makes a positive probe patient.
# Negative checks never retry: one attempt must fail.
#
# They need bash, ip, ping, socat, timeout and, for tcp_fails_fast, the
# failfast program (tests/lib/failfast.c): no Python, which the kernel
# guests do not have.
#
# The suite sets TCP_PORT and UDP_PORT (its echo servers' ports), and may
# change the settings below, before or after sourcing this.

# retry: tries, and the pause between them. The first packet through a
# tunnel may wait for WireGuard's handshake; software emulation wants more
# patience (the kernel matrix: 5 and 0.5).
: "${RETRY_TRIES:=3}" "${RETRY_PAUSE:=0.3}"
# How long an answer may take, in seconds: socat's timeouts in tcp_echo and
# udp_echo (1 over veths; 3 under software emulation).
: "${PROBE_WAIT:=1}"
# ping_once's wait for the echo reply (an answer over the veths takes well
# under a millisecond; 2 under software emulation).
: "${PING_WAIT:=0.5}"
# tcp_fails_fast: connects per mode (blocking, non-blocking), the median
# they must stay under, and the program that makes them.
: "${FAILFAST_TRIES:=10}" "${FAILFAST_MS:=100}"
: "${FAILFAST_BIN:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.output/tests/failfast}"

# CG_WRAP, when set, is a command prefix that runs the probes elsewhere too
# (the leak suite: in a child cgroup).
CG_WRAP=()

# nsx NS CMD...: CMD in namespace NS, through CG_WRAP.
nsx() { "${CG_WRAP[@]}" ip netns exec "$@"; }

# sockaddr HOST: socat wants IPv6 addresses in brackets.
sockaddr() { if [[ $1 == *:* ]]; then echo "[$1]"; else echo "$1"; fi; }

# retry CMD...: CMD succeeds within RETRY_TRIES attempts.
retry() {
	local i
	for ((i = 0; i < RETRY_TRIES; i++)); do
		"$@" && return 0
		sleep "$RETRY_PAUSE"
	done
	return 1
}

# ping_once NS HOST [DEV]: one echo request, answered within PING_WAIT.
# iputils ping swallows sendmsg's EPERM, so its failure alone is all it can
# tell; the leak counters prove that nothing got out.
ping_once() { nsx "$1" ping -c1 -W"$PING_WAIT" -q ${3:+-I "$3"} "$2"; }

# ping_ok NS HOST: answered, allowing 2 s per try and a WireGuard handshake
# first.
ping_ok() { retry nsx "$1" ping -c1 -W2 -q "$2"; }

# tcp_echo / udp_echo NS HOST [DEV]: a word sent to the echo server on
# HOST came back.
tcp_echo() {
	[[ "$(echo wgks | nsx "$1" timeout $((PROBE_WAIT + 2)) socat -T"$PROBE_WAIT" - \
		"TCP:$(sockaddr "$2"):$TCP_PORT,connect-timeout=$PROBE_WAIT${3:+,if=$3}")" == wgks ]]
}
udp_echo() {
	[[ "$(echo wgks | nsx "$1" timeout $((PROBE_WAIT + 2)) socat -T"$PROBE_WAIT" - \
		"UDP:$(sockaddr "$2"):$UDP_PORT${3:+,if=$3}")" == wgks ]]
}

# udp_send NS HOST PORT [DEV]: one datagram; socat exits non-zero, saying
# "Operation not permitted", when the kernel refuses the send (EPERM from a
# kill switch's drop): check_refused tells that from other failures.
udp_send() {
	echo wgks | nsx "$1" timeout $((PROBE_WAIT + 2)) socat -T"$PROBE_WAIT" - \
		"UDP:$(sockaddr "$2"):$3${4:+,if=$4}"
}

# tcp_fails_fast NS HOST PORT [DEV]: every connect (FAILFAST_TRIES
# blocking, as many non-blocking) fails with ETIMEDOUT, their median within
# FAILFAST_MS (FAILFAST_ERRNO=any in the environment: any error will do).
# Prints the errors and min/median/max ms of each mode.
tcp_fails_fast() {
	nsx "$1" "$FAILFAST_BIN" "$2" "$3" "$FAILFAST_TRIES" "$FAILFAST_MS" ${4:+"$4"}
}
