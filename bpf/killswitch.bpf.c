// SPDX-License-Identifier: GPL-2.0-only
/*
 * wgks-bpf: the kill switch. A cgroup_skb/egress program on the root cgroup v2
 * sees every packet a local socket sends, in every network namespace. For a
 * namespace with a policy it passes only what leaves through a protected
 * tunnel, WireGuard's own packets, local traffic, IPv6 link upkeep, traffic
 * to local container and VM bridges, WireGuard handshake initiations from
 * root and what the user opted into, and drops the rest (DESIGN.md, section
 * 1). A sock_ops program makes blocked TCP connects fail fast. A tc egress
 * program on the namespace's devices, the backstop, judges what the socket
 * hook never sees: the kernel's own packets and forwarded ones.
 *
 * Only UAPI headers and minimal CO-RE types (kernel.bpf.h): no vmlinux.h.
 *
 * This object holds the variants that call no kfunc (cookie, probe): libbpf
 * resolves their CO-RE reads against a minimal BTF the loader keeps, without
 * reading the kernel's whole BTF. The kctx variant, whose kfunc needs it, is
 * killswitch_kctx.bpf.c.
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

/*
 * Ways to learn the packet's namespace cookie; the loader keeps the first
 * variant this kernel accepts (enum wgks_variant). Cookies, unlike
 * namespace inode numbers, are never reused: a new namespace can never
 * inherit a policy left by a deleted one.
 */
SEC("cgroup_skb/egress")
int wgks_eg_cookie(struct __sk_buff *skb)
{
	return verdict(skb, bpf_get_netns_cookie(skb));
}

SEC("cgroup_skb/egress")
int wgks_eg_probe(struct __sk_buff *skb)
{
	struct bpf_sock *bsk = skb->sk;

	/* Never without a socket here (wgks_eg_kctx): cookie 0 would pass as unmanaged. */
	if (!bsk)
		return verdict(skb, 0);
	return verdict(skb, BPF_CORE_READ(sock_addr(bsk), __sk_common.skc_net.net, net_cookie));
}

/*
 * The backstop (backstop.bpf.h): the namespace is the device's, read with
 * CO-RE probe reads from the context, which in tc is the kernel's sk_buff
 * (bpf_get_netns_cookie() there gives the socket's namespace, or the
 * host's). Packets the cgroup program passed never get here. The cookie
 * variant uses the same reads: a kfunc would make this object need the
 * kernel's whole BTF.
 */
static __always_inline __u64 device_netns_probe(struct __sk_buff *skb)
{
	struct sk_buff *kskb = kernel_addr(skb);

	return BPF_CORE_READ(kskb, dev, nd_net.net, net_cookie);
}

BACKSTOP_PROGRAMS(cookie, device_netns_probe)
BACKSTOP_PROGRAMS(probe, device_netns_probe)

/*
 * Fail fast (failfast.bpf.h): blocked TCP connects end in a few jiffies.
 * The route is read with CO-RE probe reads: this program runs once per
 * connect(), not per packet, so their cost does not matter.
 */
static __always_inline int fail_fast_probe(struct bpf_sock_ops *skops, bool helper)
{
	struct bpf_sock *bsk;
	struct sock *sk;

	if (!is_new_syn_timer(skops))
		return 1;
	bsk = skops->sk;
	if (!bsk)
		return 1;
	sk = sock_addr(bsk);
	return fail_fast(skops,
			 helper ? bpf_get_netns_cookie(skops)
				: BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie),
			 BPF_CORE_READ(sk, sk_dst_cache, dev, ifindex), BPF_CORE_READ(sk, sk_mark));
}

SEC("sockops")
int wgks_so_cookie(struct bpf_sock_ops *skops)
{
	return fail_fast_probe(skops, true);
}

SEC("sockops")
int wgks_so_probe(struct bpf_sock_ops *skops)
{
	return fail_fast_probe(skops, false);
}
