#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Keeps a `systemctl restart wg-quick@IFACE` from leaking. A restart is a
# stop and a start: the stop's PreDown (`wgks-bpf detach %i`) would leave
# the namespace unprotected until the start's PostUp attaches again, and
# everything sent meanwhile leaves in plaintext (measured by `make
# test-system`: dozens of packets a second). So wgks-bpf's drop-in for
# wg-quick@.service runs this around wg-quick:
#
#   stop UNIT IFACE   before `wg-quick down`: if systemd is restarting UNIT
#                     (not stopping it) and lockdown is off, turn lockdown
#                     on, and note that it was for this restart
#   started IFACE     after `wg-quick up` (and its PostUp): turn off the
#                     lockdown that `stop` turned on
#
# If the start fails, lockdown stays on: nothing leaves until the tunnel is
# back (`systemctl start wg-quick@IFACE`) or `wgks-bpf lockdown off`.
WGKS_BPF=${WGKS_BPF:-@SBINDIR@/wgks-bpf}
# In the loader's own directory: root's, writable by no one else.
marker() { echo "/run/wgks-bpf/restart-$1"; }

case $1 in
stop)
	# "ID UNIT TYPE STATE": a restart job runs the stop, then the start.
	systemctl list-jobs --no-legend --plain "$2" 2>/dev/null |
		awk -v unit="$2" '$2 == unit && $3 == "restart" { found = 1 } END { exit !found }' || exit 0
	# Lockdown already on (at boot, by the admin): it holds anyway.
	"$WGKS_BPF" status --json 2>/dev/null | grep -q '"current":true,"lockdown":true' && exit 0
	"$WGKS_BPF" lockdown on || exit 0
	mkdir -p /run/wgks-bpf
	: >"$(marker "$3")"
	echo "restart of $2: lockdown on until $3 is protected again" >&2
	;;
started)
	[ -e "$(marker "$2")" ] || exit 0
	rm -f "$(marker "$2")"
	exec "$WGKS_BPF" lockdown off
	;;
*)
	echo "usage: $0 stop UNIT IFACE | started IFACE" >&2
	exit 2
	;;
esac
