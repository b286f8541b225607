#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Upgrades, and programs that lost their partner (issue 15). Real WireGuard
# (wg-quick + wireguard-go) in the network of lib/net.sh.
#
#   - An older wgks-bpf attaches; the binary is replaced by this one, as a
#     package upgrade does; the next command takes over, in place, while a
#     flood runs: UDP through the tunnels must keep flowing, UDP off them
#     must be refused, every send (EPERM), and nothing may reach the far
#     side. Two older builds: the previous release (commit d9b4260, built
#     from this clone's history; SKIP if it has none) and this source with
#     two fields of the policy swapped (`make TEST_LAYOUT=swapped`: every
#     size the same, only the maps' BTF tells). Then wg-quick down and up
#     with the new binary, and detach --all leaves nothing.
#   - The build before tcx (commit cf1a6c8: the same maps, its backstop a
#     clsact filter that ends the chain): this one moves the backstop to
#     tcx (Linux 6.6+) under the flood, through the handover program, and
#     the other's wgks_tc_* program is not reused.
#   - An older build whose layout cannot be carried (TEST_LAYOUT=renamed:
#     the field fwmark is called mark): the takeover is refused, the old
#     programs stay and keep blocking, status still shows them, and
#     detach --all and lockdown off still work.
#   - lockdown on by each older build, lockdown off by this one.
#   - A sock_ops program without its egress partner, and an egress program
#     without its sock_ops partner: the next command cleans up.
#   - make uninstall detaches first.
#
# Usage: tests/e2e/upgrade.sh /path/to/wgks-bpf
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$HERE/../lib/tap.sh"
# shellcheck source-path=SCRIPTDIR source=lib/net.sh
. "$HERE/lib/net.sh"

