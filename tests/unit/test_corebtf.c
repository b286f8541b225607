// SPDX-License-Identifier: GPL-2.0-only
/*
 * The minimal BTF for CO-RE (loader/corebtf.c): the fields it keeps, with
 * their offsets through typedefs and anonymous unions, from a made-up
 * kernel BTF; and the cache file: made private, reused, replaced when it
 * cannot be trusted (those need root: the directory must be root's).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/btf.h>
#include "corebtf.h"

/*
 * A kernel of our own making: the fields at other offsets than any real
 * kernel's, sk_dst_cache inside an anonymous union, a bitfield before
 * sk_mark, and unrelated members around.
 */
enum fake { FAKE_OK, FAKE_NO_MARK, FAKE_MARK_IS_STRUCT, FAKE_COMMON_IS_INT, FAKE_MARK_BITFIELD };

static struct btf *fake_kernel(enum fake how)
{
	struct btf *b = btf__new_empty();
	int u64, u32, s32, net, net_ptr, pnet, pnet_t, sk_common, netdev, netdev_ptr, dst, dst_ptr,
		anon_union;

	assert_non_null(b);
	u64 = btf__add_int(b, "long long unsigned int", 8, 0);
	u32 = btf__add_int(b, "unsigned int", 4, 0);
	s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	net = btf__add_struct(b, "net", 64);
	btf__add_field(b, "passive", u64, 0, 0);
	btf__add_field(b, "net_cookie", u64, 128, 0);
	net_ptr = btf__add_ptr(b, net);
	pnet = btf__add_struct(b, NULL, 8);
	btf__add_field(b, "net", net_ptr, 0, 0);
	pnet_t = btf__add_typedef(b, "possible_net_t", pnet);
	sk_common = btf__add_struct(b, "sock_common", 16);
	btf__add_field(b, "skc_hash", u32, 0, 0);
	btf__add_field(b, "skc_net", pnet_t, 64, 0);
	netdev = btf__add_struct(b, "net_device", 24);
	btf__add_field(b, "flags", u32, 0, 0);
	btf__add_field(b, "ifindex", s32, 32, 0);
	btf__add_field(b, "nd_net", pnet_t, 128, 0);
	netdev_ptr = btf__add_ptr(b, netdev);
	btf__add_struct(b, "sk_buff", 24);
	btf__add_field(b, "next", u64, 0, 0);
	btf__add_field(b, "dev", netdev_ptr, 128, 0);
	dst = btf__add_struct(b, "dst_entry", 16);
	btf__add_field(b, "ops", u64, 0, 0);
	btf__add_field(b, "dev", netdev_ptr, 64, 0);
	dst_ptr = btf__add_ptr(b, dst);
	anon_union = btf__add_union(b, NULL, 8);
	btf__add_field(b, "sk_dst_cache", dst_ptr, 0, 0);
	btf__add_field(b, "sk_other", u64, 0, 0);
	btf__add_struct(b, "sock", 32);
	btf__add_field(b, "__sk_common", how == FAKE_COMMON_IS_INT ? u64 : sk_common, 0, 0);
	btf__add_field(b, "sk_flags", u32, 128, 3);
	if (how == FAKE_OK)
		btf__add_field(b, "sk_mark", u32, 160, 0);
	else if (how == FAKE_MARK_IS_STRUCT)
		btf__add_field(b, "sk_mark", netdev, 160, 0);
	else if (how == FAKE_MARK_BITFIELD)
		btf__add_field(b, "sk_mark", u32, 160, 5);
	btf__add_field(b, NULL, anon_union, 192, 0);
	return b;
}

/* Bit offset of MEMBER in struct NAME of b, and its type; -1 if absent. */
static long member(const struct btf *b, const char *name, const char *mname, __u32 *type)
{
	int id = btf__find_by_name_kind(b, name, BTF_KIND_STRUCT);
	const struct btf_type *t;
	const struct btf_member *m;

	if (id <= 0)
		return -1;
	t = btf__type_by_id(b, (__u32)id);
	m = btf_members(t);
	for (__u16 i = 0; i < btf_vlen(t); i++, m++) {
		if (!strcmp(btf__name_by_offset(b, m->name_off), mname)) {
			*type = m->type;
			return btf_member_bit_offset(t, i);
		}
	}
	return -1;
}

