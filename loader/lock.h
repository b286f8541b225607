/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One invocation at a time changes the kill switch (two tunnels coming up
 * at once). The lock is the cgroup directory itself: every mount of the
 * cgroup2 hierarchy, in any mount namespace, shows the same inode, and it
 * needs no writable path.
 */
#ifndef WGKS_LOCK_H
#define WGKS_LOCK_H

/* Seconds to wait for another invocation before giving up. */
#define LOCK_TIMEOUT_S 30

/* Lock CGROUP_FD, waiting up to LOCK_TIMEOUT_S. 0, or -1 after err(). */
int lock_take(int cgroup_fd);

#endif
