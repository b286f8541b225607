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
	bool found;     /* st holds the attached program */
	uint64_t netns; /* this network namespace's cookie */
};

/* Safe to ctx_close() before or after a failed ctx_open(). */
#define KS_CTX_INIT { .lock_fd = -1, .cgroup_fd = -1, .st = KS_STATE_INIT }

/* What every command checks first: privileges and kernel. 0, or -1 after err(). */
int ctx_check(void);

/*
 * After ctx_check(): learn this namespace's cookie, open the root cgroup (or
 * cgroup_path), take the lock if asked, and find our program; with the
 * lock, also forget namespaces that no longer exist (ns_prune_dead()) and
 * detach the programs if no policy is left. 0, or -1 after err().
 */
int ctx_open(struct ks_ctx *c, const char *cgroup_path, bool lock);
void ctx_close(struct ks_ctx *c);

#endif
