/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Entries of wgks_endpoints, wgks_allow4 and wgks_allow6 belong to tunnel
 * slots of a namespace (struct wgks_owners): an entry two tunnels asked for
 * stays until both are gone.
 */
#ifndef WGKS_OWNED_H
#define WGKS_OWNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct owned_map {
	int fd;
	size_t key_size;
	int is_allow; /* key layout: allow (LPM) or endpoint */
};

/* Add SLOT as an owner of KEY. 0, or -1 after err(). */
int owned_add(const struct owned_map *m, const void *key, int slot);

/*
 * For NETNS's entries: keep only the owners in KEEP (a slot mask), and
 * delete entries left with none. 0, or -1 after err().
 */
int owned_keep(const struct owned_map *m, uint64_t netns, uint32_t keep);

/* Whether NETNS has any entry. */
bool owned_any(const struct owned_map *m, uint64_t netns);

/*
 * Call FN for each of NETNS's entries (key, owner mask). Stops early when
 * FN returns non-zero and returns that.
 */
int owned_each(const struct owned_map *m, uint64_t netns,
	       int (*fn)(const void *key, uint32_t owners, void *arg), void *arg);

#endif
