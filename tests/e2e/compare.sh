#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make compare`: the leak suite (leaks.sh) against no kill switch, the
# iptables + ip6tables recipe, and wgks-bpf, then one Markdown table:
# scenario x system, pass/fail and the leaked packets counted at the gateway,
# followed by the checks that failed.
#
# Usage: tests/e2e/compare.sh /path/to/wgks-bpf [OUTDIR]
#   OUTDIR keeps each run's TAP log and report (default: a temporary dir,
#   removed unless something went wrong).
# Exit 0 when the three runs completed and wgks-bpf passed every scenario;
# none and the recipe failing is the expected result, not an error.
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
WGKS=${1:?usage: compare.sh /path/to/wgks-bpf [OUTDIR]}
[[ "$WGKS" == /* ]] || WGKS="$PWD/$WGKS"
OUT=${2:-}
OUT_OURS=""
if [[ -z "$OUT" ]]; then OUT=$(mktemp -d /tmp/wgks-compare.XXXXXX); OUT_OURS=1; fi
mkdir -p "$OUT"

SYSTEMS=(none recipe wgks)
SCENARIOS=$(sed -n 's/^SCENARIOS=//p' "$HERE/leaks.sh")
declare -A LABEL=([none]="no kill switch" [recipe]="iptables recipe" [wgks]="wgks-bpf")
declare -A SECONDS_TAKEN=()
rc=0

for sys in "${SYSTEMS[@]}"; do
	rm -f "$OUT/$sys.tsv" "$OUT/$sys.tap"
	printf '%-16s ' "${LABEL[$sys]}:" >&2
	# A failing run is the expected outcome for none and the recipe.
	bash "$HERE/leaks.sh" --system "$sys" --report "$OUT/$sys.tsv" "$WGKS" \
		>"$OUT/$sys.tap" 2>&1 || true
	# The run's own time, without its wait for the e2e lock.
	SECONDS_TAKEN[$sys]=$(sed -n 's/^# ran in \([0-9]*\) s.*/\1/p' "$OUT/$sys.tap")
	: "${SECONDS_TAKEN[$sys]:=?}"
	echo "$(tail -n 1 "$OUT/$sys.tap") in ${SECONDS_TAKEN[$sys]} s (log: $OUT/$sys.tap)" >&2
	lines=0
	[[ -f "$OUT/$sys.tsv" ]] && lines=$(wc -l <"$OUT/$sys.tsv")
	if grep -q '^SKIP' "$OUT/$sys.tap" || (( lines != SCENARIOS )); then
		echo "compare: the $sys run did not complete all $SCENARIOS scenarios" >&2
		rc=1
	fi
done

# cell SYSTEM N: "pass, 0 leaked" / "**FAIL**, 12 leaked" for scenario N, and
# what it measured ("pass, 0 leaked, tunnel in 0.12 s").
cell() {
	local f=$OUT/$1.tsv
	awk -F'\t' -v n="$2" '$1 == n {
		printf "%s, %d leaked", ($2 == "pass" ? "pass" : "**FAIL**"), $3
		if ($7 != "") printf ", %s", $7
		found = 1 }
		END { if (!found) printf "not run" }' "$f" 2>/dev/null || printf 'not run'
}

title() { awk -F'\t' -v n="$1" '$1 == n { print $5 }' "$OUT/wgks.tsv" "$OUT/none.tsv" 2>/dev/null | head -n 1; }

echo
os_name() {
	local f
	for f in /etc/os-release /usr/lib/os-release; do
		# shellcheck disable=SC1090
		[[ -r $f ]] && { (. "$f" && echo "$PRETTY_NAME"); return; }
	done
	if [[ -r /etc/debian_version ]]; then echo "Debian $(cat /etc/debian_version)"
	else uname -s; fi
}

echo "Leak suite (tests/e2e/leaks.sh), $(date -u +%Y-%m-%d), $(os_name)," \
	"Linux $(uname -r), $(nproc) cores."
echo "Each cell: the scenario's result and the plaintext packets from the client counted at the gateway;"
echo "for scenarios 24 and 25, also the time from the end of wg-quick up to the first packet through the tunnel."
echo
printf '| # | scenario | %s | %s | %s |\n' "${LABEL[none]}" "${LABEL[recipe]}" "${LABEL[wgks]}"
echo "|---|---|---|---|---|"
for n in $(seq 1 "$SCENARIOS"); do
	printf '| %s | %s | %s | %s | %s |\n' "$n" "$(title "$n")" \
		"$(cell none "$n")" "$(cell recipe "$n")" "$(cell wgks "$n")"
done
printf '| | time | %s s | %s s | %s s |\n' \
	"${SECONDS_TAKEN[none]}" "${SECONDS_TAKEN[recipe]}" "${SECONDS_TAKEN[wgks]}"

echo
echo "Failed checks (the first three of each failed scenario):"
for sys in "${SYSTEMS[@]}"; do
	[[ -f "$OUT/$sys.tsv" ]] || continue
	awk -F'\t' -v s="${LABEL[$sys]}" '$2 == "FAIL" {
		k = split($6, f, / \| /)
		line = ""
		for (i = 1; i <= k && i <= 3; i++) line = line (i > 1 ? "; " : "") f[i]
		if (k > 3) line = line sprintf("; and %d more", k - 3)
		printf "- %s, scenario %s (%s of %s checks failed): %s\n", s, $1, k, substr($4, index($4, "/") + 1), line
		any = 1 }
		END { if (!any) printf "- %s: none\n", s }' "$OUT/$sys.tsv"
done

if ! awk -F'\t' '$2 != "pass" { bad = 1 } END { exit bad }' "$OUT/wgks.tsv" 2>/dev/null; then
	echo "compare: wgks-bpf failed a scenario" >&2
	rc=1
fi
if [[ -n "$OUT_OURS" ]]; then
	if (( rc == 0 )); then rm -rf "$OUT"; else echo "compare: logs kept in $OUT" >&2; fi
fi
exit "$rc"
