#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Errors change nothing, and a re-attach leaves no gap (issue 15).
#   - Each way attach can fail once it has started to write: no counter
#     slot left (1,024 namespaces with a policy), a full endpoint map, a
#     full prefix map (filled by bpftool with entries of made-up
#     namespaces). Every map of ours is dumped before and after: byte for
#     byte the same. (Not wgks_unmanaged, which counts the host's own
#     traffic, nor the ring buffer and the socket storage, which cannot be
#     dumped.) The namespace that fails had a policy once, and counters
#     that stay where it left them.
#   - A fwmark-off tunnel's endpoint goes when it is detached, while
#     another tunnel keeps the namespace's policy.
#   - A fwmark-off tunnel (real WireGuard: wg-quick + wireguard-go)
#     re-attached over and over under a flood: its own counters count no
#     packet blocked, and the far side gets the flood.
#
# Usage: tests/e2e/errors.sh /path/to/wgks-bpf
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$HERE/../lib/tap.sh"
# shellcheck source-path=SCRIPTDIR source=lib/net.sh
. "$HERE/lib/net.sh"

WGKS=${1:?usage: errors.sh /path/to/wgks-bpf}
[[ "$WGKS" == /* ]] || WGKS=$PWD/$WGKS
FLOOD="$HERE/lib/flood.py"
NS_A="wgksea$T"     # has a policy throughout
NS_B="wgkseb$T"     # whose attaches fail
WG_B="wge$T"        # a WireGuard interface in B, fwmark off, with a peer endpoint
FAKE=0x7fff000000000000 # made-up namespace cookies start here: none is real
REATTACHES=20

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# The ids of the attached egress program's maps, by name: "wgks_policy 12" per line.
our_maps() {
	local eg
	eg=$(wgks_attached_progs | awk '$1 == "egress" { print $2; exit }')
	[[ -n "$eg" ]] || return 1
	for id in $(bpftool prog show id "$eg" | grep -o 'map_ids [0-9,]*' | cut -d' ' -f2 | tr ',' ' '); do
		bpftool map show id "$id" | awk -v id="$id" 'NR == 1 { for (i = 1; i < NF; i++) if ($i == "name") print $(i + 1), id }'
	done
}
map_id() { our_maps | awk -v n="$1" '$1 == n { print $2 }'; }

# Every map of ours that can be dumped and that only our commands change.
dump_all() {
	local name id
	while read -r name id; do
		case $name in
		wgks_unmanaged | wgks_events | wgks_failfast) continue ;;
		esac
		echo "== $name"
		bpftool -j map dump id "$id"
	done < <(our_maps | sort)
}

# unchanged NAME CMD...: CMD fails, and every map is as it was, byte for byte.
unchanged() {
	local before after
	before=$(dump_all)
	# No map found would compare equal too: the policy map must be there.
	[[ "$before" == *"== wgks_policy"* ]] || { echo "no wgks_policy map to dump"; return 1; }
	"$@" && { echo "it did not fail"; return 1; }
	after=$(dump_all)
	if [[ "$before" == "$after" ]]; then
		echo "$(wc -c <<<"$before") bytes of map dumps, the same before and after"
		return 0
	fi
	diff <(echo "$before") <(echo "$after") | head -20
	return 1
}

# fill MAP KIND N: N entries of made-up namespaces, through one bpftool batch.
fill() {
	python3 - "$@" >"$TMP/batch" <<-'EOF'
	import sys
	mapid, kind, n, fake = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4], 16)
	def hx(b):
	    return " ".join(f"{x:02x}" for x in b)
	for i in range(n):
	    netns = (fake + i).to_bytes(8, "little")
	    if kind == "policy":
	        # No tunnel, no lockdown, counters index i + 1: a slot taken.
	        value = bytes(8) + (i + 1).to_bytes(4, "little") + bytes(408 - 12)
	        print(f"map update id {mapid} key hex {hx(netns)} value hex {hx(value)}")
	    elif kind == "endpoints":
	        key = (fake.to_bytes(8, "little") + bytes([4, 0]) + (1000 + i % 60000).to_bytes(2, "big")
	               + bytes([10, 1, i // 256 % 256, i % 256]) + bytes(12) + bytes(4))
	        print(f"map update id {mapid} key hex {hx(key)} value hex 01 00 00 00")
	    else:
	        key = (96).to_bytes(4, "little") + fake.to_bytes(8, "little") + bytes([10, i // 65536, i // 256 % 256, i % 256])
	        print(f"map update id {mapid} key hex {hx(key)} value hex 01 00 00 00")
	EOF
	bpftool batch file "$TMP/batch" >/dev/null
}

# empty_fakes MAP: take out the made-up namespaces' entries again.
empty_fakes() {
	bpftool -j map dump id "$1" | python3 -c '
import json, sys
fake = int(sys.argv[2], 16)
for e in json.load(sys.stdin):
    key = bytes(int(x, 16) for x in e["key"])
    netns = int.from_bytes(key[4:12] if sys.argv[3] == "allow4" else key[:8], "little")
    if netns >> 48 == fake >> 48:
        print("map delete id %s key hex %s" % (sys.argv[1], " ".join("%02x" % b for b in key)))
' "$1" "$FAKE" "$2" >"$TMP/batch"
	[[ -s "$TMP/batch" ]] && bpftool batch file "$TMP/batch" >/dev/null
	return 0
}

entries() { bpftool -j map dump id "$1" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }

no_leaks() {
	local n
	n=$(leaks c)
	echo "$n leaked packets"
	[[ "$n" == 0 ]]
}

# The packets of REASON counted in client c's namespace.
counted_c() {
	ip netns exec "$NS_C" "$WGKS" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([n for n in d["namespaces"] if n["current"]][0]["counters"][sys.argv[1]]["packets"])' "$1"
}

cleanup() {
	local rc=$?
	set +e
	drop_ns "$WGKS" "$NS_A" "$NS_B"
	rm -f "/var/run/wireguard/$WG_B.sock"
	e2e_cleanup
	exit "$rc"
}

# ---------------------------------------------------------------- failures

setup_ab() {
	local ns
	for ns in "$NS_A" "$NS_B"; do
		ip netns add "$ns"
		# No IPv6: its link upkeep would count between two dumps.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
		ip -n "$ns" tuntap add tun0 mode tun
		ip -n "$ns" link set tun0 up
	done
	env -u WG_PROCESS_FOREGROUND ip netns exec "$NS_B" wireguard-go "$WG_B" >/dev/null 2>&1 3>&- 4>&- 9>&-
	in_b wg set "$WG_B" private-key <(wg genkey) peer "$(wg genkey | wg pubkey)" \
		endpoint 192.0.2.1:51820 allowed-ips 10.0.0.0/8
	ip -n "$NS_B" link set "$WG_B" up
}

failures() {
	local policy endpoints allow4
	note "---- failed attaches change nothing"
	setup_ab
	check "A: attach" in_a "$WGKS" attach tun0 --fwmark 0x10
	# B had a policy and counted packets (to loopback); it left its counters behind.
	check "B: attach" in_b "$WGKS" attach tun0 --fwmark 0x20
	check "B: packets counted" in_b python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5):
    s.sendto(b"x", ("127.0.0.1", 9))'
	check "B: detach" in_b "$WGKS" detach
	policy=$(map_id wgks_policy)
	endpoints=$(map_id wgks_endpoints)
	allow4=$(map_id wgks_allow4)
	check "the maps of the attached program" test -n "$policy" -a -n "$endpoints" -a -n "$allow4"

	fill "$endpoints" endpoints 4096 "$FAKE"
	check "wgks_endpoints is full ($(entries "$endpoints") entries)" test "$(entries "$endpoints")" = 4096
	check "B: attach of a fwmark-off tunnel, endpoint map full: fails, every map as it was" \
		unchanged in_b "$WGKS" attach "$WG_B"
	check_exit "... and says why" 1 "map full" in_b "$WGKS" attach "$WG_B"
	empty_fakes "$endpoints" endpoints

	fill "$allow4" allow4 16384 "$FAKE"
	check "wgks_allow4 is full ($(entries "$allow4") entries)" test "$(entries "$allow4")" = 16384
	check "B: attach --allow, prefix map full: fails, every map as it was" \
		unchanged in_b "$WGKS" attach tun0 --fwmark 0x20 --allow 10.9.0.0/16
	check "A: re-attach --allow, prefix map full: fails, every map as it was" \
		unchanged in_a "$WGKS" attach tun0 --fwmark 0x10 --allow 10.9.0.0/16
	check "B: attach --allow-lan, prefix map full: fails, every map as it was" \
		unchanged in_b "$WGKS" attach tun0 --fwmark 0x20 --allow-lan
	empty_fakes "$allow4" allow4

	fill "$policy" policy 1023 "$FAKE"
	check "wgks_policy is full ($(entries "$policy") policies)" test "$(entries "$policy")" = 1024
	check "B: attach, no counter slot left: fails, every map as it was" \
		unchanged in_b "$WGKS" attach tun0 --fwmark 0x20
	check_exit "... and says why" 1 "no room for another namespace" in_b "$WGKS" attach tun0 --fwmark 0x20
	check "B: lockdown on, no counter slot left: fails, every map as it was" \
		unchanged in_b "$WGKS" lockdown on
	empty_fakes "$policy" policy

	check "B: attach works again" in_b "$WGKS" attach "$WG_B"
	check "B: its endpoint is in wgks_endpoints" test "$(entries "$endpoints")" = 1
	# Detached while another tunnel keeps the policy: the endpoint goes with it.
	check "B: attach a second tunnel" in_b "$WGKS" attach tun0 --fwmark 0x20
	check "B: detach the fwmark-off one" in_b "$WGKS" detach "$WG_B"
	check "B: its endpoint left wgks_endpoints with it" test "$(entries "$endpoints")" = 0
	check "A and B: detach" sh -c "ip netns exec '$NS_A' '$WGKS' detach && ip netns exec '$NS_B' '$WGKS' detach"
	check "nothing left" wgks_all_gone
}

# ---------------------------------------------------------------- re-attach

reattach() {
	local i blocked0 blocked1 endpoint0 endpoint1 fails=0
	note "---- re-attach of a fwmark-off tunnel under a flood"
	setup_gateway
	setup_leak_counters c
	setup_server
	new_client c
	ALLOWED_IPS="0.0.0.0/1, 128.0.0.0/1, ::/1, 8000::/1" write_conf c wgks
	check "wg-quick up (fwmark off)" wg_quick c up
	reset_counters
	check "fwmark is off" test "$(ip netns exec "$NS_C" wg show "$WG_C" fwmark)" = off
	check "the tunnel works" ping_ok "$NS_C" 10.78.0.1
	blocked0=$(counted_c blocked)
	endpoint0=$(counted_c endpoint)
	start_bg "$NS_G" python3 "$FLOOD" recv 7100 8 "$TMP/recv.json"
	local recv=${PIDS[-1]}
	sleep 0.3
	start_bg "$NS_C" python3 "$FLOOD" send "$NET4" 7100 1000 6 "$TMP/send.json"
	local send=${PIDS[-1]}
	sleep 0.5
	for i in $(seq "$REATTACHES"); do
		ip netns exec "$NS_C" "$WGKS" attach "$WG_C" >/dev/null 2>&1 || fails=$((fails + 1))
		sleep 0.1
	done
	wait "$send" "$recv" 2>/dev/null || true
	blocked1=$(counted_c blocked)
	endpoint1=$(counted_c endpoint)
	check "$REATTACHES re-attaches during the flood, all succeeded" test "$fails" = 0
	check "no packet of c counted as blocked meanwhile ($blocked0 -> $blocked1); WireGuard's passed by the endpoint row ($endpoint0 -> $endpoint1)" \
		test "$blocked1" = "$blocked0" -a "$endpoint1" -gt "$endpoint0"
	check "the far side got the flood" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2])).get("10.78.0.2", {"received": 0, "max_gap_ms": None})
print("%d sent, %d taken, %d arrived, longest silence %s ms"
      % (s["sent"], s["ok"], r["received"], r["max_gap_ms"]))
sys.exit(0 if s["ok"] == s["sent"] and r["received"] >= 0.99 * s["ok"] else 1)' "$TMP/send.json" "$TMP/recv.json"
	check "nothing leaked" no_leaks
	check "wg-quick down" wg_quick c down
	check "nothing left" wgks_all_gone
}

main() {
	(( EUID == 0 )) || skip_all "errors.sh needs root"
	e2e_lock
	e2e_preflight || skip_all "$PREFLIGHT_WHY"
	trap cleanup EXIT
	e2e_tmp
	failures
	reattach
	summary
}

main "$@"
