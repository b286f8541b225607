# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2034  # many variables here are for the scripts that source this
#
# The e2e test network, sourced by leaks.sh (the leak suite, also run by
# `make compare`) and demo.sh (`make demo`). Real WireGuard (wg-quick with
# wireguard-go) in network namespaces; DESIGN.md, sections 1 and 4.
#
#   client  (C) --veth 10.77.0.0/24, fd77::/64 --+
#   client2 (D) --veth 10.76.0.0/24, fd76::/64 --+-- gateway (G)
#   other   (O) --veth 10.79.0.0/24 -------------+
#
# The gateway is every client's default router, the WireGuard server
# (10.78.0.1, fd78::1; client C is 10.78.0.2, fd78::2 in the tunnel, D is
# .3, ::3) and the "internet" (198.18.0.1, 2001:db8:77::1 on its lo, with
# TCP and UDP echo servers). Netfilter counters in G's raw PREROUTING count
# every packet arriving from a client's underlay that is neither WireGuard's
# own UDP to the server (a datagram too short to be WireGuard's is not) nor
# link upkeep (NDP, MLD, IGMP): a leak.
#
# Everything has a unique name (the PID of the script), and e2e_cleanup
# removes it all. Scripts that use this take the host-wide e2e lock
# (e2e_lock), since one wgks program serves the whole host.
#
# The probes (ping_ok, tcp_echo, udp_send, tcp_fails_fast, ...) are
# tests/lib/probes.sh's, shared with the kernel matrix; what the kernel
# holds of wgks-bpf is asked through tests/lib/wgks.sh.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROBE="$E2E_DIR/probe.py"

# (shellcheck: SCRIPTDIR is the checked script's: tests/e2e or tests/e2e/lib.)
# shellcheck source-path=SCRIPTDIR/.. source-path=SCRIPTDIR/../.. source=lib/sandbox.sh
. "$E2E_DIR/../lib/sandbox.sh"
# shellcheck source-path=SCRIPTDIR/.. source-path=SCRIPTDIR/../.. source=lib/probes.sh
. "$E2E_DIR/../lib/probes.sh"
# shellcheck source-path=SCRIPTDIR source-path=SCRIPTDIR/.. source=lib/leftovers.sh
. "$E2E_DIR/lib/leftovers.sh"

# ---------------------------------------------------------------- names

