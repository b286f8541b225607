// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the command-line parsers: the input is split at NUL
 * bytes into argv (at most 32 arguments); the first byte picks the command.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "opts.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/*
	 * The parsers explain every error on stderr: send that (the FILE) to
	 * /dev/null, while libFuzzer and the sanitizers keep fd 2.
	 */
	FILE *devnull = fopen("/dev/null", "w");

	if (devnull)
		stderr = devnull;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "attach", "detach", "status", "lockdown" };
	struct attach_opts ao;
	struct detach_opts dopt;
	struct status_opts so;
	struct lockdown_opts lo;
	char *buf, *argv[MAX_ARGS + 2];
	int argc = 1;

	if (size < 1)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	argv[0] = (char *)names[data[0] % 4];
	for (size_t i = 0; i < size - 1 && argc <= MAX_ARGS; i++) {
		argv[argc++] = buf + i;
		i += strlen(buf + i);
	}
	argv[argc] = NULL;
	switch (data[0] % 4) {
	case 0:
		if (parse_attach_args(argc, argv, &ao) == 0 && (!ao.ifname || !valid_ifname(ao.ifname)))
			abort(); /* accepted without a valid interface */
		break;
	case 1:
		if (parse_detach_args(argc, argv, &dopt) == 0 && dopt.all && dopt.ifname)
			abort();
		break;
	case 2:
		parse_status_args(argc, argv, &so);
		break;
	case 3:
		parse_lockdown_args(argc, argv, &lo);
		break;
	}
	free(buf);
	return 0;
}
