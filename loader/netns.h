/* SPDX-License-Identifier: GPL-2.0-only */
/* The caller's network namespace cookie: the key of every map. */
#ifndef WGKS_NETNS_H
#define WGKS_NETNS_H

#include <stdint.h>

/* 0 on success; -1 after err(). */
int netns_current_id(uint64_t *id);

#endif
