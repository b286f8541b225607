/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few kernel structures the programs read, for CO-RE: only the fields
 * used, matched by name against the running kernel's BTF at load time.
 * loader/corebtf.c lists the same fields (core_fields[]): the minimal BTF
 * it builds for libbpf must hold every one read here.
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

/*
 * A socket pointer as a plain number. The verifier forbids arithmetic on
 * socket pointers, but CO-RE probe reads walk from an address.
 */
static __always_inline struct sock *sock_addr(struct bpf_sock *bsk)
{
	volatile __u64 holder = (__u64)(long)bsk;
	__u64 addr = 0;

	bpf_probe_read_kernel(&addr, sizeof(addr), (const void *)&holder);
	return (struct sock *)(long)addr;
}

#endif
