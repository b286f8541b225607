/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Types shared by the BPF programs (bpf/killswitch.bpf.c) and the loader.
 * Fixed-width __u32/__u64 fields only: both sides must agree byte for byte,
 * and the maps carry this layout as BTF so bpftool prints named fields.
 */
#ifndef WGKS_H
#define WGKS_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */

/* Tunnels one network namespace can protect at once. */
#define WGKS_MAX_TUNNELS 8
/* Network namespaces with a policy at once. */
#define WGKS_MAX_NETNS 1024
/* Peer endpoints (tunnels with fwmark off), all namespaces together. */
#define WGKS_MAX_ENDPOINTS 4096
/* Allowed prefixes (--allow-lan, --allow), per family, all namespaces together. */
#define WGKS_MAX_PREFIXES 16384
/* IFNAMSIZ, without pulling <net/if.h> into BPF code. */
#define WGKS_IFNAMSIZ 16

/*
 * Why a packet got its verdict: the rows of the policy table in DESIGN.md,
 * at the cgroup hook (packets of sockets) and at the backstop below it (tc
 * egress on the namespace's devices: what the kernel sends on its own, and
 * what it forwards).
 */
#define WGKS_REASONS(X) \
	X(UNMANAGED, unmanaged) /* namespace has no policy: pass */ \
	X(TUNNEL, tunnel)       /* leaves via a protected tunnel: pass */ \
	X(FWMARK, fwmark)       /* WireGuard's own packet with its tunnel's fwmark: pass */ \
	X(LOCAL, local)         /* leaves via loopback: pass */ \
	X(LINK, link)           /* link upkeep: IPv6 NDP / MLD, IGMP, ARP: pass */ \
	X(ENDPOINT, endpoint)   /* fwmark off: WireGuard's own UDP to a peer endpoint: pass */ \
	X(LAN, lan)             /* to an allowed prefix, not name resolution: pass */ \
	X(BLOCKED, blocked)     /* a socket's packet, anything else: drop */ \
	X(INTERNAL, internal)   /* to a local bridge of containers or VMs, never off the host: pass */ \
	X(HANDSHAKE, handshake) /* a WireGuard handshake initiation from root or the kernel: pass */ \
	X(PACKET, packet)       /* backstop: from a packet socket (DHCPv4; CAP_NET_RAW): pass */ \
	X(FORWARD, forward)     /* backstop: routed for a container or VM, off the tunnel: drop */ \
	X(KERNEL, kernel)       /* backstop: sent by the kernel without a judged socket: drop */

/* The counters' order and status's names come from the list above, once. */
#define WGKS_REASON_ENUM(name, text) WGKS_REASON_##name,
enum wgks_reason {
	WGKS_REASONS(WGKS_REASON_ENUM)
	WGKS_REASON_MAX,
};
#undef WGKS_REASON_ENUM

/* Counter slots per namespace: a power of two the programs mask an index with. */
#define WGKS_REASON_SLOTS 16
_Static_assert(WGKS_REASON_MAX <= WGKS_REASON_SLOTS &&
		       !(WGKS_REASON_SLOTS & (WGKS_REASON_SLOTS - 1)),
	       "every reason needs a counter slot, and the slots a power of two");

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

/* wgks_tunnel.flags */
#define WGKS_T_TRUST_MARK (1u << 0) /* not WireGuard (--fwmark): row 3 takes any socket with the mark */
#define WGKS_T_NO_DEVICE  (1u << 1) /* kept by an upgrade: its device is not in wgks_devices yet */

/* WireGuard's own UDP sockets a tunnel slot knows (a v4 and a v6 one). */
#define WGKS_TUNNEL_SOCKETS 2

