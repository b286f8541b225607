// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "layout.h"

/* Deeper than this is no map value of ours (and BTF can loop): refuse. */
#define MAX_DEPTH 16

struct candidate {
	struct layout_field f;
	bool covered;
};

struct planner {
	const struct btf *ob, *nb;
	struct layout_plan *p;
	unsigned char *ocov; /* per old byte: an op reads it, or it is a lock */
	unsigned char *ncov; /* per new byte: an op writes it, or it is a lock */
	size_t cap_ops, cap_dropped;
	struct candidate *cand; /* new fields, one per path, until the missing ones are known */
	size_t ncand, cap_cand;
};

static int fail(struct planner *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct planner *pl, const char *fmt, ...)
{
	va_list ap;

	/* The first reason is the one to tell. */
	if (pl->p->why[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(pl->p->why, sizeof(pl->p->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* Room for one more element in *ARR (N used, *CAP allocated); NULL if out of memory. */
static void *grow(void *arr, size_t n, size_t *cap, size_t elem)
{
	size_t c;
	void *g;

	if (n < *cap)
		return arr;
	c = *cap ? *cap * 2 : 16;
	g = realloc(arr, c * elem);
	if (g)
		*cap = c;
	return g;
}

/* Through typedefs and qualifiers to the type itself; *ID follows. */
static const struct btf_type *resolve(const struct btf *b, uint32_t *id)
{
	const struct btf_type *t = btf__type_by_id(b, *id);

	for (int i = 0; t && i < MAX_DEPTH && (btf_is_typedef(t) || btf_is_mod(t)); i++) {
		*id = t->type;
		t = btf__type_by_id(b, *id);
	}
	return t && (btf_is_typedef(t) || btf_is_mod(t)) ? NULL : t;
}

static bool is_scalar(const struct btf_type *t)
{
	return btf_is_int(t) || btf_is_any_enum(t);
}

static bool scalar_signed(const struct btf_type *t)
{
	return btf_is_int(t) ? (btf_int_encoding(t) & BTF_INT_SIGNED) != 0 : btf_kflag(t);
}

/* A field the kernel owns (a lock, a timer): never carried, never data. */
static const char *special_name(const struct btf *b, const struct btf_type *t)
{
	const char *name;

	if (!btf_is_struct(t))
		return NULL;
	name = btf__name_by_offset(b, t->name_off);
	if (name && (!strcmp(name, "bpf_spin_lock") || !strcmp(name, "bpf_timer")))
		return name;
	return NULL;
}

static void mark(unsigned char *cov, uint32_t off, uint32_t size)
{
	memset(cov + off, 1, size);
}

static void child_path(char *out, const char *path, const char *name)
{
	if (!name || !*name)
		snprintf(out, LAYOUT_PATH_MAX, "%s", path);
	else
		snprintf(out, LAYOUT_PATH_MAX, "%s%s%s", path, *path ? "." : "", name);
}

static bool within(const struct planner *pl, uint32_t ooff, uint32_t osize, uint32_t noff,
		   uint32_t nsize)
{
	return (uint64_t)ooff + osize <= pl->p->old_size && (uint64_t)noff + nsize <= pl->p->new_size;
}

static int add_op(struct planner *pl, uint32_t ooff, uint32_t osize, bool osigned, uint32_t noff,
		  uint32_t nsize, const char *path)
{
	struct layout_plan *p = pl->p;
	struct layout_op *ops;

	if (!within(pl, ooff, osize, noff, nsize))
		return fail(pl, "%s: outside the value", path);
	if (osize != nsize && ((osize & (osize - 1)) || osize > 8 || (nsize & (nsize - 1)) || nsize > 8))
		return fail(pl, "%s: %u bytes in one layout, %u in the other", path, osize, nsize);
	ops = grow(p->ops, p->nops, &pl->cap_ops, sizeof(*ops));
	if (!ops)
		return fail(pl, "out of memory");
	p->ops = ops;
	ops[p->nops] = (struct layout_op){ .old_off = ooff, .new_off = noff, .old_size = osize,
					   .new_size = nsize, .old_signed = osigned };
	snprintf(ops[p->nops].path, sizeof(ops[p->nops].path), "%s", path);
	p->nops++;
	mark(pl->ocov, ooff, osize);
	mark(pl->ncov, noff, nsize);
	return 0;
}

/*
 * Member NAME of composite T, or of an anonymous struct or union in it (its
 * members are T's): its type, byte offset and bitfield size.
 */
static bool find_member(const struct btf *b, const struct btf_type *t, const char *name, int depth,
			uint32_t *type, uint32_t *off, uint32_t *bits)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mname = btf__name_by_offset(b, m->name_off);
		uint32_t id = m->type, sub;
		const struct btf_type *mt;

		if (mname && *mname) {
			if (strcmp(mname, name))
				continue;
			*type = m->type;
			*off = btf_member_bit_offset(t, (uint32_t)i) / 8;
			*bits = btf_member_bitfield_size(t, (uint32_t)i) ||
				btf_member_bit_offset(t, (uint32_t)i) % 8;
			return true;
		}
		mt = resolve(b, &id);
		if (depth < MAX_DEPTH && mt && btf_is_composite(mt) &&
		    find_member(b, mt, name, depth + 1, type, &sub, bits)) {
			*off = btf_member_bit_offset(t, (uint32_t)i) / 8 + sub;
			return true;
		}
	}
	return false;
}

static int match(struct planner *pl, uint32_t oid, uint32_t ooff, uint32_t nid, uint32_t noff,
		 const char *path, int depth);

/*
 * The new struct NT's members, each from the old struct OT's member of its
 * name. A new struct member the old one lacks may wrap fields OT held
 * directly: they are looked for in OT.
 */
static int match_fields(struct planner *pl, const struct btf_type *ot, uint32_t ooff,
			const struct btf_type *nt, uint32_t noff, const char *path, int depth)
{
	const struct btf_member *m = btf_members(nt);
	char child[LAYOUT_PATH_MAX];

	if (depth > MAX_DEPTH)
		return fail(pl, "%s: nested too deep", path);
	for (int i = 0; i < btf_vlen(nt); i++, m++) {
		const char *name = btf__name_by_offset(pl->nb, m->name_off);
		uint32_t bitoff = btf_member_bit_offset(nt, (uint32_t)i), otype, ooffm, obits;
		uint32_t nid = m->type;
		const struct btf_type *mt = resolve(pl->nb, &nid);

		child_path(child, path, name);
		if (btf_member_bitfield_size(nt, (uint32_t)i) || bitoff % 8)
			return fail(pl, "%s: a bitfield", child);
		if (!mt)
			return fail(pl, "%s: a type the BTF does not hold", child);
		if (!name || !*name) {
			/* An anonymous struct: its members are this struct's. */
			if (!btf_is_struct(mt))
				return fail(pl, "%s: an anonymous union", path);
			if (match_fields(pl, ot, ooff, mt, noff + bitoff / 8, path, depth + 1))
				return -1;
			continue;
		}
		if (find_member(pl->ob, ot, name, 0, &otype, &ooffm, &obits)) {
			if (obits)
				return fail(pl, "%s: a bitfield in the old layout", child);
			if (match(pl, otype, ooff + ooffm, m->type, noff + bitoff / 8, child, depth + 1))
				return -1;
		} else if (btf_is_struct(mt) && !special_name(pl->nb, mt)) {
			if (match_fields(pl, ot, ooff, mt, noff + bitoff / 8, child, depth + 1))
				return -1;
		}
		/* Else a field the old layout lacks: the walk of the new one lists it. */
	}
	return 0;
}

static int match_array(struct planner *pl, const struct btf_type *ot, uint32_t ooff,
		       const struct btf_type *nt, uint32_t noff, const char *path, int depth)
{
	const struct btf_array *oa = btf_array(ot), *na = btf_array(nt);
	long long oes = btf__resolve_size(pl->ob, oa->type), nes = btf__resolve_size(pl->nb, na->type);
	uint32_t n = oa->nelems < na->nelems ? oa->nelems : na->nelems;
	char child[LAYOUT_PATH_MAX];

	if (oes <= 0 || nes <= 0)
		return fail(pl, "%s: elements of no size", path);
	snprintf(child, sizeof(child), "%s[]", path);
	/* The elements both have; the old one's beyond are dropped, the new one's zero. */
	for (uint32_t i = 0; i < n; i++) {
		if (match(pl, oa->type, ooff + i * (uint32_t)oes, na->type, noff + i * (uint32_t)nes,
			  child, depth + 1))
			return -1;
	}
	return 0;
}

static int match(struct planner *pl, uint32_t oid, uint32_t ooff, uint32_t nid, uint32_t noff,
		 const char *path, int depth)
{
	const struct btf_type *ot = resolve(pl->ob, &oid), *nt = resolve(pl->nb, &nid);
	const char *os, *ns;

	if (!ot || !nt)
		return fail(pl, "%s: a type the BTF does not hold", path);
	if (depth > MAX_DEPTH)
		return fail(pl, "%s: nested too deep", path);
	os = special_name(pl->ob, ot);
	ns = special_name(pl->nb, nt);
	if (os || ns) {
		if (!os || !ns || strcmp(os, ns) || ot->size != nt->size)
			return fail(pl, "%s: a %s in one layout only", path, os ? os : ns);
		return 0; /* the walks count it as neither dropped nor missing */
	}
	if (is_scalar(ot) && is_scalar(nt)) {
		if (btf_is_int(ot) && btf_int_offset(ot))
			return fail(pl, "%s: an integer with a bit offset", path);
		return add_op(pl, ooff, ot->size, scalar_signed(ot), noff, nt->size, path);
	}
	if (btf_is_array(ot) && btf_is_array(nt))
		return match_array(pl, ot, ooff, nt, noff, path, depth);
	if (btf_is_struct(ot) && btf_is_struct(nt))
		return match_fields(pl, ot, ooff, nt, noff, path, depth);
	if (btf_is_union(ot) && btf_is_union(nt)) {
		/* Which member a union holds is not written down: only an unchanged one is carried. */
		if (!layout_equal(pl->ob, oid, pl->nb, nid))
			return fail(pl, "%s: a union that changed", path);
		return add_op(pl, ooff, ot->size, false, noff, nt->size, path);
	}
	return fail(pl, "%s: of another kind in each layout", path);
}

static bool covered_all(const unsigned char *cov, uint32_t off, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++) {
		if (!cov[off + i])
			return false;
	}
	return true;
}

static bool covered_any(const unsigned char *cov, uint32_t off, uint32_t size)
{
	for (uint32_t i = 0; i < size; i++) {
		if (cov[off + i])
			return true;
	}
	return false;
}

/* A field of the old layout: dropped unless an op reads all of it. */
static int old_leaf(struct planner *pl, uint32_t off, uint32_t size, const char *path)
{
	struct layout_plan *p = pl->p;
	struct layout_field *d;

	if (covered_all(pl->ocov, off, size))
		return 0;
	d = grow(p->dropped, p->ndropped, &pl->cap_dropped, sizeof(*d));
	if (!d)
		return fail(pl, "out of memory");
	p->dropped = d;
	d[p->ndropped] = (struct layout_field){ .off = off, .size = size };
	snprintf(d[p->ndropped].path, sizeof(d[p->ndropped].path), "%s", path);
	p->ndropped++;
	return 0;
}

/* A field of the new layout: missing if no op writes any of it, at any element. */
static int new_leaf(struct planner *pl, uint32_t off, uint32_t size, const char *path, bool lock)
{
	bool covered = lock || covered_any(pl->ncov, off, size);
	struct candidate *c;

	for (size_t i = 0; i < pl->ncand; i++) {
		if (!strcmp(pl->cand[i].f.path, path)) {
			pl->cand[i].covered |= covered;
			return 0;
		}
	}
	c = grow(pl->cand, pl->ncand, &pl->cap_cand, sizeof(*c));
	if (!c)
		return fail(pl, "out of memory");
	pl->cand = c;
	c[pl->ncand] = (struct candidate){ .f = { .off = off, .size = size }, .covered = covered };
	snprintf(c[pl->ncand].f.path, sizeof(c[pl->ncand].f.path), "%s", path);
	pl->ncand++;
	return 0;
}

/* Every field of type ID at OFF, to old_leaf() (OLD) or new_leaf(). */
static int walk(struct planner *pl, bool old, uint32_t id, uint32_t off, const char *path,
		int depth)
{
	const struct btf *b = old ? pl->ob : pl->nb;
	const struct btf_type *t = resolve(b, &id);
	char child[LAYOUT_PATH_MAX];

	if (!t || depth > MAX_DEPTH)
		return fail(pl, "%s: a type the BTF does not hold", path);
	if (is_scalar(t) || btf_is_union(t) || special_name(b, t)) {
		if ((uint64_t)off + t->size > (old ? pl->p->old_size : pl->p->new_size))
			return fail(pl, "%s: outside the value", path);
		if (special_name(b, t))
			return old ? 0 : new_leaf(pl, off, t->size, path, true);
		return old ? old_leaf(pl, off, t->size, path) : new_leaf(pl, off, t->size, path, false);
	}
	if (btf_is_array(t)) {
		const struct btf_array *a = btf_array(t);
		long long es = btf__resolve_size(b, a->type);

		if (es <= 0)
			return fail(pl, "%s: elements of no size", path);
		snprintf(child, sizeof(child), "%s[]", path);
		for (uint32_t i = 0; i < a->nelems; i++) {
			if (walk(pl, old, a->type, off + i * (uint32_t)es, child, depth + 1))
				return -1;
		}
		return 0;
	}
	if (btf_is_struct(t)) {
		const struct btf_member *m = btf_members(t);

		for (int i = 0; i < btf_vlen(t); i++, m++) {
			child_path(child, path, btf__name_by_offset(b, m->name_off));
			if (walk(pl, old, m->type, off + btf_member_bit_offset(t, (uint32_t)i) / 8,
				 child, depth + 1))
				return -1;
		}
		return 0;
	}
	return 0; /* pointers, void: nothing a map value holds */
}

/* Neighbouring ops of one path (an array's elements) become one copy. */
static void merge_ops(struct layout_plan *p)
{
	size_t out = 0;

	for (size_t i = 0; i < p->nops; i++) {
		struct layout_op *prev = out ? &p->ops[out - 1] : NULL, *op = &p->ops[i];

		if (prev && prev->old_size == prev->new_size && op->old_size == op->new_size &&
		    op->old_off == prev->old_off + prev->old_size &&
		    op->new_off == prev->new_off + prev->new_size && !strcmp(op->path, prev->path)) {
			prev->old_size += op->old_size;
			prev->new_size += op->new_size;
			continue;
		}
		p->ops[out++] = *op;
	}
	p->nops = out;
}

static int keep_missing(struct planner *pl)
{
	struct layout_plan *p = pl->p;
	size_t n = 0;

	for (size_t i = 0; i < pl->ncand; i++)
		n += !pl->cand[i].covered;
	if (!n)
		return 0;
	p->missing = calloc(n, sizeof(*p->missing));
	if (!p->missing)
		return fail(pl, "out of memory");
	for (size_t i = 0; i < pl->ncand; i++) {
		if (!pl->cand[i].covered)
			p->missing[p->nmissing++] = pl->cand[i].f;
	}
	return 0;
}

int layout_plan(struct layout_plan *p, const struct btf *old, uint32_t old_id,
		const struct btf *new, uint32_t new_id)
{
	struct planner pl = { .ob = old, .nb = new, .p = p };
	long long osize = btf__resolve_size(old, old_id), nsize = btf__resolve_size(new, new_id);
	int ret = -1;

	memset(p, 0, sizeof(*p));
	if (osize <= 0 || nsize <= 0 || osize > 1 << 20 || nsize > 1 << 20) {
		fail(&pl, "a value of no size, or too large");
		return -1;
	}
	p->old_size = (uint32_t)osize;
	p->new_size = (uint32_t)nsize;
	pl.ocov = calloc(p->old_size, 1);
	pl.ncov = calloc(p->new_size, 1);
	if (!pl.ocov || !pl.ncov) {
		fail(&pl, "out of memory");
		goto out;
	}
	if (match(&pl, old_id, 0, new_id, 0, "", 0) || walk(&pl, true, old_id, 0, "", 0) ||
	    walk(&pl, false, new_id, 0, "", 0) || keep_missing(&pl))
		goto out;
	merge_ops(p);
	ret = 0;
out:
	free(pl.ocov);
	free(pl.ncov);
	free(pl.cand);
	return ret;
}

uint64_t layout_get_uint(const void *src, uint32_t size, bool is_signed)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1:
		memcpy(&u8, src, 1);
		return is_signed ? (uint64_t)(int64_t)(int8_t)u8 : u8;
	case 2:
		memcpy(&u16, src, 2);
		return is_signed ? (uint64_t)(int64_t)(int16_t)u16 : u16;
	case 4:
		memcpy(&u32, src, 4);
		return is_signed ? (uint64_t)(int64_t)(int32_t)u32 : u32;
	case 8:
		memcpy(&u64, src, 8);
		return u64;
	default:
		return 0;
	}
}

