/* SPDX-License-Identifier: GPL-2.0-only */
/* Parsing fwmarks as `wg show IF fwmark` prints them and as users type them. */
#ifndef WGKS_FWMARK_H
#define WGKS_FWMARK_H

#include <stdbool.h>
#include <stdint.h>

/*
 * "0xca6c", "51820", "0", "off" (= 0), read as wg(8) reads them: decimal
 * unless "0x" (so "0100" is 100, not octal); nothing else, not even a blank.
 */
bool parse_fwmark(const char *s, uint32_t *mark);

#endif
