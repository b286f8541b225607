// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include "lock.h"
#include "log.h"

#define RETRY_NS 20000000L /* 20 ms */

int lock_take(int cgroup_fd)
{
	struct timespec pause = { .tv_nsec = RETRY_NS };
	long waited_ns = 0;

	/* The lock goes with the fd: closing the cgroup fd releases it. */
	while (flock(cgroup_fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			err("cannot lock the cgroup: %s", strerror(errno));
			return -1;
		}
		if (waited_ns >= LOCK_TIMEOUT_S * 1000000000L) {
			err("another wgks-bpf has held the lock for %d s; try again", LOCK_TIMEOUT_S);
			return -1;
		}
		nanosleep(&pause, NULL);
		waited_ns += RETRY_NS;
	}
	return 0;
}
