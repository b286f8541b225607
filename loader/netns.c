// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* What bpf_get_netns_cookie() returns for a socket of this namespace (5.14+). */
int netns_current_id(uint64_t *id)
{
	socklen_t len = sizeof(*id);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = -1;

	if (fd < 0) {
		err("socket: %s", strerror(errno));
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, id, &len))
		err("cannot read the network namespace cookie: %s", strerror(errno));
	else
		ret = 0;
	close(fd);
	return ret;
}
