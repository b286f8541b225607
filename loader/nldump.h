/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One netlink dump: the request sent, every message of the answer handed
 * to a callback until NLMSG_DONE. Shared by the device list (link.c), the
 * routes (routes.c) and WireGuard's sockets (wgsock.c).
 */
#ifndef WGKS_NLDUMP_H
#define WGKS_NLDUMP_H

#include <stddef.h>
#include <linux/netlink.h>

/*
 * Send REQ (LEN bytes, a request with NLM_F_DUMP) on netlink socket FD and
 * call EACH(message, ARG) for every message of the answer but NLMSG_DONE.
 * EACH returns 0 to go on, -1 (errno set) to stop. 0 once the dump is
 * done; -1 with errno set (a send or receive error, the kernel's
 * NLMSG_ERROR, or EACH's).
 */
int nl_dump(int fd, const void *req, size_t len,
	    int (*each)(const struct nlmsghdr *nh, void *arg), void *arg);

#endif
