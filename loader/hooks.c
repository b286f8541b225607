// SPDX-License-Identifier: GPL-2.0-only
/*
 * The programs on the root cgroup: attached with BPF_F_ALLOW_MULTI, held by
 * the cgroup itself (no pin, no process), run after any program a child
 * cgroup attaches, never replaced by one.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "log.h"
#include "state.h"

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
	if (attach_one(st->sockops_fd, cgroup_fd, BPF_CGROUP_SOCK_OPS, "sock_ops"))
		return -1;
	if (attach_one(st->egress_fd, cgroup_fd, BPF_CGROUP_INET_EGRESS, "egress")) {
		bpf_prog_detach2(st->sockops_fd, cgroup_fd, BPF_CGROUP_SOCK_OPS);
		return -1;
	}
	st->egress_id = ks_prog_id(st->egress_fd);
	st->sockops_id = ks_prog_id(st->sockops_fd);
	return 0;
}

int ks_detach(struct ks_state *st, int cgroup_fd)
{
	/*
	 * sock_ops first: it is found through the egress program, so if this
	 * fails the next detach can still find and remove both.
	 */
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
