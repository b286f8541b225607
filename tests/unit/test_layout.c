// SPDX-License-Identifier: GPL-2.0-only
/*
 * Map layouts by their BTF (loader/layout.c): told apart when only the
 * names say so (two fields swapped, every size the same), and a value
 * carried across by field names: the policy of the previous release into
 * this one's (the new BTF is the embedded object's own), a wrapper struct
 * introduced, arrays that grow or shrink, integers that widen or narrow,
 * and what cannot be carried (a field that is set and has no place, kinds
 * that differ, a bitfield, a union that changed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "killswitch.skel.h"
#include "layout.h"
#include "wgks.h"

/* The previous release's policy (d9b4260), as C and as its BTF. */
struct old_tunnel {
	char name[WGKS_IFNAMSIZ];
	__u32 ifindex;
	__u32 fwmark;
};

struct old_policy {
	__u32 ntunnels;
	__u32 flags;
	__u32 counters;
	struct old_tunnel tunnels[WGKS_MAX_TUNNELS];
	struct bpf_spin_lock lock;
};

#define BITS(type, field) ((__u32)offsetof(type, field) * 8)

struct types {
	int u8, u16, u32, s32, u64, chr, lock;
};

static struct btf *new_btf(struct types *t)
{
	struct btf *b = btf__new_empty();

	assert_non_null(b);
	t->u8 = btf__add_int(b, "unsigned char", 1, 0);
	t->u16 = btf__add_int(b, "short unsigned int", 2, 0);
	t->u32 = btf__add_int(b, "unsigned int", 4, 0);
	t->s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	t->u64 = btf__add_int(b, "long long unsigned int", 8, 0);
	t->chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED | BTF_INT_CHAR);
	t->lock = btf__add_struct(b, "bpf_spin_lock", 4);
	btf__add_field(b, "val", t->u32, 0, 0);
	return b;
}

enum old_kind { OLD_RELEASE, OLD_RENAMED, OLD_INT_IS_STRUCT, OLD_BITFIELD };

/* struct old_policy's BTF; OLD_RENAMED calls fwmark `mark`. Returns the policy's id. */
static int old_policy_btf(struct btf **out, enum old_kind how)
{
	struct types t;
	struct btf *b = new_btf(&t);
	int name, tun, tuns, pol;

	name = btf__add_array(b, t.u32, t.chr, WGKS_IFNAMSIZ);
	tun = btf__add_struct(b, "wgks_tunnel", sizeof(struct old_tunnel));
	btf__add_field(b, "name", name, BITS(struct old_tunnel, name), 0);
	btf__add_field(b, "ifindex", how == OLD_INT_IS_STRUCT ? t.lock : t.u32,
		       BITS(struct old_tunnel, ifindex), 0);
	btf__add_field(b, how == OLD_RENAMED ? "mark" : "fwmark", t.u32,
		       BITS(struct old_tunnel, fwmark), how == OLD_BITFIELD ? 20 : 0);
	tuns = btf__add_array(b, t.u32, tun, WGKS_MAX_TUNNELS);
	pol = btf__add_struct(b, "wgks_policy", sizeof(struct old_policy));
	btf__add_field(b, "ntunnels", t.u32, BITS(struct old_policy, ntunnels), 0);
	btf__add_field(b, "flags", t.u32, BITS(struct old_policy, flags), 0);
	btf__add_field(b, "counters", t.u32, BITS(struct old_policy, counters), 0);
	btf__add_field(b, "tunnels", tuns, BITS(struct old_policy, tunnels), 0);
	btf__add_field(b, "lock", t.lock, BITS(struct old_policy, lock), 0);
	assert_true(pol > 0);
	*out = b;
	return pol;
}

/* This build's maps, from the object it embeds (opened, never loaded). */
struct ours {
	struct killswitch_bpf *skel;
	const struct btf *btf;
};

