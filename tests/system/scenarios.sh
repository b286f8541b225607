# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The scenarios of `make test-system`, sourced by run.sh: five boots, one
# guest at a time, and one table. Each scenario is a row: its steps run in
# the guest (g), and its leak count is what the guest's NIC sent in
# plaintext in the scenario's window (pcap.py), where a row marked "zero"
# must count none. The windows of boot rows start at power-on.
#
# shellcheck disable=SC2016 # the steps' scripts expand in the guest

declare -A TITLE STATUS LEAKED ALLOWED NOTE SECS
ROWS=()

# row ID TITLE: a row of the table, in the order of the table.
row() { ROWS+=("$1"); TITLE[$1]=$2; }

SC="" SC_T0=0 SC_MARK=0
SC_FAILS=()

# begin ID: the scenario starts; SC_MARK is where its window starts.
begin() {
	SC=$1 SC_T0=$SECONDS SC_FAILS=()
	log "== $SC: ${TITLE[$SC]}"
	SC_MARK=$(mark)
}

# step DESC SCRIPT: one step, run in the guest. Its output goes to the log;
# the first line of it to the progress line. A failed step fails the
# scenario, and the next steps still run (they say what else is wrong).
step() {
	local desc=$1 out rc=0
	out=$(g "$2" 2>&1) || rc=$?
	{ echo "-- $SC: $desc (exit $rc)"; printf '%s\n' "$out"; } >>"$GUEST_DIR/steps.log"
	if ((rc == 0)); then
		log "   ok: $desc${out:+: ${out%%$'\n'*}}"
	else
		log "   FAILED: $desc"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/        /' >&2
		SC_FAILS+=("$desc")
	fi
}

