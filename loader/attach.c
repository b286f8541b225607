// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach IFACE: protect a tunnel in this network namespace. The namespace's
 * whole policy is one map value, replaced in one update: a second attach
 * changes it in place and there is no moment without protection. What the
 * tunnel lets through besides itself (its peers' endpoints when its fwmark
 * is off, allowed prefixes) goes in first.
 */
#include "context.h"
#include "keys.h"
#include "link.h"
#include "log.h"
#include "netns.h"
#include "nspolicy.h"
#include "opts.h"
#include "policy.h"
#include "subcommands.h"
#include "wg.h"

/* Peers one tunnel with fwmark off can have. */
#define MAX_PEERS 64

struct tunnel_setup {
	uint32_t ifindex;
	uint32_t fwmark;
	struct endpoint peers[MAX_PEERS]; /* fwmark off: what passes instead */
	int npeers;
};

/* Everything about the interface, asked before anything changes. */
static int inspect_tunnel(const struct attach_opts *o, struct tunnel_setup *t)
{
	struct link_info li;
	char what[64];
	int found = link_get(o->ifname, &li);

	if (found < 0)
		return -1;
	if (!found) {
		err("%s: no such interface in this network namespace", o->ifname);
		return -1;
	}
	/* Everything a protected device carries passes: it must be a tunnel. */
	if (!link_is_tunnel(&li)) {
		err("%s: not a tunnel (%s): wgks-bpf protects WireGuard and tun (layer 3) "
		    "devices, and would pass everything this one sends", o->ifname,
		    link_describe(&li, what, sizeof(what)));
		return -1;
	}
	t->ifindex = li.ifindex;
	if (o->fwmark_given)
		t->fwmark = o->fwmark;
	else if (wg_fwmark(o->ifname, &t->fwmark))
		return -1;
	if (t->fwmark)
		return 0;
	/* No mark on its own packets: let UDP to its peers through instead (row 6). */
	t->npeers = wg_endpoints(o->ifname, t->peers, MAX_PEERS);
	if (t->npeers < 0)
		return -1;
	if (t->npeers == 0) {
		err("%s: fwmark is off and no peer has an endpoint: its own packets could "
		    "not leave; set an Endpoint or a FwMark", o->ifname);
		return -1;
	}
	return 0;
}

/* An allowed prefix, owned by SLOT. */
static int add_prefix(struct owned_map m[OWNED_MAX], uint64_t netns, const struct prefix *pfx,
		      int slot)
{
	unsigned char key[sizeof(struct wgks_allow6_key)];

	allow_key(netns, pfx, key);
	return owned_add(&m[pfx->family == 4 ? OWNED_ALLOW4 : OWNED_ALLOW6], key, slot);
}

/* The entries this tunnel owns: peer endpoints and allowed prefixes. */
static int add_allowances(const struct ks_ctx *c, int slot, const struct attach_opts *o,
			  const struct tunnel_setup *t)
{
	struct owned_map m[OWNED_MAX];
	struct prefix lan;

	owned_maps(&c->st, m);
	for (int i = 0; i < t->npeers; i++) {
		struct wgks_endpoint_key k;

		endpoint_key(c->netns, &t->peers[i], &k);
		if (owned_add(&m[OWNED_ENDPOINTS], &k, slot))
			return -1;
	}
	for (int i = 0; i < o->nallow; i++) {
		if (add_prefix(m, c->netns, &o->allow[i], slot))
			return -1;
	}
	for (int i = 0; o->allow_lan && lan_prefixes[i]; i++) {
		parse_prefix(lan_prefixes[i], &lan);
		if (add_prefix(m, c->netns, &lan, slot))
			return -1;
	}
	return 0;
}

int attach_main(int argc, char **argv)
{
	static struct tunnel_setup t;
	struct ks_ctx c = KS_CTX_INIT;
	struct attach_opts o;
	struct wgks_policy p;
	uint64_t userns;
	int slot, ret = 1;

	if (parse_attach_args(argc, argv, &o))
		return 2;
	/* Ask wg before taking the lock: a hung wg must not block every PostUp. */
	if (ctx_check() || inspect_tunnel(&o, &t) || ctx_open(&c, o.cgroup, true))
		goto out;
	if (!c.found && ks_load(&c.st))
		goto out;
	if (ns_read(&c, &p) < 0)
		goto out;
	slot = policy_set_tunnel(&p, o.ifname, t.ifindex, t.fwmark);
	if (slot < 0) {
		err("%s: this namespace already protects %d tunnels, the most it can", o.ifname,
		    WGKS_MAX_TUNNELS);
		goto out;
	}
	if (ns_prune(&c, &p, slot) || add_allowances(&c, slot, &o, &t) || ns_commit(&c, &p))
		goto out;
	if (t.fwmark)
		info("%s protected (ifindex %u, fwmark 0x%x)", o.ifname, t.ifindex, t.fwmark);
	else
		info("%s protected (ifindex %u, fwmark off: UDP to %d peer endpoint%s passes)",
		     o.ifname, t.ifindex, t.npeers, t.npeers == 1 ? "" : "s");
	if (netns_owner(&userns) == 0)
		info("warning: this network namespace belongs to user namespace %llu, not the "
		     "initial one: %s", (unsigned long long)userns, NOT_INITIAL_USERNS);
	ret = 0;
out:
	ctx_close(&c);
	return ret;
}
