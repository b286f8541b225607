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
	struct ns_change ch = { 0 };
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
	if ((!c.found && ks_load(&c.st)) || ns_begin(&c, &ch))
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