/*
 * Test builds only (`make TEST_LAYOUT=...`, tests/e2e/upgrade.sh): the map
 * layout of "another version", for a newer build to take over. SWAPPED
 * swaps ifindex and fwmark: every size stays, only the maps' BTF tells.
 * RENAMED (the Makefile's -Dfwmark=mark, in every file alike) calls fwmark
 * `mark`: a field the takeover has no place for and cannot make up, so it
 * must refuse. Never in a real build.
 */

/* One protected tunnel. A free slot has an empty name and ifindex 0. */
struct wgks_tunnel {
	char name[WGKS_IFNAMSIZ]; /* to find it again once the interface is gone */
#ifdef WGKS_TEST_LAYOUT_SWAPPED
	__u32 fwmark;
	__u32 ifindex;
#else
	__u32 ifindex;            /* egress device that passes (row 2), if wgks_devices agrees */
	__u32 fwmark;             /* socket mark that passes (row 3); 0 = off (row 6) */
#endif
	__u32 flags;              /* WGKS_T_* */
	__u16 listen_port;        /* WireGuard's (row 6 at the backstop); 0 if none */
	__u16 pad;
	/*
	 * The socket cookies of WireGuard's own sockets (a userspace
	 * implementation's, found by their port when attach ran): only their
	 * packets pass rows 3 and 6, not any socket that carries the mark.
	 */
	__u64 sockets[WGKS_TUNNEL_SOCKETS];
};

/*
 * Keys of wgks_devices: a namespace's protected tunnel devices (slot 0 to
 * WGKS_MAX_TUNNELS - 1) and its loopback (WGKS_DEV_LOOPBACK), at the
 * namespace's counters index. The kernel removes an entry when its device
 * is deleted or leaves the namespace: a device that takes a deleted
 * tunnel's index is not in it, and a namespace whose loopback entry is gone
 * no longer exists.
 */
#define WGKS_DEV_SLOTS 16
#define WGKS_DEV_LOOPBACK (WGKS_DEV_SLOTS - 1)
#define WGKS_DEV_KEY(index, slot) ((index) * WGKS_DEV_SLOTS + (slot))

/* Keys of wgks_internal: a namespace's local bridges, (counters index << 20) | ifindex. */
#define WGKS_INTERNAL_IFINDEX_BITS 20
#define WGKS_INTERNAL_KEY(index, ifindex) (((index) << WGKS_INTERNAL_IFINDEX_BITS) | (ifindex))
#define WGKS_MAX_INTERNAL 4096

/*
 * The skb->mark bit the cgroup program sets on a packet it passed out of a
 * device with a backstop, and the backstop clears: judged once, it passes
 * there at the cost of a test. Only root and the kernel write the mark of
 * a packet the hook never saw.
 */
#define WGKS_JUDGED_MARK 0x80000000u

/* wgks_policy.flags */
#define WGKS_F_LOCKDOWN  (1u << 0) /* keep the policy with no tunnel at all */
#define WGKS_F_ENDPOINTS (1u << 1) /* wgks_endpoints has entries for this namespace */
#define WGKS_F_ALLOW     (1u << 2) /* wgks_allow4/6 have entries for this namespace */
#define WGKS_F_LOOPBACK  (1u << 3) /* wgks_devices holds its loopback: gone, so is the namespace */

/*
 * What the programs read of a namespace's policy. Tunnel slots keep their
 * place while others come and go: wgks_owners bitmasks name them by index.
 */
struct wgks_rules {
	__u32 ntunnels; /* slots to look at: highest used slot + 1 */
	__u32 flags;    /* WGKS_F_* */
	__u32 counters; /* this namespace's index in wgks_stats (the loader picks it) */
	struct wgks_tunnel tunnels[WGKS_MAX_TUNNELS];
};

/* Value of wgks_policy, keyed by network namespace cookie (__u64). */
struct wgks_policy {
	struct wgks_rules rules; /* apart from the lock: BPF functions may be handed them */
	/*
	 * Taken by the loader's writes (BPF_F_LOCK), which then rewrite the
	 * value in place: a plain hash update links a new element and unlinks
	 * the old one, and a lookup racing it can find neither, so a packet
	 * of a protected namespace would pass as if it had no policy. The
	 * programs read without it (see ks_policy_write()).
	 */
	struct bpf_spin_lock lock;
};

