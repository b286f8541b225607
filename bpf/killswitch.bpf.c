// SPDX-License-Identifier: GPL-2.0-only
/*
 * wgks-bpf: the kill switch. A cgroup_skb/egress program on the root cgroup v2
 * sees every packet a local socket sends, in every network namespace. For a
 * namespace with a policy it passes only what leaves through a protected
 * tunnel, WireGuard's own packets, local traffic, IPv6 link upkeep and what
 * the user opted into, and drops the rest (DESIGN.md, section 1). A sock_ops
 * program makes blocked TCP connects fail fast.
 *
 * Only UAPI headers and minimal CO-RE types (kernel.bpf.h): no vmlinux.h.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "wgks.h"
#include "kernel.bpf.h"
#include "policy.bpf.h"
#include "events.bpf.h"
#include "failfast.bpf.h"

#define DROP 0
#define PASS 1

char LICENSE[] SEC("license") = "GPL";

static __always_inline void count(struct wgks_counters *c, enum wgks_reason r, __u32 len)
{
	if (!c)
		return;
	/* Per-CPU values: plain adds, no atomics needed. */
	c->packets[r] += 1;
	c->bytes[r] += len;
}

/*
 * The whole table for one packet of a managed namespace. The packet is
 * read (into d) only when the route did not decide: once, for rows 5 to 7
 * and, if it is dropped, for the watcher's event.
 */
static __always_inline enum wgks_reason decide(struct __sk_buff *skb,
					       const struct wgks_policy *p, __u64 netns,
					       struct dest *d)
{
	enum wgks_reason r = decide_route(p, skb->ifindex, skb->mark);
	bool dest_rows = p->flags & (WGKS_F_ENDPOINTS | WGKS_F_ALLOW);

	if (r != WGKS_REASON_BLOCKED)
		return r;
	/* IPv4 has no row 5: without rows 6 and 7 there is nothing to read. */
	if (skb->protocol != bpf_htons(ETH_P_IPV6) && !dest_rows)
		return WGKS_REASON_BLOCKED;
	if (!parse_dest(skb, d))
		return WGKS_REASON_BLOCKED;
	if (d->link_upkeep)
		return WGKS_REASON_LINK;
	if (!dest_rows)
		return WGKS_REASON_BLOCKED;
	return decide_dest(p, netns, d);
}

static __always_inline int verdict(struct __sk_buff *skb, __u64 netns)
{
	struct wgks_policy *p = bpf_map_lookup_elem(&wgks_policy, &netns);
	struct dest d = {};
	enum wgks_reason r;

	if (!p) {
		__u32 zero = 0;

		count(bpf_map_lookup_elem(&wgks_unmanaged, &zero), WGKS_REASON_UNMANAGED,
		      skb->len);
		return PASS;
	}
	r = decide(skb, p, netns, &d);
	count(bpf_map_lookup_elem(&wgks_stats, &p->counters), r, skb->len);
	if (r != WGKS_REASON_BLOCKED) {
		syn_passed(skb);
		return PASS;
	}
	report_blocked(skb, netns, p->counters, &d);
	return DROP;
}

/*
 * Three ways to learn the packet's namespace cookie; the loader keeps the
 * first that this kernel accepts and disables the others (enum wgks_variant).
 * Cookies, unlike namespace inode numbers, are never reused: a new namespace
 * can never inherit a policy left by a deleted one.
 */
SEC("cgroup_skb/egress")
int wgks_eg_cookie(struct __sk_buff *skb)
{
	return verdict(skb, bpf_get_netns_cookie(skb));
}

SEC("cgroup_skb/egress")
int wgks_eg_kctx(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct sock *sk = kskb->sk;

	/* The hook runs only for full sockets; no socket means no verdict. */
	if (!sk)
		return verdict(skb, 0);
	return verdict(skb, sk->__sk_common.skc_net.net->net_cookie);
}

SEC("cgroup_skb/egress")
int wgks_eg_probe(struct __sk_buff *skb)
{
	struct bpf_sock *bsk = skb->sk;

	if (!bsk)
		return verdict(skb, 0);
	return verdict(skb, BPF_CORE_READ(sock_addr(bsk), __sk_common.skc_net.net, net_cookie));
}

/*
 * Fail fast (failfast.bpf.h): blocked TCP connects end in a few jiffies.
 * The egress program tells it when a SYN it feared for passed after all.
 */
/* The route through the kernel context (6.2+): direct CO-RE reads. */
static __always_inline int fail_fast_kctx(struct bpf_sock_ops *skops, bool helper)
{
	struct bpf_sock_ops_kern *k;
	struct dst_entry *dst;
	struct sock *sk;

	if (!is_new_syn_timer(skops))
		return 1;
	k = bpf_cast_to_kern_ctx(skops);
	sk = k->sk;
	if (!sk)
		return 1;
	dst = sk->sk_dst_cache;
	if (!dst)
		return 1;
	return fail_fast(skops,
			 helper ? bpf_get_netns_cookie(skops) : sk->__sk_common.skc_net.net->net_cookie,
			 dst->dev->ifindex, sk->sk_mark);
}

SEC("sockops")
int wgks_so_cookie(struct bpf_sock_ops *skops)
{
	return fail_fast_kctx(skops, true);
}

SEC("sockops")
int wgks_so_kctx(struct bpf_sock_ops *skops)
{
	return fail_fast_kctx(skops, false);
}

SEC("sockops")
int wgks_so_probe(struct bpf_sock_ops *skops)
{
	struct bpf_sock *bsk;
	struct sock *sk;

	if (!is_new_syn_timer(skops))
		return 1;
	bsk = skops->sk;
	if (!bsk)
		return 1;
	sk = sock_addr(bsk);
	return fail_fast(skops, BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie),
			 BPF_CORE_READ(sk, sk_dst_cache, dev, ifindex), BPF_CORE_READ(sk, sk_mark));
}
