// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach IFACE: protect a tunnel in this network namespace. Everything is
 * asked first (the device, WireGuard, its sockets), before the lock; then
 * the namespace's policy is staged and committed (nspolicy.c): a second
 * attach changes it in place and there is no moment without protection.
 */
#include <string.h>
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
#include "wgsock.h"

struct tunnel_setup {
	uint32_t ifindex;
	uint32_t fwmark;
	uint32_t flags;                            /* WGKS_T_* */
	uint16_t listen_port;
	uint64_t sockets[WGKS_TUNNEL_SOCKETS];
	int nsockets;
	struct wg_info wg;                         /* fwmark off: its endpoints pass instead */
};

/*
 * What WireGuard says, if it is WireGuard: its fwmark (unless --fwmark
 * says), listen port, endpoints and sockets. A tun device with --fwmark
 * that wg does not know is another kind of tunnel (OpenVPN): its socket's
 * mark alone then passes row 3.
 */
static int ask_wireguard(const struct attach_opts *o, const struct link_info *li,
			 struct tunnel_setup *t)
{
	bool wireguard_kind = !strcmp(li->kind, "wireguard");
	int is_wg = wg_query(o->ifname, o->fwmark_given && !wireguard_kind, &t->wg);

	if (is_wg < 0)
		return -1;
	if (!is_wg) {
		if (!o->fwmark_given) {
			err("%s: not a WireGuard interface (`wg show %s dump` failed); use "
			    "--fwmark N to protect another kind of tunnel", o->ifname, o->ifname);
			return -1;
		}
		if (!o->fwmark) {
			err("%s: not a WireGuard interface: with fwmark off only WireGuard peers' "
			    "endpoints can pass, and it has none", o->ifname);
			return -1;
		}
		t->fwmark = o->fwmark;
		t->flags = WGKS_T_TRUST_MARK;
		return 0;
	}
	t->fwmark = o->fwmark_given ? o->fwmark : t->wg.fwmark;
	t->listen_port = t->wg.listen_port;
	/*
	 * A userspace implementation's sockets (wireguard-go, boringtun). The
	 * kernel's WireGuard needs none: its packets never reach the socket
	 * hook, and the backstop knows them by fwmark or listen port.
	 */
	if (!wireguard_kind) {
		t->nsockets = wgsock_find(t->listen_port, t->sockets);
		if (t->nsockets < 0)
			return -1;
	}
	if (!t->fwmark && t->wg.nendpoints == 0) {
		err("%s: fwmark is off and no peer has an endpoint: its own packets could "
		    "not leave; set an Endpoint or a FwMark", o->ifname);
		return -1;
	}
	return 0;
}

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
	return ask_wireguard(o, &li, t);
}

/* An allowed prefix, owned by SLOT. */
static int stage_prefix(struct ns_change *ch, uint64_t netns, const struct prefix *pfx, int slot)
{
	unsigned char key[sizeof(struct wgks_allow6_key)];

	allow_key(netns, pfx, key);
	return ns_stage_owned(ch, pfx->family == 4 ? OWNED_ALLOW4 : OWNED_ALLOW6, key, slot);
}

/* The entries this tunnel owns: peer endpoints (fwmark off) and allowed prefixes. */
static int stage_allowances(struct ns_change *ch, uint64_t netns, int slot,
			    const struct attach_opts *o, const struct tunnel_setup *t)
{
	struct prefix lan;

	for (int i = 0; !t->fwmark && i < t->wg.nendpoints; i++) {
		struct wgks_endpoint_key k;

		endpoint_key(netns, &t->wg.endpoints[i], &k);
		if (ns_stage_owned(ch, OWNED_ENDPOINTS, &k, slot))
			return -1;
	}
	for (int i = 0; i < o->nallow; i++) {
		if (stage_prefix(ch, netns, &o->allow[i], slot))
			return -1;
	}
	for (int i = 0; o->allow_lan && lan_prefixes[i]; i++) {
		parse_prefix(lan_prefixes[i], &lan);
		if (stage_prefix(ch, netns, &lan, slot))
			return -1;
	}
	return 0;
}

static void report(const struct attach_opts *o, const struct tunnel_setup *t)
{
	uint64_t userns;

	if (t->flags & WGKS_T_TRUST_MARK)
		info("%s protected (ifindex %u, fwmark 0x%x: a tunnel that is not WireGuard; "
		     "any socket with that mark passes)", o->ifname, t->ifindex, t->fwmark);
	else if (t->fwmark)
		info("%s protected (ifindex %u, fwmark 0x%x)", o->ifname, t->ifindex, t->fwmark);
	else
		info("%s protected (ifindex %u, fwmark off: WireGuard's UDP to %d peer "
		     "endpoint%s passes)", o->ifname, t->ifindex, t->wg.nendpoints,
		     t->wg.nendpoints == 1 ? "" : "s");
	if (netns_owner(&userns) == 0)
		info("warning: this network namespace belongs to user namespace %llu, not the "
		     "initial one: %s", (unsigned long long)userns, NOT_INITIAL_USERNS);
}

int attach_main(int argc, char **argv)
{
	struct tunnel_setup t = { 0 };
	struct ks_ctx c = KS_CTX_INIT;
	struct ns_change ch = { 0 };
	struct attach_opts o;
	struct wgks_tunnel *slot_tunnel;
	int slot, ret = 1;

	if (parse_attach_args(argc, argv, &o))
		return 2;
	/* Ask wg before taking the lock: a hung wg must not block every PostUp. */
	if (ctx_check() || inspect_tunnel(&o, &t) || ctx_open(&c, o.cgroup, CTX_CHANGE) ||
	    ctx_ours(&c))
		goto out;
	if (!c.found && ks_load(&c.st))
		goto out;
	if (ns_begin(&c, &ch))
		goto out;
	slot = policy_set_tunnel(&ch.next, o.ifname, t.ifindex, t.fwmark);
	if (slot < 0) {
		err("%s: this namespace already protects %d tunnels, the most it can", o.ifname,
		    WGKS_MAX_TUNNELS);
		goto out;
	}
	slot_tunnel = &ch.next.rules.tunnels[slot];
	slot_tunnel->flags = t.flags;
	slot_tunnel->listen_port = t.listen_port;
	memcpy(slot_tunnel->sockets, t.sockets, sizeof(t.sockets));
	ns_stage_tunnel(&ch, slot, t.ifindex);
	if (stage_allowances(&ch, c.netns, slot, &o, &t) || ns_commit(&c, &ch))
		goto out;
	report(&o, &t);
	ret = 0;
out:
	ns_end(&ch);
	ctx_close(&c);
	return ret;
}
