// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "killswitch.skel.h"
#include "killswitch_kctx.skel.h"
#include "log.h"
#include "variant.h"

/*
 * VARIANT_OPEN(name, skeleton): open the skeleton's object with only the
 * programs of variant NAME to load. The compiler checks the program and map
 * names against the skeleton: a renamed program is a build error.
 */
#define VARIANT_OPEN(name, sk)                                                           \
	static void maps_##name(void *skel, struct ks_maps *m)                           \
	{                                                                                \
		struct sk##_bpf *s = skel;                                               \
		KS_MAPS_FROM_SKEL(m, s);                                                 \
	}                                                                                \
	static void destroy_##name(void *skel)                                           \
	{                                                                                \
		sk##_bpf__destroy(skel);                                                 \
	}                                                                                \
	static int open_##name(struct ks_object *o, const char *btf_path,                \
			       const struct ks_maps *reuse, unsigned progs)              \
	{                                                                                \
		LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf_path);    \
		struct sk##_bpf *s = sk##_bpf__open_opts(&opts);                         \
		struct bpf_program *p;                                                   \
                                                                                         \
		if (!s)                                                                  \
			return -1;                                                       \
		bpf_object__for_each_program(p, s->obj)                                  \
			bpf_program__set_autoload(                                       \
				p, (p == s->progs.wgks_bs_##name && (progs & KS_PROG_BACKSTOP)) || \
				   (p == s->progs.wgks_bh_##name && (progs & KS_PROG_HANDOVER)) || \
				   (p == s->progs.wgks_eg_##name && (progs & KS_PROG_EGRESS)) ||  \
				   (p == s->progs.wgks_so_##name && (progs & KS_PROG_SOCKOPS)));  \
		if (reuse && (KS_MAPS(KS_MAP_REUSE) 0)) {                                \
			sk##_bpf__destroy(s);                                            \
			return -1;                                                       \
		}                                                                        \
		*o = (struct ks_object){ .skel = s, .destroy = destroy_##name,           \
					 .obj = s->obj, .egress = s->progs.wgks_eg_##name,  \
					 .sockops = s->progs.wgks_so_##name,             \
					 .backstop = s->progs.wgks_bs_##name,            \
					 .handover = s->progs.wgks_bh_##name,            \
					 .maps = maps_##name };                           \
		return 0;                                                                \
	}

/* In VARIANT_OPEN: each map of the skeleton takes the fd of REUSE's (an || chain). */
#define KS_MAP_REUSE(n, k, v) bpf_map__reuse_fd(s->maps.wgks_##n, reuse->n) ||

VARIANT_OPEN(cookie, killswitch)
VARIANT_OPEN(kctx, killswitch_kctx)
VARIANT_OPEN(probe, killswitch)

const struct variant variants[WGKS_VARIANT_MAX] = {
	[WGKS_VARIANT_COOKIE] = { WGKS_VARIANT_COOKIE, "cookie", 615, "bpf_get_netns_cookie",
				  false, open_cookie },
	[WGKS_VARIANT_KCTX] = { WGKS_VARIANT_KCTX, "kctx", 602, "bpf_cast_to_kern_ctx + CO-RE",
				true, open_kctx },
	/*
	 * 5.14: user space reads the cookie with SO_NETNS_COOKIE and the probe
	 * reads find it as a u64 net->net_cookie from then on. (Namespace
	 * inode numbers, the older id, are reused: no variant keys by them.)
	 */
	[WGKS_VARIANT_PROBE] = { WGKS_VARIANT_PROBE, "probe", 514, "CO-RE probe reads", false,
				 open_probe },
};

int variant_min_kernel(void)
{
	int min = variants[0].min_kernel;

	for (int v = 1; v < WGKS_VARIANT_MAX; v++)
		min = variants[v].min_kernel < min ? variants[v].min_kernel : min;
	return min;
}

const struct variant *variant_by_name(const char *name)
{
	for (int v = 0; v < WGKS_VARIANT_MAX; v++) {
		if (!strcmp(name, variants[v].name))
			return &variants[v];
	}
	return NULL;
}

const struct variant *variant_of_prog(const char *prog_name)
{
	/* wgks_tc_: the backstop of versions before tcx, which ended the chain. */
	static const char *const prefixes[] = { "wgks_eg_", "wgks_so_", "wgks_bs_", "wgks_bh_",
						"wgks_tc_" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (!strncmp(prog_name, prefixes[i], n))
			return variant_by_name(prog_name + n);
	}
	return NULL;
}

int kernel_version(void)
{
	struct utsname u;
	int major, minor;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 100 + minor;
}

const struct variant *variant_choose(void)
{
	const char *forced = getenv("WGKS_VARIANT");
	const struct variant *v;

	if (forced && *forced) {
		v = variant_by_name(forced);
		if (!v)
			err("WGKS_VARIANT=%s: not one of cookie, kctx, probe", forced);
		return v;
	}
	/* One tiny program, no BTF read: is the helper there for cgroup_skb? */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_get_netns_cookie, NULL) == 1)
		return &variants[WGKS_VARIANT_COOKIE];
	/*
	 * The kfunc cannot be probed without the kernel's whole BTF, the very
	 * read the minimal BTF saves: its kernel version tells instead.
	 */
	if (kernel_version() >= variants[WGKS_VARIANT_KCTX].min_kernel)
		return &variants[WGKS_VARIANT_KCTX];
	return &variants[WGKS_VARIANT_PROBE];
}

/* In variant_decls(): one map's declaration, from the skeleton S. */
#define KS_MAP_DECL(n, k, v)                                                            \
	d->map[KS_MAP_##n] = (struct ks_map_decl){                                       \
		.type = bpf_map__type(s->maps.wgks_##n),                                 \
		.key_size = bpf_map__key_size(s->maps.wgks_##n),                         \
		.value_size = bpf_map__value_size(s->maps.wgks_##n),                     \
		.max_entries = bpf_map__max_entries(s->maps.wgks_##n),                   \
		.btf_key = bpf_map__btf_key_type_id(s->maps.wgks_##n),                   \
		.btf_value = bpf_map__btf_value_type_id(s->maps.wgks_##n) };

int variant_decls(struct ks_decls *d)
{
	struct killswitch_bpf *s = killswitch_bpf__open();

	memset(d, 0, sizeof(*d));
	if (!s) {
		err("cannot open this build's BPF object: %s", strerror(errno));
		return -1;
	}
	d->skel = s;
	d->btf = bpf_object__btf(s->obj);
	KS_MAPS(KS_MAP_DECL)
	if (!d->btf) {
		err("this build's BPF object has no BTF");
		return -1;
	}
	return 0;
}

void variant_decls_close(struct ks_decls *d)
{
	if (d->skel)
		killswitch_bpf__destroy(d->skel);
	memset(d, 0, sizeof(*d));
}
