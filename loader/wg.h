/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Asking WireGuard about an interface, through `wg show`: it speaks to the
 * kernel module and to userspace implementations (wireguard-go, boringtun)
 * alike, so we need no second backend.
 */
#ifndef WGKS_WG_H
#define WGKS_WG_H

#include <stdint.h>
#include "prefix.h"

/* The interface's fwmark (0 when `off`). 0 on success; -1 after err(). */
int wg_fwmark(const char *ifname, uint32_t *mark);

/* Its peers' current endpoints (at most max). How many, or -1 after err(). */
int wg_endpoints(const char *ifname, struct endpoint *eps, int max);

#endif