void layout_put_uint(void *dst, uint32_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	if (size == 1)
		memcpy(dst, &u8, 1);
	else if (size == 2)
		memcpy(dst, &u16, 2);
	else if (size == 4)
		memcpy(dst, &u32, 4);
	else if (size == 8)
		memcpy(dst, &v, 8);
}

/* Whether V (sign-extended if IS_SIGNED) keeps its value in SIZE bytes. */
static bool fits(uint64_t v, bool is_signed, uint32_t size)
{
	int64_t s = (int64_t)v;

	if (size >= 8)
		return true;
	if (is_signed && s < 0)
		return s >= -((int64_t)1 << (size * 8 - 1));
	return v >> (size * 8) == 0;
}

static void note(char *why, size_t len, int *ret, const char *fmt, const char *path,
		 unsigned long long v)
{
	if (*ret == 0 && why && len)
		snprintf(why, len, fmt, path, v);
	*ret = -1;
}

int layout_apply(const struct layout_plan *p, const void *old_val, void *new_val, char *why,
		 size_t why_len)
{
	const unsigned char *o = old_val;
	unsigned char *n = new_val;
	int ret = 0;

	memset(n, 0, p->new_size);
	for (size_t i = 0; i < p->nops; i++) {
		const struct layout_op *op = &p->ops[i];
		uint64_t v;

		if (op->old_size == op->new_size) {
			memcpy(n + op->new_off, o + op->old_off, op->old_size);
			continue;
		}
		v = layout_get_uint(o + op->old_off, op->old_size, op->old_signed);
		if (!fits(v, op->old_signed, op->new_size)) {
			note(why, why_len, &ret, "%s holds %llu, more than this version's field takes",
			     op->path, (unsigned long long)v);
			continue;
		}
		layout_put_uint(n + op->new_off, op->new_size, v);
	}
	for (size_t i = 0; i < p->ndropped; i++) {
		const struct layout_field *d = &p->dropped[i];

		for (uint32_t b = 0; b < d->size; b++) {
			if (o[d->off + b]) {
				note(why, why_len, &ret,
				     "%s is set (byte %llu), and this version has no such field",
				     d->path, (unsigned long long)b);
				break;
			}
		}
	}
	return ret;
}

