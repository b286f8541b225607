// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "wg.h"

extern char **environ;

/* `wg` from PATH; $WGKS_WG names another (tests use it to fake output). */
static const char *wg_command(void)
{
	const char *wg = getenv("WGKS_WG");

	return wg && *wg ? wg : "wg";
}

/* The shell's code for "command not found or not executable". */
#define EXIT_CANNOT_EXEC 127

/*
 * How long `wg show` may take: it answers in milliseconds, but a hung
 * userspace implementation (its UAPI socket accepts and never answers)
 * would hang PostUp, and with it wg-quick. $WGKS_WG_TIMEOUT_MS (tests).
 */
#define WG_TIMEOUT_MS 10000

static int wg_timeout_ms(void)
{
	const char *t = getenv("WGKS_WG_TIMEOUT_MS");
	int ms = t ? atoi(t) : 0;

	return ms > 0 ? ms : WG_TIMEOUT_MS;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read the child's stdout into OUT until EOF or the deadline; past the
 * buffer, keep reading so that wg never blocks on a full pipe. 0 at EOF,
 * -1 when the deadline passed.
 */
static int read_until(int fd, char *out, size_t outsz, long long deadline)
{
	size_t got = 0;
	ssize_t n;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		char discard[256];
		bool full = got + 1 >= outsz;

		if (left <= 0)
			break;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		n = full ? read(fd, discard, sizeof(discard)) : read(fd, out + got, outsz - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			out[got] = '\0';
			return 0;
		}
		if (!full)
			got += (size_t)n;
	}
	out[got] = '\0';
	return -1;
}

/* run_wg_show()'s answer when there is no wg at all. */
#define WG_MISSING (-2)

/*
 * Run `wg show IF WHAT`, its stdout into out. Returns its exit status, or
 * -1 after err() when it could not run or did not exit normally, or
 * WG_MISSING when there is no wg (said by err() unless QUIET).
 */
static int run_wg_show(const char *ifname, const char *what, char *out, size_t outsz, bool quiet)
{
	char *argv[] = { (char *)wg_command(), "show", (char *)ifname, (char *)what, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int pipefd[2], status, spawn_err, timeout = wg_timeout_ms();
	long long deadline;
	bool timed_out;
	pid_t pid, reaped = 0;

	if (pipe2(pipefd, O_CLOEXEC)) {
		err("cannot run `%s': pipe: %s", argv[0], strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	if (!verbose)
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	/* A group of its own: on a timeout it goes with whatever it started. */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	spawn_err = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (spawn_err) {
		if (!quiet || spawn_err != ENOENT)
			err("cannot run `%s': %s (is wireguard-tools installed?)", argv[0],
			    strerror(spawn_err));
		close(pipefd[0]);
		return spawn_err == ENOENT ? WG_MISSING : -1;
	}
	deadline = now_ms() + timeout;
	timed_out = read_until(pipefd[0], out, outsz, deadline) < 0;
	close(pipefd[0]);
	/* Its output ended; it may still not exit (stdout closed, then hung). */
	while (!timed_out && (reaped = waitpid(pid, &status, WNOHANG)) == 0) {
		struct timespec pause = { .tv_nsec = 1000000 };

		timed_out = now_ms() >= deadline;
		nanosleep(&pause, NULL);
	}
	if (timed_out) {
		kill(-pid, SIGKILL);
		reaped = waitpid(pid, &status, 0);
	}
	if (reaped < 0 && errno == EINTR)
		reaped = waitpid(pid, &status, 0);
	if (reaped < 0) {
		/* ECHILD when SIGCHLD is ignored: main() restores it, but say so. */
		err("cannot run `%s': waitpid: %s", argv[0], strerror(errno));
		return -1;
	}
	if (timed_out) {
		err("`%s show %s %s' did not answer within %d ms: killed (is the WireGuard "
		    "implementation hung?)", argv[0], ifname, what, timeout);
		return -1;
	}
	if (WIFSIGNALED(status)) {
		err("cannot run `%s': killed by signal %d", argv[0], WTERMSIG(status));
		return -1;
	}
	if (WEXITSTATUS(status) == EXIT_CANNOT_EXEC) {
		err("cannot run `%s' (exit status %d)", argv[0], EXIT_CANNOT_EXEC);
		return -1;
	}
	return WEXITSTATUS(status);
}

int wg_query(const char *ifname, bool quiet, struct wg_info *wi)
{
	char out[16384];
	int status, ret = -1, line;

	status = run_wg_show(ifname, "dump", out, sizeof(out), quiet);
	if (status == WG_MISSING && quiet)
		return 0;
	if (status < 0)
		return -1;
	if (status != 0) {
		ret = 0; /* wg knows no such WireGuard interface */
	} else if ((line = parse_wg_dump(out, wi)) == 0) {
		ret = 1;
	} else {
		err("%s: cannot use `wg show %s dump` output, line %d (more than %d peers "
		    "with an endpoint, or not what wg prints)", ifname, ifname, line, WG_MAX_PEERS);
	}
	/* It held the private key. */
	explicit_bzero(out, sizeof(out));
	return ret;
}
