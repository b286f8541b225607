/* SPDX-License-Identifier: GPL-2.0-only */
/* A minimal BTF of the running kernel, for libbpf's CO-RE relocations (corebtf.c). */
#ifndef WGKS_COREBTF_H
#define WGKS_COREBTF_H

#include <stdbool.h>
#include <stddef.h>

#include "rundir.h"

#define COREBTF_DIR RUNDIR
#define PATH_MAX_CORE 256

struct btf;

/*
 * The fields the programs read, taken from KERNEL's BTF into a new one.
 * NULL if the kernel lacks one of them (the caller frees the result).
 */
struct btf *corebtf_build(const struct btf *kernel);

/*
 * PATH: the minimal BTF of this boot in DIR, built from the kernel's BTF
 * first if it is missing, untrusted, or REBUILD is set. 0, or -1 if there is
 * none to use (then libbpf reads the kernel's whole BTF itself).
 */
int corebtf_path(const char *dir, bool rebuild, char *path, size_t size);

#endif
