// SPDX-License-Identifier: GPL-2.0-only
/* Editing one namespace's policy: add, replace, remove, stable slots, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "policy.h"

/* The entry for NAME, or NULL: what the tests look at. */
static const struct wgks_tunnel *find(const struct wgks_policy *p, const char *name)
{
	for (int i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (p->rules.tunnels[i].name[0] && !strncmp(p->rules.tunnels[i].name, name, WGKS_IFNAMSIZ))
			return &p->rules.tunnels[i];
	}
	return NULL;
}

static void test_add_and_find(void **state)
{
	struct wgks_policy p = { 0 };
	const struct wgks_tunnel *t;

	(void)state;
	assert_int_equal(policy_set_tunnel(&p, "wg0", 5, 51820), 0);
	assert_int_equal(policy_set_tunnel(&p, "wg1", 6, 51821), 1);
	assert_int_equal(p.rules.ntunnels, 2);
	assert_int_equal(policy_count_tunnels(&p), 2);
	t = find(&p, "wg1");
	assert_non_null(t);
	assert_int_equal(t->ifindex, 6);
	assert_int_equal(t->fwmark, 51821);
	assert_null(find(&p, "wg2"));
	assert_null(find(&p, ""));
}

static void test_same_name_keeps_slot(void **state)
{
	struct wgks_policy p = { 0 };

	(void)state;
	policy_set_tunnel(&p, "wg0", 5, 51820);
	policy_set_tunnel(&p, "wg1", 6, 51821);
	/* Interface recreated: new ifindex, attach again, same slot. */
	assert_int_equal(policy_set_tunnel(&p, "wg0", 9, 1234), 0);
	assert_int_equal(policy_count_tunnels(&p), 2);
	assert_int_equal(p.rules.tunnels[0].ifindex, 9);
	assert_int_equal(p.rules.tunnels[0].fwmark, 1234);
}

static void test_same_ifindex_replaces(void **state)
{
	struct wgks_policy p = { 0 };

	(void)state;
	policy_set_tunnel(&p, "wg0", 5, 51820);
	/* Renamed interface: the old name must not keep its ifindex open. */
	policy_set_tunnel(&p, "vpn", 5, 51820);
	assert_int_equal(policy_count_tunnels(&p), 1);
	assert_non_null(find(&p, "vpn"));
	assert_null(find(&p, "wg0"));
}

static void test_full(void **state)
{
	struct wgks_policy p = { 0 };
	char name[16];

	(void)state;
	for (int i = 0; i < WGKS_MAX_TUNNELS; i++) {
		snprintf(name, sizeof(name), "wg%d", i);
		assert_int_equal(policy_set_tunnel(&p, name, 10 + i, 100 + i), i);
	}
	assert_int_equal(policy_set_tunnel(&p, "wg99", 99, 1), -1);
	assert_int_equal(p.rules.ntunnels, WGKS_MAX_TUNNELS);
	/* Updating one that is there still works when full. */
	assert_int_equal(policy_set_tunnel(&p, "wg3", 77, 7), 3);
	assert_int_equal(find(&p, "wg3")->ifindex, 77);
}

static void test_slots_do_not_move(void **state)
{
	struct wgks_policy p = { 0 };

	(void)state;
	policy_set_tunnel(&p, "a", 1, 11);
	policy_set_tunnel(&p, "b", 2, 12);
	policy_set_tunnel(&p, "c", 3, 13);
	assert_int_equal(policy_remove_tunnel(&p, "b"), 1);
	assert_int_equal(policy_remove_tunnel(&p, "b"), -1);
	assert_int_equal(policy_count_tunnels(&p), 2);
	assert_string_equal(p.rules.tunnels[0].name, "a");
	assert_string_equal(p.rules.tunnels[2].name, "c");
	/* The freed slot is zeroed: ifindex 0 and fwmark 0 match no packet. */
	assert_int_equal(p.rules.tunnels[1].ifindex, 0);
	assert_int_equal(p.rules.tunnels[1].fwmark, 0);
	assert_int_equal(p.rules.ntunnels, 3);
	/* A new tunnel takes the hole. */
	assert_int_equal(policy_set_tunnel(&p, "d", 4, 14), 1);
	/* Removing the last used slot shrinks what the program looks at. */
	assert_int_equal(policy_remove_tunnel(&p, "c"), 2);
	assert_int_equal(p.rules.ntunnels, 2);
	assert_int_equal(policy_remove_tunnel(&p, "a"), 0);
	assert_int_equal(policy_remove_tunnel(&p, "d"), 1);
	assert_int_equal(p.rules.ntunnels, 0);
}

static void test_remove_all(void **state)
{
	struct wgks_policy p = { .rules = { .flags = WGKS_F_LOCKDOWN } };

	(void)state;
	policy_set_tunnel(&p, "a", 1, 11);
	policy_set_tunnel(&p, "b", 2, 12);
	policy_remove_all_tunnels(&p);
	assert_int_equal(policy_count_tunnels(&p), 0);
	assert_int_equal(p.rules.ntunnels, 0);
	assert_int_equal(p.rules.tunnels[1].ifindex, 0);
	assert_int_equal(p.rules.tunnels[1].fwmark, 0);
	assert_int_equal(p.rules.flags, WGKS_F_LOCKDOWN); /* lockdown stays */
	assert_false(policy_is_empty(&p));
}

static void test_empty_and_lockdown(void **state)
{
	struct wgks_policy p = { 0 };

	(void)state;
	assert_true(policy_is_empty(&p));
	p.rules.flags = WGKS_F_LOCKDOWN;
	assert_false(policy_is_empty(&p));
	p.rules.flags = WGKS_F_ALLOW; /* allowances alone protect nothing */
	assert_true(policy_is_empty(&p));
	policy_set_tunnel(&p, "wg0", 1, 1);
	assert_false(policy_is_empty(&p));
}

static void test_long_name(void **state)
{
	struct wgks_policy p = { 0 };

	(void)state;
	policy_set_tunnel(&p, "abcdefghijklmno", 1, 1); /* 15: the longest */
	assert_string_equal(p.rules.tunnels[0].name, "abcdefghijklmno");
	assert_non_null(find(&p, "abcdefghijklmno"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_find),
		cmocka_unit_test(test_same_name_keeps_slot),
		cmocka_unit_test(test_same_ifindex_replaces),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_slots_do_not_move),
		cmocka_unit_test(test_remove_all),
		cmocka_unit_test(test_empty_and_lockdown),
		cmocka_unit_test(test_long_name),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
