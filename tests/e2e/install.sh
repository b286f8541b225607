#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What `make install` lays out, and that each installed piece works as far
# as this machine lets it: the man page renders, the units pass
# systemd-analyze, the bash completion completes, the NetworkManager
# dispatcher hook attaches on `up` and detaches on `down` (run by hand in a
# throwaway namespace: no NetworkManager here).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/tap.sh
. "$(dirname "$(readlink -f "$0")")/lib/tap.sh"

BIN=${1:?usage: install.sh /path/to/wgks-bpf}
ROOT=$(cd "$(dirname "$BIN")" && pwd)
TAG=$$
NS=wgksi$TAG
WG=wgi$TAG
DEST=$(mktemp -d /tmp/wgks-install.XXXXXX)
WGGO_PID=

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
	usr/share/bash-completion/completions/wgks-bpf etc/NetworkManager/dispatcher.d/50-wgks-bpf; do
	check "installed $f" test -s "$DEST/$f"
done
check "binary is executable and runs" "$DEST/usr/sbin/wgks-bpf" --version
check "dispatcher hook is executable" test -x "$DEST/etc/NetworkManager/dispatcher.d/50-wgks-bpf"
for unit in wgks-bpf-lockdown.service wgks-bpf@.service; do
	check "$unit names the installed binary" grep -q 'ExecStart=/usr/sbin/wgks-bpf ' \
		"$DEST/usr/lib/systemd/system/$unit"
done
check "the lockdown unit runs before the network is configured" sh -c "
	grep -qx 'Before=network-pre.target' '$DEST/usr/lib/systemd/system/wgks-bpf-lockdown.service' &&
	grep -qx 'Wants=network-pre.target' '$DEST/usr/lib/systemd/system/wgks-bpf-lockdown.service'"
check "the dispatcher hook runs the installed binary by default" \
	grep -q 'WGKS_BPF:-/usr/sbin/wgks-bpf}' "$DEST/etc/NetworkManager/dispatcher.d/50-wgks-bpf"
check "no @placeholder@ is left in what was installed" sh -c "! grep -rl '@[A-Z]*@' '$DEST/usr/lib/systemd' '$DEST/etc'"
check "man -l renders the page" sh -c "man -l '$DEST/usr/share/man/man8/wgks-bpf.8' | grep -q lockdown"
check "the man page names the binary's version" sh -c \
	"grep -qF \"\\\"\$('$DEST/usr/sbin/wgks-bpf' --version)\\\"\" '$DEST/usr/share/man/man8/wgks-bpf.8'"
if command -v systemd-analyze >/dev/null; then
	for unit in wgks-bpf-lockdown.service wgks-bpf@.service; do
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

# The dispatcher hook, as NetworkManager would run it, in a throwaway namespace.
if [ "$(id -u)" != 0 ] || ! command -v wireguard-go >/dev/null; then
	echo "SKIP: dispatcher check needs root and wireguard-go"
else
	e2e_lock
	hook=$DEST/etc/NetworkManager/dispatcher.d/50-wgks-bpf
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" link add eth0 type veth peer name eth0p
	env -u WG_PROCESS_FOREGROUND ip netns exec "$NS" wireguard-go "$WG" >/dev/null 2>&1 9>&-
	ip netns exec "$NS" wg set "$WG" fwmark 51820 private-key <(wg genkey)
	ip -n "$NS" link set "$WG" up
	run_hook() { ip netns exec "$NS" env WGKS_BPF="$BIN" "$@" "$hook" 9>&-; }
	check "hook ignores a device that is not WireGuard" run_hook CONNECTION_TYPE=ethernet \
		sh -c 'exec "$0" eth0 up'
	# Exit 3 is "not protected"; 1 would be an error.
	not_protected() { ip netns exec "$NS" "$BIN" status >/dev/null; [ $? = 3 ]; }
	check "... so nothing is protected" not_protected
	check "hook: up attaches" run_hook CONNECTION_TYPE=wireguard sh -c "exec \"\$0\" $WG up"
	check "... and the tunnel is protected" ip netns exec "$NS" "$BIN" status
	check "hook: down detaches" run_hook CONNECTION_TYPE=wireguard sh -c "exec \"\$0\" $WG down"
	check "... and nothing is protected" not_protected
fi

summary
