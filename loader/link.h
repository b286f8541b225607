/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Network devices of this namespace, as the kernel describes them over
 * rtnetlink (not /sys, which `nsenter --net` leaves pointing at another
 * namespace): index, hardware type, link kind, and what it sits on.
 */
#ifndef WGKS_LINK_H
#define WGKS_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include "wgks.h"

struct link_info {
	uint32_t ifindex;
	uint16_t type;              /* ARPHRD_*: ARPHRD_NONE for layer-3 devices */
	uint32_t master;            /* the bridge (or bond) it is a port of; 0 if none */
	uint32_t lower;             /* IFLA_LINK: a vlan's or macvlan's lower device, a veth's peer; 0 if none */
	bool lower_elsewhere;       /* that index is in another namespace (IFLA_LINK_NETNSID) */
	char kind[WGKS_IFNAMSIZ];   /* IFLA_INFO_KIND ("wireguard", "tun", "veth"), "" if none */
	char name[WGKS_IFNAMSIZ];
};

/* Interface NAME. 1 found, 0 no such interface, -1 after err(). */
int link_get(const char *name, struct link_info *li);

/* Every device of this namespace, up to MAX into LINKS. How many, or -1 after err(). */
int link_list(struct link_info *links, int max);

/*
 * Whether a device of this description is a tunnel wgks-bpf protects:
 * WireGuard, or tun in layer-3 (TUN) mode. Anything else would pass as a
 * tunnel every packet it carries off the host (a veth, an Ethernet card, a
 * modem's raw-IP device), so attach refuses it.
 */
bool link_is_tunnel(const struct link_info *li);

/* A word for the device's kind, for messages: its link kind or its type. */
const char *link_describe(const struct link_info *li, char *buf, size_t size);

#endif
