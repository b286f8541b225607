#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make test-system`: wgks-bpf against the real managers. A Debian guest
# (Debian's kernel, systemd as PID 1, NetworkManager, systemd-networkd,
# wireguard-tools, the in-kernel WireGuard), with wgks-bpf installed by
# `make install` as a user would, boots in qemu on a tap device whose other
# end is a throwaway network namespace on the host: the "peer", which is
# the guest's LAN gateway, DHCP server, resolver, WireGuard server and
# "internet". qemu records every frame of the guest's NIC (filter-dump), and
# every plaintext packet the guest sends is sorted and counted (pcap.py).
# The scenarios (scenarios.sh) run one guest at a time and give one table.
#
#   1. The image: `mmdebstrap` builds the guest's root file system from
#      Debian's archive (the packages below), once per recipe, into
#      $WGKS_SYSTEM_CACHE (default /var/cache/wgks-bpf-system), outside the
#      work tree so that CI's fresh clones find it warm.
#   2. Per run: a copy of it gets `make install DESTDIR=...` (the default
#      PREFIX, /usr/local, as README tells users), the test agent and the
#      WireGuard keys of this run; per boot, a variant of that (units
#      enabled or not, with `systemctl --root`) becomes an ext4 disk with
#      `mke2fs -d` (no mount, no loop device).
#   3. Per boot: qemu (software emulation) boots the image's own kernel and
#      initramfs from /boot, with root on virtio-blk; the console is the
#      boot's log, ttyS1 a pipe to the agent (agent.sh), which runs the
#      host's scripts in the guest.
#
# A guest that does not boot (no agent within WGKS_SYSTEM_BOOT_TIMEOUT) is a
# failure, and its console log is printed; so is every failed scenario's.
#
# Usage: run.sh --src DIR --out DIR
# Environment: WGKS_SYSTEM_CACHE, WGKS_SYSTEM_BOOT_TIMEOUT (s, default 240),
#   WGKS_SYSTEM_ONLY (scenario names or prefixes, space-separated),
#   WGKS_GUEST_APPEND (more kernel command line, e.g. to debug a boot).
set -euo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source-path=SCRIPTDIR source=../lib/guest.sh
. "$HERE/../lib/guest.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/tap.sh
. "$HERE/../lib/tap.sh"
LOG_TAG=test-system
SRC="" OUT=""
while (($#)); do
	case $1 in
	--src) SRC=$(readlink -f "$2"); shift 2 ;;
	--out) OUT=$(readlink -m "$2"); shift 2 ;;
	*) echo "usage: $0 --src DIR --out DIR" >&2; exit 2 ;;
	esac
done
[[ -f "$SRC/Makefile" && -n "$OUT" ]] || { echo "usage: $0 --src DIR --out DIR" >&2; exit 2; }
((EUID == 0)) || die "must run as root (qemu, a network namespace, mmdebstrap)"

CACHE=${WGKS_SYSTEM_CACHE:-/var/cache/wgks-bpf-system}
BOOT_TIMEOUT=${WGKS_SYSTEM_BOOT_TIMEOUT:-240}
# One guest at a time (two cores here): give it both. Multi-threaded TCG
# runs a guest CPU per host thread.
GUEST_SMP=2 GUEST_MEM=1024
# The whole life of one guest, scenarios included.
GUEST_TIMEOUT=900

# ---------------------------------------------------------------- the image

SUITE=bookworm
MIRRORS=("deb http://deb.debian.org/debian $SUITE main"
	"deb http://deb.debian.org/debian $SUITE-updates main"
	"deb http://deb.debian.org/debian-security $SUITE-security main")
# What users of a small Debian with NetworkManager or systemd-networkd have:
# the resolver and time client that talk at boot, polkit for NetworkManager,
# nftables and sysctl (procps) for wg-quick, ping for the probes, and
# Debian's kernel (6.1, with the WireGuard module) with its initramfs.
GUEST_PACKAGES=(systemd-sysv udev dbus polkitd network-manager systemd-resolved
	systemd-timesyncd wireguard-tools nftables iproute2 iputils-ping procps
	linux-image-cloud-amd64 initramfs-tools)
