// SPDX-License-Identifier: GPL-2.0-only
/*
 * wgks-bpf: the kill switch. A cgroup_skb/egress program on the root cgroup v2
 * sees every packet a local socket sends, in every network namespace. For a
 * namespace with a policy it passes only what leaves through a protected
 * tunnel, WireGuard's own marked packets, local traffic and IPv6 link upkeep,
 * and drops the rest (DESIGN.md, section 1).
 *
 * Only UAPI headers and minimal CO-RE types: no vmlinux.h.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "wgks.h"

#define DROP 0
#define PASS 1

#define LOOPBACK_IFINDEX 1

#define IPV6_HDR_LEN 40
#define IPV6_OFF_NEXTHDR 6
#define IPV6_OFF_HOPLIMIT 7
#define NEXTHDR_HOP 0
#define NEXTHDR_ICMPV6 58

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WGKS_MAX_NETNS);
	__type(key, __u64); /* network namespace id, see enum wgks_variant */
	__type(value, struct wgks_policy);
} wgks_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, WGKS_MAX_NETNS);
	__type(key, __u64); /* as in wgks_policy; the loader creates the entry */
	__type(value, struct wgks_counters);
} wgks_stats SEC(".maps");

/* Namespaces without a policy, all together (an array: cheapest lookup). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wgks_counters);
} wgks_unmanaged SEC(".maps");

/* Minimal kernel types for CO-RE: only the fields read, matched by name. */
struct net {
	__u64 net_cookie; /* what bpf_get_netns_cookie() returns; 5.14+ */
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} possible_net_t;

struct sock_common {
	possible_net_t skc_net;
} __attribute__((preserve_access_index));

struct net_device {
	int ifindex;
} __attribute__((preserve_access_index));

struct dst_entry {
	struct net_device *dev;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	struct dst_entry *sk_dst_cache;
	__u32 sk_mark;
} __attribute__((preserve_access_index));

struct sk_buff {
	struct sock *sk;
} __attribute__((preserve_access_index));

struct bpf_sock_ops_kern {
	struct sock *sk;
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

static __always_inline void count(struct wgks_counters *c, enum wgks_reason r,
				  __u32 len)
{
	if (!c)
		return;
	/* Per-CPU values: plain adds, no atomics needed. */
	c->packets[r] += 1;
	c->bytes[r] += len;
}

/*
 * Row 5: IPv6 neighbour discovery (133-137) and multicast listener
 * discovery (130-132, 143). The kernel sends them through this hook and
 * IPv6 dies without them. RFC 4861 and 3810 fix their hop limits (255 and
 * 1), which also keeps them from being used to reach anything off-link.
 * MLD carries a hop-by-hop (router alert) header before ICMPv6.
 */
static __always_inline bool is_ipv6_link_upkeep(struct __sk_buff *skb)
{
	__u8 hdr[8];
	__u32 off = IPV6_HDR_LEN;
	__u8 nexthdr, hoplimit, type;

	if (bpf_skb_load_bytes(skb, 0, hdr, sizeof(hdr)))
		return false;
	nexthdr = hdr[IPV6_OFF_NEXTHDR];
	hoplimit = hdr[IPV6_OFF_HOPLIMIT];

	if (nexthdr == NEXTHDR_HOP) {
		__u8 hbh[2];

		if (bpf_skb_load_bytes(skb, off, hbh, sizeof(hbh)))
			return false;
		nexthdr = hbh[0];
		off += (hbh[1] + 1) * 8;
	}
	if (nexthdr != NEXTHDR_ICMPV6)
		return false;
	if (bpf_skb_load_bytes(skb, off, &type, sizeof(type)))
		return false;

	if (type >= 133 && type <= 137)
		return hoplimit == 255;
	if ((type >= 130 && type <= 132) || type == 143)
		return hoplimit == 1;
	return false;
}

/* Rows 2 to 4: the route (egress device) and the mark; 0 if none of them. */
static __always_inline enum wgks_reason decide_route(const struct wgks_policy *p,
						     __u32 ifindex, __u32 mark)
{
	__u32 n = p->ntunnels;

	for (__u32 i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (i >= n)
			break;
		if (p->tunnels[i].ifindex == ifindex)
			return WGKS_REASON_TUNNEL;
		if (mark && p->tunnels[i].fwmark == mark)
			return WGKS_REASON_FWMARK;
	}
	if (ifindex == LOOPBACK_IFINDEX)
		return WGKS_REASON_LOCAL;
	return WGKS_REASON_BLOCKED;
}

/* The policy table of DESIGN.md, rows 2 to 8, for a managed namespace. */
static __always_inline enum wgks_reason decide(struct __sk_buff *skb,
					       const struct wgks_policy *p)
{
	enum wgks_reason r = decide_route(p, skb->ifindex, skb->mark);

	if (r != WGKS_REASON_BLOCKED)
		return r;
	if (skb->protocol == bpf_htons(ETH_P_IPV6) && is_ipv6_link_upkeep(skb))
		return WGKS_REASON_LINK;
	return WGKS_REASON_BLOCKED;
}

static __always_inline int verdict(struct __sk_buff *skb, __u64 netns)
{
	struct wgks_policy *p = bpf_map_lookup_elem(&wgks_policy, &netns);
	enum wgks_reason r;

	if (!p) {
		__u32 zero = 0;

		count(bpf_map_lookup_elem(&wgks_unmanaged, &zero),
		      WGKS_REASON_UNMANAGED, skb->len);
		return PASS;
	}
	r = decide(skb, p);
	count(bpf_map_lookup_elem(&wgks_stats, &netns), r, skb->len);
	return r == WGKS_REASON_BLOCKED ? DROP : PASS;
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
	volatile __u64 holder;
	__u64 addr = 0;
	struct sock *sk;

	if (!bsk)
		return verdict(skb, 0);
	/*
	 * The verifier forbids arithmetic on a socket pointer, so copy it
	 * into a plain number first; CO-RE reads then walk from there.
	 */
	holder = (__u64)(long)bsk;
	bpf_probe_read_kernel(&addr, sizeof(addr), (const void *)&holder);
	sk = (struct sock *)(long)addr;
	return verdict(skb, BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie));
}

