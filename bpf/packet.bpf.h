/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading what the policy needs from an outgoing packet. In a cgroup_skb
 * program the data starts at the network header.
 */
#ifndef WGKS_PACKET_BPF_H
#define WGKS_PACKET_BPF_H

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_DSTOPTS_ 60
#define IPV6_HDR_LEN 40
#define IPV4_FRAG_OFFSET_MASK 0x1fff
/* Extension headers walked before giving up on finding the ports. */
#define MAX_EXT_HEADERS 4

/* Where a packet goes: what rows 6 and 7 look at. */
struct dest {
	__u8 family; /* 4 or 6 */
	__u8 proto;  /* transport protocol; 0 if unknown (odd extension headers) */
	__be16 port; /* destination port of TCP or UDP; 0 if none or unknown */
	__u8 addr[16];
	__u32 l4_off;     /* where the transport header starts; 0 if unknown */
	bool link_upkeep; /* row 5: IPv6 NDP or MLD, see ipv6_link_upkeep() */
};

/* Fill d from an IPv4 packet. False if it cannot be read. */
static __always_inline bool parse_ipv4(struct __sk_buff *skb, struct dest *d)
{
	__u8 ip[20];
	__u32 ihl;

	if (bpf_skb_load_bytes(skb, 0, ip, sizeof(ip)))
		return false;
	d->family = 4;
	d->proto = ip[9];
	__builtin_memcpy(d->addr, &ip[16], 4);
	/* A non-first fragment has no transport header: its port is unknown. */
	if ((((__u16)ip[6] << 8) | ip[7]) & IPV4_FRAG_OFFSET_MASK)
		return true;
	ihl = (ip[0] & 0xf) * 4;
	d->l4_off = ihl;
	if ((d->proto == IPPROTO_UDP || d->proto == IPPROTO_TCP) &&
	    bpf_skb_load_bytes(skb, ihl + 2, &d->port, sizeof(d->port)))
		d->port = 0;
	return true;
}

/*
 * Row 5: IPv6 neighbour discovery (133-137) and multicast listener
 * discovery (130-132, 143). The kernel sends them through this hook and
 * IPv6 dies without them. RFC 4861 and 3810 fix their hop limits (255 and
 * 1); MLD carries a hop-by-hop (router alert) header before ICMPv6, and no
 * other extension header is accepted in front of either.
 */
static __always_inline bool ipv6_link_upkeep(struct __sk_buff *skb, __u32 off, __u8 hoplimit)
{
	__u8 type;

	if (bpf_skb_load_bytes(skb, off, &type, sizeof(type)))
		return false;
	if (type >= 133 && type <= 137)
		return hoplimit == 255;
	if ((type >= 130 && type <= 132) || type == 143)
		return hoplimit == 1;
	return false;
}

/* Fill d from an IPv6 packet, walking a few extension headers. */
static __always_inline bool parse_ipv6(struct __sk_buff *skb, struct dest *d)
{
	__u32 off = IPV6_HDR_LEN;
	__u8 ip[IPV6_HDR_LEN];
	bool only_one_hbh = true; /* what may stand before NDP or MLD */
	__u8 next;

	if (bpf_skb_load_bytes(skb, 0, ip, sizeof(ip)))
		return false;
	d->family = 6;
	__builtin_memcpy(d->addr, &ip[24], 16);
	next = ip[6];
	for (int i = 0; i < MAX_EXT_HEADERS; i++) {
		__u8 ext[4];

		if (next != IPPROTO_HOPOPTS_ && next != IPPROTO_ROUTING_ &&
		    next != IPPROTO_DSTOPTS_ && next != IPPROTO_FRAGMENT_ && next != IPPROTO_AH_)
			break;
		if (next != IPPROTO_HOPOPTS_ || i > 0)
			only_one_hbh = false;
		if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)))
			return true; /* proto stays 0: unknown */
		if (next == IPPROTO_FRAGMENT_) {
			if ((((__u16)ext[2] << 8) | ext[3]) & 0xfff8)
				return true; /* non-first fragment: no ports */
			off += 8;
		} else if (next == IPPROTO_AH_) {
			off += (ext[1] + 2) * 4;
		} else {
			off += (ext[1] + 1) * 8;
		}
		next = ext[0];
	}
	if (next != IPPROTO_UDP && next != IPPROTO_TCP && next != IPPROTO_ICMPV6_)
		return true;
	d->proto = next;
	d->l4_off = off;
	if (next == IPPROTO_ICMPV6_ && only_one_hbh)
		d->link_upkeep = ipv6_link_upkeep(skb, off, ip[7]);
	if ((next == IPPROTO_UDP || next == IPPROTO_TCP) &&
	    bpf_skb_load_bytes(skb, off + 2, &d->port, sizeof(d->port)))
		d->port = 0;
	return true;
}

/*
 * Fill d from the packet; 0 if it cannot be read. A global function, verified
 * once on its own: its branches would otherwise multiply with its callers'.
 */
__noinline int parse_dest(struct __sk_buff *skb, struct dest *d)
{
	if (!d)
		return 0;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return parse_ipv4(skb, d);
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(skb, d);
	return false;
}

#endif
