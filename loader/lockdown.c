// SPDX-License-Identifier: GPL-2.0-only
/*
 * lockdown on|off: block this namespace even with no tunnel at all (before
 * the first wg-quick up, between down and up). attach adds a tunnel's
 * exemption on top; detach takes it away again and lockdown stays.
 */
#include <errno.h>
#include <string.h>
#include "backstop.h"
#include "context.h"
#include "log.h"
#include "nspolicy.h"
#include "oldmaps.h"
#include "opts.h"
#include "policy.h"
#include "subcommands.h"

/*
 * lockdown off in the maps of a version this one cannot take over: the
 * bit cleared in place, the policy removed if nothing else was in it, and
 * with no policy left anywhere, that version's programs detached.
 */
static int off_in_old_maps(struct ks_ctx *c)
{
	uint64_t key;
	int r = oldmaps_lockdown_off(c->st.old, c->netns);

	if ((r < 0 && errno == ENOENT) || r == 2) {
		info("lockdown is not on; nothing to do");
		return 0;
	}
	if (r < 0) {
		err("cannot end the lockdown in the maps of another version of wgks-bpf: %s",
		    strerror(errno));
		return -1;
	}
	info("lockdown off, in the maps of another version of wgks-bpf (%s), which this one "
	     "cannot take over: %s", c->st.old->differs, c->st.old->cannot);
	if (r == 1)
		info("this namespace's policy is gone: nothing of it is blocked any more");
	if (oldmaps_policy_next(c->st.old, NULL, &key) && errno == ENOENT) {
		/* Nothing left to enforce: its programs go, as ours would. */
		if (ks_detach_every(c->cgroup_fd) < 0 || backstop_uncover(c, ~0u))
			return -1;
		c->found = false;
		info("no namespace has a policy left: its programs are detached");
	}
	return 0;
}

int lockdown_main(int argc, char **argv)
{
	struct lockdown_opts o;
	struct ns_change ch = { 0 };
	struct ks_ctx c = KS_CTX_INIT;
	int ret = 1;

	if (parse_lockdown_args(argc, argv, &o))
		return 2;
	if (ctx_check() || ctx_open(&c, o.cgroup, CTX_CHANGE))
		goto out;
	if (!c.found && !o.on) {
		info("lockdown is not on; nothing to do");
		ret = 0;
		goto out;
	}
	if (c.found && c.st.old && !o.on) {
		/* Getting out must work whatever attached it (README, "At boot"). */
		ret = off_in_old_maps(&c) ? 1 : 0;
		goto out;
	}
	if (ctx_ours(&c) || (!c.found && ks_load(&c.st)) || ns_begin(&c, &ch))
		goto out;
	if (o.on)
		ch.next.rules.flags |= WGKS_F_LOCKDOWN;
	else
		ch.next.rules.flags &= ~WGKS_F_LOCKDOWN;
	if (ns_commit(&c, &ch))
		goto out;
	if (o.on)
		info("lockdown on: only %s leave this namespace",
		     policy_count_tunnels(&ch.next) ? "protected tunnels" :
						      "loopback and IPv6 link upkeep");
	else
		info("lockdown off%s", policy_count_tunnels(&ch.next) ? ": protected tunnels stay" : "");
	ret = 0;
out:
	ns_end(&ch);
	ctx_close(&c);
	return ret;
}
