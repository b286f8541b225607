/* SPDX-License-Identifier: GPL-2.0-only */
/* What `wg show IF dump` says of an interface (pure: unit tested, fuzzed). */
#ifndef WGKS_WGDUMP_H
#define WGKS_WGDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "prefix.h"

/* Peers with an endpoint one tunnel can have. */
#define WG_MAX_PEERS 64

struct wg_info {
	uint32_t fwmark;      /* 0 when off */
	uint16_t listen_port; /* 0 if it has none (yet) */
	int nendpoints;       /* peers with an endpoint */
	struct endpoint endpoints[WG_MAX_PEERS];
};

/*
 * The dump: a line for the interface (private key, public key, listen
 * port, fwmark), then one per peer (public key, preshared key, endpoint or
 * "(none)", allowed IPs, handshake, rx, tx, keepalive), tab-separated.
 * 0, or the number of the first line it cannot use (its text is never
 * shown: it holds keys).
 */
int parse_wg_dump(const char *text, struct wg_info *wi);

#endif
