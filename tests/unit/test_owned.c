// SPDX-License-Identifier: GPL-2.0-only
/*
 * Entries that tunnel slots own (loader/owned.c), staged without a map: the
 * same key staged again is the same entry, for endpoint keys too (the
 * largest, 32 bytes), so that dropping a slot's ownership and staging it
 * anew (a re-attach) leaves one entry that stays, and dropping it alone
 * (a detach) leaves one entry to delete by its own key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "owned.h"

static void endpoint(struct wgks_endpoint_key *k, uint8_t last)
{
	memset(k, 0, sizeof(*k));
	k->netns = 0x1122334455667788ull;
	k->family = 4;
	k->port = 0x2cca;
	k->addr[0] = 192;
	k->addr[3] = last;
}

static void test_key_fits(void **state)
{
	(void)state;
	assert_true(OWNED_KEY_MAX >= sizeof(struct wgks_endpoint_key));
	assert_true(OWNED_KEY_MAX >= sizeof(struct wgks_allow4_key));
	assert_true(OWNED_KEY_MAX >= sizeof(struct wgks_allow6_key));
}

/* As read from the map: owned by slot 0, then a re-attach of that slot stages it again. */
static void test_restaged_endpoint_is_one_entry(void **state)
{
	struct owned_set s = { .fd = -1, .kind = OWNED_ENDPOINTS,
			       .key_size = sizeof(struct wgks_endpoint_key) };
	struct wgks_endpoint_key k, other;

	(void)state;
	endpoint(&k, 1);
	endpoint(&other, 2);
	assert_int_equal(owned_stage(&s, &k, 0), 0);
	s.e[0].old_owners = s.e[0].new_owners = 1; /* what owned_read() finds */
	owned_drop_slots(&s, 1u << 0);
	assert_false(owned_any(&s));
	assert_int_equal(owned_stage(&s, &k, 0), 0);
	assert_int_equal(owned_stage(&s, &other, 1), 0);
	assert_int_equal(s.n, 2);
	/* Owned before and after: neither written again nor removed. */
	assert_int_equal(s.e[0].old_owners, 1);
	assert_int_equal(s.e[0].new_owners, 1);
	assert_memory_equal(s.e[0].key, &k, sizeof(k));
	assert_int_equal(s.e[1].new_owners, 2);
	owned_free(&s);
}

/* A detach: the entry's own key stays whole, whatever its owners. */
static void test_key_survives_owners(void **state)
{
	struct owned_set s = { .fd = -1, .kind = OWNED_ENDPOINTS,
			       .key_size = sizeof(struct wgks_endpoint_key) };
	struct wgks_endpoint_key k;

	(void)state;
	endpoint(&k, 7);
	assert_int_equal(owned_stage(&s, &k, 3), 0);
	s.e[0].old_owners = 0xffffffffu;
	owned_drop_slots(&s, ~0u);
	assert_memory_equal(s.e[0].key, &k, sizeof(k));
	owned_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_fits),
		cmocka_unit_test(test_restaged_endpoint_is_one_entry),
		cmocka_unit_test(test_key_survives_owners),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
