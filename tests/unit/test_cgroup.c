// SPDX-License-Identifier: GPL-2.0-only
/* Finding the cgroup2 mount in /proc/self/mounts text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "capture.h"
#include "cgroup.h"

static int find_in(const char *text, char *buf, size_t bufsz)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	assert_non_null(f);
	ret = cgroup2_mount_from(f, buf, bufsz);
	fclose(f);
	return ret;
}

static void test_unified(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(find_in("sysfs /sys sysfs rw 0 0\n"
				 "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n",
				 path, sizeof(path)), 0);
	assert_string_equal(path, "/sys/fs/cgroup");
}

static void test_hybrid(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(find_in("tmpfs /sys/fs/cgroup tmpfs ro 0 0\n"
				 "cgroup /sys/fs/cgroup/systemd cgroup rw,name=systemd 0 0\n"
				 "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
				 "cgroup /sys/fs/cgroup/net_cls cgroup rw,net_cls 0 0\n",
				 path, sizeof(path)), 0);
	assert_string_equal(path, "/sys/fs/cgroup/unified");
}

static void test_escaped_space(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(find_in("none /mnt/my\\040cg cgroup2 rw 0 0\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/mnt/my cg");
}

static void test_none(void **state)
{
	char path[256];

	(void)state;
	/* As under `ip netns exec`: a fresh /sys and no cgroup2. */
	assert_int_equal(find_in("sysfs /sys sysfs rw 0 0\n"
				 "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n",
				 path, sizeof(path)), -1);
	assert_int_equal(find_in("", path, sizeof(path)), -1);
}

static void test_too_long_skipped(void **state)
{
	char path[8];

	(void)state;
	assert_int_equal(find_in("cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
				 "cgroup2 /cg cgroup2 rw 0 0\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/cg");
}

static void test_open_not_cgroup(void **state)
{
	char where[64], msg[512];
	int fd;

	(void)state;
	capture_start();
	fd = cgroup_open_root("/tmp", where, sizeof(where));
	capture_end(msg, sizeof(msg));
	assert_int_equal(fd, -1);
	assert_non_null(strstr(msg, "wgks-bpf: cgroup /tmp: not a cgroup v2 directory"));
	capture_start();
	fd = cgroup_open_root("/nonexistent/wgks", where, sizeof(where));
	capture_end(msg, sizeof(msg));
	assert_int_equal(fd, -1);
	assert_non_null(strstr(msg, "/nonexistent/wgks: No such file or directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unified),
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_escaped_space),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_too_long_skipped),
		cmocka_unit_test(test_open_not_cgroup),
	};

	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
