// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "keys.h"
#include "log.h"
#include "owned.h"
#include "wgks.h"

/* Largest key of these maps. */
#define KEY_MAX sizeof(struct wgks_allow6_key)

int owned_add(const struct owned_map *m, const void *key, int slot)
{
	struct wgks_owners o = { 0 };

	if (bpf_map_lookup_elem(m->fd, key, &o) && errno != ENOENT) {
		err("cannot read an allowance: %s", strerror(errno));
		return -1;
	}
	o.tunnels |= 1u << slot;
	if (bpf_map_update_elem(m->fd, key, &o, BPF_ANY)) {
		err("cannot add an allowance: %s%s", strerror(errno),
		    errno == E2BIG || errno == ENOSPC ? " (map full)" : "");
		return -1;
	}
	return 0;
}

/*
 * Keys first, changes after: deleting while walking with get_next_key can
 * restart the walk. Returns the keys of NETNS (malloc'd, n in *count).
 */
static unsigned char *collect(const struct owned_map *m, uint64_t netns, size_t *count)
{
	unsigned char cur[KEY_MAX], next[KEY_MAX], *keys = NULL, *grown;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(m->fd, prev, next) == 0) {
		memcpy(cur, next, m->key_size);
		prev = cur;
		if (key_netns(cur, m->is_allow) != netns)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(keys, cap * m->key_size);
			if (!grown) {
				free(keys);
				return NULL;
			}
			keys = grown;
		}
		memcpy(keys + n * m->key_size, cur, m->key_size);
		n++;
	}
	*count = n;
	return keys ? keys : malloc(1);
}

int owned_each(const struct owned_map *m, uint64_t netns,
	       int (*fn)(const void *key, uint32_t owners, void *arg), void *arg)
{
	size_t n;
	unsigned char *keys = collect(m, netns, &n);
	int ret = 0;

	if (!keys) {
		err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		struct wgks_owners o;
		const void *key = keys + i * m->key_size;

		if (bpf_map_lookup_elem(m->fd, key, &o) == 0)
			ret = fn(key, o.tunnels, arg);
	}
	free(keys);
	return ret;
}

struct keep_arg {
	const struct owned_map *m;
	uint32_t keep;
};

static int keep_one(const void *key, uint32_t owners, void *arg)
{
	const struct keep_arg *a = arg;
	struct wgks_owners o = { .tunnels = owners & a->keep };

	if (o.tunnels == owners)
		return 0;
	if (o.tunnels ? bpf_map_update_elem(a->m->fd, key, &o, BPF_EXIST)
		      : bpf_map_delete_elem(a->m->fd, key)) {
		if (errno == ENOENT)
			return 0;
		err("cannot remove an allowance: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int owned_keep(const struct owned_map *m, uint64_t netns, uint32_t keep)
{
	struct keep_arg a = { m, keep };

	return owned_each(m, netns, keep_one, &a);
}

static int found(const void *key, uint32_t owners, void *arg)
{
	(void)key;
	(void)owners;
	(void)arg;
	return 1;
}

bool owned_any(const struct owned_map *m, uint64_t netns)
{
	return owned_each(m, netns, found, NULL) == 1;
}