KERNEL_META=linux-image-cloud-amd64
# A change of any of these, or a new kernel in the archive, rebuilds the
# image. The number counts changes to rootfs_fixups.
IMAGE_RECIPE="recipe 1; ${MIRRORS[*]}; ${GUEST_PACKAGES[*]}"

# What every guest has besides Debian's packages, done once with the image:
# an fstab for the disk, a fixed machine id (an empty one would make every
# boot a "first boot", which applies presets), and a user for the
# NetworkManager connection owned by someone other than root.
rootfs_fixups() {
	local root=$1
	echo '/dev/vda / ext4 defaults 0 1' >"$root/etc/fstab"
	echo wgks-guest >"$root/etc/hostname"
	echo 5e1f7e2ab0c34b5c9d0e7f6a1b2c3d4e >"$root/etc/machine-id"
	chroot "$root" useradd --create-home --shell /bin/bash alice
}

# rootfs: the cached root file system for today's recipe; built if missing
# (under a lock: two runs at once build it once).
rootfs() {
	local kernel key dir tmp lock
	exec {lock}>"$CACHE/lock"
	flock -w 1800 "$lock" || die "another run held $CACHE/lock for 30 minutes"
	kernel=$(resolve "$KERNEL_META") || die "apt knows no package $KERNEL_META (apt-get update?)"
	key=$(printf '%s; kernel %s' "$IMAGE_RECIPE" "$kernel" | sha256sum | cut -c1-16)
	dir="$CACHE/rootfs-$key"
	if [[ -f "$dir.ok" ]]; then
		echo "$dir"
		return 0
	fi
	log "building the guest's root file system with mmdebstrap ($kernel)"
	# What an interrupted build left.
	rm -rf "$dir" "$dir.ok" "$CACHE"/build.*
	tmp=$(mktemp -d "$CACHE/build.XXXXXX")
	mmdebstrap --variant=minbase --include="$(IFS=,; echo "${GUEST_PACKAGES[*]}")" \
		"$SUITE" "$tmp/root" "${MIRRORS[@]}" >"$tmp/mmdebstrap.log" 2>&1 ||
		{ cat "$tmp/mmdebstrap.log" >&2; rm -rf "$tmp"; die "mmdebstrap failed"; }
	rootfs_fixups "$tmp/root"
	if ! compgen -G "$tmp/root/boot/vmlinuz-*" >/dev/null || ! compgen -G "$tmp/root/boot/initrd.img-*" >/dev/null; then
		die "the image has no kernel or initramfs in /boot"
	fi
	mv "$tmp/root" "$dir"
	rm -rf "$tmp"
	echo "$IMAGE_RECIPE; kernel $kernel" >"$dir.ok"
	# Images of older recipes or kernels are of no further use.
	find "$CACHE" -mindepth 1 -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$key" ! -name "rootfs-$key.ok" \
		-exec rm -rf {} +
	echo "$dir"
}

# ---------------------------------------------------------------- the peer

NS=wgks-sys$$
WGS=wgsys$$            # the WireGuard server (wireguard-go: the host has no module)
GUEST_MAC=52:54:00:77:00:02
ENDPOINT=203.0.113.1:51820
PEER_PIDS=()
GUEST_DIRS=()

