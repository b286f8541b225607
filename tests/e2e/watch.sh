#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Seeing what the kill switch does: `status --json` counters move with the
# traffic, `watch --json` reports blocked UDP, TCP and ICMP packets with the
# right fields and the sender's uid, a flood is rate-limited (and the
# held-back events are counted), and no events are collected once the
# watcher is gone. All in a throwaway namespace.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$(dirname "$(readlink -f "$0")")/../lib/tap.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/sandbox.sh
. "$(dirname "$(readlink -f "$0")")/../lib/sandbox.sh"

BIN=${1:?usage: watch.sh /path/to/wgks-bpf}
TAG=$$
NS=wgksw$TAG
NS_LAN=wgkswl$TAG
OUT=$(mktemp /tmp/wgks-watch.XXXXXX)
WATCH_PID=
DELEG=
# Debian's python3: a user other than root must be able to run it.
PY=/usr/bin/python3

{ [ "$(id -u)" = 0 ] && [ -x "$PY" ]; } || skip_all "watch.sh needs root and $PY"

cleanup() {
	set +e
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
	drop_ns "$BIN" "$NS" "$NS_LAN"
	[ -n "$DELEG" ] && find "$DELEG" -depth -type d -exec rmdir {} + 2>/dev/null
	rm -f "$OUT"
}
trap cleanup EXIT

in_ns() { ip netns exec "$NS" "$@"; }

# UDP datagrams to HOST:PORT (as the given user), errors ignored: the policy drops them.
udp_sends() { # USER COUNT HOST PORT
	in_ns setpriv --reuid="$1" --regid="$1" --clear-groups "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[1])):
    try: s.sendto(b"wgks", (sys.argv[2], int(sys.argv[3])))
    except OSError: pass' "$2" "$3" "$4"
}

# Counter value of REASON (packets) in this namespace, from status --json.
counter() {
	in_ns "$BIN" status --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
ns = [n for n in d["namespaces"] if n["current"]][0]
print(ns["counters"][sys.argv[1]]["packets"])' "$1"
}

# Events in the watch output matching a Python condition on `e`.
events() {
	"$PY" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if eval(sys.argv[2]): n += 1
print(n)' "$OUT" "$1"
}

e2e_lock

# The protected namespace, and a host on its "LAN" that probes it.
ip netns add "$NS"
ip netns add "$NS_LAN"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add tun0 mode tun
ip -n "$NS" link add eth0 type veth peer name eth0p netns "$NS_LAN"
for dev in tun0 eth0; do ip -n "$NS" link set "$dev" up; done
ip -n "$NS_LAN" link set eth0p up
ip -n "$NS" addr add 10.66.0.1/24 dev eth0
ip -n "$NS" addr add fd66::1/64 dev eth0 nodad
ip -n "$NS" addr add 10.67.0.1/24 dev tun0
ip -n "$NS_LAN" addr add 10.66.0.2/24 dev eth0p
ip -n "$NS_LAN" addr add fd66::2/64 dev eth0p nodad
# It routes the "internet" for the LAN host (forwarding), back out of eth0.
ip -n "$NS_LAN" route add 198.18.0.0/24 via 10.66.0.1
ip -n "$NS" route add 198.18.0.0/24 via 10.66.0.2
in_ns sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
	net.ipv4.conf.eth0.send_redirects=0
in_ns "$BIN" attach tun0 --fwmark 0x10 2>/dev/null

# --- status --json counters move as expected ---
blocked0=$(counter blocked)
tunnel0=$(counter tunnel)
udp_sends 0 5 10.66.0.2 9
udp_sends 0 5 10.67.0.2 9
check "status: blocked counter +5" test "$(counter blocked)" = $((blocked0 + 5))
check "status: tunnel counter moved" test "$(counter tunnel)" -ge $((tunnel0 + 5))

# --- nothing is collected while no one watches ---
check "no watcher: the event map's deadline is unset" \
	sh -c "bpftool map dump name wgks_watch | grep -q '\"deadline_ns\": 0'"

