// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "oldmaps.h"

/* Keys of our maps are small; a found one larger than this is no key of ours. */
#define OLD_KEY_MAX 64
/* Nor is a value larger than this. */
#define OLD_VALUE_MAX 65536

/*
 * Fields this build has and an older layout may lack, each filled in by
 * the takeover from the namespace itself (takeover.c): whether the device
 * is WireGuard, its listen port and its own sockets. Any other field an
 * old layout lacks cannot be made up: such maps are not taken over.
 */
static const struct {
	enum ks_map_index map;
	const char *path;
} fillable[] = {
	{ KS_MAP_policy, "rules.tunnels[].flags" },
	{ KS_MAP_policy, "rules.tunnels[].listen_port" },
	{ KS_MAP_policy, "rules.tunnels[].pad" },
	{ KS_MAP_policy, "rules.tunnels[].sockets[]" },
};

/* The maps whose entries the takeover copies; the others it rebuilds, or starts afresh. */
static bool copied(enum ks_map_index i)
{
	return i == KS_MAP_policy || i == KS_MAP_stats || i == KS_MAP_unmanaged ||
	       i == KS_MAP_endpoints || i == KS_MAP_allow4 || i == KS_MAP_allow6;
}

static bool is_fillable(enum ks_map_index map, const char *path)
{
	for (size_t i = 0; i < sizeof(fillable) / sizeof(fillable[0]); i++) {
		if (fillable[i].map == map && !strcmp(fillable[i].path, path))
			return true;
	}
	return false;
}

const struct btf *btf_cache_get(struct btf_cache *c, uint32_t id)
{
	struct btf *b;

	if (!id)
		return NULL;
	for (int i = 0; i < c->n; i++) {
		if (c->id[i] == id)
			return c->btf[i];
	}
	b = btf__load_from_kernel_by_id(id);
	if (!b)
		return NULL;
	if (c->n == (int)(sizeof(c->id) / sizeof(c->id[0]))) {
		btf__free(b);
		return NULL;
	}
	c->id[c->n] = id;
	c->btf[c->n++] = b;
	return b;
}

void btf_cache_free(struct btf_cache *c)
{
	for (int i = 0; i < c->n; i++)
		btf__free(c->btf[i]);
	c->n = 0;
}

