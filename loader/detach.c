// SPDX-License-Identifier: GPL-2.0-only
/*
 * detach [IFACE]: stop protecting one tunnel (or all) of this namespace.
 * Works by name, so it also cleans up after a crash that took the
 * interface away. Lockdown stays. When no namespace has a policy left, the
 * programs are detached and the maps go with them. detach --all removes
 * every namespace's policy and every backstop filter it can reach.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "backstop.h"
#include "context.h"
#include "log.h"
#include "nsenum.h"
#include "nspolicy.h"
#include "opts.h"
#include "policy.h"
#include "subcommands.h"

/* Remove IFNAME (NULL: all tunnels) from this namespace's policy. */
static int detach_here(struct ks_ctx *c, const char *ifname)
{
	struct ns_change ch;
	int ret = -1;

	if (ns_begin(c, &ch))
		goto out;
	if (!ch.existed) {
		info("no tunnel is protected in this network namespace; nothing to do");
		ret = 0;
		goto out;
	}
	if (ifname && policy_remove_tunnel(&ch.next, ifname) < 0) {
		info("%s: not protected in this network namespace; nothing to do", ifname);
		ret = 0;
		goto out;
	}
	if (!ifname)
		policy_remove_all_tunnels(&ch.next);
	ns_stage_release_unused(&ch);
	if ((ch.next.rules.flags & WGKS_F_LOCKDOWN) && policy_count_tunnels(&ch.next) == 0)
		info("lockdown stays on: this namespace stays blocked (wgks-bpf lockdown off "
		     "ends it)");
	ret = ns_commit(c, &ch);
out:
	ns_end(&ch);
	return ret;
}

/* In another namespace: the backstop off its devices. */
static int uncover_there(uint64_t netns, void *arg)
{
	(void)netns;
	/* Its devices were covered with the index the policy had; all of ours go. */
	return backstop_uncover(arg, ~0u) ? 1 : 0;
}

/* Empty every map of policy, and take every filter off that can be reached. */
static int detach_everywhere(struct ks_ctx *c)
{
	int fds[] = { c->st.maps.policy, c->st.maps.endpoints, c->st.maps.allow4,
		      c->st.maps.allow6, c->st.maps.devices, c->st.maps.internal };
	unsigned char key[sizeof(struct wgks_allow6_key)];

	/* The programs first: from then on nothing drops at the socket hook. */
	if (ks_detach(&c->st, c->cgroup_fd))
		return -1;
	c->found = false;
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		while (bpf_map_get_next_key(fds[i], NULL, key) == 0) {
			if (bpf_map_delete_elem(fds[i], key)) {
				err("cannot empty a map: %s", strerror(errno));
				return -1;
			}
		}
	}
	/* With no policy left, a filter still held somewhere passes everything. */
	if (backstop_uncover(c, ~0u) || nsenum_each(uncover_there, c) < 0)
		return -1;
	return 0;
}

int detach_main(int argc, char **argv)
{
	struct detach_opts o;
	struct ks_ctx c = KS_CTX_INIT;
	int ret = 1;

	if (parse_detach_args(argc, argv, &o))
		return 2;
	if (ctx_check() || ctx_open(&c, o.cgroup, true))
		goto out;
	if (!c.found) {
		info("not attached; nothing to do");
		ret = 0;
		goto out;
	}
	if (o.all ? detach_everywhere(&c) : detach_here(&c, o.ifname))
		goto out;
	ret = 0;
out:
	ctx_close(&c);
	return ret;
}
