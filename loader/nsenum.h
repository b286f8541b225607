/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The network namespaces this process can reach: those of every process
 * (/proc/PID/ns/net) and those bind-mounted where `ip netns` puts them
 * (/run/netns). Entered one at a time with setns(), for the work that must
 * run inside a namespace: its devices' backstop (detach --all, an
 * upgrade). A namespace that nothing here names (kept alive only by an open
 * socket elsewhere) cannot be reached this way.
 */
#ifndef WGKS_NSENUM_H
#define WGKS_NSENUM_H

#include <stdint.h>

/*
 * Call FN(cookie, arg) inside each reachable namespace but this one, then
 * come back. Stops at FN's first non-zero and returns it; -1 after err() if
 * this namespace cannot be re-entered (the caller must then stop).
 */
int nsenum_each(int (*fn)(uint64_t netns, void *arg), void *arg);

#endif
