// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "keys.h"
#include "log.h"
#include "owned.h"

static const size_t key_sizes[OWNED_MAX] = {
	[OWNED_ENDPOINTS] = sizeof(struct wgks_endpoint_key),
	[OWNED_ALLOW4] = sizeof(struct wgks_allow4_key),
	[OWNED_ALLOW6] = sizeof(struct wgks_allow6_key),
};

static struct owned_entry *find(struct owned_set *s, const void *key)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!memcmp(s->e[i].key, key, s->key_size))
			return &s->e[i];
	}
	return NULL;
}

static struct owned_entry *append(struct owned_set *s, const void *key)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct owned_entry *grown = realloc(s->e, cap * sizeof(*grown));

		if (!grown) {
			err("out of memory");
			return NULL;
		}
		s->e = grown;
		s->cap = cap;
	}
	memset(&s->e[s->n], 0, sizeof(s->e[s->n]));
	memcpy(s->e[s->n].key, key, s->key_size);
	return &s->e[s->n++];
}

/*
 * Keys first, reads after: deleting while walking with get_next_key can
 * restart the walk, and so can another namespace's entries coming and going.
 */
int owned_read(struct owned_set *s, int fd, enum owned_kind kind, uint64_t netns)
{
	unsigned char cur[OWNED_KEY_MAX], next[OWNED_KEY_MAX];
	void *prev = NULL;

	*s = (struct owned_set){ .fd = fd, .kind = kind, .key_size = key_sizes[kind] };
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		struct owned_entry *e;

		memcpy(cur, next, s->key_size);
		prev = cur;
		if (key_netns(cur, kind != OWNED_ENDPOINTS) != netns || find(s, cur))
			continue;
		e = append(s, cur);
		if (!e)
			return -1;
	}
	/* The walk ends with ENOENT; anything else left entries unread, which a commit would keep. */
	if (errno != ENOENT) {
		err("cannot read a map of allowances: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct wgks_owners o;

		/* Gone meanwhile (another invocation cannot: the lock): owned by none. */
		if (bpf_map_lookup_elem(fd, s->e[i].key, &o))
			o.tunnels = 0;
		s->e[i].old_owners = s->e[i].new_owners = o.tunnels;
	}
	return 0;
}

int owned_stage(struct owned_set *s, const void *key, int slot)
{
	struct owned_entry *e = find(s, key);

	if (!e)
		e = append(s, key);
	if (!e)
		return -1;
	e->new_owners |= 1u << slot;
	return 0;
}

void owned_drop_slots(struct owned_set *s, uint32_t slots)
{
	for (size_t i = 0; i < s->n; i++)
		s->e[i].new_owners &= ~slots;
}

bool owned_any(const struct owned_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->e[i].new_owners)
			return true;
	}
	return false;
}

int owned_apply(struct owned_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct owned_entry *e = &s->e[i];
		struct wgks_owners o = { .tunnels = e->new_owners };

		if (!e->new_owners || e->new_owners == e->old_owners)
			continue;
		if (bpf_map_update_elem(s->fd, e->key, &o, BPF_ANY)) {
			int saved = errno;

			owned_unapply(s);
			err("cannot add an allowance: %s%s", strerror(saved),
			    saved == E2BIG || saved == ENOSPC || saved == ENOMEM ? " (map full)" : "");
			return -1;
		}
		e->written = true;
	}
	return 0;
}

void owned_unapply(struct owned_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct owned_entry *e = &s->e[i];
		struct wgks_owners o = { .tunnels = e->old_owners };

		if (!e->written)
			continue;
		if (e->old_owners)
			bpf_map_update_elem(s->fd, e->key, &o, BPF_ANY);
		else
			bpf_map_delete_elem(s->fd, e->key);
		e->written = false;
	}
}

int owned_finish(struct owned_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct owned_entry *e = &s->e[i];

		if (e->new_owners || !e->old_owners)
			continue;
		if (bpf_map_delete_elem(s->fd, e->key) && errno != ENOENT) {
			err("cannot remove an allowance: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

void owned_free(struct owned_set *s)
{
	free(s->e);
	s->e = NULL;
	s->n = s->cap = 0;
}

int owned_each(int fd, enum owned_kind kind, uint64_t netns,
	       int (*fn)(const void *key, uint32_t owners, void *arg), void *arg)
{
	struct owned_set s;
	int ret = 0;

	if (owned_read(&s, fd, kind, netns)) {
		owned_free(&s);
		return -1;
	}
	for (size_t i = 0; i < s.n && !ret; i++) {
		if (s.e[i].old_owners)
			ret = fn(s.e[i].key, s.e[i].old_owners, arg);
	}
	owned_free(&s);
	return ret;
}
