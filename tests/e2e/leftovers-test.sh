#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The leftovers check (tests/e2e/leftovers.sh) must fail, by name, on each
# kind of real leftover, and pass once it is gone: a program left attached,
# a backstop left on a device (tcx, and a clsact filter), a map a process
# holds open, a pin, a process still running, a namespace.
# Each is left here on purpose, in a throwaway namespace, then removed.
# And tests/e2e/reap.sh must remove what a run cut short left, by name, but
# never a kill switch that protects a namespace no suite made.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$(dirname "$(readlink -f "$0")")/../lib/tap.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/sandbox.sh
. "$(dirname "$(readlink -f "$0")")/../lib/sandbox.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/wgks.sh
. "$(dirname "$(readlink -f "$0")")/../lib/wgks.sh"

BIN=${1:?usage: leftovers-test.sh /path/to/wgks-bpf}
HERE=$(dirname "$(readlink -f "$0")")
TAG=$$
NS=wgks-lt-$TAG   # not named as suites name theirs: the check must not see it
NS_LEFT=wgksln$TAG
NS_REAL=wgks-real-$TAG   # not named as suites name theirs: stands for a user's
CHECK_TAG="leftovers-test-$TAG-$RANDOM"
PY=/usr/bin/python3
HOLDER=
SLEEPER=
STALE=
NS_KILLED=

{ [ "$(id -u)" = 0 ] && [ -x "$PY" ]; } || skip_all "leftovers-test.sh needs root and $PY"

