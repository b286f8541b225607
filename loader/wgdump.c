// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "fwmark.h"
#include "wgdump.h"

#define MAX_FIELDS 8
#define LINE_MAX_ 512

/* Split LINE at tabs into at most MAX_FIELDS fields; how many. */
static int split(char *line, char *fields[MAX_FIELDS])
{
	int n = 0;

	for (char *f = line; f && n < MAX_FIELDS; n++) {
		fields[n] = f;
		f = strchr(f, '\t');
		if (f)
			*f++ = '\0';
	}
	return n;
}

static bool parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return false;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

int parse_wg_dump(const char *text, struct wg_info *wi)
{
	bool first = true;
	int lineno = 0;

	memset(wi, 0, sizeof(*wi));
	while (*text) {
		size_t len = strcspn(text, "\n");
		char line[LINE_MAX_], *f[MAX_FIELDS];
		bool ok;
		int n;

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, text, len);
		line[len] = '\0';
		text += strcspn(text, "\n");
		if (*text == '\n')
			text++;
		lineno++;
		if (!line[0])
			continue;
		n = split(line, f);
		if (first) {
			ok = n == 4 && parse_port(f[2], &wi->listen_port) &&
			     parse_fwmark(f[3], &wi->fwmark);
			first = false;
		} else if (n == 8 && !strcmp(f[2], "(none)")) {
			ok = true;
		} else {
			ok = n == 8 && wi->nendpoints < WG_MAX_PEERS &&
			     parse_endpoint(f[2], &wi->endpoints[wi->nendpoints]);
			wi->nendpoints += ok;
		}
		/* The line held keys: wipe the copy whatever happens next. */
		explicit_bzero(line, sizeof(line));
		if (!ok)
			return lineno;
	}
	return first ? 1 : 0;
}
