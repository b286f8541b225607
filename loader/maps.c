// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "layout.h"
#include "log.h"
#include "maps.h"
#include "oldmaps.h"
#include "variant.h"

/* Each map's name as the kernel keeps it, and where its fd goes. */
static const struct {
	const char *name;
	size_t offset;
	uint32_t key_size, value_size;
} our_maps[] = {
#define KS_MAP_ENTRY(n, k, v) { "wgks_" #n, offsetof(struct ks_maps, n), k, v },
	KS_MAPS(KS_MAP_ENTRY)
#undef KS_MAP_ENTRY
};
#define N_MAPS (sizeof(our_maps) / sizeof(our_maps[0]))

static int *fd_of(struct ks_maps *m, size_t i)
{
	return (int *)((char *)m + our_maps[i].offset);
}

void ks_maps_init(struct ks_maps *m)
{
	for (size_t i = 0; i < N_MAPS; i++)
		*fd_of(m, i) = -1;
}

void ks_maps_close(struct ks_maps *m)
{
	for (size_t i = 0; i < N_MAPS; i++) {
		if (*fd_of(m, i) >= 0)
			close(*fd_of(m, i));
	}
	ks_maps_init(m);
}

const char *ks_map_name(enum ks_map_index i)
{
	return our_maps[i].name;
}

int *ks_map_fd(struct ks_maps *m, enum ks_map_index i)
{
	return fd_of(m, i);
}

/* A found map laid out as ours (DECL), by type, sizes and BTF. */
static bool same_as_ours(const struct old_found *f, const struct ks_map_decl *decl,
			 const struct btf *ours, struct btf_cache *btfs)
{
	const struct btf *theirs;

	if (f->info.type != decl->type || f->info.key_size != decl->key_size ||
	    f->info.value_size != decl->value_size || f->info.max_entries != decl->max_entries)
		return false;
	/* No layout to mislay: sizes say it all (the kernel keeps no BTF for devmaps). */
	if (!decl->btf_value || layout_scalar(ours, decl->btf_key, decl->btf_value))
		return true;
	theirs = btf_cache_get(btfs, f->info.btf_id);
	return theirs && f->info.btf_value_type_id &&
	       layout_equal(theirs, f->info.btf_value_type_id, ours, decl->btf_value) &&
	       (!decl->btf_key || (f->info.btf_key_type_id &&
				   layout_equal(theirs, f->info.btf_key_type_id, ours, decl->btf_key)));
}

/*
 * Whether the found maps are ours, each of them: 0 and each one's place in
 * AT, or 1 and how they differ in DIFFERS.
 */
static int compare(const struct old_found *found, int n, const struct ks_decls *d,
		   struct btf_cache *btfs, int at[KS_NMAPS], char *differs, size_t len)
{
	for (int f = 0; f < n; f++) {
		size_t j;

		for (j = 0; j < N_MAPS && strcmp(found[f].info.name, our_maps[j].name); j++)
			;
		if (j == N_MAPS) {
			snprintf(differs, len, "map %s is not one of this version's", found[f].info.name);
			return 1;
		}
		if (at[j] < 0)
			at[j] = f;
	}
	for (size_t j = 0; j < N_MAPS; j++) {
		if (at[j] < 0) {
			snprintf(differs, len, "it has no map %s", our_maps[j].name);
			return 1;
		}
		if (!same_as_ours(&found[at[j]], &d->map[j], d->btf, btfs)) {
			if (found[at[j]].info.value_size == d->map[j].value_size)
				snprintf(differs, len, "map %s holds its fields in other places "
					 "(values of %u bytes, as ours)", our_maps[j].name,
					 d->map[j].value_size);
			else
				snprintf(differs, len, "map %s holds values of %u bytes, ours %u",
					 our_maps[j].name, found[at[j]].info.value_size,
					 d->map[j].value_size);
			return 1;
		}
	}
	return 0;
}

