/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One invocation at a time changes the kill switch (two tunnels coming up
 * at once). The lock is a file in root's own directory in /run, which every
 * mount namespace of the host shares (`ip netns exec` included): no other
 * user can open it, so none can take the lock and hold attach, detach or
 * lockdown back. (It used to be the cgroup directory, which any user can
 * open and flock.)
 */
#ifndef WGKS_LOCK_H
#define WGKS_LOCK_H

/* Seconds to wait for another invocation before giving up. */
#define LOCK_TIMEOUT_S 30

/*
 * Take the lock file in DIR (RUNDIR; tests pass their own), waiting up to
 * LOCK_TIMEOUT_S. The fd that holds it, closed to release it; -1 after err().
 */
int lock_take(const char *dir);

#endif
