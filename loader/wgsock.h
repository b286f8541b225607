/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * WireGuard's own UDP sockets, found by their port through sock_diag (the
 * kernel's socket list of this network namespace): their cookies are what
 * rows 3 and 6 let pass, so that another process's socket, with the same
 * mark or to the same endpoint, does not.
 */
#ifndef WGKS_WGSOCK_H
#define WGKS_WGSOCK_H

#include <stdint.h>
#include "wgks.h"

/*
 * The cookies of root's UDP sockets bound to PORT in this namespace (IPv4
 * and IPv6; a WireGuard implementation runs as root, and no other user can
 * bind a port it holds). At most WGKS_TUNNEL_SOCKETS into COOKIES; how
 * many, or -1 after err().
 */
int wgsock_find(uint16_t port, uint64_t cookies[WGKS_TUNNEL_SOCKETS]);

#endif