peer_up() {
	local d=$OUT/peer
	mkdir -p "$d"
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	# The "internet" and the WireGuard server's public address.
	ip -n "$NS" addr add 198.18.0.1/32 dev lo
	ip -n "$NS" addr add 2001:db8:77::1/128 dev lo
	ip -n "$NS" addr add 203.0.113.1/32 dev lo
	# The guest's LAN: a tap device made before qemu opens it, so that the
	# addresses and dnsmasq are there before the guest's first packet.
	ip -n "$NS" tuntap add dev tap0 mode tap
	ip -n "$NS" addr add 10.99.0.1/24 dev tap0
	ip -n "$NS" addr add fd99::1/64 dev tap0 nodad
	ip -n "$NS" link set tap0 up
	# The WireGuard server. WG_PROCESS_FOREGROUND: its PID is ours to end.
	ip netns exec "$NS" env WG_PROCESS_FOREGROUND=1 wireguard-go "$WGS" >"$d/wireguard-go.log" 2>&1 &
	PEER_PIDS+=($!)
	wait_host 10 test -S "/var/run/wireguard/$WGS.sock" || die "wireguard-go did not start"
	ip netns exec "$NS" wg set "$WGS" listen-port 51820 private-key "$KEYS/server.key" \
		peer "$(cat "$KEYS/guest.pub")" allowed-ips 10.100.0.2/32,fd64::2/128
	ip -n "$NS" addr add 10.100.0.1/24 dev "$WGS"
	ip -n "$NS" addr add fd64::1/64 dev "$WGS" nodad
	ip -n "$NS" link set "$WGS" up
	# DHCPv4, router advertisements (stateless: addresses by SLAAC, the
	# resolver by DHCPv6) and DNS that answers every name with the
	# "internet" addresses, on the LAN and in the tunnel.
	ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root \
		--no-resolv --no-hosts --bind-dynamic --interface=tap0 --interface="$WGS" \
		--address=/#/198.18.0.1 --address=/#/2001:db8:77::1 \
		--dhcp-range=10.99.0.100,10.99.0.200,1h --dhcp-option=option:router,10.99.0.1 \
		--dhcp-option=option:dns-server,10.99.0.1 --dhcp-option=option:ntp-server,10.99.0.1 \
		--enable-ra --dhcp-range=::,constructor:tap0,ra-stateless,64 \
		--dhcp-option='option6:dns-server,[fd99::1]' \
		--dhcp-leasefile="$d/leases" --log-facility="$d/dnsmasq.log" --log-queries --log-dhcp \
		>"$d/dnsmasq.out" 2>&1 &
	PEER_PIDS+=($!)
}

wait_host() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.2
	done
}

