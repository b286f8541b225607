#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Before the e2e suites (`make test-e2e`): remove what an earlier run left
# because it was cut short (killed, the machine stopped or restored from a
# snapshot mid-run), so that one killed run cannot fail every later one at
# "clean at the start". Only what the suites make is touched, each named:
#   - namespaces named as the suites name theirs (wgk<letters><number>,
#     wgks-lt-<number>, the number the PID of the suite that made it) whose
#     suite is gone: their processes are ended by PID, their policy
#     detached, the namespace deleted;
#   - processes the suites started outside a namespace: their environment
#     holds WGKS_TEST_TAG=<suite>-<runner pid>-<n>, and that runner is gone;
#   - then the program, only if it protects nothing: `sync` forgets the
#     namespaces that no longer exist, and if `status` lists none left,
#     `detach --all`. A program that still protects a namespace no test made
#     is a real kill switch: it is left alone, and this fails, saying so
#     (the suites refuse to run beside one).
# Runs under the e2e lock, so no suite is running. Exit 1 if something of
# wgks-bpf is left that is not ours to remove.
#
# Usage: reap.sh BIN
set -uo pipefail

HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=../lib/sandbox.sh
. "$HERE/../lib/sandbox.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/wgks.sh
. "$HERE/../lib/wgks.sh"

BIN=${1:?usage: reap.sh /path/to/wgks-bpf}
[ "$(id -u)" = 0 ] || exit 0
e2e_lock

said=
reaped() {
	[[ -n "$said" ]] || echo "# an earlier run was cut short; removing what it left:"
	said=1
	echo "#   $*"
}

# Processes of a suite whose runner is gone (by PID; never by name).
while IFS= read -r f; do
	pid=${f#/proc/}; pid=${pid%/environ}
	[[ "$pid" == "$$" ]] && continue
	tag=$({ tr '\0' '\n' <"$f"; } 2>/dev/null | sed -n 's/^WGKS_TEST_TAG=//p' | head -1)
	runner=$(sed -nE 's/^.*-([0-9]+)-[0-9]+$/\1/p' <<<"$tag")
	[[ -n "$runner" ]] || continue
	kill -0 "$runner" 2>/dev/null && continue
	reaped "process: $({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | cut -c1-60 | sed 's/ *$//') (pid $pid, tag $tag)"
	kill -9 "$pid" 2>/dev/null
done < <(grep -lsaF "WGKS_TEST_TAG=" /proc/[0-9]*/environ 2>/dev/null)

for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^(wgk[a-z]*[0-9]+|wgks-lt-[0-9]+)$'); do
	kill -0 "${ns##*[!0-9]}" 2>/dev/null && continue
	reaped "namespace: $ns"
	drop_ns "$BIN" "$ns"
done

[[ -n "$(wgks_programs)" ]] || exit 0
"$BIN" sync >/dev/null 2>&1 || true
json=$("$BIN" status --json 2>/dev/null)
if [[ "$json" == *'"namespaces":[]'* ]]; then
	reaped "program: $(wgks_programs) (protected no namespace)"
	"$BIN" detach --all >/dev/null 2>&1 || { echo "FAIL: detach --all failed" >&2; exit 1; }
	exit 0
fi
echo "FAIL: a wgks-bpf program protects namespaces on this host that no test made:" >&2
"$BIN" status >&2
echo "the tests do not touch a real kill switch; detach it (wgks-bpf detach --all) to run them" >&2
exit 1
