/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One namespace's policy as attach, detach and lockdown change it: the
 * wgks_policy value, the endpoint and prefix entries its tunnels own, its
 * counters, and whether the programs need to be attached or detached.
 */
#ifndef WGKS_NSPOLICY_H
#define WGKS_NSPOLICY_H

#include <stdint.h>
#include "context.h"
#include "owned.h"

enum { OWNED_ENDPOINTS, OWNED_ALLOW4, OWNED_ALLOW6, OWNED_MAX };

void owned_maps(const struct ks_state *st, struct owned_map out[OWNED_MAX]);

/* This namespace's policy into p (zeroed if none). 1 found, 0 none, -1 after err(). */
int ns_read(const struct ks_ctx *c, struct wgks_policy *p);

/*
 * Drop this namespace's entries owned by slots p no longer uses (and by
 * slot fresh, whose entries are about to be written anew; -1 for none).
 * 0, or -1 after err().
 */
int ns_prune(const struct ks_ctx *c, const struct wgks_policy *p, int fresh);

/*
 * Make p this namespace's policy in one map update, its ENDPOINTS and
 * ALLOW flags set from the entries now in the maps; or remove it if it
 * enforces nothing. Then attach the programs if they were not, or detach
 * them if no namespace has a policy left. 0, or -1 after err().
 */
int ns_commit(struct ks_ctx *c, const struct wgks_policy *p);

#endif