static int open_ours(void **state)
{
	struct ours *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	o->skel = killswitch_bpf__open();
	assert_non_null(o->skel);
	o->btf = bpf_object__btf(o->skel->obj);
	assert_non_null(o->btf);
	*state = o;
	return 0;
}

static int close_ours(void **state)
{
	struct ours *o = *state;

	killswitch_bpf__destroy(o->skel);
	free(o);
	return 0;
}

static uint32_t policy_id(const struct ours *o)
{
	return bpf_map__btf_value_type_id(o->skel->maps.wgks_policy);
}

static void fill_old(struct old_policy *v)
{
	memset(v, 0, sizeof(*v));
	v->ntunnels = 4;
	v->flags = WGKS_F_LOCKDOWN | WGKS_F_ENDPOINTS;
	v->counters = 17;
	strcpy(v->tunnels[0].name, "wg0");
	v->tunnels[0].ifindex = 7;
	v->tunnels[0].fwmark = 0xca6c;
	strcpy(v->tunnels[3].name, "wg-fwmark-off");
	v->tunnels[3].ifindex = 9;
}

/* The previous release into this one: a wrapper (rules) came, and four tunnel fields. */
static void test_previous_release_carried_by_name(void **state)
{
	struct ours *o = *state;
	struct layout_plan p;
	struct old_policy old;
	struct wgks_policy now;
	struct btf *ob;
	int old_id = old_policy_btf(&ob, OLD_RELEASE);
	char why[200] = "";

	assert_false(layout_equal(ob, (uint32_t)old_id, o->btf, policy_id(o)));
	assert_int_equal(layout_plan(&p, ob, (uint32_t)old_id, o->btf, policy_id(o)), 0);
	assert_int_equal(p.old_size, sizeof(old));
	assert_int_equal(p.new_size, sizeof(now));
	assert_int_equal(p.ndropped, 0);
	assert_int_equal(p.nmissing, 4);
	assert_true(layout_missing(&p, "rules.tunnels[].flags"));
	assert_true(layout_missing(&p, "rules.tunnels[].listen_port"));
	assert_true(layout_missing(&p, "rules.tunnels[].pad"));
	assert_true(layout_missing(&p, "rules.tunnels[].sockets[]"));
	assert_false(layout_missing(&p, "rules.tunnels[].fwmark"));
	assert_false(layout_missing(&p, "lock"));

	fill_old(&old);
	memset(&now, 0xff, sizeof(now));
	assert_int_equal(layout_apply(&p, &old, &now, why, sizeof(why)), 0);
	assert_int_equal(now.rules.ntunnels, 4);
	assert_int_equal(now.rules.flags, WGKS_F_LOCKDOWN | WGKS_F_ENDPOINTS);
	assert_int_equal(now.rules.counters, 17);
	assert_string_equal(now.rules.tunnels[0].name, "wg0");
	assert_int_equal(now.rules.tunnels[0].ifindex, 7);
	assert_int_equal(now.rules.tunnels[0].fwmark, 0xca6c);
	assert_string_equal(now.rules.tunnels[3].name, "wg-fwmark-off");
	assert_int_equal(now.rules.tunnels[3].ifindex, 9);
	assert_int_equal(now.rules.tunnels[3].fwmark, 0);
	/* What the old layout lacks is zero, never left over. */
	for (int i = 0; i < WGKS_MAX_TUNNELS; i++) {
		assert_int_equal(now.rules.tunnels[i].flags, 0);
		assert_int_equal(now.rules.tunnels[i].listen_port, 0);
		assert_int_equal(now.rules.tunnels[i].sockets[0], 0);
		assert_int_equal(now.rules.tunnels[i].sockets[1], 0);
	}
	assert_int_equal(now.rules.tunnels[1].name[0], 0);
	layout_free(&p);
	btf__free(ob);
}

