// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include "policy.h"

static void remove_at(struct wgks_policy *p, uint32_t i)
{
	memmove(&p->tunnels[i], &p->tunnels[i + 1],
		(p->ntunnels - i - 1) * sizeof(p->tunnels[0]));
	p->ntunnels--;
	memset(&p->tunnels[p->ntunnels], 0, sizeof(p->tunnels[0]));
}

static bool same_name(const struct wgks_tunnel *t, const char *name)
{
	return !strncmp(t->name, name, sizeof(t->name));
}

int policy_set_tunnel(struct wgks_policy *p, const char *name, uint32_t ifindex,
		      uint32_t fwmark)
{
	struct wgks_tunnel *t;

	if (p->ntunnels > WGKS_MAX_TUNNELS)
		return -1;
	for (uint32_t i = 0; i < p->ntunnels;) {
		if (same_name(&p->tunnels[i], name) || p->tunnels[i].ifindex == ifindex)
			remove_at(p, i);
		else
			i++;
	}
	if (p->ntunnels == WGKS_MAX_TUNNELS)
		return -1;
	t = &p->tunnels[p->ntunnels++];
	memset(t, 0, sizeof(*t));
	strncpy(t->name, name, sizeof(t->name) - 1);
	t->ifindex = ifindex;
	t->fwmark = fwmark;
	return 0;
}

bool policy_remove_tunnel(struct wgks_policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->ntunnels && i < WGKS_MAX_TUNNELS; i++) {
		if (same_name(&p->tunnels[i], name)) {
			remove_at(p, i);
			return true;
		}
	}
	return false;
}

const struct wgks_tunnel *policy_find_tunnel(const struct wgks_policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->ntunnels && i < WGKS_MAX_TUNNELS; i++) {
		if (same_name(&p->tunnels[i], name))
			return &p->tunnels[i];
	}
	return NULL;
}
