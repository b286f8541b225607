#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# After each e2e suite (`make test-e2e`): nothing of wgks-bpf may be left on
# the host. A leftover program would also make the next suites SKIP (they
# refuse to touch a program they did not attach), so it fails here, naming
# the suite that left it. Prints what is left; exit 1 if anything is.
set -uo pipefail

SUITE=${1:-the last suite}
left=()
root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$root" ] && bpftool cgroup show "$root" 2>/dev/null | grep -q ' wgks_'; then
	left+=("programs on $root")
fi
# Map freeing lags the detach a little (RCU, then a workqueue): up to ~2 s.
for _ in $(seq 20); do
	bpftool map list 2>/dev/null | grep -q ' name wgks_' || break
	sleep 0.1
done
bpftool map list 2>/dev/null | grep -q ' name wgks_' && left+=("maps")
compgen -G '/sys/fs/bpf/wgks*' >/dev/null && left+=("pins")
if [ ${#left[@]} -gt 0 ]; then
	echo "FAIL: $SUITE left wgks-bpf ${left[*]} behind" >&2
	exit 1
fi
