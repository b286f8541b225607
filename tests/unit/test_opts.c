// SPDX-License-Identifier: GPL-2.0-only
/* Command-line parsing: what is accepted, and that every error says what was wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "capture.h"
#include "opts.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define ATTACH(o, ...) parse_attach_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), o)

/* The parse fails and its message contains want. */
static void expect_usage_error(int ret, const char *want)
{
	char msg[512];

	capture_end(msg, sizeof(msg));
	assert_int_equal(ret, -1);
	if (!strstr(msg, want))
		fail_msg("message `%s' lacks `%s'", msg, want);
	assert_non_null(strstr(msg, "wgks-bpf: "));
}

static void test_attach_plain(void **state)
{
	struct attach_opts o;

	(void)state;
	assert_int_equal(ATTACH(&o, "attach", "wg0"), 0);
	assert_string_equal(o.ifname, "wg0");
	assert_false(o.fwmark_given);
	assert_null(o.cgroup);
}

static void test_attach_fwmark_forms(void **state)
{
	struct attach_opts o;

	(void)state;
	assert_int_equal(ATTACH(&o, "attach", "wg0", "--fwmark", "0xca6c"), 0);
	assert_true(o.fwmark_given);
	assert_int_equal(o.fwmark, 51820);
	assert_int_equal(ATTACH(&o, "attach", "--fwmark=51820", "tun0"), 0);
	assert_string_equal(o.ifname, "tun0");
	assert_int_equal(o.fwmark, 51820);
	assert_int_equal(ATTACH(&o, "attach", "wg0", "--fwmark", "auto"), 0);
	assert_false(o.fwmark_given);
	assert_int_equal(ATTACH(&o, "attach", "wg0", "--fwmark", "off"), 0);
	assert_true(o.fwmark_given);
	assert_int_equal(o.fwmark, 0);
	assert_int_equal(ATTACH(&o, "attach", "wg0", "--cgroup", "/sys/fs/cgroup"), 0);
	assert_string_equal(o.cgroup, "/sys/fs/cgroup");
}

static void test_attach_errors(void **state)
{
	struct attach_opts o;

	(void)state;
	capture_start();
	expect_usage_error(ATTACH(&o, "attach"), "missing interface name");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--fwmark", "0xnope"), "`0xnope'");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--fwmark", "4294967296"),
			   "`4294967296'");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--fwmark", " 5"), "` 5'");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--fwmark"), "--fwmark needs a value");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--cgroup"), "--cgroup needs a value");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--frobnicate"), "`--frobnicate'");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--fwmarkx=1"), "`--fwmarkx=1'");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "wg1"), "unexpected argument `wg1'");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "abcdefghijklmnop"), "not a valid interface");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "../x"), "not a valid interface");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg 0"), "not a valid interface");
}

static void test_attach_allow(void **state)
{
	struct attach_opts o;

	(void)state;
	assert_int_equal(ATTACH(&o, "attach", "wg0", "--allow-lan"), 0);
	assert_true(o.allow_lan);
	assert_int_equal(o.nallow, 0);
	assert_int_equal(ATTACH(&o, "attach", "wg0", "--allow", "10.1.0.0/16", "--allow=fd00::/8"),
			 0);
	assert_false(o.allow_lan);
	assert_int_equal(o.nallow, 2);
	assert_int_equal(o.allow[0].family, 4);
	assert_int_equal(o.allow[0].len, 16);
	assert_int_equal(o.allow[1].family, 6);
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--allow", "10.1.0.1/16"), "`10.1.0.1/16'");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--allow"), "--allow needs a value");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--allow-lanx"), "`--allow-lanx'");
	/* The kill switch off in disguise. */
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--allow", "0.0.0.0/0"),
			   "cover every IPv4 address");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--allow", "::/0"),
			   "cover every IPv6 address");
	capture_start();
	expect_usage_error(ATTACH(&o, "attach", "wg0", "--allow", "0.0.0.0/1", "--allow",
				  "128.0.0.0/1"), "cover every IPv4 address");
	assert_int_equal(ATTACH(&o, "attach", "wg0", "--allow", "0.0.0.0/1", "--allow", "::/1"), 0);
}

