// SPDX-License-Identifier: GPL-2.0-only
/*
 * lockdown on|off: block this namespace even with no tunnel at all (before
 * the first wg-quick up, between down and up). attach adds a tunnel's
 * exemption on top; detach takes it away again and lockdown stays.
 */
#include "context.h"
#include "log.h"
#include "nspolicy.h"
#include "opts.h"
#include "policy.h"
#include "subcommands.h"

int lockdown_main(int argc, char **argv)
{
	struct lockdown_opts o;
	struct wgks_policy p;
	struct ks_ctx c = KS_CTX_INIT;
	int ret = 1;

	if (parse_lockdown_args(argc, argv, &o))
		return 2;
	if (ctx_check() || ctx_open(&c, o.cgroup, true))
		goto out;
	if (!c.found && !o.on) {
		info("lockdown is not on; nothing to do");
		ret = 0;
		goto out;
	}
	if (!c.found && ks_load(&c.st))
		goto out;
	if (ns_read(&c, &p) < 0)
		goto out;
	if (o.on)
		p.flags |= WGKS_F_LOCKDOWN;
	else
		p.flags &= ~WGKS_F_LOCKDOWN;
	if (ns_commit(&c, &p))
		goto out;
	if (o.on)
		info("lockdown on: only %s leave this namespace",
		     policy_count_tunnels(&p) ? "protected tunnels" : "loopback and IPv6 link upkeep");
	else
		info("lockdown off%s", policy_count_tunnels(&p) ? ": protected tunnels stay" : "");
	ret = 0;
out:
	ctx_close(&c);
	return ret;
}
