// SPDX-License-Identifier: GPL-2.0-only
/*
 * The comparison program of `make bench`: allow every packet, do nothing
 * else. Attached next to wgks-bpf's program and timed the same way, it is
 * the measurement floor (the hook's call, bpf_stats' own clock reads).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("cgroup_skb/egress")
int wgksbench_empty(struct __sk_buff *skb)
{
	(void)skb;
	return 1;
}
