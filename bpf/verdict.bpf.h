/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The verdict on a socket's packet, at the cgroup egress hook: the egress
 * programs of both objects (killswitch.bpf.c, killswitch_kctx.bpf.c) differ
 * only in how they learn the packet's namespace cookie.
 */
#ifndef WGKS_VERDICT_BPF_H
#define WGKS_VERDICT_BPF_H

#include "policy.bpf.h"
#include "events.bpf.h"
#include "failfast.bpf.h"

#define DROP 0
#define PASS 1

static __always_inline void count(__u32 index, enum wgks_reason r, __u32 len)
{
	struct wgks_counters *c = bpf_map_lookup_elem(&wgks_stats, &index);

	if (!c)
		return;
	/* The verifier knows nothing of what a global function returns: bound it. */
	r &= WGKS_REASON_SLOTS - 1;
	/* Per-CPU values: plain adds, no atomics needed. */
	c->packets[r] += 1;
	c->bytes[r] += len;
}

static __always_inline int pass_unmanaged(__u32 len)
{
	struct wgks_counters *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&wgks_unmanaged, &zero);
	if (c) {
		c->packets[WGKS_REASON_UNMANAGED] += 1;
		c->bytes[WGKS_REASON_UNMANAGED] += len;
	}
	return PASS;
}

/*
 * Rows 3 and 5 to 8, for a packet the device did not pass: the socket's
 * mark (row 3), a local bridge, link upkeep, WireGuard's endpoints, allowed
 * prefixes, and a handshake initiation from root; the watcher's event if
 * it is dropped. The packet is read once, for all of them.
 *
 * A global function: the verifier checks it once, on its own, rather than
 * again along every path of the caller that reaches it (that halved the
 * egress program's verification, most of an attach's time). The tunnel and
 * loopback paths never call it.
 */
__noinline int wgks_off_route(struct __sk_buff *skb, __u64 netns, const struct wgks_rules *p)
{
	enum wgks_reason r = WGKS_REASON_BLOCKED;
	struct bpf_sock *sk;
	struct dest d = {};
	__u64 cookie = 0;
	__u32 uid;

	if (!p)
		return WGKS_REASON_BLOCKED;
	/* The socket's own mark, not skb->mark: a program before ours may write that. */
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk && decide_mark(skb, p, sk->mark) == WGKS_REASON_FWMARK)
		return WGKS_REASON_FWMARK;
	if (is_internal(p->counters, skb->ifindex))
		return WGKS_REASON_INTERNAL;
	uid = bpf_get_socket_uid(skb);
	/* IPv4 has no row 5: without rows 6 and 7, or root's handshakes, nothing to read. */
	if ((skb->protocol == bpf_htons(ETH_P_IPV6) || (p->flags & (WGKS_F_ENDPOINTS | WGKS_F_ALLOW)) ||
	     uid == 0) && parse_dest(skb, &d)) {
		if (p->flags & WGKS_F_ENDPOINTS)
			cookie = bpf_get_socket_cookie(skb);
		if (d.link_upkeep)
			r = WGKS_REASON_LINK;
		else
			r = decide_dest(p, netns, &d, cookie, 0);
		if (r == WGKS_REASON_BLOCKED && uid == 0 && is_handshake_initiation(skb, &d))
			r = WGKS_REASON_HANDSHAKE;
	}
	if (r == WGKS_REASON_BLOCKED)
		report_blocked(skb, netns, p->counters, &d, WGKS_REASON_BLOCKED);
	return r;
}

/* The whole table for one packet of a socket, and its count. */
static __always_inline int verdict(struct __sk_buff *skb, __u64 netns)
{
	struct wgks_policy *pol = bpf_map_lookup_elem(&wgks_policy, &netns);
	const struct wgks_rules *p;
	enum wgks_reason r;

	if (!pol)
		return pass_unmanaged(skb->len);
	p = &pol->rules;
	r = decide_device(p, skb->ifindex);
	if (r == WGKS_REASON_BLOCKED) {
		r = (enum wgks_reason)wgks_off_route(skb, netns, p);
		/*
		 * Passed out of a device with a backstop (any but a tunnel or
		 * loopback): marked as judged, so the backstop lets it by.
		 */
		if (r != WGKS_REASON_BLOCKED)
			skb->mark |= WGKS_JUDGED_MARK;
	}
	count(p->counters, r, skb->len);
	if (r != WGKS_REASON_BLOCKED) {
		syn_passed(skb);
		return PASS;
	}
	return DROP;
}

#endif
