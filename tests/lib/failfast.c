// SPDX-License-Identifier: GPL-2.0-only
/*
 * failfast HOST PORT TRIES LIMIT_MS [DEV]
 *
 * How blocked TCP connects end, and how fast (tests/lib/probes.sh,
 * tcp_fails_fast). TRIES blocking connect()s, then TRIES non-blocking ones
 * (EINPROGRESS, poll, SO_ERROR): each must fail with ETIMEDOUT, wgks-bpf's
 * promise (DESIGN.md, "Fail fast"); none may connect, hang past
 * LIMIT_MS + 500 ms or fail otherwise, and it stops at the first that does.
 * Their median time must be under LIMIT_MS: one slow try on a busy machine
 * is no failure. With FAILFAST_ERRNO=any in the environment any error will
 * do (another kill switch's REJECT gives ECONNREFUSED). DEV binds the
 * sockets to that interface (SO_BINDTODEVICE), as an application that picks
 * the physical interface would.
 *
 * One line per mode: the errors seen and min/median/max milliseconds. Exit 0
 * if every connect failed as it must, 1 if not, 2 on a usage error.
 *
 * C, not Python: the kernel matrix runs it in qemu guests whose initramfs
 * has no Python, and the leak suite runs the same program.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRIES 100

struct target {
	struct sockaddr_storage addr;
	socklen_t len;
	const char *dev;
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

static bool parse_target(const char *host, const char *port, struct target *t)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&t->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->addr;
	char *end;
	long p = strtol(port, &end, 10);

	if (*port == '\0' || *end != '\0' || p < 1 || p > 65535)
		return false;
	memset(&t->addr, 0, sizeof(t->addr));
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)p);
		t->len = sizeof(*a6);
		return true;
	}
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)p);
		t->len = sizeof(*a4);
		return true;
	}
	return false;
}

/*
 * One connect: how it ended ("connected", "hung" past timeout_ms, or the
 * errno's name; "socket failed" if no socket could be set up), and its time.
 */
static const char *connect_once(const struct target *t, bool blocking, int timeout_ms, double *ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd, err = 0, type = SOCK_STREAM | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK);
	const char *result;
	double start;

	fd = socket(t->addr.ss_family, type, 0);
	if (fd < 0 ||
	    (t->dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, t->dev, strlen(t->dev) + 1)) ||
	    /* A blocking connect gives up after SO_SNDTIMEO, with EINPROGRESS. */
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		*ms = 0;
		result = "socket failed";
		goto out;
	}
	start = now_ms();
	if (connect(fd, (const struct sockaddr *)&t->addr, t->len) < 0)
		err = errno;
	if (err == EINPROGRESS && !blocking) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		socklen_t len = sizeof(err);

		if (poll(&p, 1, timeout_ms) == 1)
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	}
	*ms = now_ms() - start;
	if (err == EINPROGRESS)
		result = "hung";
	else if (err == 0)
		result = "connected";
	else
		result = strerrorname_np(err) ? strerrorname_np(err) : "unknown errno";
out:
	if (fd >= 0)
		close(fd);
	return result;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
	const char *want = getenv("FAILFAST_ERRNO") ? getenv("FAILFAST_ERRNO") : "ETIMEDOUT";
	double times[MAX_TRIES];
	struct target t = { 0 };
	int tries, limit_ms, mode;
	bool ok = true;

	if (argc < 5 || argc > 6 || !parse_target(argv[1], argv[2], &t) ||
	    (tries = atoi(argv[3])) < 1 || tries > MAX_TRIES || (limit_ms = atoi(argv[4])) < 1) {
		fprintf(stderr, "usage: failfast HOST PORT TRIES(1-%d) LIMIT_MS [DEV]\n", MAX_TRIES);
		return 2;
	}
	t.dev = argc == 6 ? argv[5] : NULL;
	for (mode = 0; mode < 2 && ok; mode++) {
		bool blocking = mode == 0;
		const char *seen[MAX_TRIES];
		int n = 0, n_seen = 0, i;

		while (n < tries) {
			const char *result = connect_once(&t, blocking, limit_ms + 500, &times[n++]);

			for (i = 0; i < n_seen && strcmp(seen[i], result); i++)
				;
			if (i == n_seen)
				seen[n_seen++] = result;
			if (!strcmp(result, "connected") || !strcmp(result, "hung") ||
			    !strcmp(result, "socket failed") ||
			    (strcmp(result, want) && strcmp(want, "any"))) {
				ok = false;
				break;
			}
		}
		qsort(times, n, sizeof(times[0]), by_value);
		qsort(seen, n_seen, sizeof(seen[0]), by_name);
		ok &= times[n / 2] < limit_ms;
		printf("%s x%d connect to %s:%s%s%s%s: ", blocking ? "blocking" : "non-blocking", n,
		       argv[1], argv[2], t.dev ? " (bound to " : "", t.dev ? t.dev : "",
		       t.dev ? ")" : "");
		for (i = 0; i < n_seen; i++)
			printf("%s%s", i ? "," : "", seen[i]);
		printf(" in min %.1f / median %.1f / max %.1f ms\n", times[0], times[n / 2],
		       times[n - 1]);
	}
	return ok ? 0 : 1;
}
