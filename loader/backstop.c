// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_arp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "backstop.h"
#include "link.h"
#include "log.h"
#include "routes.h"

/* Devices one namespace can have, for one listing. */
#define WGKS_MAX_LINKS 512

static bool is_tunnel(const struct wgks_rules *r, uint32_t ifindex)
{
	for (uint32_t i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (r->tunnels[i].name[0] && r->tunnels[i].ifindex == ifindex)
			return true;
	}
	return false;
}

/* A port that leads only to another namespace or a guest on this host. */
static bool is_virtual(const struct link_info *li)
{
	return !strcmp(li->kind, "veth") || !strcmp(li->kind, "tun");
}

/*
 * A bridge of containers and VMs, nothing leaves by it: its ports are all
 * virtual, and no route leads through it to a gateway or by default (as
 * one would to an uplink that is a veth, in a namespace of its own).
 */
static bool is_internal_bridge(const struct link_info *br, const struct link_info *links, int n,
			       const struct ways_out *ways)
{
	if (strcmp(br->kind, "bridge") || routes_lead_out(ways, br->ifindex))
		return false;
	for (int i = 0; i < n; i++) {
		if (links[i].master == br->ifindex && !is_virtual(&links[i]))
			return false;
	}
	return true;
}

/* A device that sends what it is given out through another one: its lower device. */
static bool is_stacked(const struct link_info *li)
{
	static const char *const kinds[] = { "vlan", "macvlan", "macvtap", "ipvlan", "ipvtap" };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(li->kind, kinds[i]))
			return li->lower && li->lower != li->ifindex;
	}
	return false;
}

static bool carries_backstop(const struct link_info *li, const struct link_info *links, int n,
			     const struct wgks_rules *r, int depth);

/*
 * Whether LI is a vlan, macvlan or ipvlan whose packets go on out through a
 * lower device of this namespace that carries the backstop itself. Then
 * only the lower one does: a backstop on both would find at the lower one
 * a packet whose judged bit the upper one cleared, and take it for one
 * nothing judged (root's WireGuard handshake initiation, which only the
 * cgroup program passes, would be dropped there). A lower device in another
 * namespace, enslaved, or not carrying it for another reason: the upper
 * one keeps its own.
 */
static bool judged_below(const struct link_info *li, const struct link_info *links, int n,
			 const struct wgks_rules *r, int depth)
{
	if (!is_stacked(li) || li->lower_elsewhere || depth > 8)
		return false;
	for (int i = 0; i < n; i++) {
		if (links[i].ifindex == li->lower)
			return carries_backstop(&links[i], links, n, r, depth + 1);
	}
	return false;
}

static bool carries_backstop(const struct link_info *li, const struct link_info *links, int n,
			     const struct wgks_rules *r, int depth)
{
	return li->type != ARPHRD_LOOPBACK && !li->master && !is_tunnel(r, li->ifindex) &&
	       !judged_below(li, links, n, r, depth);
}

static bool wants_backstop(const struct link_info *li, const struct link_info *links, int n,
			   const struct wgks_rules *r)
{
	return carries_backstop(li, links, n, r, 0);
}

/*
 * tcx (Linux 6.6) in this build's UAPI terms: Debian's headers (6.1) have
 * neither the attach type nor the flag. The kernel's own numbers.
 */
#define WGKS_TCX_EGRESS ((enum bpf_attach_type)47)
#ifndef BPF_F_BEFORE
#define BPF_F_BEFORE (1U << 3)
#endif
/* Programs on one device's tcx egress chain, read at most. */
#define MAX_TCX_PROGS 64
#define LOOPBACK_IFINDEX 1

/*
 * Whether this kernel has tcx: asked once, changing nothing. A kernel
 * without it does not know the attach type (EINVAL); one with it answers
 * for loopback, which every namespace has (ENOENT: no program there). Any
 * other answer (EPERM, ENOMEM) says nothing either way: not kept, and the
 * command fails rather than guess a hook and miss a backstop on the other.
 * 1, 0, or -1 after err().
 */
