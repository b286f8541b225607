// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal BTF of the running kernel for libbpf's CO-RE relocations.
 *
 * To relocate the programs' reads of kernel structures, libbpf reads the
 * kernel's whole BTF (/sys/kernel/btf/vmlinux: 5.5 MB, which sysfs hands
 * out a page per read(2)) and indexes it, in every process that loads the
 * programs: measured, most of an attach's time. The programs read six
 * fields (kernel.bpf.h). So the first load after boot keeps just those
 * fields, with the kernel's own offsets and sizes, in a BTF of a few
 * hundred bytes, and later loads give libbpf that (btf_custom_path) -- the
 * idea of bpftool's `gen min_core_btf`, done here for our fields.
 *
 * The file is keyed by the boot id (a kernel can only change across a
 * boot) and trusted only in a directory that root alone can write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "corebtf.h"
#include "rundir.h"
#include "log.h"

/*
 * Every field the CO-RE variants read (kernel.bpf.h), as a path from a
 * named structure. Anonymous structs and unions on the way are flattened.
 */
struct core_field {
	const char *type;
	const char *path[4];
};

static const struct core_field core_fields[] = {
	{ "net", { "net_cookie" } },
	{ "sock", { "__sk_common", "skc_net", "net" } },
	{ "sock", { "sk_dst_cache" } },
	{ "sock", { "sk_mark" } },
	{ "dst_entry", { "dev" } },
	{ "net_device", { "ifindex" } },
	{ "net_device", { "nd_net", "net" } },
	{ "sk_buff", { "dev" } },
};

#define MAX_NODES 16
#define MAX_MEMBERS 8
#define MAX_LEAVES 8

/* A member of a structure of the minimal BTF: a leaf type or a nested node. */
struct member {
	const char *name;
	__u32 bit_off;
	int leaf; /* index in leaves[], or -1 */
	int node; /* index in nodes[], or -1 */
};

struct node {
	__u32 kernel_id; /* the kernel's structure it stands for */
	const char *name; /* NULL: anonymous */
	__u32 size;
	int nmembers;
	struct member members[MAX_MEMBERS];
};

/* Leaf types: integers as the kernel has them, pointers (to void: CO-RE needs no more). */
struct leaf {
	__u32 kernel_id; /* after typedefs and modifiers */
	bool ptr;
};

struct tree {
	struct node nodes[MAX_NODES];
	int nnodes;
	struct leaf leaves[MAX_LEAVES];
	int nleaves;
};

/* Find NAME in composite TYPE_ID, looking into anonymous members. 0 or -1. */
static int find_member(const struct btf *btf, __u32 type_id, const char *name, __u32 *bit_off,
		       __u32 *member_type)
{
	const struct btf_type *t = btf__type_by_id(btf, type_id);
	const struct btf_member *m;

	if (!t || !btf_is_composite(t))
		return -1;
	m = btf_members(t);
	for (__u16 i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);
		__u32 off = btf_member_bit_offset(t, i), sub;

		if (btf_member_bitfield_size(t, i))
			continue; /* none of ours is a bitfield */
		if (n && *n) {
			if (!strcmp(n, name)) {
				*bit_off = off;
				*member_type = m->type;
				return 0;
			}
			continue;
		}
		if (find_member(btf, (__u32)btf__resolve_type(btf, m->type), name, &sub,
				member_type) == 0) {
			*bit_off = off + sub;
			return 0;
		}
	}
	return -1;
}

static int node_for(struct tree *tr, const struct btf *btf, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const char *name;
	struct node *n;

	if (!t || !btf_is_composite(t))
		return -1;
	name = btf__name_by_offset(btf, t->name_off);
	for (int i = 0; i < tr->nnodes; i++) {
		if (tr->nodes[i].kernel_id == id)
			return i;
	}
	if (tr->nnodes == MAX_NODES)
		return -1;
	n = &tr->nodes[tr->nnodes];
	n->kernel_id = id;
	n->name = name && *name ? name : NULL;
	n->size = t->size;
	return tr->nnodes++;
}

static int leaf_for(struct tree *tr, const struct btf *btf, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	bool ptr = t && btf_is_ptr(t);

	if (!t || (!ptr && (!btf_is_int(t) || btf_int_offset(t))))
		return -1; /* our fields are integers and pointers */
	for (int i = 0; i < tr->nleaves; i++) {
		if (tr->leaves[i].ptr == ptr && (ptr || tr->leaves[i].kernel_id == id))
			return i;
	}
	if (tr->nleaves == MAX_LEAVES)
		return -1;
	tr->leaves[tr->nleaves] = (struct leaf){ .kernel_id = id, .ptr = ptr };
	return tr->nleaves++;
}

static struct member *member_of(struct node *n, const char *name, __u32 bit_off)
{
	for (int i = 0; i < n->nmembers; i++) {
		if (!strcmp(n->members[i].name, name))
			return &n->members[i];
	}
	if (n->nmembers == MAX_MEMBERS)
		return NULL;
	n->members[n->nmembers] = (struct member){ name, bit_off, -1, -1 };
	return &n->members[n->nmembers++];
}

