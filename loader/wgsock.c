// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include "log.h"
#include "nldump.h"
#include "wgsock.h"

/* For dump_family(): the port asked for, and root's sockets on it so far. */
struct sock_dump {
	uint16_t port;
	uint64_t *cookies;
	int n;
};

static int add_socket(const struct nlmsghdr *nh, void *arg)
{
	const struct inet_diag_msg *d = NLMSG_DATA(nh);
	struct sock_dump *s = arg;

	if (ntohs(d->id.idiag_sport) != s->port || d->idiag_uid != 0)
		return 0;
	if (s->n < WGKS_TUNNEL_SOCKETS)
		s->cookies[s->n] = (uint64_t)d->id.idiag_cookie[1] << 32 | d->id.idiag_cookie[0];
	s->n++;
	return 0;
}

/* Ask for every UDP socket of FAMILY; add root's bound to PORT. How many now, or -1. */
static int dump_family(int fd, int family, uint16_t port, uint64_t *cookies, int n)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = (uint32_t)family },
		.req = { .sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_UDP,
			 .idiag_states = ~0u },
	};
	struct sock_dump s = { .port = port, .cookies = cookies, .n = n };

	return nl_dump(fd, &msg, sizeof(msg), add_socket, &s) ? -1 : s.n;
}

int wgsock_find(uint16_t port, uint64_t cookies[WGKS_TUNNEL_SOCKETS])
{
	int fd, n = 0;

	memset(cookies, 0, sizeof(uint64_t) * WGKS_TUNNEL_SOCKETS);
	if (!port)
		return 0;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0) {
		err("cannot list this namespace's sockets: %s", strerror(errno));
		return -1;
	}
	n = dump_family(fd, AF_INET, port, cookies, n);
	if (n >= 0)
		n = dump_family(fd, AF_INET6, port, cookies, n);
	if (n < 0)
		err("cannot list this namespace's sockets to find WireGuard's own: %s%s",
		    strerror(errno), errno == ENOENT ? " (is the udp_diag module loaded?)" : "");
	close(fd);
	if (n > WGKS_TUNNEL_SOCKETS) {
		debug("%d sockets of root on UDP port %u: the first %d are taken", n, port,
		      WGKS_TUNNEL_SOCKETS);
		n = WGKS_TUNNEL_SOCKETS;
	}
	return n;
}
