// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "lock.h"
#include "log.h"

/* /run is shared by `ip netns exec` and the host; $WGKS_LOCK moves it for tests. */
static const char *lock_path(void)
{
	const char *p = getenv("WGKS_LOCK");

	return p && *p ? p : WGKS_LOCK_PATH;
}

int lock_take(void)
{
	const char *path = lock_path();
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		err("lock %s: %s", path, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX)) {
		if (errno == EINTR)
			continue;
		err("lock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
