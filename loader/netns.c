// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/nsfs.h>
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

/* PROC_USER_INIT_INO: the initial user namespace's inode number, fixed. */
#define USERNS_INIT_INO 0xEFFFFFFDu

int netns_owner(uint64_t *userns)
{
	int net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), user;
	struct stat sb;
	int ret = -1;

	if (net < 0)
		return -1;
	user = ioctl(net, NS_GET_USERNS);
	if (user >= 0) {
		if (fstat(user, &sb) == 0) {
			*userns = (uint64_t)sb.st_ino;
			ret = sb.st_ino == USERNS_INIT_INO;
		}
		close(user);
	}
	close(net);
	return ret;
}
