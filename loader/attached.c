// SPDX-License-Identifier: GPL-2.0-only
/*
 * Finding what an earlier invocation attached, from any mount namespace:
 * BPF_PROG_QUERY on the cgroup's hooks, programs named wgks_eg_* (egress)
 * and wgks_so_* (sock_ops), and their maps by id.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "log.h"
#include "oldmaps.h"
#include "state.h"

#define MAX_PROG_MAPS 16
#define MAX_HOOK_PROGS 64

uint32_t ks_prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Open program ID and read its name and map ids. The fd, or -1. */
static int open_prog(uint32_t id, struct bpf_prog_info *info, uint32_t map_ids[MAX_PROG_MAPS])
{
	uint32_t len = sizeof(*info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return -1; /* gone meanwhile, or not visible: not ours to touch */
	memset(info, 0, sizeof(*info));
	info->nr_map_ids = MAX_PROG_MAPS;
	info->map_ids = (uint64_t)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, info, &len) || info->nr_map_ids > MAX_PROG_MAPS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The map ids of every wgks egress program on the hook: what a sock_ops partner shares. */
struct egress_maps {
	uint32_t ids[MAX_HOOK_PROGS * MAX_PROG_MAPS];
	uint32_t n;
};

/*
 * Program ID on the egress hook: 1 if it is a wgks egress program, and
 * then taken into st if st has none yet (its maps opened: ours, or another
 * version's), else counted; 0 if it is not; -1 after err().
 */
static int take_egress(struct ks_state *st, uint32_t id, struct egress_maps *em,
		       struct egress_maps *mine)
{
	struct bpf_prog_info info;
	uint32_t map_ids[MAX_PROG_MAPS];
	const struct variant *v;
	int fd, r;

	fd = open_prog(id, &info, map_ids);
	if (fd < 0)
		return 0;
	if (strncmp(info.name, "wgks_eg_", 8)) {
		close(fd);
		return 0;
	}
	for (uint32_t m = 0; m < info.nr_map_ids && em->n < sizeof(em->ids) / sizeof(em->ids[0]); m++)
		em->ids[em->n++] = map_ids[m];
	v = variant_of_prog(info.name);
	if (st->egress_fd >= 0 || !v) {
		/* A second one, or of a variant this version does not know: detach --all takes it. */
		st->others++;
		close(fd);
		return 1;
	}
	st->egress_fd = fd;
	st->egress_id = id;
	st->variant = v;
	memcpy(mine->ids, map_ids, info.nr_map_ids * sizeof(map_ids[0]));
	mine->n = info.nr_map_ids;
	r = ks_maps_open(&st->maps, map_ids, info.nr_map_ids, &st->old);
	if (r == 1)
		debug("program %s (id %u) was attached by another version of wgks-bpf: %s",
		      info.name, id, st->old->differs);
	return r < 0 ? -1 : 1;
}

static bool shares_a_map(const struct egress_maps *em, const uint32_t *map_ids, uint32_t n)
{
	for (uint32_t m = 0; m < n; m++) {
		for (uint32_t e = 0; e < em->n; e++) {
			if (em->ids[e] == map_ids[m])
				return true;
		}
	}
	return false;
}

/*
 * The sock_ops hook, asked on its own: st's egress program's partner (it
 * shares its maps), and wgks sock_ops programs that no wgks egress program
 * shares maps with: orphans.
 */
static void find_sockops(struct ks_state *st, int cgroup_fd, const struct egress_maps *all,
			 const struct egress_maps *mine)
{
	uint32_t ids[MAX_HOOK_PROGS], cnt = MAX_HOOK_PROGS, flags = 0;
	struct bpf_prog_info info;
	uint32_t map_ids[MAX_PROG_MAPS];

	if (bpf_prog_query(cgroup_fd, BPF_CGROUP_SOCK_OPS, 0, &flags, ids, &cnt))
		return; /* then there is none to find */
	for (uint32_t i = 0; i < cnt; i++) {
		int fd = open_prog(ids[i], &info, map_ids);

		if (fd < 0)
			continue;
		if (strncmp(info.name, "wgks_so_", 8)) {
			close(fd);
			continue;
		}
		if (st->egress_fd >= 0 && st->sockops_fd < 0 && shares_a_map(mine, map_ids, info.nr_map_ids)) {
			st->sockops_fd = fd;
			st->sockops_id = ids[i];
			continue;
		}
		close(fd);
		if (!shares_a_map(all, map_ids, info.nr_map_ids) && st->norphans < KS_MAX_ORPHANS)
			st->orphans[st->norphans++] = ids[i];
	}
}

static bool backstop_name(const char *name)
{
	return !strncmp(name, "wgks_bs_", 8) || !strncmp(name, "wgks_bh_", 8) ||
	       !strncmp(name, "wgks_tc_", 8);
}

bool ks_is_backstop(uint32_t id)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	bool ours;

	if (fd < 0)
		return false; /* gone meanwhile */
	ours = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	       info.type == BPF_PROG_TYPE_SCHED_CLS && backstop_name(info.name);
	close(fd);
	return ours;
}

bool ks_backstop_exists(void)
{
	uint32_t id = 0;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		if (ks_is_backstop(id))
			return true;
	}
	return false;
}

int ks_find_backstop(struct ks_state *st)
{
	uint32_t id = 0, policy_id = ks_map_id(st->maps.policy);
	char name[BPF_OBJ_NAME_LEN];

	/* Not a wgks_tc_* of an older version: that one ends the chain where it passes. */
	snprintf(name, sizeof(name), "wgks_bs_%s", st->variant->name);
	/* Every program of the host: the devices that hold it are in other namespaces. */
	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info;
		uint32_t map_ids[MAX_PROG_MAPS];
		bool shares = false;
		int fd = open_prog(id, &info, map_ids);

		if (fd < 0)
			continue;
		for (uint32_t m = 0; m < info.nr_map_ids; m++)
			shares |= map_ids[m] == policy_id;
		if (shares && !strcmp(info.name, name)) {
			st->backstop_fd = fd;
			st->backstop_id = id;
			return 1;
		}
		close(fd);
	}
	return 0;
}

int ks_find(struct ks_state *st, int cgroup_fd)
{
	uint32_t ids[MAX_HOOK_PROGS], cnt = MAX_HOOK_PROGS, flags = 0;
	struct egress_maps all = { .n = 0 }, mine = { .n = 0 };
	int found;

	if (bpf_prog_query(cgroup_fd, BPF_CGROUP_INET_EGRESS, 0, &flags, ids, &cnt)) {
		if (errno == EINVAL)
			err("kernel without cgroup BPF (CONFIG_CGROUP_BPF): %s", strerror(errno));
		else
			err("cannot list the cgroup's egress programs: %s", strerror(errno));
		return -1;
	}
	for (uint32_t i = 0; i < cnt; i++) {
		int r = take_egress(st, ids[i], &all, &mine);

		if (r < 0)
			return -1;
	}
	found = st->egress_fd >= 0;
	/* Asked whether or not there is an egress program: an orphan is found either way. */
	find_sockops(st, cgroup_fd, &all, &mine);
	return found;
}
