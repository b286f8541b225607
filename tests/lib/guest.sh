# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# One way to fetch Debian packages for, boot, and watch a qemu guest, shared
# by `make test-kernels` (tests/kernels/run.sh: a kernel and an initramfs)
# and `make test-system` (tests/system/run.sh: a whole Debian on a disk).
#
# The caller sets, before using it:
#   DEB_CACHE   directory for downloaded .debs (outside the work tree, so
#               CI's fresh clones find it warm)
#   LOG_TAG     the prefix of die()'s message (e.g. test-kernels)
# and may set GUEST_SMP, GUEST_MEM (MB), GUEST_TIMEOUT (s), and after
# sourcing GUEST_WRAP (an array: a command prefix for qemu, e.g. `ip netns
# exec NS` for a tap device there).

START=${START:-$SECONDS}
# Progress goes to stderr: several functions answer on stdout.
log() { printf '[%4ds] %s\n' $((SECONDS - START)) "$*" >&2; }
die() { echo "$LOG_TAG: $*" >&2; exit 1; }

# ---------------------------------------------------------------- apt

APT_UPDATED=""
apt_update_once() {
	[[ -z "$APT_UPDATED" ]] || return 0
	log "apt-get update"
	apt-get update -qq
	APT_UPDATED=1
}

candidate() { apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'; }

# apt_lists_know PKG...: the package lists may be missing (a fresh machine)
# or not know a package: update once, in this shell, before anything
# resolves names.
apt_lists_know() {
	local known
	known=$(apt-cache policy "$@" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)"' | wc -l)
	((known == $#)) || apt_update_once
}

# resolve META: "package version" of what the meta-package pulls in today.
resolve() {
	local meta=$1 pkg ver
	pkg=$(apt-cache depends --important "$meta" 2>/dev/null |
		awk '$1 == "Depends:" { print $2; exit }')
	[[ -n "$pkg" ]] || return 1
	ver=$(candidate "$pkg")
	[[ -n "$ver" ]] || return 1
	echo "$pkg $ver"
}

# fetch PACKAGE VERSION: the .deb's path, downloaded once into $DEB_CACHE.
# apt-get download runs as root here; -o APT::Sandbox::User=root keeps it
# from complaining that _apt cannot write the cache.
fetch() {
	local pkg=$1 ver=$2 deb
	mkdir -p "$DEB_CACHE"
	deb=$(compgen -G "$DEB_CACHE/${pkg}_${ver//:/%3a}_*.deb" | head -n1 || true)
	if [[ -z "$deb" ]]; then
		log "apt-get download $pkg=$ver"
		# A version that left the archive since the last update: update, retry.
		download "$pkg=$ver" || { apt-get update -qq >&2 && download "$pkg=$ver"; } || return 1
		deb=$(compgen -G "$DEB_CACHE/${pkg}_${ver//:/%3a}_*.deb" | head -n1)
		# Older versions of the same package are of no further use.
		find "$DEB_CACHE" -name "${pkg}_*.deb" ! -path "$deb" -delete
	fi
	echo "$deb"
}
download() { (cd "$DEB_CACHE" && apt-get download -qq -o APT::Sandbox::User=root "$1") >&2; }

# ---------------------------------------------------------------- qemu

GUEST_WRAP=()

# guest_run DIR KERNEL INITRD APPEND [QEMU ARGS...]: boots a guest and
# returns when it powers off or GUEST_TIMEOUT ends it. DIR gets console.log
# (ttyS0: the kernel's and init's whole log, so that a guest that does not
# boot says why), qemu.log (qemu's own messages) and qemu.rc; while it runs,
# timeout.pid names the `timeout` that guards it, for guest_stop.
#
# Software emulation (no /dev/kvm here): -cpu max gives the guest the
# instruction set the kernel's crypto modules look for. -no-reboot: a guest
# that reboots or panics (panic=-1 belongs in APPEND) ends the run.
guest_run() {
	local d=$1 kernel=$2 initrd=$3 append=$4 rc=0
	shift 4
	timeout --kill-after=10 "${GUEST_TIMEOUT:-600}" "${GUEST_WRAP[@]}" qemu-system-x86_64 \
		-nodefaults -no-user-config -machine pc -cpu max \
		-smp "${GUEST_SMP:-1}" -m "${GUEST_MEM:-768}" -display none -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$append" \
		-serial "file:$d/console.log" "$@" \
		>"$d/qemu.log" 2>&1 </dev/null &
	echo $! >"$d/timeout.pid"
	wait $! || rc=$?
	rm -f "$d/timeout.pid"
	echo "$rc" >"$d/qemu.rc"
}

# guest_stop DIR...: on an early exit (a signal, an error), the `timeout`s
# guest_run noted; each takes its qemu down with it.
guest_stop() {
	local d
	for d in "$@"; do
		[[ -f "$d/timeout.pid" ]] && kill -TERM "$(cat "$d/timeout.pid")" 2>/dev/null
	done
	return 0
}

# guest_exit_note DIR: how qemu ended, for a console log's heading.
guest_exit_note() {
	local rc
	rc=$(cat "$1/qemu.rc" 2>/dev/null || echo running)
	case $rc in
	124 | 137) echo "qemu killed after ${GUEST_TIMEOUT:-600} s (the guest's timeout)" ;;
	*) echo "qemu exit $rc" ;;
	esac
}

# guest_console NAME DIR [NOTE]: the whole console log (and qemu's
# messages) of a guest whose checks failed, or that never booted.
guest_console() {
	local name=$1 d=$2 note=${3:-$(guest_exit_note "$2")}
	echo
	echo "======== console of $name ($note)"
	cat "$d/console.log" 2>/dev/null || echo "(no console log)"
	[[ -s "$d/qemu.log" ]] && { echo "-------- qemu:"; cat "$d/qemu.log"; }
	echo "======== end of console of $name"
}