# --- watch --json reports blocked UDP, TCP, ICMP with fields and uid ---
# Not through a function: $! must be the watcher itself (ip netns exec execs it).
ip netns exec "$NS" "$BIN" watch --json >"$OUT" 2>/dev/null 9>&- &
WATCH_PID=$!
sleep 1.2
# Passed while watched: through the tunnel and to loopback (never reported).
udp_sends 0 3 10.67.0.2 9
udp_sends 0 3 127.0.0.1 9
udp_sends 65534 1 10.66.0.2 4242
in_ns "$PY" -c '
import socket
s = socket.socket(); s.settimeout(2)
try: s.connect(("10.66.0.2", 4343))
except OSError: pass'
in_ns ping -c1 -W1 10.66.0.2 >/dev/null 2>&1 || true
sleep 0.5
check "watch: UDP from uid 65534 to 10.66.0.2:4242 on eth0" test "$(events \
	'e["proto"] == "udp" and e["dst"] == "10.66.0.2" and e["dport"] == 4242 and e["uid"] == 65534 and e["device"] == "eth0" and e["src"] == "10.66.0.1" and e["sport"] > 0')" -ge 1
check "watch: TCP SYN to 10.66.0.2:4343 from root" test "$(events \
	'e["proto"] == "tcp" and e["dport"] == 4343 and e["uid"] == 0 and e["user"] == "root"')" -ge 1
check "watch: ICMP to 10.66.0.2" test "$(events 'e["proto"] == "icmp" and e["dst"] == "10.66.0.2"')" -ge 1
check "watch: the namespace is this one's" test "$(events \
	"e['netns'] == $(in_ns "$BIN" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["this_netns"])')")" -ge 3
check "watch: nothing that passed is reported" \
	test "$(events 'e["dst"] in ("10.67.0.2", "127.0.0.1")')" = 0
check "watch: a socket's packets say reason blocked, no ingress" test "$(events \
	'e["dport"] == 4242 and e["reason"] == "blocked" and e["ingress"] is None')" -ge 1

# --- what the backstop blocks: the kernel's own replies, forwarded packets ---
# The LAN host knocks on a closed IPv6 port: the kernel's RST has no socket
# the cgroup hook would judge.
ip netns exec "$NS_LAN" "$PY" -c '
import socket
s = socket.socket(socket.AF_INET6); s.settimeout(1)
try: s.connect(("fd66::1", 4545))
except OSError: pass'
# The LAN host sends to the "internet" through the protected namespace.
ip netns exec "$NS_LAN" "$PY" -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("198.18.0.1", 4646))'
sleep 0.5
check "watch: the kernel's RST to a LAN probe, blocked at the backstop" test "$(events \
	'e["reason"] == "kernel" and e["proto"] == "tcp" and e["sport"] == 4545 and e["dst"] == "fd66::2" and e["device"] == "eth0" and e["uid"] is None and e["user"] is None and e["cgroup"] is None')" -ge 1
check "watch: a forwarded packet, blocked at the backstop, with where it came in" test "$(events \
	'e["reason"] == "forward" and e["ingress"] == "eth0" and e["src"] == "10.66.0.2" and e["dst"] == "198.18.0.1" and e["dport"] == 4646 and e["uid"] is None and e["cgroup"] is None')" -ge 1
check "status: the backstop's counters moved (kernel, forward)" sh -c \
	"[ \"\$(ip netns exec '$NS' '$BIN' status --json | '$PY' -c 'import json,sys; n=[n for n in json.load(sys.stdin)[\"namespaces\"] if n[\"current\"]][0][\"counters\"]; print(min(n[\"kernel\"][\"packets\"], n[\"forward\"][\"packets\"]))')\" -ge 1 ]"

