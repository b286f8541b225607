// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "killswitch.skel.h"
#include "killswitch_kctx.skel.h"
#include "corebtf.h"
#include "log.h"
#include "state.h"

/*
 * Oldest kernel we run on: namespaces are keyed by their cookie, which user
 * space reads with SO_NETNS_COOKIE and the probe variant finds as a u64
 * net->net_cookie: both 5.14. (Inode numbers, the older id, are reused.)
 */
#define MIN_KERNEL_MAJOR 5
#define MIN_KERNEL_MINOR 14

static const char *const variant_names[WGKS_VARIANT_MAX] = {
	[WGKS_VARIANT_COOKIE] = "cookie",
	[WGKS_VARIANT_KCTX] = "kctx",
	[WGKS_VARIANT_PROBE] = "probe",
};

/* Program names, as the kernel keeps them; they tell a found program's variant. */
static const char *const variant_progs[WGKS_VARIANT_MAX] = {
	[WGKS_VARIANT_COOKIE] = "wgks_eg_cookie",
	[WGKS_VARIANT_KCTX] = "wgks_eg_kctx",
	[WGKS_VARIANT_PROBE] = "wgks_eg_probe",
};

static const char *const sockops_progs[WGKS_VARIANT_MAX] = {
	[WGKS_VARIANT_COOKIE] = "wgks_so_cookie",
	[WGKS_VARIANT_KCTX] = "wgks_so_kctx",
	[WGKS_VARIANT_PROBE] = "wgks_so_probe",
};

#define SOCKOPS_PREFIX "wgks_so_"

/*
 * The kctx variant calls a kfunc, for which libbpf needs the kernel's whole
 * BTF; it has an object of its own so that the others load without it.
 */
static bool in_kctx_object(enum wgks_variant v)
{
	return v == WGKS_VARIANT_KCTX;
}

const char *ks_prog_name(const struct ks_state *st)
{
	return st->variant < WGKS_VARIANT_MAX ? variant_progs[st->variant] : "?";
}

const char *variant_name(enum wgks_variant v)
{
	return v < WGKS_VARIANT_MAX ? variant_names[v] : "?";
}

int ks_kernel_check(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
	    (major < MIN_KERNEL_MAJOR ||
	     (major == MIN_KERNEL_MAJOR && minor < MIN_KERNEL_MINOR))) {
		err("kernel %s is too old: wgks-bpf needs Linux %d.%d or newer", u.release,
		    MIN_KERNEL_MAJOR, MIN_KERNEL_MINOR);
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		err("kernel has no BTF (/sys/kernel/btf/vmlinux: %s): it needs "
		    "CONFIG_DEBUG_INFO_BTF=y", strerror(errno));
		return -1;
	}
	return 0;
}

static int variant_of(const char *prog_name)
{
	for (int v = 0; v < WGKS_VARIANT_MAX; v++) {
		if (!strcmp(prog_name, variant_progs[v]))
			return v;
	}
	return -1;
}

/* The maps a found program must have, with the layout this binary writes. */
struct map_spec {
	const char *name;
	size_t fd_offset; /* of its fd in struct ks_state */
	uint32_t key_size;
	uint32_t value_size;
};

#define MAP(n, field, k, v) { n, offsetof(struct ks_state, field), k, v }
static const struct map_spec our_maps[] = {
	MAP("wgks_policy", policy_fd, 8, sizeof(struct wgks_policy)),
	MAP("wgks_stats", stats_fd, 4, sizeof(struct wgks_counters)),
	MAP("wgks_unmanaged", unmanaged_fd, 4, sizeof(struct wgks_counters)),
	MAP("wgks_endpoints", endpoints_fd, sizeof(struct wgks_endpoint_key),
	    sizeof(struct wgks_owners)),
	MAP("wgks_allow4", allow4_fd, sizeof(struct wgks_allow4_key), sizeof(struct wgks_owners)),
	MAP("wgks_allow6", allow6_fd, sizeof(struct wgks_allow6_key), sizeof(struct wgks_owners)),
	MAP("wgks_events", events_fd, 0, 0),
	MAP("wgks_watch", watch_fd, 4, sizeof(struct wgks_watch)),
	MAP("wgks_evlimit", evlimit_fd, 4, sizeof(struct wgks_evlimit)),
};
#define N_OUR_MAPS (sizeof(our_maps) / sizeof(our_maps[0]))