static void cannot(struct ks_old *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cannot(struct ks_old *o, const char *fmt, ...)
{
	va_list ap;

	if (o->cannot[0])
		return; /* the first reason is the one to tell */
	va_start(ap, fmt);
	vsnprintf(o->cannot, sizeof(o->cannot), fmt, ap);
	va_end(ap);
}

/* Whether a map we do not know holds anything (an array: a non-zero value). */
static bool holds_entries(int fd, const struct bpf_map_info *info)
{
	unsigned char key[OLD_KEY_MAX], *value;
	bool any = false;
	int ncpus = libbpf_num_possible_cpus();
	size_t size;

	if (info->key_size > OLD_KEY_MAX)
		return true;
	if (info->type != BPF_MAP_TYPE_ARRAY && info->type != BPF_MAP_TYPE_PERCPU_ARRAY) {
		/* Ring buffers and socket storage list no keys: they hold no policy. */
		return bpf_map_get_next_key(fd, NULL, key) == 0;
	}
	size = ((size_t)info->value_size + 7) / 8 * 8 * (size_t)(ncpus > 0 ? ncpus : 1);
	value = malloc(size);
	if (!value)
		return true;
	for (uint32_t k = 0; k < info->max_entries && !any; k++) {
		if (bpf_map_lookup_elem(fd, &k, value))
			continue;
		for (size_t b = 0; b < size && !any; b++)
			any = value[b] != 0;
	}
	free(value);
	return any;
}

/* Plans for map I, and whether what it holds can be carried into ours. */
static void plan_map(struct ks_old *o, enum ks_map_index i, const struct ks_decls *d,
		     struct btf_cache *btfs)
{
	const struct bpf_map_info *info = &o->info[i];
	const struct ks_map_decl *decl = &d->map[i];
	const struct btf *ob = btf_cache_get(btfs, info->btf_id);
	const char *name = ks_map_name(i);

	if (!decl->btf_value || layout_scalar(d->btf, decl->btf_key, decl->btf_value)) {
		/* No layout to mislay (the ring buffer, devmaps): type and sizes say it all. */
		o->same[i] = info->type == decl->type && info->max_entries == decl->max_entries &&
			     info->key_size == decl->key_size && info->value_size == decl->value_size;
		return;
	}
	if (!ob || !info->btf_value_type_id || (decl->btf_key && !info->btf_key_type_id)) {
		if (copied(i))
			cannot(o, "its map %s carries no BTF: what its values mean is unknown", name);
		return;
	}
	o->same[i] = info->type == decl->type && info->max_entries == decl->max_entries &&
		     layout_equal(ob, info->btf_value_type_id, d->btf, decl->btf_value) &&
		     (!decl->btf_key || layout_equal(ob, info->btf_key_type_id, d->btf, decl->btf_key));
	if (layout_plan(&o->value[i], ob, info->btf_value_type_id, d->btf, decl->btf_value) ||
	    (decl->btf_key &&
	     layout_plan(&o->key[i], ob, info->btf_key_type_id, d->btf, decl->btf_key))) {
		if (copied(i))
			cannot(o, "its map %s cannot be read: %s", name,
			       o->value[i].why[0] ? o->value[i].why : o->key[i].why);
		return;
	}
	o->planned[i] = true;
	if (!copied(i))
		return;
	if (info->type != decl->type)
		cannot(o, "its map %s is of another type", name);
	for (size_t m = 0; m < o->value[i].nmissing; m++) {
		if (!is_fillable(i, o->value[i].missing[m].path))
			cannot(o, "its map %s has no field %s, which this version needs", name,
			       o->value[i].missing[m].path);
	}
	if (decl->btf_key && (o->key[i].nmissing || o->key[i].ndropped))
		cannot(o, "the keys of its map %s are of another kind", name);
}

/* Where its policy keeps the fields lockdown off needs. */
static void find_policy_fields(struct ks_old *o, struct btf_cache *btfs)
{
	const struct btf *ob = btf_cache_get(btfs, o->info[KS_MAP_policy].btf_id);
	uint32_t id = o->info[KS_MAP_policy].btf_value_type_id;

	if (!ob || !id)
		return;
	if (layout_find(ob, id, "flags", &o->flags_off, &o->flags_size))
		o->flags_size = 0;
	if (layout_find(ob, id, "ntunnels", &o->ntunnels_off, &o->ntunnels_size))
		o->ntunnels_size = 0;
	/* BPF_F_LOCK works on any value that holds a lock, and only on those. */
	o->policy_lock = btf__find_by_name_kind(ob, "bpf_spin_lock", BTF_KIND_STRUCT) > 0;
}

int oldmaps_new(struct ks_old **old, struct old_found *found, int n, const struct ks_decls *d,
		struct btf_cache *btfs, const char *differs)
{
	struct ks_old *o = calloc(1, sizeof(*o));

	*old = NULL;
	if (!o) {
		for (int f = 0; f < n; f++)
			close(found[f].fd);
		err("out of memory");
		return -1;
	}
	for (int i = 0; i < KS_NMAPS; i++)
		o->fd[i] = -1;
	snprintf(o->differs, sizeof(o->differs), "%s", differs);
	for (int f = 0; f < n; f++) {
		int i;

		for (i = 0; i < KS_NMAPS; i++) {
			if (!strcmp(found[f].info.name, ks_map_name((enum ks_map_index)i)))
				break;
		}
		if (i < KS_NMAPS && o->fd[i] < 0) {
			o->fd[i] = found[f].fd;
			o->info[i] = found[f].info;
		} else if (o->nunknown < OLD_MAX_MAPS) {
			o->unknown[o->nunknown] = found[f].fd;
			snprintf(o->unknown_name[o->nunknown++], BPF_OBJ_NAME_LEN, "%s",
				 found[f].info.name);
			if (holds_entries(found[f].fd, &found[f].info))
				cannot(o, "its map %s, which this version does not know, holds entries",
				       found[f].info.name);
		} else {
			close(found[f].fd);
			cannot(o, "it has more maps than this version knows of");
		}
	}
	if (o->fd[KS_MAP_policy] < 0)
		cannot(o, "it has no map wgks_policy");
	for (int i = 0; i < KS_NMAPS; i++) {
		if (o->fd[i] >= 0)
			plan_map(o, (enum ks_map_index)i, d, btfs);
	}
	if (o->fd[KS_MAP_policy] >= 0) {
		find_policy_fields(o, btfs);
		if (o->planned[KS_MAP_policy] && o->key[KS_MAP_policy].old_size != sizeof(uint64_t))
			cannot(o, "its policies are not keyed by namespace cookie");
	}
	*old = o;
	return 0;
}

void oldmaps_free(struct ks_old *o)
{
	if (!o)
		return;
	for (int i = 0; i < KS_NMAPS; i++) {
		if (o->fd[i] >= 0)
			close(o->fd[i]);
		layout_free(&o->key[i]);
		layout_free(&o->value[i]);
	}
	for (int u = 0; u < o->nunknown; u++)
		close(o->unknown[u]);
	free(o);
}

int oldmaps_policy_next(const struct ks_old *old, const uint64_t *prev, uint64_t *next)
{
	return bpf_map_get_next_key(old->fd[KS_MAP_policy], prev, next);
}

/* Its policy value of NETNS, whole (under its lock, if it has one), into BUF. */
static int read_policy_raw(const struct ks_old *old, uint64_t netns, void *buf)
{
	int fd = old->fd[KS_MAP_policy];

	if (old->policy_lock)
		return bpf_map_lookup_elem_flags(fd, &netns, buf, BPF_F_LOCK);
	return bpf_map_lookup_elem(fd, &netns, buf);
}

int oldmaps_policy_read(const struct ks_old *old, uint64_t netns, struct wgks_policy *p,
			char *why, size_t why_len)
{
	const struct layout_plan *plan = &old->value[KS_MAP_policy];
	void *raw;
	int ret;

	if (!old->planned[KS_MAP_policy] || plan->new_size != sizeof(*p) ||
	    old->info[KS_MAP_policy].value_size > OLD_VALUE_MAX) {
		errno = EINVAL;
		return -1;
	}
	raw = calloc(1, old->info[KS_MAP_policy].value_size);
	if (!raw)
		return -1;
	ret = read_policy_raw(old, netns, raw);
	if (ret == 0)
		ret = layout_apply(plan, raw, p, why, why_len) ? 1 : 0;
	free(raw);
	return ret;
}

int oldmaps_counters_read(const struct ks_old *old, enum ks_map_index map, uint32_t index,
			  struct wgks_counters *sum)
{
	const struct layout_plan *plan = &old->value[map];
	int ncpus = libbpf_num_possible_cpus();
	size_t stride = ((size_t)old->info[map].value_size + 7) / 8 * 8;
	unsigned char *percpu;
	int ret = -1;

	memset(sum, 0, sizeof(*sum));
	if (ncpus <= 0 || old->fd[map] < 0 || !old->planned[map] || plan->new_size != sizeof(*sum) ||
	    stride > OLD_VALUE_MAX)
		return -1;
	percpu = calloc((size_t)ncpus, stride);
	if (!percpu)
		return -1;
	if (bpf_map_lookup_elem(old->fd[map], &index, percpu) == 0) {
		for (int c = 0; c < ncpus; c++) {
			struct wgks_counters one;

			/* A reason it counted that we do not know would fail here: shown as far as it goes. */
			layout_apply(plan, percpu + (size_t)c * stride, &one, NULL, 0);
			for (int r = 0; r < WGKS_REASON_SLOTS; r++) {
				sum->packets[r] += one.packets[r];
				sum->bytes[r] += one.bytes[r];
			}
		}
		ret = 0;
	}
	free(percpu);
	return ret;
}

int oldmaps_entry_next(const struct ks_old *old, enum ks_map_index map, const void *prev,
		       void *old_key, void *key, void *value, char *why, size_t why_len)
{
	unsigned char raw[OLD_KEY_MAX];
	int fd = old->fd[map];

	if (fd < 0 || !old->planned[map] || old->info[map].key_size > OLD_KEY_MAX ||
	    old->info[map].value_size > sizeof(raw)) {
		errno = fd < 0 ? ENOENT : EINVAL;
		return -1;
	}
	if (bpf_map_get_next_key(fd, prev, old_key))
		return -1;
	if (bpf_map_lookup_elem(fd, old_key, raw))
		return -1;
	if (layout_apply(&old->key[map], old_key, key, why, why_len) ||
	    layout_apply(&old->value[map], raw, value, why, why_len))
		return 1;
	return 0;
}

int oldmaps_lockdown_off(const struct ks_old *old, uint64_t netns)
{
	int fd = old->fd[KS_MAP_policy];
	uint32_t size = old->info[KS_MAP_policy].value_size;
	unsigned char *raw;
	uint64_t flags = 0, ntunnels = 0;
	int ret = -1;

	if (fd < 0 || size > OLD_VALUE_MAX) {
		errno = ENOENT;
		return -1;
	}
	raw = calloc(1, size);
	if (!raw)
		return -1;
	if (read_policy_raw(old, netns, raw))
		goto out;
	/* layout_find() found them inside the value. */
	flags = layout_get_uint(raw + old->flags_off, old->flags_size, false);
	ntunnels = layout_get_uint(raw + old->ntunnels_off, old->ntunnels_size, false);
	if (old->flags_size && !(flags & WGKS_F_LOCKDOWN)) {
		ret = 2;
		goto out;
	}
	if (!old->flags_size || !old->ntunnels_size || ntunnels == 0) {
		/* Nothing but lockdown kept it, or nothing tells what does: it goes. */
		ret = bpf_map_delete_elem(fd, &netns) ? -1 : 1;
		goto out;
	}
	layout_put_uint(raw + old->flags_off, old->flags_size, flags & ~(uint64_t)WGKS_F_LOCKDOWN);
	ret = bpf_map_update_elem(fd, &netns, raw, old->policy_lock ? BPF_F_LOCK : BPF_EXIST) ? -1
											      : 0;
out:
	free(raw);
	return ret;
}
