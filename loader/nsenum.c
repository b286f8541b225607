// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "netns.h"
#include "nsenum.h"

#define MAX_SEEN 4096

struct seen {
	dev_t dev[MAX_SEEN];
	ino_t ino[MAX_SEEN];
	int n;
};

/* Whether the namespace file FD was met before; notes it if not. */
static bool met(struct seen *s, int fd)
{
	struct stat sb;

	if (fstat(fd, &sb))
		return true;
	for (int i = 0; i < s->n; i++) {
		if (s->dev[i] == sb.st_dev && s->ino[i] == sb.st_ino)
			return true;
	}
	if (s->n < MAX_SEEN) {
		s->dev[s->n] = sb.st_dev;
		s->ino[s->n++] = sb.st_ino;
	}
	return false;
}

/* Enter PATH's namespace if new, run FN there, come back to HOME. */
static int visit(const char *path, struct seen *s, int home,
		 int (*fn)(uint64_t netns, void *arg), void *arg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
	uint64_t cookie;

	if (fd < 0)
		return 0; /* gone meanwhile, or not a namespace we may open */
	if (met(s, fd) || setns(fd, CLONE_NEWNET)) {
		close(fd);
		return 0;
	}
	close(fd);
	if (netns_current_id(&cookie) == 0)
		ret = fn(cookie, arg);
	if (setns(home, CLONE_NEWNET)) {
		err("cannot return to this network namespace: %s", strerror(errno));
		return -1;
	}
	return ret;
}

int nsenum_each(int (*fn)(uint64_t netns, void *arg), void *arg)
{
	struct seen *s = calloc(1, sizeof(*s));
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), ret = 0;
	const char *dirs[] = { "/run/netns", "/proc" };
	char path[320];

	if (!s || home < 0) {
		err("cannot list network namespaces: %s", s ? strerror(errno) : "out of memory");
		free(s);
		if (home >= 0)
			close(home);
		return -1;
	}
	met(s, home);
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]) && !ret; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *de;

		while (dir && !ret && (de = readdir(dir))) {
			if (de->d_name[0] == '.')
				continue;
			if (d == 1 && (de->d_name[0] < '0' || de->d_name[0] > '9'))
				continue;
			snprintf(path, sizeof(path), d == 0 ? "%s/%s" : "%s/%s/ns/net", dirs[d],
				 de->d_name);
			ret = visit(path, s, home, fn, arg);
		}
		if (dir)
			closedir(dir);
	}
	close(home);
	free(s);
	return ret;
}
