/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backstop on this namespace's devices: a tc egress filter (clsact,
 * cls_bpf in direct action) on each device packets can leave by, running
 * the backstop program, and the namespace's local bridges in wgks_internal.
 * The filters are the kernel's, like the cgroup attachment: they outlive
 * the loader and its mount namespace, and no firewall flush touches them.
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

/* Our filter: its handle and priority (first: it clears WGKS_JUDGED_MARK for the others). */
#define WGKS_TC_HANDLE 0x776b
#define WGKS_TC_PRIO 1

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

/* Devices of this namespace that have it, for status: their names into NAMES. How many. */
int backstop_devices(char names[][WGKS_IFNAMSIZ], int max);

#endif
