/* SPDX-License-Identifier: GPL-2.0-only */
/* Editing one namespace's policy value (pure: no BPF, unit tested). */
#ifndef WGKS_POLICY_H
#define WGKS_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include "wgks.h"

/*
 * Protect tunnel NAME (ifindex, fwmark). An entry with the same name or the
 * same ifindex (a renamed interface) is replaced. 0, or -1 when full.
 */
int policy_set_tunnel(struct wgks_policy *p, const char *name, uint32_t ifindex,
		      uint32_t fwmark);

/* Drop tunnel NAME; the rest keep their order. False if it was not there. */
bool policy_remove_tunnel(struct wgks_policy *p, const char *name);

/* The entry for NAME, or NULL. */
const struct wgks_tunnel *policy_find_tunnel(const struct wgks_policy *p, const char *name);

#endif
