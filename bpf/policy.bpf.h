/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy table of DESIGN.md for a namespace that has a policy, row by
 * row, shared by the three places that judge: the egress program (packets
 * of sockets), the sock_ops program (connecting sockets, for fail-fast)
 * and the backstop (packets no socket hook judged: the kernel's own, and
 * forwarded ones).
 */
#ifndef WGKS_POLICY_BPF_H
#define WGKS_POLICY_BPF_H

#include "maps.bpf.h"
#include "packet.bpf.h"

#define LOOPBACK_IFINDEX 1
/* A WireGuard handshake initiation: message type 1, 148 bytes of UDP payload. */
#define WG_HANDSHAKE_INITIATION 1
#define WG_HANDSHAKE_INITIATION_LEN 148

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

/*
 * Row 2: IFINDEX is slot SLOT's tunnel, and wgks_devices still holds that
 * very device: a device that took a deleted tunnel's index is not in it.
 */
static __always_inline bool is_tunnel_device(const struct wgks_tunnel *t, __u32 index,
					     __u32 slot, __u32 ifindex)
{
	__u32 key = WGKS_DEV_KEY(index, slot);
	__u32 *dev;

	if (t->ifindex != ifindex)
		return false;
	/* Kept by an upgrade from a version without wgks_devices: until attach runs again. */
	if (t->flags & WGKS_T_NO_DEVICE)
		return true;
	dev = bpf_map_lookup_elem(&wgks_devices, &key);
	return dev && *dev == ifindex;
}

/* Whether COOKIE is one of the tunnel's WireGuard sockets (0 never is). */
static __always_inline bool is_wg_socket(const struct wgks_tunnel *t, __u64 cookie)
{
	return cookie && (t->sockets[0] == cookie || t->sockets[1] == cookie);
}

/*
 * Rows 2 and 4: the egress device, a protected tunnel or loopback. Asked
 * before row 3, which needs the socket: these two are the common paths,
 * and both pass. BLOCKED if neither matches.
 */
static __always_inline enum wgks_reason decide_device(const struct wgks_rules *p, __u32 ifindex)
{
	__u32 n = p->ntunnels, index = p->counters;

	if (ifindex == LOOPBACK_IFINDEX)
		return WGKS_REASON_LOCAL;
	for (__u32 i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (i >= n)
			break;
		/* A free slot has ifindex 0, which no device has. */
		if (is_tunnel_device(&p->tunnels[i], index, i, ifindex))
			return WGKS_REASON_TUNNEL;
	}
	return WGKS_REASON_BLOCKED;
}

/*
 * Row 3 for a socket (egress: its packet, sock_ops: its connect): its own
 * mark must be its tunnel's fwmark and the socket WireGuard's own. A mark
 * alone is not enough: a program on a child cgroup can set it (on the
 * packet, or on the socket when it is made). CTX is the program's context,
 * for the socket's cookie, read only when a mark matches.
 */
static __always_inline enum wgks_reason decide_mark(void *ctx, const struct wgks_rules *p,
						    __u32 mark)
{
	__u32 n = p->ntunnels;
	__u64 cookie = 0;

	if (!mark)
		return WGKS_REASON_BLOCKED;
	for (__u32 i = 0; i < WGKS_MAX_TUNNELS; i++) {
		const struct wgks_tunnel *t = &p->tunnels[i];

		if (i >= n)
			break;
		if (t->fwmark != mark)
			continue;
		if (t->flags & WGKS_T_TRUST_MARK)
			return WGKS_REASON_FWMARK;
		if (!cookie)
			cookie = bpf_get_socket_cookie(ctx);
		if (is_wg_socket(t, cookie))
			return WGKS_REASON_FWMARK;
	}
	return WGKS_REASON_BLOCKED;
}

/* Row 6's key: UDP to a peer endpoint of a tunnel whose fwmark is off. */
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

/*
 * Who sends: row 6 passes WireGuard's own packets only. A socket's packet
 * (COOKIE non-zero) must come from a fwmark-off tunnel's socket; a packet
 * of the kernel's (the in-kernel WireGuard's, no socket judged it) from
 * such a tunnel's listen port, SPORT.
 */
static __always_inline bool is_wireguard_sender(const struct wgks_rules *p, __u64 cookie,
						__be16 sport)
{
	__u32 n = p->ntunnels;

	for (__u32 i = 0; i < WGKS_MAX_TUNNELS; i++) {
		const struct wgks_tunnel *t = &p->tunnels[i];

		if (i >= n)
			break;
		if (t->fwmark || !t->ifindex)
			continue;
		if (cookie ? is_wg_socket(t, cookie)
			   : t->listen_port && bpf_htons(t->listen_port) == sport)
			return true;
	}
	return false;
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

/* Rows 6 and 7, for what rows 2 to 5 did not pass. COOKIE, SPORT: see is_wireguard_sender(). */
static __always_inline enum wgks_reason decide_dest(const struct wgks_rules *p, __u64 netns,
						    const struct dest *d, __u64 cookie,
						    __be16 sport)
{
	if ((p->flags & WGKS_F_ENDPOINTS) && is_endpoint(netns, d) &&
	    is_wireguard_sender(p, cookie, sport))
		return WGKS_REASON_ENDPOINT;
	if ((p->flags & WGKS_F_ALLOW) && is_allowed(netns, d))
		return WGKS_REASON_LAN;
	return WGKS_REASON_BLOCKED;
}

/* A local bridge of containers or VMs (wgks_internal): what goes there stays on the host. */
static __always_inline bool is_internal(__u32 index, __u32 ifindex)
{
	__u32 key = WGKS_INTERNAL_KEY(index, ifindex);
	__u32 *dev;

	if (ifindex >> WGKS_INTERNAL_IFINDEX_BITS)
		return false;
	dev = bpf_map_lookup_elem(&wgks_internal, &key);
	return dev && *dev == ifindex;
}

/*
 * A WireGuard handshake initiation (UDP, 148 bytes of payload, type 1):
 * WireGuard's first packet, which wireguard-go and the kernel send before
 * wg-quick has set the fwmark and PostUp has run attach. The callers let
 * it pass only from root's sockets or from the kernel itself.
 */
static __always_inline bool is_handshake_initiation(struct __sk_buff *skb, const struct dest *d)
{
	struct udphdr udp;
	__u32 type;

	if (d->proto != IPPROTO_UDP || !d->l4_off || d->source_routed)
		return false;
	if (load_net(skb, d->l4_off, &udp, sizeof(udp)) ||
	    bpf_ntohs(udp.len) != sizeof(udp) + WG_HANDSHAKE_INITIATION_LEN)
		return false;
	/* Type 1, then three reserved zero bytes, little-endian as WireGuard writes it. */
	if (load_net(skb, d->l4_off + sizeof(udp), &type, sizeof(type)))
		return false;
	return type == bpf_htonl(WG_HANDSHAKE_INITIATION << 24);
}

#endif
