// SPDX-License-Identifier: GPL-2.0-only
/*
 * udpturns: the end-to-end comparison, side by side. One thread sends
 * 64-byte UDP datagrams with sendmmsg() through several sockets in turn, a
 * short slice each, for a fixed time. Each socket is created in its own
 * network namespace and cgroup (a socket keeps those of its creator), so
 * each meets a different filter: netfilter rules in its namespace, BPF
 * programs on its cgroup. Taking turns every few milliseconds, the filters
 * see the same machine: the noise of a shared VM (neighbours, interrupts,
 * frequency) falls on all of them alike, and a round (one slice each) gives
 * paired ratios.
 *
 *   udpturns [--seconds S] [--slice-ms M] [--batch N] NAME=NETNS,CGROUP,ADDR,PORT[,OPT]... ...
 *
 * NETNS is a namespace file (/run/netns/X), CGROUP a cgroup v2 directory.
 * OPT: mark=N sets SO_MARK; sink first binds a socket to ADDR:PORT that is
 * never read (local destinations: dropped quietly, no ICMP replies).
 * Prints one JSON object: per NAME, packets, CPU and wall seconds in total,
 * and packets per CPU second and per wall second of each round.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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

#define MAX_TARGETS 12
#define MAX_ROUNDS 100000

struct target {
	char name[32];
	int fd;
	int sink;
	struct sockaddr_storage dst;
	socklen_t dst_len;
	uint64_t packets;
	double cpu, wall;
	float *round_cpu_pps, *round_wall_pps;
};

/* A port number, 1 to 65535. */
static bool parse_port(const char *s, uint16_t *port)
{
	char *end;
	long p = strtol(s, &end, 10);

	if (end == s || *end || p <= 0 || p > 65535)
		return false;
	*port = (uint16_t)p;
	return true;
}

/* Move this process into cgroup DIR. */
static int enter_cgroup(const char *dir)
{
	char path[4096];
	int fd, ret = -1;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, "0", 1) == 1)
		ret = 0;
	close(fd);
	return ret;
}

