// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "fwmark.h"

/*
 * As wg(8) reads a FwMark (wireguard-tools, config.c): "off" in any case,
 * else decimal unless it starts with a lowercase "0x". Not strtoul's base 0,
 * which would read "0100" as octal 64.
 */
bool parse_fwmark(const char *s, uint32_t *mark)
{
	unsigned long long v;
	int base = 10;
	char *end;

	if (!s || !*s)
		return false;
	if (!strcasecmp(s, "off")) {
		*mark = 0;
		return true;
	}
	/* strtoull accepts a sign and leading blanks: allow digits only. */
	if (!isdigit((unsigned char)*s))
		return false;
	if (strlen(s) > 2 && s[0] == '0' && s[1] == 'x') {
		/* After the prefix, hex digits only (strtoull would take a sign). */
		if (!isxdigit((unsigned char)s[2]))
			return false;
		base = 16;
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*mark = (uint32_t)v;
	return true;
}
