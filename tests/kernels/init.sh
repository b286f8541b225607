#!/usr/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=dash
#
# /init of the test guests of `make test-kernels` (busybox sh, as PID 1).
# Mounts what wgks-bpf needs, loads the kernel modules the initramfs carries,
# runs checks.sh and powers the guest off, whatever happened: the host reads
# the results from the second serial port (ttyS1) and the log from ttyS0.

PATH=/usr/sbin:/usr/bin
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# /run: the loader's lock file and ip netns' mount points; /tmp: scratch.
mount -t tmpfs -o mode=0755 run /run
mount -t tmpfs tmpfs /tmp
# The loader attaches to the root of cgroup v2; the kernel does not mount it.
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf 2>/dev/null

RESULTS=/dev/ttyS1
echo "RESULT check=boot status=pass detail=$(uname -r)" >"$RESULTS"
echo "wgks-test-guest: booted $(uname -r), $(nproc) CPU(s), $(cut -d' ' -f1 /proc/uptime) s since boot"

# The modules, in the order `modprobe --show-depends` gave on the host (the
# initramfs has no modules.dep and busybox insmod resolves nothing itself).
modules_ok=1
while read -r ko; do
	[ -n "$ko" ] || continue
	insmod "/lib/modules/$ko" || { echo "insmod $ko failed"; modules_ok=0; }
done </etc/wgks-modules
if [ "$modules_ok" = 1 ]; then
	echo "RESULT check=modules status=pass detail=$(wc -l </etc/wgks-modules) modules (wireguard veth nf_tables sch_ingress cls_bpf udp_diag)" >"$RESULTS"
else
	echo "RESULT check=modules status=fail detail=insmod failed (see console)" >"$RESULTS"
fi

# The checks are the same script as the host column runs.
bash /tests/kernels/checks.sh --wgks /usr/sbin/wgks-bpf --verdict /usr/bin/wgks-verdict \
	--failfast /usr/bin/wgks-failfast --results "$RESULTS"
echo "wgks-test-guest: checks exited $?, $(cut -d' ' -f1 /proc/uptime) s since boot"
echo "RESULT check=end status=pass detail=" >"$RESULTS"
sync
poweroff -f
