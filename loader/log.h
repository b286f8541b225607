/* SPDX-License-Identifier: GPL-2.0-only */
/* Messages on stderr as "wgks-bpf: <what failed>: <why>"; libbpf's only with --verbose. */
#ifndef WGKS_LOG_H
#define WGKS_LOG_H

#include <stdbool.h>

#define PROG_NAME "wgks-bpf"

extern bool verbose;

void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Route libbpf's messages through debug() (silent unless --verbose). */
void log_setup_libbpf(void);

#endif