static int kernel_has_tcx(void)
{
	static int has = -1;
	uint32_t flags = 0, cnt = 0;

	if (has >= 0)
		return has;
	if (bpf_prog_query(LOOPBACK_IFINDEX, WGKS_TCX_EGRESS, 0, &flags, NULL, &cnt) == 0 ||
	    errno == ENOENT)
		has = 1;
	else if (errno == EINVAL)
		has = 0;
	else
		err("cannot tell whether this kernel has tcx: %s", strerror(errno));
	return has;
}

int backstop_hook(void)
{
	const char *forced = getenv("WGKS_BACKSTOP_HOOK");

	if (!forced || !*forced) {
		int tcx = kernel_has_tcx();

		return tcx < 0 ? -1 : tcx ? BACKSTOP_TCX : BACKSTOP_CLSACT;
	}
	if (!strcmp(forced, "tcx"))
		return BACKSTOP_TCX;
	if (!strcmp(forced, "clsact"))
		return BACKSTOP_CLSACT;
	err("WGKS_BACKSTOP_HOOK=%s: not one of tcx, clsact", forced);
	return -1;
}

/* What of ours a device has: backstop programs of any version on tcx, a clsact filter. */
struct dev_backstop {
	uint32_t tcx[MAX_TCX_PROGS]; /* ours on the tcx egress chain, in its order */
	int ntcx;
	bool tcx_first;              /* the chain's first program is ours */
	uint32_t clsact;             /* the program of our clsact filter; 0 if none */
};

/*
 * Our filter's program on LI's clsact egress into *ID; 0 if it has none
 * (no clsact, no filter of ours, or the device went). 0, or -1 after err():
 * another error must not read as "none", or a second backstop would go on
 * beside the one there.
 */
static int clsact_filter(const struct link_info *li, uint32_t *id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)li->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WGKS_TC_HANDLE, .priority = WGKS_TC_PRIO);
	int e = bpf_tc_query(&hook, &opts);

	*id = e ? 0 : opts.prog_id;
	if (!e || e == -ENOENT || e == -EINVAL || e == -ENODEV)
		return 0;
	err("cannot read the tc filters of %s: %s", li->name, strerror(-e));
	return -1;
}

/* What of ours LI has (tcx asked only where the kernel has it). 0, or -1 after err(). */
static int dev_read(const struct link_info *li, struct dev_backstop *d)
{
	uint32_t ids[MAX_TCX_PROGS], cnt = MAX_TCX_PROGS, flags = 0;
	int tcx;

	memset(d, 0, sizeof(*d));
	if (clsact_filter(li, &d->clsact))
		return -1;
	tcx = kernel_has_tcx();
	if (tcx <= 0)
		return tcx;
	if (bpf_prog_query((int)li->ifindex, WGKS_TCX_EGRESS, 0, &flags, ids, &cnt) &&
	    errno != ENOSPC) { /* ENOSPC: more than we read; the first ones are there */
		if (errno == ENOENT || errno == ENODEV)
			return 0; /* nothing on its tcx chain, or the device is gone */
		err("cannot list the tcx programs of %s: %s", li->name, strerror(errno));
		return -1;
	}
	for (uint32_t i = 0; i < cnt && i < MAX_TCX_PROGS; i++) {
		if (!ks_is_backstop(ids[i]))
			continue;
		d->tcx_first |= i == 0;
		d->tcx[d->ntcx++] = ids[i];
	}
	return 0;
}

/*
 * Program PROG_FD on LI's tcx egress chain, held by the device (no link:
 * like the cgroup attachment, no process or pin keeps it): in the place of
 * program OLD_FD, atomically (BPF_F_REPLACE), or, with OLD_FD -1, first of
 * the chain (BPF_F_BEFORE, no relative program), so that no one else's
 * program can pass a packet before it is judged. 0, or -errno.
 */
