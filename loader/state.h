/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kill switch as the kernel holds it: two programs attached to the root
 * cgroup with BPF_F_ALLOW_MULTI, one on the egress hook (the verdicts), one
 * on sock_ops (fast failure of blocked TCP connects), and their shared maps.
 * Nothing is pinned: any later invocation, from any mount namespace, finds
 * the programs by asking the cgroup (BPF_PROG_QUERY) and the maps through
 * the egress program.
 */
#ifndef WGKS_STATE_H
#define WGKS_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include "wgks.h"

struct bpf_object;

struct ks_state {
	struct bpf_object *obj; /* set when loaded by us, not yet found; owns the fds */
	bool core_btf_min; /* loaded with the minimal BTF of corebtf.c, not the kernel's */
	int prog_fd; /* the egress program */
	uint32_t prog_id;
	int sockops_fd; /* -1 if none is attached with it */
	uint32_t sockops_id;
	int policy_fd;
	int stats_fd;
	int unmanaged_fd;
	int endpoints_fd;
	int allow4_fd;
	int allow6_fd;
	int events_fd;
	int watch_fd;
	int evlimit_fd;
	enum wgks_variant variant;
	uint32_t others; /* further wgks programs found on the cgroup (should be 0) */
};

#define KS_STATE_INIT                                                                 \
	{ .prog_fd = -1, .sockops_fd = -1, .policy_fd = -1, .stats_fd = -1,            \
	  .unmanaged_fd = -1, .endpoints_fd = -1, .allow4_fd = -1, .allow6_fd = -1,     \
	  .events_fd = -1, .watch_fd = -1, .evlimit_fd = -1 }

const char *variant_name(enum wgks_variant v);

/* The egress program's name (the variant's): wgks_eg_cookie and so on. */
const char *ks_prog_name(const struct ks_state *st);

/* Refuse kernels that cannot run it, with the reason. 0 or -1 after err(). */
int ks_kernel_check(void);

/* Find our program on the cgroup. 1 found, 0 none attached, -1 after err(). */
int ks_find(struct ks_state *st, int cgroup_fd);

/*
 * Load fresh programs, the first variant this kernel accepts. CO-RE
 * relocations use the minimal BTF of corebtf.c where it serves, and the
 * kernel's whole BTF where it does not. 0 or -1 after err().
 */
int ks_load(struct ks_state *st);

/*
 * Attach loaded programs, sock_ops first (multi: a child cgroup cannot
 * replace them). Detach takes egress off first: from then on nothing drops.
 */
int ks_attach(struct ks_state *st, int cgroup_fd);
int ks_detach(struct ks_state *st, int cgroup_fd);

void ks_close(struct ks_state *st);

/*
 * The index of NETNS's counters in wgks_stats: the one its policy names, or
 * for a namespace without a policy yet, a free one, zeroed (its event rate limit too). 1 new, 0 the
 * policy's, -1 after err(). Callers hold the lock, so none races to take it.
 */
int ks_counters_index(struct ks_state *st, uint64_t netns, uint32_t *index);

/*
 * Write NETNS's policy: an existing one is rewritten in place under its
 * lock, so that a packet never misses it (struct wgks_policy, lock). A
 * packet that races the write may read some fields old and some new: each
 * decision it takes is one the old or the new policy allows. 0 or -1 (errno).
 */
int ks_write_policy(const struct ks_state *st, uint64_t netns, const struct wgks_policy *p);

/* Read NETNS's policy, whole (under its lock). 0 or -1 (errno; ENOENT: none). */
int ks_read_policy(const struct ks_state *st, uint64_t netns, struct wgks_policy *p);

/* Sum a per-CPU wgks_counters value (key: __u32 index). 0, or -1 if the key has none. */
int ks_read_counters(int map_fd, const void *key, struct wgks_counters *sum);

#endif
