// SPDX-License-Identifier: GPL-2.0-only
/* json_string and text_safe: what a name from another user can do to our output. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include "json.h"
#include "json_check.h"

/* json_string(S) as text, in BUF. */
static const char *escaped(const char *s, char *buf, size_t size)
{
	FILE *f = fmemopen(buf, size, "w");

	assert_non_null(f);
	json_string(f, s);
	fclose(f);
	return buf;
}

/* S escaped, read back by a strict reader: WANT. */
static void round_trip(const char *s, const char *want)
{
	char out[512], back[512];

	escaped(s, out, sizeof(out));
	if (!json_check_string(out, strlen(out), back, sizeof(back)))
		fail_msg("`%s' escaped to `%s': not one JSON string", s, out);
	if (strcmp(back, want))
		fail_msg("`%s' escaped to `%s', read back as `%s'", s, out, back);
}

static void test_plain(void **state)
{
	(void)state;
	round_trip("", "");
	round_trip("/system.slice/ssh.service", "/system.slice/ssh.service");
	round_trip("wg0", "wg0");
	round_trip("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92");
}

/* A cgroup named to end the string and forge the fields after it. */
static void test_forgery(void **state)
{
	char out[256];

	(void)state;
	round_trip("x\",\"uid\":0,\"y\":\"", "x\",\"uid\":0,\"y\":\"");
	round_trip("back\\slash\\", "back\\slash\\");
	round_trip("line\nbreak\r\t", "line\nbreak\r\t");
	round_trip("\x1b[2J\x7f", "\x1b[2J\x7f");
	assert_string_equal(escaped("a\"b", out, sizeof(out)), "\"a\\\"b\"");
	assert_string_equal(escaped("\x01", out, sizeof(out)), "\"\\u0001\"");
}

/* Bytes that are not UTF-8 become U+FFFD, one for each. */
static void test_not_utf8(void **state)
{
	(void)state;
	round_trip("\xff", "\xef\xbf\xbd");
	round_trip("a\xc3", "a\xef\xbf\xbd");          /* cut short */
	round_trip("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"); /* overlong '/' */
	round_trip("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate */
	round_trip("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_text_safe(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(text_safe("/user.slice", buf, sizeof(buf)), "/user.slice");
	assert_string_equal(text_safe("a\nb\x1b[2J", buf, sizeof(buf)), "a?b?[2J");
	assert_string_equal(text_safe("\xc2\x9b" "1m", buf, sizeof(buf)), "?1m"); /* 8-bit CSI */
	assert_string_equal(text_safe("caf\xc3\xa9", buf, sizeof(buf)), "caf\xc3\xa9");
	assert_string_equal(text_safe("\xff\xfe", buf, sizeof(buf)), "??");
	/* Cut to the buffer, never in the middle of a character. */
	assert_string_equal(text_safe("0123456789abcd\xc3\xa9", buf, sizeof(buf)), "0123456789abcd?");
	assert_string_equal(text_safe("0123456789abcdefgh", buf, sizeof(buf)), "0123456789abcde");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_forgery),
		cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_text_safe),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
