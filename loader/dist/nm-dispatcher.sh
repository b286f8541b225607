#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# NetworkManager dispatcher hook: protect WireGuard connections managed by
# NetworkManager with wgks-bpf. Installed as
# /etc/NetworkManager/dispatcher.d/50-wgks-bpf.
#
# NetworkManager runs it as: 50-wgks-bpf INTERFACE ACTION
#   up:    the interface is up and configured: attach (its fwmark from wg)
#   down:  NetworkManager took it down on purpose: detach (by name, so
#          also after the device is gone)
# A crash brings no "down": the policy stays and blocks (fail closed).
WGKS_BPF=${WGKS_BPF:-@SBINDIR@/wgks-bpf}
iface=$1
action=$2

# Only WireGuard devices; NetworkManager says which type it managed.
is_wireguard() {
	[ "${CONNECTION_TYPE:-}" = wireguard ] && return 0
	ip -d link show dev "$iface" 2>/dev/null | grep -qw wireguard
}

case "$action" in
up)
	is_wireguard || exit 0
	exec "$WGKS_BPF" attach "$iface"
	;;
down)
	# The device may be gone already: ask the connection type only.
	[ "${CONNECTION_TYPE:-}" = wireguard ] || exit 0
	exec "$WGKS_BPF" detach "$iface"
	;;
esac
exit 0
