# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# What a test may have left of wgks-bpf on the host, told apart from what
# the kernel is still freeing. Sourced by tests/e2e/leftovers.sh (after each
# suite of `make test-e2e`) and by the suites' own "nothing left" checks.
#
# A real leftover fails at once, by name, because no waiting cures it:
#   - a wgks program attached to the root cgroup, or any bpf_link of ours;
#   - a backstop program of ours on a device, in this namespace or a named
#     one (`ip netns`): a clsact filter, or on the device's tcx chain;
#   - a pin under /sys/fs/bpf/wgks*;
#   - a wgks program or map that some process holds open (an fd whose
#     /proc/PID/fdinfo names its id): the process is named;
#   - a process the suite started that is still alive (it carries the
#     suite's WGKS_TEST_TAG in its environment), or a namespace of ours.
# A wgks program or map that nothing holds is on its way out: the kernel
# frees a detached program after an RCU grace period and its maps from a
# workqueue, which under load took more than 2 s here. That is waited for,
# up to WGKS_FREE_TIMEOUT seconds (60), and how long it took is reported.

WGKS_FREE_TIMEOUT=${WGKS_FREE_TIMEOUT:-60}

# (shellcheck: SCRIPTDIR is the checked script's: tests/e2e or tests/e2e/lib.)
# shellcheck source-path=SCRIPTDIR/.. source-path=SCRIPTDIR/../.. source=lib/wgks.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/wgks.sh"

# Processes holding an fd to object KIND (prog | map) ID: "comm[pid]" each.
_lo_holders() {
	local kind=$1 id=$2 f pid
	local -A seen=()
	while IFS= read -r f; do
		pid=${f#/proc/}; pid=${pid%%/*}
		[[ -n "${seen[$pid]:-}" ]] && continue
		seen[$pid]=1
		printf '%s[%s] ' "$(cat "/proc/$pid/comm" 2>/dev/null || echo '?')" "$pid"
	done < <(grep -lsE "^${kind}_id:[[:space:]]*${id}\$" /proc/[0-9]*/fdinfo/* 2>/dev/null)
}

# PIDs of this shell and its ancestors: they carry the tag by inheritance.
_lo_self_and_ancestors() {
	local pid=$BASHPID
	while [[ -n "$pid" && "$pid" != 0 ]]; do
		echo "$pid"
		pid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	done
}

# Real leftovers, one line each on stdout; status 1 if there are any.
# TAG (after a suite): also processes whose environment holds
# WGKS_TEST_TAG=TAG, and namespaces named as the suites name theirs.
wgks_real_leftovers() {
	local tag=${1:-} root id h pid kind hook name line found=0
	root=$(wgks_cgroup2)
	while read -r hook id name; do
		[[ -n "$name" ]] && { echo "program attached: $name (id $id, $hook) on $root"; found=1; }
	done < <(wgks_attached_progs)
	while read -r line; do
		[[ -n "$line" ]] && { echo "bpf_link: $line"; found=1; }
	done < <(wgks_links)
	while read -r line; do
		[[ -n "$line" ]] && { echo "backstop on $line"; found=1; }
	done < <(wgks_backstops)
	if line=$(wgks_pins); then
		echo "pins: $line"
		found=1
	fi
	for kind in prog map; do
		for id in $(wgks_ids "$kind"); do
			h=$(_lo_holders "$kind" "$id")
			[[ -n "$h" ]] || continue
			echo "$kind id $id ($(bpftool "$kind" show id "$id" 2>/dev/null | awk 'NR == 1 { for (i = 1; i < NF; i++) if ($i == "name") print $(i + 1) }')) held open by ${h% }"
			found=1
		done
	done
	if [[ -n "$tag" ]]; then
		local -A mine=()
		for pid in $(_lo_self_and_ancestors); do mine[$pid]=1; done
		while IFS= read -r pid; do
			pid=${pid#/proc/}; pid=${pid%/environ}
			[[ -n "${mine[$pid]:-}" ]] && continue
			# The environment must hold exactly our tag, not one that begins with it.
			tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "WGKS_TEST_TAG=$tag" || continue
			kill -0 "$pid" 2>/dev/null || continue
			echo "process still running: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80 | sed 's/ *$//') (pid $pid, netns $(readlink "/proc/$pid/ns/net" 2>/dev/null))"
			found=1
		done < <(grep -lsaF "WGKS_TEST_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null)
		# After a suite (a tag is given): its namespaces too. The suites
		# name theirs wgk<letters><number>.
		while read -r ns; do
			[[ -n "$ns" ]] && { echo "network namespace left: $ns"; found=1; }
		done < <(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^wgk[a-z]*[0-9]+$')
	fi
	((found == 0))
}

# Wait until no wgks program or map is listed (they are being freed), at
# most WGKS_FREE_TIMEOUT s. Prints how long it took if it took a while, or
# what is still listed; status 1 on a timeout.
wgks_wait_freed() {
	local start=$SECONDS ms t0 left
	t0=$(date +%s%N)
	while :; do
		left="$(wgks_ids prog | sed 's/^/prog /')$(wgks_ids map | sed 's/^/ map /')"
		[[ -z "${left//[[:space:]]/}" ]] && break
		if ((SECONDS - start >= WGKS_FREE_TIMEOUT)); then
			echo "still listed after ${WGKS_FREE_TIMEOUT} s, held by nothing we can see: ${left//$'\n'/ }"
			return 1
		fi
		sleep 0.1
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	((ms < 500)) || echo "waited $ms ms for the kernel to free wgks programs and maps"
	return 0
}

# Everything at once: real leftovers fail at once, then the wait.
wgks_leftovers() {
	wgks_real_leftovers "${1:-}" || return 1
	wgks_wait_freed
}

# For a suite's own "nothing left" checks: no program, link, map or pin of
# ours on the host, none held open by a process; what the kernel is still
# freeing is waited for. Says what was left, or that nothing was.
wgks_all_gone() {
	local out
	out=$(wgks_leftovers "") || { echo "left behind: $out"; return 1; }
	echo "left behind: nothing${out:+ ($out)}"
}
