/* SPDX-License-Identifier: GPL-2.0-only */
/* Where the root cgroup v2 is, from any mount namespace. */
#ifndef WGKS_CGROUP_H
#define WGKS_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The first cgroup2 mount point listed in a /proc/self/mounts stream.
 * 0 and the path in buf; -1 if there is none.
 */
int cgroup2_mount_from(FILE *mounts, char *buf, size_t bufsz);

/* The id (directory inode number) of the root of the cgroup v2 hierarchy. */
#define CGROUP2_ROOT_ID 1

/*
 * Open the root cgroup v2: PATH if given (any cgroup, on purpose), else the
 * cgroup2 mount of this mount namespace, else (as under `ip netns exec`,
 * whose fresh /sys has none) a private, detached cgroup2 mount that no one
 * else sees. One that is found must be the hierarchy's real root, not what
 * a cgroup namespace or a bind mount shows as one. Returns a directory fd
 * and names it in where; -1 after err().
 */
int cgroup_open_root(const char *path, char *where, size_t wheresz);

/*
 * The path below the cgroup2 root ROOT_FD of the cgroup whose id is ID
 * (a cgroup's id is its directory's inode number). 0, or -1 if not found.
 */
int cgroup_path_of_id(int root_fd, uint64_t id, char *buf, size_t bufsz);

#endif
