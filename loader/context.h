/* SPDX-License-Identifier: GPL-2.0-only */
/* What every command starts with: checks, the cgroup, the lock, the program. */
#ifndef WGKS_CONTEXT_H
#define WGKS_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>
#include "state.h"

struct ks_ctx {
	int lock_fd;      /* held while the command changes anything; -1 if not taken */
	int cgroup_fd;
	char cgroup[256]; /* where it was found, for messages */
	struct ks_state st;
	bool found;     /* st holds the attached program (st.old set: another version's) */
	uint64_t netns; /* this network namespace's cookie */
};

/* Safe to ctx_close() before or after a failed ctx_open(). */
#define KS_CTX_INIT { .lock_fd = -1, .cgroup_fd = -1, .st = KS_STATE_INIT }

/* What a command means to do with what it finds. */
enum ctx_mode {
	/* Look only (status, watch): no lock, nothing changes. */
	CTX_READ,
	/*
	 * Change (attach, detach, lockdown, sync), under the lock: sock_ops
	 * programs without an egress partner are detached, what another
	 * version attached is taken over (takeover.h), the policies of
	 * namespaces that are gone forgotten, a lost sock_ops partner put back.
	 */
	CTX_CHANGE,
	/* Remove everything (detach --all), under the lock: orphans detached, nothing taken over. */
	CTX_REMOVE_ALL,
};

/* What every command checks first: privileges and kernel. 0, or -1 after err(). */
int ctx_check(void);

/*
 * After ctx_check(): learn this namespace's cookie, open the root cgroup (or
 * cgroup_path), take the lock if MODE changes anything, and find our
 * programs (see enum ctx_mode); with the lock, also forget namespaces
 * that no longer exist (ns_prune_dead()). 0, or -1 after err(). A takeover that
 * could not be done is no failure here: c->st.old stays set, with the
 * reason, for the command to decide (ctx_ours()).
 */
int ctx_open(struct ks_ctx *c, const char *cgroup_path, enum ctx_mode mode);
void ctx_close(struct ks_ctx *c);

/*
 * For a command that needs the programs to be this version's: 0 if they
 * are (or none is attached), else -1 after err() saying whose they are and
 * why they could not be taken over.
 */
int ctx_ours(const struct ks_ctx *c);

#endif
