// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* What bpf_get_netns_cookie() returns for a socket of this namespace. */
static int netns_cookie(uint64_t *id)
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

/* What the CO-RE variants read: net->ns.inum, the inode of /proc/self/ns/net. */
static int netns_inode(uint64_t *id)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st)) {
		err("/proc/self/ns/net: %s", strerror(errno));
		return -1;
	}
	*id = st.st_ino;
	return 0;
}

int netns_current_id(enum wgks_variant variant, uint64_t *id)
{
	return variant == WGKS_VARIANT_COOKIE ? netns_cookie(id) : netns_inode(id);
}
