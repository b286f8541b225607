/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backstop: the same policy for what leaves a protected namespace
 * without passing the cgroup hook, judged on each of its devices at tc
 * egress. The cgroup hook sees only packets of full sockets; the kernel's
 * own RSTs for closed IPv6 ports, SYN-ACKs under SYN cookies, TIME_WAIT
 * ACKs, the in-kernel WireGuard's packets and everything forwarded for a
 * container or VM come here and nowhere else. What the cgroup program
 * passed carries WGKS_JUDGED_MARK: the bit is cleared and the packet
 * passes, at the cost of a test, before anything else is read.
 *
 * The device holds the program, with its maps (tcx, or a clsact filter
 * where the kernel has no tcx: loader/backstop.c): like the cgroup
 * attachment, it outlives the loader and its mount namespace, and no
 * firewall flush touches it. (No dispatcher with a tail call: a program
 * array the kernel holds without a user-space reference is emptied.)
 *
 * It passes with "no verdict" (TC_ACT_UNSPEC, the same value as tcx's
 * TCX_NEXT): tcx then runs the next program of the device's chain, and
 * then the clsact filters; cls_bpf in direct action the next filter. A
 * packet no one else judges goes out. Returning TC_ACT_OK (tcx: TCX_PASS)
 * would end the chain there: another's shaping or policy filter after ours
 * would never see what we passed. Only the handover program does, for the
 * moment a device moves from a clsact filter to tcx (wgks_bh_*, below).
 */
#ifndef WGKS_BACKSTOP_BPF_H
#define WGKS_BACKSTOP_BPF_H

#include "verdict.bpf.h"

/* pkt_cls.h's, which also holds what the verifier cannot read (its own struct __sk_buff). */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
/* Not in the UAPI headers either: socket families are libc's. */
#define AF_PACKET_ 17

/* A source port, as the packet has it. */
static __always_inline __be16 source_port(struct __sk_buff *skb, const struct dest *d)
{
	__be16 port = 0;

	if (d->l4_off && (d->proto == IPPROTO_UDP || d->proto == IPPROTO_TCP))
		load_net(skb, d->l4_off + offsetof(struct udphdr, source), &port,
				   sizeof(port));
	return port;
}

/* Row 3 without a socket: the in-kernel WireGuard marks its packets with its fwmark. */
static __always_inline bool has_tunnel_fwmark(const struct wgks_rules *p, __u32 mark)
{
	__u32 n = p->ntunnels;

	if (!mark)
		return false;
	for (__u32 i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (i >= n)
			break;
		if (p->tunnels[i].fwmark == mark)
			return true;
	}
	return false;
}

/*
 * The rows for a packet no cgroup program judged. Only root and the kernel
 * write such a packet's mark (it crossed no socket hook; a packet from
 * another namespace had it cleared on the way in), so row 3 trusts it
 * here. A global function, verified once.
 */
__noinline int wgks_backstop_rows(struct __sk_buff *skb, __u64 netns, const struct wgks_rules *p)
{
	enum wgks_reason r;
	struct bpf_sock *sk;
	struct dest d = {};

	if (!p)
		return WGKS_REASON_KERNEL;
	/* ARP and the like: link upkeep, no IP to judge. */
	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return WGKS_REASON_LINK;
	r = decide_device(p, skb->ifindex);
	if (r != WGKS_REASON_BLOCKED)
		return r;
	if (is_internal(p->counters, skb->ifindex))
		return WGKS_REASON_INTERNAL;
	/* Packet sockets (DHCPv4 clients, raw senders): CAP_NET_RAW, out of scope. */
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk && sk->family == AF_PACKET_)
		return WGKS_REASON_PACKET;
	if (has_tunnel_fwmark(p, skb->mark))
		return WGKS_REASON_FWMARK;
	if (parse_dest(skb, &d)) {
		if (d.link_upkeep || (d.proto == IPPROTO_IGMP && d.hoplimit == 1))
			return WGKS_REASON_LINK;
		/*
		 * Row 6 by WireGuard's port, for the kernel's WireGuard. Never
		 * for a forwarded packet: a container may pick that port too,
		 * and WireGuard's own (a local socket's, or re-sent by a
		 * tunnel, which clears the ingress device) are never forwarded.
		 */
		r = decide_dest(p, netns, &d, 0, skb->ingress_ifindex ? 0 : source_port(skb, &d));
		if (r != WGKS_REASON_BLOCKED)
			return r;
		/* The kernel's own WireGuard starts a handshake before attach ran. */
		if (!skb->sk && !skb->ingress_ifindex && is_handshake_initiation(skb, &d))
			return WGKS_REASON_HANDSHAKE;
	}
	r = skb->ingress_ifindex ? WGKS_REASON_FORWARD : WGKS_REASON_KERNEL;
	report_blocked(skb, netns, p->counters, &d, r);
	return r;
}

