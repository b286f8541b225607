/* SPDX-License-Identifier: GPL-2.0-only */
/* Editing one namespace's policy value (pure: no BPF, unit tested). */
#ifndef WGKS_POLICY_H
#define WGKS_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include "wgks.h"

/*
 * Protect tunnel NAME (ifindex, fwmark). An entry with the same name or the
 * same ifindex (a renamed interface) is replaced in its slot; a new one
 * takes the first free slot. Slots never move: wgks_owners bits name them.
 * Returns the slot, or -1 when all are taken.
 */
int policy_set_tunnel(struct wgks_policy *p, const char *name, uint32_t ifindex,
		      uint32_t fwmark);

/* Free tunnel NAME's slot. Its slot, or -1 if it was not there. */
int policy_remove_tunnel(struct wgks_policy *p, const char *name);

/* Free every slot (detach without an interface name). */
void policy_remove_all_tunnels(struct wgks_policy *p);

/* Tunnels in use. */
unsigned policy_count_tunnels(const struct wgks_policy *p);

/* No tunnel and no lockdown: nothing left to enforce. */
bool policy_is_empty(const struct wgks_policy *p);

#endif
