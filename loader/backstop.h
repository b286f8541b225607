/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backstop on this namespace's devices: the backstop program at tc
 * egress of each device packets can leave by, and the namespace's local
 * bridges in wgks_internal. Attached with tcx (BPF_TCX_EGRESS, Linux 6.6+),
 * first of the device's chain, without a link; where the kernel has no tcx,
 * as a clsact filter (cls_bpf in direct action, handle WGKS_TC_HANDLE,
 * priority WGKS_TC_PRIO). Either way the device holds it, like the cgroup
 * attachment: it outlives the loader and its mount namespace, no firewall
 * flush touches it, and it goes with the device. A device with an older
 * version's clsact filter moves to tcx without a moment uncovered (the
 * handover program: backstop.bpf.h, backstop.c's cover_tcx()).
 *
 * Which devices: all but loopback, the protected tunnels, and devices that
 * are ports of a bridge or bond (the bridge or bond itself carries the
 * filter, where routing put the packet). A device that appears later gets
 * it when a command that commits a policy or `wgks-bpf sync` runs here
 * again (nothing installed runs sync by itself yet).
 */
#ifndef WGKS_BACKSTOP_H
#define WGKS_BACKSTOP_H

#include <stdint.h>
#include "context.h"

/* Our clsact filter: its handle and priority (first: it clears WGKS_JUDGED_MARK for the others). */
#define WGKS_TC_HANDLE 0x776b
#define WGKS_TC_PRIO 1

/* How a device holds the backstop (a bit each: a device may hold both for a moment). */
#define BACKSTOP_CLSACT 1
#define BACKSTOP_TCX 2
/* For status: on tcx, but another's program runs before it (put first later). */
#define BACKSTOP_BEHIND 4

/*
 * The hook this kernel gives the backstop: BACKSTOP_TCX where it has tcx,
 * else BACKSTOP_CLSACT; asked once. $WGKS_BACKSTOP_HOOK=tcx|clsact forces
 * one (the tests try both on one kernel). -1 after err() for another value.
 */
int backstop_hook(void);

/*
 * Put the backstop on every device of this namespace that should have it,
 * and take it off those that should not (a device that became a protected
 * tunnel or a bridge port); note the local bridges. How many devices have
 * it, or -1 after err().
 */
int backstop_cover(struct ks_ctx *c, const struct wgks_rules *r);

/*
 * Take it off every device of this namespace, and forget its bridges (at
 * counters INDEX; ~0u: every namespace's). 0, or -1 after err().
 */
int backstop_uncover(struct ks_ctx *c, uint32_t index);

/*
 * Devices of this namespace that have it, for status: their names into
 * NAMES, how each holds it into HOOKS (BACKSTOP_* bits, BACKSTOP_BEHIND
 * where another's tcx program runs first). How many.
 */
int backstop_devices(char names[][WGKS_IFNAMSIZ], int hooks[], int max);

#endif
