// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "cgroup.h"
#include "log.h"

#ifndef FSCONFIG_CMD_CREATE
#define FSCONFIG_CMD_CREATE 6
#endif

int cgroup2_mount_from(FILE *mounts, char *buf, size_t bufsz)
{
	struct mntent ent;
	char line[4096];

	while (getmntent_r(mounts, &ent, line, sizeof(line))) {
		if (strcmp(ent.mnt_type, "cgroup2"))
			continue;
		if (strlen(ent.mnt_dir) >= bufsz)
			continue;
		strcpy(buf, ent.mnt_dir);
		return 0;
	}
	return -1;
}

/*
 * fsopen/fsmount give a cgroup2 mount that is attached nowhere: it needs
 * no directory, changes nothing others can see and goes away with its fd.
 */
static int open_detached_cgroup2(void)
{
	int fsfd, mntfd = -1, dirfd = -1;

	fsfd = (int)syscall(SYS_fsopen, "cgroup2", 0x1 /* FSOPEN_CLOEXEC */);
	if (fsfd < 0)
		return -1;
	if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mntfd = (int)syscall(SYS_fsmount, fsfd, 0x1 /* FSMOUNT_CLOEXEC */, 0);
	if (mntfd >= 0) {
		/* The mount fd is O_PATH; BPF wants a real one. */
		dirfd = openat(mntfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(mntfd);
	}
	close(fsfd);
	return dirfd;
}

static int is_cgroup2(int fd)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/*
 * Whether FD is the root of the cgroup v2 hierarchy: its directory's inode
 * number is the cgroup's id, and the root's is 1. A cgroup namespace or a
 * bind mount shows a subtree as the root of its mount.
 */
static bool is_hierarchy_root(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && sb.st_ino == CGROUP2_ROOT_ID;
}

int cgroup_open_root(const char *path, char *where, size_t wheresz)
{
	bool explicit = path != NULL;
	char mnt[4096];
	FILE *f;
	int fd;

	if (!path) {
		f = setmntent("/proc/self/mounts", "re");
		if (f && cgroup2_mount_from(f, mnt, sizeof(mnt)) == 0)
			path = mnt;
		if (f)
			endmntent(f);
	}
	if (path) {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			err("cgroup %s: %s", path, strerror(errno));
			return -1;
		}
		if (!is_cgroup2(fd)) {
			err("cgroup %s: not a cgroup v2 directory", path);
			close(fd);
			return -1;
		}
		snprintf(where, wheresz, "%s", path);
	} else {
		fd = open_detached_cgroup2();
		if (fd < 0) {
			err("no cgroup v2 found: none is mounted here and mounting one failed: %s",
			    strerror(errno));
			return -1;
		}
		snprintf(where, wheresz, "cgroup2 root (private mount)");
	}
	/* Found, not named: it must be the whole hierarchy, or we guard a part. */
	if (!explicit && !is_hierarchy_root(fd)) {
		err("the cgroup v2 mount here (%s) is not the root of the hierarchy (a cgroup "
		    "namespace, or a subtree mounted in its place): the kill switch would see "
		    "only the processes below it; run wgks-bpf in the host's cgroup namespace, "
		    "or name a cgroup on purpose with --cgroup PATH", where);
		close(fd);
		return -1;
	}
	return fd;
}

/* Depth-first search below DIRFD (closed here) for inode ID. */
static int find_inode(int dirfd, uint64_t id, char *path, size_t len, size_t size, int depth)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	int ret = -1;

	if (!d) {
		close(dirfd);
		return -1;
	}
	while (ret && depth < 32 && (de = readdir(d))) {
		struct stat st;
		int sub, n;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		n = snprintf(path + len, size - len, "/%s", de->d_name);
		if (n < 0 || (size_t)n >= size - len)
			continue;
		if ((uint64_t)st.st_ino == id) {
			ret = 0;
			break;
		}
		sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub >= 0)
			ret = find_inode(sub, id, path, len + (size_t)n, size, depth + 1);
		if (ret)
			path[len] = '\0';
	}
	closedir(d);
	return ret;
}

int cgroup_path_of_id(int root_fd, uint64_t id, char *buf, size_t bufsz)
{
	struct stat st;
	int fd;

	if (bufsz < 2 || fstat(root_fd, &st))
		return -1;
	if ((uint64_t)st.st_ino == id) {
		strcpy(buf, "/");
		return 0;
	}
	fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	buf[0] = '\0';
	return find_inode(fd, id, buf, 0, bufsz, 0);
}
