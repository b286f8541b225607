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

# drop_ns BIN NS...: each namespace that exists loses its policy (BIN detach)
# and goes; for the suites' exit traps.
drop_ns() {
	local bin=$1 ns
	shift
	for ns in "$@"; do
		ip netns list | grep -qw "$ns" || continue
		ip netns exec "$ns" "$bin" detach >/dev/null 2>&1 || true
		ip netns del "$ns"
	done
}

# Hold the e2e lock on fd 9 until exit. Background commands get `9>&-`.
e2e_lock() {
	exec 9>>/run/wgks-bpf-e2e.lock
	flock -w 300 9 || { echo "another e2e run held the lock for 300 s" >&2; exit 1; }
}

# The last line; the exit status says whether all passed.
summary() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
}
