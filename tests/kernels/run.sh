#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make test-kernels`: the same checks (tests/kernels/checks.sh) on Debian's
# 6.1 and 6.12 kernels, each booted in qemu, and on the host's own kernel;
# then one table, kernel x check.
#
#   1. Resolve each kernel meta-package (linux-image-cloud-amd64 -> 6.1,
#      linux-image-6.12-cloud-amd64 -> 6.12) to a package and version with
#      apt, download it with `apt-get download` (no install, /boot untouched)
#      and keep, per version, its vmlinuz and a cpio of the few modules the
#      checks need: wireguard, veth, nf_tables and their dependencies.
#   2. Pack the user space: busybox-static (downloaded from Debian's archive,
#      not installed) for the shell and small tools, and the host's own
#      Debian binaries with their shared libraries (ldd) for the rest: bash,
#      ip, tc, wg, nft, ping, socat, setarch, bpftool, and the freshly built
#      wgks-bpf, verdict tests and failfast probe; checks.sh goes with the
#      test library (tests/lib), laid out as in the tree. An initramfs this
#      way is ~20 MB, built in about 2 s and unpacked by the kernel in a
#      fraction of a second; a debootstrapped root file system would take
#      minutes to build and a disk image to boot, for nothing the checks use.
#   3. Boot both guests at once (two cores, one each) with the kernel's cpio
#      and the user space cpio concatenated as the initramfs. /init runs the
#      checks and powers off. ttyS0 is the console log, ttyS1 carries only
#      the RESULT lines.
#   4. Meanwhile run the checks on the host, under the host-wide e2e lock.
#   5. Print the table. Any failed or missing check, or a guest that did not
#      boot, fails the run; such a guest's console log is shown.
#
# The cache (kernel packages, kernels and module cpios, busybox) lives in
# $WGKS_KERNELS_CACHE (default /var/cache/wgks-bpf-kernels), outside the
# work tree, so CI's fresh clones find it warm.
#
# Usage: run.sh --wgks PATH --verdict PATH --failfast PATH --out DIR
# Environment: WGKS_KERNELS (meta-packages, space-separated),
#   WGKS_KERNELS_CACHE, WGKS_GUEST_TIMEOUT (s, per guest, default 600),
#   WGKS_GUEST_APPEND (more kernel command line, e.g. to debug a boot),
#   WGKS_KERNELS_HOST=0 (skip the host column: it then shows as "not run"
#   and counts as failed).
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=../lib/guest.sh
. "$HERE/../lib/guest.sh"
LOG_TAG=test-kernels
USAGE="usage: $0 --wgks PATH --verdict PATH --failfast PATH --out DIR"
WGKS="" VERDICT="" FAILFAST="" OUT=""
while (($#)); do
	case $1 in
	--wgks) WGKS=$(readlink -f "$2"); shift 2 ;;
	--verdict) VERDICT=$(readlink -f "$2"); shift 2 ;;
	--failfast) FAILFAST=$(readlink -f "$2"); shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	*) echo "$USAGE" >&2; exit 2 ;;
	esac
done
[[ -x "$WGKS" && -x "$VERDICT" && -x "$FAILFAST" && -n "$OUT" ]] || { echo "$USAGE" >&2; exit 2; }
((EUID == 0)) || { echo "test-kernels: must run as root (qemu, namespaces, BPF)" >&2; exit 1; }

KERNELS=${WGKS_KERNELS:-linux-image-cloud-amd64 linux-image-6.12-cloud-amd64}
CACHE=${WGKS_KERNELS_CACHE:-/var/cache/wgks-bpf-kernels}
GUEST_TIMEOUT=${WGKS_GUEST_TIMEOUT:-600}
DEB_CACHE=$CACHE/debs
E2E_LOCK=/run/wgks-bpf-e2e.lock

# Rows of the table, in the order the checks run. boot and modules are the
# guest's own (/init); the rest come from checks.sh.
CHECKS=(boot modules verdict refuse-old-or-no-btf e2e-setup variant wg-hook-fwmark-on
	tunnel-passes off-tunnel-blocked backstop-hook wg-hook-fwmark-off deleted-stays-blocked
	detach-cleans-up attach-detach-time)
