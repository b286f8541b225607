#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make test-e2e` runs each suite through this: under the host-wide e2e lock
# (one wgks program serves the whole host, so suites and runs take turns),
# with a tag in the environment that every process the suite starts
# inherits, and then, under the same lock, tests/e2e/leftovers.sh, which
# fails if the suite left a program, map, pin, namespace or process behind.
# The lock's fd is closed for both: no process of a suite can keep it.
#
# Usage: run-suite.sh SUITE BIN [ARGS...]
set -uo pipefail

HERE=$(dirname "$(readlink -f "$0")")
SUITE=${1:?usage: run-suite.sh SUITE BIN [ARGS...]}
shift
LOCK=/run/wgks-bpf-e2e.lock

exec 9>>"$LOCK"
if ! flock -n 9; then
	echo "# waiting for another e2e run to finish ($LOCK)" >&2
	flock -w 600 9 || { echo "FAIL: another e2e run held $LOCK for 600 s" >&2; exit 1; }
fi
tag="$(basename "$SUITE" .sh)-$$-$RANDOM"
rc=0
# Nothing reads its stdin: a suite that did would steal make's.
WGKS_E2E_LOCKED=1 WGKS_TEST_TAG=$tag bash "$SUITE" "$@" </dev/null 9>&- || rc=$?
bash "$HERE/leftovers.sh" "$SUITE" "$tag" 9>&- || rc=1
exit "$rc"
