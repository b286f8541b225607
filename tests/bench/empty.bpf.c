// SPDX-License-Identifier: GPL-2.0-only
/*
 * The comparison programs of `make bench`: do nothing. Attached next to
 * wgks-bpf's programs and timed the same way, they are the measurement
 * floor (the hook's call, bpf_stats' own clock reads).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Next to the cgroup program: allow every packet. */
SEC("cgroup_skb/egress")
int wgksbench_empty(struct __sk_buff *skb)
{
	(void)skb;
	return 1;
}

/*
 * Next to the backstop, in the same tc filter chain (clsact egress,
 * cls_bpf direct-action, the backstop's priority): "no verdict", so that
 * the chain goes on to the next filter. Added after the backstop's, it
 * runs first (cls_bpf puts a new filter of a priority at the head of its
 * list), and then the backstop: the backstop returns a verdict, after
 * which no filter runs.
 */
SEC("tc")
int wgksbench_tc(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_UNSPEC;
}
