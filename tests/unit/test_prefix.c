// SPDX-License-Identifier: GPL-2.0-only
/* Prefixes (--allow), endpoints (`wg show IF endpoints`) and their map keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "keys.h"
#include "prefix.h"

static void prefix_is(const char *s, int family, int len, const char *back)
{
	struct prefix p;
	char text[64];

	if (!parse_prefix(s, &p))
		fail_msg("rejected `%s'", s);
	assert_int_equal(p.family, family);
	assert_int_equal(p.len, len);
	format_prefix(&p, text, sizeof(text));
	assert_string_equal(text, back);
}

static void test_prefixes(void **state)
{
	(void)state;
	prefix_is("10.0.0.0/8", 4, 8, "10.0.0.0/8");
	prefix_is("192.168.1.7", 4, 32, "192.168.1.7/32");
	prefix_is("0.0.0.0/0", 4, 0, "0.0.0.0/0");
	prefix_is("fd00::/8", 6, 8, "fd00::/8");
	prefix_is("fe80::1", 6, 128, "fe80::1/128");
	prefix_is("::/0", 6, 0, "::/0");
}

static void test_bad_prefixes(void **state)
{
	const char *bad[] = { "", "10.0.0.0/", "10.0.0.0/33", "10.0.0.1/8", "fd00::1/8",
			      "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0/8", "::/129", "host/8",
			      "10.0.0.0/ 8", "10.0.0.0/+8", NULL };
	struct prefix p;

	(void)state;
	for (int i = 0; bad[i]; i++) {
		if (parse_prefix(bad[i], &p))
			fail_msg("accepted `%s'", bad[i]);
	}
	assert_false(parse_prefix(NULL, &p));
}

static void test_lan_prefixes_parse(void **state)
{
	struct prefix p;

	(void)state;
	for (int i = 0; lan_prefixes[i]; i++) {
		if (!parse_prefix(lan_prefixes[i], &p))
			fail_msg("built-in `%s' does not parse", lan_prefixes[i]);
	}
}

/*
 * Exactly what README.md ("Allow LAN") promises: one more prefix, or a wider
 * one, would let traffic leave off the tunnel that the user did not allow.
 */
static void test_lan_prefixes_exactly(void **state)
{
	static const char *const want[] = {
		"10.0.0.0/8",	  "172.16.0.0/12", "192.168.0.0/16",	 "169.254.0.0/16",
		"224.0.0.0/24",	  "239.255.255.250/32",		  "255.255.255.255/32",
		"fc00::/7",	  "fe80::/10",	   "ff02::/16",
	};
	size_t n = 0;

	(void)state;
	while (lan_prefixes[n])
		n++;
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(lan_prefixes[i], want[i]);
}

/* cover("10.0.0.0/8", "fd00::/8", NULL): whether the list covers all of FAMILY. */
static bool cover(int family, ...)
{
	struct prefix ps[16];
	const char *s;
	va_list ap;
	int n = 0;

	va_start(ap, family);
	while ((s = va_arg(ap, const char *)) && n < 16)
		assert_true(parse_prefix(s, &ps[n++]));
	va_end(ap);
	return prefixes_cover_family(ps, n, family);
}

