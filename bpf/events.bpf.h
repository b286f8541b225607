/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Telling `wgks-bpf watch` about blocked packets. Only the blocked path
 * comes here, and it costs one array lookup while no one watches. A token
 * bucket per namespace and CPU bounds the events (and the CPU they cost)
 * under a flood; what it holds back is counted and reported with the next
 * event that goes out.
 */
#ifndef WGKS_EVENTS_BPF_H
#define WGKS_EVENTS_BPF_H

#include "maps.bpf.h"
#include "packet.bpf.h"

#define NSEC_PER_SEC 1000000000ull

/* Take a token; false (and one more suppressed) if the bucket is empty. */
static __always_inline bool take_token(struct wgks_evlimit *l, __u64 now)
{
	__u64 refill = (now - l->last_ns) * WGKS_EVENTS_PER_SEC / NSEC_PER_SEC;

	if (refill) {
		l->tokens += refill;
		if (l->tokens > WGKS_EVENTS_BURST)
			l->tokens = WGKS_EVENTS_BURST;
		l->last_ns = now;
	}
	if (!l->tokens) {
		l->suppressed++;
		return false;
	}
	l->tokens--;
	return true;
}

/* Source port and address: what the packet says, next to parse_dest(). */
static __always_inline void read_source(struct __sk_buff *skb, struct wgks_event *e, __u32 l4)
{
	if (e->family == 4)
		load_net(skb, offsetof(struct iphdr, saddr), e->saddr, sizeof(__be32));
	else
		load_net(skb, offsetof(struct ipv6hdr, saddr), e->saddr,
				   sizeof(struct in6_addr));
	/* TCP's source port stands where UDP's does. */
	if (l4 && (e->proto == IPPROTO_UDP || e->proto == IPPROTO_TCP))
		load_net(skb, l4 + offsetof(struct udphdr, source), &e->sport,
				   sizeof(e->sport));
}

/*
 * D is the packet as the caller read it; family 0 if it did not need to.
 * REASON: BLOCKED (a socket's, at the cgroup hook), FORWARD or KERNEL (at
 * the backstop).
 */
static __always_inline void report_blocked(struct __sk_buff *skb, __u64 netns, __u32 index,
					   struct dest *d, enum wgks_reason reason)
{
	__u32 zero = 0;
	struct wgks_watch *w = bpf_map_lookup_elem(&wgks_watch, &zero);
	struct wgks_evlimit *l;
	struct wgks_event *e;
	__u64 now;

	if (!w || !w->deadline_ns)
		return;
	now = bpf_ktime_get_ns();
	if (now > w->deadline_ns)
		return;
	l = bpf_map_lookup_elem(&wgks_evlimit, &index);
	if (!l || !take_token(l, now))
		return;
	e = bpf_ringbuf_reserve(&wgks_events, sizeof(*e), 0);
	if (!e) {
		l->suppressed++;
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = now;
	e->netns = netns;
	e->cgroup_id = bpf_skb_cgroup_id(skb);
	e->uid = bpf_get_socket_uid(skb);
	e->ifindex = skb->ifindex;
	e->ingress_ifindex = skb->ingress_ifindex;
	e->reason = (__u8)reason;
	e->len = skb->len;
	e->suppressed = l->suppressed;
	l->suppressed = 0;
	if (d->family || parse_dest(skb, d)) {
		e->family = d->family;
		e->proto = d->proto;
		e->dport = d->port;
		__builtin_memcpy(e->daddr, d->addr, 16);
		read_source(skb, e, d->l4_off);
	}
	bpf_ringbuf_submit(e, 0);
}

#endif
