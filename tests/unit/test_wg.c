// SPDX-License-Identifier: GPL-2.0-only
/*
 * wg_query against fake `wg` commands ($WGKS_WG): every answer `wg show IF
 * dump` can give, and every way asking can fail; parse_wg_dump on its own.
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

/* An interface line (keys, listen port, fwmark) and a peer line with ENDPOINT. */
#define IFLINE(port, mark) "cHJpdmF0ZQ==\tcHVibGlj\t" port "\t" mark "\n"
#define PEER(endpoint) "cGVlcg==\t(none)\t" endpoint "\t0.0.0.0/0\t0\t0\t0\toff\n"

/* A fake wg answering `wg show IF dump`: checks its arguments, prints OUT, exits CODE. */
static void fake_wg(const char *out, int code)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/wg", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n"
		   "[ \"$1 $3\" = 'show dump' ] || { echo bad args >&2; exit 99; }\n"
		   "printf '%%s' '%s'\nexit %d\n", out, code);
	fclose(f);
	chmod(path, 0755);
	setenv("WGKS_WG", path, 1);
}

/* A fake wg with BODY for a script. */
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

static int ask(struct wg_info *wi, bool quiet, char *msg, size_t msgsz)
{
	int ret;

	capture_start();
	ret = wg_query("wg0", quiet, wi);
	capture_end(msg, msgsz);
	return ret;
}

static void test_dump(void **state)
{
	struct wg_info wi;
	char msg[256];

	(void)state;
	fake_wg(IFLINE("51820", "0xca6c") PEER("198.51.100.7:51820") PEER("(none)")
		PEER("[2001:db8::1]:443"), 0);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "");
	assert_int_equal(wi.fwmark, 51820);
	assert_int_equal(wi.listen_port, 51820);
	assert_int_equal(wi.nendpoints, 2);
	assert_int_equal(wi.endpoints[0].port, 51820);
	assert_int_equal(wi.endpoints[1].family, 6);
	/* fwmark off, no peers, and no newline at the end. */
	fake_wg("cHJpdmF0ZQ==\tcHVibGlj\t0\toff", 0);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), 1);
	assert_int_equal(wi.fwmark, 0);
	assert_int_equal(wi.listen_port, 0);
	assert_int_equal(wi.nendpoints, 0);
}

static void test_not_wireguard(void **state)
{
	struct wg_info wi;
	char msg[256];

	(void)state;
	fake_wg("", 1);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
}

/* What wg prints must be what wg prints; the keys of a bad line are never shown. */
static void test_garbage(void **state)
{
	struct wg_info wi;
	char msg[256];

	(void)state;
	fake_wg("interface: wg0\n", 0);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "cannot use `wg show wg0 dump` output, line 1"));
	fake_wg("", 0);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
	fake_wg(IFLINE("51820", "0xca6c") PEER("not-an-endpoint"), 0);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "line 2"));
	assert_null(strstr(msg, "cGVlcg=="));
	fake_wg(IFLINE("65536", "0xca6c"), 0);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
	fake_wg(IFLINE("51820", "0100x"), 0);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
	assert_null(strstr(msg, "cHJpdmF0ZQ=="));
}

/* More peers with an endpoint than room: an error, not a silent cut. */
static void test_too_many_peers(void **state)
{
	char text[WG_MAX_PEERS * 80 + 100];
	struct wg_info wi;
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), IFLINE("51820", "off"));
	for (int i = 0; i <= WG_MAX_PEERS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, PEER("10.0.0.%d:51820"), i % 250);
	assert_int_equal(parse_wg_dump(text, &wi), WG_MAX_PEERS + 2);
}

static void test_long_output_bounded(void **state)
{
	char out[300];
	struct wg_info wi;
	char msg[512];

	(void)state;
	memset(out, '1', sizeof(out) - 1);
	out[sizeof(out) - 1] = '\0';
	fake_wg(out, 0);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
}

static void test_missing_command(void **state)
{
	struct wg_info wi;
	char msg[256];

	(void)state;
	setenv("WGKS_WG", "/nonexistent/wg", 1);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "cannot run `/nonexistent/wg'"));
	assert_non_null(strstr(msg, "wireguard-tools"));
	/* Asked quietly (another kind of tunnel, with --fwmark): not WireGuard, nothing said. */
	assert_int_equal(ask(&wi, true, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
}

static void test_wg_dies(void **state)
{
	struct wg_info wi;
	char msg[256];

	(void)state;
	fake_wg_raw("kill -9 $$");
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "killed by signal 9"));
	fake_wg_raw("exit 127");
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "cannot run"));
}

/* A hung wg is killed, with all it started, once its time is up. */
static void test_wg_hangs(void **state)
{
	struct timespec t0, t1;
	struct wg_info wi;
	char msg[256];
	long ms;

	(void)state;
	setenv("WGKS_WG_TIMEOUT_MS", "300", 1);
	for (int i = 0; i < 3; i++) {
		/* Silent; then a grandchild holding stdout; then stdout closed early. */
		fake_wg_raw(i == 0 ? "exec sleep 30" :
			    i == 1 ? "sleep 30 & echo x; exit 0" :
				     "exec >&-; exec sleep 30");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (!strstr(msg, "did not answer within 300 ms: killed") || ms < 250 || ms > 3000)
			fail_msg("case %d: %ld ms, `%s'", i, ms, msg);
	}
	unsetenv("WGKS_WG_TIMEOUT_MS");
}

static void test_sigchld_ignored(void **state)
{
	struct wg_info wi;
	char msg[256];

	(void)state;
	fake_wg(IFLINE("51820", "0xca6c"), 0);
	signal(SIGCHLD, SIG_IGN);
	assert_int_equal(ask(&wi, false, msg, sizeof(msg)), -1);
	signal(SIGCHLD, SIG_DFL);
	/* Never silent: the reason is there. */
	assert_non_null(strstr(msg, "wgks-bpf: cannot run"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_not_wireguard),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_too_many_peers),
		cmocka_unit_test(test_long_output_bounded),
		cmocka_unit_test(test_missing_command),
		cmocka_unit_test(test_wg_dies),
		cmocka_unit_test(test_wg_hangs),
		cmocka_unit_test(test_sigchld_ignored),
	};

	return cmocka_run_group_tests_name("wg", tests, setup, teardown);
}