/*
 * Fail fast. A dropped SYN is no error to tcp_connect(): connect() would
 * wait through the SYN retries (about 127 s). When a connecting socket's
 * route already leads off the tunnel, give its SYN the shortest timer there
 * is (1 jiffy) and one retry, so that connect() fails with ETIMEDOUT within
 * a few jiffies. The kernel asks for that timer (BPF_SOCK_OPS_TIMEOUT_INIT)
 * after routing, and again on each retry to decide whether the SYN timed
 * out; by then IPv6 may have dropped the route, so the first answer is
 * remembered with the socket. Sockets whose route passes are not touched.
 */
#define SOL_TCP 6
#define TCP_SYNCNT 7
#define SYN_RTO_JIFFIES 1

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u8); /* 1: this socket's SYN is blocked */
} wgks_failfast SEC(".maps");

static __always_inline int fail_fast(struct bpf_sock_ops *skops, __u64 netns,
				     __u32 ifindex, __u32 mark)
{
	struct wgks_policy *p = bpf_map_lookup_elem(&wgks_policy, &netns);
	struct bpf_sock *sk = skops->sk;
	__u8 *blocked;
	int one = 1;

	if (!p || !ifindex || !sk || decide_route(p, ifindex, mark) != WGKS_REASON_BLOCKED)
		return 1;
	blocked = bpf_sk_storage_get(&wgks_failfast, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (blocked)
		*blocked = 1;
	bpf_setsockopt(skops, SOL_TCP, TCP_SYNCNT, &one, sizeof(one));
	skops->reply = SYN_RTO_JIFFIES;
	return 1;
}

/* A retry of a SYN found blocked before: same answer, route or not. */
static __always_inline bool known_blocked(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	__u8 *blocked;

	if (!sk)
		return false;
	blocked = bpf_sk_storage_get(&wgks_failfast, sk, 0, 0);
	if (!blocked || !*blocked)
		return false;
	skops->reply = SYN_RTO_JIFFIES;
	return true;
}

/* A connecting socket's SYN timer; not a listener's SYN-ACK timer. */
static __always_inline bool is_syn_timeout(struct bpf_sock_ops *skops)
{
	return skops->op == BPF_SOCK_OPS_TIMEOUT_INIT && skops->state == BPF_TCP_SYN_SENT;
}

/* The route through the kernel context (6.2+): direct CO-RE reads. */
static __always_inline int fail_fast_kctx(struct bpf_sock_ops *skops, bool helper)
{
	struct bpf_sock_ops_kern *k;
	struct dst_entry *dst;
	struct sock *sk;

	if (!is_syn_timeout(skops) || known_blocked(skops))
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
	volatile __u64 holder;
	__u64 addr = 0;
	struct sock *sk;

	if (!is_syn_timeout(skops) || known_blocked(skops))
		return 1;
	bsk = skops->sk;
	if (!bsk)
		return 1;
	holder = (__u64)(long)bsk;
	bpf_probe_read_kernel(&addr, sizeof(addr), (const void *)&holder);
	sk = (struct sock *)(long)addr;
	return fail_fast(skops, BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie),
			 BPF_CORE_READ(sk, sk_dst_cache, dev, ifindex), BPF_CORE_READ(sk, sk_mark));
}
