// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the text parsers: fwmarks, prefixes, endpoints and
 * `wg show IF dump` output. The first byte picks the parser; the rest
 * is its input. Round trips are checked: what parses must print back to
 * something that parses to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fwmark.h"
#include "prefix.h"
#include "wgdump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct endpoint eps[1], e2;
	struct wg_info wi;
	struct prefix p, p2;
	char *s, text[64];
	uint32_t mark;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		parse_fwmark(s, &mark);
		break;
	case 1:
		if (parse_prefix(s, &p)) {
			format_prefix(&p, text, sizeof(text));
			if (!parse_prefix(text, &p2) || memcmp(&p, &p2, sizeof(p)))
				abort();
		}
		break;
	case 2:
		if (parse_endpoint(s, &eps[0])) {
			format_endpoint(&eps[0], text, sizeof(text));
			if (!parse_endpoint(text, &e2) || memcmp(&eps[0], &e2, sizeof(e2)))
				abort();
		}
		break;
	case 3:
		parse_wg_dump(s, &wi);
		break;
	}
	free(s);
	return 0;
}
