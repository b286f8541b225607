/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kill switch's maps as user space holds them: one fd each, named as in
 * bpf/maps.bpf.h (wgks_<name>). KS_MAPS lists them once; the struct, the
 * opening by name, the filling from a skeleton and the closing all follow
 * from it, so a new map is one line here and its definition there.
 */
#ifndef WGKS_MAPS_H
#define WGKS_MAPS_H

#include <stdint.h>
#include "wgks.h"

struct btf;

/* X(name, key size, value size): sizes 0 where the map type fixes none (ring buffer). */
#define KS_MAPS(X)                                                                 \
	X(policy, sizeof(__u64), sizeof(struct wgks_policy))                       \
	X(stats, sizeof(__u32), sizeof(struct wgks_counters))                      \
	X(unmanaged, sizeof(__u32), sizeof(struct wgks_counters))                  \
	X(endpoints, sizeof(struct wgks_endpoint_key), sizeof(struct wgks_owners)) \
	X(allow4, sizeof(struct wgks_allow4_key), sizeof(struct wgks_owners))      \
	X(allow6, sizeof(struct wgks_allow6_key), sizeof(struct wgks_owners))      \
	X(events, 0, 0)                                                            \
	X(watch, sizeof(__u32), sizeof(struct wgks_watch))                         \
	X(evlimit, sizeof(__u32), sizeof(struct wgks_evlimit))                     \
	X(devices, sizeof(__u32), sizeof(__u32))                                   \
	X(internal, sizeof(__u32), sizeof(__u32))                                  \
	X(failfast, sizeof(int), sizeof(struct wgks_failfast))

struct ks_maps {
#define KS_MAP_FD(name, k, v) int name;
	KS_MAPS(KS_MAP_FD)
#undef KS_MAP_FD
};

/* Each map by number, in KS_MAPS order: KS_MAP_policy and so on. */
enum ks_map_index {
#define KS_MAP_INDEX(name, k, v) KS_MAP_##name,
	KS_MAPS(KS_MAP_INDEX)
#undef KS_MAP_INDEX
	KS_NMAPS
};

/* Its name as the kernel keeps it ("wgks_policy"), and its fd in M. */
const char *ks_map_name(enum ks_map_index i);
int *ks_map_fd(struct ks_maps *m, enum ks_map_index i);

/*
 * A map as this build's object declares it: what a map found attached is
 * compared with. BTF ids are of the object's BTF; 0 where the map type
 * carries none (the ring buffer).
 */
struct ks_map_decl {
	uint32_t type, key_size, value_size, max_entries, btf_key, btf_value;
};

struct ks_decls {
	void *skel; /* the object, opened, never loaded */
	const struct btf *btf;
	struct ks_map_decl map[KS_NMAPS];
};

/* Every fd -1: nothing open. */
void ks_maps_init(struct ks_maps *m);
void ks_maps_close(struct ks_maps *m);

/*
 * Fill M from a skeleton S (killswitch_bpf or killswitch_kctx_bpf: they
 * share bpf/maps.bpf.h), checked by the compiler against its maps.
 */
#define KS_MAPS_FROM_SKEL(m, s)                                        \
	do {                                                           \
		KS_MAPS(KS_MAP_FROM_SKEL_ONE)                          \
	} while (0)
#define KS_MAP_FROM_SKEL_ONE(name, k, v) (m)->name = bpf_map__fd((s)->maps.wgks_##name);

struct ks_old;

/*
 * Open the maps MAP_IDS (a found program's) by their names. 0: they are
 * ours, in M. 1: another version of wgks-bpf made them (a map of another
 * layout by its BTF, one missing, one we do not know): M stays unset and
 * *OLD describes them (oldmaps.h). -1 after err().
 */
int ks_maps_open(struct ks_maps *m, const uint32_t *map_ids, uint32_t n, struct ks_old **old);

/* The id of map FD, 0 if it cannot be read. */
uint32_t ks_map_id(int fd);

/*
 * NETNS's policy. Write: an existing one is rewritten in place under its
 * lock, so that a packet never misses it (struct wgks_policy, lock); a
 * packet racing the write may read some fields old and some new, each
 * decision one the old or the new policy allows. Read: whole, under the
 * lock. Both 0, or -1 with errno (ENOENT: none) for the caller to report.
 */
int ks_policy_write(const struct ks_maps *m, uint64_t netns, const struct wgks_policy *p);
int ks_policy_read(const struct ks_maps *m, uint64_t netns, struct wgks_policy *p);

/* Sum a per-CPU wgks_counters value at INDEX of MAP_FD. 0, or -1 if it has none. */
int ks_counters_read(int map_fd, uint32_t index, struct wgks_counters *sum);

/*
 * The index of NETNS's counters in wgks_stats: the one its policy names, or
 * for a namespace without a policy yet, a free one, zeroed (its event rate
 * limit too). 1 new, 0 the policy's, -1 after err(). Callers hold the
 * lock, so none races to take it.
 */
int ks_counters_index(const struct ks_maps *m, uint64_t netns, uint32_t *index);

/*
 * The same in two steps, for a command that may still fail in between and
 * must then leave every map as it was: the index alone (nothing written),
 * then its counters and event rate limit zeroed. Pick: as above; reset: 0,
 * or -1 after err().
 */
int ks_counters_pick(const struct ks_maps *m, uint64_t netns, uint32_t *index);
int ks_counters_reset(const struct ks_maps *m, uint32_t index);

#endif
