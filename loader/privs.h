/* SPDX-License-Identifier: GPL-2.0-only */
/* Checks made before anything is touched. */
#ifndef WGKS_PRIVS_H
#define WGKS_PRIVS_H

/*
 * 0 if this process may load, find and attach cgroup BPF programs
 * (CAP_SYS_ADMIN to find programs by id, CAP_BPF, CAP_NET_ADMIN,
 * CAP_PERFMON); -1 after err().
 */
int privs_check(void);

#endif