static void test_keeps_our_fields_at_the_kernels_offsets(void **state)
{
	struct btf *k = fake_kernel(FAKE_OK), *min = corebtf_build(k);
	const struct btf_type *t;
	__u32 type, common, pnet;

	(void)state;
	assert_non_null(min);
	assert_int_equal(member(min, "net", "net_cookie", &type), 128);
	t = btf__type_by_id(min, type);
	assert_true(btf_is_int(t) && t->size == 8);
	assert_int_equal(member(min, "sock", "sk_mark", &type), 160);
	assert_int_equal(btf__type_by_id(min, type)->size, 4);
	/* Out of the anonymous union, at its offset. */
	assert_int_equal(member(min, "sock", "sk_dst_cache", &type), 192);
	assert_true(btf_is_ptr(btf__type_by_id(min, type)));
	assert_int_equal(member(min, "dst_entry", "dev", &type), 64);
	assert_int_equal(member(min, "net_device", "ifindex", &type), 32);
	t = btf__type_by_id(min, type);
	assert_true(btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_SIGNED));
	/* What the backstop reads: the device's namespace. */
	assert_int_equal(member(min, "net_device", "nd_net", &type), 128);
	assert_int_equal(member(min, "sk_buff", "dev", &type), 128);
	assert_true(btf_is_ptr(btf__type_by_id(min, type)));
	/* sock.__sk_common.skc_net.net: a path through nested structures. */
	assert_int_equal(member(min, "sock", "__sk_common", &common), 0);
	t = btf__type_by_id(min, common);
	assert_true(btf_is_struct(t) && t->size == 16);
	assert_string_equal(btf__name_by_offset(min, t->name_off), "sock_common");
	assert_int_equal(member(min, "sock_common", "skc_net", &pnet), 64);
	t = btf__type_by_id(min, pnet);
	assert_true(btf_is_struct(t) && btf_vlen(t) == 1);
	assert_string_equal(btf__name_by_offset(min, btf_members(t)->name_off), "net");
	/* Only what the programs read: no unrelated member came along. */
	assert_int_equal(member(min, "sock", "sk_flags", &type), -1);
	assert_int_equal(member(min, "dst_entry", "ops", &type), -1);
	assert_int_equal(btf__find_by_name_kind(min, "sock", BTF_KIND_STRUCT) > 0, 1);
	assert_int_equal(btf__type_by_id(min, (__u32)btf__find_by_name_kind(min, "sock",
							BTF_KIND_STRUCT))->size, 32);
	btf__free(min);
	btf__free(k);
}

/* A kernel whose fields are missing or not what the programs read: no BTF at all. */
static void test_kernel_without_a_field(void **state)
{
	enum fake bad[] = { FAKE_NO_MARK, FAKE_MARK_IS_STRUCT, FAKE_COMMON_IS_INT,
			    FAKE_MARK_BITFIELD };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct btf *k = fake_kernel(bad[i]);

		assert_null(corebtf_build(k));
		btf__free(k);
	}
}

/* The real kernel's: every field the programs read is there. */
static void test_running_kernel(void **state)
{
	struct btf *k = btf__load_vmlinux_btf(), *min;
	__u32 type;

	(void)state;
	if (!k) {
		skip();
		return;
	}
	min = corebtf_build(k);
	assert_non_null(min);
	assert_true(member(min, "net", "net_cookie", &type) > 0);
	btf__free(min);
	btf__free(k);
}

struct dir {
	char path[64];
	char file[PATH_MAX_CORE];
};

static int make_dir(void **state)
{
	struct dir *d;

	if (geteuid() != 0)
		return 0; /* the tests below skip */
	d = calloc(1, sizeof(*d));
	strcpy(d->path, "/tmp/wgks-corebtf.XXXXXX");
	if (!d || !mkdtemp(d->path)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int remove_dir(void **state)
{
	struct dir *d = *state;
	char cmd[128];

	if (!d)
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd))
		return -1;
	free(d);
	return 0;
}

static struct dir *need_root(void **state)
{
	if (!*state)
		skip(); /* not root: the directory could not be root's */
	return *state;
}

