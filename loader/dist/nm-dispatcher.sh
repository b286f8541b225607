#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# NetworkManager dispatcher hook: protect NetworkManager's WireGuard
# connections with wgks-bpf. Installed as
# /etc/NetworkManager/dispatcher.d/50-wgks-bpf, with links to it in
# pre-up.d/ and pre-down.d/: NetworkManager runs scripts for those two
# events only from there, and waits for them.
#
# NetworkManager runs it as `50-wgks-bpf INTERFACE ACTION` with
# CONNECTION_UUID, CONNECTION_ID and DEVICE_IFACE in the environment, and
# CONNECTION_EXTERNAL=1 for a device it did not make. It never sets
# CONNECTION_TYPE (measured in the guests of `make test-system`), so the
# type is asked of NetworkManager.
#
#   pre-up    the tunnel is configured, and NetworkManager reports it up
#             only once this returns: attach. If attach fails, lockdown
#             goes on and the connection is taken down, so that nothing
#             leaks and no one believes an unprotected VPN is up.
#   pre-down  the connection is being taken down on purpose (`nmcli
#             connection down`, the applet): detach, as wg-quick's PreDown
#             does. Not when NetworkManager goes to sleep or networking is
#             switched off ("asleep"): the tunnel comes back after, and
#             until then the policy blocks.
#   others    nothing. A device deleted under NetworkManager (`ip link
#             del`, a crash) brings only "down": the policy stays and
#             blocks (fail closed) until the connection is up again.
#
# Only NetworkManager's own system-wide connections (connection.permissions
# empty) are protected. Neither attached nor detached are:
#   - a connection owned by a user: otherwise a user could give their own
#     connection the interface name of the admin's tunnel and detach that
#     with `nmcli connection down`. Its traffic is blocked like any other.
#   - a device made by someone else (wg-quick, systemd-networkd), which
#     NetworkManager shows as an "external" connection: whoever made it
#     attaches it (PostUp, wgks-bpf@.service); and NetworkManager takes
#     such a connection down when another one claims the device.
WGKS_BPF=${WGKS_BPF:-@SBINDIR@/wgks-bpf}
NMCLI=${NMCLI:-nmcli}
iface=$1
action=$2

# The journal, where NetworkManager's own messages are; and stderr.
say() {
	logger -t wgks-bpf -- "NetworkManager $action $iface: $*" 2>/dev/null
	echo "50-wgks-bpf: $action $iface: $*" >&2
}

# A system-wide WireGuard connection? `nmcli -g` prints one value a line:
# the type, then the permissions (empty for system-wide ones).
system_wireguard() {
	[ -n "${CONNECTION_UUID:-}" ] && [ "${CONNECTION_EXTERNAL:-}" != 1 ] || return 1
	[ "$("$NMCLI" -g connection.type,connection.permissions connection show uuid "$CONNECTION_UUID" 2>/dev/null)" = wireguard ]
}

case "$action" in
pre-up)
	system_wireguard || exit 0
	"$WGKS_BPF" attach "$iface" && exit 0
	if "$WGKS_BPF" lockdown on; then
		say "attach failed: lockdown is on and the connection goes down; fix the cause, then bring it up again (and 'wgks-bpf lockdown off' if you want no lockdown)"
		# In the background: NetworkManager waits for this script before
		# it can act on the request.
		"$NMCLI" --wait 0 connection down uuid "$CONNECTION_UUID" >/dev/null 2>&1 &
	else
		say "attach failed, and lockdown too: the VPN stays up, NOT protected"
	fi
	exit 1
	;;
pre-down)
	system_wireguard || exit 0
	[ "$("$NMCLI" -g STATE general 2>/dev/null)" != asleep ] || exit 0
	exec "$WGKS_BPF" detach "$iface"
	;;
esac
exit 0
