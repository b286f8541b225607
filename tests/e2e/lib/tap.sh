# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The small e2e suites' shared parts (cli.sh, failfast.sh, watch.sh,
# install.sh): TAP-like lines, the summary line `make test` and CI read, and
# the host-wide e2e lock (one wgks program serves the whole host, so suites
# take turns).

PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $1"; }

# check NAME CMD...: CMD must succeed. Its output is shown: the first line
# when it does (a measurement, say), all of it when it does not.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name${out:+: ${out%%$'\n'*}}"; else not_ok "$name${out:+: $out}"; fi
}

# kill_ns_procs NS: end every process inside namespace NS (the suites'
# own namespaces: everything in them was started by the suite), by PID, and
# wait until they are gone. A forking server's children are there too.
kill_ns_procs() {
	local pid pids=()
	for pid in $(ip netns pids "$1" 2>/dev/null); do pids+=("$pid"); done
	((${#pids[@]})) || return 0
	kill -9 "${pids[@]}" 2>/dev/null
	for pid in "${pids[@]}"; do
		while kill -0 "$pid" 2>/dev/null && [[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; do
			sleep 0.05
		done
	done
}

# drop_ns BIN NS...: each namespace that exists loses its processes, its
# policy (BIN detach) and goes; for the suites' exit traps.
drop_ns() {
	local bin=$1 ns
	shift
	for ns in "$@"; do
		ip netns list | grep -qw "$ns" || continue
		kill_ns_procs "$ns"
		ip netns exec "$ns" "$bin" detach >/dev/null 2>&1 || true
		ip netns del "$ns"
	done
}

# Hold the e2e lock on fd 9 until exit. Background commands get `9>&-`.
# Under tests/e2e/run-suite.sh the runner holds it already.
e2e_lock() {
	[[ -n "${WGKS_E2E_LOCKED:-}" ]] && return 0
	exec 9>>/run/wgks-bpf-e2e.lock
	flock -w 300 9 || { echo "another e2e run held the lock for 300 s" >&2; exit 1; }
}

# The last line; the exit status says whether all passed.
summary() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
}
