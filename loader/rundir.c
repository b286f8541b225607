// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <sys/stat.h>
#include "rundir.h"

int rundir_private(const char *dir)
{
	struct stat sb;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	if (lstat(dir, &sb))
		return -1;
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != 0 || (sb.st_mode & 022)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}
