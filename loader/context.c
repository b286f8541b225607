// SPDX-License-Identifier: GPL-2.0-only
#include <unistd.h>
#include "cgroup.h"
#include "context.h"
#include "lock.h"
#include "log.h"
#include "netns.h"
#include "nspolicy.h"
#include "oldmaps.h"
#include "privs.h"
#include "rundir.h"
#include "takeover.h"

int ctx_check(void)
{
	return privs_check() || ks_kernel_check() ? -1 : 0;
}

int ctx_open(struct ks_ctx *c, const char *cgroup_path, enum ctx_mode mode)
{
	int found;

	*c = (struct ks_ctx)KS_CTX_INIT;
	if (netns_current_id(&c->netns))
		return -1;
	c->cgroup_fd = cgroup_open_root(cgroup_path, c->cgroup, sizeof(c->cgroup));
	if (c->cgroup_fd < 0)
		return -1;
	if (mode != CTX_READ) {
		c->lock_fd = lock_take(RUNDIR);
		if (c->lock_fd < 0)
			return -1;
	}
	found = ks_find(&c->st, c->cgroup_fd);
	if (found < 0)
		return -1;
	c->found = found;
	if (mode == CTX_READ)
		return 0;
	/* Alone, a sock_ops program only hurts: whatever the command, it goes. */
	if (ks_orphans_detach(&c->st, c->cgroup_fd) < 0)
		return -1;
	if (mode == CTX_REMOVE_ALL)
		return 0;
	if (c->found && c->st.old && takeover(c) == -2)
		return -1;
	if (!c->found || c->st.old)
		return 0;
	/* A command that changes anything first forgets namespaces that are gone. */
	if (ns_prune_dead(c) < 0 || ns_settle(c))
		return -1;
	/* An egress program alone (a crash between two attaches) gets its partner back. */
	return c->found ? ks_partner_repair(&c->st, c->cgroup_fd) : 0;
}

int ctx_ours(const struct ks_ctx *c)
{
	if (!c->found || !c->st.old)
		return 0;
	err("program %s (id %u) was attached by another version of wgks-bpf (%s), and this one "
	    "cannot take it over: %s. It stays attached and keeps blocking; `wgks-bpf detach "
	    "--all` removes it, `wgks-bpf lockdown off` ends a lockdown", ks_prog_name(&c->st),
	    c->st.egress_id, c->st.old->differs,
	    c->st.old->cannot[0] ? c->st.old->cannot : "see above");
	return -1;
}

void ctx_close(struct ks_ctx *c)
{
	ks_close(&c->st);
	if (c->cgroup_fd >= 0)
		close(c->cgroup_fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd); /* releases the lock */
	c->cgroup_fd = c->lock_fd = -1;
}