cleanup() {
	set +e
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
	[ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null && wait "$SLEEPER" 2>/dev/null
	[ -n "$STALE" ] && kill -9 "$STALE" 2>/dev/null && wait "$STALE" 2>/dev/null
	drop_ns "$BIN" "$NS" "$NS_LEFT" "$NS_KILLED" "$NS_REAL"
}
trap cleanup EXIT

e2e_lock

# leftovers WANT_RC WANT_TEXT: run the check; its exit code and a piece of its output.
leftovers() {
	local want_rc=$1 want=$2 rc=0 out
	out=$(WGKS_FREE_TIMEOUT=20 bash "$HERE/leftovers.sh" leftovers-test "$CHECK_TAG" 2>&1) || rc=$?
	echo "${out//$'\n'/ | }"
	[ "$rc" = "$want_rc" ] && [[ "$out" == *"$want"* ]]
}

map_id() { bpftool map show name "$1" 2>/dev/null | awk -F: 'NR == 1 { print $1 }'; }

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add tun0 mode tun
ip -n "$NS" link add eth0 type veth peer name eth0p
for dev in tun0 eth0 eth0p; do ip -n "$NS" link set "$dev" up; done

check_noted "clean at the start" leftovers 0 ""

# A program left attached.
ip netns exec "$NS" "$BIN" attach tun0 --fwmark 0x10 2>/dev/null
check_noted "a program left attached fails, by name" leftovers 1 "program attached: wgks_eg_"

# A backstop left on the devices, the cgroup's programs detached by hand:
# on tcx where the kernel has it, and as a clsact filter.
cgroup2_root() { awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts; }
detach_cgroup_by_hand() {
	local root id hook
	root=$(cgroup2_root)
	bpftool cgroup show "$root" 2>/dev/null | awk '$NF ~ /^wgks_/ { print $2 " " $1 }' |
		while read -r hook id; do
			hook=${hook#cgroup_}
			bpftool cgroup detach "$root" "${hook#inet_}" id "$id"
		done
}
hooks=(clsact)
ip netns exec "$NS" "$PY" "$WGKS_TCX_PY" lo >/dev/null 2>&1 && hooks=(tcx clsact)
ip netns exec "$NS" "$BIN" detach 2>/dev/null
for hook in "${hooks[@]}"; do
	WGKS_BACKSTOP_HOOK=$hook ip netns exec "$NS" "$BIN" attach tun0 --fwmark 0x10 2>/dev/null
	detach_cgroup_by_hand
	want="eth0: wgks_bs_"
	check "a backstop left on a device ($hook) fails, by name" leftovers 1 "backstop on $want"
	ip netns exec "$NS" "$BIN" detach 2>/dev/null
	check "detach takes the lone backstop off ($hook): passes" leftovers 0 ""
done
ip netns exec "$NS" "$BIN" attach tun0 --fwmark 0x10 2>/dev/null

# A map a process holds open: no waiting cures that.
id=$(map_id wgks_policy)
ip netns exec "$NS" "$PY" -c '
import ctypes, os, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
BPF_MAP_GET_FD_BY_ID = 14
attr = ctypes.create_string_buffer(struct.pack("I", int(sys.argv[1])), 128)
fd = libc.syscall(321, BPF_MAP_GET_FD_BY_ID, attr, 128)
if fd < 0: sys.exit("BPF_MAP_GET_FD_BY_ID: %s" % os.strerror(ctypes.get_errno()))
print("holding", fd, flush=True)
time.sleep(300)' "$id" >/dev/null 2>&1 </dev/null 9>&- &
HOLDER=$!
sleep 0.5
ip netns exec "$NS" "$BIN" detach 2>/dev/null
check_noted "a map held open by a process fails, naming it" leftovers 1 "wgks_policy) held open by python3[$HOLDER]"
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true
HOLDER=
check_noted "once the holder is gone, the map is freed: passes" leftovers 0 ""

# A pin, in a bpffs of a private mount namespace (the host's /sys/fs/bpf
# is left alone). The check runs there too, as it would on a host that
# had the pin.
ip netns exec "$NS" "$BIN" attach tun0 --fwmark 0x10 2>/dev/null
id=$(map_id wgks_policy)
# shellcheck disable=SC2016  # the inner script expands its own arguments
check_noted "a pin fails, by name" unshare -m bash -c '
	mount -t bpf bpf /sys/fs/bpf &&
	bpftool map pin id "$1" /sys/fs/bpf/wgks_leftover &&
	ip netns exec "$2" "$3" detach 2>/dev/null &&
	out=$(bash "$4/leftovers.sh" leftovers-test "$5" 2>&1); rc=$?
	echo "$out"; [ "$rc" = 1 ] && [[ "$out" == *"pins: /sys/fs/bpf/wgks_leftover"* ]]' \
	pin "$id" "$NS" "$BIN" "$HERE" "$CHECK_TAG"
check_noted "with the pin gone (its mount namespace ended), passes" leftovers 0 ""

# A process the suite started, still running (it carries the suite's tag).
WGKS_TEST_TAG=$CHECK_TAG ip netns exec "$NS" sleep 300 >/dev/null 2>&1 </dev/null 9>&- &
SLEEPER=$!
sleep 0.2
check_noted "a process left running fails, by name" leftovers 1 "process still running: sleep 300 (pid $SLEEPER"
kill "$SLEEPER"; wait "$SLEEPER" 2>/dev/null || true
SLEEPER=
check_noted "with the process gone, passes" leftovers 0 ""

# A namespace left.
ip netns add "$NS_LEFT"
check_noted "a namespace left fails, by name" leftovers 1 "network namespace left: $NS_LEFT"
ip netns del "$NS_LEFT"

# What a run cut short leaves (as a killed or snapshot-restored machine
# had): a namespace of a suite with a tunnel attached, and a process of a
# suite whose runner is gone. tests/e2e/reap.sh, which `make test-e2e`
# runs first, removes both, by name, and the program that then protects
# nothing; the check passes after it.
true & dead=$!
wait "$dead"
NS_KILLED=wgksk$dead
ip netns add "$NS_KILLED"
ip -n "$NS_KILLED" tuntap add tun0 mode tun
ip -n "$NS_KILLED" link set tun0 up
ip netns exec "$NS_KILLED" "$BIN" attach tun0 --fwmark 0x10 2>/dev/null
WGKS_TEST_TAG="leaks-$dead-1" bash -c 'exec sleep 300' >/dev/null 2>&1 </dev/null 9>&- &
STALE=$!
sleep 0.2
check_noted "a killed run's leftovers fail the check" leftovers 1 "network namespace left: $NS_KILLED"
reap() {
	local want_rc=$1 rc=0 out
	shift
	out=$(bash "$HERE/reap.sh" "$BIN" 2>&1) || rc=$?
	echo "${out//$'\n'/ | }"
	[ "$rc" = "$want_rc" ] || return 1
	for want in "$@"; do [[ "$out" == *"$want"* ]] || return 1; done
}
check_noted "reap.sh removes them, naming each" reap 0 "namespace: $NS_KILLED" \
	"process: sleep 300 (pid $STALE, tag leaks-$dead-1)"
wait "$STALE" 2>/dev/null || true
STALE=
check_noted "after reap.sh, the check passes" leftovers 0 ""

# A program that protects a namespace no suite made is a user's kill
# switch: reap.sh leaves it attached and fails, saying so.
ip netns add "$NS_REAL"
ip -n "$NS_REAL" tuntap add tun0 mode tun
ip -n "$NS_REAL" link set tun0 up
ip netns exec "$NS_REAL" "$BIN" attach tun0 --fwmark 0x10 2>/dev/null
check_noted "a kill switch no suite made: reap.sh fails and leaves it" reap 1 "protects namespaces on this host that no test made"
check "  ... still attached" wgks_attached
drop_ns "$BIN" "$NS_REAL"
check_noted "with it detached, the check passes" leftovers 0 ""

summary
