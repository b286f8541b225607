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

# wgks_backstop_on DEV [NS]: status 0 if our backstop (a wgks_tc_* filter)
# is on DEV's egress, in network namespace NS or this one; prints it.
wgks_backstop_on() {
	local in_ns=()
	[[ -z "${2:-}" ]] || in_ns=(ip netns exec "$2")
	"${in_ns[@]}" tc filter show dev "$1" egress 2>/dev/null | grep ' wgks_tc_'
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
