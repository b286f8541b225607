/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ways the programs learn a packet's network namespace cookie, one
 * entry each: its name (its programs are wgks_eg_NAME, wgks_so_NAME,
 * wgks_bs_NAME and wgks_bh_NAME), the first kernel it loads on, and how to open its object. The loader
 * probes the kernel once and loads the one variant it picks.
 */
#ifndef WGKS_VARIANT_H
#define WGKS_VARIANT_H

#include <stdbool.h>
#include "maps.h"

struct bpf_object;
struct bpf_program;

/* An object opened for one variant, its programs chosen, not yet loaded. */
struct ks_object {
	void *skel;                    /* the libbpf skeleton */
	void (*destroy)(void *skel);
	struct bpf_object *obj;
	struct bpf_program *egress;    /* cgroup_skb/egress: the verdicts */
	struct bpf_program *sockops;   /* sockops: fail fast */
	struct bpf_program *backstop;  /* tc: what the cgroup hook never sees */
	struct bpf_program *handover;  /* tc: the same, ending the chain (backstop.bpf.h) */
	void (*maps)(void *skel, struct ks_maps *m); /* after the load: the map fds */
};

struct variant {
	enum wgks_variant id;
	const char *name;
	int min_kernel;  /* major * 100 + minor */
	const char *how; /* how it learns the namespace, for status */
	bool whole_btf;  /* a kfunc: libbpf must read the kernel's whole BTF */
	/*
	 * Open its object for it, to load the programs PROGS (KS_PROG_*);
	 * BTF_PATH for CO-RE (NULL: the kernel's). With REUSE, on those maps (a
	 * later command that needs one program the kernel holds no more of:
	 * the backstop, its handover, or a sock_ops program whose partner was
	 * lost). 0 or -1.
	 */
	int (*open)(struct ks_object *o, const char *btf_path, const struct ks_maps *reuse,
		    unsigned progs);
};

/* Which programs of a variant to load. */
#define KS_PROG_EGRESS (1u << 0)
#define KS_PROG_SOCKOPS (1u << 1)
#define KS_PROG_BACKSTOP (1u << 2)
/* Not among KS_PROG_ALL: loaded only to move a device from clsact to tcx. */
#define KS_PROG_HANDOVER (1u << 3)
#define KS_PROG_ALL (KS_PROG_EGRESS | KS_PROG_SOCKOPS | KS_PROG_BACKSTOP)

/* Every variant, best first. */
extern const struct variant variants[WGKS_VARIANT_MAX];

/* The oldest kernel any variant runs on (major * 100 + minor). */
int variant_min_kernel(void);

/* By name ("cookie"), or by a program's name (wgks_eg_cookie); NULL if none. */
const struct variant *variant_by_name(const char *name);
const struct variant *variant_of_prog(const char *prog_name);

/*
 * The variant for this kernel, probed without loading the programs: the
 * helper bpf_get_netns_cookie for cgroup_skb (6.15), then the kfunc
 * bpf_cast_to_kern_ctx (6.2), else the probe reads. $WGKS_VARIANT forces
 * one (tests try each on one kernel). NULL after err() for an unknown name.
 */
const struct variant *variant_choose(void);

/* The running kernel as major * 100 + minor; 0 if unknown. */
int kernel_version(void);

/*
 * This build's maps as its object declares them (both objects share
 * bpf/maps.bpf.h): opened, not loaded, so nothing reaches the kernel.
 * 0, or -1 after err(); close with variant_decls_close() either way.
 */
int variant_decls(struct ks_decls *d);
void variant_decls_close(struct ks_decls *d);

#endif
