/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The maps of a program another version of wgks-bpf attached: found by our
 * names, told apart from ours by their BTF (layout.c), and read through
 * plans that carry each key and value into this build's layout. status
 * shows them so; the takeover (takeover.c) copies them into maps of our
 * own. Nothing here writes to them, but for lockdown off on maps that
 * cannot be taken over (oldmaps_lockdown_off()).
 */
#ifndef WGKS_OLDMAPS_H
#define WGKS_OLDMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>
#include "layout.h"
#include "maps.h"

#define OLD_MAX_MAPS 24

/* A map of the found program, as ks_maps_open() opened it. */
struct old_found {
	int fd;
	struct bpf_map_info info;
};

/* The BTF of found maps, by id (maps of one object share one). */
struct btf_cache {
	uint32_t id[4];
	struct btf *btf[4];
	int n;
};

struct ks_old {
	int fd[KS_NMAPS];                    /* -1 where it has no map of the name */
	struct bpf_map_info info[KS_NMAPS];
	bool same[KS_NMAPS];                 /* key and value laid out as ours */
	bool planned[KS_NMAPS];              /* key[] and value[] made */
	struct layout_plan key[KS_NMAPS], value[KS_NMAPS];
	int unknown[OLD_MAX_MAPS];           /* its wgks_ maps we know nothing of */
	char unknown_name[OLD_MAX_MAPS][BPF_OBJ_NAME_LEN];
	int nunknown;
	bool policy_lock;                    /* its policy value holds a bpf_spin_lock */
	uint32_t flags_off, flags_size;      /* in its policy value; size 0: no such field */
	uint32_t ntunnels_off, ntunnels_size;
	char differs[192];                   /* how it differs from ours, for messages */
	char cannot[256];                    /* why it cannot be taken over; "" if it can */
};

/* The BTF of id ID, loaded once per cache; NULL if the kernel has none of that id. */
const struct btf *btf_cache_get(struct btf_cache *c, uint32_t id);
void btf_cache_free(struct btf_cache *c);

/*
 * Describe the found maps (FOUND, N; their fds are taken, every one closed
 * on failure) against our declarations D; DIFFERS says how they differ.
 * 0 with *OLD set, or -1 after err().
 */
int oldmaps_new(struct ks_old **old, struct old_found *found, int n, const struct ks_decls *d,
		struct btf_cache *btfs, const char *differs);

void oldmaps_free(struct ks_old *old);

/* The key after PREV (NULL: the first) of its policy map. 0, or -1 with errno (ENOENT: no more). */
int oldmaps_policy_next(const struct ks_old *old, const uint64_t *prev, uint64_t *next);

/*
 * NETNS's policy, carried into our layout. 0; 1 if a field of it could not
 * be carried (WHY says which; P holds the rest); -1 with errno.
 */
int oldmaps_policy_read(const struct ks_old *old, uint64_t netns, struct wgks_policy *p,
			char *why, size_t why_len);

/* A per-CPU counters value (MAP: stats or unmanaged) at INDEX, summed, in our layout. 0 or -1. */
int oldmaps_counters_read(const struct ks_old *old, enum ks_map_index map, uint32_t index,
			  struct wgks_counters *sum);

/*
 * One entry of MAP (endpoints, allow4, allow6) after PREV (NULL: first):
 * its key and value carried into ours. 0; 1 if it could not be carried
 * (WHY); -1 with errno (ENOENT: no more). OLD_KEY gets its own key, to go
 * on from.
 */
int oldmaps_entry_next(const struct ks_old *old, enum ks_map_index map, const void *prev,
		       void *old_key, void *key, void *value, char *why, size_t why_len);

/*
 * lockdown off in its own maps, for maps that cannot be taken over: the
 * lockdown bit of NETNS's policy cleared in place (its field found by
 * name), or, with no tunnel left or no such field, the policy removed.
 * 0 cleared, 1 removed, 2 it was not on, -1 with errno (ENOENT: no policy).
 */
int oldmaps_lockdown_off(const struct ks_old *old, uint64_t netns);

#endif
