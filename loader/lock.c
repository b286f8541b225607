// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "lock.h"
#include "log.h"
#include "rundir.h"

#define RETRY_NS 20000000L /* 20 ms */

/* DIR/lock, made if need be: root's regular file, in root's own directory. */
static int open_lock_file(const char *dir)
{
	char path[256];
	struct stat sb;
	int fd;

	if (rundir_private(dir)) {
		err("cannot take the lock: %s: %s", dir,
		    errno == EPERM ? "not root's own directory" : strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err("cannot take the lock: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_uid != 0) {
		err("cannot take the lock: %s is not root's regular file", path);
		close(fd);
		return -1;
	}
	return fd;
}

int lock_take(const char *dir)
{
	struct timespec pause = { .tv_nsec = RETRY_NS };
	int fd = open_lock_file(dir);
	long waited_ns = 0;

	if (fd < 0)
		return -1;
	/* The lock goes with the fd: closing it (or exiting) releases it. */
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			err("cannot take the lock: %s", strerror(errno));
			close(fd);
			return -1;
		}
		if (waited_ns >= LOCK_TIMEOUT_S * 1000000000L) {
			err("another wgks-bpf has held the lock for %d s; try again", LOCK_TIMEOUT_S);
			close(fd);
			return -1;
		}
		nanosleep(&pause, NULL);
		waited_ns += RETRY_NS;
	}
	return fd;
}
