/* SPDX-License-Identifier: GPL-2.0-only */
/* Command-line arguments of each command (pure: unit tested). */
#ifndef WGKS_OPTS_H
#define WGKS_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include "prefix.h"

/* --allow prefixes one attach takes. */
#define MAX_ALLOW_ARGS 64

struct attach_opts {
	const char *ifname;
	bool fwmark_given; /* --fwmark N|off; false for none or `auto` */
	uint32_t fwmark;   /* 0: off, pass UDP to the peers' endpoints instead */
	bool allow_lan;
	struct prefix allow[MAX_ALLOW_ARGS];
	int nallow;
	const char *cgroup;
};

struct lockdown_opts {
	bool on;
	const char *cgroup;
};

struct detach_opts {
	const char *ifname; /* NULL: every tunnel of this namespace */
	bool all;           /* every namespace's policy, then the program */
	const char *cgroup;
};

struct status_opts {
	bool json;
	const char *cgroup;
};

/* argv[0] is the command name. 0, or -1 after err() (a usage error). */
int parse_attach_args(int argc, char **argv, struct attach_opts *o);
int parse_detach_args(int argc, char **argv, struct detach_opts *o);
int parse_status_args(int argc, char **argv, struct status_opts *o);
int parse_lockdown_args(int argc, char **argv, struct lockdown_opts *o);
/* sync takes --cgroup only (json stays false). */
int parse_sync_args(int argc, char **argv, struct status_opts *o);

/* A name the kernel could give an interface. */
bool valid_ifname(const char *name);

#endif