# finish zero|counted FROM [TO] [NOTE]: the scenario's result. Its leak
# count is what the guest sent between the marks FROM and TO (default:
# now, a second after its last step, for what was still queued); `zero`
# fails the scenario if there is any.
finish() {
	local want=$1 from=$2 to=${3:-} note=${4:-} k allowed=""
	if [[ -z "$to" ]]; then
		sleep 1
		to=$(mark)
	fi
	count "$from" "$to"
	# shellcheck disable=SC2154 # count sets C_<class>
	for k in dhcpv4 ndp mld arp igmp; do
		local v="C_$k"
		((${!v} == 0)) || allowed+="${allowed:+, }$k ${!v}"
	done
	ALLOWED[$SC]=${allowed:-none}
	# shellcheck disable=SC2154
	LEAKED[$SC]=$C_leak
	[[ -z "$LEAK_KINDS" ]] || LEAKED[$SC]+=" (${LEAK_KINDS//leak_/})"
	[[ $want == zero ]] || LEAKED[$SC]+=", no protection by design"
	if [[ -n "$LEAK_LINES" ]]; then
		{ echo "-- $SC: leaked packets (frames $from..$to)"; echo "$LEAK_LINES"; } >>"$GUEST_DIR/steps.log"
	fi
	if [[ $want == zero ]] && ((C_leak > 0)); then
		SC_FAILS+=("$C_leak packets leaked")
		printf '%s\n' "$LEAK_LINES" | head -n 10 | sed 's/^/        /' >&2
	fi
	NOTE[$SC]=$note
	SECS[$SC]=$((SECONDS - SC_T0))
	if ((${#SC_FAILS[@]} == 0)); then
		STATUS[$SC]=pass
	else
		STATUS[$SC]="FAIL: $(IFS=';'; echo "${SC_FAILS[*]}")"
	fi
	log "   $SC: ${STATUS[$SC]}; leaked ${LEAKED[$SC]}; allowed by design: ${ALLOWED[$SC]}"
}

# no_boot ID...: the guest did not boot: these rows fail, and its console
# log is printed.
no_boot() {
	local id
	for id in "$@"; do STATUS[$id]="FAIL: the guest did not boot (console above)"; done
	shutdown_guest now
	guest_console "$(basename "$GUEST_DIR")" "$GUEST_DIR" "no agent after $BOOT_TIMEOUT s"
}

# only ID: run this boot's scenarios? (WGKS_SYSTEM_ONLY)
only() {
	local w
	[[ -n "${WGKS_SYSTEM_ONLY:-}" ]] || return 0
	for w in $WGKS_SYSTEM_ONLY; do [[ $1 == "$w"* ]] && return 0; done
	return 1
}

# ---------------------------------------------------------------- variants

# Each changes the root file system given to it, as an admin would.
v_wgquick() { systemctl --root="$1" enable wg-quick@wg0.service >/dev/null 2>&1; }
v_lockdown() { systemctl --root="$1" enable wgks-bpf-lockdown.service >/dev/null 2>&1; }
# A real failure of the real binary: the cookie variant needs Linux 6.15,
# the guest runs 6.1, so the kernel refuses to load it (as a kernel
# without BPF support would refuse any).
v_lockdown_fails() {
	mkdir -p "$1/etc/systemd/system/wgks-bpf-lockdown.service.d"
	printf '[Service]\nEnvironment=WGKS_VARIANT=cookie\n' \
		>"$1/etc/systemd/system/wgks-bpf-lockdown.service.d/test-fail.conf"
}
# systemd-networkd on the NIC: DHCP and SLAAC.
v_networkd_lan() {
	systemctl --root="$1" enable systemd-networkd.service >/dev/null 2>&1
	mkdir -p "$1/etc/systemd/network"
	printf '[Match]\nType=ether\n\n[Network]\nDHCP=yes\n' >"$1/etc/systemd/network/20-lan.network"
}
# systemd-networkd instead of NetworkManager, and wg0 made by networkd as
# wg-quick would make it (fwmark, its own table, the same two rules),
# protected by wgks-bpf@wg0.service.
v_networkd() {
	local root=$1 net=$1/etc/systemd/network
	v_networkd_lan "$root"
	systemctl --root="$root" disable NetworkManager.service >/dev/null 2>&1
	systemctl --root="$root" enable wgks-bpf@wg0.service >/dev/null 2>&1
	cat >"$net/30-wg0.netdev" <<-EOF
		[NetDev]
		Name=wg0
		Kind=wireguard

		[WireGuard]
		PrivateKey=$(cat "$KEYS/guest.key")
		FirewallMark=51820
		RouteTable=51820

		[WireGuardPeer]
		PublicKey=$(cat "$KEYS/server.pub")
		Endpoint=$ENDPOINT
		AllowedIPs=0.0.0.0/0,::/0
	EOF
	chmod 640 "$net/30-wg0.netdev"
	chroot "$root" chgrp systemd-network /etc/systemd/network/30-wg0.netdev
	cat >"$net/30-wg0.network" <<-EOF
		[Match]
		Name=wg0

		[Network]
		Address=10.100.0.2/24
		Address=fd64::2/64

		[RoutingPolicyRule]
		FirewallMark=51820
		InvertRule=yes
		Table=51820
		Family=both
		Priority=32000

		[RoutingPolicyRule]
		Table=main
		SuppressPrefixLength=0
		Family=both
		Priority=31999
	EOF
}

# ---------------------------------------------------------------- boots

# Until the boot's tunnel is protected: wg-quick@wg0's PostUp (or
# wgks-bpf@wg0) has attached it. Prints the seconds since the kernel
# started, by systemd's clock.
WAIT_ATTACHED='wait_for 240 tunnel_attached wg0 && awk "{ print \$1 \" s after power-on\" }" /proc/uptime'

boot_nm() {
	only nm || return 0
	boot nm "" v_wgquick || { no_boot boot-unprotected wgquick-restart wgquick-stop nm-up nm-down \
		nm-deleted nm-reactivate nm-sleep nm-networking nm-attach-fails nm-user-owned; return; }
	local m

	begin boot-unprotected
	step "wg-quick@wg0 attached wg0 at boot" "$WAIT_ATTACHED"
	m=$(mark)
	step "the tunnel works" tunnel_works
	finish counted 0 "$m"

	begin wgquick-restart
	m=$SC_MARK
	step "systemctl restart wg-quick@wg0 while sending" \
		'traffic_start; systemctl restart wg-quick@wg0; rc=$?; sleep 1; traffic_stop; exit $rc'
	step "wg0 protected again, the tunnel works" 'tunnel_attached wg0 && tunnel_works'
	step "no lockdown left behind" '! lockdown_on'
	finish zero "$m"

	begin wgquick-stop
	m=$SC_MARK
	step "systemctl stop wg-quick@wg0 (PreDown): not protected" 'systemctl stop wg-quick@wg0 && not_protected'
	step "the LAN is reached again" probes
	finish counted "$m"

	# The windows of "zero" rows open once the tunnel is protected (before
	# that, as after wgquick-stop, nothing is, by design).
	begin nm-up
	step "nmcli connection import type wireguard (it comes up: autoconnect)" \
		'nmcli connection import type wireguard file /root/nm/wg0.conf && wait_for 60 tunnel_attached wg0'
	m=$(mark)
	step "protected, the tunnel works" 'protected && tunnel_works'
	step "off the tunnel: blocked" probes
	finish zero "$m"

	begin nm-down
	m=$SC_MARK
	step "nmcli connection down wg0: detached" 'nmcli connection down wg0 && not_protected'
	step "the LAN is reached again" probes
	finish counted "$m"

	begin nm-deleted
	step "nmcli connection up wg0" 'nmcli connection up wg0 && tunnel_attached wg0'
	m=$(mark)
	step "ip link del wg0 while sending: still protected" \
		'traffic_start; ip link del wg0; sleep 3; traffic_stop; protected && tunnel_attached wg0'
	step "off the tunnel: blocked" probes
	finish zero "$m"

	begin nm-reactivate
	m=$SC_MARK
	step "nmcli connection up wg0: attached, the new device" \
		'nmcli connection up wg0 && attached_now wg0'
	step "the tunnel works" tunnel_works
	step "off the tunnel: blocked" probes
	finish zero "$m"

	begin nm-sleep
	m=$SC_MARK
	step "asleep and awake (NetworkManager's Sleep(), as on suspend), while sending" \
		'traffic_start
		nm_sleep() { busctl call org.freedesktop.NetworkManager /org/freedesktop/NetworkManager org.freedesktop.NetworkManager Sleep b "$1"; }
		nm_sleep true && sleep 3 && nm_sleep false && wait_for 90 eval "nmcli -g STATE general | grep -qx connected"
		rc=$?; sleep 3; traffic_stop; exit $rc'
	step "wg0 protected, the tunnel works" 'tunnel_attached wg0 && tunnel_works'
	step "off the tunnel: blocked" probes
	finish zero "$m"

	begin nm-networking
	m=$SC_MARK
	step "nmcli networking off, then on, while sending" \
		'traffic_start; nmcli networking off && sleep 3 && nmcli networking on &&
		wait_for 90 eval "nmcli -g GENERAL.STATE device show wg0 | grep -q \"^100\""
		rc=$?; sleep 3; traffic_stop; exit $rc'
	step "attached to the new wg0, the tunnel works" \
		'attached_now wg0 && tunnel_works'
	step "off the tunnel: blocked" probes
	finish zero "$m"

	# A failing attach, from an unprotected start (no lockdown, no tunnel):
	# wg is missing (NetworkManager does not need wireguard-tools, wgks-bpf
	# does). The window opens when `nmcli connection up` has returned: from
	# then on, the user believes the VPN is up.
	g 'nmcli connection down wg0; wgks-bpf detach --all; mv /usr/bin/wg /usr/bin/wg.away' >/dev/null || true
	begin nm-attach-fails
	step "nmcli connection up wg0 (it succeeds: NetworkManager needs no wg)" 'nmcli connection up wg0'
	m=$(mark)
	step "sending for 5 s" 'traffic_start; sleep 5; traffic_stop'
	step "what the user sees: the connection went down, lockdown is on, the journal says why" \
		'wait_for 30 eval "! nmcli -g NAME connection show --active | grep -qx wg0" &&
		lockdown_on && journalctl -b -o cat -t wgks-bpf | grep "attach failed"'
	step "off the tunnel: blocked" probes
	step "wg back, up again, lockdown off: protected" \
		'mv /usr/bin/wg.away /usr/bin/wg && nmcli connection up wg0 && wgks-bpf lockdown off && tunnel_attached wg0 && tunnel_works'
	finish zero "$m"

	# A connection owned by a user (connection.permissions), with the name
	# of the admin's tunnel, wg0, which wg-quick@wg0 makes and protects.
	# It takes the device over, then goes down: the admin's policy must
	# stay, and the hook must never attach for it.
	begin nm-user-owned
	step "alice's own connection: interface wg0, connection.permissions user:alice" \
		'nmcli connection down wg0 && nmcli connection clone wg0 alice-vpn >/dev/null &&
		nmcli connection modify alice-vpn connection.permissions user:alice connection.autoconnect no &&
		wait_for 20 eval "! ip link show dev wg0"'
	step "the admin's tunnel: wg-quick@wg0" 'systemctl start wg-quick@wg0 && tunnel_attached wg0'
	m=$(mark)
	step "alice's connection up (it takes the device over), and down: the hook attached nothing" \
		'c=$(journalctl -n0 --show-cursor | sed -n "s/^-- cursor: //p") &&
		nmcli connection up alice-vpn && nmcli connection down alice-vpn && sleep 1 &&
		! journalctl -o cat -u NetworkManager-dispatcher --after-cursor "$c" | grep "wg0 protected"'
	step "the admin's policy stayed: wg0 protected" 'protected && tunnel_attached wg0'
	step "off the tunnel: blocked" probes
	finish zero "$m"

	shutdown_guest
}

boot_lockdown() {
	only lockdown || return 0
	boot lockdown "" v_wgquick v_lockdown || { no_boot boot-lockdown wgquick-restart-lockdown; return; }
	local m
	begin boot-lockdown
	step "wg-quick@wg0 attached wg0 at boot" "$WAIT_ATTACHED"
	m=$(mark)
	step "lockdown in force before network-pre.target, and NetworkManager after it" \
		'l=$(mono wgks-bpf-lockdown.service ActiveEnterTimestampMonotonic)
		p=$(mono network-pre.target ActiveEnterTimestampMonotonic)
		n=$(mono NetworkManager.service ExecMainStartTimestampMonotonic)
		echo "lockdown at $((l / 1000)) ms, network-pre.target at $((p / 1000)) ms, NetworkManager at $((n / 1000)) ms"
		((l > 0 && l <= p && p <= n))'
	step "lockdown still on, the tunnel works" 'lockdown_on && tunnel_works'
	step "off the tunnel: blocked" probes
	# What lockdown stopped: the kill switch's own count, at the end.
	local blocked
	blocked=$(g 'wgks-bpf status --json | grep -o "\"blocked\":{\"packets\":[0-9]*" | grep -o "[0-9]*$"') || true
	finish zero 0 "$m" "the kill switch blocked ${blocked:-?} packets by the end (probes included)"

	# The drop-in must leave a lockdown it did not turn on as it was.
	begin wgquick-restart-lockdown
	m=$SC_MARK
	step "systemctl restart wg-quick@wg0 while sending" \
		'traffic_start; systemctl restart wg-quick@wg0; rc=$?; sleep 1; traffic_stop; exit $rc'
	step "wg0 protected again, lockdown still on" 'tunnel_attached wg0 && lockdown_on && tunnel_works'
	finish zero "$m"
	shutdown_guest
}

# Both managers enabled (they never run here): the drop-in must hold each.
boot_lockdown_fails() {
	only lockdown-fails || return 0
	boot lockdown-fails "" v_wgquick v_lockdown v_lockdown_fails v_networkd_lan ||
		{ no_boot boot-lockdown-fails; return; }
	begin boot-lockdown-fails
	step "wgks-bpf-lockdown.service failed" 'wait_for 120 systemctl is-failed wgks-bpf-lockdown.service'
	step "NetworkManager and systemd-networkd were not started (their ExecCondition)" \
		'wait_for 90 eval "systemctl show -P Result NetworkManager.service systemd-networkd.service | grep -c exec-condition | grep -qx 2" &&
		sleep 5 && ! systemctl -q is-active NetworkManager.service systemd-networkd.service'
	step "the NIC has no address" '! ip addr show dev "$(nic)" | grep -q "inet .*global\|inet6 .*global"'
	step "what the user sees: systemctl --failed, and why NetworkManager did not start" \
		'systemctl --failed --no-legend --plain | cut -c1-60; journalctl -b -o cat -u NetworkManager | grep -m1 wgks-bpf-lockdown'
	finish zero 0
	shutdown_guest
}

boot_lockdown_masked() {
	only lockdown-masked || return 0
	boot lockdown-masked systemd.mask=wgks-bpf-lockdown.service v_wgquick v_lockdown v_lockdown_fails ||
		{ no_boot boot-lockdown-masked; return; }
	local m
	begin boot-lockdown-masked
	step "the lockdown unit is masked" 'systemctl show -P LoadState wgks-bpf-lockdown.service | grep -x masked'
	step "NetworkManager up, wg-quick@wg0 attached wg0" "$WAIT_ATTACHED"
	m=$(mark)
	step "no lockdown, the tunnel works" '! lockdown_on && tunnel_works'
	finish counted 0 "$m"
	shutdown_guest
}

boot_networkd() {
	only networkd || return 0
	boot networkd "" v_networkd || { no_boot networkd-boot networkd-reload networkd-recreate networkd-restart new-device; return; }
	local m
	begin networkd-boot
	step "wgks-bpf@wg0 attached wg0, which systemd-networkd made at boot" "$WAIT_ATTACHED"
	m=$(mark)
	step "the tunnel works" tunnel_works
	count 0 "$m"
	local boot_leaks="before the attach (no lockdown): $C_leak leaked${LEAK_KINDS:+ (${LEAK_KINDS//leak_/})}"
	step "off the tunnel: blocked" probes
	finish zero "$m" "" "$boot_leaks"

	begin networkd-reload
	m=$SC_MARK
	step "networkctl reload while sending" 'traffic_start; networkctl reload; rc=$?; sleep 5; traffic_stop; exit $rc'
	step "wg0 protected, the tunnel works" 'tunnel_attached wg0 && tunnel_works'
	finish zero "$m"

	begin networkd-recreate
	m=$SC_MARK
	step "ip link del wg0, networkctl reload (networkd makes it again), while sending" \
		'traffic_start; ip link del wg0 && sleep 2 && networkctl reload &&
		wait_for 60 attached_now wg0
		rc=$?; sleep 2; traffic_stop; exit $rc'
	step "the tunnel works" tunnel_works
	finish zero "$m"

	begin networkd-restart
	m=$SC_MARK
	step "systemctl restart systemd-networkd while sending" \
		'traffic_start; systemctl restart systemd-networkd && wait_for 60 eval "networkctl status wg0 | grep -q \"State: routable\""
		rc=$?; sleep 3; traffic_stop; exit $rc'
	step "wg0 protected, the tunnel works" 'tunnel_attached wg0 && tunnel_works'
	finish zero "$m"

	# udev sees the device, systemd runs wgks-bpf-sync@IFINDEX.service.
	begin new-device
	m=$SC_MARK
	local took
	took=$(g 't0=$(date +%s%N); ip link add wgksnew0 type dummy || exit 1
		for i in $(seq 500); do
			tc filter show dev wgksnew0 egress 2>/dev/null | grep -q " wgks_bs_" && break
			sleep 0.01
		done
		t1=$(date +%s%N); tc filter show dev wgksnew0 egress | grep " wgks_bs_" >/dev/null || exit 1
		echo $(((t1 - t0) / 1000000))') || took=""
	step "a device added after attach (ip link add wgksnew0) has the backstop within 1 s${took:+: $took ms}" \
		"[ -n '$took' ] && [ '${took:-9999}' -lt 1000 ] || { journalctl -b -o cat -u 'wgks-bpf-sync@*' | tail -n 5; exit 1; }"
	step "wgks-bpf-sync@ ran for it, and status lists it" \
		'journalctl -b -o cat -u "wgks-bpf-sync@$(cat /sys/class/net/wgksnew0/ifindex).service" | grep -m1 backstop &&
		wgks-bpf status --json | grep -q "\"backstop\":\[[^]]*\"wgksnew0\"" && ip link del wgksnew0'
	finish zero "$m" "" "${took:+backstop ${took} ms after ip link add}"
	shutdown_guest
}

# ---------------------------------------------------------------- table

row boot-unprotected "Boot without lockdown: power-on until wg-quick@wg0's PostUp attached (NetworkManager)"
row boot-lockdown "Boot with wgks-bpf-lockdown.service: power-on until wg-quick@wg0's PostUp attached; lockdown before network-pre.target"
row boot-lockdown-fails "Boot, lockdown fails (forced): NetworkManager and systemd-networkd (both enabled) do not start"
row boot-lockdown-masked "The same failure (NetworkManager only), booted with systemd.mask=wgks-bpf-lockdown.service: the network comes up"
row nm-up "NetworkManager: nmcli connection import type wireguard, up: protected"
row nm-down "nmcli connection down: detached (as designed)"
row nm-deleted "ip link del wg0 under NetworkManager, while sending: stays blocked"
row nm-reactivate "nmcli connection up again: the new device is protected when it returns"
row nm-sleep "NetworkManager asleep and awake (as on suspend), while sending"
row nm-networking "nmcli networking off and on, while sending"
row nm-attach-fails "attach fails (no wg): lockdown on, connection taken down; 5 s of sending"
row nm-user-owned "a connection owned by a user, named like the admin's wg0: never attached, never detaches"
row networkd-boot "systemd-networkd makes wg0 at boot, wgks-bpf@wg0.service attaches: off the tunnel blocked"
row networkd-reload "networkctl reload, while sending"
row networkd-recreate "wg0 deleted and made again by networkd, while sending: attached again"
row networkd-restart "systemctl restart systemd-networkd, while sending"
row new-device "a device added after attach: udev has wgks-bpf sync put the backstop on it"
row wgquick-restart "wg-quick@wg0 (PostUp/PreDown): systemctl restart, while sending"
row wgquick-stop "wg-quick@wg0: systemctl stop: detached (as designed)"
row wgquick-restart-lockdown "wg-quick@wg0: systemctl restart under the boot's lockdown, while sending: lockdown stays on"

run_scenarios() {
	boot_lockdown
	boot_lockdown_fails
	boot_lockdown_masked
	boot_nm
	boot_networkd
	report
}

report() {
	local id n=0 failed=0 ran=0
	echo
	echo "| # | scenario | result | leaked | allowed by design | s |"
	echo "|---|---|---|---|---|---:|"
	for id in "${ROWS[@]}"; do
		n=$((n + 1))
		[[ -n "${STATUS[$id]:-}" ]] || continue
		ran=$((ran + 1))
		[[ ${STATUS[$id]} == pass ]] || failed=$((failed + 1))
		printf '| %d | %s | %s | %s | %s | %s |\n' "$n" "${TITLE[$id]}${NOTE[$id]:+; ${NOTE[$id]}}" \
			"${STATUS[$id]/#FAIL/**FAIL**}" "${LEAKED[$id]:-}" "${ALLOWED[$id]:-}" "${SECS[$id]:-}"
	done
	echo
	log "total $((SECONDS - START)) s; logs in $OUT/*/{console,steps}.log, packets in $OUT/*/net.pcap"
	echo "test-system: $((ran - failed)) passed, $failed failed"
	((failed == 0 && ran > 0))
}
