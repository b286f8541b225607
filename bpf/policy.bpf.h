/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy table of DESIGN.md for a namespace that has a policy: the
 * rows that look at the route (2-4) and those that look at the
 * destination (6-7). Shared by the egress program, which sees packets, and
 * the sock_ops program, which sees connecting sockets.
 */
#ifndef WGKS_POLICY_BPF_H
#define WGKS_POLICY_BPF_H

#include "maps.bpf.h"
#include "packet.bpf.h"

#define LOOPBACK_IFINDEX 1

/*
 * Name resolution that never passes row 7, even to an allowed prefix: DNS
 * (53), DNS over TLS and QUIC (853) and LLMNR (5355), which asks the link
 * for any single-label name and so gives typed host names away. mDNS
 * (5353) does pass: it resolves only .local names on the link, and it is
 * how printers and media devices are found.
 */
static __always_inline bool is_name_resolution(__be16 port)
{
	return port == bpf_htons(53) || port == bpf_htons(853) || port == bpf_htons(5355);
}

/* Rows 2 to 4: the egress device and the mark. BLOCKED if none matches. */
static __always_inline enum wgks_reason decide_route(const struct wgks_policy *p,
						     __u32 ifindex, __u32 mark)
{
	__u32 n = p->ntunnels;

	for (__u32 i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (i >= n)
			break;
		/* A free slot has ifindex 0, which no device has. */
		if (p->tunnels[i].ifindex == ifindex)
			return WGKS_REASON_TUNNEL;
		if (mark && p->tunnels[i].fwmark == mark)
			return WGKS_REASON_FWMARK;
	}
	if (ifindex == LOOPBACK_IFINDEX)
		return WGKS_REASON_LOCAL;
	return WGKS_REASON_BLOCKED;
}

/* Row 6: UDP to a peer endpoint of a tunnel whose fwmark is off. */
static __always_inline bool is_endpoint(__u64 netns, const struct dest *d)
{
	struct wgks_endpoint_key k;

	if (d->proto != IPPROTO_UDP || !d->port || d->source_routed)
		return false;
	/* Every byte counts in a hash key, padding too. */
	__builtin_memset(&k, 0, sizeof(k));
	k.netns = netns;
	k.family = d->family;
	k.port = d->port;
	__builtin_memcpy(k.addr, d->addr, 16);
	return bpf_map_lookup_elem(&wgks_endpoints, &k) != NULL;
}

/* Row 7: an allowed prefix, one longest-prefix lookup; never name resolution. */
static __always_inline bool is_allowed(__u64 netns, const struct dest *d)
{
	void *hit;

	/*
	 * The port is unknown for non-first fragments and odd extension
	 * headers: those could be DNS, so they do not pass. Nor does a
	 * source-routed packet: its header names only the first hop.
	 */
	if (!d->proto || ((d->proto == IPPROTO_UDP || d->proto == IPPROTO_TCP) && !d->port))
		return false;
	if (d->source_routed || is_name_resolution(d->port))
		return false;
	if (d->family == 4) {
		struct wgks_allow4_key k = { .prefixlen = 64 + 32 };

		__builtin_memcpy(k.netns, &netns, sizeof(netns));
		__builtin_memcpy(k.addr, d->addr, 4);
		hit = bpf_map_lookup_elem(&wgks_allow4, &k);
	} else {
		struct wgks_allow6_key k = { .prefixlen = 64 + 128 };

		__builtin_memcpy(k.netns, &netns, sizeof(netns));
		__builtin_memcpy(k.addr, d->addr, 16);
		hit = bpf_map_lookup_elem(&wgks_allow6, &k);
	}
	return hit != NULL;
}

/* Rows 6 and 7, for what rows 2 to 5 did not pass. */
static __always_inline enum wgks_reason decide_dest(__u32 flags, __u64 netns,
						    const struct dest *d)
{
	if ((flags & WGKS_F_ENDPOINTS) && is_endpoint(netns, d))
		return WGKS_REASON_ENDPOINT;
	if ((flags & WGKS_F_ALLOW) && is_allowed(netns, d))
		return WGKS_REASON_LAN;
	return WGKS_REASON_BLOCKED;
}

#endif