/* Its own layout: equal, and the plan copies every byte where it is. */
static void test_own_layout_is_equal(void **state)
{
	struct ours *o = *state;
	struct layout_plan p;
	struct wgks_policy a, b;

	assert_true(layout_equal(o->btf, policy_id(o), o->btf, policy_id(o)));
	assert_int_equal(layout_plan(&p, o->btf, policy_id(o), o->btf, policy_id(o)), 0);
	assert_int_equal(p.ndropped, 0);
	assert_int_equal(p.nmissing, 0);
	for (size_t i = 0; i < p.nops; i++)
		assert_int_equal(p.ops[i].old_off, p.ops[i].new_off);
	memset(&a, 0, sizeof(a));
	a.rules.ntunnels = 2;
	a.rules.tunnels[1].sockets[1] = 0x1122334455667788ull;
	a.rules.tunnels[1].listen_port = 51820;
	strcpy(a.rules.tunnels[1].name, "wg1");
	assert_int_equal(layout_apply(&p, &a, &b, NULL, 0), 0);
	assert_memory_equal(&a.rules, &b.rules, sizeof(a.rules));
	layout_free(&p);
}

/* Two fields swapped: every size the same, only the BTF tells, and the plan follows names. */
static void test_swapped_fields_same_size(void **state)
{
	struct types t;
	struct btf *a = new_btf(&t), *b;
	struct layout_plan p;
	int sa, sb;
	__u32 before[3] = { 11, 22, 33 }, after[3];

	(void)state;
	sa = btf__add_struct(a, "tunnel", 12);
	btf__add_field(a, "ifindex", t.u32, 0, 0);
	btf__add_field(a, "fwmark", t.u32, 32, 0);
	btf__add_field(a, "flags", t.u32, 64, 0);
	b = new_btf(&t);
	sb = btf__add_struct(b, "tunnel", 12);
	btf__add_field(b, "fwmark", t.u32, 0, 0);
	btf__add_field(b, "ifindex", t.u32, 32, 0);
	btf__add_field(b, "flags", t.u32, 64, 0);
	assert_true(layout_equal(a, (uint32_t)sa, a, (uint32_t)sa));
	assert_false(layout_equal(a, (uint32_t)sa, b, (uint32_t)sb));
	assert_int_equal(layout_plan(&p, a, (uint32_t)sa, b, (uint32_t)sb), 0);
	assert_int_equal(p.old_size, p.new_size);
	assert_int_equal(p.nmissing + p.ndropped, 0);
	assert_int_equal(layout_apply(&p, before, after, NULL, 0), 0);
	assert_int_equal(after[0], 22); /* fwmark */
	assert_int_equal(after[1], 11); /* ifindex */
	assert_int_equal(after[2], 33);
	layout_free(&p);
	btf__free(a);
	btf__free(b);
}

/* A field renamed: the new name is missing, the old one has no place: set, it cannot be carried. */
static void test_renamed_field_cannot_be_carried(void **state)
{
	struct ours *o = *state;
	struct layout_plan p;
	struct old_policy old;
	struct wgks_policy now;
	struct btf *ob;
	int old_id = old_policy_btf(&ob, OLD_RENAMED);
	char why[200] = "";

	assert_int_equal(layout_plan(&p, ob, (uint32_t)old_id, o->btf, policy_id(o)), 0);
	assert_true(layout_missing(&p, "rules.tunnels[].fwmark"));
	assert_int_equal(p.ndropped, WGKS_MAX_TUNNELS);
	assert_string_equal(p.dropped[0].path, "tunnels[].mark");
	fill_old(&old);
	assert_int_equal(layout_apply(&p, &old, &now, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "tunnels[].mark is set"));
	/* Not set anywhere: nothing is lost, it carries. */
	old.tunnels[0].fwmark = 0;
	assert_int_equal(layout_apply(&p, &old, &now, why, sizeof(why)), 0);
	assert_int_equal(now.rules.tunnels[0].ifindex, 7);
	layout_free(&p);
	btf__free(ob);
}