static void test_attach_too_many_allows(void **state)
{
	char *argv[2 + 2 * (MAX_ALLOW_ARGS + 1) + 1];
	struct attach_opts o;
	int argc = 0;

	(void)state;
	argv[argc++] = "attach";
	argv[argc++] = "wg0";
	for (int i = 0; i <= MAX_ALLOW_ARGS; i++) {
		argv[argc++] = "--allow";
		argv[argc++] = "10.0.0.0/8";
	}
	argv[argc] = NULL;
	capture_start();
	expect_usage_error(parse_attach_args(argc, argv, &o), "more than");
}

static void test_lockdown(void **state)
{
	struct lockdown_opts o;

	(void)state;
	assert_int_equal(parse_lockdown_args(2, ARGV("lockdown", "on"), &o), 0);
	assert_true(o.on);
	assert_int_equal(parse_lockdown_args(2, ARGV("lockdown", "off"), &o), 0);
	assert_false(o.on);
	capture_start();
	expect_usage_error(parse_lockdown_args(1, ARGV("lockdown"), &o), "say on or off");
	capture_start();
	expect_usage_error(parse_lockdown_args(2, ARGV("lockdown", "yes"), &o), "say on or off");
	capture_start();
	expect_usage_error(parse_lockdown_args(3, ARGV("lockdown", "on", "off"), &o),
			   "unexpected argument `off'");
}

static void test_ifname_rules(void **state)
{
	(void)state;
	assert_true(valid_ifname("wg0"));
	assert_true(valid_ifname("abcdefghijklmno"));
	assert_false(valid_ifname(""));
	assert_false(valid_ifname("abcdefghijklmnop"));
	assert_false(valid_ifname("."));
	assert_false(valid_ifname(".."));
	assert_false(valid_ifname("a/b"));
	assert_false(valid_ifname("a:b"));
	assert_false(valid_ifname("a\tb"));
}

static void test_detach(void **state)
{
	struct detach_opts o;

	(void)state;
	assert_int_equal(parse_detach_args(1, ARGV("detach"), &o), 0);
	assert_null(o.ifname);
	assert_int_equal(parse_detach_args(2, ARGV("detach", "wg0"), &o), 0);
	assert_string_equal(o.ifname, "wg0");
	assert_int_equal(parse_detach_args(3, ARGV("detach", "--cgroup=/x", "wg0"), &o), 0);
	assert_string_equal(o.cgroup, "/x");
	capture_start();
	expect_usage_error(parse_detach_args(3, ARGV("detach", "wg0", "wg1"), &o),
			   "unexpected argument `wg1'");
	assert_int_equal(parse_detach_args(2, ARGV("detach", "--all"), &o), 0);
	assert_true(o.all);
	assert_null(o.ifname);
	capture_start();
	expect_usage_error(parse_detach_args(3, ARGV("detach", "--all", "wg0"), &o),
			   "exclude each other");
	capture_start();
	expect_usage_error(parse_detach_args(2, ARGV("detach", "--everything"), &o),
			   "`--everything'");
}

static void test_status(void **state)
{
	struct status_opts o;

	(void)state;
	assert_int_equal(parse_status_args(1, ARGV("status"), &o), 0);
	assert_false(o.json);
	assert_int_equal(parse_status_args(2, ARGV("status", "--json"), &o), 0);
	assert_true(o.json);
	capture_start();
	expect_usage_error(parse_status_args(2, ARGV("status", "wg0"), &o),
			   "unexpected argument `wg0'");
	capture_start();
	expect_usage_error(parse_status_args(2, ARGV("status", "--yaml"), &o), "`--yaml'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_plain),
		cmocka_unit_test(test_attach_fwmark_forms),
		cmocka_unit_test(test_attach_errors),
		cmocka_unit_test(test_attach_allow),
		cmocka_unit_test(test_attach_too_many_allows),
		cmocka_unit_test(test_lockdown),
		cmocka_unit_test(test_ifname_rules),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests_name("opts", tests, NULL, NULL);
}
