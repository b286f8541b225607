// SPDX-License-Identifier: GPL-2.0-only
/* parse_fwmark: what `wg show IF fwmark` prints (its newline cut) and what users type. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "fwmark.h"

static void accepts(const char *s, uint32_t want)
{
	uint32_t mark = 0xdeadbeef;

	if (!parse_fwmark(s, &mark))
		fail_msg("rejected `%s'", s);
	assert_int_equal(mark, want);
}

static void rejects(const char *s)
{
	uint32_t mark = 0xdeadbeef;

	if (parse_fwmark(s, &mark))
		fail_msg("accepted `%s' as %u", s, mark);
	assert_int_equal(mark, 0xdeadbeef); /* untouched */
}

static void test_wg_output(void **state)
{
	(void)state;
	accepts("0xca6c", 51820); /* wg prints hex */
	accepts("off", 0);
	accepts("0x1", 1);
	accepts("0xffffffff", UINT32_MAX);
}

static void test_user_input(void **state)
{
	(void)state;
	accepts("51820", 51820);
	accepts("0", 0);
	accepts("off", 0);
	accepts("4294967295", UINT32_MAX);
	accepts("OFF", 0); /* wg takes it in any case */
}

/* Read as wg reads a FwMark: decimal unless "0x", never octal. */
static void test_as_wg_reads_it(void **state)
{
	(void)state;
	accepts("0100", 100);
	accepts("010", 10);
	accepts("00", 0);
	accepts("0x0100", 256);
	accepts("0xCA6C", 51820);
	rejects("08x"); /* not a number in any base */
	rejects("0X10"); /* wg: decimal, and X is no digit */
	rejects("0x-1");
	rejects("0x+1");
	rejects("0x 1");
}

static void test_garbage(void **state)
{
	(void)state;
	rejects(NULL);
	rejects("");
	rejects("   \n");
	rejects("  42  "); /* a blank is a typo, not part of a mark */
	rejects("42\n");
	rejects(" 42");
	rejects("4294967296"); /* 2^32 */
	rejects("0x100000000");
	rejects("99999999999999999999999");
	rejects("-1");
	rejects("+5");
	rejects("0x");
	rejects("12abc");
	rejects("0xcg");
	rejects("offf");
	rejects("on");
	rejects("51820 1");
	rejects("Unable to access interface: Protocol not supported");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wg_output),
		cmocka_unit_test(test_user_input),
		cmocka_unit_test(test_as_wg_reads_it),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests_name("fwmark", tests, NULL, NULL);
}