static ino_t inode(const char *path)
{
	struct stat sb;

	assert_int_equal(lstat(path, &sb), 0);
	return sb.st_ino;
}

static void test_cache_made_private_and_reused(void **state)
{
	struct dir *d = need_root(state);
	struct stat sb;
	struct btf *b;
	ino_t first;

	assert_int_equal(corebtf_path(d->path, false, d->file, sizeof(d->file)), 0);
	assert_non_null(strstr(d->file, "/core-"));
	assert_int_equal(lstat(d->file, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	b = btf__parse(d->file, NULL);
	assert_non_null(b);
	assert_true(btf__find_by_name_kind(b, "sock", BTF_KIND_STRUCT) > 0);
	btf__free(b);
	first = inode(d->file);
	/* Found again, not built again. */
	assert_int_equal(corebtf_path(d->path, false, d->file, sizeof(d->file)), 0);
	assert_int_equal(inode(d->file), first);
	/* Unless asked to. */
	assert_int_equal(corebtf_path(d->path, true, d->file, sizeof(d->file)), 0);
	assert_int_not_equal(inode(d->file), first);
}

static void test_untrusted_cache_replaced(void **state)
{
	struct dir *d = need_root(state);
	struct stat sb;
	ino_t first;

	assert_int_equal(corebtf_path(d->path, false, d->file, sizeof(d->file)), 0);
	/* Writable by others: not used, built anew. */
	first = inode(d->file);
	assert_int_equal(chmod(d->file, 0666), 0);
	assert_int_equal(corebtf_path(d->path, false, d->file, sizeof(d->file)), 0);
	assert_int_not_equal(inode(d->file), first);
	assert_int_equal(lstat(d->file, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* A symlink is not followed: it is replaced, its target untouched. */
	assert_int_equal(unlink(d->file), 0);
	assert_int_equal(symlink("/etc/hostname", d->file), 0);
	assert_int_equal(corebtf_path(d->path, false, d->file, sizeof(d->file)), 0);
	assert_int_equal(lstat(d->file, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	/* Empty, or not BTF at all: built anew. */
	assert_int_equal(truncate(d->file, 0), 0);
	assert_int_equal(corebtf_path(d->path, false, d->file, sizeof(d->file)), 0);
	assert_int_equal(lstat(d->file, &sb), 0);
	assert_true(sb.st_size > 0);
	first = inode(d->file);
	{
		FILE *f = fopen(d->file, "w");

		assert_non_null(f);
		fputs("not BTF at all, but not empty either\n", f);
		fclose(f);
	}
	assert_int_equal(corebtf_path(d->path, false, d->file, sizeof(d->file)), 0);
	assert_int_not_equal(inode(d->file), first);
	/* BTF, root's, but without a field we read (another version's): built anew. */
	first = inode(d->file);
	{
		struct btf *partial = fake_kernel(FAKE_NO_MARK);
		__u32 size;
		const void *raw = btf__raw_data(partial, &size);
		FILE *f = fopen(d->file, "w");

		assert_non_null(f);
		assert_int_equal(fwrite(raw, 1, size, f), size);
		fclose(f);
		btf__free(partial);
	}
	assert_int_equal(corebtf_path(d->path, false, d->file, sizeof(d->file)), 0);
	assert_int_not_equal(inode(d->file), first);
}

static void test_directory_others_can_write_refused(void **state)
{
	struct dir *d = need_root(state);

	assert_int_equal(chmod(d->path, 0777), 0);
	assert_int_equal(corebtf_path(d->path, false, d->file, sizeof(d->file)), -1);
	assert_int_equal(chmod(d->path, 0700), 0);
	assert_int_equal(corebtf_path(d->path, false, d->file, sizeof(d->file)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keeps_our_fields_at_the_kernels_offsets),
		cmocka_unit_test(test_kernel_without_a_field),
		cmocka_unit_test(test_running_kernel),
		cmocka_unit_test_setup_teardown(test_cache_made_private_and_reused, make_dir,
						remove_dir),
		cmocka_unit_test_setup_teardown(test_untrusted_cache_replaced, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_directory_others_can_write_refused, make_dir,
						remove_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
