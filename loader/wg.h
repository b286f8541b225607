/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Asking WireGuard about an interface, through `wg show IF dump`: it speaks
 * to the kernel module and to userspace implementations (wireguard-go,
 * boringtun) alike, so we need no second backend, and one call answers
 * fwmark, listen port and endpoints.
 */
#ifndef WGKS_WG_H
#define WGKS_WG_H

#include <stdbool.h>
#include "wgdump.h"

/*
 * What WireGuard says of IFNAME: 1 and WI filled, 0 if it is no WireGuard
 * interface (and, if QUIET, also when wg is not installed: the caller
 * protects another kind of tunnel), -1 after err(). `wg show` gets 10 s
 * ($WGKS_WG_TIMEOUT_MS), then it is killed.
 */
int wg_query(const char *ifname, bool quiet, struct wg_info *wi);

#endif
