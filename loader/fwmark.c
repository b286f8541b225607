// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fwmark.h"

bool parse_fwmark(const char *s, uint32_t *mark)
{
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return false;
	if (!strcmp(s, "off")) {
		*mark = 0;
		return true;
	}
	/* strtoull accepts a sign and leading blanks: allow digits only. */
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*mark = (uint32_t)v;
	return true;
}
