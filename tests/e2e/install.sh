#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What `make install` lays out, and that each installed piece works as far
# as this machine lets it: the man page renders, the units pass
# systemd-analyze, the bash completion completes, and the NetworkManager
# dispatcher hook decides as it should, run by hand in a throwaway
# namespace with a stand-in for nmcli (no NetworkManager here; `make
# test-system` runs the hook under the real one, in a Debian guest).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$(dirname "$(readlink -f "$0")")/../lib/tap.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/sandbox.sh
. "$(dirname "$(readlink -f "$0")")/../lib/sandbox.sh"

BIN=${1:?usage: install.sh /path/to/wgks-bpf}
ROOT=$(cd "$(dirname "$BIN")" && pwd)
TAG=$$
NS=wgksi$TAG
WG=wgi$TAG
DEST=$(mktemp -d /tmp/wgks-install.XXXXXX)

cleanup() {
	set +e
	if ip netns list | grep -qw "$NS"; then
		ip netns exec "$NS" "$BIN" detach >/dev/null 2>&1
		for pid in $(ip netns pids "$NS"); do kill -9 "$pid"; done
		ip netns del "$NS"
	fi
	rm -f "/var/run/wireguard/$WG.sock"
	rm -rf "$DEST"
}
trap cleanup EXIT


make -s -C "$ROOT" install DESTDIR="$DEST" PREFIX=/usr >/dev/null
for f in usr/sbin/wgks-bpf usr/share/man/man8/wgks-bpf.8 \
	usr/lib/systemd/system/wgks-bpf-lockdown.service usr/lib/systemd/system/wgks-bpf@.service \
	usr/lib/systemd/system/wgks-bpf-sync@.service usr/lib/udev/rules.d/60-wgks-bpf.rules \
	usr/share/bash-completion/completions/wgks-bpf etc/NetworkManager/dispatcher.d/50-wgks-bpf \
	usr/lib/wgks-bpf/wg-quick-restart usr/lib/systemd/system/wg-quick@.service.d/wgks-bpf.conf \
	usr/lib/systemd/system/NetworkManager.service.d/wgks-bpf-lockdown.conf \
	usr/lib/systemd/system/systemd-networkd.service.d/wgks-bpf-lockdown.conf \
	usr/lib/systemd/system/networking.service.d/wgks-bpf-lockdown.conf; do
	check "installed $f" test -s "$DEST/$f"
done
# NetworkManager runs pre-up and pre-down scripts only from these.
for d in pre-up.d pre-down.d; do
	check "the hook is linked into $d" test "$(readlink "$DEST/etc/NetworkManager/dispatcher.d/$d/50-wgks-bpf")" = ../50-wgks-bpf
done
check_noted "binary is executable and runs" "$DEST/usr/sbin/wgks-bpf" --version
check "dispatcher hook is executable" test -x "$DEST/etc/NetworkManager/dispatcher.d/50-wgks-bpf"
for unit in wgks-bpf-lockdown.service wgks-bpf@.service wgks-bpf-sync@.service; do
	check "$unit names the installed binary" grep -q 'ExecStart=/usr/sbin/wgks-bpf ' \
		"$DEST/usr/lib/systemd/system/$unit"
done
check "the lockdown unit runs before the network is configured" sh -c "
	grep -qx 'Before=network-pre.target' '$DEST/usr/lib/systemd/system/wgks-bpf-lockdown.service' &&
	grep -qx 'Wants=network-pre.target' '$DEST/usr/lib/systemd/system/wgks-bpf-lockdown.service'"
check "the dispatcher hook runs the installed binary by default" \
	grep -q 'WGKS_BPF:-/usr/sbin/wgks-bpf}' "$DEST/etc/NetworkManager/dispatcher.d/50-wgks-bpf"
check "the wg-quick@ drop-in runs the installed helper" \
	grep -q '^ExecStop=/usr/lib/wgks-bpf/wg-quick-restart stop %n %i$' \
	"$DEST/usr/lib/systemd/system/wg-quick@.service.d/wgks-bpf.conf"
