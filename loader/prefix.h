/* SPDX-License-Identifier: GPL-2.0-only */
/* Addresses and prefixes as users and `wg show` write them (pure: unit tested). */
#ifndef WGKS_PREFIX_H
#define WGKS_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len;    /* prefix length in bits */
	uint8_t addr[16];
};

struct endpoint {
	uint8_t family; /* 4 or 6 */
	uint16_t port;  /* host order */
	uint8_t addr[16];
};

/*
 * "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128). Host bits
 * beyond the length must be zero ("10.0.0.1/8" is refused: it is a typo
 * more often than a wish).
 */
bool parse_prefix(const char *s, struct prefix *p);

/* "1.2.3.4:51820" or "[fd00::1]:51820". */
bool parse_endpoint(const char *s, struct endpoint *e);

/*
 * Whether the N prefixes together cover every address of FAMILY (4 or 6):
 * ::/0, or 0.0.0.0/1 with 128.0.0.0/1, would turn the kill switch off.
 */
bool prefixes_cover_family(const struct prefix *ps, int n, int family);

/* allow-LAN: private, link-local and local multicast ranges, v4 and v6. */
extern const char *const lan_prefixes[];

/* "10.0.0.0/8" back from a prefix, for messages and status. */
void format_prefix(const struct prefix *p, char *buf, size_t size);
void format_endpoint(const struct endpoint *e, char *buf, size_t size);

#endif
