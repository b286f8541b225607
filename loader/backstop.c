// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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

static bool wants_backstop(const struct link_info *li, const struct wgks_rules *r)
{
	return li->type != ARPHRD_LOOPBACK && !li->master && !is_tunnel(r, li->ifindex);
}

/* The program id of our filter on IFINDEX; 0 if it has none. */
static uint32_t our_filter(uint32_t ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WGKS_TC_HANDLE, .priority = WGKS_TC_PRIO);

	return bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}

static int add_filter(const struct link_info *li, int prog_fd, uint32_t prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)li->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WGKS_TC_HANDLE, .priority = WGKS_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int e;

	if (prog_id && our_filter(li->ifindex) == prog_id)
		return 0;
	e = bpf_tc_hook_create(&hook);
	if (e && e != -EEXIST)
		goto fail;
	/* Replaced in place if it is there: no moment without it. */
	e = bpf_tc_attach(&hook, &opts);
	if (e == 0)
		return 0;
fail:
	if (e == -ENODEV)
		return 0; /* gone meanwhile */
	err("cannot put the backstop on %s: %s%s", li->name, strerror(-e),
	    e == -ENOENT ? " (are the kernel's sch_ingress and cls_bpf modules there?)" : "");
	return -1;
}

static int remove_filter(const struct link_info *li)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)li->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WGKS_TC_HANDLE, .priority = WGKS_TC_PRIO);
	int e;

	if (!our_filter(li->ifindex))
		return 0;
	e = bpf_tc_detach(&hook, &opts);
	if (e && e != -ENOENT && e != -ENODEV) {
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
	int n, covered = 0;

	if (ks_backstop(&c->st))
		return -1;
	links = all_links(&n);
	if (!links)
		return -1;
	if (routes_ways_out(&ways)) {
		free(links);
		return -1;
	}
	note_bridges(&c->st.maps, r->counters, links, n, &ways, false);
	for (int i = 0; i < n && covered >= 0; i++) {
		if (!wants_backstop(&links[i], r))
			covered = remove_filter(&links[i]) ? -1 : covered;
		else
			covered = add_filter(&links[i], c->st.backstop_fd, c->st.backstop_id) ? -1
												 : covered + 1;
	}
	free(links);
	return covered;
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

int backstop_devices(char names[][WGKS_IFNAMSIZ], int max)
{
	struct link_info *links;
	int n, found = 0;

	links = all_links(&n);
	if (!links)
		return 0;
	for (int i = 0; i < n && found < max; i++) {
		if (our_filter(links[i].ifindex))
			memcpy(names[found++], links[i].name, WGKS_IFNAMSIZ);
	}
	free(links);
	return found;
}
