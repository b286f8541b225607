# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# What of wgks-bpf the kernel holds right now, asked of the kernel itself
# (bpftool, tc), never of wgks-bpf: the one place the suites look for "are
# our programs attached?", "are our maps, links, pins, filters still
# there?". Ours are the objects whose names start with wgks_ (DESIGN.md).
# Sourced by the e2e suites, the kernel matrix's checks (needs bpftool,
# awk, sort) and, in the system guests, the scripts that only ask tc.

# wgks_cgroup2: the cgroup2 mount as this mount namespace sees it
# (/sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones).
wgks_cgroup2() { awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts; }

# wgks_cgroup_progs CGROUP: our programs attached to CGROUP, one per line:
# "HOOK ID NAME", HOOK as bpftool names the attach type less its cgroup_
# or cgroup_inet_ prefix (egress, sock_ops).
wgks_cgroup_progs() {
	bpftool cgroup show "$1" 2>/dev/null |
		awk '$NF ~ /^wgks_/ { h = $2; sub(/^cgroup_(inet_)?/, "", h); print h, $1, $NF }'
}

# wgks_attached_progs: the same for the root cgroup, where wgks-bpf attaches.
wgks_attached_progs() {
	local root
	root=$(wgks_cgroup2)
	[[ -z "$root" ]] || wgks_cgroup_progs "$root"
}

# wgks_programs: the same as one line of sorted "HOOK:ID" words
# ("egress:41 sock_ops:42"): it compares equal as long as the same programs
# stay attached, and is empty when none is.
wgks_programs() { wgks_attached_progs | awk '{ print $1 ":" $2 }' | sort | xargs; }

# wgks_attached: status 0 if a program of ours is attached to the root
# cgroup; prints them.
wgks_attached() {
	local progs
	progs=$(wgks_programs)
	[[ -n "$progs" ]] || return 1
	echo "attached: $progs"
}

# wgks_ids prog|map: the ids of our programs or maps the kernel lists, one
# per line: attached or not, held open or on their way out.
wgks_ids() {
	bpftool "$1" list 2>/dev/null | awk -F': *' '/^[0-9]+: / && / name wgks_/ { print $1 }'
}

# wgks_links: our bpf_links, one line each as bpftool shows them.
wgks_links() { bpftool link list 2>/dev/null | awk '/wgks_/ { print }'; }

# wgks_pins: status 0 if anything of ours is pinned under /sys/fs/bpf
# (wgks-bpf pins only there, and only as a convenience); prints the pins.
wgks_pins() {
	compgen -G '/sys/fs/bpf/wgks*' >/dev/null || return 1
	echo /sys/fs/bpf/wgks*
}

# tcx.py: a device's tcx chain as the kernel has it (Debian 12's bpftool,
# 7.1, shows no tcx). Needs python3; where there is none (the guests), only
# clsact filters are seen.
WGKS_TCX_PY=$(dirname "${BASH_SOURCE[0]}")/tcx.py

# wgks_backstop_on DEV [NS]: status 0 if our backstop (a wgks_bs_* program,
# or an older version's wgks_tc_*, or the handover wgks_bh_*) is on DEV's
# egress, in network namespace NS or this one: a clsact filter, or on the
# device's tcx chain. Prints it.
wgks_backstop_on() {
	local in_ns=() found=1
	[[ -z "${2:-}" ]] || in_ns=(ip netns exec "$2")
	"${in_ns[@]}" tc filter show dev "$1" egress 2>/dev/null | grep -E ' wgks_(bs|bh|tc)_' && found=0
	if command -v python3 >/dev/null; then
		"${in_ns[@]}" python3 "$WGKS_TCX_PY" "$1" 2>/dev/null |
			awk '$2 ~ /^wgks_/ { print "tcx " $2 " (id " $1 ")"; f = 1 } END { exit !f }' && found=0
	fi
	return $found
}

# wgks_backstops: every backstop program of ours a device holds, in this
# namespace and every named one: "DEV: NAME (id ID, HOOK[, in NS])" each.
# Clsact filters as bpftool shows them, tcx chains through tcx.py.
wgks_backstops() {
	local ns where in_ns
	for ns in "" $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		in_ns=() where=""
		[[ -z "$ns" ]] || { in_ns=(ip netns exec "$ns"); where=", in $ns"; }
		"${in_ns[@]}" bpftool -j net 2>/dev/null | python3 -c '
import json, sys
for d in json.loads(sys.stdin.read() or "[]"):
    for f in d.get("tc", []):
        if f.get("name", "").startswith("wgks_"):
            print("%s: %s (id %s, %s%s)" % (f["devname"], f["name"].split(":")[0], f["id"], f["kind"], sys.argv[1]))' "$where"
		"${in_ns[@]}" python3 "$WGKS_TCX_PY" --all 2>/dev/null |
			awk -v w="$where" '$3 ~ /^wgks_/ { print $1 ": " $3 " (id " $2 ", tcx/egress" w ")" }'
	done
}

# wgks_prog_freed ID: program ID is gone, and so its maps. Detaching does
# not free a program at once (an RCU grace period, then a workqueue):
# polled for 3 s.
wgks_prog_freed() {
	[[ -n "$1" ]] || { echo "no program id recorded"; return 1; }
	for _ in $(seq 30); do
		bpftool prog show id "$1" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	echo "program $1 still exists"
	return 1
}