NEW=${1:?usage: upgrade.sh /path/to/wgks-bpf}
[[ "$NEW" == /* ]] || NEW=$PWD/$NEW
# The older builds are made from this tree; the binary's own tree installs it.
SRC=$(cd "$HERE/../.." && pwd)
ROOT=$(cd "$(dirname "$NEW")" && pwd)
RELEASE=d9b4260
PRE_TCX=cf1a6c8  # the last build with the backstop on clsact on every kernel

FLOOD="$HERE/lib/flood.py"
FLOOD_PORT=7100
FLOOD_RATE=500  # datagrams a second, per flow
FLOOD_S=6       # of which the takeover comes after 2
WGKS=""         # "the installed binary", what wg-quick's hooks run (net.sh)

# ---------------------------------------------------------------- helpers


# install_as BIN: what the hooks' path runs from now on, replaced at once
# (a package upgrade renames the new file into place).
install_as() {
	install -m 0755 "$1" "$WGKS.new"
	mv -f "$WGKS.new" "$WGKS"
}

prog_id() { wgks_attached_progs | awk -v h="$1" '$1 == h { print $2 }'; }
map_ids() { bpftool prog show id "$1" | grep -o 'map_ids [0-9,]*' | cut -d' ' -f2 | tr ',' '\n' | sort; }

# Exactly one egress and one sock_ops program of ours, sharing their maps.
one_pair() {
	local eg so
	eg=$(prog_id egress)
	so=$(prog_id sock_ops)
	echo "programs: $(wgks_programs)"
	[[ -n "$eg" && -n "$so" && "$eg" != *[!0-9]* && "$so" != *[!0-9]* ]] || return 1
	[[ -n "$(comm -12 <(map_ids "$eg") <(map_ids "$so"))" ]]
}

# The errno of a UDP send from client ID to HOST, bound to its underlay ("ok" if sent).
send_errno() {
	ip netns exec "${CL_NS[$1]}" python3 -c 'import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 25, sys.argv[2].encode())
try:
    s.sendto(b"wgks", (sys.argv[1], 9)); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$2" "${CL_VETH[$1]}"
}
refused() { [[ "$(send_errno "$1" "$2")" == EPERM ]]; }
sends() { [[ "$(send_errno "$1" "$2")" == ok ]]; }

# A DNS query from namespace NS to HOST fails because the kernel refused it.
dns_refused() {
	local out
	out=$(dns_query "$@" 2>&1) && return 1
	grep -q 'Operation not permitted' <<<"$out"
}

no_leaks() {
	local n id detail=""
	n=$(leaks "$@")
	for id in "$@"; do
		detail+=" $id: IPv4 $(counted "$id" wgks-leak iptables), IPv6 $(counted "$id" wgks-leak ip6tables);"
	done
	# What leaked, when something did: the gateway's view of it.
	(( n == 0 )) || in_g ip6tables -t raw -nvxL "${CL_CHAIN[$1]}" 2>&1 | tail -3
	reset_counters
	echo "$n leaked packets (${detail# })"
	[[ "$n" == 0 ]]
}

# status --json of client ID, checked by a Python expression on `d` (the
# whole answer) and `ns` (this namespace's entry).
status_has() {
	local out
	out=$(ip netns exec "${CL_NS[$1]}" "$WGKS" status --json) || true
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
ns = ([n for n in d.get("namespaces", []) if n.get("current")] or [None])[0]
ok = eval(sys.argv[2])
print(sys.argv[1] if not ok else "status says so")
sys.exit(0 if ok else 1)' "$out" "$2"
}

# ---------------------------------------------------------------- older builds

WHY=""
# build_old NAME: $TMP/NAME/wgks-bpf, an older build; 1 with WHY if it cannot be made.
build_old() {
	local dir=$TMP/$1
	mkdir -p "$dir"
	case $1 in
	release | pre-tcx)
		local commit=$RELEASE
		[[ $1 == release ]] || commit=$PRE_TCX
		if ! git -C "$SRC" cat-file -e "$commit^{commit}" 2>/dev/null; then
			WHY="commit $commit is not in this clone's history"
			return 1
		fi
		git -C "$SRC" archive "$commit" | tar -x -C "$dir"
		make -C "$dir" -j2 wgks-bpf >"$dir.log" 2>&1 || { WHY="it did not build: $(tail -3 "$dir.log")"; return 1; }
		;;
	swapped | renamed)
		(cd "$SRC" && tar -c --exclude=.output Makefile include bpf loader tests) | tar -x -C "$dir"
		make -C "$dir" -j2 TEST_LAYOUT="$1" wgks-bpf >"$dir.log" 2>&1 ||
			{ WHY="it did not build: $(tail -3 "$dir.log")"; return 1; }
		;;
	esac
}

# ---------------------------------------------------------------- the flood

FLOOD_PIDS=()
# start_flood ID...: G counts what arrives; each client sends FLOOD_RATE a
# second to the internet through its tunnel, and as many off it (from a
# socket bound to its underlay). Not to a LAN address: allow-LAN would let
# those pass whatever happened to the tunnel.
start_flood() {
	local id
	FLOOD_PIDS=()
	start_bg "$NS_G" python3 "$FLOOD" recv "$FLOOD_PORT" "$((FLOOD_S + 2))" "$TMP/recv.json"
	FLOOD_PIDS+=("${PIDS[-1]}")
	sleep 0.3
	for id in "$@"; do
		start_bg "${CL_NS[$id]}" python3 "$FLOOD" send "$NET4" "$FLOOD_PORT" "$FLOOD_RATE" \
			"$FLOOD_S" "$TMP/tunnel-$id.json"
		FLOOD_PIDS+=("${PIDS[-1]}")
		start_bg "${CL_NS[$id]}" python3 "$FLOOD" send "$NET4" "$FLOOD_PORT" "$FLOOD_RATE" \
			"$FLOOD_S" "$TMP/off-$id.json" "${CL_VETH[$id]}"
		FLOOD_PIDS+=("${PIDS[-1]}")
	done
}

wait_flood() {
	local pid
	for pid in "${FLOOD_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	FLOOD_PIDS=()
}

# flood_held ID: off the tunnel every send refused with EPERM; through it,
# every send taken, and at least 95% arrived, with no silence over 1 s.
flood_held() {
	python3 - "$TMP" "$1" "${CL_HOST[$1]}" "${CL_NET[$1]}" <<-'EOF'
	import json, sys
	tmp, cid, host, net = sys.argv[1:]
	off = json.load(open(f"{tmp}/off-{cid}.json"))
	tun = json.load(open(f"{tmp}/tunnel-{cid}.json"))
	got = json.load(open(f"{tmp}/recv.json"))
	mine = got.get(f"10.78.0.{host}", {"received": 0, "max_gap_ms": None})
	leaked = got.get(f"10.{net}.0.2", {"received": 0})["received"]
	print(f"off the tunnel: {off['sent']} sent, {off['ok']} taken, refused {off['errors']}; "
	      f"through it: {tun['sent']} sent, {tun['ok']} taken, {mine['received']} arrived, "
	      f"longest silence {mine['max_gap_ms']} ms; off-tunnel arrivals: {leaked}")
	sys.exit(0 if off["ok"] == 0 and off["errors"] == {"EPERM": off["sent"]} and off["sent"] > 0
	         and tun["ok"] == tun["sent"] and mine["received"] >= 0.95 * tun["ok"]
	         and mine["max_gap_ms"] is not None and mine["max_gap_ms"] < 1000 and leaked == 0
	         else 1)
	EOF
}

# How many sends the off-tunnel flood of client ID had refused.
refused_by_flood() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["errors"].get("EPERM", 0))' "$TMP/off-$1.json"; }

# ---------------------------------------------------------------- scenarios

# takeover OLD: OLD attaches in two namespaces (c: allow-LAN; d: fwmark off
# with its endpoint, and lockdown), then this binary takes over under a flood.
takeover() {
	local old=$1 before ms out refused_c
	note "---- takeover of $old's attachment"
	install_as "$TMP/$old/wgks-bpf"
	new_client c
	new_client d
	ATTACH_OPTS=--allow-lan write_conf c wgks
	ALLOWED_IPS="0.0.0.0/1, 128.0.0.0/1, ::/1, 8000::/1" write_conf d wgks
	check "$old: wg-quick up ${CL_WG[c]} (attach --allow-lan)" wg_quick c up
	check "$old: wg-quick up ${CL_WG[d]} (fwmark off)" wg_quick d up
	check "$old: lockdown on in d" ip netns exec "$NS_D" "$WGKS" lockdown on
	check "$old: c's tunnel works" ping_ok "$NS_C" 10.78.0.1
	check "$old: d's tunnel works" ping_ok "$NS_D" 10.78.0.1
	check "$old: d's fwmark is off" test "$(ip netns exec "$NS_D" wg show "$WG_D" fwmark)" = off
	reset_counters
	before=$(wgks_programs)
	note "$old attached: $before"

	start_flood c d
	sleep 2
	install_as "$NEW"
	ms=$(date +%s%N)
	if out=$(ip netns exec "$NS_C" "$WGKS" attach "$WG_C" --allow-lan 2>&1); then
		ok "$old -> new: attach in c takes over ($(( ($(date +%s%N) - ms) / 1000000 )) ms): ${out//$'\n'/; }"
	else
		not_ok "$old -> new: attach in c: $out"
	fi
	check "$old -> new: sync in d" ip netns exec "$NS_D" "$WGKS" sync
	check "$old -> new: status in c" ip netns exec "$NS_C" "$WGKS" status
	wait_flood
	check "$old -> new: c's flood held (UDP off the tunnel refused, through it flowing)" flood_held c
	check "$old -> new: d's flood held" flood_held d
	check "$old -> new: nothing reached the far side off the tunnels" no_leaks c d
	check "$old -> new: one egress and one sock_ops program, sharing their maps" one_pair
	check "$old -> new: both replaced (were $before)" test -z "$(comm -12 <(tr ' ' '\n' <<<"$before" | sort) <(wgks_programs | tr ' ' '\n' | sort))"
	refused_c=$(refused_by_flood c)
	check "$old -> new: c's policy: this version's, allow-LAN, WireGuard's port and socket learnt, counters kept" \
		status_has c "d['other_version'] is None and ns['tunnels'][0]['fwmark'] == $FWMARK and ns['tunnels'][0]['listen_port'] > 0 and ns['tunnels'][0]['wireguard_sockets'] >= 1 and '10.0.0.0/8' in ns['allowed'] and ns['counters']['blocked']['packets'] >= 0.99 * $refused_c"
	check "$old -> new: d's policy: lockdown, its endpoint, WireGuard's socket learnt" \
		status_has d "ns['lockdown'] and ns['endpoints'] == ['10.${CL_NET[d]}.0.1:$WG_PORT'] and ns['tunnels'][0]['fwmark'] == 0 and ns['tunnels'][0]['wireguard_sockets'] >= 1"
	check "$old -> new: c: off the tunnel still refused" refused c "$NET4"
	check "$old -> new: d: off the tunnel still refused" refused d "$NET4"
	check "$old -> new: d: UDP to its endpoint's host, another port, refused" refused d "10.${CL_NET[d]}.0.1"
	check "$old -> new: c: the LAN still passes (allow-LAN kept)" ping_ok "$NS_C" "10.${CL_NET[c]}.0.1"
	check "$old -> new: c: DNS to the LAN still refused" dns_refused "$NS_C" "10.${CL_NET[c]}.0.1"
	reset_counters
	check "$old -> new: wg-quick down c" wg_quick c down
	check "$old -> new: wg-quick down d" wg_quick d down
	check "$old -> new: c, down: traffic flows in plain" sends c "$NET4"
	check "$old -> new: d, down: lockdown still blocks" refused d "$NET4"
	check "$old -> new: lockdown off in d" ip netns exec "$NS_D" "$WGKS" lockdown off
	check "$old -> new: d: traffic flows in plain" sends d "$NET4"
	check "$old -> new: wg-quick up c again" wg_quick c up
	# Counted from here: until PostUp ran, c had no kill switch (and G's
	# WireGuard may still send a keepalive to c's old port, which c's
	# kernel answers in plain).
	reset_counters
	check "$old -> new: c's tunnel works" ping_ok "$NS_C" "$NET4"
	check "$old -> new: c: off the tunnel refused" refused c "$NET4"
	check "$old -> new: nothing leaked" no_leaks c
	check "$old -> new: wg-quick down c" wg_quick c down
	check "$old -> new: detach --all" "$WGKS" detach --all
	check "$old -> new: nothing left" wgks_all_gone
	reset_counters
	drop_client c
	drop_client d
}

# Client ID's backstop on its veth: "HOOK NAME" for each program of ours there.
backstop_of() {
	local ns=${CL_NS[$1]} dev=${CL_VETH[$1]}
	ip netns exec "$ns" tc filter show dev "$dev" egress | grep -o ' wgks_[a-z_]*' |
		sed 's/^ /clsact /' | sort -u
	ip netns exec "$ns" python3 "$WGKS_TCX_PY" "$dev" | awk '$2 ~ /^wgks_/ { print "tcx " $2 }'
}
# backstop_is ID PATTERN: all of client ID's backstop, as one line, matches PATTERN.
backstop_is() {
	local have
	have=$(backstop_of "$1" | xargs)
	echo "$have"
	# shellcheck disable=SC2053 # PATTERN is a glob
	[[ "$have" == $2 ]]
}

# backstop_moves OLD: OLD put the backstop on as clsact filters (wgks_tc_*,
# passing with TC_ACT_OK); this version, on the same maps, moves it to tcx
# under a flood whose WireGuard packets cross it (judged, by the fwmark).
backstop_moves() {
	local old=$1
	note "---- $old's clsact filters move to tcx"
	install_as "$TMP/$old/wgks-bpf"
	new_client c
	ATTACH_OPTS=--allow-lan write_conf c wgks
	check "$old: wg-quick up ${CL_WG[c]}" wg_quick c up
	check "$old: its backstop is a clsact filter" backstop_is c "clsact wgks_tc_*"
	check "$old: c's tunnel works" ping_ok "$NS_C" 10.78.0.1
	reset_counters
	start_flood c
	sleep 2
	install_as "$NEW"
	check "$old -> new: sync in c" ip netns exec "$NS_C" "$WGKS" sync
	wait_flood
	check "$old -> new: c's flood held (UDP off the tunnel refused, through it flowing)" flood_held c
	check "$old -> new: nothing reached the far side off the tunnel" no_leaks c
	check "$old -> new: the backstop is this version's, on tcx, no clsact filter" \
		backstop_is c "tcx wgks_bs_*"
	check "$old -> new: status says tcx" status_has c "ns['backstop_hook'] == 'tcx'"
	check "$old -> new: the same programs on the cgroup (same maps: nothing taken over)" one_pair
	check "$old -> new: c: the LAN still passes (allow-LAN kept)" ping_ok "$NS_C" "10.${CL_NET[c]}.0.1"
	check "$old -> new: wg-quick down c" wg_quick c down
	check "$old -> new: detach --all" "$WGKS" detach --all
	check "$old -> new: nothing left" wgks_all_gone
	reset_counters
	drop_client c
}

# refused OLD: a layout this version cannot carry (TEST_LAYOUT=renamed).
not_taken() {
	local old=$1 before
	note "---- $old: a layout that cannot be carried"
	install_as "$TMP/$old/wgks-bpf"
	new_client c
	write_conf c wgks
	check "$old: wg-quick up c" wg_quick c up
	reset_counters
	check "$old: c's tunnel works" ping_ok "$NS_C" "$NET4"
	before=$(wgks_programs)
	install_as "$NEW"
	check_exit "$old -> new: attach refuses to take it over, and says why" 1 \
		"no field rules.tunnels[].fwmark" ip netns exec "$NS_C" "$WGKS" attach "$WG_C"
	check "$old -> new: its programs stay ($before)" test "$(wgks_programs)" = "$before"
	check "$old -> new: c: off the tunnel still refused" refused c "$NET4"
	check "$old -> new: c's tunnel still works" ping_ok "$NS_C" "$NET4"
	check "$old -> new: status: protected, by another version, which cannot be taken over" \
		status_has c "d['protected'] and 'fwmark' in d['other_version']['takeover'] and ns['tunnels'][0]['name'] == '$WG_C'"
	check "$old -> new: status (text) says so" sh -c \
		"ip netns exec '$NS_C' '$WGKS' status | grep -q 'attached by another version'"
	check_exit "$old -> new: detach (PreDown) refuses and says what works" 1 "detach --all" \
		ip netns exec "$NS_C" "$WGKS" detach "$WG_C"
	check "$old -> new: nothing leaked" no_leaks c
	check "$old -> new: detach --all" "$WGKS" detach --all
	check "$old -> new: nothing left" wgks_all_gone
	check "$old -> new: wg-quick down" wg_quick c down
	reset_counters
	drop_client c
}

# lockdown_handoff OLD: lockdown on by OLD, off by this version.
lockdown_handoff() {
	local old=$1
	install_as "$TMP/$old/wgks-bpf"
	new_client c
	check "$old: lockdown on" ip netns exec "$NS_C" "$WGKS" lockdown on
	check "$old: c blocked" refused c "$NET4"
	install_as "$NEW"
	check "$old -> new: lockdown off" ip netns exec "$NS_C" "$WGKS" lockdown off
	check "$old -> new: c unblocked" sends c "$NET4"
	check "$old -> new: no policy left: nothing left" wgks_all_gone
	reset_counters
	drop_client c
}

# A sock_ops program alone, an egress program alone: the next command cleans up.
orphans() {
	local eg so
	note "---- programs without their partner"
	install_as "$NEW"
	new_client c
	write_conf c wgks
	check "wg-quick up c" wg_quick c up
	reset_counters
	check "one pair attached" one_pair
	eg=$(prog_id egress)
	so=$(prog_id sock_ops)
	check "bpftool cgroup detach ... egress id $eg (a sock_ops program left alone)" \
		bpftool cgroup detach "$CGROUP2" egress id "$eg"
	check "status lists the orphan sock_ops program" status_has c "d['orphan_sock_ops'] == [$so]"
	check "the next command (sync) detaches it" ip netns exec "$NS_C" "$WGKS" sync
	check "no sock_ops program left" test -z "$(prog_id sock_ops)"
	check "attach again" ip netns exec "$NS_C" "$WGKS" attach "$WG_C"
	check "one pair" one_pair
	so=$(prog_id sock_ops)
	check "bpftool cgroup detach ... sock_ops id $so (an egress program left alone)" \
		bpftool cgroup detach "$CGROUP2" sock_ops id "$so"
	check "status: fail-fast off" status_has c "d['fail_fast'] is None and d['protected']"
	check "the next command (sync) attaches a sock_ops partner" ip netns exec "$NS_C" "$WGKS" sync
	check "one pair again" one_pair
	check "blocked connects fail fast again" tcp_fails_fast "$NS_C" "10.${CL_NET[c]}.0.1" "$TCP_PORT"
	eg=$(prog_id egress)
	check "egress detached by hand again" bpftool cgroup detach "$CGROUP2" egress id "$eg"
	check "detach cleans up the lone sock_ops program and the backstop left here" \
		ip netns exec "$NS_C" "$WGKS" detach "$WG_C"
	check "nothing left" wgks_all_gone
	check "wg-quick down c" wg_quick c down
	check "nothing leaked" no_leaks c
	drop_client c
}

# make uninstall detaches first; with nothing attached it succeeds too.
uninstall() {
	local dest=$TMP/dest
	note "---- make uninstall"
	make -s -C "$ROOT" install DESTDIR="$dest" PREFIX=/usr >/dev/null
	new_client c
	check "installed binary: lockdown on in c" ip netns exec "$NS_C" "$dest/usr/sbin/wgks-bpf" lockdown on
	check "c blocked" refused c "$NET4"
	check "make uninstall" make -s -C "$ROOT" uninstall DESTDIR="$dest" PREFIX=/usr
	check "the binary is gone" test ! -e "$dest/usr/sbin/wgks-bpf"
	check "c unblocked" sends c "$NET4"
	check "nothing left" wgks_all_gone
	make -s -C "$ROOT" install DESTDIR="$dest" PREFIX=/usr >/dev/null
	check "make uninstall, nothing attached" make -s -C "$ROOT" uninstall DESTDIR="$dest" PREFIX=/usr
	reset_counters
	drop_client c
}

# ---------------------------------------------------------------- main

# scenario FN ARGS...: FN to its end (no errexit inside), then a clean slate.
scenario() {
	local id hook
	"$@" || true
	"$NEW" detach --all >/dev/null 2>&1 || true
	for id in $(wgks_programs); do
		hook=${id%%:*}
		bpftool cgroup detach "$CGROUP2" "$hook" id "${id#*:}" 2>/dev/null || true
	done
	drop_client c
	drop_client d
}

SUMMARY_DONE=""
cleanup() {
	local rc=$? id hook
	set +e
	if [[ -z "$SUMMARY_DONE" ]]; then
		# A setup step failed half-way: still the summary line, with the abort counted.
		not_ok "aborted (exit $rc)"
		summary
		(( rc != 0 )) || rc=1
	fi
	e2e_cleanup
	# Whatever a failed check left: this binary removes any version's; a
	# binary that cannot, bpftool does (nothing of ours was here at the start).
	"$NEW" detach --all >/dev/null 2>&1
	for id in $(wgks_programs); do
		hook=${id%%:*}
		bpftool cgroup detach "$CGROUP2" "$hook" id "${id#*:}" 2>/dev/null
	done
	exit "$rc"
}

main() {
	local old tool built=()
	(( EUID == 0 )) || skip_all "upgrade.sh needs root"
	e2e_lock
	e2e_preflight || skip_all "$PREFLIGHT_WHY"
	[[ -x "$FAILFAST_BIN" ]] || skip_all "$FAILFAST_BIN is not built (make .output/tests/failfast)"
	for tool in git clang make; do
		command -v "$tool" >/dev/null || skip_all "$tool not found (it builds the older versions)"
	done
	trap cleanup EXIT
	e2e_tmp
	mkdir -p "$TMP/sbin"
	WGKS=$TMP/sbin/wgks-bpf
	local olds=(release swapped renamed)
	# Where the kernel has tcx, the move of the backstop from clsact to tcx.
	python3 "$WGKS_TCX_PY" lo >/dev/null 2>&1 && olds+=(pre-tcx)
	for old in "${olds[@]}"; do
		if build_old "$old"; then
			built+=("$old")
			note "built $old: $("$TMP/$old/wgks-bpf" --version)"
		elif [[ "$WHY" == "commit "* ]]; then
			echo "SKIP: the $old build: $WHY" # a shallow clone: nothing to build from
		else
			not_ok "the $old build: $WHY" # the older build is part of the test
		fi
	done
	setup_gateway
	setup_leak_counters c
	setup_leak_counters d
	setup_server
	# Each scenario runs to its end whatever fails in it (a binary that
	# fails one check fails the next ones too: all are shown), and leaves
	# nothing for the next.
	for old in "${built[@]}"; do
		case $old in
		renamed) scenario not_taken "$old" ;;
		pre-tcx) scenario backstop_moves "$old" ;;
		*) scenario takeover "$old" ;;
		esac
	done
	for old in "${built[@]}"; do [[ $old == pre-tcx ]] || scenario lockdown_handoff "$old"; done
	scenario orphans
	scenario uninstall
	check "at the end: nothing left" wgks_all_gone
	SUMMARY_DONE=1
	summary
}

main "$@"