cleanup() {
	local pid
	set +e
	guest_stop "${GUEST_DIRS[@]}"
	for pid in "${PEER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PEER_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	ip netns list | grep -qw "$NS" && ip netns del "$NS"
	rm -f "/var/run/wireguard/$WGS.sock"
	rm -rf "$OUT/stage" "$OUT"/*/root "$OUT"/*/disk.img
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- per run

# The WireGuard keys of this run, the guest's and the server's.
make_keys() {
	KEYS=$OUT/keys
	mkdir -p "$KEYS"
	local k
	for k in guest server; do
		(umask 077 && wg genkey >"$KEYS/$k.key")
		wg pubkey <"$KEYS/$k.key" >"$KEYS/$k.pub"
	done
}

# stage ROOTFS: $OUT/stage, the image of this run: the cached root file
# system, wgks-bpf installed as README says, the agent and the WireGuard
# configurations (used or not by each boot).
stage() {
	local root=$OUT/stage
	rm -rf "$root"
	cp -a "$1" "$root"
	make -s -C "$SRC" install DESTDIR="$root" >"$OUT/make-install.log" 2>&1 ||
		{ cat "$OUT/make-install.log" >&2; die "make install failed"; }
	install -D -m 0755 "$HERE/agent.sh" "$root/usr/local/libexec/wgks-test/agent"
	# The scripts' helpers, and the library part they use, as in the tree.
	install -D -m 0644 "$HERE/guest.sh" "$root/usr/local/lib/wgks-test/system/guest.sh"
	install -D -m 0644 "$HERE/../lib/wgks.sh" "$root/usr/local/lib/wgks-test/lib/wgks.sh"
	cat >"$root/etc/systemd/system/wgks-test-agent.service" <<-EOF
		# The test agent (tests/system/agent.sh): not part of wgks-bpf.
		[Unit]
		Description=wgks-bpf system test agent on ttyS1
		DefaultDependencies=no
		[Service]
		ExecStart=/usr/local/libexec/wgks-test/agent /dev/ttyS1
		Restart=always
		[Install]
		WantedBy=sysinit.target
	EOF
	systemctl --root="$root" enable wgks-test-agent.service >/dev/null 2>&1
	# One WireGuard configuration, for wg-quick (with the kill switch in
	# PostUp/PreDown, as README shows), NetworkManager (imported) and
	# systemd-networkd (below).
	local conf
	conf="[Interface]
PrivateKey = $(cat "$KEYS/guest.key")
Address = 10.100.0.2/24, fd64::2/64

[Peer]
PublicKey = $(cat "$KEYS/server.pub")
Endpoint = $ENDPOINT
AllowedIPs = 0.0.0.0/0, ::/0"
	mkdir -p "$root/etc/wireguard" "$root/root/nm"
	printf '%s\n' "$conf" | sed '/^Address/a PostUp = wgks-bpf attach %i\nPreDown = wgks-bpf detach %i' \
		>"$root/etc/wireguard/wg0.conf"
	printf '%s\n' "$conf" >"$root/root/nm/wg0.conf"
	chmod 600 "$root/etc/wireguard/wg0.conf" "$root/root/nm/wg0.conf"
	cp "$root"/boot/vmlinuz-* "$OUT/vmlinuz"
	cp "$root"/boot/initrd.img-* "$OUT/initrd.img"
}

# image DIR VARIANT...: DIR/disk.img, the stage plus each VARIANT (a
# function that changes the root file system given to it). Hard links:
# the variants only add and remove files, never change one in place.
image() {
	local d=$1 v root
	shift
	root=$d/root
	rm -rf "$root"
	cp -al "$OUT/stage" "$root"
	for v in "$@"; do "$v" "$root"; done
	rm -f "$d/disk.img"
	truncate -s 2G "$d/disk.img"
	mke2fs -q -t ext4 -L root -d "$root" "$d/disk.img"
	rm -rf "$root"
}

# ---------------------------------------------------------------- a guest

AGENT_TO="" AGENT_FROM=""
GUEST_DIR=""

# boot NAME APPEND VARIANT...: boots a guest on the image with the VARIANTs
# and waits for its agent. Fails (and prints the console) if it does not
# come up within BOOT_TIMEOUT.
boot() {
	local name=$1 append=$2 d=$OUT/$1 line
	shift 2
	rm -rf "$d"; mkdir -p "$d"
	image "$d" "$@"
	mkfifo "$d/ctl.in" "$d/ctl.out"
	GUEST_DIR=$d
	GUEST_DIRS+=("$d")
	GUEST_WRAP=(ip netns exec "$NS")
	log "booting $name${append:+ ($append)}"
	guest_run "$d" "$OUT/vmlinuz" "$OUT/initrd.img" \
		"console=ttyS0 root=/dev/vda rw panic=-1 mitigations=off $append ${WGKS_GUEST_APPEND:-}" \
		-drive "file=$d/disk.img,format=raw,if=virtio" \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vnet_hdr=off \
		-device "virtio-net-pci,netdev=n0,mac=$GUEST_MAC" \
		-object "filter-dump,id=dump0,netdev=n0,file=$d/net.pcap" \
		-chardev "pipe,id=ctl,path=$d/ctl" -serial chardev:ctl &
	echo $! >"$d/run.pid"
	# Read-write opens of the FIFOs never block, whoever comes first.
	exec {AGENT_TO}<>"$d/ctl.in" {AGENT_FROM}<>"$d/ctl.out"
	BOOT_START=$SECONDS
	while IFS= read -r -t $((BOOT_TIMEOUT - (SECONDS - BOOT_START) + 1)) line <&"$AGENT_FROM"; do
		if [[ $line == "WGKS-AGENT READY"* ]]; then
			log "$name: agent up after $((SECONDS - BOOT_START)) s"
			return 0
		fi
		((SECONDS - BOOT_START < BOOT_TIMEOUT)) || break
	done
	log "$name: no agent after $BOOT_TIMEOUT s: the guest did not boot"
	return 1
}

# g [-t SECONDS] SCRIPT: runs SCRIPT in the guest (with guest.sh's helpers);
# prints its output and returns its status; 124 if it does not answer.
g() {
	local t=120 id line rid rc out end
	if [[ $1 == -t ]]; then t=$2; shift 2; fi
	id=$(date +%s%N)
	printf '%s %s\n' "$id" "$(printf '. /usr/local/lib/wgks-test/system/guest.sh\n%s\n' "$1" | base64 -w0)" >&"$AGENT_TO"
	end=$((SECONDS + t))
	while ((SECONDS < end)) && IFS= read -r -t $((end - SECONDS)) line <&"$AGENT_FROM"; do
		read -r rid rc out <<<"$line"
		[[ $rid == "$id" ]] || continue
		[[ -z "$out" ]] || printf '%s\n' "$out" | base64 -d
		return "$rc"
	done
	echo "(the guest did not answer within $t s)"
	return 124
}

# shutdown_guest [now]: powers the guest off (or, with `now`, ends qemu)
# and waits for qemu to end.
shutdown_guest() {
	if [[ ${1:-} != now ]]; then
		g -t 10 'systemctl --no-block poweroff' >/dev/null || true
		wait_host 90 test -f "$GUEST_DIR/qemu.rc" || true
	fi
	guest_stop "$GUEST_DIR"
	wait "$(cat "$GUEST_DIR/run.pid")" 2>/dev/null || true
	exec {AGENT_TO}>&- {AGENT_FROM}<&-
	# 2 GB each (sparse, ~0.5 GB used): the logs and the pcap stay.
	rm -f "$GUEST_DIR/disk.img"
}

# ---------------------------------------------------------------- leaks

# mark: the number of frames recorded so far on the current guest's NIC.
mark() { python3 "$HERE/pcap.py" mark "$GUEST_DIR/net.pcap"; }

# count FROM [TO]: what the guest sent between two marks, sorted
# (pcap.py): sets C_<class> and LEAK_KINDS, and LEAK_LINES.
count() {
	local out kv k v
	out=$(python3 "$HERE/pcap.py" count "$GUEST_DIR/net.pcap" --mac "$GUEST_MAC" \
		--endpoint "$ENDPOINT" --from "$1" ${2:+--to "$2"})
	for kv in $(head -n1 <<<"$out"); do   # one line of key=value words
		k=${kv%%=*} v=${kv#*=}
		printf -v "C_$k" '%s' "$v"
	done
	LEAK_KINDS=$(sed -n 2p <<<"$out")
	LEAK_LINES=$(sed -n '3,$p' <<<"$out")
}

# ---------------------------------------------------------------- main

prepare() {
	mkdir -p "$OUT" "$CACHE"
	log "cache: $CACHE"
	apt_lists_know "$KERNEL_META"
	make_keys
	stage "$(rootfs)"
	log "image: $(du -sh "$OUT/stage" | cut -f1), kernel $(basename "$(compgen -G "$OUT/stage/boot/vmlinuz-*")")"
	peer_up
}

# shellcheck source-path=SCRIPTDIR source=scenarios.sh
. "$HERE/scenarios.sh"
# Sourced (with --src and --out set), it only defines: to drive a guest by
# hand while writing a scenario (prepare; boot NAME "" VARIANT...; g ...).
[[ ${BASH_SOURCE[0]} != "$0" ]] || { prepare; run_scenarios; }
