// SPDX-License-Identifier: GPL-2.0-only
/*
 * udpflood: send 64-byte UDP datagrams to ADDR:PORT with sendmmsg() as fast
 * as one thread can, for a fixed time or count, and print one JSON line:
 *
 *   {"sent":..., "attempts":..., "eperm":..., "seconds":..., "cpu_seconds":...,
 *    "pps":..., "attempts_pps":..., "pps_cpu":...}
 *
 * pps_cpu is per second of this thread's CPU time (with what the kernel did
 * for it in its context, the softirqs of the veth peer included): unlike
 * pps, it does not fall when other processes take the CPU away.
 *
 * A blocked send fails with EPERM at its first datagram, so sendmmsg() then
 * tried one: attempts counts what reached the egress hook, sent what left.
 * With --sink it first binds a socket to ADDR:PORT that is never read, so
 * datagrams to a local address are dropped quietly (a full receive queue)
 * instead of drawing ICMP port-unreachable replies.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "udp.h"

struct opts {
	const char *addr;
	uint16_t port;
	uint32_t mark;
	bool has_mark;
	bool sink;
	double seconds;
	uint64_t count;
	unsigned batch;
};

static void usage(void)
{
	fprintf(stderr, "Usage: udpflood [--mark N] [--seconds S | --count N] [--batch N] "
			"[--sink] ADDR PORT\n");
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && *s && !*end;
}

static bool parse_opts(int argc, char *argv[], struct opts *o)
{
	int pos = 0;
	uint64_t v;

	*o = (struct opts){ .seconds = 1.0, .batch = 64 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool takes = !strcmp(a, "--mark") || !strcmp(a, "--seconds") ||
			     !strcmp(a, "--count") || !strcmp(a, "--batch");

		if (takes && i + 1 >= argc) {
			fprintf(stderr, "udpflood: %s needs a value\n", a);
			return false;
		}
		if (!strcmp(a, "--mark")) {
			if (!parse_u64(argv[++i], &v) || v > UINT32_MAX)
				goto bad;
			o->mark = (uint32_t)v;
			o->has_mark = true;
		} else if (!strcmp(a, "--seconds")) {
			char *end;

			o->seconds = strtod(argv[++i], &end);
			if (*end || o->seconds <= 0)
				goto bad;
			o->count = 0;
		} else if (!strcmp(a, "--count")) {
			if (!parse_u64(argv[++i], &o->count) || !o->count)
				goto bad;
		} else if (!strcmp(a, "--batch")) {
			if (!parse_u64(argv[++i], &v) || !v || v > MAX_BATCH)
				goto bad;
			o->batch = (unsigned)v;
		} else if (!strcmp(a, "--sink")) {
			o->sink = true;
		} else if (pos == 0) {
			o->addr = a;
			pos++;
		} else if (pos == 1) {
			if (!parse_u64(a, &v) || !v || v > UINT16_MAX)
				goto bad;
			o->port = (uint16_t)v;
			pos++;
		} else {
			goto bad;
		}
		continue;
bad:
		fprintf(stderr, "udpflood: bad argument `%s'\n", argv[i]);
		return false;
	}
	return pos == 2;
}

int main(int argc, char *argv[])
{
	static char payload[PAYLOAD];
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct sockaddr_storage dst;
	uint64_t sent = 0, attempts = 0, eperm = 0;
	double start, cpu_start, elapsed = 0, cpu;
	int fd = -1, sink = -1, ret = 1;
	socklen_t dst_len;
	struct opts o;

	if (!parse_opts(argc, argv, &o)) {
		usage();
		return 2;
	}
	if (!parse_addr(o.addr, o.port, &dst, &dst_len)) {
		fprintf(stderr, "udpflood: `%s' is no IPv4 or IPv6 address\n", o.addr);
		return 2;
	}
	if (o.sink && (sink = open_sink(&dst, dst_len)) < 0) {
		fprintf(stderr, "udpflood: cannot bind the sink to %s: %s\n", o.addr,
			strerror(errno));
		goto cleanup;
	}
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "udpflood: socket: %s\n", strerror(errno));
		goto cleanup;
	}
	if (o.has_mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &o.mark, sizeof(o.mark))) {
		fprintf(stderr, "udpflood: SO_MARK: %s\n", strerror(errno));
		goto cleanup;
	}
	memset(msgs, 0, sizeof(msgs));
	for (unsigned i = 0; i < o.batch; i++) {
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = dst_len;
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	start = clock_s(CLOCK_MONOTONIC);
	cpu_start = clock_s(CLOCK_THREAD_CPUTIME_ID);
	for (;;) {
		unsigned n = o.batch;
		int r;

		if (o.count && o.count - attempts < n)
			n = (unsigned)(o.count - attempts);
		r = sendmmsg(fd, msgs, n, 0);
		if (r > 0) {
			sent += (uint64_t)r;
			attempts += (uint64_t)r;
		} else if (r < 0 && errno == EPERM) {
			/* Dropped at egress: the first datagram was tried. */
			eperm++;
			attempts++;
		} else if (r < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN) {
			fprintf(stderr, "udpflood: sendmmsg: %s\n", strerror(errno));
			goto cleanup;
		}
		if (o.count) {
			if (attempts >= o.count)
				break;
		} else if ((elapsed = clock_s(CLOCK_MONOTONIC) - start) >= o.seconds) {
			break;
		}
	}
	cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
	elapsed = clock_s(CLOCK_MONOTONIC) - start;
	printf("{\"sent\": %llu, \"attempts\": %llu, \"eperm\": %llu, \"seconds\": %.6f, "
	       "\"cpu_seconds\": %.6f, \"pps\": %.1f, \"attempts_pps\": %.1f, "
	       "\"pps_cpu\": %.1f}\n",
	       (unsigned long long)sent, (unsigned long long)attempts, (unsigned long long)eperm,
	       elapsed, cpu, (double)sent / elapsed, (double)attempts / elapsed,
	       (double)sent / cpu);
	ret = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (sink >= 0)
		close(sink);
	return ret;
}