/* The options after ADDR,PORT. */
static int target_options(struct target *t, char *save)
{
	char *opt;

	while ((opt = strtok_r(NULL, ",", &save))) {
		if (!strncmp(opt, "mark=", 5)) {
			uint32_t mark = (uint32_t)strtoul(opt + 5, NULL, 0);

			if (setsockopt(t->fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
				fprintf(stderr, "udpturns: %s: SO_MARK: %s\n", t->name, strerror(errno));
				return -1;
			}
		} else if (!strcmp(opt, "sink")) {
			t->sink = open_sink(&t->dst, t->dst_len);
			if (t->sink < 0) {
				fprintf(stderr, "udpturns: %s: sink: %s\n", t->name, strerror(errno));
				return -1;
			}
		} else {
			fprintf(stderr, "udpturns: %s: unknown option `%s'\n", t->name, opt);
			return -1;
		}
	}
	return 0;
}

/* NAME=NETNS,CGROUP,ADDR,PORT[,OPT]...: a socket made in that namespace and cgroup. */
static int open_target(char *spec, struct target *t)
{
	char *eq = strchr(spec, '='), *netns, *cgroup, *addr, *port, *save = NULL;
	uint16_t p;
	int nsfd;

	if (!eq)
		return -1;
	*eq = '\0';
	snprintf(t->name, sizeof(t->name), "%s", spec);
	netns = strtok_r(eq + 1, ",", &save);
	cgroup = strtok_r(NULL, ",", &save);
	addr = strtok_r(NULL, ",", &save);
	port = strtok_r(NULL, ",", &save);
	if (!netns || !cgroup || !addr || !port || !parse_port(port, &p) ||
	    !parse_addr(addr, p, &t->dst, &t->dst_len)) {
		fprintf(stderr, "udpturns: bad target `%s'\n", spec);
		return -1;
	}
	nsfd = open(netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
		fprintf(stderr, "udpturns: %s: %s\n", netns, strerror(errno));
		if (nsfd >= 0)
			close(nsfd);
		return -1;
	}
	close(nsfd);
	if (enter_cgroup(cgroup)) {
		fprintf(stderr, "udpturns: cgroup %s: %s\n", cgroup, strerror(errno));
		return -1;
	}
	t->fd = socket(t->dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		fprintf(stderr, "udpturns: socket: %s\n", strerror(errno));
		return -1;
	}
	return target_options(t, save);
}

/* Send through T for SLICE seconds of wall time; add up what it cost. */
static int send_slice(struct target *t, struct mmsghdr *msgs, unsigned batch, double slice,
		      int round)
{
	double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w1, c1;
	uint64_t sent = 0;

	for (unsigned i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_name = &t->dst;
		msgs[i].msg_hdr.msg_namelen = t->dst_len;
	}
	do {
		int r = sendmmsg(t->fd, msgs, batch, 0);

		if (r < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN) {
			fprintf(stderr, "udpturns: %s: sendmmsg: %s\n", t->name, strerror(errno));
			return -1;
		}
		if (r > 0)
			sent += (uint64_t)r;
		w1 = clock_s(CLOCK_MONOTONIC);
	} while (w1 - w0 < slice);
	c1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	t->packets += sent;
	t->cpu += c1 - c0;
	t->wall += w1 - w0;
	t->round_cpu_pps[round] = (float)((double)sent / (c1 - c0));
	t->round_wall_pps[round] = (float)((double)sent / (w1 - w0));
	return 0;
}

static void print_floats(const float *v, int n)
{
	putchar('[');
	for (int i = 0; i < n; i++)
		printf("%s%.0f", i ? ", " : "", (double)v[i]);
	putchar(']');
}

int main(int argc, char *argv[])
{
	static char payload[PAYLOAD];
	static struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct target targets[MAX_TARGETS];
	double seconds = 10, slice = 0.02, start;
	unsigned batch = 64;
	int n = 0, rounds = 0, ret = 1;

	memset(targets, 0, sizeof(targets));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
		} else if (!strcmp(argv[i], "--slice-ms") && i + 1 < argc) {
			slice = strtod(argv[++i], NULL) / 1000;
		} else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
			batch = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (n < MAX_TARGETS && argv[i][0] != '-') {
			targets[n].fd = -1;
			targets[n].sink = -1;
			if (open_target(argv[i], &targets[n++]))
				goto cleanup;
		} else {
			fprintf(stderr, "Usage: udpturns [--seconds S] [--slice-ms M] [--batch N] "
					"NAME=NETNS,CGROUP,ADDR,PORT[,mark=N][,sink] ...\n");
			return 2;
		}
	}
	if (n < 1 || seconds <= 0 || slice <= 0 || batch < 1 || batch > MAX_BATCH) {
		fprintf(stderr, "udpturns: need targets, and positive --seconds, --slice-ms, --batch\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		targets[i].round_cpu_pps = calloc(MAX_ROUNDS, sizeof(float));
		targets[i].round_wall_pps = calloc(MAX_ROUNDS, sizeof(float));
		if (!targets[i].round_cpu_pps || !targets[i].round_wall_pps)
			goto cleanup;
	}
	for (unsigned i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	start = clock_s(CLOCK_MONOTONIC);
	while (rounds < MAX_ROUNDS && clock_s(CLOCK_MONOTONIC) - start < seconds) {
		/* Who goes first moves on each round: no target always follows another. */
		for (int k = 0; k < n; k++) {
			if (send_slice(&targets[(rounds + k) % n], msgs, batch, slice, rounds))
				goto cleanup;
		}
		rounds++;
	}

	printf("{\"rounds\": %d, \"slice_ms\": %.1f, \"batch\": %u, \"targets\": {", rounds,
	       slice * 1000, batch);
	for (int i = 0; i < n; i++) {
		struct target *t = &targets[i];

		printf("%s\"%s\": {\"packets\": %llu, \"cpu_seconds\": %.6f, \"wall_seconds\": %.6f, "
		       "\"round_pps_cpu\": ",
		       i ? ", " : "", t->name, (unsigned long long)t->packets, t->cpu, t->wall);
		print_floats(t->round_cpu_pps, rounds);
		printf(", \"round_pps\": ");
		print_floats(t->round_wall_pps, rounds);
		putchar('}');
	}
	printf("}}\n");
	ret = 0;
cleanup:
	for (int i = 0; i < n; i++) {
		if (targets[i].fd >= 0)
			close(targets[i].fd);
		if (targets[i].sink >= 0)
			close(targets[i].sink);
		free(targets[i].round_cpu_pps);
		free(targets[i].round_wall_pps);
	}
	return ret;
}