# Modules the guests load (with what they depend on); the last four for the
# iptables recipe, which iptables-nft writes as nft fib and reject rules.
MODULES=(wireguard veth nf_tables sch_ingress cls_bpf udp_diag
	nft_fib_ipv4 nft_fib_ipv6 nft_reject_ipv4 nft_reject_ipv6 ip_tables ip6_tables nft_compat
	xt_mark xt_addrtype ipt_REJECT ip6t_REJECT)
# What a cached kernel directory was built with: a change rebuilds it.
KERNEL_RECIPE="recipe 4: ${MODULES[*]}"

mkdir -p "$OUT" "$CACHE/debs"

# ---------------------------------------------------------------- kernels

# kernel_dir META: the cache directory with vmlinuz, modules.cpio and kver
# for today's version of META; built once per version.
kernel_dir() {
	local meta=$1 pkg ver dir deb tmp kver root m ko rel r
	r=$(resolve "$meta") || die "apt knows no package $meta (apt-get update?)"
	read -r pkg ver <<<"$r"
	dir="$CACHE/kernels/${pkg}_${ver}"
	if [[ -f "$dir/ok" && "$(cat "$dir/ok")" == "$KERNEL_RECIPE" ]]; then
		echo "$dir"
		return 0
	fi
	deb=$(fetch "$pkg" "$ver") || die "cannot download $pkg=$ver"
	log "unpacking $pkg $ver"
	rm -rf "$dir"; mkdir -p "$dir"
	tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
	dpkg-deb -x "$deb" "$tmp/pkg"
	kver=$(basename "$(compgen -G "$tmp/pkg/lib/modules/*" | head -n1)")
	[[ -n "$kver" && -f "$tmp/pkg/boot/vmlinuz-$kver" ]] || die "$deb: no kernel in it"
	grep -q '^CONFIG_DEBUG_INFO_BTF=y' "$tmp/pkg/boot/config-$kver" ||
		log "warning: $kver is built without BTF"
	# The package ships no modules.dep (its postinst runs depmod).
	depmod -b "$tmp/pkg" "$kver"
	root="$tmp/initrd"
	mkdir -p "$root/etc" "$root/usr/lib/modules"
	: >"$root/etc/wgks-modules"
	for m in "${MODULES[@]}"; do
		modprobe -d "$tmp/pkg" -S "$kver" --show-depends "$m" | while read -r cmd ko _; do
			[[ $cmd == insmod ]] || continue   # "builtin ..." needs nothing
			rel=${ko#"$tmp/pkg/lib/modules/"}
			rel=${rel%.xz}; rel=${rel%.zst}
			grep -qxF "$rel" "$root/etc/wgks-modules" && continue
			mkdir -p "$root/usr/lib/modules/$(dirname "$rel")"
			# busybox insmod takes plain .ko files: decompress here.
			case $ko in
			*.xz) xz -dc "$ko" >"$root/usr/lib/modules/$rel" ;;
			*.zst) zstd -qdc "$ko" >"$root/usr/lib/modules/$rel" ;;
			*) cp "$ko" "$root/usr/lib/modules/$rel" ;;
			esac
			echo "$rel" >>"$root/etc/wgks-modules"
		done
	done
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
		>"$dir/modules.cpio"
	cp "$tmp/pkg/boot/vmlinuz-$kver" "$dir/vmlinuz"
	cp "$tmp/pkg/boot/config-$kver" "$dir/config"
	echo "$kver" >"$dir/kver"
	echo "$pkg $ver" >"$dir/package"
	rm -rf "$tmp"
	echo "$meta" >"$dir/meta"
	echo "$deb" >"$dir/deb"
	echo "$KERNEL_RECIPE" >"$dir/ok"
	prune_kernels "$meta" "$dir"
	echo "$dir"
}

# prune_kernels META DIR: what older versions of META left in the cache (the
# package's name changes with the kernel's ABI, so go by META).
prune_kernels() {
	local meta=$1 keep=$2 d
	for d in "$CACHE"/kernels/*/; do
		d=${d%/}
		[[ "$d" != "$keep" && "$(cat "$d/meta" 2>/dev/null)" == "$meta" ]] || continue
		log "removing $d from the cache"
		rm -f "$(cat "$d/deb")"
		rm -rf "$d"
	done
}

# busybox_bin: busybox-static's binary, from the archive (installing the
# package would replace the host's busybox).
busybox_bin() {
	local ver dir deb tmp
	ver=$(candidate busybox-static)
	[[ -n "$ver" ]] || die "apt knows no package busybox-static"
	dir="$CACHE/busybox_$ver"
	if [[ ! -x "$dir/busybox" ]]; then
		deb=$(fetch busybox-static "$ver") || die "cannot download busybox-static"
		tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
		dpkg-deb -x "$deb" "$tmp"
		mkdir -p "$dir"
		cp "$tmp/bin/busybox" "$dir/busybox"
		rm -rf "$tmp"
		find "$CACHE" -mindepth 1 -maxdepth 1 -name 'busybox_*' ! -path "$dir" -exec rm -rf {} +
	fi
	echo "$dir/busybox"
}

# ---------------------------------------------------------------- initramfs

# Guest path of a host file: the guest is merged-/usr (/lib -> usr/lib, ...).
guest_path() {
	case $1 in
	/lib/* | /lib64/* | /bin/* | /sbin/*) echo "/usr$1" ;;
	*) echo "$1" ;;
	esac
}

# copy_bin ROOT HOSTPATH GUESTPATH: a binary and every library it needs.
copy_bin() {
	local root=$1 src=$2 dst=$3 lib
	install -D -m 0755 "$src" "$root$dst"
	for lib in $(ldd "$src" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		[[ -e "$root$(guest_path "$lib")" ]] && continue
		install -D -m 0755 "$(readlink -f "$lib")" "$root$(guest_path "$lib")"
	done
}

build_userspace() {
	local busybox=$1 root="$OUT/initramfs" tool path
	rm -rf "$root"
	mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,run,tmp,tests/kernels,tests/lib}
	ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"
	ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
	mkdir -p "$root/var"; ln -s ../run "$root/var/run"
	# The kernel opens /dev/console for init before anything is mounted.
	mknod -m 0600 "$root/dev/console" c 5 1
	for tool in bash ip tc wg nft ping socat setarch bpftool; do
		path=$(command -v "$tool") || die "$tool not found on the host (make deps installs it)"
		copy_bin "$root" "$(readlink -f "$path")" "$(guest_path "$path")"
	done
	# The iptables recipe, timed beside attach + detach: iptables-nft (one
	# binary that acts by the name it is run as) and the extensions it
	# loads to read the rule.
	for tool in iptables ip6tables; do
		path=$(command -v "$tool") || die "$tool not found on the host (make deps installs it)"
		copy_bin "$root" "$(readlink -f "$path")" "/usr/sbin/$tool"
	done
	for path in /usr/lib/*-linux-gnu/xtables/lib{xt_mark,xt_addrtype,xt_standard,ipt_REJECT,ip6t_REJECT}.so; do
		copy_bin "$root" "$path" "$path"
	done
	copy_bin "$root" "$WGKS" /usr/sbin/wgks-bpf
	copy_bin "$root" "$VERDICT" /usr/bin/wgks-verdict
	copy_bin "$root" "$FAILFAST" /usr/bin/wgks-failfast
	install -m 0755 "$busybox" "$root/usr/bin/busybox"
	# /bin/sh is bash: Debian's busybox sh runs its own applets before
	# anything on PATH, so `system("ip link ...")` would get busybox's ip.
	ln -s bash "$root/usr/bin/sh"
	# busybox for everything else (mount, insmod, awk, timeout, ...): it
	# links its applets itself (static, so it runs chrooted, and links to
	# /usr/bin/busybox); names that exist already are left alone.
	chroot "$root" /usr/bin/busybox --install -s /usr/bin
	for path in "$root"/usr/sbin/*; do   # no busybox ip beside the real one
		[[ -L "$root/usr/bin/${path##*/}" ]] && rm "$root/usr/bin/${path##*/}"
	done
	install -m 0755 "$HERE/init.sh" "$root/init"
	# checks.sh and the test library it sources, as in the tree.
	install -m 0755 "$HERE/checks.sh" "$root/tests/kernels/checks.sh"
	install -m 0644 "$HERE"/../lib/*.sh "$root/tests/lib/"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
		>"$OUT/userspace.cpio"
	rm -rf "$root"
}

# ---------------------------------------------------------------- running

# boot_guest NAME KERNEL_DIR: runs in the background; leaves console.log,
# results.log and qemu.rc in $OUT/NAME.
boot_guest() {
	local name=$1 kdir=$2 d="$OUT/$1"
	rm -rf "$d"; mkdir -p "$d"
	cat "$kdir/modules.cpio" "$OUT/userspace.cpio" >"$d/initrd"
	echo "$name, Debian package $(cat "$kdir/package"), in qemu" >"$d/about"
	# No disk, no network: the checks make their own in namespaces. The
	# kernel's whole boot log goes to the console (it costs nothing
	# measurable). mitigations=off: a throwaway emulated guest has nothing
	# to protect, and emulation is slow enough. ttyS1 carries the RESULT
	# lines.
	guest_run "$d" "$kdir/vmlinuz" "$d/initrd" \
		"console=ttyS0 rdinit=/init panic=-1 mitigations=off ${WGKS_GUEST_APPEND:-}" \
		-serial "file:$d/results.log"
	rm -f "$d/initrd"
}

# On an early exit (a signal, an error): the guests still running.
stop_guests() { guest_stop "$OUT"/*/; }
trap stop_guests EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The host column: the same checks, directly, under the host-wide e2e lock
# (one wgks program serves the whole host; the other e2e suites take it too).
run_host() {
	local d="$OUT/host" rc=0
	rm -rf "$d"; mkdir -p "$d"
	: >"$d/results.log"
	echo "$(uname -r), the host's kernel, directly" >"$d/about"
	flock -o -w 600 -E 200 "$E2E_LOCK" bash "$HERE/checks.sh" --wgks "$WGKS" \
		--verdict "$VERDICT" --failfast "$FAILFAST" --results "$d/results.log" \
		>"$d/console.log" 2>&1 || rc=$?
	((rc != 200)) || echo "another e2e run held $E2E_LOCK for 600 s" >>"$d/console.log"
	echo "$rc" >"$d/rc"
}

# ---------------------------------------------------------------- report

declare -A STATUS DETAIL
COLUMNS_=()    # column ids: guest names, then host
declare -A TITLE

# collect COLUMN: RESULT lines into STATUS/DETAIL. Serial lines end in \r.
collect() {
	local col=$1 line check status detail
	while IFS= read -r line; do
		line=${line%$'\r'}
		[[ $line =~ ^RESULT\ check=([^ ]+)\ status=([a-z]+)\ detail=(.*)$ ]] || continue
		check=${BASH_REMATCH[1]} status=${BASH_REMATCH[2]} detail=${BASH_REMATCH[3]}
		STATUS[$col,$check]=$status
		DETAIL[$col,$check]=$detail
	done <"$OUT/$col/results.log"
}

cell() {
	local col=$1 check=$2
	if [[ $col == host && ($check == boot || $check == modules) ]]; then
		echo "(host)"
	else
		case ${STATUS[$col,$check]:-missing} in
		pass) echo "pass" ;;
		fail) echo "FAIL" ;;
		*) echo "MISSING" ;;
		esac
	fi
}

