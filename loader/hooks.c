// SPDX-License-Identifier: GPL-2.0-only
/*
 * The programs on the root cgroup: attached with BPF_F_ALLOW_MULTI, held by
 * the cgroup itself (no pin, no process), run after any program a child
 * cgroup attaches, never replaced by one. The egress program goes on first
 * and comes off last (state.h says why).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "log.h"
#include "state.h"

#define MAX_HOOK_PROGS 64

static int attach_one(int prog_fd, int cgroup_fd, enum bpf_attach_type type, const char *hook)
{
	if (bpf_prog_attach(prog_fd, cgroup_fd, type, BPF_F_ALLOW_MULTI) == 0)
		return 0;
	if (errno == EPERM)
		err("cannot attach to the cgroup's %s hook: it holds a program attached "
		    "without BPF_F_ALLOW_MULTI (%s)", hook, strerror(errno));
	else
		err("cannot attach to the cgroup's %s hook: %s", hook, strerror(errno));
	return -1;
}

int ks_attach(struct ks_state *st, int cgroup_fd)
{
	if (attach_one(st->egress_fd, cgroup_fd, BPF_CGROUP_INET_EGRESS, "egress"))
		return -1;
	if (attach_one(st->sockops_fd, cgroup_fd, BPF_CGROUP_SOCK_OPS, "sock_ops")) {
		bpf_prog_detach2(st->egress_fd, cgroup_fd, BPF_CGROUP_INET_EGRESS);
		return -1;
	}
	st->egress_id = ks_prog_id(st->egress_fd);
	st->sockops_id = ks_prog_id(st->sockops_fd);
	return 0;
}

int ks_attach_sockops(struct ks_state *st, int cgroup_fd)
{
	if (attach_one(st->sockops_fd, cgroup_fd, BPF_CGROUP_SOCK_OPS, "sock_ops"))
		return -1;
	st->sockops_id = ks_prog_id(st->sockops_fd);
	return 0;
}

int ks_detach(struct ks_state *st, int cgroup_fd)
{
	if (st->sockops_fd >= 0 && bpf_prog_detach2(st->sockops_fd, cgroup_fd, BPF_CGROUP_SOCK_OPS)) {
		err("cannot detach program %u: %s", st->sockops_id, strerror(errno));
		return -1;
	}
	if (bpf_prog_detach2(st->egress_fd, cgroup_fd, BPF_CGROUP_INET_EGRESS)) {
		err("cannot detach program %u: %s", st->egress_id, strerror(errno));
		return -1;
	}
	return 0;
}

int ks_replace(int new_fd, int old_fd, int cgroup_fd, enum bpf_attach_type hook)
{
	LIBBPF_OPTS(bpf_prog_attach_opts, opts, .flags = BPF_F_ALLOW_MULTI | BPF_F_REPLACE,
		    .replace_prog_fd = old_fd);

	return bpf_prog_attach_opts(new_fd, cgroup_fd, hook, &opts) ? -1 : 0;
}

/* Detach program ID from HOOK. 0 (or gone already), or -1 with errno. */
static int detach_id(uint32_t id, int cgroup_fd, enum bpf_attach_type hook)
{
	int fd = bpf_prog_get_fd_by_id(id), ret;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	ret = bpf_prog_detach2(fd, cgroup_fd, hook);
	if (ret && errno == ENOENT)
		ret = 0; /* detached meanwhile */
	close(fd);
	return ret ? -1 : 0;
}

int ks_orphans_detach(struct ks_state *st, int cgroup_fd)
{
	int n = 0;

	for (int i = 0; i < st->norphans; i++) {
		if (detach_id(st->orphans[i], cgroup_fd, BPF_CGROUP_SOCK_OPS)) {
			err("cannot detach sock_ops program %u, which has no egress partner: %s",
			    st->orphans[i], strerror(errno));
			return -1;
		}
		info("detached sock_ops program %u: no egress program shares its maps (one was "
		     "detached by hand, or an attach was cut short)", st->orphans[i]);
		n++;
	}
	st->norphans = 0;
	return n;
}

int ks_partner_repair(struct ks_state *st, int cgroup_fd)
{
	if (st->egress_fd < 0 || st->sockops_fd >= 0 || st->old)
		return 0;
	if (ks_load_sockops(st) || ks_attach_sockops(st, cgroup_fd))
		return -1;
	info("attached a sock_ops program (id %u) beside egress program %u, whose partner was "
	     "gone: blocked TCP connects fail fast again", st->sockops_id, st->egress_id);
	return 0;
}

/* Detach every wgks program whose name starts with PREFIX from HOOK. How many, or -1. */
static int detach_named(int cgroup_fd, enum bpf_attach_type hook, const char *prefix)
{
	uint32_t ids[MAX_HOOK_PROGS], cnt = MAX_HOOK_PROGS, flags = 0;
	int n = 0;

	if (bpf_prog_query(cgroup_fd, hook, 0, &flags, ids, &cnt)) {
		if (errno == EINVAL)
			return 0; /* no such hook on this kernel: nothing of ours on it */
		err("cannot list the cgroup's programs: %s", strerror(errno));
		return -1;
	}
	for (uint32_t i = 0; i < cnt; i++) {
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    !strncmp(info.name, prefix, strlen(prefix))) {
			if (bpf_prog_detach2(fd, cgroup_fd, hook) && errno != ENOENT) {
				err("cannot detach program %u (%s): %s", ids[i], info.name,
				    strerror(errno));
				close(fd);
				return -1;
			}
			n++;
		}
		close(fd);
	}
	return n;
}

int ks_detach_every(int cgroup_fd)
{
	int so, eg;

	/* sock_ops first, as always: never a sock_ops program alone. */
	so = detach_named(cgroup_fd, BPF_CGROUP_SOCK_OPS, "wgks_so_");
	if (so < 0)
		return -1;
	eg = detach_named(cgroup_fd, BPF_CGROUP_INET_EGRESS, "wgks_eg_");
	return eg < 0 ? -1 : so + eg;
}
