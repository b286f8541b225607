/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Entries of wgks_endpoints, wgks_allow4 and wgks_allow6 belong to tunnel
 * slots of a namespace (struct wgks_owners): an entry two tunnels asked for
 * stays until both are gone. A command reads a namespace's entries, stages
 * what they become, and applies that in two steps around the policy's
 * commit: first every entry that stays or comes (so nothing that passes
 * before or after stops passing in between), then, once the policy is in,
 * the removal of those no tunnel owns any more.
 */
#ifndef WGKS_OWNED_H
#define WGKS_OWNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wgks.h"

enum owned_kind { OWNED_ENDPOINTS, OWNED_ALLOW4, OWNED_ALLOW6, OWNED_MAX };

/* Largest key of these maps: the endpoint key (32 bytes; an IPv6 prefix's is 28). */
#define OWNED_KEY_MAX                                                    \
	(sizeof(struct wgks_endpoint_key) > sizeof(struct wgks_allow6_key) ? \
		 sizeof(struct wgks_endpoint_key) :                          \
		 sizeof(struct wgks_allow6_key))

struct owned_entry {
	unsigned char key[OWNED_KEY_MAX];
	uint32_t old_owners; /* in the map now; 0: not there */
	uint32_t new_owners; /* after the commit; 0: removed */
	bool written;        /* owned_apply() wrote it (owned_unapply() undoes) */
};

struct owned_set {
	int fd;
	enum owned_kind kind;
	size_t key_size;
	struct owned_entry *e;
	size_t n, cap;
};

/* NETNS's entries of map FD (of KIND), as they are. 0, or -1 after err(). */
int owned_read(struct owned_set *s, int fd, enum owned_kind kind, uint64_t netns);

/* Staged: slot SLOT owns KEY. 0, or -1 after err() (out of memory). */
int owned_stage(struct owned_set *s, const void *key, int slot);

/* Staged: the slots in SLOTS own nothing any more. */
void owned_drop_slots(struct owned_set *s, uint32_t slots);

/* Whether any entry remains once staged changes are applied. */
bool owned_any(const struct owned_set *s);

/*
 * Write every entry that stays or comes with its new owners. On a failure
 * (a full map), what it wrote is undone and the map is as it was. 0, or -1
 * after err().
 */
int owned_apply(struct owned_set *s);

/* Undo owned_apply(): the map as it was read. */
void owned_unapply(struct owned_set *s);

/* Delete the entries left with no owner. 0, or -1 after err(). */
int owned_finish(struct owned_set *s);

void owned_free(struct owned_set *s);

/* The keys of NETNS in map FD of KIND, one call of FN each (status, pruning). 0 or FN's non-zero. */
int owned_each(int fd, enum owned_kind kind, uint64_t netns,
	       int (*fn)(const void *key, uint32_t owners, void *arg), void *arg);

#endif