print_table() {
	local check col row
	printf '\n%-24s' "check"
	for col in "${COLUMNS_[@]}"; do printf ' | %-22s' "${TITLE[$col]}"; done
	printf '\n%s' "------------------------"
	for col in "${COLUMNS_[@]}"; do printf -- '-+-%s' "----------------------"; done
	echo
	for check in "${CHECKS[@]}"; do
		row=$(printf '%-24s' "$check")
		for col in "${COLUMNS_[@]}"; do row+=$(printf ' | %-22s' "$(cell "$col" "$check")"); done
		echo "$row"
	done
	echo
	for col in "${COLUMNS_[@]}"; do
		echo "${TITLE[$col]}: $(cat "$OUT/$col/about" 2>/dev/null || true)"
		for check in "${CHECKS[@]}"; do
			case ${STATUS[$col,$check]:-}:$check in
			:boot) [[ $col == host ]] ||
				echo "  FAILED boot: no word from /init: the guest did not boot (console above)" ;;
			:modules) [[ $col == host ]] || echo "  MISSING modules: no result (console above)" ;;
			:*) echo "  MISSING $check: no result: the run stopped early (console above)" ;;
			fail:*) echo "  FAILED $check: ${DETAIL[$col,$check]}" ;;
			pass:verdict | pass:variant | pass:e2e-setup | pass:off-tunnel-blocked | pass:backstop-hook | pass:wg-hook-* | pass:attach-detach-time)
				echo "  $check: ${DETAIL[$col,$check]}" ;;
			esac
		done
	done
}

