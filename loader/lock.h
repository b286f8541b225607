/* SPDX-License-Identifier: GPL-2.0-only */
/* One invocation at a time changes the kill switch (two tunnels coming up at once). */
#ifndef WGKS_LOCK_H
#define WGKS_LOCK_H

#define WGKS_LOCK_PATH "/run/wgks-bpf.lock"

/* Blocks until the lock is ours. Returns its fd; -1 after err(). */
int lock_take(void);
void lock_release(int fd);

#endif
