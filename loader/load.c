// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading fresh programs: the one variant variant_choose() picked, with
 * CO-RE relocations against the minimal BTF of this boot (corebtf.c) unless
 * it needs the kernel's whole BTF anyway.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "corebtf.h"
#include "log.h"
#include "oldmaps.h"
#include "state.h"

const char *ks_prog_name(const struct ks_state *st)
{
	static const char *const names[WGKS_VARIANT_MAX] = {
		[WGKS_VARIANT_COOKIE] = "wgks_eg_cookie",
		[WGKS_VARIANT_KCTX] = "wgks_eg_kctx",
		[WGKS_VARIANT_PROBE] = "wgks_eg_probe",
	};

	return st->variant ? names[st->variant->id] : "?";
}

int ks_kernel_check(void)
{
	int min = variant_min_kernel(), have = kernel_version();
	struct utsname u;

	if (have && have < min) {
		uname(&u);
		err("kernel %s is too old: wgks-bpf needs Linux %d.%d or newer", u.release,
		    min / 100, min % 100);
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		err("kernel has no BTF (/sys/kernel/btf/vmlinux: %s): it needs "
		    "CONFIG_DEBUG_INFO_BTF=y", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Load variant V's programs PROGS; CORE_BTF: the BTF for CO-RE relocations,
 * NULL for the kernel's. All of them make a state of their own, with fresh
 * maps; one alone (the backstop, or sock_ops) is loaded on the maps of st
 * and kept beside it. 0 or -1.
 */
static int load_variant(struct ks_state *st, const struct variant *v, const char *core_btf,
			unsigned progs)
{
	bool alone = progs != KS_PROG_ALL;
	struct ks_object o;

	if (v->open(&o, core_btf, alone ? &st->maps : NULL, progs))
		return -1;
	if (bpf_object__load(o.obj)) {
		o.destroy(o.skel);
		return -1;
	}
	if (progs & KS_PROG_BACKSTOP) {
		st->backstop_fd = bpf_program__fd(o.backstop);
		st->backstop_id = ks_prog_id(st->backstop_fd);
	}
	if (progs == KS_PROG_BACKSTOP) {
		st->own_backstop = o;
	} else if (progs == KS_PROG_HANDOVER) {
		st->own_handover = o;
		st->handover_fd = bpf_program__fd(o.handover);
	} else if (progs == KS_PROG_SOCKOPS) {
		st->own_sockops = o;
		st->sockops_fd = bpf_program__fd(o.sockops);
	} else {
		st->own = o;
		st->variant = v;
		st->egress_fd = bpf_program__fd(o.egress);
		st->sockops_fd = bpf_program__fd(o.sockops);
		o.maps(o.skel, &st->maps);
		/* The main object's: a program loaded alone later does not change it. */
		st->core_btf_min = core_btf != NULL;
	}
	debug("kernel accepted the %s variant%s (%s BTF)", v->name,
	      progs == KS_PROG_BACKSTOP ? "'s backstop program" :
	      progs == KS_PROG_HANDOVER ? "'s handover program" :
	      progs == KS_PROG_SOCKOPS	? "'s sock_ops program" : "",
	      core_btf ? "minimal" : "the kernel's");
	return 0;
}

/*
 * Variant V, with the minimal BTF where it serves; should that fail, once
 * more with the kernel's BTF, and if that loads, the minimal BTF was wrong:
 * it is built anew. 0, or -1 if V does not load at all.
 */
static int load_with_btf(struct ks_state *st, const struct variant *v, unsigned progs)
{
	char core[PATH_MAX_CORE];
	bool min = !v->whole_btf && corebtf_path(COREBTF_DIR, false, core, sizeof(core)) == 0;

	if (min && load_variant(st, v, core, progs) == 0)
		return 0;
	if (load_variant(st, v, NULL, progs))
		return -1;
	if (min)
		corebtf_path(COREBTF_DIR, true, core, sizeof(core));
	return 0;
}

int ks_load(struct ks_state *st)
{
	const struct variant *v = variant_choose();
	bool forced = getenv("WGKS_VARIANT") && *getenv("WGKS_VARIANT");

	if (!v)
		return -1;
	if (load_with_btf(st, v, KS_PROG_ALL) == 0)
		return 0;
	debug("kernel refused the %s variant", v->name);
	/* The probe was wrong (a backport, a missing config): the ones after it. */
	for (int i = v->id + 1; !forced && i < WGKS_VARIANT_MAX; i++) {
		if (load_with_btf(st, &variants[i], KS_PROG_ALL) == 0)
			return 0;
		debug("kernel refused the %s variant", variants[i].name);
	}
	err("this kernel refused %s of the program (run with --verbose to see why): it "
	    "needs cgroup BPF, BTF and CO-RE support (Linux %d.%d+)",
	    forced ? "the forced variant" : "every variant", variant_min_kernel() / 100,
	    variant_min_kernel() % 100);
	return -1;
}

/* One program of the found or loaded variant (PROGS), alone on its maps. 0, or -1 after err(). */
static int load_alone(struct ks_state *st, unsigned progs, const char *what)
{
	if (load_with_btf(st, st->variant, progs) == 0)
		return 0;
	err("this kernel refused the %s of the %s variant (run with --verbose to see why)", what,
	    st->variant->name);
	return -1;
}

int ks_backstop(struct ks_state *st)
{
	if (st->backstop_fd >= 0 || ks_find_backstop(st) == 1)
		return 0;
	return load_alone(st, KS_PROG_BACKSTOP, "backstop program");
}

int ks_handover(struct ks_state *st)
{
	if (st->handover_fd >= 0)
		return 0;
	return load_alone(st, KS_PROG_HANDOVER, "backstop's handover program");
}

int ks_load_sockops(struct ks_state *st)
{
	return load_alone(st, KS_PROG_SOCKOPS, "sock_ops program");
}

void ks_close(struct ks_state *st)
{
	/* Loaded alone, each owns its program's fd, not the maps' (reused). */
	if (st->own_handover.skel) {
		st->own_handover.destroy(st->own_handover.skel);
		st->handover_fd = -1;
	}
	if (st->own_backstop.skel) {
		st->own_backstop.destroy(st->own_backstop.skel);
		st->backstop_fd = -1;
	}
	if (st->own_sockops.skel) {
		st->own_sockops.destroy(st->own_sockops.skel);
		st->sockops_fd = -1;
	}
	oldmaps_free(st->old);
	if (st->own.skel) {
		/* The object owns the fds. */
		st->own.destroy(st->own.skel);
	} else {
		if (st->egress_fd >= 0)
			close(st->egress_fd);
		if (st->sockops_fd >= 0)
			close(st->sockops_fd);
		if (st->backstop_fd >= 0)
			close(st->backstop_fd);
		ks_maps_close(&st->maps);
	}
	*st = (struct ks_state)KS_STATE_INIT;
}
