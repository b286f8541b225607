// SPDX-License-Identifier: GPL-2.0-only
/*
 * detach [IFACE]: stop protecting one tunnel (or all) of this namespace.
 * Works by name, so it also cleans up after a crash that took the
 * interface away. Lockdown stays. When no namespace has a policy left, the
 * programs are detached and the maps go with them. detach --all removes
 * every namespace's policy: the way out when a namespace was deleted
 * without detach.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "context.h"
#include "log.h"
#include "nspolicy.h"
#include "opts.h"
#include "policy.h"
#include "subcommands.h"

/* Remove IFNAME (NULL: all tunnels) from this namespace's policy. */
static int detach_here(struct ks_ctx *c, const char *ifname)
{
	struct wgks_policy p;
	int found = ns_read(c, &p);

	if (found < 0)
		return -1;
	if (!found) {
		info("no tunnel is protected in this network namespace; nothing to do");
		return 0;
	}
	if (ifname && policy_remove_tunnel(&p, ifname) < 0) {
		info("%s: not protected in this network namespace; nothing to do", ifname);
		return 0;
	}
	if (!ifname)
		policy_remove_all_tunnels(&p);
	if (ns_prune(c, &p, -1))
		return -1;
	if ((p.flags & WGKS_F_LOCKDOWN) && policy_count_tunnels(&p) == 0)
		info("lockdown stays on: this namespace stays blocked (wgks-bpf lockdown off "
		     "ends it)");
	return ns_commit(c, &p);
}

/* Empty every hash and trie (counters are reset when used again); the caller detaches. */
static int detach_everywhere(struct ks_ctx *c)
{
	int fds[] = { c->st.maps.policy, c->st.maps.endpoints, c->st.maps.allow4, c->st.maps.allow6 };
	unsigned char key[sizeof(struct wgks_allow6_key)];

	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		while (bpf_map_get_next_key(fds[i], NULL, key) == 0) {
			if (bpf_map_delete_elem(fds[i], key)) {
				err("cannot empty a map: %s", strerror(errno));
				return -1;
			}
		}
	}
	return ks_detach(&c->st, c->cgroup_fd);
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