static int tcx_put(const struct link_info *li, int prog_fd, int old_fd)
{
	LIBBPF_OPTS(bpf_prog_attach_opts, opts, .flags = BPF_F_BEFORE);

	if (old_fd >= 0) {
		opts.flags = BPF_F_REPLACE;
		opts.replace_prog_fd = old_fd;
	}
	return bpf_prog_attach_opts(prog_fd, (int)li->ifindex, WGKS_TCX_EGRESS, &opts) ? -errno : 0;
}

/* Program FD off LI's tcx chain. 0, or -errno. */
static int tcx_take_off_fd(const struct link_info *li, int fd)
{
	if (bpf_prog_detach2(fd, (int)li->ifindex, WGKS_TCX_EGRESS))
		return errno == ENOENT || errno == ENODEV ? 0 : -errno;
	return 0;
}

/* Program ID (one of ours) off LI's tcx chain. 0, or -errno. */
static int tcx_take_off(const struct link_info *li, uint32_t id)
{
	int fd = bpf_prog_get_fd_by_id(id), e;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* freed: then no device holds it */
	e = tcx_take_off_fd(li, fd);
	close(fd);
	return e;
}

/* Our tcx programs of D off LI, from the FROM-th on. 0, or -errno. */
static int tcx_take_off_ours(const struct link_info *li, const struct dev_backstop *d, int from)
{
	int e = 0;

	for (int i = from; !e && i < d->ntcx; i++)
		e = tcx_take_off(li, d->tcx[i]);
	return e;
}

/*
 * The handover program (backstop.bpf.h) first of LI's tcx chain: in the
 * place of our program that is first there, or before every other. From
 * then on it alone of ours runs there, and nothing after it for a packet
 * it passes. 0, or -errno.
 */
static int tcx_handover(struct ks_state *st, const struct link_info *li,
			const struct dev_backstop *d)
{
	int cur_fd = -1, e;

	if (ks_handover(st))
		return -EINVAL;
	if (d->tcx_first) {
		cur_fd = bpf_prog_get_fd_by_id(d->tcx[0]);
		if (cur_fd < 0)
			return -errno;
	}
	e = tcx_put(li, st->handover_fd, cur_fd);
	if (cur_fd >= 0)
		close(cur_fd);
	return e;
}

/* Our clsact filter off LI. 0, or -errno. */
static int clsact_take_off(const struct link_info *li)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)li->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WGKS_TC_HANDLE, .priority = WGKS_TC_PRIO);
	int e = bpf_tc_detach(&hook, &opts);

	return e == -ENOENT || e == -ENODEV ? 0 : e;
}

/* Our clsact filter on LI, running PROG_FD: replaced in place if it is there. 0, or -errno. */
static int clsact_put(const struct link_info *li, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)li->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WGKS_TC_HANDLE, .priority = WGKS_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int e = bpf_tc_hook_create(&hook);

	if (e && e != -EEXIST)
		return e;
	/* Replaced in place if it is there: no moment without it. */
	return bpf_tc_attach(&hook, &opts);
}

/*
 * On tcx: the backstop first of LI's chain, alone of ours, and no clsact
 * filter of ours. Every step leaves the device judged by a program of ours
 * that runs before anyone else's:
 *   - ours first already (another version's, a handover program left by a
 *     crash), or nothing of ours: every other program of ours off (the
 *     first judges without them), then the backstop in the first one's
 *     place (BPF_F_REPLACE) or first (BPF_F_BEFORE);
 *   - a clsact filter of ours (an older version's, or put on before the
 *     kernel had tcx), or ours not first: the handover program first,
 *     which ends the chain for what it passes, so that neither our filter
 *     (it would take a packet the cgroup program judged for one nothing
 *     judged: backstop.bpf.h) nor anyone else's program runs after it;
 *     then the filter and every other program of ours off, and the
 *     backstop in the handover program's place.
 * 0, or -errno (*WHAT: which step).
 */
