// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "log.h"
#include "nspolicy.h"
#include "policy.h"

void owned_maps(const struct ks_state *st, struct owned_map out[OWNED_MAX])
{
	out[OWNED_ENDPOINTS] = (struct owned_map){ st->maps.endpoints,
						   sizeof(struct wgks_endpoint_key), 0 };
	out[OWNED_ALLOW4] = (struct owned_map){ st->maps.allow4, sizeof(struct wgks_allow4_key), 1 };
	out[OWNED_ALLOW6] = (struct owned_map){ st->maps.allow6, sizeof(struct wgks_allow6_key), 1 };
}

int ns_read(const struct ks_ctx *c, struct wgks_policy *p)
{
	memset(p, 0, sizeof(*p));
	if (ks_policy_read(&c->st.maps, c->netns, p) == 0)
		return 1;
	memset(p, 0, sizeof(*p));
	if (errno == ENOENT)
		return 0;
	err("cannot read the policy: %s", strerror(errno));
	return -1;
}

static uint32_t used_slots(const struct wgks_policy *p)
{
	uint32_t mask = 0;

	for (int i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (p->tunnels[i].name[0])
			mask |= 1u << i;
	}
	return mask;
}

/* ENDPOINTS and ALLOW say whether the maps hold entries of this namespace. */
static void update_flags(const struct ks_ctx *c, struct wgks_policy *p)
{
	struct owned_map m[OWNED_MAX];

	owned_maps(&c->st, m);
	p->flags &= ~(WGKS_F_ENDPOINTS | WGKS_F_ALLOW);
	if (owned_any(&m[OWNED_ENDPOINTS], c->netns))
		p->flags |= WGKS_F_ENDPOINTS;
	if (owned_any(&m[OWNED_ALLOW4], c->netns) || owned_any(&m[OWNED_ALLOW6], c->netns))
		p->flags |= WGKS_F_ALLOW;
}

int ns_prune(const struct ks_ctx *c, const struct wgks_policy *p, int fresh)
{
	uint32_t keep = used_slots(p) & ~(fresh >= 0 ? 1u << fresh : 0);
	struct owned_map m[OWNED_MAX];

	owned_maps(&c->st, m);
	for (int i = 0; i < OWNED_MAX; i++) {
		if (owned_keep(&m[i], c->netns, keep))
			return -1;
	}
	return 0;
}

static bool no_policy_left(int policy_fd)
{
	uint64_t key;

	return bpf_map_get_next_key(policy_fd, NULL, &key) && errno == ENOENT;
}

int ns_commit(struct ks_ctx *c, const struct wgks_policy *p)
{
	struct wgks_policy q = *p;

	if (policy_is_empty(p)) {
		/* Its counters' index is free again once no policy names it. */
		if (bpf_map_delete_elem(c->st.maps.policy, &c->netns) && errno != ENOENT) {
			err("cannot remove the policy: %s", strerror(errno));
			return -1;
		}
	} else {
		/* The entries are in (or out) already: the flags follow them. */
		update_flags(c, &q);
		/* Zeroed counters first (for a new namespace), then the policy naming them. */
		if (ks_counters_index(&c->st.maps, c->netns, &q.counters) < 0)
			return -1;
		if (ks_policy_write(&c->st.maps, c->netns, &q)) {
			err("cannot write the policy: %s", strerror(errno));
			return -1;
		}
	}
	if (c->found && policy_is_empty(p) && no_policy_left(c->st.maps.policy))
		return ks_detach(&c->st, c->cgroup_fd);
	/* Attached only once a policy is in: never a program without it. */
	if (!c->found && !policy_is_empty(p)) {
		if (ks_attach(&c->st, c->cgroup_fd))
			return -1;
		c->found = true;
	}
	return 0;
}