# The udev rule (its continuation lines joined, as udev reads them); the
# guests of `make test-system` see udev run it.
# shellcheck disable=SC2016 # $attr{ifindex} is udev's
udev_rule_wants_sync() {
	sed -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' "$DEST/usr/lib/udev/rules.d/60-wgks-bpf.rules" |
		grep -v '^#' | tr -s ' ' | grep -qxF 'ACTION=="add", SUBSYSTEM=="net", KERNEL!="lo", TAG+="systemd", ENV{SYSTEMD_WANTS}+="wgks-bpf-sync@$attr{ifindex}.service"'
}
check "the udev rule wants wgks-bpf-sync@IFINDEX.service for a new network device" udev_rule_wants_sync
check "PREFIX=/usr/local installs the udev rule where udev reads it (/etc)" sh -c \
	"make -s -C '$ROOT' install DESTDIR='$DEST/local' PREFIX=/usr/local >/dev/null &&
	test -s '$DEST/local/etc/udev/rules.d/60-wgks-bpf.rules'"
check "no @placeholder@ is left in what was installed" \
	sh -c "! grep -rl '@[A-Z]*@' '$DEST/usr/lib/systemd' '$DEST/usr/lib/wgks-bpf' '$DEST/etc'"
check "man -l renders the page" sh -c "man -l '$DEST/usr/share/man/man8/wgks-bpf.8' | grep -q lockdown"
check "the man page names the binary's version" sh -c \
	"grep -qF \"\\\"\$('$DEST/usr/sbin/wgks-bpf' --version)\\\"\" '$DEST/usr/share/man/man8/wgks-bpf.8'"
if command -v systemd-analyze >/dev/null; then
	for unit in wgks-bpf-lockdown.service wgks-bpf@.service wgks-bpf-sync@.service; do
		# Only the binary's absence under DESTDIR may be reported.
		out=$(systemd-analyze verify "$DEST/usr/lib/systemd/system/$unit" 2>&1 |
			grep -v 'is not executable\|man wgks-bpf\|Failed to prepare\|instance name' || true)
		if [ -z "$out" ]; then ok "systemd-analyze verify $unit"; else not_ok "$unit: $out"; fi
	done
else
	echo "SKIP: systemd-analyze not installed"
fi

# Completion: source it and complete `wgks-bpf att` and `wgks-bpf attach --al`.
complete_words() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _wgks_bpf;
		echo "${COMPREPLY[*]}"' _ "$DEST/usr/share/bash-completion/completions/wgks-bpf" "$@"
}
check "completes a command" test "$(complete_words wgks-bpf att)" = attach
check "completes an option" test "$(complete_words wgks-bpf attach --al)" = "--allow-lan --allow"
check "completes lockdown's argument" test "$(complete_words wgks-bpf lockdown o)" = "on off"
# Every command --help lists, and no other.
commands_in_help() {
	"$BIN" --help 2>&1 | sed -n '/^Available subcommands:/,$ s/^  \([a-z][a-z]*\).*/\1/p' | sort | tr '\n' ' '
}
commands_completed() {
	complete_words wgks-bpf "" | tr ' ' '\n' | grep -v '^-' | sort | tr '\n' ' '
}
check "completes every command of --help ($(commands_in_help))" \
	test "$(commands_completed)" = "$(commands_in_help)"

# The dispatcher hook, as NetworkManager runs it (what it passes was read in
# the guests of `make test-system`: no CONNECTION_TYPE, CONNECTION_EXTERNAL
# for devices it did not make), in a throwaway namespace. A stand-in for
# nmcli answers from FAKE_* and notes what it was asked to do.
if [ "$(id -u)" != 0 ] || ! command -v wireguard-go >/dev/null; then
	echo "SKIP: dispatcher check needs root and wireguard-go"
