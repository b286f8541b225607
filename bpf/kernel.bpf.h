/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few kernel structures the programs read, for CO-RE: only the fields
 * used, matched by name against the running kernel's BTF at load time.
 * loader/corebtf.c lists those the cookie and probe variants read
 * (core_fields[]): the minimal BTF it builds for libbpf must hold each of
 * them. The kctx variant relocates against the kernel's whole BTF.
 */
#ifndef WGKS_KERNEL_BPF_H
#define WGKS_KERNEL_BPF_H

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
	possible_net_t nd_net;
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
	struct net_device *dev;
} __attribute__((preserve_access_index));

struct bpf_sock_ops_kern {
	struct sock *sk;
} __attribute__((preserve_access_index));

/*
 * A pointer as a plain number: the verifier forbids arithmetic on socket
 * and context pointers, but CO-RE probe reads walk from an address. (The
 * context of a tc program is the kernel's sk_buff itself.)
 */
static __always_inline void *kernel_addr(const void *ptr)
{
	volatile __u64 holder = (__u64)(long)ptr;
	__u64 addr = 0;

	bpf_probe_read_kernel(&addr, sizeof(addr), (const void *)&holder);
	return (void *)(long)addr;
}

static __always_inline struct sock *sock_addr(struct bpf_sock *bsk)
{
	return kernel_addr(bsk);
}

#endif
