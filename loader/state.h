/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kill switch as the kernel holds it: two programs attached to the root
 * cgroup with BPF_F_ALLOW_MULTI, one on the egress hook (the verdicts), one
 * on sock_ops (fast failure of blocked TCP connects), the backstop program
 * that the devices hold (tcx or a clsact filter: backstop.c), and their
 * shared maps.
 * Nothing is pinned: any later invocation, from any mount namespace, finds
 * the programs by asking the cgroup (attached.c) or loads them afresh
 * (load.c); hooks.c attaches and detaches the cgroup's two.
 */
#ifndef WGKS_STATE_H
#define WGKS_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>
#include "maps.h"
#include "variant.h"

/* sock_ops programs of ours found without an egress partner, at most. */
#define KS_MAX_ORPHANS 8

struct ks_state {
	struct ks_object own;           /* loaded by us (own.skel set): it owns the fds */
	struct ks_object own_backstop;  /* its backstop program alone, loaded on found maps */
	struct ks_object own_handover;  /* the handover program, on st's maps (ks_handover()) */
	struct ks_object own_sockops;   /* its sock_ops program alone, for a partner that was lost */
	struct ks_old *old;             /* found maps of another version (oldmaps.h); NULL: ours */
	const struct variant *variant;
	bool core_btf_min;              /* loaded with the minimal BTF of corebtf.c */
	int egress_fd;                  /* -1 if none */
	uint32_t egress_id;
	int sockops_fd;                 /* -1 if none */
	uint32_t sockops_id;
	int backstop_fd;                /* the tc program; -1 until ks_backstop() */
	uint32_t backstop_id;
	int handover_fd;                /* -1 until ks_handover() */
	struct ks_maps maps;
	uint32_t others;                /* more wgks egress programs found (should be 0) */
	/*
	 * wgks sock_ops programs that share no map with any wgks egress program
	 * (one was detached by hand, or a crash came between two attaches):
	 * alone, one still shortens the SYN timer of connects its stale policy
	 * blocks, while nothing blocks them. Commands that change anything
	 * detach them (ks_orphans_detach()).
	 */
	uint32_t orphans[KS_MAX_ORPHANS];
	int norphans;
};

#define KS_MAP_UNSET(name, k, v) .name = -1,
#define KS_STATE_INIT                                                                \
	{ .egress_fd = -1, .sockops_fd = -1, .backstop_fd = -1, .handover_fd = -1,   \
	  .maps = { KS_MAPS(KS_MAP_UNSET) } }

/* The egress program's name (the variant's): wgks_eg_cookie and so on. */
const char *ks_prog_name(const struct ks_state *st);

/* Refuse kernels that cannot run it, with the reason. 0 or -1 after err(). */
int ks_kernel_check(void);

/*
 * Find our programs on the cgroup (attached.c): each hook asked on its own,
 * the egress program's maps opened (st->old set if another version made
 * them), its sock_ops partner (one that shares its maps) and any sock_ops
 * program without one (st->orphans). 1 found, 0 no egress program of ours
 * attached, -1 after err().
 */
int ks_find(struct ks_state *st, int cgroup_fd);

/* The id of program FD, 0 if it cannot be read. */
uint32_t ks_prog_id(int fd);

/*
 * Whether program ID is a backstop program of ours, of any version: a tc
 * program named wgks_bs_*, its handover wgks_bh_*, or wgks_tc_* (before
 * tcx). False if it is gone.
 */
bool ks_is_backstop(uint32_t id);

/* Whether any wgks backstop program is loaded on the host (a device holds it). */
bool ks_backstop_exists(void);

/* The backstop program of a found state, if a device somewhere holds one. 1, 0 none. */
int ks_find_backstop(struct ks_state *st);

/*
 * Load fresh programs (load.c): the variant variant_choose() picks, its
 * CO-RE relocations against the minimal BTF of corebtf.c where it serves,
 * the kernel's whole BTF where it does not. 0 or -1 after err().
 */
int ks_load(struct ks_state *st);

/*
 * The backstop program (the one the namespace's devices run) into
 * st->backstop_fd: loaded with the others, or found holding our maps (one
 * device holds it), or loaded alone on the found maps. 0, or -1 after err().
 */
int ks_backstop(struct ks_state *st);

/*
 * The handover program (backstop.bpf.h) into st->handover_fd, loaded alone
 * on st's maps: only when a device moves from clsact to tcx. 0, or -1 after
 * err().
 */
int ks_handover(struct ks_state *st);

/* Load the sock_ops program alone, on the maps of st (a found state). 0, or -1 after err(). */
int ks_load_sockops(struct ks_state *st);

/*
 * Attach loaded programs (hooks.c), egress first (multi: a child cgroup
 * cannot replace them), detach them sock_ops first: whenever one is on the
 * cgroup alone, it is the egress program, which fails closed (its policy
 * blocks; connects merely wait for their SYN retries). A sock_ops program
 * alone would be the one that hurts (failfast.bpf.h). Both 0 or -1 after
 * err().
 */
int ks_attach(struct ks_state *st, int cgroup_fd);
int ks_detach(struct ks_state *st, int cgroup_fd);

/* Attach st's loaded sock_ops program alone (beside a found egress program). 0, or -1 after err(). */
int ks_attach_sockops(struct ks_state *st, int cgroup_fd);

/*
 * Put program NEW_FD in OLD_FD's place on HOOK, atomically (BPF_F_REPLACE
 * on the multi attachment: no moment with neither, none with both). 0, or
 * -1 with errno.
 */
int ks_replace(int new_fd, int old_fd, int cgroup_fd, enum bpf_attach_type hook);

/* Detach st's orphan sock_ops programs. How many, or -1 after err(). */
int ks_orphans_detach(struct ks_state *st, int cgroup_fd);

/*
 * A found egress program whose sock_ops partner is gone gets one again,
 * loaded on its maps. 0 (or nothing to do), or -1 after err().
 */
int ks_partner_repair(struct ks_state *st, int cgroup_fd);

/*
 * Detach every program named wgks_* from the cgroup's egress and sock_ops
 * hooks, whatever made them and whatever their maps (detach --all). How
 * many, or -1 after err().
 */
int ks_detach_every(int cgroup_fd);

void ks_close(struct ks_state *st);

#endif
