// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "backstop.h"
#include "devices.h"
#include "log.h"
#include "nspolicy.h"
#include "policy.h"

static int owned_fd(const struct ks_maps *m, enum owned_kind kind)
{
	return kind == OWNED_ENDPOINTS ? m->endpoints : kind == OWNED_ALLOW4 ? m->allow4 : m->allow6;
}

int ns_begin(struct ks_ctx *c, struct ns_change *ch)
{
	memset(ch, 0, sizeof(*ch));
	if (ks_policy_read(&c->st.maps, c->netns, &ch->cur) == 0) {
		ch->existed = true;
	} else if (errno == ENOENT) {
		memset(&ch->cur, 0, sizeof(ch->cur));
	} else {
		err("cannot read the policy: %s", strerror(errno));
		return -1;
	}
	ch->next = ch->cur;
	for (int k = 0; k < OWNED_MAX; k++) {
		if (owned_read(&ch->owned[k], owned_fd(&c->st.maps, (enum owned_kind)k),
			       (enum owned_kind)k, c->netns))
			return -1;
	}
	return 0;
}

int ns_stage_owned(struct ns_change *ch, enum owned_kind kind, const void *key, int slot)
{
	return owned_stage(&ch->owned[kind], key, slot);
}

static uint32_t used_slots(const struct wgks_policy *p)
{
	uint32_t mask = 0;

	for (int i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (p->rules.tunnels[i].name[0])
			mask |= 1u << i;
	}
	return mask;
}

void ns_stage_release_unused(struct ns_change *ch)
{
	uint32_t unused = ~used_slots(&ch->next);

	for (int k = 0; k < OWNED_MAX; k++)
		owned_drop_slots(&ch->owned[k], unused);
}

void ns_stage_tunnel(struct ns_change *ch, int slot, uint32_t ifindex)
{
	for (int k = 0; k < OWNED_MAX; k++)
		owned_drop_slots(&ch->owned[k], 1u << slot);
	ch->devices[slot] = ifindex;
	ns_stage_release_unused(ch);
}

void ns_end(struct ns_change *ch)
{
	for (int k = 0; k < OWNED_MAX; k++)
		owned_free(&ch->owned[k]);
}

static bool no_policy_left(int policy_fd)
{
	uint64_t key;

	return bpf_map_get_next_key(policy_fd, NULL, &key) && errno == ENOENT;
}

/* Undo step 1 (and the devices of step 1 that were set, up to slot UPTO). */
static void undo_staged(struct ks_ctx *c, struct ns_change *ch, uint32_t index, int upto,
			const uint32_t old_devices[WGKS_MAX_TUNNELS], bool loopback_set)
{
	for (int k = 0; k < OWNED_MAX; k++)
		owned_unapply(&ch->owned[k]);
	for (int i = 0; i < upto; i++) {
		/* Not staged, or not written (it was that device already). */
		if (!ch->devices[i] || old_devices[i] == ch->devices[i])
			continue;
		/* The old device back, if it still exists; else no entry, as before. */
		if (!old_devices[i] || devices_set(&c->st.maps, index, (uint32_t)i, old_devices[i]))
			devices_clear(&c->st.maps, index, (uint32_t)i);
	}
	if (loopback_set)
		devices_clear(&c->st.maps, index, WGKS_DEV_LOOPBACK);
}

/* The namespace's policy goes, with everything it owns. */
static int remove_policy(struct ks_ctx *c, struct ns_change *ch)
{
	uint32_t index = ch->cur.rules.counters;
	int ret = 0;

	if (!ch->existed)
		return 0;
	if (bpf_map_delete_elem(c->st.maps.policy, &c->netns) && errno != ENOENT) {
		err("cannot remove the policy: %s", strerror(errno));
		return -1;
	}
	for (int k = 0; k < OWNED_MAX; k++) {
		owned_drop_slots(&ch->owned[k], ~0u);
		ret |= owned_finish(&ch->owned[k]);
	}
	for (uint32_t s = 0; s < WGKS_DEV_SLOTS; s++)
		devices_clear(&c->st.maps, index, s);
	ret |= backstop_uncover(c, index);
	if (ret == 0 && no_policy_left(c->st.maps.policy))
		ret = ns_settle(c);
	return ret ? -1 : 0;
}

