// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <sys/socket.h>
#include "nldump.h"

/* A dump's answer comes in parts of at most a page or so each; room for several. */
#define NL_DUMP_BUF 32768

int nl_dump(int fd, const void *req, size_t len,
	    int (*each)(const struct nlmsghdr *nh, void *arg), void *arg)
{
	char buf[NL_DUMP_BUF];

	if (send(fd, req, len, 0) < 0)
		return -1;
	for (;;) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = EPIPE;
			return -1;
		}
		for (const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
		     NLMSG_OK(nh, (unsigned)got); nh = NLMSG_NEXT(nh, got)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				int e = -((const struct nlmsgerr *)NLMSG_DATA(nh))->error;

				/* An acknowledgement (0) ends no dump: a protocol error. */
				errno = e > 0 ? e : EPROTO;
				return -1;
			}
			if (each(nh, arg))
				return -1;
		}
	}
}
