// SPDX-License-Identifier: GPL-2.0-only
#include <unistd.h>
#include "cgroup.h"
#include "context.h"
#include "lock.h"
#include "netns.h"
#include "nspolicy.h"
#include "privs.h"
#include "rundir.h"

int ctx_check(void)
{
	return privs_check() || ks_kernel_check() ? -1 : 0;
}

int ctx_open(struct ks_ctx *c, const char *cgroup_path, bool lock)
{
	int found;

	*c = (struct ks_ctx)KS_CTX_INIT;
	if (netns_current_id(&c->netns))
		return -1;
	c->cgroup_fd = cgroup_open_root(cgroup_path, c->cgroup, sizeof(c->cgroup));
	if (c->cgroup_fd < 0)
		return -1;
	if (lock) {
		c->lock_fd = lock_take(RUNDIR);
		if (c->lock_fd < 0)
			return -1;
	}
	found = ks_find(&c->st, c->cgroup_fd);
	if (found < 0)
		return -1;
	c->found = found;
	/* A command that changes anything first forgets namespaces that are gone. */
	if (lock && c->found && (ns_prune_dead(c) < 0 || ns_settle(c)))
		return -1;
	return 0;
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