static int *map_fd(struct ks_state *st, const struct map_spec *m)
{
	return (int *)((char *)st + m->fd_offset);
}

/*
 * Open the maps of a found program by their names, refusing any whose
 * layout differs from ours: copying a value of another size in or out
 * would corrupt memory or the policy (another version of wgks-bpf).
 */
static int open_maps(struct ks_state *st, const struct bpf_prog_info *pinfo,
		     const uint32_t *map_ids)
{
	for (uint32_t i = 0; i < pinfo->nr_map_ids; i++) {
		struct bpf_map_info minfo = { 0 };
		uint32_t len = sizeof(minfo);
		int fd = bpf_map_get_fd_by_id(map_ids[i]);
		const struct map_spec *m = NULL;

		if (fd < 0)
			continue;
		for (size_t j = 0; j < N_OUR_MAPS && !bpf_obj_get_info_by_fd(fd, &minfo, &len); j++) {
			if (!strcmp(minfo.name, our_maps[j].name)) {
				m = &our_maps[j];
				break;
			}
		}
		if (m && (minfo.key_size != m->key_size || minfo.value_size != m->value_size)) {
			err("program %s (id %u) was loaded by another version of wgks-bpf (map %s "
			    "differs); detach it with that version, or `bpftool cgroup detach`",
			    ks_prog_name(st), st->prog_id, m->name);
			close(fd);
			return -1;
		}
		if (m && *map_fd(st, m) < 0)
			*map_fd(st, m) = fd;
		else
			close(fd);
	}
	for (size_t j = 0; j < N_OUR_MAPS; j++) {
		if (*map_fd(st, &our_maps[j]) < 0) {
			err("program %s (id %u) was loaded by another version of wgks-bpf "
			    "(it has no map %s)", ks_prog_name(st), st->prog_id, our_maps[j].name);
			return -1;
		}
	}
	return 0;
}

#define MAX_PROG_MAPS 16

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

/* Take program ID if it is ours. 1 taken, 0 not ours, -1 after err(). */
static int take_prog(struct ks_state *st, uint32_t id)
{
	struct bpf_prog_info info;
	uint32_t map_ids[MAX_PROG_MAPS];
	int fd, variant;

	fd = open_prog(id, &info, map_ids);
	if (fd < 0)
		return 0;
	variant = variant_of(info.name);
	if (variant < 0) {
		close(fd);
		return 0;
	}
	st->prog_fd = fd;
	st->prog_id = id;
	st->variant = (enum wgks_variant)variant;
	return open_maps(st, &info, map_ids) ? -1 : 1;
}

static uint32_t map_id(int fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The sock_ops program that shares our policy map, if one is attached. */
static int find_sockops(struct ks_state *st, int cgroup_fd)
{
	uint32_t ids[64], cnt = 64, flags = 0, policy_id = map_id(st->policy_fd);

	if (bpf_prog_query(cgroup_fd, BPF_CGROUP_SOCK_OPS, 0, &flags, ids, &cnt))
		return 0; /* then there is none to find */
	for (uint32_t i = 0; i < cnt && st->sockops_fd < 0; i++) {
		struct bpf_prog_info info;
		uint32_t map_ids[MAX_PROG_MAPS];
		bool shares = false;
		int fd = open_prog(ids[i], &info, map_ids);

		if (fd < 0)
			continue;
		for (uint32_t m = 0; m < info.nr_map_ids; m++)
			shares |= map_ids[m] == policy_id;
		if (shares && !strncmp(info.name, SOCKOPS_PREFIX, strlen(SOCKOPS_PREFIX))) {
			st->sockops_fd = fd;
			st->sockops_id = ids[i];
		} else {
			close(fd);
		}
	}
	return 0;
}

int ks_find(struct ks_state *st, int cgroup_fd)
{
	uint32_t ids[64], cnt = 64, flags = 0;
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

			if (take_prog(&other, ids[i]) == 1)
				st->others++;
			ks_close(&other);
			continue;
		}
		found = take_prog(st, ids[i]);
		if (found < 0)
			return -1;
	}
	if (found)
		find_sockops(st, cgroup_fd);
	return found;
}

