// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach IFACE: protect a tunnel in this network namespace. The namespace's
 * whole policy is one map value, replaced in one update: a second attach
 * changes it in place and there is no moment without protection.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <bpf/bpf.h>
#include "context.h"
#include "log.h"
#include "netns.h"
#include "opts.h"
#include "policy.h"
#include "subcommands.h"
#include "wg.h"

static int resolve_fwmark(const struct attach_opts *o, uint32_t *fwmark)
{
	if (o->fwmark_given)
		*fwmark = o->fwmark;
	else if (wg_fwmark(o->ifname, fwmark))
		return -1;
	if (*fwmark == 0) {
		/* Its encrypted packets would match no rule and be dropped. */
		err("%s: fwmark is off: WireGuard's own packets could not leave; set "
		    "FwMark (wg-quick sets one when AllowedIPs has a /0) or give "
		    "--fwmark N", o->ifname);
		return -1;
	}
	return 0;
}

/* Write this namespace's policy with the tunnel added (or updated). */
static int write_policy(struct ks_ctx *c, uint64_t netns, const struct attach_opts *o,
			uint32_t ifindex, uint32_t fwmark)
{
	struct wgks_policy p = { 0 };
	int created;

	if (bpf_map_lookup_elem(c->st.policy_fd, &netns, &p) && errno != ENOENT) {
		err("cannot read the policy: %s", strerror(errno));
		return -1;
	}
	if (policy_set_tunnel(&p, o->ifname, ifindex, fwmark)) {
		err("%s: this namespace already protects %d tunnels, the most it can",
		    o->ifname, WGKS_MAX_TUNNELS);
		return -1;
	}
	/* Counters first: the program only looks them up, never creates them. */
	created = ks_stats_create(&c->st, netns);
	if (created < 0)
		return -1;
	if (bpf_map_update_elem(c->st.policy_fd, &netns, &p, BPF_ANY)) {
		err("cannot write the policy: %s", strerror(errno));
		if (created)
			bpf_map_delete_elem(c->st.stats_fd, &netns);
		return -1;
	}
	return 0;
}

int attach_main(int argc, char **argv)
{
	struct ks_ctx c;
	struct attach_opts o;
	uint32_t ifindex, fwmark;
	uint64_t netns;
	int ret = 1;

	if (parse_attach_args(argc, argv, &o))
		return 2;
	if (ctx_open(&c, o.cgroup, true))
		goto out;
	ifindex = if_nametoindex(o.ifname);
	if (!ifindex) {
		err("%s: no such interface in this network namespace", o.ifname);
		goto out;
	}
	if (resolve_fwmark(&o, &fwmark))
		goto out;
	if (!c.found && ks_load(&c.st))
		goto out;
	if (netns_current_id(&netns))
		goto out;
	if (write_policy(&c, netns, &o, ifindex, fwmark))
		goto out;
	/* Attach only once the policy is in: never a program without it. */
	if (!c.found && ks_attach(&c.st, c.cgroup_fd))
		goto out;
	info("%s protected (ifindex %u, fwmark 0x%x)", o.ifname, ifindex, fwmark);
	ret = 0;
out:
	ctx_close(&c);
	return ret;
}