/* Add one field's path to the tree. 0, or -1 if the kernel lacks it. */
static int add_field(struct tree *tr, const struct btf *btf, const struct core_field *f)
{
	int id = btf__find_by_name_kind(btf, f->type, BTF_KIND_STRUCT);
	int node = id > 0 ? node_for(tr, btf, (__u32)id) : -1;

	for (int i = 0; node >= 0 && i < 4 && f->path[i]; i++) {
		struct node *n = &tr->nodes[node];
		__u32 bit_off, mtype;
		struct member *m;
		int resolved;

		if (find_member(btf, n->kernel_id, f->path[i], &bit_off, &mtype))
			return -1;
		m = member_of(n, f->path[i], bit_off);
		resolved = btf__resolve_type(btf, mtype);
		if (!m || resolved < 0)
			return -1;
		if (i + 1 < 4 && f->path[i + 1]) {
			/* The path goes on: the member is a structure (or union). */
			node = node_for(tr, btf, (__u32)resolved);
			m->node = node; /* nodes[] is a fixed array: n and m stay valid */
		} else {
			m->leaf = leaf_for(tr, btf, (__u32)resolved);
			return m->leaf < 0 ? -1 : 0;
		}
	}
	return -1;
}

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return x->bit_off < y->bit_off ? -1 : x->bit_off > y->bit_off;
}

/* Write the tree as BTF: leaves first, then one structure per node. */
static struct btf *emit(struct tree *tr, const struct btf *kbtf)
{
	struct btf *out = btf__new_empty();
	int leaf_id[MAX_LEAVES], first_node;

	if (!out)
		return NULL;
	for (int i = 0; i < tr->nleaves; i++) {
		const struct btf_type *t = btf__type_by_id(kbtf, tr->leaves[i].kernel_id);

		leaf_id[i] = tr->leaves[i].ptr
				     ? btf__add_ptr(out, 0)
				     : btf__add_int(out, btf__name_by_offset(kbtf, t->name_off), t->size,
						    btf_int_encoding(t));
		if (leaf_id[i] < 0)
			goto fail;
	}
	/* Each structure is one type: node i gets first_node + i. */
	first_node = (int)btf__type_cnt(out);
	for (int i = 0; i < tr->nnodes; i++) {
		struct node *n = &tr->nodes[i];

		qsort(n->members, (size_t)n->nmembers, sizeof(n->members[0]), cmp_member);
		if (btf__add_struct(out, n->name, n->size) < 0)
			goto fail;
		for (int j = 0; j < n->nmembers; j++) {
			struct member *m = &n->members[j];
			int type = m->leaf >= 0 ? leaf_id[m->leaf] : first_node + m->node;

			if (btf__add_field(out, m->name, type, m->bit_off, 0))
				goto fail;
		}
	}
	return out;
fail:
	btf__free(out);
	return NULL;
}

struct btf *corebtf_build(const struct btf *kernel)
{
	struct tree tr;

	memset(&tr, 0, sizeof(tr));
	for (size_t i = 0; i < sizeof(core_fields) / sizeof(core_fields[0]); i++) {
		if (add_field(&tr, kernel, &core_fields[i])) {
			debug("BTF without %s.%s", core_fields[i].type, core_fields[i].path[0]);
			return NULL;
		}
	}
	return emit(&tr, kernel);
}

/* The boot id, as a file name part. 0 or -1. */
static int boot_id(char out[40])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	int ok = f && fgets(out, 40, f) != NULL;

	if (f)
		fclose(f);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	for (char *c = out; *c; c++) {
		if (!(*c == '-' || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return -1;
	}
	return *out ? 0 : -1;
}

static int cache_path(const char *dir, char *path, size_t size)
{
	char id[40];

	if (boot_id(id))
		return -1;
	return snprintf(path, size, "%s/core-%s.btf", dir, id) < (int)size ? 0 : -1;
}

/* A cached file we may trust: root's regular file, written by no one else, and BTF. */
static bool trusted_file(const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct btf *btf, *min;
	bool ok;

	if (fd < 0)
		return false;
	ok = !fstat(fd, &sb) && S_ISREG(sb.st_mode) && sb.st_uid == 0 && !(sb.st_mode & 022);
	close(fd);
	if (!ok)
		return false;
	/*
	 * A few hundred bytes: parsing them costs nothing next to a wrong load.
	 * It must hold every field we read (a file from another version may not).
	 */
	btf = btf__parse_raw(path);
	if (!btf)
		return false;
	min = corebtf_build(btf);
	ok = min != NULL;
	btf__free(min);
	btf__free(btf);
	return ok;
}

/* Write BTF to PATH atomically (a temporary file, then rename). 0 or -1. */
static int write_file(const char *path, const struct btf *btf)
{
	char tmp[PATH_MAX_CORE + 8];
	__u32 size;
	const void *data = btf__raw_data(btf, &size);
	int fd, ok;

	if (!data || snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -1;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	ok = write(fd, data, size) == (ssize_t)size && fsync(fd) == 0;
	ok = !close(fd) && ok;
	if (ok && !rename(tmp, path))
		return 0;
	unlink(tmp);
	return -1;
}

int corebtf_path(const char *dir, bool rebuild, char *path, size_t size)
{
	struct btf *kernel, *min;
	int ret, saved;

	if (rundir_private(dir) || cache_path(dir, path, size)) {
		debug("no place for the minimal BTF in %s", dir);
		return -1;
	}
	if (!rebuild && trusted_file(path))
		return 0;
	kernel = btf__load_vmlinux_btf();
	if (!kernel) {
		debug("cannot read the kernel's BTF: %s", strerror(errno));
		return -1;
	}
	min = corebtf_build(kernel);
	btf__free(kernel);
	if (!min)
		return -1;
	ret = write_file(path, min);
	saved = errno;
	btf__free(min);
	if (ret)
		debug("cannot write %s: %s", path, strerror(saved));
	else
		debug("kept the kernel's CO-RE fields in %s", path);
	return ret;
}