/*
 * Judged by the cgroup program: clear the bit and let it by. A forwarded
 * packet (it came in by a device) never met that program: a bit set on it
 * is someone else's (a root firewall rule's), stays, and judges nothing.
 */
static __always_inline bool judged(struct __sk_buff *skb)
{
	if (skb->ingress_ifindex || !(skb->mark & WGKS_JUDGED_MARK))
		return false;
	skb->mark &= ~WGKS_JUDGED_MARK;
	return true;
}

/*
 * The backstop for a packet of namespace NETNS (the device's), and its
 * count: TC_ACT_SHOT, or PASS (TC_ACT_UNSPEC: the chain goes on;
 * TC_ACT_OK: it ends here, for the handover program).
 */
static __always_inline int backstop(struct __sk_buff *skb, __u64 netns, int pass)
{
	struct wgks_policy *pol = bpf_map_lookup_elem(&wgks_policy, &netns);
	const struct wgks_rules *p;
	enum wgks_reason r;

	/* A device of a namespace whose policy went: nothing to enforce. */
	if (!pol) {
		pass_unmanaged(skb->len);
		return pass;
	}
	p = &pol->rules;
	r = (enum wgks_reason)wgks_backstop_rows(skb, netns, p);
	count(p->counters, r, skb->len);
	return r == WGKS_REASON_FORWARD || r == WGKS_REASON_KERNEL ? TC_ACT_SHOT : pass;
}

/*
 * A variant's two tc programs, around NETNS_OF(skb), its way to the
 * device's namespace cookie:
 *   wgks_bs_NAME  the backstop: passes with TC_ACT_UNSPEC.
 *   wgks_bh_NAME  the handover: the same table, but a pass ends the chain
 *                 (TC_ACT_OK, TCX_PASS). Put first in a device's tcx chain
 *                 while that device still has a clsact filter of ours, it
 *                 keeps that filter from running at all: after the tcx
 *                 program cleared WGKS_JUDGED_MARK, the filter would take a
 *                 packet the cgroup program passed for one nothing judged
 *                 (a WireGuard handshake from a root socket, which passes
 *                 only at the cgroup hook, would be dropped). Loaded only
 *                 for that move, then replaced in place by wgks_bs_NAME.
 */
#define BACKSTOP_PROGRAMS(name, netns_of)                                       \
	SEC("tc")                                                               \
	int wgks_bs_##name(struct __sk_buff *skb)                               \
	{                                                                       \
		if (judged(skb))                                                \
			return TC_ACT_UNSPEC;                                   \
		return backstop(skb, netns_of(skb), TC_ACT_UNSPEC);             \
	}                                                                       \
	SEC("tc")                                                               \
	int wgks_bh_##name(struct __sk_buff *skb)                               \
	{                                                                       \
		if (judged(skb))                                                \
			return TC_ACT_OK;                                       \
		return backstop(skb, netns_of(skb), TC_ACT_OK);                 \
	}

#endif
