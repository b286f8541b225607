// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include "policy.h"

static bool slot_used(const struct wgks_tunnel *t)
{
	return t->name[0] != '\0';
}

static bool same_name(const struct wgks_tunnel *t, const char *name)
{
	return slot_used(t) && !strncmp(t->name, name, sizeof(t->name));
}

/* The program looks at slots below ntunnels: one past the last used. */
static void update_count(struct wgks_policy *p)
{
	p->rules.ntunnels = 0;
	for (uint32_t i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (slot_used(&p->rules.tunnels[i]))
			p->rules.ntunnels = i + 1;
	}
}

static void clear_slot(struct wgks_policy *p, int i)
{
	memset(&p->rules.tunnels[i], 0, sizeof(p->rules.tunnels[i]));
}

int policy_set_tunnel(struct wgks_policy *p, const char *name, uint32_t ifindex,
		      uint32_t fwmark)
{
	int slot = -1;

	/* The same name keeps its slot; a stale entry with this ifindex goes. */
	for (int i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (same_name(&p->rules.tunnels[i], name))
			slot = i;
		else if (slot_used(&p->rules.tunnels[i]) && p->rules.tunnels[i].ifindex == ifindex)
			clear_slot(p, i);
	}
	for (int i = 0; i < WGKS_MAX_TUNNELS && slot < 0; i++) {
		if (!slot_used(&p->rules.tunnels[i]))
			slot = i;
	}
	if (slot < 0)
		return -1;
	clear_slot(p, slot);
	strncpy(p->rules.tunnels[slot].name, name, sizeof(p->rules.tunnels[slot].name) - 1);
	p->rules.tunnels[slot].ifindex = ifindex;
	p->rules.tunnels[slot].fwmark = fwmark;
	update_count(p);
	return slot;
}

int policy_remove_tunnel(struct wgks_policy *p, const char *name)
{
	for (int i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (same_name(&p->rules.tunnels[i], name)) {
			clear_slot(p, i);
			update_count(p);
			return i;
		}
	}
	return -1;
}

void policy_remove_all_tunnels(struct wgks_policy *p)
{
	for (int i = 0; i < WGKS_MAX_TUNNELS; i++)
		clear_slot(p, i);
	update_count(p);
}

unsigned policy_count_tunnels(const struct wgks_policy *p)
{
	unsigned n = 0;

	for (int i = 0; i < WGKS_MAX_TUNNELS; i++)
		n += slot_used(&p->rules.tunnels[i]);
	return n;
}

bool policy_is_empty(const struct wgks_policy *p)
{
	return policy_count_tunnels(p) == 0 && !(p->rules.flags & WGKS_F_LOCKDOWN);
}
