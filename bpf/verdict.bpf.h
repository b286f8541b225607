/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The verdict on one packet, shared by the egress programs of both objects
 * (killswitch.bpf.c, killswitch_kctx.bpf.c): they differ only in how they
 * learn the packet's namespace cookie.
 */
#ifndef WGKS_VERDICT_BPF_H
#define WGKS_VERDICT_BPF_H

#include "policy.bpf.h"
#include "events.bpf.h"
#include "failfast.bpf.h"

#define DROP 0
#define PASS 1

static __always_inline void count(struct wgks_counters *c, enum wgks_reason r, __u32 len)
{
	if (!c)
		return;
	/* Per-CPU values: plain adds, no atomics needed. */
	c->packets[r] += 1;
	c->bytes[r] += len;
}

/*
 * Rows 5 to 8, for a packet the route did not pass, and the watcher's
 * event if it is dropped. The packet is read once, for all of them.
 *
 * A global function: the verifier checks it once, on its own, rather than
 * again along every path of the caller that reaches it (that halved the
 * egress program's verification, most of an attach's time). Passed paths
 * never call it.
 */
__noinline int wgks_off_route(struct __sk_buff *skb, __u64 netns, __u32 flags, __u32 index)
{
	bool dest_rows = flags & (WGKS_F_ENDPOINTS | WGKS_F_ALLOW);
	enum wgks_reason r = WGKS_REASON_BLOCKED;
	struct dest d = {};

	/* IPv4 has no row 5: without rows 6 and 7 there is nothing to read. */
	if ((skb->protocol == bpf_htons(ETH_P_IPV6) || dest_rows) && parse_dest(skb, &d)) {
		if (d.link_upkeep)
			r = WGKS_REASON_LINK;
		else if (dest_rows)
			r = decide_dest(flags, netns, &d);
	}
	if (r == WGKS_REASON_BLOCKED)
		report_blocked(skb, netns, index, &d);
	return r;
}

/* The whole table for one packet, and its count. */
static __always_inline int verdict(struct __sk_buff *skb, __u64 netns)
{
	struct wgks_policy *p = bpf_map_lookup_elem(&wgks_policy, &netns);
	enum wgks_reason r;

	if (!p) {
		__u32 zero = 0;

		count(bpf_map_lookup_elem(&wgks_unmanaged, &zero), WGKS_REASON_UNMANAGED,
		      skb->len);
		return PASS;
	}
	r = decide_route(p, skb->ifindex, skb->mark);
	if (r == WGKS_REASON_BLOCKED) {
		__u32 off = (__u32)wgks_off_route(skb, netns, p->flags, p->counters);

		/*
		 * It returns a reason; anything else blocks. The verifier knows
		 * nothing of what a global function returns, and clang drops the
		 * test (it sees the function): the mask bounds the counter index.
		 */
		_Static_assert(WGKS_REASON_MAX == 8, "reasons: a power of two");
		r = (enum wgks_reason)((off < WGKS_REASON_MAX ? off : WGKS_REASON_BLOCKED) &
				       (WGKS_REASON_MAX - 1));
	}
	count(bpf_map_lookup_elem(&wgks_stats, &p->counters), r, skb->len);
	if (r != WGKS_REASON_BLOCKED) {
		syn_passed(skb);
		return PASS;
	}
	return DROP;
}

#endif