else
	e2e_lock
	hook=$DEST/etc/NetworkManager/dispatcher.d/50-wgks-bpf
	cat >"$DEST/nmcli" <<-'EOF'
		#!/bin/sh
		case "$*" in
		"-g connection.type,connection.permissions connection show uuid $CONNECTION_UUID")
			printf '%s\n%s\n' "$FAKE_TYPE" "$FAKE_PERMISSIONS" ;;
		"-g STATE general") echo "$FAKE_STATE" ;;
		"--wait 0 connection down uuid $CONNECTION_UUID") echo "down $CONNECTION_UUID" >>"$FAKE_LOG" ;;
		*) echo "nmcli: unexpected: $*" >&2; exit 1 ;;
		esac
	EOF
	chmod +x "$DEST/nmcli"
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" link add eth0 type veth peer name eth0p
	env -u WG_PROCESS_FOREGROUND ip netns exec "$NS" wireguard-go "$WG" >/dev/null 2>&1 9>&-
	ip netns exec "$NS" wg set "$WG" fwmark 51820 private-key <(wg genkey)
	ip -n "$NS" link set "$WG" up
	# hook IFACE ACTION [VAR=VALUE...]: a system-wide WireGuard connection,
	# NetworkManager awake, unless the VARs say otherwise.
	hook() {
		local iface=$1 action=$2
		shift 2
		ip netns exec "$NS" env WGKS_BPF="$BIN" NMCLI="$DEST/nmcli" FAKE_LOG="$DEST/nmcli.log" \
			CONNECTION_UUID=0f0f0f0f-1111-2222-3333-444444444444 CONNECTION_ID=vpn DEVICE_IFACE="$iface" \
			FAKE_TYPE=wireguard FAKE_PERMISSIONS= FAKE_STATE=connected "$@" "$hook" "$iface" "$action" 9>&-
	}
	# Exit 3 is "not protected"; 1 would be an error.
	not_protected() { ip netns exec "$NS" "$BIN" status >/dev/null; [ $? = 3 ]; }
	protected() { ip netns exec "$NS" "$BIN" status >/dev/null; }
	check "pre-up of an ethernet connection: nothing" hook eth0 pre-up FAKE_TYPE=802-3-ethernet
	check "... so nothing is protected" not_protected
	check "up: nothing (pre-up attaches)" hook "$WG" up
	check "... so nothing is protected" not_protected
	check "pre-up of a connection owned by a user: not attached" hook "$WG" pre-up FAKE_PERMISSIONS='user\:alice'
	check "... so nothing is protected" not_protected
	check "pre-up of a device NetworkManager did not make: not attached" hook "$WG" pre-up CONNECTION_EXTERNAL=1
	check "... so nothing is protected" not_protected
	check "pre-up of a system-wide WireGuard connection: attached" hook "$WG" pre-up
	check "... and the tunnel is protected" protected
	check "down (the device deleted under NetworkManager): nothing" hook "$WG" down
	check "pre-down of a user's connection: not detached" hook "$WG" pre-down FAKE_PERMISSIONS='user\:alice'
	check "pre-down of an external connection: not detached" hook "$WG" pre-down CONNECTION_EXTERNAL=1
	check "pre-down while NetworkManager is asleep: not detached" hook "$WG" pre-down FAKE_STATE=asleep
	check "... so the tunnel is still protected" protected
	check "pre-down: detached" hook "$WG" pre-down
	check "... and nothing is protected" not_protected
	# A failing attach: wg cannot run. Exit 1, lockdown on, the connection
	# taken down (in the background: wait for the stand-in's note).
	rc=0
	hook "$WG" pre-up WGKS_WG=/nonexistent/wg >/dev/null 2>&1 || rc=$?
	check "pre-up whose attach fails: exit 1" test "$rc" = 1
	check "... lockdown is on" sh -c "ip netns exec $NS $BIN status --json | grep -q '\"current\":true,\"lockdown\":true'"
	check "... and the connection is taken down" sh -c \
		"for i in 1 2 3 4 5 6 7 8 9 10; do grep -qx 'down 0f0f0f0f-1111-2222-3333-444444444444' '$DEST/nmcli.log' && exit 0; sleep 0.2; done; exit 1"
	ip netns exec "$NS" "$BIN" lockdown off >/dev/null 2>&1
fi

summary
