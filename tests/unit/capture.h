/* SPDX-License-Identifier: GPL-2.0-only */
/* Capture what the code under test writes to stderr, to check its messages. */
#ifndef WGKS_TEST_CAPTURE_H
#define WGKS_TEST_CAPTURE_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int capture_saved_fd = -1;
static FILE *capture_file;

static inline void capture_start(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	capture_saved_fd = dup(STDERR_FILENO);
	dup2(fileno(capture_file), STDERR_FILENO);
}

/* Stop capturing; the text (truncated to size) lands in buf. */
static inline const char *capture_end(char *buf, size_t size)
{
	size_t n;

	fflush(stderr);
	dup2(capture_saved_fd, STDERR_FILENO);
	close(capture_saved_fd);
	rewind(capture_file);
	n = fread(buf, 1, size - 1, capture_file);
	buf[n] = '\0';
	fclose(capture_file);
	return buf;
}

#endif
