/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Types shared by the BPF program (bpf/killswitch.bpf.c) and the loader.
 * Fixed-width __u32/__u64 fields only: both sides must agree byte for byte,
 * and the maps carry this layout as BTF so bpftool prints named fields.
 */
#ifndef WGKS_H
#define WGKS_H

#include <linux/types.h>

/* Tunnels one network namespace can protect at once. */
#define WGKS_MAX_TUNNELS 8
/* Network namespaces with a policy at once. */
#define WGKS_MAX_NETNS 1024
/* IFNAMSIZ, without pulling <net/if.h> into BPF code. */
#define WGKS_IFNAMSIZ 16

/* Why a packet got its verdict: the rows of the policy table in DESIGN.md. */
enum wgks_reason {
	WGKS_REASON_UNMANAGED = 0, /* namespace has no policy: pass */
	WGKS_REASON_TUNNEL,        /* leaves via a protected tunnel: pass */
	WGKS_REASON_FWMARK,        /* carries a tunnel's fwmark: pass */
	WGKS_REASON_LOCAL,         /* leaves via loopback: pass */
	WGKS_REASON_LINK,          /* IPv6 NDP / MLD: pass */
	WGKS_REASON_BLOCKED,       /* anything else: drop */
	WGKS_REASON_MAX,
};

/*
 * How the program learns the network namespace cookie of a packet (the key
 * of every map; user space reads its own with SO_NETNS_COOKIE).
 */
enum wgks_variant {
	WGKS_VARIANT_COOKIE = 0, /* bpf_get_netns_cookie(skb): 6.15+ */
	WGKS_VARIANT_KCTX,       /* bpf_cast_to_kern_ctx + CO-RE read of net_cookie: 6.2+ */
	WGKS_VARIANT_PROBE,      /* CO-RE probe read of sk->skc_net->net_cookie: 5.14+ */
	WGKS_VARIANT_MAX,
};

struct wgks_tunnel {
	char name[WGKS_IFNAMSIZ]; /* to find it again once the interface is gone */
	__u32 ifindex;            /* egress device that passes (row 2) */
	__u32 fwmark;             /* skb->mark that passes (row 3); 0 = none */
};

/* Value of wgks_policy, keyed by network namespace cookie (__u64). */
struct wgks_policy {
	__u32 ntunnels; /* entries used in tunnels[] */
	__u32 flags;    /* reserved, 0 */
	struct wgks_tunnel tunnels[WGKS_MAX_TUNNELS];
};

/* Value of wgks_stats (per CPU), keyed like wgks_policy. */
struct wgks_counters {
	__u64 packets[WGKS_REASON_MAX];
	__u64 bytes[WGKS_REASON_MAX];
};

/* Program names start with this, so user space finds them on the cgroup. */
#define WGKS_PROG_PREFIX "wgks_"

#endif /* WGKS_H */
