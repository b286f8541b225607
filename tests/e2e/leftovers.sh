#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# After each e2e suite (`make test-e2e`): nothing of wgks-bpf, and nothing
# the suite started, may be left on the host. A leftover program would also
# make the next suites SKIP (they refuse to touch a program they did not
# attach), so it fails here, naming the suite and what it left: a program
# attached, a link, a pin, a program or map some process holds open, a
# process the suite started (by its WGKS_TEST_TAG), a namespace. Programs
# and maps that nothing holds any more are waited for: the kernel frees
# them asynchronously (lib/leftovers.sh). Exit 1 if anything is left.
#
# Usage: leftovers.sh SUITE [TAG]
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/leftovers.sh
. "$(dirname "$(readlink -f "$0")")/lib/leftovers.sh"

SUITE=${1:-the last suite}
TAG=${2:-}
if ! out=$(wgks_real_leftovers "$TAG"); then
	echo "FAIL: $SUITE left behind:" >&2
	while IFS= read -r line; do echo "  - $line"; done <<<"$out" >&2
	exit 1
fi
if ! out=$(wgks_wait_freed); then
	echo "FAIL: $SUITE left wgks-bpf behind: $out" >&2
	exit 1
fi
[[ -z "$out" ]] || echo "# $SUITE: $out"
exit 0
