/* SPDX-License-Identifier: GPL-2.0-only */
/* The id of the caller's network namespace, as the chosen BPF variant sees it. */
#ifndef WGKS_NETNS_H
#define WGKS_NETNS_H

#include <stdint.h>
#include "wgks.h"

/* 0 on success; -1 after err(). */
int netns_current_id(enum wgks_variant variant, uint64_t *id);

#endif