int ns_commit(struct ks_ctx *c, struct ns_change *ch)
{
	struct wgks_rules *r = &ch->next.rules;
	uint32_t index, old_devices[WGKS_MAX_TUNNELS] = { 0 };
	bool loopback_set = false;
	int slot = 0, fresh;

	if (policy_is_empty(&ch->next))
		return remove_policy(c, ch);
	/* The entries staged decide the flags the programs test before looking. */
	r->flags &= ~(WGKS_F_ENDPOINTS | WGKS_F_ALLOW);
	if (owned_any(&ch->owned[OWNED_ENDPOINTS]))
		r->flags |= WGKS_F_ENDPOINTS;
	if (owned_any(&ch->owned[OWNED_ALLOW4]) || owned_any(&ch->owned[OWNED_ALLOW6]))
		r->flags |= WGKS_F_ALLOW;
	/* Its counters' index; zeroed (for a new namespace) only once nothing can fail but the write. */
	fresh = ks_counters_pick(&c->st.maps, c->netns, &index);
	if (fresh < 0)
		return -1;
	r->counters = index;

	/* 1. What stays or comes. */
	for (int k = 0; k < OWNED_MAX; k++) {
		if (owned_apply(&ch->owned[k])) {
			undo_staged(c, ch, index, 0, old_devices, false);
			return -1;
		}
	}
	for (slot = 0; slot < WGKS_MAX_TUNNELS; slot++) {
		if (!ch->devices[slot])
			continue;
		old_devices[slot] = devices_get(&c->st.maps, index, (uint32_t)slot);
		/*
		 * Already this device (a re-attach): not written again. The kernel
		 * unlinks a devmap entry before it links its successor, and a
		 * tunnel packet between the two would find neither.
		 */
		if (old_devices[slot] == ch->devices[slot]) {
			r->tunnels[slot].flags &= ~WGKS_T_NO_DEVICE;
			continue;
		}
		if (devices_set(&c->st.maps, index, (uint32_t)slot, ch->devices[slot])) {
			err("%s: cannot note the tunnel's device: %s", r->tunnels[slot].name,
			    strerror(errno));
			undo_staged(c, ch, index, slot + 1, old_devices, false);
			return -1;
		}
		r->tunnels[slot].flags &= ~WGKS_T_NO_DEVICE;
	}
	/* The namespace's loopback: the kernel removes the entry when the namespace goes. */
	if (!devices_get(&c->st.maps, index, WGKS_DEV_LOOPBACK)) {
		if (devices_set(&c->st.maps, index, WGKS_DEV_LOOPBACK, 1)) {
			err("cannot note this namespace's loopback: %s", strerror(errno));
			undo_staged(c, ch, index, WGKS_MAX_TUNNELS, old_devices, false);
			return -1;
		}
		loopback_set = true;
	}
	r->flags |= WGKS_F_LOOPBACK;

	/* 2. The policy, naming zeroed counters if they are new: one write, in place. */
	if (fresh && ks_counters_reset(&c->st.maps, index)) {
		undo_staged(c, ch, index, WGKS_MAX_TUNNELS, old_devices, loopback_set);
		return -1;
	}
	if (ks_policy_write(&c->st.maps, c->netns, &ch->next)) {
		err("cannot write the policy: %s", strerror(errno));
		undo_staged(c, ch, index, WGKS_MAX_TUNNELS, old_devices, loopback_set);
		return -1;
	}

	/* 3. What no tunnel owns any more. */
	for (int k = 0; k < OWNED_MAX; k++) {
		if (owned_finish(&ch->owned[k]))
			return -1;
	}
	for (slot = 0; slot < WGKS_MAX_TUNNELS; slot++) {
		if (!r->tunnels[slot].name[0])
			devices_clear(&c->st.maps, index, (uint32_t)slot);
	}

	/* 4. Attached only once a policy is in: never a program without it. */
	if (!c->found) {
		if (ks_attach(&c->st, c->cgroup_fd)) {
			if (ch->existed)
				ks_policy_write(&c->st.maps, c->netns, &ch->cur);
			else
				bpf_map_delete_elem(c->st.maps.policy, &c->netns);
			undo_staged(c, ch, index, WGKS_MAX_TUNNELS, old_devices, loopback_set);
			return -1;
		}
		c->found = true;
	}

	/*
	 * 5. The backstop on the devices. Should this fail, sockets are
	 * protected already: the command fails, the policy stays (fail closed).
	 */
	if (backstop_cover(c, r) < 0) {
		err("the policy is in, but what the kernel sends or forwards on its own is "
		    "not covered on every device: run the command again");
		return -1;
	}
	return 0;
}

/* Remove the policy of NETNS, which no longer exists. */
static int prune_one(struct ks_ctx *c, uint64_t netns, uint32_t index)
{
	int ret = 0;

	for (int k = 0; k < OWNED_MAX; k++) {
		struct owned_set s;

		if (owned_read(&s, owned_fd(&c->st.maps, (enum owned_kind)k), (enum owned_kind)k,
			       netns) == 0) {
			owned_drop_slots(&s, ~0u);
			ret |= owned_finish(&s);
		}
		owned_free(&s);
	}
	for (uint32_t slot = 0; slot < WGKS_DEV_SLOTS; slot++)
		devices_clear(&c->st.maps, index, slot);
	if (bpf_map_delete_elem(c->st.maps.policy, &netns) && errno != ENOENT)
		ret = -1;
	if (ret == 0)
		debug("removed the policy of network namespace %llu, which no longer exists",
		      (unsigned long long)netns);
	return ret;
}

int ns_prune_dead(struct ks_ctx *c)
{
	uint64_t key, next, *keys = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int pruned = 0;

	/* Keys first: deleting while walking could restart the walk. */
	while (bpf_map_get_next_key(c->st.maps.policy, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (n == cap) {
			uint64_t *grown = realloc(keys, (cap = cap ? cap * 2 : 64) * sizeof(*keys));

			if (!grown) {
				free(keys);
				err("out of memory");
				return -1;
			}
			keys = grown;
		}
		keys[n++] = key;
	}
	for (size_t i = 0; i < n && pruned >= 0; i++) {
		struct wgks_policy p;

		if (keys[i] == c->netns || ks_policy_read(&c->st.maps, keys[i], &p))
			continue;
		/* Kept by an upgrade without its loopback's entry: it cannot be told. */
		if (!(p.rules.flags & WGKS_F_LOOPBACK) ||
		    devices_get(&c->st.maps, p.rules.counters, WGKS_DEV_LOOPBACK))
			continue;
		pruned = prune_one(c, keys[i], p.rules.counters) ? -1 : pruned + 1;
	}
	free(keys);
	if (pruned < 0)
		err("cannot remove the policy of a namespace that no longer exists");
	return pruned;
}

int ns_settle(struct ks_ctx *c)
{
	if (!c->found || !no_policy_left(c->st.maps.policy))
		return 0;
	if (ks_detach(&c->st, c->cgroup_fd))
		return -1;
	c->found = false;
	return 0;
}
