/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading what the policy needs from an outgoing packet, through the UAPI
 * headers' named fields, from its network header on (load_net()).
 */
#ifndef WGKS_PACKET_BPF_H
#define WGKS_PACKET_BPF_H

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/udp.h>

/* The IPv6 fragment header: RFC 8200 4.5 (UAPI has no struct for it). */
struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units, then 2 reserved bits and M */
	__be32 identification;
};

/* NDP (RFC 4861): router solicitation to redirect; UAPI names none of them. */
#define NDP_FIRST_TYPE 133
#define NDP_LAST_TYPE 137

#define IPV6_FRAG_OFFSET_MASK 0xfff8
#define IPV4_FRAG_OFFSET_MASK 0x1fff
/* Extension headers walked before giving up on finding the ports. */
#define MAX_EXT_HEADERS 4
/* IPv4 options: at most 40 bytes, so at most 40 of them. */
#define MAX_IPV4_OPTIONS 40

/*
 * Read LEN bytes at OFF from the network header: where the packet starts
 * for the cgroup program, past the link-layer header for the backstop at tc.
 */
static __always_inline long load_net(struct __sk_buff *skb, __u32 off, void *to, __u32 len)
{
	return bpf_skb_load_bytes_relative(skb, off, to, len, BPF_HDR_START_NET);
}

/* Where a packet goes: what rows 5 to 7 look at. */
struct dest {
	__u8 family; /* 4 or 6 */
	__u8 proto;  /* transport protocol; 0 if unknown (odd extension headers) */
	__be16 port; /* destination port of TCP or UDP; 0 if none or unknown */
	__u8 addr[16];
	__u32 l4_off;       /* where the transport header starts; 0 if unknown */
	__u8 hoplimit;      /* IPv4 TTL, IPv6 hop limit */
	bool link_upkeep;   /* row 5: IPv6 NDP or MLD, see ipv6_link_upkeep() */
	/*
	 * The header's destination is only the first hop: IPv4 loose or
	 * strict source routing, or an IPv6 routing header. Any socket can ask
	 * for one, so rows 6 and 7, which judge the destination, never pass it.
	 */
	bool source_routed;
};

/*
 * Whether the IPv4 options (OPTLEN bytes after the fixed header) route by
 * source. Read from the packet an option at a time (a stack array indexed
 * by a variable offset is what the verifier cannot follow); only packets
 * that carry options, rare, pay for it. A global function: its loop is
 * verified once, not again along every path of parse_ipv6's.
 */
__noinline int ipv4_source_routed(struct __sk_buff *skb, __u32 optlen)
{
	__u32 off = 0;

	if (!skb)
		return 1;
	for (int i = 0; i < MAX_IPV4_OPTIONS; i++) {
		__u8 opt[2]; /* type, then length for all but END and NOOP */

		if (off >= optlen)
			break;
		if (load_net(skb, sizeof(struct iphdr) + off, opt, 1))
			return true; /* unreadable options: assume the worst */
		if (opt[0] == IPOPT_END)
			break;
		if (opt[0] == IPOPT_NOOP) {
			off++;
			continue;
		}
		if (opt[0] == IPOPT_LSRR || opt[0] == IPOPT_SSRR)
			return true;
		if (load_net(skb, sizeof(struct iphdr) + off, opt, 2) || opt[1] < 2)
			return true; /* malformed */
		off += opt[1];
	}
	return false;
}

/* Fill d from an IPv4 packet. False if it cannot be read. */
static __always_inline bool parse_ipv4(struct __sk_buff *skb, struct dest *d)
{
	struct iphdr ip;
	__u32 ihl;

	if (load_net(skb, 0, &ip, sizeof(ip)))
		return false;
	d->family = 4;
	d->proto = ip.protocol;
	d->hoplimit = ip.ttl;
	__builtin_memcpy(d->addr, &ip.daddr, sizeof(ip.daddr));
	ihl = ip.ihl * 4;
	if (ihl > sizeof(ip))
		d->source_routed = ipv4_source_routed(skb, ihl - sizeof(ip)) != 0;
	/* A non-first fragment has no transport header: its port is unknown. */
	if (bpf_ntohs(ip.frag_off) & IPV4_FRAG_OFFSET_MASK)
		return true;
	d->l4_off = ihl;
	if ((d->proto == IPPROTO_UDP || d->proto == IPPROTO_TCP) &&
	    load_net(skb, ihl + offsetof(struct udphdr, dest), &d->port, sizeof(d->port)))
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

	if (load_net(skb, off + offsetof(struct icmp6hdr, icmp6_type), &type,
			       sizeof(type)))
		return false;
	if (type >= NDP_FIRST_TYPE && type <= NDP_LAST_TYPE)
		return hoplimit == 255;
	if ((type >= ICMPV6_MGM_QUERY && type <= ICMPV6_MGM_REDUCTION) ||
	    type == ICMPV6_MLD2_REPORT)
		return hoplimit == 1;
	return false;
}

/* Fill d from an IPv6 packet, walking a few extension headers. */
static __always_inline bool parse_ipv6(struct __sk_buff *skb, struct dest *d)
{
	__u32 off = sizeof(struct ipv6hdr);
	struct ipv6hdr ip;
	bool only_one_hbh = true; /* what may stand before NDP or MLD */
	__u8 next;

	if (load_net(skb, 0, &ip, sizeof(ip)))
		return false;
	d->family = 6;
	d->hoplimit = ip.hop_limit;
	__builtin_memcpy(d->addr, &ip.daddr, sizeof(ip.daddr));
	next = ip.nexthdr;
	for (int i = 0; i < MAX_EXT_HEADERS; i++) {
		struct ipv6_opt_hdr ext; /* the first two bytes every extension header has */

		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
		    next != IPPROTO_FRAGMENT && next != IPPROTO_AH)
			break;
		if (next != IPPROTO_HOPOPTS || i > 0)
			only_one_hbh = false;
		if (next == IPPROTO_ROUTING)
			d->source_routed = true;
		if (next == IPPROTO_FRAGMENT) {
			struct ipv6_frag_hdr frag;

			if (load_net(skb, off, &frag, sizeof(frag)))
				return true; /* proto stays 0: unknown */
			if (bpf_ntohs(frag.frag_off) & IPV6_FRAG_OFFSET_MASK)
				return true; /* non-first fragment: no ports */
			next = frag.nexthdr;
			off += sizeof(frag);
			continue;
		}
		if (load_net(skb, off, &ext, sizeof(ext)))
			return true;
		/* AH counts its length in 4-byte words less 2, the others in 8-byte ones less 1. */
		off += next == IPPROTO_AH ? (ext.hdrlen + 2) * 4 : (ext.hdrlen + 1) * 8;
		next = ext.nexthdr;
	}
	if (next != IPPROTO_UDP && next != IPPROTO_TCP && next != IPPROTO_ICMPV6)
		return true;
	d->proto = next;
	d->l4_off = off;
	if (next == IPPROTO_ICMPV6 && only_one_hbh)
		d->link_upkeep = ipv6_link_upkeep(skb, off, ip.hop_limit);
	if ((next == IPPROTO_UDP || next == IPPROTO_TCP) &&
	    load_net(skb, off + offsetof(struct udphdr, dest), &d->port, sizeof(d->port)))
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
