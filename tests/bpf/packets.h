/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packets for BPF_PROG_TEST_RUN, built field by field through the UAPI
 * header structs (the shape of the kernel selftests' pkt_v4/pkt_v6): an
 * Ethernet header (the test run strips it), then IPv4 or IPv6, extension
 * headers or options, and a transport header. Described with designated
 * initializers:
 *
 *     V4(.proto = IPPROTO_UDP, .dst = "10.1.2.3", .dport = 631)
 *     V6(.proto = IPPROTO_ICMPV6, .dst = "fe80::1", .icmp_type = 135, .hoplimit = 255)
 */
#ifndef WGKS_TEST_PACKETS_H
#define WGKS_TEST_PACKETS_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

struct pkt {
	/*
	 * Two bytes ahead of the 14-byte Ethernet header put the IP header
	 * on a 4-byte boundary (the kernel's NET_IP_ALIGN), where its structs
	 * may be written field by field.
	 */
	unsigned char align[2];
	unsigned char b[384];
	uint32_t len;
} __attribute__((aligned(8)));

/* What an IPv4 packet holds; zero fields take the defaults noted. */
struct v4_spec {
	uint8_t proto;          /* IPPROTO_UDP, _TCP, _ICMP */
	const char *src;        /* 10.0.0.2 */
	const char *dst;
	uint16_t sport, dport;  /* TCP, UDP; sport 12345 */
	uint16_t frag_off;      /* in 8-byte units: non-zero makes a later fragment */
	const uint8_t *opts;    /* IP options, padded with END to a multiple of 4 */
	uint8_t optlen;
	uint8_t ttl;            /* 64 */
	uint8_t tcp_flags;      /* TCP's flags byte (TH_*: 0x04 RST, 0x12 SYN-ACK) */
	const uint8_t *payload; /* after the transport header; PAYLOAD_LEN bytes (4 zero bytes) */
	uint16_t payload_len;
};

/* IPv6: extension headers in order, then the transport header. */
struct v6_spec {
	uint8_t proto;          /* IPPROTO_UDP, _TCP, _ICMPV6 */
	const char *src;        /* fd00::2 */
	const char *dst;
	uint16_t sport, dport;  /* sport 12345 */
	uint8_t icmp_type;
	uint8_t hoplimit;       /* 64 */
	uint8_t ext[4];         /* IPPROTO_HOPOPTS, _ROUTING, _DSTOPTS, _FRAGMENT; 0 ends */
	uint16_t frag_off;      /* of a fragment header, in 8-byte units */
	uint8_t tcp_flags;
	const uint8_t *payload;
	uint16_t payload_len;
};

#define V4(...) pkt_v4(&(struct v4_spec){ __VA_ARGS__ })
#define V6(...) pkt_v6(&(struct v6_spec){ __VA_ARGS__ })

static inline void *pkt_put(struct pkt *p, size_t n)
{
	void *at = p->b + p->len;

	memset(at, 0, n);
	p->len += (uint32_t)n;
	return at;
}

static inline void pkt_eth(struct pkt *p, uint16_t proto)
{
	struct ethhdr *e;

	memset(p, 0, sizeof(*p));
	e = pkt_put(p, sizeof(*e));
	e->h_proto = htons(proto);
}

/*
 * The transport header and its payload (4 zero bytes unless given): ports
 * and TCP flags, or an ICMP type.
 */
static inline void pkt_l4(struct pkt *p, uint8_t proto, uint16_t sport, uint16_t dport,
			  uint8_t icmp_type, uint8_t tcp_flags, const uint8_t *payload,
			  uint16_t payload_len)
{
	uint16_t plen = payload_len ? payload_len : 4;

	if (proto == IPPROTO_UDP || proto == IPPROTO_TCP) {
		/* TCP's ports stand where UDP's do. */
		struct udphdr *u = pkt_put(p, proto == IPPROTO_TCP ? sizeof(struct tcphdr)
								   : sizeof(struct udphdr));

		u->source = htons(sport ? sport : 12345);
		u->dest = htons(dport);
		if (proto == IPPROTO_UDP)
			u->len = htons((uint16_t)(sizeof(*u) + plen));
		else
			((uint8_t *)u)[13] = tcp_flags; /* after ports, seq, ack and offset */
	} else if (proto == IPPROTO_ICMP) {
		struct icmphdr *i = pkt_put(p, sizeof(*i));

		i->type = icmp_type ? icmp_type : ICMP_ECHO;
	} else if (proto == IPPROTO_ICMPV6) {
		struct icmp6hdr *i = pkt_put(p, sizeof(*i));

		i->icmp6_type = icmp_type;
	}
	if (payload)
		memcpy(pkt_put(p, plen), payload, plen);
	else
		pkt_put(p, plen);
}

/* An ARP request: no IP at all. */
static inline struct pkt pkt_arp(void)
{
	struct pkt p;

	pkt_eth(&p, ETH_P_ARP);
	pkt_put(&p, 28);
	return p;
}

static inline struct pkt pkt_v4(const struct v4_spec *s)
{
	struct pkt p;
	struct iphdr *ip;
	uint8_t optlen = (uint8_t)((s->optlen + 3) & ~3);

	pkt_eth(&p, ETH_P_IP);
	ip = pkt_put(&p, sizeof(*ip));
	ip->version = 4;
	ip->ihl = (uint8_t)((sizeof(*ip) + optlen) / 4);
	ip->ttl = s->ttl ? s->ttl : 64;
	ip->protocol = s->proto;
	ip->frag_off = htons(s->frag_off);
	inet_pton(AF_INET, s->src ? s->src : "10.0.0.2", &ip->saddr);
	inet_pton(AF_INET, s->dst, &ip->daddr);
	if (optlen)
		memcpy(pkt_put(&p, optlen), s->opts, s->optlen); /* the rest: IPOPT_END */
	if (!s->frag_off)
		pkt_l4(&p, s->proto, s->sport, s->dport, 0, s->tcp_flags, s->payload, s->payload_len);
	else
		pkt_put(&p, 16); /* a later fragment: payload, no transport header */
	ip = (struct iphdr *)(p.b + ETH_HLEN);
	ip->tot_len = htons((uint16_t)(p.len - ETH_HLEN));
	return p;
}

static inline struct pkt pkt_v6(const struct v6_spec *s)
{
	struct pkt p;
	struct ipv6hdr *ip;
	uint8_t *next;
	int i;

	pkt_eth(&p, ETH_P_IPV6);
	ip = pkt_put(&p, sizeof(*ip));
	ip->version = 6;
	ip->hop_limit = s->hoplimit ? s->hoplimit : 64;
	inet_pton(AF_INET6, s->src ? s->src : "fd00::2", &ip->saddr);
	inet_pton(AF_INET6, s->dst, &ip->daddr);
	next = &ip->nexthdr;
	for (i = 0; i < 4 && s->ext[i]; i++) {
		*next = s->ext[i];
		if (s->ext[i] == IPPROTO_FRAGMENT) {
			uint8_t *f = pkt_put(&p, 8); /* nexthdr, reserved, offset, id */

			f[2] = (uint8_t)((s->frag_off << 3) >> 8);
			f[3] = (uint8_t)(s->frag_off << 3);
			next = &f[0];
		} else if (s->ext[i] == IPPROTO_ROUTING) {
			/* A segment routing header (type 4) with one segment. */
			struct ipv6_rt_hdr *rt = pkt_put(&p, 8 + 16);

			rt->hdrlen = 2;
			rt->type = 4;
			rt->segments_left = 1;
			next = &rt->nexthdr;
		} else {
			/* Hop-by-hop or destination options: a router alert, then PadN. */
			struct ipv6_opt_hdr *o = pkt_put(&p, 8);
			uint8_t *opt = (uint8_t *)(o + 1);

			opt[0] = 5; /* router alert */
			opt[1] = 2;
			opt[4] = 1; /* PadN */
			next = &o->nexthdr;
		}
	}
	*next = s->proto;
	if (s->frag_off)
		pkt_put(&p, 16); /* a later fragment: payload, no transport header */
	else
		pkt_l4(&p, s->proto, s->sport, s->dport, s->icmp_type, s->tcp_flags, s->payload,
		       s->payload_len);
	ip = (struct ipv6hdr *)(p.b + ETH_HLEN);
	ip->payload_len = htons((uint16_t)(p.len - ETH_HLEN - sizeof(*ip)));
	return p;
}

#endif