static void test_cover_family(void **state)
{
	(void)state;
	assert_true(cover(4, "0.0.0.0/0", NULL));
	assert_true(cover(6, "::/0", NULL));
	assert_true(cover(4, "0.0.0.0/1", "128.0.0.0/1", NULL));
	assert_true(cover(6, "::/1", "8000::/1", NULL));
	assert_true(cover(4, "128.0.0.0/1", "10.0.0.0/8", "0.0.0.0/2", "64.0.0.0/2", NULL));
	assert_true(cover(4, "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/3", NULL));
	/* Halving down to a /9: all of it, then one /9 short of it. */
	assert_true(cover(4, "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4",
			  "240.0.0.0/5", "248.0.0.0/6", "252.0.0.0/7", "254.0.0.0/8",
			  "255.0.0.0/9", "255.128.0.0/9", NULL));
	assert_false(cover(4, "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4",
			   "240.0.0.0/5", "248.0.0.0/6", "252.0.0.0/7", "254.0.0.0/8",
			   "255.0.0.0/9", NULL));
	/* Down to single addresses: 0.0.0.0/1 and all but 255.255.255.255. */
	assert_false(cover(4, "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4",
			   "240.0.0.0/5", "248.0.0.0/6", "252.0.0.0/7", "254.0.0.0/8",
			   "255.0.0.0/9", "255.128.0.0/10", "255.192.0.0/11", "255.224.0.0/12",
			   "255.240.0.0/13", "255.248.0.0/14", "255.252.0.0/15", NULL));
	assert_false(cover(4, "0.0.0.0/1", NULL));
	assert_false(cover(4, "0.0.0.0/1", "192.0.0.0/2", NULL));
	assert_false(cover(4, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", NULL));
	assert_false(cover(4, NULL));
	/* The other family's /0 says nothing about this one. */
	assert_false(cover(4, "::/0", NULL));
	assert_false(cover(6, "0.0.0.0/0", NULL));
	assert_false(cover(6, "::/1", "8000::/2", NULL));
	/* Every LAN prefix of allow-LAN together covers neither family. */
	{
		struct prefix ps[16];
		int n = 0;

		for (int i = 0; lan_prefixes[i]; i++)
			assert_true(parse_prefix(lan_prefixes[i], &ps[n++]));
		assert_false(prefixes_cover_family(ps, n, 4));
		assert_false(prefixes_cover_family(ps, n, 6));
	}
}

static void test_endpoints(void **state)
{
	struct endpoint e;
	char text[64];

	(void)state;
	assert_true(parse_endpoint("198.51.100.7:51820", &e));
	assert_int_equal(e.family, 4);
	assert_int_equal(e.port, 51820);
	format_endpoint(&e, text, sizeof(text));
	assert_string_equal(text, "198.51.100.7:51820");
	assert_true(parse_endpoint("[fd77::1]:51900", &e));
	assert_int_equal(e.family, 6);
	format_endpoint(&e, text, sizeof(text));
	assert_string_equal(text, "[fd77::1]:51900");
	assert_false(parse_endpoint("fd77::1:51900", &e)); /* v6 needs brackets */
	assert_false(parse_endpoint("[10.0.0.1]:1", &e));  /* v4 must not have them */
	assert_false(parse_endpoint("10.0.0.1", &e));
	assert_false(parse_endpoint("10.0.0.1:0", &e));
	assert_false(parse_endpoint("10.0.0.1:65536", &e));
	assert_false(parse_endpoint("10.0.0.1:51820x", &e));
	assert_false(parse_endpoint("[fd77::1]51900", &e));
	assert_false(parse_endpoint("vpn.example.net:51820", &e));
	assert_false(parse_endpoint(":51820", &e));
	assert_false(parse_endpoint(NULL, &e));
}

static void test_keys_round_trip(void **state)
{
	struct wgks_allow4_key k4;
	struct wgks_allow6_key k6;
	struct wgks_endpoint_key ke;
	uint64_t netns = 0x1122334455667788ull;
	struct prefix p, back;
	struct endpoint e, eback;

	(void)state;
	parse_prefix("10.0.0.0/8", &p);
	assert_int_equal(allow_key(netns, &p, &k4), sizeof(k4));
	assert_int_equal(k4.prefixlen, 64 + 8);
	assert_int_equal(key_netns(&k4, 1), netns);
	prefix_from_key(4, &k4, &back);
	assert_memory_equal(&p, &back, sizeof(p));
	parse_prefix("fe80::/10", &p);
	assert_int_equal(allow_key(netns, &p, &k6), sizeof(k6));
	assert_int_equal(k6.prefixlen, 64 + 10);
	prefix_from_key(6, &k6, &back);
	assert_memory_equal(&p, &back, sizeof(p));
	parse_endpoint("198.51.100.7:51820", &e);
	endpoint_key(netns, &e, &ke);
	assert_int_equal(key_netns(&ke, 0), netns);
	assert_int_equal(ke.port, __builtin_bswap16(51820)); /* network order, as on the wire */
	endpoint_from_key(&ke, &eback);
	assert_memory_equal(&e, &eback, sizeof(e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_bad_prefixes),
		cmocka_unit_test(test_lan_prefixes_parse),
		cmocka_unit_test(test_lan_prefixes_exactly),
		cmocka_unit_test(test_cover_family),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_keys_round_trip),
	};

	return cmocka_run_group_tests_name("prefix", tests, NULL, NULL);
}
