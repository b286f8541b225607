// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: whatever bytes a name holds, json_string() writes exactly one
 * well-formed JSON string that reads back as the name (with U+FFFD where it
 * was not UTF-8), and text_safe() writes only printable UTF-8.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "../unit/json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[513], out[4096], back[4096], text[64];
	FILE *f;
	size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;

	memcpy(name, data, n);
	name[n] = '\0';
	f = fmemopen(out, sizeof(out), "w");
	if (!f)
		return 0;
	json_string(f, name);
	fclose(f);
	if (!json_check_string(out, strlen(out), back, sizeof(back)))
		abort();
	/* Names that are already UTF-8 come back unchanged. */
	if (!strstr(back, "\xef\xbf\xbd") && strcmp(back, name))
		abort();
	text_safe(name, text, sizeof(text));
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			abort();
	}
	return 0;
}
