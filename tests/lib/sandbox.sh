# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Where the suites that run as root play: throwaway network namespaces,
# emptied and removed by drop_ns, and the host-wide e2e lock they take turns
# with (one wgks program serves the whole host, so two suites at once would
# see each other's program and maps). Sourced by the e2e suites (directly or
# through tests/e2e/lib/net.sh) and by the kernel matrix's checks.

E2E_LOCK=/run/wgks-bpf-e2e.lock

# e2e_lock: hold the e2e lock on fd 9 until exit. Background commands get
# `9>&-`, so none can keep it. Under tests/e2e/run-suite.sh the runner
# holds it already.
e2e_lock() {
	[[ -n "${WGKS_E2E_LOCKED:-}" ]] && return 0
	command -v flock >/dev/null || return 0
	exec 9>>"$E2E_LOCK"
	flock -n 9 && return 0
	echo "# waiting for another e2e run to finish ($E2E_LOCK)" >&2
	flock -w 300 9 || { echo "another e2e run held $E2E_LOCK for 300 s" >&2; exit 1; }
}

# kill_ns_procs NS: end every process inside namespace NS (a suite's own
# namespace: everything in it was started by the suite), by PID, and wait
# until they are gone (or zombies, for their parent to reap). A forking
# server's children are there too.
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
# policy and goes. Deleting a namespace does not remove its policy entry;
# `BIN detach` in it does (a no-op where nothing is attached; no detach
# when BIN is empty). Only ever inside the suite's own namespaces: never
# the host's policy.
drop_ns() {
	local bin=$1 ns
	shift
	for ns in "$@"; do
		ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qxF -- "$ns" || continue
		kill_ns_procs "$ns"
		if [[ -n "$bin" ]]; then
			ip netns exec "$ns" "$bin" detach >/dev/null 2>&1 3>&- 4>&- 9>&- || true
		fi
		ip netns del "$ns" 2>/dev/null || true
	done
	return 0
}