/* Which tunnel slots asked for an endpoint or prefix entry (bit i = slot i). */
struct wgks_owners {
	__u32 tunnels;
};

/* Key of wgks_endpoints: UDP to this address and port passes (row 6). */
struct wgks_endpoint_key {
	__u64 netns;
	__u8 family; /* 4 or 6 */
	__u8 pad;    /* 0 */
	__be16 port;
	__u8 addr[16]; /* IPv4 in the first 4 bytes */
	__u32 pad2;    /* explicit: hashed keys must have no unset bytes */
};

/*
 * Keys of the LPM tries wgks_allow4 and wgks_allow6 (row 7). The trie
 * matches prefixlen bits of netns then addr, so entries are inserted with
 * prefixlen 64 + the prefix length: only the namespace's own entries match.
 */
struct wgks_allow4_key {
	__u32 prefixlen;
	__u32 netns[2]; /* the cookie's bytes, as in memory */
	__u8 addr[4];
};

struct wgks_allow6_key {
	__u32 prefixlen;
	__u32 netns[2];
	__u8 addr[16];
};

/*
 * Value of wgks_stats (per CPU), at the index in the namespace's policy:
 * an array, so that counting costs no second hash lookup per packet.
 */
struct wgks_counters {
	__u64 packets[WGKS_REASON_SLOTS];
	__u64 bytes[WGKS_REASON_SLOTS];
};

/* Fail fast: what the programs know of a connecting socket (wgks_failfast). */
enum wgks_ff_state {
	WGKS_FF_WATCHING = 1, /* route looks blocked: short SYN timer, first SYN pending */
	WGKS_FF_PASSED,       /* a SYN passed after all (rerouted): leave it alone */
	WGKS_FF_BLOCKED,      /* the SYN was dropped: one retry, then ETIMEDOUT */
};

struct wgks_failfast {
	__u8 state;          /* enum wgks_ff_state */
	__u8 syncnt_changed; /* we set TCP_SYNCNT; saved_syncnt is the old value */
	__u8 saved_syncnt;
	__u8 pad;
};

/*
 * Blocked packets, for `wgks-bpf watch`: sent through a ring buffer only
 * while a watcher keeps wgks_watch's deadline in the future, and at most
 * WGKS_EVENTS_PER_SEC a second per namespace and CPU (WGKS_EVENTS_BURST at
 * once); the rest are counted as suppressed.
 */
#define WGKS_EVENTS_PER_SEC 100
#define WGKS_EVENTS_BURST 20
#define WGKS_EVENTS_RINGBUF (256 * 1024)

struct wgks_watch {
	__u64 deadline_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns); 0: no one watches */
};

/* Per namespace and CPU: the token bucket of the event rate limit. */
struct wgks_evlimit {
	__u64 last_ns;    /* when tokens were last topped up */
	__u64 tokens;     /* events that may go out now */
	__u64 suppressed; /* events not sent since the last one that was */
};

struct wgks_event {
	__u64 time_ns; /* bpf_ktime_get_ns() */
	__u64 netns;
	__u64 cgroup_id;
	__u64 suppressed; /* on this CPU, in this namespace, since the previous event */
	__u32 uid;        /* of the socket; 65534 when there is none */
	__u32 ifindex;    /* output device, in the packet's namespace */
	__u32 len;
	__u32 ingress_ifindex; /* where a forwarded packet came in; 0 if not forwarded */
	__u8 family;      /* 4 or 6 */
	__u8 proto;
	__be16 sport;
	__be16 dport;
	__u8 reason;      /* WGKS_REASON_BLOCKED, _FORWARD or _KERNEL */
	__u8 pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

#endif /* WGKS_H */
