/* SPDX-License-Identifier: GPL-2.0-only */
/* What both UDP senders of the bench (udpflood, udpturns) need. */
#ifndef WGKS_BENCH_UDP_H
#define WGKS_BENCH_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PAYLOAD 64
#define MAX_BATCH 256

static inline double clock_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ADDR (IPv4 or IPv6) and PORT as a socket address. */
static inline bool parse_addr(const char *s, uint16_t port, struct sockaddr_storage *ss,
			      socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
		return true;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return true;
	}
	return false;
}

/*
 * A socket bound to DST that is never read: datagrams to a local address
 * are dropped quietly (a full receive queue), with no ICMP replies.
 */
static inline int open_sink(const struct sockaddr_storage *dst, socklen_t len)
{
	int fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int small = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (bind(fd, (const struct sockaddr *)dst, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

#endif
