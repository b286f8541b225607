/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kill switch as the kernel holds it: two programs attached to the root
 * cgroup with BPF_F_ALLOW_MULTI, one on the egress hook (the verdicts), one
 * on sock_ops (fast failure of blocked TCP connects), the backstop program
 * that tc filters on the devices hold (backstop.c), and their shared maps.
 * Nothing is pinned: any later invocation, from any mount namespace, finds
 * the programs by asking the cgroup (attached.c) or loads them afresh
 * (load.c); hooks.c attaches and detaches the cgroup's two.
 */
#ifndef WGKS_STATE_H
#define WGKS_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include "maps.h"
#include "variant.h"

struct ks_state {
	struct ks_object own;           /* loaded by us (own.skel set): it owns the fds */
	struct ks_object own_backstop;  /* its backstop program alone, loaded on found maps */
	const struct variant *variant;
	bool core_btf_min;              /* loaded with the minimal BTF of corebtf.c */
	int egress_fd;                  /* -1 if none */
	uint32_t egress_id;
	int sockops_fd;                 /* -1 if none */
	uint32_t sockops_id;
	int backstop_fd;                /* the tc program; -1 until ks_backstop() */
	uint32_t backstop_id;
	struct ks_maps maps;
	uint32_t others;                /* more wgks egress programs found (should be 0) */
};

#define KS_MAP_UNSET(name, k, v) .name = -1,
#define KS_STATE_INIT                                                                \
	{ .egress_fd = -1, .sockops_fd = -1, .backstop_fd = -1,                      \
	  .maps = { KS_MAPS(KS_MAP_UNSET) } }

/* The egress program's name (the variant's): wgks_eg_cookie and so on. */
const char *ks_prog_name(const struct ks_state *st);

/* Refuse kernels that cannot run it, with the reason. 0 or -1 after err(). */
int ks_kernel_check(void);

/* Find our programs on the cgroup (attached.c). 1 found, 0 none attached, -1 after err(). */
int ks_find(struct ks_state *st, int cgroup_fd);

/* The id of program FD, 0 if it cannot be read. */
uint32_t ks_prog_id(int fd);

/* The backstop program of a found state, if a tc filter somewhere holds one. 1, 0 none. */
int ks_find_backstop(struct ks_state *st);

/*
 * Load fresh programs (load.c): the variant variant_choose() picks, its
 * CO-RE relocations against the minimal BTF of corebtf.c where it serves,
 * the kernel's whole BTF where it does not. 0 or -1 after err().
 */
int ks_load(struct ks_state *st);

/*
 * The backstop program (the one the namespace's tc filters run) into
 * st->backstop_fd: loaded with the others, or found holding our maps (one
 * filter holds it), or loaded alone on the found maps. 0, or -1 after err().
 */
int ks_backstop(struct ks_state *st);

/*
 * Attach loaded programs (hooks.c), sock_ops first (multi: a child cgroup
 * cannot replace them). Detach takes sock_ops off first (it is found
 * through the egress program: should the second step fail, a later detach
 * still finds both), then egress. Both 0 or -1 after err().
 */
int ks_attach(struct ks_state *st, int cgroup_fd);
int ks_detach(struct ks_state *st, int cgroup_fd);

void ks_close(struct ks_state *st);

#endif