exit_note() {
	if [[ -f "$OUT/$1/qemu.rc" ]]; then
		guest_exit_note "$OUT/$1"
	else
		echo "checks exit $(cat "$OUT/$1/rc")"
	fi
}

# ---------------------------------------------------------------- main

main() {
	local meta kdir busybox name pids=() col check passed=0 failed=0 bad_cols=()
	local -A KDIR

	log "kernels: $KERNELS; cache: $CACHE"
	rm -f "$OUT"/*/timeout.pid   # left by a run that was killed: not ours
	# shellcheck disable=SC2086 # KERNELS is a list
	apt_lists_know $KERNELS busybox-static
	for meta in $KERNELS; do
		kdir=$(kernel_dir "$meta")
		name=$(cat "$kdir/kver")
		KDIR[$name]=$kdir
		COLUMNS_+=("$name")
		TITLE[$name]=$(cut -d. -f1,2 <<<"$name")
		log "$meta -> $(cat "$kdir/package") ($name)"
	done
	busybox=$(busybox_bin)
	build_userspace "$busybox"
	log "initramfs: user space $(du -h "$OUT/userspace.cpio" | cut -f1)," \
		"modules $(for n in "${COLUMNS_[@]}"; do du -h "${KDIR[$n]}/modules.cpio" | cut -f1; done | tr '\n' ' ')"

	for name in "${COLUMNS_[@]}"; do
		log "booting $name"
		boot_guest "$name" "${KDIR[$name]}" &
		pids+=($!)
	done
	COLUMNS_+=(host)
	TITLE[host]="$(uname -r | cut -d. -f1,2) (host)"
	if [[ ${WGKS_KERNELS_HOST:-1} != 0 ]]; then
		log "host column: checks on $(uname -r), waiting for $E2E_LOCK"
		run_host
		log "host column done (exit $(cat "$OUT/host/rc"))"
	else
		mkdir -p "$OUT/host"; : >"$OUT/host/results.log"
		echo "not run (WGKS_KERNELS_HOST=0)" >"$OUT/host/console.log"; echo 1 >"$OUT/host/rc"
	fi
	for pid in "${pids[@]}"; do wait "$pid"; done
	log "guests done"

	for col in "${COLUMNS_[@]}"; do
		collect "$col"
		for check in "${CHECKS[@]}"; do
			case $(cell "$col" "$check") in
			pass) passed=$((passed + 1)) ;;
			"(host)") ;;   # not a check on the host
			*) failed=$((failed + 1)); bad_cols+=("$col") ;;
			esac
		done
	done
	# The whole console log of every column with a failed or missing check
	# (a guest that did not boot has nothing else to show).
	for col in $(printf '%s\n' "${bad_cols[@]}" | sort -u); do
		guest_console "$col" "$OUT/$col" "$(exit_note "$col")"
	done
	print_table
	log "total $((SECONDS - START)) s; logs in $OUT/*/console.log"
	echo "test-kernels: $passed passed, $failed failed"
	((failed == 0))
}

main
