/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A map's layout is what its BTF says: field names, offsets and sizes. Two
 * builds of wgks-bpf whose maps hold the same bytes with other meanings
 * (two fields swapped keep every size) are told apart here, and a value is
 * carried from one layout to the other by field names (pure: unit tested).
 *
 * A plan, made once per pair of layouts, lists what to copy. Fields are
 * matched by name, at any offset and through typedefs; an integer may grow
 * or shrink if its value fits; an array keeps the elements both have; a
 * struct member the old layout lacks may be a new wrapper around fields
 * the old one held directly (wgks_policy.rules). Locks are never copied.
 * What matches nothing is listed: old fields with no place in the new
 * layout (a value that sets one cannot be carried: it would lose what the
 * field meant), and new fields the old layout lacks (left zero; the caller
 * decides which of those it can fill in).
 */
#ifndef WGKS_LAYOUT_H
#define WGKS_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct btf;

/* A field's path: member names joined by '.', "[]" for each array element. */
#define LAYOUT_PATH_MAX 96

/* One integer (or byte) field carried over; offsets and sizes in bytes. */
struct layout_op {
	uint32_t old_off, new_off;
	uint8_t old_size, new_size;
	bool old_signed;
	char path[LAYOUT_PATH_MAX];
};

/* A field of one layout that matches nothing in the other. */
struct layout_field {
	uint32_t off, size;
	char path[LAYOUT_PATH_MAX];
};

struct layout_plan {
	uint32_t old_size, new_size;
	struct layout_op *ops;
	size_t nops;
	struct layout_field *dropped; /* old fields with no place: must be zero to carry a value */
	size_t ndropped;
	struct layout_field *missing; /* new fields the old layout lacks, one per path: left zero */
	size_t nmissing;
	char why[160];                /* why layout_plan() failed */
};

/* Whether types A_ID of A and B_ID of B lay out the same bytes under the same names. */
bool layout_equal(const struct btf *a, uint32_t a_id, const struct btf *b, uint32_t b_id);

/*
 * How to carry a value of type OLD_ID (of OLD) into one of NEW_ID (of NEW).
 * 0, or -1 with the reason in p->why (fields of one name but of kinds that
 * cannot be converted, a bitfield, a union that changed, out of memory).
 * Free with layout_free() in either case.
 */
int layout_plan(struct layout_plan *p, const struct btf *old, uint32_t old_id,
		const struct btf *new, uint32_t new_id);

/*
 * Carry OLD_VAL (p->old_size bytes) into NEW_VAL (p->new_size bytes). 0,
 * or -1 with the reason in WHY when an old field with no place is set or
 * a value does not fit its new field; NEW_VAL then holds what could be
 * carried.
 */
int layout_apply(const struct layout_plan *p, const void *old_val, void *new_val, char *why,
		 size_t why_len);

/* Whether the new field PATH is one the old layout lacks. */
bool layout_missing(const struct layout_plan *p, const char *path);

/*
 * An integer of SIZE bytes (1, 2, 4 or 8; host order, as the programs
 * write it) at SRC, sign-extended if IS_SIGNED; 0 for any other size (a
 * field the layout lacks). layout_put_uint() writes V cut to SIZE bytes,
 * nothing for another size.
 */
uint64_t layout_get_uint(const void *src, uint32_t size, bool is_signed);
void layout_put_uint(void *dst, uint32_t size, uint64_t v);

void layout_free(struct layout_plan *p);

/* Whether KEY_ID and VALUE_ID of BTF (0: none) are plain integers: no fields to mislay. */
bool layout_scalar(const struct btf *btf, uint32_t key_id, uint32_t value_id);

/*
 * The integer field NAME of type ID, the shallowest one, looked for through
 * nested structs but not into arrays: its offset and size. 0, or -1 if
 * there is none.
 */
int layout_find(const struct btf *btf, uint32_t id, const char *name, uint32_t *off,
		uint32_t *size);

#endif