# Unique per run: namespaces, and WireGuard names too, because wireguard-go's
# control sockets (/var/run/wireguard/NAME.sock) are shared by all namespaces.
T=$$
NS_C="wgksc$T"          # client
NS_D="wgksd$T"          # a second client (two tunnels in two namespaces)
NS_G="wgksg$T"          # gateway: WireGuard server + "internet"
NS_O="wgkso$T"          # another namespace, never protected
WG_S="wgs$T"            # server interface (in G)
WG_C="wgc$T"            # C's tunnel
WG_D="wgd$T"            # D's tunnel
VETH_O="vo$T"           # O's end of its link to G
VETH_GO="vp$T"          # G's end of it
for n in "$WG_S" "$WG_C" "$WG_D" "$VETH_O" "$VETH_GO" "vh$T"; do
	(( ${#n} <= 15 )) || { echo "interface name too long: $n" >&2; exit 1; }
done

# Per client: namespace, its underlay veth and G's end of it, the third
# octet of its underlay (10.N.0.2/24, fdN::2/64; G is .1 and ::1), its
# host number in the tunnel (10.78.0.H, fd78::H), its tunnel name and the
# leak-counter chain in G.
declare -A CL_NS=([c]="$NS_C" [d]="$NS_D")
declare -A CL_VETH=([c]="vc$T" [d]="vd$T")
declare -A CL_VETH_G=([c]="vg$T" [d]="vh$T")
declare -A CL_NET=([c]=77 [d]=76)
declare -A CL_HOST=([c]=2 [d]=3)
declare -A CL_WG=([c]="$WG_C" [d]="$WG_D")
declare -A CL_CHAIN=([c]=wgks_leak_c [d]=wgks_leak_d)
# More links from client C to the gateway that leaks.sh makes on the way
# (a new uplink, a device taking a tunnel's ifindex), counted as clients are.
CL_VETH_G+=([uplink]="vm$T" [reuse]="vs$T" [bridged]="vw$T")
CL_CHAIN+=([uplink]=wgks_leak_up [reuse]=wgks_leak_re [bridged]=wgks_leak_br)

NET4=198.18.0.1         # the "internet", on G's lo
NET6=2001:db8:77::1
WG_PORT=51900           # server's ListenPort (every address of G)
TCP_PORT=7001           # TCP echo on every address of G (the probes' TCP_PORT)
UDP_PORT=7002           # UDP echo on the internet addresses (the probes' UDP_PORT)
FWMARK=51820            # what wg-quick sets for AllowedIPs = 0.0.0.0/0, ::/0

# The iptables kill switch users paste into wg-quick (DESIGN.md, README).
# shellcheck disable=SC2016  # $(wg show ...) is for wg-quick to expand, not us
RECIPE_RULE='OUTPUT ! -o %i -m mark ! --mark $(wg show %i fwmark) -m addrtype ! --dst-type LOCAL -j REJECT'
RECIPE_UP="iptables -I $RECIPE_RULE && ip6tables -I $RECIPE_RULE"
RECIPE_DOWN="iptables -D $RECIPE_RULE && ip6tables -D $RECIPE_RULE"

TMP=""                  # mktemp dir: keys, wg-quick configs, logs
PIDS=()                 # background processes we started (by PID only)
NAMESPACES=()           # namespaces we created
CLEANUP_HOOKS=()        # functions e2e_cleanup runs after the processes are gone
WG_RUNDIR_OURS=""       # set if /var/run/wireguard did not exist before us

# ---------------------------------------------------------------- helpers

in_ns() { ip netns exec "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }
in_g() { ip netns exec "$NS_G" "$@"; }
in_o() { ip netns exec "$NS_O" "$@"; }

# PID of the wireguard-go serving IFNAME inside namespace NS, if any. Looked up
# among that namespace's processes only, so nothing else can ever match.
wggo_pid() {
	local ns=$1 ifname=$2 pid
	for pid in $(ip netns pids "$ns" 2>/dev/null); do
		[[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == wireguard-go ]] || continue
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qw -- "$ifname" || continue
		echo "$pid"
		return 0
	done
	return 1
}

# Background process inside a namespace, remembered for cleanup.
start_bg() {
	local ns=$1; shift
	ip netns exec "$ns" "$@" >/dev/null 2>&1 3>&- 4>&- 9>&- &
	PIDS+=("$!")
}

# ---------------------------------------------------------------- cleanup

# The EXIT trap's work: stop our processes, run the hooks, delete our
# namespaces and files. Safe to run at any point of the setup.
e2e_cleanup() {
	local ns pid name hook
	set +e
	for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	# wireguard-go daemonizes and socat forks: drop_ns also takes every
	# process still inside our namespaces (all of them started by us).
	for ns in "${NAMESPACES[@]}"; do kill_ns_procs "$ns"; done
	for hook in "${CLEANUP_HOOKS[@]}"; do "$hook"; done
	drop_ns "${WGKS:-}" "${NAMESPACES[@]}"
	# A killed wireguard-go leaves its control socket behind.
	for name in "$WG_S" "$WG_C" "$WG_D"; do rm -f "/var/run/wireguard/$name.sock"; done
	[[ -n "$WG_RUNDIR_OURS" ]] && rmdir /var/run/wireguard 2>/dev/null
	[[ -n "$TMP" ]] && rm -rf "$TMP"
	return 0
}

# What every script checks first: returns 1 with the reason in PREFLIGHT_WHY
# if the suite cannot run here (the caller says SKIP).
PREFLIGHT_WHY=""
e2e_preflight() {
	local tool i
	(( EUID == 0 )) || { PREFLIGHT_WHY="must run as root"; return 1; }
	for tool in ip wg wg-quick wireguard-go bpftool iptables ip6tables nft ping socat \
		python3 timeout awk flock; do
		command -v "$tool" >/dev/null || { PREFLIGHT_WHY="$tool not found"; return 1; }
	done
	CGROUP2=$(wgks_cgroup2)
	[[ -n "$CGROUP2" ]] || { PREFLIGHT_WHY="no cgroup2 mount in /proc/self/mounts"; return 1; }
	# The "nothing left behind" checks need a host without any wgks program.
	# Another suite may be finishing (the lock only covers suites that take
	# it): give it a moment before giving up.
	for i in $(seq 60); do
		wgks_attached >/dev/null || [[ -n "$(wgks_ids map)" ]] || return 0
		(( i > 1 )) || echo "# waiting for the wgks program of another run to go away" >&2
		sleep 1
	done
	PREFLIGHT_WHY="a wgks program or map already exists (another test or a real install)"
	return 1
}

e2e_tmp() {
	TMP=$(mktemp -d /tmp/wgks-e2e.XXXXXX)
	[[ -e /var/run/wireguard ]] || WG_RUNDIR_OURS=1
}

# ---------------------------------------------------------------- network

add_ns() {
	ip netns add "$1"
	NAMESPACES+=("$1")
	ip -n "$1" link set lo up
}

# The gateway with its "internet", and the other namespace.
setup_gateway() {
	add_ns "$NS_G"
	ip -n "$NS_G" addr add "$NET4/32" dev lo
	ip -n "$NS_G" addr add "$NET6/128" dev lo

	add_ns "$NS_O"
	ip link add "$VETH_O" netns "$NS_O" type veth peer name "$VETH_GO" netns "$NS_G"
	ip -n "$NS_O" addr add 10.79.0.2/24 dev "$VETH_O"
	ip -n "$NS_G" addr add 10.79.0.1/24 dev "$VETH_GO"
	ip -n "$NS_O" link set "$VETH_O" up
	ip -n "$NS_G" link set "$VETH_GO" up
	ip -n "$NS_O" route add default via 10.79.0.1
}

# drop_client ID: remove client ID's namespace with everything in it, and
# wait for the kernel to finish (a namespace is dismantled in the
# background: its veth's peer in G goes a moment later).
drop_client() {
	local ns=${CL_NS[$1]} kept=() x i
	drop_ns "${WGKS:-}" "$ns"
	for i in $(seq 100); do
		ip -n "$NS_G" link show "${CL_VETH_G[$1]}" >/dev/null 2>&1 || break
		sleep 0.05
	done
	for x in "${NAMESPACES[@]}"; do [[ "$x" == "$ns" ]] || kept+=("$x"); done
	NAMESPACES=("${kept[@]}")
}

# new_client ID: a fresh namespace for client ID (c or d) and its underlay
# to the gateway, replacing any earlier one (with everything in it). The
# leak counters in G match by interface name, so they count the new one.
new_client() {
	local ns=${CL_NS[$1]} veth=${CL_VETH[$1]} gveth=${CL_VETH_G[$1]} n=${CL_NET[$1]}
	drop_client "$1"
	add_ns "$ns"
	ip link add "$veth" netns "$ns" type veth peer name "$gveth" netns "$NS_G"
	ip -n "$ns" addr add "10.$n.0.2/24" dev "$veth"
	ip -n "$ns" addr add "fd$n::2/64" dev "$veth" nodad
	ip -n "$NS_G" addr add "10.$n.0.1/24" dev "$gveth"
	ip -n "$NS_G" addr add "fd$n::1/64" dev "$gveth" nodad
	ip -n "$ns" link set "$veth" up
	ip -n "$NS_G" link set "$gveth" up
	ip -n "$ns" route add default via "10.$n.0.1"
	ip -n "$ns" -6 route add default via "fd$n::1"
}

# Leak counters for client ID in the gateway's raw PREROUTING, before
# anything else sees the packet. Everything arriving on the client's underlay
# is a leak except WireGuard's encrypted UDP to the server's port, and NDP
# (hop limit 255) / MLD and IGMP (hop limit 1, IGMP to 224.0.0.0/24 only),
# the link's upkeep, which wgks-bpf passes (NDP a kill switch must pass; the
# recipe blocks IGMP, so it is no leak either way). Those are counted too,
# under their own comments, so they can be seen working.
LEAK_IDS=()             # the clients that have leak counters
setup_leak_counters() {
	local chain=${CL_CHAIN[$1]} gveth=${CL_VETH_G[$1]} t
	LEAK_IDS+=("$1")
	in_g iptables -t raw -N "$chain"
	in_g iptables -t raw -A PREROUTING -i "$gveth" -j "$chain"
	# Shorter than WireGuard's shortest message (a keepalive: 32 bytes of
	# UDP payload): someone else's datagram to the server's port.
	in_g iptables -t raw -A "$chain" -p udp --dport "$WG_PORT" -m length --length 0:59 \
		-m comment --comment wgks-leak -j RETURN
	in_g iptables -t raw -A "$chain" -p udp --dport "$WG_PORT" -m addrtype --dst-type LOCAL \
		-m comment --comment wgks-wg -j RETURN
	# IGMP reports (TTL 1, to 224.0.0.0/24): IPv4's MLD, link upkeep.
	in_g iptables -t raw -A "$chain" -p igmp -d 224.0.0.0/24 -m ttl --ttl-eq 1 \
		-m comment --comment wgks-igmp -j RETURN
	in_g iptables -t raw -A "$chain" -m comment --comment wgks-leak -j RETURN

	in_g ip6tables -t raw -N "$chain"
	in_g ip6tables -t raw -A PREROUTING -i "$gveth" -j "$chain"
	in_g ip6tables -t raw -A "$chain" -p udp --dport "$WG_PORT" -m length --length 0:79 \
		-m comment --comment wgks-leak -j RETURN
	in_g ip6tables -t raw -A "$chain" -p udp --dport "$WG_PORT" -m addrtype --dst-type LOCAL \
		-m comment --comment wgks-wg -j RETURN
	for t in 133 134 135 136 137; do
		in_g ip6tables -t raw -A "$chain" -p ipv6-icmp --icmpv6-type "$t" \
			-m hl --hl-eq 255 -m comment --comment wgks-ndp -j RETURN
	done
	for t in 130 131 132 143; do
		in_g ip6tables -t raw -A "$chain" -p ipv6-icmp --icmpv6-type "$t" \
			-m hl --hl-eq 1 -m comment --comment wgks-mld -j RETURN
	done
	in_g ip6tables -t raw -A "$chain" -m comment --comment wgks-leak -j RETURN
}

# counted ID COMMENT [iptables|ip6tables]: sum of the packet counters of the
# rules tagged COMMENT in client ID's chain, in one family or (default) both.
counted() {
	local chain=${CL_CHAIN[$1]} comment=$2 tool total=0 n
	for tool in ${3:-iptables ip6tables}; do
		n=$(in_g "$tool" -t raw -nvxL "$chain" |
			awk -v c="/* $comment */" 'index($0, c) { s += $1 } END { print s + 0 }')
		total=$((total + n))
	done
	echo "$total"
}

# leaks [ID...]: leaked packets counted since the last reset (default: all clients).
leaks() {
	local ids=("$@") id total=0
	(( $# )) || ids=("${LEAK_IDS[@]}")
	for id in "${ids[@]}"; do total=$((total + $(counted "$id" wgks-leak))); done
	echo "$total"
}

reset_counters() {
	local id
	for id in "${LEAK_IDS[@]}"; do
		in_g iptables -t raw -Z "${CL_CHAIN[$id]}"
		in_g ip6tables -t raw -Z "${CL_CHAIN[$id]}"
	done
}

# ---------------------------------------------------------------- WireGuard

# The server: wireguard-go (it daemonizes) configured with wg, one peer per
# client, plus echo listeners: TCP on every address, UDP on the internet's.
setup_server() {
	local id
	umask 077
	wg genkey >"$TMP/server.key"
	wg pubkey <"$TMP/server.key" >"$TMP/server.pub"
	env -u WG_PROCESS_FOREGROUND ip netns exec "$NS_G" wireguard-go "$WG_S" \
		>"$TMP/wg-go-server.log" 2>&1 3>&- 4>&- 9>&-
	PIDS+=("$(wggo_pid "$NS_G" "$WG_S")")
	in_g wg set "$WG_S" listen-port "$WG_PORT" private-key "$TMP/server.key"
	for id in c d; do
		wg genkey >"$TMP/$id.key"
		wg pubkey <"$TMP/$id.key" >"$TMP/$id.pub"
		in_g wg set "$WG_S" peer "$(cat "$TMP/$id.pub")" \
			allowed-ips "10.78.0.${CL_HOST[$id]}/32,fd78::${CL_HOST[$id]}/128"
	done
	ip -n "$NS_G" addr add 10.78.0.1/24 dev "$WG_S"
	ip -n "$NS_G" addr add fd78::1/64 dev "$WG_S"
	ip -n "$NS_G" link set "$WG_S" up

	start_bg "$NS_G" socat TCP4-LISTEN:$TCP_PORT,reuseaddr,fork PIPE
	start_bg "$NS_G" socat TCP6-LISTEN:$TCP_PORT,ipv6only=1,reuseaddr,fork PIPE
	# UDP answers must come from the address asked, so bind to it.
	start_bg "$NS_G" socat UDP4-RECVFROM:$UDP_PORT,bind=$NET4,fork PIPE
	start_bg "$NS_G" socat "UDP6-RECVFROM:$UDP_PORT,bind=[$NET6],fork" PIPE
}

# hooks SYSTEM: the PostUp/PreDown lines of a wg-quick config for the kill
# switch under test, as a user would write them. none: no kill switch.
hooks() {
	case $1 in
	none) ;;
	recipe) printf 'PostUp = %s\nPreDown = %s\n' "$RECIPE_UP" "$RECIPE_DOWN" ;;
	wgks) printf 'PostUp = %s attach %%i%s\nPreDown = %s detach %%i\n' "$WGKS" \
		"${ATTACH_OPTS:+ $ATTACH_OPTS}" "$WGKS" ;;
	*) echo "unknown system $1" >&2; return 1 ;;
	esac
}

# write_conf ID SYSTEM [ENDPOINT]: $TMP/<tunnel name>.conf for client ID,
# with the kill switch of SYSTEM. ENDPOINT defaults to G's IPv4 underlay address.
# ALLOWED_IPS (default everything: wg-quick then sets fwmark 51820) and
# ATTACH_OPTS (more options for wgks-bpf attach) change it when set.
write_conf() {
	local id=$1 system=$2 h=${CL_HOST[$1]}
	local endpoint=${3:-10.${CL_NET[$1]}.0.1:$WG_PORT}
	cat >"$TMP/${CL_WG[$id]}.conf" <<-EOF
	[Interface]
	PrivateKey = $(cat "$TMP/$id.key")
	Address = 10.78.0.$h/32, fd78::$h/128
	$(hooks "$system")

	[Peer]
	PublicKey = $(cat "$TMP/server.pub")
	Endpoint = $endpoint
	AllowedIPs = ${ALLOWED_IPS:-0.0.0.0/0, ::/0}
	EOF
}

# wg_quick ID up|down: wg-quick in client ID's namespace, with wireguard-go.
wg_quick() {
	WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go \
		ip netns exec "${CL_NS[$1]}" env -u WG_PROCESS_FOREGROUND \
		wg-quick "$2" "$TMP/${CL_WG[$1]}.conf" 3>&- 4>&- 9>&-
}

# What `wg-quick down` would have removed, had a vanished interface still
# existed: its policy routing rules (a second `up` fails on them with EEXIST)
# and its nft tables, whose "not from IFACE to 10.78.0.2: drop" rule would
# drop every reply arriving through a new interface.
remove_wg_quick_leftovers() {
	local ns=${CL_NS[$1]} ifname=${CL_WG[$1]} v pf
	for v in -4 -6; do
		ip -n "$ns" "$v" rule del table "$FWMARK" 2>/dev/null || true
		ip -n "$ns" "$v" rule del table main suppress_prefixlength 0 2>/dev/null || true
	done
	for pf in ip ip6; do
		ip netns exec "$ns" nft delete table "$pf" "wg-quick-$ifname" 2>/dev/null || true
	done
}

# crash ID: kill -9 the wireguard-go of client ID's tunnel (no PreDown runs)
# and wait for its interface to vanish.
crash() {
	local ns=${CL_NS[$1]} ifname=${CL_WG[$1]} pid
	pid=$(wggo_pid "$ns" "$ifname") || { echo "no wireguard-go serves $ifname"; return 1; }
	echo "kill -9 $pid (wireguard-go $ifname)"
	kill -9 "$pid"
	link_gone "$1"
}

# Wait up to 3 s for client ID's tunnel interface to be gone.
link_gone() {
	local i
	for i in $(seq 30); do
		ip -n "${CL_NS[$1]}" link show "${CL_WG[$1]}" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- probes

# The leak suite's own probes, beyond tests/lib/probes.sh's: Python's
# (probe.py), for what socat cannot do.

# dns_query NS HOST [DEV]: one DNS query to HOST:53; fails if refused.
dns_query() { nsx "$1" python3 "$PROBE" dns "$2" ${3:+"$3"}; }
# tcp_local NS HOST: a TCP connection to a listener on HOST in NS.
tcp_local() { nsx "$1" python3 "$PROBE" local "$2"; }
