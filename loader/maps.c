// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "maps.h"

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

int ks_maps_open(struct ks_maps *m, const uint32_t *map_ids, uint32_t n, const char *what)
{
	for (uint32_t i = 0; i < n; i++) {
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = bpf_map_get_fd_by_id(map_ids[i]);
		bool taken = false;

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			for (size_t j = 0; j < N_MAPS && !taken; j++) {
				if (strcmp(info.name, our_maps[j].name) || *fd_of(m, j) >= 0)
					continue;
				/* A value of another size copied in or out would corrupt memory. */
				if (info.key_size != our_maps[j].key_size ||
				    info.value_size != our_maps[j].value_size) {
					err("%s was loaded by another version of wgks-bpf (map %s "
					    "differs); detach it with that version, or `bpftool "
					    "cgroup detach`", what, our_maps[j].name);
					close(fd);
					return -1;
				}
				*fd_of(m, j) = fd;
				taken = true;
			}
		}
		if (!taken)
			close(fd);
	}
	for (size_t j = 0; j < N_MAPS; j++) {
		if (*fd_of(m, j) < 0) {
			err("%s has no map %s: it was loaded by another version of wgks-bpf",
			    what, our_maps[j].name);
			return -1;
		}
	}
	return 0;
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
