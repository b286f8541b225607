// SPDX-License-Identifier: GPL-2.0-only
/*
 * wgks-bpf, kctx variant (Linux 6.2 to 6.14): the packet's namespace cookie
 * through bpf_cast_to_kern_ctx() and direct CO-RE reads, cheaper per packet
 * than the probe variant's helper call. The kfunc makes libbpf read the
 * kernel's whole BTF at load time, so it lives in an object of its own
 * (killswitch.bpf.c has the others).
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
#include "backstop.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* 6.2+; weak so that the object still opens where it is missing. */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

SEC("cgroup_skb/egress")
int wgks_eg_kctx(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct sock *sk = kskb->sk;

	/*
	 * The hook runs only for packets of full sockets, so sk is always set.
	 * Were it not, cookie 0 belongs to no namespace: no policy, and the
	 * packet would pass as unmanaged.
	 */
	if (!sk)
		return verdict(skb, 0);
	return verdict(skb, sk->__sk_common.skc_net.net->net_cookie);
}

/* The backstop (backstop.bpf.h): the device's namespace, through the kernel context. */
static __always_inline __u64 device_netns_kctx(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);

	return kskb->dev->nd_net.net->net_cookie;
}

BACKSTOP_PROGRAMS(kctx, device_netns_kctx)

/* Fail fast (failfast.bpf.h): the route through the kernel context. */
SEC("sockops")
int wgks_so_kctx(struct bpf_sock_ops *skops)
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
	return fail_fast(skops, sk->__sk_common.skc_net.net->net_cookie, dst->dev->ifindex,
			 sk->sk_mark);
}