/* Load variant V; CORE_BTF: the BTF for CO-RE relocations, NULL for the kernel's. */
static int load_variant(struct ks_state *st, enum wgks_variant v, const char *core_btf)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "killswitch",
		    .btf_custom_path = core_btf);
	struct bpf_program *egress, *sockops, *p;
	struct bpf_object *obj;
	const void *elf;
	size_t size;

	elf = in_kctx_object(v) ? killswitch_kctx_bpf__elf_bytes(&size)
				: killswitch_bpf__elf_bytes(&size);
	obj = bpf_object__open_mem(elf, size, &opts);
	if (!obj)
		return -1;
	egress = bpf_object__find_program_by_name(obj, variant_progs[v]);
	sockops = bpf_object__find_program_by_name(obj, sockops_progs[v]);
	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, p == egress || p == sockops);
	if (!egress || !sockops || bpf_object__load(obj)) {
		bpf_object__close(obj);
		return -1;
	}
	st->obj = obj;
	st->variant = v;
	st->core_btf_min = core_btf != NULL;
	st->prog_fd = bpf_program__fd(egress);
	st->sockops_fd = bpf_program__fd(sockops);
	for (size_t j = 0; j < N_OUR_MAPS; j++)
		*map_fd(st, &our_maps[j]) =
			bpf_map__fd(bpf_object__find_map_by_name(obj, our_maps[j].name));
	return 0;
}

/* $WGKS_VARIANT=cookie|kctx|probe forces one (tests run each on one kernel). */
static int forced_variant(void)
{
	const char *f = getenv("WGKS_VARIANT");

	if (!f || !*f)
		return -1;
	for (int v = 0; v < WGKS_VARIANT_MAX; v++) {
		if (!strcmp(f, variant_names[v]))
			return v;
	}
	return -2;
}

int ks_load(struct ks_state *st)
{
	int forced = forced_variant();
	char core[PATH_MAX_CORE];
	bool have_core;

	if (forced == -2) {
		err("WGKS_VARIANT=%s: not one of cookie, kctx, probe", getenv("WGKS_VARIANT"));
		return -1;
	}
	/* kctx alone needs the kernel's whole BTF anyway (its kfunc). */
	have_core = forced != WGKS_VARIANT_KCTX &&
		    corebtf_path(COREBTF_DIR, false, core, sizeof(core)) == 0;
	/*
	 * Pass 0 relocates with the minimal BTF; should nothing load, pass 1
	 * tries its variants again with the kernel's BTF, and if one loads so,
	 * the minimal BTF was wrong: it is built anew.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (int v = 0; v < WGKS_VARIANT_MAX; v++) {
			bool min = have_core && !in_kctx_object((enum wgks_variant)v);

			if ((forced >= 0 && v != forced) || (pass == 1 && !min))
				continue;
			if (load_variant(st, (enum wgks_variant)v, min && pass == 0 ? core : NULL) == 0) {
				debug("kernel accepted the %s variant (%s BTF)", variant_names[v],
				      st->core_btf_min ? "minimal" : "the kernel's");
				if (pass == 1)
					corebtf_path(COREBTF_DIR, true, core, sizeof(core));
				return 0;
			}
			debug("kernel refused the %s variant", variant_names[v]);
		}
	}
	err("this kernel refused every variant of the program (run with --verbose to "
	    "see why): it needs cgroup BPF, BTF and CO-RE support (Linux %d.%d+)",
	    MIN_KERNEL_MAJOR, MIN_KERNEL_MINOR);
	return -1;
}

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static int attach_one(int prog_fd, int cgroup_fd, enum bpf_attach_type type,
		      const char *hook)
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
	if (attach_one(st->prog_fd, cgroup_fd, BPF_CGROUP_INET_EGRESS, "egress")) {
		bpf_prog_detach2(st->sockops_fd, cgroup_fd, BPF_CGROUP_SOCK_OPS);
		return -1;
	}
	st->prog_id = prog_id(st->prog_fd);
	st->sockops_id = prog_id(st->sockops_fd);
	return 0;
}

int ks_detach(struct ks_state *st, int cgroup_fd)
{
	/*
	 * sock_ops first: it is found through the egress program, so if this
	 * fails the next detach can still find and remove both.
	 */
	if (st->sockops_fd >= 0 &&
	    bpf_prog_detach2(st->sockops_fd, cgroup_fd, BPF_CGROUP_SOCK_OPS)) {
		err("cannot detach program %u: %s", st->sockops_id, strerror(errno));
		return -1;
	}
	if (bpf_prog_detach2(st->prog_fd, cgroup_fd, BPF_CGROUP_INET_EGRESS)) {
		err("cannot detach program %u: %s", st->prog_id, strerror(errno));
		return -1;
	}
	return 0;
}

