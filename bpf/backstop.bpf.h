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
 * A tc filter holds the program, with its maps: like the cgroup attachment,
 * it outlives the loader and its mount namespace, and no firewall flush
 * touches it. (No dispatcher with a tail call: a program array the kernel
 * holds without a user-space reference is emptied.)
 *
 * A pass is "no verdict" (TC_ACT_UNSPEC): cls_bpf in direct action then
 * tries the next filter of the device, and at the end of the chain the
 * packet goes out. TC_ACT_OK would end the chain at ours: another tool's
 * filter at a later priority (shaping, accounting, policy) would never see
 * a packet the backstop passed. Only a drop is a verdict.
 */
#ifndef WGKS_BACKSTOP_BPF_H
#define WGKS_BACKSTOP_BPF_H

#include "verdict.bpf.h"

/* pkt_cls.h's values (that header also holds a struct __sk_buff of its own). */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
/* What the backstop returns for a packet it lets go: the next filter runs. */
#define WGKS_TC_PASS TC_ACT_UNSPEC
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

/* Judged by the cgroup program: clear the bit and let it by. */
static __always_inline bool judged(struct __sk_buff *skb)
{
	if (!(skb->mark & WGKS_JUDGED_MARK))
		return false;
	skb->mark &= ~WGKS_JUDGED_MARK;
	return true;
}

/* The backstop for a packet of namespace NETNS (the device's), and its count. */
static __always_inline int backstop(struct __sk_buff *skb, __u64 netns)
{
	struct wgks_policy *pol = bpf_map_lookup_elem(&wgks_policy, &netns);
	const struct wgks_rules *p;
	enum wgks_reason r;

	/* A device of a namespace whose policy went: nothing to enforce. */
	if (!pol) {
		pass_unmanaged(skb->len);
		return WGKS_TC_PASS;
	}
	p = &pol->rules;
	r = (enum wgks_reason)wgks_backstop_rows(skb, netns, p);
	count(p->counters, r, skb->len);
	return r == WGKS_REASON_FORWARD || r == WGKS_REASON_KERNEL ? TC_ACT_SHOT : WGKS_TC_PASS;
}

#endif
