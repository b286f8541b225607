/* SPDX-License-Identifier: GPL-2.0-only */
/* Map keys for endpoints and allowed prefixes (pure: unit tested). */
#ifndef WGKS_KEYS_H
#define WGKS_KEYS_H

#include <stdint.h>
#include "prefix.h"
#include "wgks.h"

void endpoint_key(uint64_t netns, const struct endpoint *e, struct wgks_endpoint_key *k);

/* Key of wgks_allow4 (family 4) or wgks_allow6 into KEY; returns its size. */
size_t allow_key(uint64_t netns, const struct prefix *p, void *key);

/* Back from keys, for status. */
void endpoint_from_key(const struct wgks_endpoint_key *k, struct endpoint *e);
void prefix_from_key(int family, const void *key, struct prefix *p);

/* The netns of any of these keys. */
uint64_t key_netns(const void *key, int is_allow);

#endif
