# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The vocabulary of every shell test suite: TAP lines, checks with one
# meaning per name, and the summary line `make test` and CI read. Sourced by
# the e2e suites (tests/e2e), the kernel matrix's checks (tests/kernels, in
# its qemu guests too) and the system suite's host side (tests/system).
#
#   ok DESC                          a passed result
#   not_ok DESC [DETAIL]             a failed one; DETAIL's lines shown as diagnostics
#   note TEXT...                     a comment line ("# TEXT")
#   skip_all REASON                  "SKIP: REASON" and exit 0: the suite cannot run here
#   check DESC CMD...                CMD must succeed
#   check_noted DESC CMD...          the same, and CMD's output is shown, pass or fail
#                                    (a measurement worth reading)
#   check_fails DESC CMD...          CMD must fail
#   check_refused DESC CMD...        CMD must fail because the kernel refused a send
#                                    with EPERM ("Operation not permitted"), as a drop on
#                                    the way out does; failing for another reason (no
#                                    route, a typo, a timeout) does not count
#   check_exit DESC RC PIECE CMD...  CMD must exit RC with PIECE in its stderr
#   summary                          "N passed, M failed"; status 0 if none failed
#
# CMD runs in the calling shell, so that it may set the caller's variables;
# its stdout and stderr go to a log. A failed check shows the log's last 20
# lines as "#   " diagnostics, the same way in every suite.
#
# TAP_FAIL_HOOK, when set, names a function called with the DESC of every
# failed result: the leak suite counts them per scenario, the kernel matrix
# per row.

TAP_PASSED=0            # results that passed
TAP_FAILED=0            # results that failed
TAP_COUNT=0             # results so far: the number of the last one
TAP_FAIL_HOOK=""

# The log of the running check: a file unlinked as soon as it is made and
# kept open on TAP_LOG_FD, reached by its /proc path (`>` truncates it for
# each check). Nothing is left behind however the suite ends, and the
# library needs no trap of its own (the suites' traps stay theirs).
tap_log_open() {
	local f
	f=$(mktemp "${TMPDIR:-/tmp}/wgks-tap.XXXXXX") || exit 1
	exec {TAP_LOG_FD}<>"$f"
	rm -f "$f"
	TAP_LOG=/proc/$$/fd/$TAP_LOG_FD
}
tap_log_open

ok() {
	TAP_COUNT=$((TAP_COUNT + 1)) TAP_PASSED=$((TAP_PASSED + 1))
	echo "ok $TAP_COUNT - $1"
}

not_ok() {
	TAP_COUNT=$((TAP_COUNT + 1)) TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_COUNT - $1"
	local line
	if [[ -n "${2:-}" ]]; then
		while IFS= read -r line; do echo "#   $line"; done <<<"$2"
	fi
	[[ -z "$TAP_FAIL_HOOK" ]] || "$TAP_FAIL_HOOK" "$1"
}

note() { echo "# $*"; }

skip_all() {
	echo "SKIP: $*"
	exit 0
}

# The end of the running check's log, for not_ok.
tap_log_tail() { tail -n 20 "$TAP_LOG"; }

check() {
	local desc=$1
	shift
	if "$@" >"$TAP_LOG" 2>&1; then ok "$desc"; else not_ok "$desc" "$(tap_log_tail)"; fi
}

check_noted() {
	local desc=$1
	shift
	if "$@" >"$TAP_LOG" 2>&1; then
		ok "$desc"
		sed 's/^/#   /' "$TAP_LOG"
	else
		not_ok "$desc" "$(tap_log_tail)"
	fi
}

check_fails() {
	local desc=$1
	shift
	if "$@" >"$TAP_LOG" 2>&1; then
		echo "(it succeeded)" >>"$TAP_LOG"
		not_ok "$desc" "$(tap_log_tail)"
	else
		ok "$desc"
	fi
}

check_refused() {
	local desc=$1
	shift
	if "$@" >"$TAP_LOG" 2>&1; then
		echo "(it succeeded: not refused)" >>"$TAP_LOG"
		not_ok "$desc" "$(tap_log_tail)"
	elif grep -q 'Operation not permitted' "$TAP_LOG"; then
		ok "$desc"
	else
		echo "(failed, but not with EPERM)" >>"$TAP_LOG"
		not_ok "$desc" "$(tap_log_tail)"
	fi
}

# Its stdout is not looked at: the exit code and the message are the point.
check_exit() {
	local desc=$1 want_rc=$2 want_msg=$3 rc=0
	shift 3
	"$@" >/dev/null 2>"$TAP_LOG" || rc=$?
	if [[ "$rc" == "$want_rc" && "$(cat "$TAP_LOG")" == *"$want_msg"* ]]; then
		ok "$desc"
	else
		not_ok "$desc" "exit $rc, want $want_rc${want_msg:+ and \"$want_msg\"} on stderr; stderr:
$(tap_log_tail)"
	fi
}

summary() {
	echo "$TAP_PASSED passed, $TAP_FAILED failed"
	((TAP_FAILED == 0))
}