/* Kinds that differ, or a bitfield: no plan, and the reason names the field. */
static void test_unconvertible_layouts(void **state)
{
	struct ours *o = *state;
	struct layout_plan p;
	struct btf *ob;
	int old_id = old_policy_btf(&ob, OLD_INT_IS_STRUCT);

	assert_int_equal(layout_plan(&p, ob, (uint32_t)old_id, o->btf, policy_id(o)), -1);
	assert_non_null(strstr(p.why, "rules.tunnels[].ifindex"));
	layout_free(&p);
	btf__free(ob);
	old_id = old_policy_btf(&ob, OLD_BITFIELD);
	assert_int_equal(layout_plan(&p, ob, (uint32_t)old_id, o->btf, policy_id(o)), -1);
	assert_non_null(strstr(p.why, "bitfield"));
	layout_free(&p);
	btf__free(ob);
}

/* Counters: 8 reasons then 16; back to 8 only if the others were never counted. */
static void test_arrays_grow_and_shrink(void **state)
{
	struct types t;
	struct btf *a = new_btf(&t), *b;
	struct layout_plan p, back;
	int arr8, arr16, s8, s16;
	__u64 small[2][8] = { { 0 } }, big[2][16];
	char why[200] = "";

	(void)state;
	arr8 = btf__add_array(a, t.u32, t.u64, 8);
	s8 = btf__add_struct(a, "wgks_counters", sizeof(small));
	btf__add_field(a, "packets", arr8, 0, 0);
	btf__add_field(a, "bytes", arr8, 8 * 64, 0);
	b = new_btf(&t);
	arr16 = btf__add_array(b, t.u32, t.u64, 16);
	s16 = btf__add_struct(b, "wgks_counters", sizeof(big));
	btf__add_field(b, "packets", arr16, 0, 0);
	btf__add_field(b, "bytes", arr16, 16 * 64, 0);
	for (int i = 0; i < 8; i++) {
		small[0][i] = 100 + (__u64)i;
		small[1][i] = 1000 + (__u64)i;
	}
	assert_int_equal(layout_plan(&p, a, (uint32_t)s8, b, (uint32_t)s16), 0);
	assert_int_equal(p.nmissing + p.ndropped, 0);
	assert_int_equal(layout_apply(&p, small, big, why, sizeof(why)), 0);
	assert_int_equal(big[0][7], 107);
	assert_int_equal(big[1][0], 1000);
	assert_int_equal(big[0][8], 0);
	assert_int_equal(big[1][15], 0);
	assert_int_equal(layout_plan(&back, b, (uint32_t)s16, a, (uint32_t)s8), 0);
	assert_int_equal(back.ndropped, 16);
	assert_int_equal(layout_apply(&back, big, small, why, sizeof(why)), 0);
	assert_int_equal(small[1][7], 1007);
	big[1][12] = 5;
	assert_int_equal(layout_apply(&back, big, small, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "bytes[]"));
	layout_free(&p);
	layout_free(&back);
	btf__free(a);
	btf__free(b);
}

/* Integers widen; they narrow only while the value fits; signed ones keep their sign. */
static void test_integers_widen_and_narrow(void **state)
{
	struct types t;
	struct btf *a = new_btf(&t), *b;
	struct layout_plan p, back;
	struct { __u16 port; __u16 pad; __s32 delta; } narrow = { 51820, 0, -5 }, n2;
	struct { __u32 port; __s32 pad_; __s64 delta; } wide;
	int sa, sb, s64;
	char why[200] = "";

	(void)state;
	sa = btf__add_struct(a, "x", sizeof(narrow));
	btf__add_field(a, "port", t.u16, 0, 0);
	btf__add_field(a, "delta", t.s32, 32, 0);
	b = new_btf(&t);
	s64 = btf__add_int(b, "long long int", 8, BTF_INT_SIGNED);
	sb = btf__add_struct(b, "x", sizeof(wide));
	btf__add_field(b, "port", t.u32, 0, 0);
	btf__add_field(b, "delta", s64, 64, 0);
	assert_int_equal(layout_plan(&p, a, (uint32_t)sa, b, (uint32_t)sb), 0);
	assert_int_equal(layout_apply(&p, &narrow, &wide, why, sizeof(why)), 0);
	assert_int_equal(wide.port, 51820);
	assert_true(wide.delta == -5);
	assert_int_equal(layout_plan(&back, b, (uint32_t)sb, a, (uint32_t)sa), 0);
	assert_int_equal(layout_apply(&back, &wide, &n2, why, sizeof(why)), 0);
	assert_int_equal(n2.port, 51820);
	assert_int_equal(n2.delta, -5);
	wide.port = 70000;
	assert_int_equal(layout_apply(&back, &wide, &n2, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "port holds 70000"));
	layout_free(&p);
	layout_free(&back);
	btf__free(a);
	btf__free(b);
}

