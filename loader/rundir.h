/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Our directory in /run: the lock and the minimal BTF live there. /run is
 * the same in every mount namespace that `ip netns exec` or a service
 * makes. The directory is root's and no one else may write it, so what
 * root puts there cannot be replaced, and a file of mode 0600 there cannot
 * even be opened by another user.
 */
#ifndef WGKS_RUNDIR_H
#define WGKS_RUNDIR_H

#define RUNDIR "/run/wgks-bpf"

/*
 * DIR exists (made if need be) as root's own directory that no one else
 * may write. 0, or -1 (errno set; EPERM if it exists but is not so).
 */
int rundir_private(const char *dir);

#endif
