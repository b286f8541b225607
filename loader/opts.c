// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include "fwmark.h"
#include "log.h"
#include "opts.h"
#include "wgks.h"

bool valid_ifname(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= WGKS_IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *c = name; *c; c++) {
		unsigned char u = (unsigned char)*c;

		if (u == '/' || u == ':' || u <= ' ' || u == 0x7f)
			return false;
	}
	return true;
}

/*
 * If argv[*i] is option NAME, as "--name VALUE" or "--name=VALUE", set *value
 * and advance *i past it. 1 matched, 0 not this option, -1 value missing.
 */
static int take_value(int argc, char **argv, int *i, const char *name, const char **value)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		err("%s: option %s needs a value", argv[0], name);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

static int take_ifname(char **argv, const char *arg, const char **slot)
{
	if (*slot) {
		err("%s: unexpected argument `%s'", argv[0], arg);
		return -1;
	}
	if (!valid_ifname(arg)) {
		err("%s: `%s' is not a valid interface name", argv[0], arg);
		return -1;
	}
	*slot = arg;
	return 0;
}

static int unknown_option(char **argv, const char *arg)
{
	err("%s: unknown option `%s'", argv[0], arg);
	return -1;
}

static int take_allow(char **argv, const char *cidr, struct attach_opts *o)
{
	if (o->nallow == MAX_ALLOW_ARGS) {
		err("%s: more than %d --allow prefixes", argv[0], MAX_ALLOW_ARGS);
		return -1;
	}
	if (!parse_prefix(cidr, &o->allow[o->nallow])) {
		err("%s: --allow needs an address or prefix with no host bits set "
		    "(10.1.0.0/16, fd00::/8): `%s'", argv[0], cidr);
		return -1;
	}
	o->nallow++;
	return 0;
}

int parse_attach_args(int argc, char **argv, struct attach_opts *o)
{
	const char *fwmark = NULL, *allow = NULL;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		int r;

		if ((r = take_value(argc, argv, &i, "--fwmark", &fwmark)) != 0 ||
		    (r = take_value(argc, argv, &i, "--cgroup", &o->cgroup)) != 0) {
			if (r < 0)
				return -1;
		} else if ((r = take_value(argc, argv, &i, "--allow", &allow)) != 0) {
			if (r < 0 || take_allow(argv, allow, o))
				return -1;
		} else if (!strcmp(argv[i], "--allow-lan")) {
			o->allow_lan = true;
		} else if (argv[i][0] == '-') {
			return unknown_option(argv, argv[i]);
		} else if (take_ifname(argv, argv[i], &o->ifname)) {
			return -1;
		}
	}
	if (!o->ifname) {
		err("%s: missing interface name", argv[0]);
		return -1;
	}
	for (int family = 4; family <= 6; family += 2) {
		if (prefixes_cover_family(o->allow, o->nallow, family)) {
			err("%s: the --allow prefixes cover every IPv%d address: that is the kill "
			    "switch turned off; refused", argv[0], family);
			return -1;
		}
	}
	if (fwmark && strcmp(fwmark, "auto")) {
		if (!parse_fwmark(fwmark, &o->fwmark)) {
			err("%s: fwmark is neither auto, off nor 0-0xffffffff: `%s'", argv[0],
			    fwmark);
			return -1;
		}
		o->fwmark_given = true;
	}
	return 0;
}

/*
 * The shape detach, status and lockdown share: --cgroup PATH, an optional
 * boolean flag, and at most one positional argument (NULL if none).
 */
static int parse_simple(int argc, char **argv, const char **cgroup, const char *flag_name,
			bool *flag, const char **positional)
{
	*positional = NULL;
	for (int i = 1; i < argc; i++) {
		int r = take_value(argc, argv, &i, "--cgroup", cgroup);

		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		if (flag_name && !strcmp(argv[i], flag_name)) {
			*flag = true;
		} else if (argv[i][0] == '-') {
			return unknown_option(argv, argv[i]);
		} else if (*positional) {
			err("%s: unexpected argument `%s'", argv[0], argv[i]);
			return -1;
		} else {
			*positional = argv[i];
		}
	}
	return 0;
}

int parse_detach_args(int argc, char **argv, struct detach_opts *o)
{
	const char *ifname;

	memset(o, 0, sizeof(*o));
	if (parse_simple(argc, argv, &o->cgroup, "--all", &o->all, &ifname))
		return -1;
	if (ifname && take_ifname(argv, ifname, &o->ifname))
		return -1;
	if (o->all && o->ifname) {
		err("%s: --all and an interface name exclude each other", argv[0]);
		return -1;
	}
	return 0;
}

int parse_status_args(int argc, char **argv, struct status_opts *o)
{
	const char *extra;

	memset(o, 0, sizeof(*o));
	if (parse_simple(argc, argv, &o->cgroup, "--json", &o->json, &extra))
		return -1;
	if (extra) {
		err("%s: unexpected argument `%s'", argv[0], extra);
		return -1;
	}
	return 0;
}

int parse_lockdown_args(int argc, char **argv, struct lockdown_opts *o)
{
	const char *state;

	memset(o, 0, sizeof(*o));
	if (parse_simple(argc, argv, &o->cgroup, NULL, NULL, &state))
		return -1;
	if (!state || (strcmp(state, "on") && strcmp(state, "off"))) {
		err("%s: say on or off", argv[0]);
		return -1;
	}
	o->on = !strcmp(state, "on");
	return 0;
}

int parse_sync_args(int argc, char **argv, struct status_opts *o)
{
	const char *extra;

	memset(o, 0, sizeof(*o));
	if (parse_simple(argc, argv, &o->cgroup, NULL, NULL, &extra))
		return -1;
	if (extra) {
		err("%s: unexpected argument `%s'", argv[0], extra);
		return -1;
	}
	return 0;
}