/* Lockdown off on maps it cannot take over: flags found by name, wrapper or not, not in arrays. */
static void test_find_field(void **state)
{
	struct ours *o = *state;
	struct btf *ob;
	int old_id = old_policy_btf(&ob, OLD_RELEASE);
	uint32_t off, size;

	assert_int_equal(layout_find(ob, (uint32_t)old_id, "flags", &off, &size), 0);
	assert_int_equal(off, offsetof(struct old_policy, flags));
	assert_int_equal(size, 4);
	assert_int_equal(layout_find(o->btf, policy_id(o), "flags", &off, &size), 0);
	assert_int_equal(off, offsetof(struct wgks_policy, rules.flags));
	assert_int_equal(layout_find(o->btf, policy_id(o), "ntunnels", &off, &size), 0);
	assert_int_equal(off, offsetof(struct wgks_policy, rules.ntunnels));
	/* Only inside the tunnels' array: not found. */
	assert_int_equal(layout_find(o->btf, policy_id(o), "listen_port", &off, &size), -1);
	btf__free(ob);
}

/* A union is carried only if it did not change. */
static void test_unions(void **state)
{
	struct types t;
	struct btf *a = new_btf(&t);
	struct layout_plan p;
	int u1, u2, s1, s2;
	__u64 v = 0x0102030405060708ull, out;

	(void)state;
	u1 = btf__add_union(a, "u", 8);
	btf__add_field(a, "x", t.u64, 0, 0);
	btf__add_field(a, "y", t.u32, 0, 0);
	s1 = btf__add_struct(a, "s", 8);
	btf__add_field(a, "u", u1, 0, 0);
	u2 = btf__add_union(a, "u", 8);
	btf__add_field(a, "x", t.u64, 0, 0);
	btf__add_field(a, "z", t.u32, 0, 0);
	s2 = btf__add_struct(a, "s", 8);
	btf__add_field(a, "u", u2, 0, 0);
	assert_int_equal(layout_plan(&p, a, (uint32_t)s1, a, (uint32_t)s1), 0);
	assert_int_equal(layout_apply(&p, &v, &out, NULL, 0), 0);
	assert_true(out == v);
	layout_free(&p);
	assert_int_equal(layout_plan(&p, a, (uint32_t)s1, a, (uint32_t)s2), -1);
	assert_non_null(strstr(p.why, "union that changed"));
	layout_free(&p);
	btf__free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_previous_release_carried_by_name, open_ours,
						close_ours),
		cmocka_unit_test_setup_teardown(test_own_layout_is_equal, open_ours, close_ours),
		cmocka_unit_test(test_swapped_fields_same_size),
		cmocka_unit_test_setup_teardown(test_renamed_field_cannot_be_carried, open_ours,
						close_ours),
		cmocka_unit_test_setup_teardown(test_unconvertible_layouts, open_ours, close_ours),
		cmocka_unit_test(test_arrays_grow_and_shrink),
		cmocka_unit_test(test_integers_widen_and_narrow),
		cmocka_unit_test_setup_teardown(test_find_field, open_ours, close_ours),
		cmocka_unit_test(test_unions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