static int cover_tcx(struct ks_state *st, const struct link_info *li, const struct dev_backstop *d,
		     const char **what)
{
	int cur_fd = -1, e;

	if (!d->clsact && (d->tcx_first || !d->ntcx)) {
		*what = "take another program of ours off";
		e = tcx_take_off_ours(li, d, 1);
		if (e || (d->ntcx && d->tcx[0] == st->backstop_id))
			return e;
		if (d->ntcx) {
			cur_fd = bpf_prog_get_fd_by_id(d->tcx[0]);
			if (cur_fd < 0)
				return errno == ENOENT ? -EAGAIN : -errno;
		}
		*what = "put the backstop on";
		e = tcx_put(li, st->backstop_fd, cur_fd);
		if (cur_fd >= 0)
			close(cur_fd);
		return e;
	}
	*what = "put the handover program first";
	e = tcx_handover(st, li, d);
	if (e)
		return e;
	*what = "take the clsact filter off";
	e = d->clsact ? clsact_take_off(li) : 0;
	if (!e) {
		*what = "take another program of ours off";
		e = tcx_take_off_ours(li, d, d->tcx_first ? 1 : 0);
	}
	if (e)
		return e; /* the handover program stays: it judges as the backstop does */
	*what = "replace the handover program with the backstop";
	return tcx_put(li, st->backstop_fd, st->handover_fd);
}

/*
 * On clsact: our filter on LI running the backstop, and nothing of ours on
 * tcx (there is some only where the hook is forced to clsact on a kernel
 * with tcx). Our tcx program would run before the filter and clear the
 * judged bit: the handover program takes its place first, the filter goes
 * on, then everything of ours on tcx goes. 0, or -errno (*WHAT: which step).
 */
static int cover_clsact(struct ks_state *st, const struct link_info *li,
			const struct dev_backstop *d, const char **what)
{
	int e = 0;

	if (d->ntcx) {
		*what = "put the handover program first";
		e = tcx_handover(st, li, d);
	}
	if (!e && (d->clsact != st->backstop_id || !st->backstop_id)) {
		*what = "put the backstop on";
		e = clsact_put(li, st->backstop_fd);
	}
	if (!e && d->ntcx) {
		*what = "take a tcx program of ours off";
		e = tcx_take_off_ours(li, d, d->tcx_first ? 1 : 0);
		if (!e)
			e = tcx_take_off_fd(li, st->handover_fd);
	}
	return e;
}

static int add_filter(struct ks_state *st, const struct link_info *li, int hook)
{
	const char *what = "put the backstop on";
	struct dev_backstop d;
	int e;

	if (dev_read(li, &d))
		return -1;
	e = hook == BACKSTOP_TCX ? cover_tcx(st, li, &d, &what) : cover_clsact(st, li, &d, &what);
	if (e == 0 || e == -ENODEV)
		return 0; /* done, or gone meanwhile */
	err("cannot %s %s (%s): %s%s", what, li->name, hook == BACKSTOP_TCX ? "tcx" : "clsact",
	    strerror(-e),
	    hook != BACKSTOP_TCX && e == -ENOENT
		    ? " (are the kernel's sch_ingress and cls_bpf modules there?)"
		    : "");
	return -1;
}

/* Everything of ours off LI: tcx programs of any version, the clsact filter. */
static int remove_filter(const struct link_info *li)
{
	struct dev_backstop d;
	int e = 0;

	if (dev_read(li, &d))
		return -1;
	/* Each one tried, whatever another said: the first error is told. */
	for (int i = 0; i <= d.ntcx; i++) {
		int r = i < d.ntcx ? tcx_take_off(li, d.tcx[i]) : d.clsact ? clsact_take_off(li) : 0;

		if (r && r != -ENODEV && !e)
			e = r;
	}
	if (e) {
		err("cannot take the backstop off %s: %s", li->name, strerror(-e));
		return -1;
	}
	return 0;
}

/*
 * wgks_internal: this namespace's (INDEX) bridges that lead nowhere off the
 * host. INDEX ~0u with FORGET_ALL: every entry of every namespace.
 */