int ks_maps_open(struct ks_maps *m, const uint32_t *map_ids, uint32_t n, struct ks_old **old)
{
	struct old_found found[OLD_MAX_MAPS];
	struct btf_cache btfs = { 0 };
	struct ks_decls d;
	int nfound = 0, at[KS_NMAPS], ret = -1;
	char differs[192] = "";

	*old = NULL;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = sizeof(found[0].info);
		int fd = bpf_map_get_fd_by_id(map_ids[i]);

		if (fd < 0)
			continue;
		memset(&found[nfound].info, 0, sizeof(found[nfound].info));
		/* Only maps named as ours: not the object's .rodata and the like. */
		if (nfound == OLD_MAX_MAPS || bpf_obj_get_info_by_fd(fd, &found[nfound].info, &len) ||
		    strncmp(found[nfound].info.name, "wgks_", 5)) {
			close(fd);
			continue;
		}
		found[nfound++].fd = fd;
	}
	for (int i = 0; i < KS_NMAPS; i++)
		at[i] = -1;
	if (variant_decls(&d))
		goto out;
	if (compare(found, nfound, &d, &btfs, at, differs, sizeof(differs)) == 0) {
		for (int i = 0; i < KS_NMAPS; i++) {
			*fd_of(m, (size_t)i) = found[at[i]].fd;
			found[at[i]].fd = -1;
		}
		ret = 0;
	} else {
		/* Another version's: described, never used as ours. */
		ret = oldmaps_new(old, found, nfound, &d, &btfs, differs) ? -1 : 1;
		nfound = 0;
	}
out:
	for (int f = 0; f < nfound; f++) {
		if (found[f].fd >= 0)
			close(found[f].fd);
	}
	btf_cache_free(&btfs);
	variant_decls_close(&d);
	return ret;
}

uint32_t ks_map_id(int fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

int ks_policy_write(const struct ks_maps *m, uint64_t netns, const struct wgks_policy *p)
{
	/* In place under the value's lock if there is one; else a new element. */
	return bpf_map_update_elem(m->policy, &netns, p, BPF_F_LOCK);
}

int ks_policy_read(const struct ks_maps *m, uint64_t netns, struct wgks_policy *p)
{
	return bpf_map_lookup_elem_flags(m->policy, &netns, p, BPF_F_LOCK);
}

int ks_counters_read(int map_fd, uint32_t index, struct wgks_counters *sum)
{
	int ncpus = libbpf_num_possible_cpus();
	struct wgks_counters *percpu;
	int ret = -1;

	memset(sum, 0, sizeof(*sum));
	if (ncpus <= 0)
		return -1;
	percpu = calloc((size_t)ncpus, sizeof(*percpu));
	if (!percpu)
		return -1;
	if (bpf_map_lookup_elem(map_fd, &index, percpu) == 0) {
		for (int c = 0; c < ncpus; c++) {
			for (int r = 0; r < WGKS_REASON_MAX; r++) {
				sum->packets[r] += percpu[c].packets[r];
				sum->bytes[r] += percpu[c].bytes[r];
			}
		}
		ret = 0;
	}
	free(percpu);
	return ret;
}

/* Zero one per-CPU array entry on every CPU. 0, or -1 after err(). */
static int zero_percpu(int map_fd, uint32_t index, size_t value_size)
{
	int ncpus = libbpf_num_possible_cpus();
	void *zero;
	int ret = -1;

	if (ncpus <= 0) {
		err("cannot count CPUs: %s", strerror(-ncpus));
		return -1;
	}
	/* The kernel wants each CPU's value rounded up to 8 bytes. */
	zero = calloc((size_t)ncpus, (value_size + 7) & ~(size_t)7);
	if (!zero) {
		err("out of memory");
		return -1;
	}
	if (bpf_map_update_elem(map_fd, &index, zero, BPF_ANY) == 0)
		ret = 0;
	else
		err("cannot reset per-namespace counters: %s", strerror(errno));
	free(zero);
	return ret;
}

int ks_counters_pick(const struct ks_maps *m, uint64_t netns, uint32_t *index)
{
	bool used[WGKS_MAX_NETNS] = { false };
	struct wgks_policy p;
	uint64_t key, next;
	void *prev = NULL;

	if (ks_policy_read(m, netns, &p) == 0) {
		*index = p.rules.counters;
		return 0;
	}
	/* A new namespace: the first index no policy names. */
	while (bpf_map_get_next_key(m->policy, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (ks_policy_read(m, key, &p) == 0 && p.rules.counters < WGKS_MAX_NETNS)
			used[p.rules.counters] = true;
	}
	for (uint32_t i = 0; i < WGKS_MAX_NETNS; i++) {
		if (!used[i]) {
			*index = i;
			return 1;
		}
	}
	err("no room for another namespace: %d have a policy", WGKS_MAX_NETNS);
	return -1;
}

int ks_counters_reset(const struct ks_maps *m, uint32_t index)
{
	return zero_percpu(m->stats, index, sizeof(struct wgks_counters)) ||
			       zero_percpu(m->evlimit, index, sizeof(struct wgks_evlimit)) ? -1 : 0;
}

int ks_counters_index(const struct ks_maps *m, uint64_t netns, uint32_t *index)
{
	int r = ks_counters_pick(m, netns, index);

	return r == 1 && ks_counters_reset(m, *index) ? -1 : r;
}
