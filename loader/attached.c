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

/* Take program ID if it is our egress program. 1 taken, 0 not ours, -1 after err(). */
static int take_egress(struct ks_state *st, uint32_t id)
{
	struct bpf_prog_info info;
	uint32_t map_ids[MAX_PROG_MAPS];
	const struct variant *v;
	char what[64];
	int fd;

	fd = open_prog(id, &info, map_ids);
	if (fd < 0)
		return 0;
	v = variant_of_prog(info.name);
	if (!v || strncmp(info.name, "wgks_eg_", 8)) {
		close(fd);
		return 0;
	}
	st->egress_fd = fd;
	st->egress_id = id;
	st->variant = v;
	snprintf(what, sizeof(what), "program %s (id %u)", info.name, id);
	return ks_maps_open(&st->maps, map_ids, info.nr_map_ids, what) ? -1 : 1;
}

/* The sock_ops program that shares our policy map, if one is attached. */
static void find_sockops(struct ks_state *st, int cgroup_fd)
{
	uint32_t ids[MAX_HOOK_PROGS], cnt = MAX_HOOK_PROGS, flags = 0;
	uint32_t policy_id = ks_map_id(st->maps.policy);

	if (bpf_prog_query(cgroup_fd, BPF_CGROUP_SOCK_OPS, 0, &flags, ids, &cnt))
		return; /* then there is none to find */
	for (uint32_t i = 0; i < cnt && st->sockops_fd < 0; i++) {
		struct bpf_prog_info info;
		uint32_t map_ids[MAX_PROG_MAPS];
		bool shares = false;
		int fd = open_prog(ids[i], &info, map_ids);

		if (fd < 0)
			continue;
		for (uint32_t m = 0; m < info.nr_map_ids; m++)
			shares |= map_ids[m] == policy_id;
		if (shares && !strncmp(info.name, "wgks_so_", 8)) {
			st->sockops_fd = fd;
			st->sockops_id = ids[i];
		} else {
			close(fd);
		}
	}
}

int ks_find_backstop(struct ks_state *st)
{
	uint32_t id = 0, policy_id = ks_map_id(st->maps.policy);
	char name[BPF_OBJ_NAME_LEN];

	snprintf(name, sizeof(name), "wgks_tc_%s", st->variant->name);
	/* Every program of the host: the tc filters that hold it are in other namespaces. */
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
	int found = 0;

	if (bpf_prog_query(cgroup_fd, BPF_CGROUP_INET_EGRESS, 0, &flags, ids, &cnt)) {
		if (errno == EINVAL)
			err("kernel without cgroup BPF (CONFIG_CGROUP_BPF): %s", strerror(errno));
		else
			err("cannot list the cgroup's egress programs: %s", strerror(errno));
		return -1;
	}
	for (uint32_t i = 0; i < cnt; i++) {
		if (found) {
			struct ks_state other = KS_STATE_INIT;

			if (take_egress(&other, ids[i]) == 1)
				st->others++;
			ks_close(&other);
			continue;
		}
		found = take_egress(st, ids[i]);
		if (found < 0)
			return -1;
	}
	if (found)
		find_sockops(st, cgroup_fd);
	return found;
}
