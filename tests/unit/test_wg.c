// SPDX-License-Identifier: GPL-2.0-only
/*
 * wg_fwmark against fake `wg` commands ($WGKS_WG): every answer `wg show IF
 * fwmark` can give, and every way asking can fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>
#include <cmocka.h>
#include "capture.h"
#include "wg.h"

static char dir[] = "/tmp/wgks-test-wg.XXXXXX";

/* A fake wg answering `wg show IF WHAT`: checks WHAT, prints OUT, exits CODE. */
static void fake_wg_for(const char *what, const char *out, int code)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/wg", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n"
		   "[ \"$1 $3\" = 'show %s' ] || { echo bad args >&2; exit 99; }\n"
		   "printf '%%s' '%s'\nexit %d\n", what, out, code);
	fclose(f);
	chmod(path, 0755);
	setenv("WGKS_WG", path, 1);
}

static void fake_wg(const char *out, int code)
{
	fake_wg_for("fwmark", out, code);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/wg", dir);
	unlink(path);
	return rmdir(dir);
}

static int ask(uint32_t *mark, char *msg, size_t msgsz)
{
	int ret;

	capture_start();
	ret = wg_fwmark("wg0", mark);
	capture_end(msg, msgsz);
	return ret;
}

static void test_hex(void **state)
{
	uint32_t mark = 7;
	char msg[256];

	(void)state;
	fake_wg("0xca6c\n", 0);
	assert_int_equal(ask(&mark, msg, sizeof(msg)), 0);
	assert_int_equal(mark, 51820);
	assert_string_equal(msg, "");
}

static void test_decimal_and_off(void **state)
{
	uint32_t mark = 7;
	char msg[256];

	(void)state;
	fake_wg("51820\n", 0);
	assert_int_equal(ask(&mark, msg, sizeof(msg)), 0);
	assert_int_equal(mark, 51820);
	fake_wg("off\n", 0);
	assert_int_equal(ask(&mark, msg, sizeof(msg)), 0);
	assert_int_equal(mark, 0);
	/* Without its newline too. */
	fake_wg("0x10", 0);
	assert_int_equal(ask(&mark, msg, sizeof(msg)), 0);
	assert_int_equal(mark, 16);
}

static void test_not_wireguard(void **state)
{
	uint32_t mark;
	char msg[256];

	(void)state;
	fake_wg("", 1);
	assert_int_equal(ask(&mark, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "wgks-bpf: wg0: not a WireGuard interface"));
	assert_non_null(strstr(msg, "--fwmark"));
}

static void test_garbage(void **state)
{
	uint32_t mark;
	char msg[256];

	(void)state;
	fake_wg("interface: wg0\n", 0);
	assert_int_equal(ask(&mark, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "cannot parse"));
	assert_non_null(strstr(msg, "`interface: wg0'"));
	fake_wg("", 0);
	assert_int_equal(ask(&mark, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "cannot parse"));
}

static void test_long_output_bounded(void **state)
{
	char out[300];
	uint32_t mark;
	char msg[512];

	(void)state;
	memset(out, '1', sizeof(out) - 1);
	out[sizeof(out) - 1] = '\0';
	fake_wg(out, 0);
	assert_int_equal(ask(&mark, msg, sizeof(msg)), -1);
}

static void test_missing_command(void **state)
{
	uint32_t mark;
	char msg[256];

	(void)state;
	setenv("WGKS_WG", "/nonexistent/wg", 1);
	assert_int_equal(ask(&mark, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "cannot run `/nonexistent/wg'"));
	assert_non_null(strstr(msg, "wireguard-tools"));
}

/* A fake wg that dies by a signal, or that exits 127 as a shell does when exec fails. */
static void fake_wg_raw(const char *body)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/wg", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	setenv("WGKS_WG", path, 1);
}

static void test_wg_dies(void **state)
{
	uint32_t mark;
	char msg[256];

	(void)state;
	fake_wg_raw("kill -9 $$");
	assert_int_equal(ask(&mark, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "killed by signal 9"));
	fake_wg_raw("exit 127");
	assert_int_equal(ask(&mark, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "cannot run"));
	assert_null(strstr(msg, "not a WireGuard interface"));
}

/* A hung wg is killed, with all it started, once its time is up. */
static void test_wg_hangs(void **state)
{
	uint32_t mark;
	char msg[256];
	struct timespec t0, t1;
	long ms;

	(void)state;
	setenv("WGKS_WG_TIMEOUT_MS", "300", 1);
	for (int i = 0; i < 3; i++) {
		/* Silent; then a grandchild holding stdout; then stdout closed early. */
		fake_wg_raw(i == 0 ? "exec sleep 30" :
			    i == 1 ? "sleep 30 & echo 0xca6c; exit 0" :
				     "exec >&-; exec sleep 30");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(ask(&mark, msg, sizeof(msg)), -1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (!strstr(msg, "did not answer within 300 ms: killed") || ms < 250 || ms > 3000)
			fail_msg("case %d: %ld ms, `%s'", i, ms, msg);
	}
	unsetenv("WGKS_WG_TIMEOUT_MS");
}

static void test_sigchld_ignored(void **state)
{
	uint32_t mark;
	char msg[256];

	(void)state;
	fake_wg("0xca6c\n", 0);
	signal(SIGCHLD, SIG_IGN);
	assert_int_equal(ask(&mark, msg, sizeof(msg)), -1);
	signal(SIGCHLD, SIG_DFL);
	/* Never silent: the reason is there. */
	assert_non_null(strstr(msg, "wgks-bpf: cannot run"));
}

static void test_endpoints(void **state)
{
	struct endpoint eps[4];
	char msg[256];

	(void)state;
	fake_wg_for("endpoints", "k1=\t198.51.100.7:51820\nk2=\t(none)\n", 0);
	capture_start();
	assert_int_equal(wg_endpoints("wg0", eps, 4), 1);
	capture_end(msg, sizeof(msg));
	assert_int_equal(eps[0].port, 51820);
	fake_wg_for("endpoints", "k1=\tnot-an-endpoint\n", 0);
	capture_start();
	assert_int_equal(wg_endpoints("wg0", eps, 4), -1);
	capture_end(msg, sizeof(msg));
	assert_non_null(strstr(msg, "`k1=\tnot-an-endpoint'"));
	fake_wg_for("endpoints", "", 1);
	capture_start();
	assert_int_equal(wg_endpoints("wg0", eps, 4), -1);
	capture_end(msg, sizeof(msg));
	assert_non_null(strstr(msg, "wg0: not a WireGuard interface"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_decimal_and_off),
		cmocka_unit_test(test_not_wireguard),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_long_output_bounded),
		cmocka_unit_test(test_missing_command),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_wg_dies),
		cmocka_unit_test(test_wg_hangs),
		cmocka_unit_test(test_sigchld_ignored),
	};

	return cmocka_run_group_tests_name("wg", tests, setup, teardown);
}
