/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Strings in what status --json and watch --json print. Some come from
 * other users (cgroup names in a delegated subtree, device names): every
 * one is escaped, and bytes that are not UTF-8 become U+FFFD, so a name
 * can never end a string early, forge a field or make the line unreadable.
 */
#ifndef WGKS_JSON_H
#define WGKS_JSON_H

#include <stddef.h>
#include <stdio.h>

/* S as a JSON string, quotes included. */
void json_string(FILE *f, const char *s);

/*
 * S for a terminal (watch's and status's text): control characters and
 * bytes that are not UTF-8 become '?', so a name cannot move the cursor or
 * fake a line. Into BUF (SIZE bytes, cut if need be); returns BUF.
 */
const char *text_safe(const char *s, char *buf, size_t size);

#endif