# --- names from another user cannot forge the JSON ---
# A cgroup subtree delegated to uid 65534, who names a child cgroup to end
# the "cgroup" string and forge a uid of 0, and sends from it.
CG_ROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
DELEG="$CG_ROOT/wgks-watch-$TAG"
EVIL='x","uid":0,"forged":"'$'\xff'
mkdir "$DELEG"
chown 65534:65534 "$DELEG" "$DELEG/cgroup.procs" "$DELEG/cgroup.subtree_control"
# shellcheck disable=SC2016  # the inner scripts expand their own arguments
# (nsenter --net, not ip netns exec: the cgroup tree must stay in view.)
bash -c 'echo $$ >"$1/cgroup.procs" &&
	exec nsenter --net="/run/netns/$4" setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '"'"'
		mkdir "$1/$2" && echo $$ >"$1/$2/cgroup.procs" && exec "$3" -c "
import socket
try: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b\"x\", (\"10.66.0.2\", 4444))
except PermissionError: pass  # blocked, as it should be"'"'"' \
	sh "$1" "$2" "$3"' deleg "$DELEG" "$EVIL" "$PY" "$NS" || true
sleep 0.5
check "watch --json: every line is one JSON object" "$PY" -c '
import json, sys
for n, line in enumerate(open(sys.argv[1], "rb"), 1):
    try:
        e = json.loads(line)
    except ValueError as err:
        sys.exit("line %d is not JSON (%s): %r" % (n, err, line))
    if not isinstance(e, dict):
        sys.exit("line %d is not an object" % n)' "$OUT"
check "watch --json: the hostile cgroup name is one string, the uid not forged" test "$(events \
	'e["dport"] == 4444 and e["uid"] == 65534 and "forged" not in e and e["cgroup"].endswith("/wgks-watch-'"$TAG"'/x\",\"uid\":0,\"forged\":\"\ufffd")')" = 1

# --- a flood is rate-limited, and what is held back is counted ---
before=$(wc -l <"$OUT")
t0=$(date +%s%N)
udp_sends 0 20000 10.66.0.2 9
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sleep 0.5
lines=$(( $(wc -l <"$OUT") - before ))
# 100 a second and a burst of 20, per CPU: what the flood may produce at most.
most=$(( $(nproc) * (20 + 100 * (ms + 500) / 1000) ))
suppressed=$(tail -n +"$((before + 1))" "$OUT" | "$PY" -c '
import json, sys
print(sum(json.loads(l)["suppressed"] for l in sys.stdin))')
check "flood of 20000 in $ms ms: $lines events reported, at most $most (rate limit holds)" \
	test "$lines" -le "$most" -a "$lines" -ge 1
check "flood: held-back events are counted ($suppressed)" test "$suppressed" -gt 1000

# --- the watcher gone, the flow stops ---
kill "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null || true
WATCH_PID=
check "watcher gone: deadline reset" \
	sh -c "bpftool map dump name wgks_watch | grep -q '\"deadline_ns\": 0'"

# --- a watcher killed outright cannot reset it: the deadline runs out by itself ---
ip netns exec "$NS" "$BIN" watch --json >/dev/null 2>&1 9>&- &
WATCH_PID=$!
sleep 1.2
kill -9 "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null || true
WATCH_PID=
# The deadline is on CLOCK_MONOTONIC (bpf_ktime_get_ns), as Python's monotonic_ns.
# deadline WANT: WANT "set" (in the future) or "passed" (set, and past).
deadline() {
	bpftool -j map dump name wgks_watch | "$PY" -c '
import json, sys, time
e = json.load(sys.stdin)[0]
d = e.get("formatted", e)["value"]["deadline_ns"]  # bpftool nests BTF-named fields
now = time.monotonic_ns()
print("deadline %d ms from now" % ((d - now) // 1000000))
sys.exit(0 if d > 0 and (d > now) == (sys.argv[1] == "set") else 1)' "$1"
}
check "watcher killed: a deadline was set" deadline set
sleep 3.2
check "watcher killed: the deadline has passed 3 s later" deadline passed
# Past it, blocked packets make no event: the rate limiter is not even consulted.
limiter_before=$(bpftool -j map dump name wgks_evlimit | md5sum)
udp_sends 0 50 10.66.0.2 9
check "watcher killed: blocked packets after the deadline make no events" \
	test "$(bpftool -j map dump name wgks_evlimit | md5sum)" = "$limiter_before"

summary
