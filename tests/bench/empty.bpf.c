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
 * Next to the backstop, on the same device's egress: "no verdict", so that
 * the chain goes on, as the backstop itself passes. In its clsact filter
 * chain (cls_bpf direct-action, the backstop's priority), added after the
 * backstop's filter, it runs first (cls_bpf puts a new filter of a priority
 * at the head of its list); on tcx, after the backstop, which stays first.
 */
SEC("tc")
int wgksbench_tc(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_UNSPEC;
}
