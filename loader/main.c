// SPDX-License-Identifier: GPL-2.0-only
/* wgks-bpf: command table and dispatch. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "subcommands.h"

/* WGKS_VERSION comes from the Makefile (VERSION), the one place it is written. */

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *args;
	const char *description;
} commands[] = {
	{ "attach", attach_main,
	  "IFACE [--fwmark N|auto|off] [--allow-lan] [--allow CIDR]... [--cgroup PATH]",
	  "Block all traffic of this network namespace that bypasses IFACE" },
	{ "detach", detach_main, "[IFACE | --all] [--cgroup PATH]",
	  "Stop protecting IFACE (default: every tunnel of this namespace;\n"
	  "      --all: of every namespace)" },
	{ "lockdown", lockdown_main, "on|off [--cgroup PATH]",
	  "Keep blocking this namespace even with no tunnel protected" },
	{ "sync", sync_main, "[--cgroup PATH]",
	  "Put the backstop on devices that appeared since attach; forget\n"
	  "      namespaces that no longer exist" },
	{ "watch", watch_main, "[--json] [--cgroup PATH]",
	  "Print one line per blocked packet, as it happens (rate-limited)" },
	{ "status", status_main, "[--json] [--cgroup PATH]",
	  "Show the policy per namespace and its counters (exit 3: not protected here)" },
};

static void show_usage(FILE *f)
{
	fprintf(f, "Usage: %s [--verbose] <cmd> [<args>]\n\n", PROG_NAME);
	fprintf(f, "A WireGuard kill switch: one eBPF program on the root cgroup v2 drops\n"
		   "every packet that would leave this network namespace off the tunnel.\n\n");
	fprintf(f, "Available subcommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s %s\n      %s\n", commands[i].name, commands[i].args,
			commands[i].description);
	fprintf(f, "\n  --verbose   show libbpf's and the verifier's messages\n"
		   "  --version   print the version\n"
		   "  --help      print this help\n");
}

/* Take --verbose out of argv wherever it stands; returns the new argc. */
static int strip_verbose(int argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
			verbose = true;
		else
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	argc = strip_verbose(argc, argv);
	log_setup_libbpf();
	/* Inherited as ignored (some service managers), it would hide wg's exit status. */
	signal(SIGCHLD, SIG_DFL);
	if (argc < 2) {
		show_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		show_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("%s %s\n", PROG_NAME, WGKS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].main(argc - 1, argv + 1);
	}
	err("invalid subcommand `%s'", argv[1]);
	show_usage(stderr);
	return 2;
}
