/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fail fast. A dropped SYN is no error to tcp_connect(): connect() would
 * wait through the SYN retries (about 127 s). So when a connecting socket's
 * route leads off the tunnel, the sock_ops program gives its SYN the
 * shortest timer there is (1 jiffy). The kernel asks for that timer
 * (BPF_SOCK_OPS_TIMEOUT_INIT) after routing, and again at each retry.
 *
 * The route can mislead: a netfilter rule may mark and reroute each packet
 * into the tunnel. So the egress program, the authority, reports a SYN it
 * passed (WGKS_FF_PASSED) and such a socket is left alone. Only when the
 * retry comes and the first SYN was not passed does the program cut the
 * retries to one (TCP_SYNCNT), and connect() fails with ETIMEDOUT a few
 * jiffies later. A new connect() on the same socket starts afresh, with
 * its TCP_SYNCNT given back.
 */
#ifndef WGKS_FAILFAST_BPF_H
#define WGKS_FAILFAST_BPF_H

#include "maps.bpf.h"
#include "policy.bpf.h"

#define SOL_TCP 6
#define TCP_SYNCNT 7
#define SYN_RTO_JIFFIES 1
/* Socket families, which the kernel's UAPI headers leave to libc. */
#define AF_INET_ 2
#define AF_INET6_ 10

/*
 * Where a connecting socket goes, as the egress program will see its SYN.
 * The context allows only whole 4-byte reads of these fields: volatile
 * keeps the compiler from narrowing or merging them.
 */
static __always_inline void socket_dest(struct bpf_sock_ops *skops, struct dest *d)
{
	volatile __u32 *ctx_ip6 = (volatile __u32 *)skops->remote_ip6;
	__u32 a6[4] = { ctx_ip6[0], ctx_ip6[1], ctx_ip6[2], ctx_ip6[3] };
	__u32 port = *(volatile __u32 *)&skops->remote_port;
	__u32 family = skops->family;

	d->proto = IPPROTO_TCP;
	d->port = bpf_htons((__u16)bpf_ntohl(port));
	if (family == AF_INET6_ && !(a6[0] == 0 && a6[1] == 0 && a6[2] == bpf_htonl(0xffff))) {
		d->family = 6;
		__builtin_memcpy(d->addr, a6, 16);
	} else {
		/* IPv4, or an IPv4-mapped IPv6 socket that sends IPv4. */
		__u32 a4 = family == AF_INET6_ ? a6[3] : *(volatile __u32 *)&skops->remote_ip4;

		d->family = 4;
		__builtin_memcpy(d->addr, &a4, 4);
	}
}

/* First SYN timer of a connect(): decide from the route whether to watch it. */
static __always_inline int fail_fast(struct bpf_sock_ops *skops, __u64 netns, __u32 ifindex,
				     __u32 mark)
{
	struct wgks_policy *pol = bpf_map_lookup_elem(&wgks_policy, &netns);
	const struct wgks_rules *p = pol ? &pol->rules : NULL;
	struct bpf_sock *sk = skops->sk;
	struct wgks_failfast *ff;
	struct dest d = {};

	if (!p || !ifindex || !sk || decide_device(p, ifindex) != WGKS_REASON_BLOCKED ||
	    decide_mark(skops, p, mark) != WGKS_REASON_BLOCKED || is_internal(p->counters, ifindex))
		return 1;
	socket_dest(skops, &d);
	if (decide_dest(p, netns, &d, 0, 0) != WGKS_REASON_BLOCKED)
		return 1;
	ff = bpf_sk_storage_get(&wgks_failfast, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!ff)
		return 1;
	ff->state = WGKS_FF_WATCHING;
	skops->reply = SYN_RTO_JIFFIES;
	return 1;
}

/* A retry: the first SYN was not passed, so it was dropped. One retry left. */
static __always_inline void syn_dropped(struct bpf_sock_ops *skops, struct wgks_failfast *ff)
{
	int one = 1, old = 0;

	if (!bpf_getsockopt(skops, SOL_TCP, TCP_SYNCNT, &old, sizeof(old)) &&
	    !bpf_setsockopt(skops, SOL_TCP, TCP_SYNCNT, &one, sizeof(one))) {
		ff->saved_syncnt = (__u8)old;
		ff->syncnt_changed = 1;
	}
	ff->state = WGKS_FF_BLOCKED;
}

/* A new connect() on a socket we touched before: give back what we changed. */
static __always_inline void forget(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct wgks_failfast *ff;
	int old;

	if (!sk)
		return;
	ff = bpf_sk_storage_get(&wgks_failfast, sk, 0, 0);
	if (!ff)
		return;
	if (ff->syncnt_changed) {
		old = ff->saved_syncnt;
		bpf_setsockopt(skops, SOL_TCP, TCP_SYNCNT, &old, sizeof(old));
	}
	bpf_sk_storage_delete(&wgks_failfast, sk);
}

/*
 * The sock_ops events that matter, handled here; true if it is the first
 * SYN timer of a connect(), for which the caller reads the route.
 */
static __always_inline bool is_new_syn_timer(struct bpf_sock_ops *skops)
{
	struct wgks_failfast *ff;
	struct bpf_sock *sk;

	if (skops->op == BPF_SOCK_OPS_TCP_CONNECT_CB) {
		forget(skops);
		return false;
	}
	if (skops->op != BPF_SOCK_OPS_TIMEOUT_INIT || skops->state != BPF_TCP_SYN_SENT)
		return false;
	sk = skops->sk;
	if (!sk)
		return false;
	ff = bpf_sk_storage_get(&wgks_failfast, sk, 0, 0);
	if (!ff)
		return true;
	if (ff->state == WGKS_FF_PASSED)
		return false;
	if (ff->state == WGKS_FF_WATCHING)
		syn_dropped(skops, ff);
	skops->reply = SYN_RTO_JIFFIES;
	return false;
}

/* Egress passed a packet: if it is a watched socket's SYN, stop watching. */
static __always_inline void syn_passed(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct wgks_failfast *ff;

	/* One field read for every passed packet; more only while connecting. */
	if (!sk || sk->state != BPF_TCP_SYN_SENT)
		return;
	ff = bpf_sk_storage_get(&wgks_failfast, sk, 0, 0);
	if (ff && ff->state == WGKS_FF_WATCHING)
		ff->state = WGKS_FF_PASSED;
}

#endif
