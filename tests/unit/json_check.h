/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A strict reader of one JSON string (RFC 8259), for the tests and the
 * fuzzer of json_string(): true if TEXT is exactly one well-formed string
 * literal, with its value (escapes resolved, UTF-8) in OUT.
 */
#ifndef WGKS_TEST_JSON_CHECK_H
#define WGKS_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int json_check_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append code point CP as UTF-8; false if it is not one. */
static inline bool json_check_put(uint32_t cp, char *out, size_t *n, size_t size)
{
	unsigned char b[4];
	size_t len;

	if (cp >= 0xd800 && cp <= 0xdfff)
		return false;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp, len = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3f)), len = 2;
	} else {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		len = 3;
	}
	if (*n + len >= size)
		return false;
	memcpy(out + *n, b, len);
	*n += len;
	return true;
}

static inline bool json_check_string(const char *text, size_t len, char *out, size_t size)
{
	size_t i = 1, n = 0;

	if (len < 2 || text[0] != '"' || text[len - 1] != '"')
		return false;
	while (i < len - 1) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x20 || c == '"')
			return false;
		if (c != '\\') {
			/* Raw bytes must be UTF-8: the escaper's promise. */
			size_t k = 1;
			uint32_t cp = c;

			if (c >= 0x80) {
				if (c >= 0xc2 && c <= 0xdf)
					k = 2, cp = c & 0x1f;
				else if (c >= 0xe0 && c <= 0xef)
					k = 3, cp = c & 0x0f;
				else if (c >= 0xf0 && c <= 0xf4)
					k = 4, cp = c & 0x07;
				else
					return false;
				if (i + k > len - 1)
					return false;
				for (size_t j = 1; j < k; j++) {
					if (((unsigned char)text[i + j] & 0xc0) != 0x80)
						return false;
					cp = cp << 6 | ((unsigned char)text[i + j] & 0x3f);
				}
				if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
				    (cp >= 0xd800 && cp <= 0xdfff))
					return false;
			}
			if (n + k >= size)
				return false;
			memcpy(out + n, text + i, k);
			n += k;
			i += k;
			continue;
		}
		if (++i >= len - 1)
			return false;
		switch (text[i]) {
		case '"': case '\\': case '/':
			if (n + 1 >= size)
				return false;
			out[n++] = text[i++];
			break;
		case 'b': case 'f': case 'n': case 'r': case 't':
			if (n + 1 >= size)
				return false;
			out[n++] = "\b\f\n\r\t"[strchr("bfnrt", text[i]) - "bfnrt"];
			i++;
			break;
		case 'u': {
			uint32_t cp = 0;

			for (int d = 1; d <= 4; d++) {
				int h = i + (size_t)d < len - 1 ? json_check_hex(text[i + (size_t)d]) : -1;

				if (h < 0)
					return false;
				cp = cp << 4 | (uint32_t)h;
			}
			if (!json_check_put(cp, out, &n, size))
				return false;
			i += 5;
			break;
		}
		default:
			return false;
		}
	}
	out[n] = '\0';
	return true;
}

#endif
