/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where this namespace's routes lead, as far as the backstop needs it: the
 * devices through which some route reaches beyond the link (to a gateway,
 * or by default), in any routing table, IPv4 and IPv6.
 */
#ifndef WGKS_ROUTES_H
#define WGKS_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

#define ROUTES_MAX_WAYS_OUT 64

struct ways_out {
	int n;
	bool unknown;    /* a route whose device cannot be told (a nexthop object): any may be */
	uint32_t ifindex[ROUTES_MAX_WAYS_OUT];
};

/* Fill W from a dump of every route. 0, or -1 after err(). */
int routes_ways_out(struct ways_out *w);

/* Whether some route leads off the link through IFINDEX (or might). */
bool routes_lead_out(const struct ways_out *w, uint32_t ifindex);

#endif
