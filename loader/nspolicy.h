/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One namespace's policy as a command changes it. ns_begin() reads it: the
 * wgks_policy value and the endpoint and prefix entries its tunnels own.
 * The command edits ch->next (policy.c) and stages entries and devices;
 * ns_commit() then makes it so, in an order that never lets anything pass
 * that neither the old nor the new policy allows, and never stops for a
 * moment what both allow (a re-attach):
 *   1. the entries that stay or come, and the devices of the tunnels that
 *      come (wgks_devices);
 *   2. the policy, one write in place;
 *   3. the entries and devices no tunnel owns any more;
 *   4. the programs: attached with the first policy, detached with the last;
 *   5. the backstop on this namespace's devices.
 * A failure in 1, 2 or 4 undoes what was done: the policy, the entries and
 * the devices are as they were, byte for byte.
 */
#ifndef WGKS_NSPOLICY_H
#define WGKS_NSPOLICY_H

#include <stdbool.h>
#include <stdint.h>
#include "context.h"
#include "owned.h"

struct ns_change {
	bool existed;                       /* the namespace had a policy */
	struct wgks_policy cur, next;
	struct owned_set owned[OWNED_MAX];
	uint32_t devices[WGKS_MAX_TUNNELS]; /* slot: ifindex to put in wgks_devices; 0 none */
};

/* Read this namespace's policy and entries into CH (next = cur). 0, or -1 after err(). */
int ns_begin(struct ks_ctx *c, struct ns_change *ch);

/* Staged: tunnel slot SLOT owns KEY of KIND. 0, or -1 after err(). */
int ns_stage_owned(struct ns_change *ch, enum owned_kind kind, const void *key, int slot);

/*
 * Staged: slot SLOT's tunnel is (again) device IFINDEX, its entries to be
 * staged anew. Entries of slots ch->next no longer uses go too.
 */
void ns_stage_tunnel(struct ns_change *ch, int slot, uint32_t ifindex);

/* Staged: only the slots ch->next uses keep their entries. */
void ns_stage_release_unused(struct ns_change *ch);

/* Make ch->next this namespace's policy (see above). 0, or -1 after err(). */
int ns_commit(struct ks_ctx *c, struct ns_change *ch);

void ns_end(struct ns_change *ch);

/*
 * Remove the policies of namespaces that no longer exist: their loopback's
 * entry in wgks_devices went with them. Never a live one, whichever mount
 * namespace this runs in: the kernel, not a listing of /proc or
 * /run/netns, says which are gone. How many, or -1 after err().
 */
int ns_prune_dead(struct ks_ctx *c);

/*
 * No policy left anywhere: the cgroup programs go (the caller takes the
 * backstop off first, as remove_policy() does). 0, or -1 after err().
 */
int ns_settle(struct ks_ctx *c);

#endif