static void note_bridges(const struct ks_maps *m, uint32_t index, const struct link_info *links,
			 int n, const struct ways_out *ways, bool forget_all)
{
	uint32_t key, next, *prev = NULL, stale[WGKS_MAX_INTERNAL];
	int nstale = 0;

	/* What is noted for this namespace and no longer a bridge of it: out. */
	while (bpf_map_get_next_key(m->internal, prev, &next) == 0) {
		bool keep = false;

		key = next;
		prev = &key;
		if (index != ~0u && key >> WGKS_INTERNAL_IFINDEX_BITS != index)
			continue;
		for (int i = 0; !forget_all && i < n; i++)
			keep |= WGKS_INTERNAL_KEY(index, links[i].ifindex) == key &&
				is_internal_bridge(&links[i], links, n, ways);
		if (!keep && nstale < WGKS_MAX_INTERNAL)
			stale[nstale++] = key;
	}
	for (int i = 0; i < nstale; i++)
		bpf_map_delete_elem(m->internal, &stale[i]);
	for (int i = 0; !forget_all && i < n; i++) {
		if (links[i].ifindex >> WGKS_INTERNAL_IFINDEX_BITS ||
		    !is_internal_bridge(&links[i], links, n, ways))
			continue;
		key = WGKS_INTERNAL_KEY(index, links[i].ifindex);
		/* A full map: that bridge's traffic is judged as any other's. */
		bpf_map_update_elem(m->internal, &key, &links[i].ifindex, BPF_ANY);
	}
}

/* This namespace's devices (malloc'd, *N of them), or NULL after err(). */
static struct link_info *all_links(int *n)
{
	struct link_info *links = calloc(WGKS_MAX_LINKS, sizeof(*links));

	if (!links) {
		err("out of memory");
		return NULL;
	}
	*n = link_list(links, WGKS_MAX_LINKS);
	if (*n < 0) {
		free(links);
		return NULL;
	}
	return links;
}

int backstop_cover(struct ks_ctx *c, const struct wgks_rules *r)
{
	struct ways_out ways;
	struct link_info *links;
	int n, covered = 0, failed = 0, hook = backstop_hook();

	if (hook < 0 || ks_backstop(&c->st))
		return -1;
	links = all_links(&n);
	if (!links)
		return -1;
	if (routes_ways_out(&ways)) {
		free(links);
		return -1;
	}
	note_bridges(&c->st.maps, r->counters, links, n, &ways, false);
	/* One device that fails (a full tcx chain) does not leave the next uncovered. */
	for (int i = 0; i < n; i++) {
		if (!wants_backstop(&links[i], links, n, r))
			failed |= remove_filter(&links[i]);
		else if (add_filter(&c->st, &links[i], hook))
			failed = 1;
		else
			covered++;
	}
	free(links);
	return failed ? -1 : covered;
}

int backstop_uncover(struct ks_ctx *c, uint32_t index)
{
	struct link_info *links;
	int n, ret = 0;

	links = all_links(&n);
	if (!links)
		return -1;
	note_bridges(&c->st.maps, index, links, n, NULL, true);
	for (int i = 0; i < n; i++)
		ret |= remove_filter(&links[i]);
	free(links);
	return ret ? -1 : 0;
}

int backstop_devices(char names[][WGKS_IFNAMSIZ], int hooks[], int max)
{
	struct link_info *links;
	struct dev_backstop d;
	int n, found = 0;

	links = all_links(&n);
	if (!links)
		return 0;
	for (int i = 0; i < n && found < max; i++) {
		if (dev_read(&links[i], &d) || (!d.ntcx && !d.clsact))
			continue;
		memcpy(names[found], links[i].name, WGKS_IFNAMSIZ);
		hooks[found++] = (d.ntcx ? BACKSTOP_TCX : 0) | (d.clsact ? BACKSTOP_CLSACT : 0) |
				 (d.ntcx && !d.tcx_first ? BACKSTOP_BEHIND : 0);
	}
	free(links);
	return found;
}