bool layout_missing(const struct layout_plan *p, const char *path)
{
	for (size_t i = 0; i < p->nmissing; i++) {
		if (!strcmp(p->missing[i].path, path))
			return true;
	}
	return false;
}

void layout_free(struct layout_plan *p)
{
	free(p->ops);
	free(p->dropped);
	free(p->missing);
	p->ops = NULL;
	p->dropped = p->missing = NULL;
	p->nops = p->ndropped = p->nmissing = 0;
}

static bool equal(const struct btf *a, uint32_t aid, const struct btf *b, uint32_t bid, int depth)
{
	const struct btf_type *ta = resolve(a, &aid), *tb = resolve(b, &bid);
	const struct btf_member *ma, *mb;
	const char *sa, *sb;

	if (!ta || !tb || depth > MAX_DEPTH || btf_kind(ta) != btf_kind(tb))
		return false;
	switch (btf_kind(ta)) {
	case BTF_KIND_UNKN:
	case BTF_KIND_PTR:
		return true;
	case BTF_KIND_INT:
		return ta->size == tb->size && *(const uint32_t *)(ta + 1) == *(const uint32_t *)(tb + 1);
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		return ta->size == tb->size && btf_kflag(ta) == btf_kflag(tb);
	case BTF_KIND_ARRAY:
		return btf_array(ta)->nelems == btf_array(tb)->nelems &&
		       equal(a, btf_array(ta)->type, b, btf_array(tb)->type, depth + 1);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		sa = special_name(a, ta);
		sb = special_name(b, tb);
		if (ta->size != tb->size || btf_vlen(ta) != btf_vlen(tb) || !sa != !sb ||
		    (sa && strcmp(sa, sb)))
			return false;
		ma = btf_members(ta);
		mb = btf_members(tb);
		for (uint32_t i = 0; i < btf_vlen(ta); i++, ma++, mb++) {
			const char *na = btf__name_by_offset(a, ma->name_off);
			const char *nb = btf__name_by_offset(b, mb->name_off);

			if (strcmp(na ? na : "", nb ? nb : "") ||
			    btf_member_bit_offset(ta, i) != btf_member_bit_offset(tb, i) ||
			    btf_member_bitfield_size(ta, i) != btf_member_bitfield_size(tb, i) ||
			    !equal(a, ma->type, b, mb->type, depth + 1))
				return false;
		}
		return true;
	default:
		return false;
	}
}

