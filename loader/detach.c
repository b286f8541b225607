// SPDX-License-Identifier: GPL-2.0-only
/*
 * detach [IFACE]: stop protecting one tunnel (or all) of this namespace.
 * Works by name, so it also cleans up after a crash that took the
 * interface away. Lockdown stays. When no namespace has a policy left, the
 * programs are detached and the maps go with them. detach --all removes
 * every namespace's policy and every backstop filter it can reach, and
 * every wgks program on the cgroup's hooks, whatever version attached it.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <bpf/bpf.h>
#include "backstop.h"
#include "context.h"
#include "log.h"
#include "nsenum.h"
#include "nspolicy.h"
#include "oldmaps.h"
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

/* For uncover_there(): the command, and whether a namespace failed. */
struct uncover {
	struct ks_ctx *c;
	bool failed;
};

/* In another namespace: the backstop off its devices. A failure here does not stop the others. */
static int uncover_there(uint64_t netns, void *arg)
{
	struct uncover *u = arg;

	(void)netns;
	/* Its devices were covered with the index the policy had; all of ours go. */
	u->failed |= backstop_uncover(u->c, ~0u) != 0;
	return 0;
}

/* Delete every entry of map FD (hash, trie, devmap). 0, or -1 after err(). */
static int empty_map(int fd)
{
	unsigned char key[64];

	if (fd < 0)
		return 0;
	while (bpf_map_get_next_key(fd, NULL, key) == 0) {
		if (bpf_map_delete_elem(fd, key)) {
			err("cannot empty a map: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * The maps that say what passes, emptied: a backstop filter in a namespace
 * no one can reach then passes everything, as if it had no policy. Another
 * version's are found by the same names.
 */
static int empty_policy_maps(struct ks_ctx *c)
{
	static const enum ks_map_index which[] = { KS_MAP_policy, KS_MAP_endpoints, KS_MAP_allow4,
						    KS_MAP_allow6, KS_MAP_devices, KS_MAP_internal };

	if (!c->found)
		return 0;
	for (unsigned i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		int fd = c->st.old ? c->st.old->fd[which[i]] : *ks_map_fd(&c->st.maps, which[i]);

		if (empty_map(fd))
			return -1;
	}
	return 0;
}

/*
 * Everything, whatever version attached it: every wgks program off the
 * cgroup's hooks, the maps of policy emptied, every backstop filter that
 * can be reached taken off. How many programs were attached, or -1.
 */
static int detach_everywhere(struct ks_ctx *c)
{
	struct uncover u = { .c = c };
	int n;

	/* The programs first: from then on nothing drops at the socket hook. */
	n = ks_detach_every(c->cgroup_fd);
	if (n < 0 || empty_policy_maps(c))
		return -1;
	c->found = false;
	/* With no policy left, a filter still held somewhere passes everything. */
	if (n || ks_backstop_exists()) {
		u.failed = backstop_uncover(c, ~0u) != 0;
		if (nsenum_each(uncover_there, &u) < 0 || u.failed)
			return -1;
	}
	return n;
}

int detach_main(int argc, char **argv)
{
	struct detach_opts o;
	struct ks_ctx c = KS_CTX_INIT;
	int ret = 1, n;

	if (parse_detach_args(argc, argv, &o))
		return 2;
	if (ctx_check() || ctx_open(&c, o.cgroup, o.all ? CTX_REMOVE_ALL : CTX_CHANGE))
		goto out;
	if (o.all) {
		n = detach_everywhere(&c);
		if (n < 0)
			goto out;
		if (n == 0)
			info("not attached; nothing to do");
		ret = 0;
		goto out;
	}
	if (!c.found) {
		/*
		 * A backstop filter here that outlived the egress program (detached
		 * by hand) would still block: nothing of ours stays to do that.
		 */
		if (backstop_uncover(&c, ~0u))
			goto out;
		info("not attached; nothing to do");
		ret = 0;
		goto out;
	}
	if (ctx_ours(&c) || detach_here(&c, o.ifname))
		goto out;
	ret = 0;
out:
	ctx_close(&c);
	return ret;
}
