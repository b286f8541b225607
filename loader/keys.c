// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <string.h>
#include "keys.h"

/* The LPM tries match the namespace's 64 bits first, then the address. */
#define NETNS_BITS 64

void endpoint_key(uint64_t netns, const struct endpoint *e, struct wgks_endpoint_key *k)
{
	memset(k, 0, sizeof(*k));
	k->netns = netns;
	k->family = e->family;
	k->port = htons(e->port);
	memcpy(k->addr, e->addr, e->family == 4 ? 4 : 16);
}

size_t allow_key(uint64_t netns, const struct prefix *p, void *key)
{
	if (p->family == 4) {
		struct wgks_allow4_key *k = key;

		memset(k, 0, sizeof(*k));
		k->prefixlen = NETNS_BITS + p->len;
		memcpy(k->netns, &netns, sizeof(netns));
		memcpy(k->addr, p->addr, 4);
		return sizeof(*k);
	} else {
		struct wgks_allow6_key *k = key;

		memset(k, 0, sizeof(*k));
		k->prefixlen = NETNS_BITS + p->len;
		memcpy(k->netns, &netns, sizeof(netns));
		memcpy(k->addr, p->addr, 16);
		return sizeof(*k);
	}
}

void endpoint_from_key(const struct wgks_endpoint_key *k, struct endpoint *e)
{
	memset(e, 0, sizeof(*e));
	e->family = k->family;
	e->port = ntohs(k->port);
	memcpy(e->addr, k->addr, 16);
}

void prefix_from_key(int family, const void *key, struct prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)family;
	if (family == 4) {
		const struct wgks_allow4_key *k = key;

		p->len = (uint8_t)(k->prefixlen - NETNS_BITS);
		memcpy(p->addr, k->addr, 4);
	} else {
		const struct wgks_allow6_key *k = key;

		p->len = (uint8_t)(k->prefixlen - NETNS_BITS);
		memcpy(p->addr, k->addr, 16);
	}
}

uint64_t key_netns(const void *key, int is_allow)
{
	uint64_t netns;

	if (is_allow)
		memcpy(&netns, (const char *)key + offsetof(struct wgks_allow4_key, netns),
		       sizeof(netns));
	else
		memcpy(&netns, key, sizeof(netns));
	return netns;
}
