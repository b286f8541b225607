// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fwmark.h"

bool parse_fwmark(const char *s, uint32_t *mark)
{
	unsigned long long v;
	const char *end;
	char *num_end;
	size_t len;

	if (!s)
		return false;
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	end = s + len;
	if (len == 0)
		return false;
	if (len == 3 && !strncmp(s, "off", 3)) {
		*mark = 0;
		return true;
	}
	/* strtoull accepts a sign and leading blanks: allow digits only. */
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &num_end, 0);
	if (errno || num_end != end || v > UINT32_MAX)
		return false;
	*mark = (uint32_t)v;
	return true;
}
