// SPDX-License-Identifier: GPL-2.0-only
/*
 * detach [IFACE]: stop protecting one tunnel (or all) of this namespace.
 * Works by name, so it also cleans up after a crash that took the
 * interface away. When no namespace has a policy left, the program is
 * detached and its maps go with it. detach --all removes every namespace's
 * policy: the way out when a namespace was deleted without detach.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "context.h"
#include "log.h"
#include "netns.h"
#include "opts.h"
#include "policy.h"
#include "subcommands.h"

/* Remove IFNAME (NULL: all) from this namespace's policy. 0, or -1 after err(). */
static int remove_from_policy(struct ks_ctx *c, uint64_t netns, const char *ifname)
{
	struct wgks_policy p;

	if (bpf_map_lookup_elem(c->st.policy_fd, &netns, &p)) {
		if (errno != ENOENT) {
			err("cannot read the policy: %s", strerror(errno));
			return -1;
		}
		info("no tunnel is protected in this network namespace; nothing to do");
		return 0;
	}
	if (ifname && !policy_remove_tunnel(&p, ifname)) {
		info("%s: not protected in this network namespace; nothing to do", ifname);
		return 0;
	}
	if (ifname && p.ntunnels > 0) {
		if (bpf_map_update_elem(c->st.policy_fd, &netns, &p, BPF_EXIST)) {
			err("cannot write the policy: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (bpf_map_delete_elem(c->st.policy_fd, &netns)) {
		err("cannot remove the policy: %s", strerror(errno));
		return -1;
	}
	bpf_map_delete_elem(c->st.stats_fd, &netns);
	return 0;
}

/* Every namespace's policy and counters. 0, or -1 after err(). */
static int remove_all(struct ks_ctx *c)
{
	uint64_t key;

	while (bpf_map_get_next_key(c->st.policy_fd, NULL, &key) == 0) {
		if (bpf_map_delete_elem(c->st.policy_fd, &key)) {
			err("cannot remove the policy of netns %llu: %s",
			    (unsigned long long)key, strerror(errno));
			return -1;
		}
	}
	while (bpf_map_get_next_key(c->st.stats_fd, NULL, &key) == 0) {
		if (bpf_map_delete_elem(c->st.stats_fd, &key))
			break; /* counters only: the policy is gone */
	}
	return 0;
}

static bool policy_empty(int policy_fd)
{
	uint64_t key;

	return bpf_map_get_next_key(policy_fd, NULL, &key) && errno == ENOENT;
}

int detach_main(int argc, char **argv)
{
	struct detach_opts o;
	struct ks_ctx c;
	uint64_t netns;
	int ret = 1;

	if (parse_detach_args(argc, argv, &o))
		return 2;
	if (ctx_open(&c, o.cgroup, true))
		goto out;
	if (!c.found) {
		info("not attached; nothing to do");
		ret = 0;
		goto out;
	}
	if (o.all) {
		if (remove_all(&c))
			goto out;
	} else if (netns_current_id(&netns) || remove_from_policy(&c, netns, o.ifname)) {
		goto out;
	}
	if (policy_empty(c.st.policy_fd) && ks_detach(&c.st, c.cgroup_fd))
		goto out;
	ret = 0;
out:
	ctx_close(&c);
	return ret;
}