bool layout_scalar(const struct btf *btf, uint32_t key_id, uint32_t value_id)
{
	const struct btf_type *k = key_id ? resolve(btf, &key_id) : NULL;
	const struct btf_type *v = value_id ? resolve(btf, &value_id) : NULL;

	return (!key_id || (k && is_scalar(k))) && (!value_id || (v && is_scalar(v)));
}

bool layout_equal(const struct btf *a, uint32_t a_id, const struct btf *b, uint32_t b_id)
{
	return equal(a, a_id, b, b_id, 0);
}

/* The integer NAME exactly DEPTH structs down from T (at OFF). */
static bool find_at(const struct btf *btf, const struct btf_type *t, uint32_t off, const char *name,
		    int depth, uint32_t *out_off, uint32_t *out_size)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		uint32_t id = m->type, moff = off + btf_member_bit_offset(t, (uint32_t)i) / 8;
		const struct btf_type *mt = resolve(btf, &id);

		if (!mt || btf_member_bitfield_size(t, (uint32_t)i))
			continue;
		if (depth == 0 && is_scalar(mt) && mname && !strcmp(mname, name)) {
			*out_off = moff;
			*out_size = mt->size;
			return true;
		}
		if (depth > 0 && btf_is_struct(mt) &&
		    find_at(btf, mt, moff, name, depth - 1, out_off, out_size))
			return true;
	}
	return false;
}

int layout_find(const struct btf *btf, uint32_t id, const char *name, uint32_t *off,
		uint32_t *size)
{
	const struct btf_type *t = resolve(btf, &id);

	if (!t || !btf_is_struct(t))
		return -1;
	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		if (find_at(btf, t, 0, name, depth, off, size))
			return 0;
	}
	return -1;
}