void ks_close(struct ks_state *st)
{
	if (st->obj) {
		/* The object owns the fds. */
		bpf_object__close(st->obj);
	} else {
		if (st->prog_fd >= 0)
			close(st->prog_fd);
		if (st->sockops_fd >= 0)
			close(st->sockops_fd);
		for (size_t j = 0; j < N_OUR_MAPS; j++) {
			if (*map_fd(st, &our_maps[j]) >= 0)
				close(*map_fd(st, &our_maps[j]));
		}
	}
	*st = (struct ks_state)KS_STATE_INIT;
}

int ks_read_counters(int map_fd, const void *key, struct wgks_counters *sum)
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
	if (bpf_map_lookup_elem(map_fd, key, percpu) == 0) {
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

/* A namespace's counters and event rate limit, zeroed on every CPU. */
static int zero_counters(struct ks_state *st, uint32_t index)
{
	if (zero_percpu(st->stats_fd, index, sizeof(struct wgks_counters)))
		return -1;
	return zero_percpu(st->evlimit_fd, index, sizeof(struct wgks_evlimit));
}

int ks_counters_index(struct ks_state *st, uint64_t netns, uint32_t *index)
{
	static bool used[WGKS_MAX_NETNS];
	struct wgks_policy p;
	uint64_t key, next;
	void *prev = NULL;

	if (ks_read_policy(st, netns, &p) == 0) {
		*index = p.counters;
		return 0;
	}
	/* A new namespace: the first index no policy names. */
	memset(used, 0, sizeof(used));
	while (bpf_map_get_next_key(st->policy_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (ks_read_policy(st, key, &p) == 0 &&
		    p.counters < WGKS_MAX_NETNS)
			used[p.counters] = true;
	}
	for (uint32_t i = 0; i < WGKS_MAX_NETNS; i++) {
		if (used[i])
			continue;
		if (zero_counters(st, i))
			return -1;
		*index = i;
		return 1;
	}
	err("no room for another namespace: %d have a policy", WGKS_MAX_NETNS);
	return -1;
}

int ks_write_policy(const struct ks_state *st, uint64_t netns, const struct wgks_policy *p)
{
	/* In place under the value's lock if there is one; else a new element. */
	return bpf_map_update_elem(st->policy_fd, &netns, p, BPF_F_LOCK);
}

int ks_read_policy(const struct ks_state *st, uint64_t netns, struct wgks_policy *p)
{
	return bpf_map_lookup_elem_flags(st->policy_fd, &netns, p, BPF_F_LOCK);
}
