// SPDX-License-Identifier: GPL-2.0-only
/*
 * status [--json]: the attachment, each namespace's policy and counters.
 * Exit 0 when this namespace is protected, 3 when it is not, 1 on error,
 * so scripts and monitoring can ask.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include "backstop.h"
#include "context.h"
#include "json.h"
#include "keys.h"
#include "log.h"
#include "netns.h"
#include "oldmaps.h"
#include "owned.h"
#include "opts.h"
#include "subcommands.h"

#define EXIT_NOT_PROTECTED 3

#define REASON_NAME(name, text) [WGKS_REASON_##name] = #text,
static const char *const reason_names[WGKS_REASON_MAX] = { WGKS_REASONS(REASON_NAME) };
#undef REASON_NAME

/* One endpoint or prefix entry, as text, for the lists below. */
struct list_arg {
	bool json;
	int n;
	int family; /* of the allow map walked; 0 for endpoints */
};

static int print_entry(const void *key, uint32_t owners, void *arg)
{
	struct list_arg *a = arg;
	char text[64];

	(void)owners;
	if (a->family) {
		struct prefix p;

		prefix_from_key(a->family, key, &p);
		format_prefix(&p, text, sizeof(text));
	} else {
		struct endpoint e;

		endpoint_from_key(key, &e);
		format_endpoint(&e, text, sizeof(text));
	}
	if (a->json)
		printf("%s\"%s\"", a->n ? "," : "", text);
	else
		printf("%s%s", a->n ? ", " : " ", text);
	a->n++;
	return 0;
}

/*
 * Map I of the attached programs, to read entries from as ours: another
 * version's only if its entries are laid out as ours; -1 if not.
 */
static int entries_fd(const struct ks_ctx *c, enum ks_map_index i)
{
	struct ks_maps *m = (struct ks_maps *)&c->st.maps;

	if (!c->st.old)
		return *ks_map_fd(m, i);
	return c->st.old->same[i] ? c->st.old->fd[i] : -1;
}

/* The namespace's peer endpoints (fwmark off) and allowed prefixes. */
static void print_allowances(const struct ks_ctx *c, uint64_t id, bool json)
{
	struct list_arg a = { .json = json };
	int ep = entries_fd(c, KS_MAP_endpoints), a4 = entries_fd(c, KS_MAP_allow4),
	    a6 = entries_fd(c, KS_MAP_allow6);

	/* Another version's, laid out otherwise: not shown rather than misread. */
	printf(json ? ",\"endpoints\":[" : "  endpoints (fwmark off):");
	if (ep >= 0)
		owned_each(ep, OWNED_ENDPOINTS, id, print_entry, &a);
	printf(json ? "]" : "%s\n", a.n ? "" : ep >= 0 ? " none" : " (another layout)");
	a = (struct list_arg){ .json = json, .family = 4 };
	printf(json ? ",\"allowed\":[" : "  allowed (no name resolution):");
	if (a4 >= 0)
		owned_each(a4, OWNED_ALLOW4, id, print_entry, &a);
	a.family = 6;
	if (a6 >= 0)
		owned_each(a6, OWNED_ALLOW6, id, print_entry, &a);
	printf(json ? "]" : "%s\n", a.n ? "" : a4 >= 0 && a6 >= 0 ? " none" : " (another layout)");
}

static int sockets_known(const struct wgks_tunnel *t)
{
	int n = 0;

	for (int i = 0; i < WGKS_TUNNEL_SOCKETS; i++)
		n += t->sockets[i] != 0;
	return n;
}

/* The devices of this namespace the backstop is on, and how they hold it. */
static void print_backstop(bool json)
{
	static const char *const hook_names[] = { "none", "clsact", "tcx", "tcx+clsact" };
	char names[64][WGKS_IFNAMSIZ];
	int hooks[64], n = backstop_devices(names, hooks, 64), all = 0;

	printf(json ? ",\"backstop\":[" : "  backstop (tc egress) on:");
	for (int i = 0; i < n; i++) {
		int hook = hooks[i] & (BACKSTOP_TCX | BACKSTOP_CLSACT);

		all |= hook;
		if (json) {
			printf("%s", i ? "," : "");
			json_string(stdout, names[i]);
		} else {
			char text[WGKS_IFNAMSIZ * 4];

			printf(" %s (%s%s)", text_safe(names[i], text, sizeof(text)), hook_names[hook],
			       hooks[i] & BACKSTOP_BEHIND ? ", another's program first: run sync" : "");
		}
	}
	if (json) {
		/* tcx+clsact only for the moment a device moves, or where something went wrong. */
		printf("],\"backstop_hook\":\"%s\",\"backstop_behind\":[", hook_names[all]);
		/* Devices where another's tcx program was put before ours: it runs first. */
		for (int i = 0, k = 0; i < n; i++) {
			if (!(hooks[i] & BACKSTOP_BEHIND))
				continue;
			printf("%s", k++ ? "," : "");
			json_string(stdout, names[i]);
		}
		printf("]");
	} else {
		printf("%s\n", n ? "" : " none");
	}
}

static void print_namespace_json(const struct ks_ctx *c, uint64_t id, bool current,
				 const struct wgks_policy *p, const struct wgks_counters *cnt)
{
	int n = 0;

	printf("{\"netns\":%" PRIu64 ",\"current\":%s,\"lockdown\":%s,\"tunnels\":[", id,
	       current ? "true" : "false", p->rules.flags & WGKS_F_LOCKDOWN ? "true" : "false");
	for (uint32_t i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (!p->rules.tunnels[i].name[0])
			continue;
		printf("%s{\"name\":", n++ ? "," : "");
		json_string(stdout, p->rules.tunnels[i].name);
		printf(",\"ifindex\":%u,\"fwmark\":%u,\"wireguard\":%s,\"listen_port\":%u,"
		       "\"wireguard_sockets\":%d}", p->rules.tunnels[i].ifindex,
		       p->rules.tunnels[i].fwmark,
		       p->rules.tunnels[i].flags & WGKS_T_TRUST_MARK ? "false" : "true",
		       p->rules.tunnels[i].listen_port, sockets_known(&p->rules.tunnels[i]));
	}
	printf("]");
	print_allowances(c, id, true);
	if (current)
		print_backstop(true);
	printf(",\"counters\":{");
	for (int r = WGKS_REASON_TUNNEL; r < WGKS_REASON_MAX; r++)
		printf("%s\"%s\":{\"packets\":%llu,\"bytes\":%llu}", r > WGKS_REASON_TUNNEL ? "," : "",
		       reason_names[r], (unsigned long long)cnt->packets[r],
		       (unsigned long long)cnt->bytes[r]);
	printf("}}");
}

static void print_namespace_text(const struct ks_ctx *c, uint64_t id, bool current,
				 const struct wgks_policy *p, const struct wgks_counters *cnt)
{
	printf("\nnetns %" PRIu64 "%s%s\n", id, current ? " (this namespace)" : "",
	       p->rules.flags & WGKS_F_LOCKDOWN ? ", lockdown on" : "");
	for (uint32_t i = 0; i < WGKS_MAX_TUNNELS; i++) {
		const struct wgks_tunnel *t = &p->rules.tunnels[i];

		if (!t->name[0])
			continue;
		if (t->fwmark)
			printf("  tunnel %-16s ifindex %u  fwmark 0x%x", t->name, t->ifindex,
			       t->fwmark);
		else
			printf("  tunnel %-16s ifindex %u  fwmark off", t->name, t->ifindex);
		if (t->flags & WGKS_T_TRUST_MARK)
			printf("  (not WireGuard: any socket with the mark)\n");
		else
			printf("  WireGuard port %u, %d socket%s of its own\n", t->listen_port,
			       sockets_known(t), sockets_known(t) == 1 ? "" : "s");
	}
	print_allowances(c, id, false);
	if (current)
		print_backstop(false);
	printf("  %-10s %12s %14s\n", "verdict", "packets", "bytes");
	for (int r = WGKS_REASON_TUNNEL; r < WGKS_REASON_MAX; r++)
		printf("  %-10s %12llu %14llu\n", reason_names[r],
		       (unsigned long long)cnt->packets[r], (unsigned long long)cnt->bytes[r]);
}

/* The next namespace's key, its policy and counters: ours, or carried from another version's. */
static int next_namespace(const struct ks_ctx *c, const uint64_t *prev, uint64_t *key,
			  struct wgks_policy *p, struct wgks_counters *cnt)
{
	const struct ks_old *old = c->st.old;
	char why[160];

	for (;;) {
		if (old ? oldmaps_policy_next(old, prev, key) : bpf_map_get_next_key(c->st.maps.policy, prev, key))
			return -1;
		/* What could not be carried is shown as far as it goes: status only reads. */
		if (old ? oldmaps_policy_read(old, *key, p, why, sizeof(why)) >= 0
			: ks_policy_read(&c->st.maps, *key, p) == 0)
			break;
		if (errno != ENOENT) {
			/* Another version's that cannot be read at all: its namespace, no more. */
			memset(p, 0, sizeof(*p));
			break;
		}
		prev = key; /* removed meanwhile */
	}
	if (old)
		oldmaps_counters_read(old, KS_MAP_stats, p->rules.counters, cnt);
	else
		ks_counters_read(c->st.maps.stats, p->rules.counters, cnt);
	return 0;
}

/* Every namespace with a policy. Sets *here if this one has one. */
static int print_namespaces(const struct ks_ctx *c, const struct status_opts *o,
			    uint64_t netns, bool *here)
{
	struct wgks_policy p;
	struct wgks_counters cnt;
	uint64_t key, next;
	void *prev = NULL;
	int n = 0;

	while (next_namespace(c, prev, &next, &p, &cnt) == 0) {
		key = next;
		prev = &key;
		if (key == netns)
			*here = true;
		if (o->json) {
			if (n)
				putchar(',');
			print_namespace_json(c, key, key == netns, &p, &cnt);
		} else {
			print_namespace_text(c, key, key == netns, &p, &cnt);
		}
		n++;
	}
	if (errno != ENOENT) {
		err("cannot list the policy: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* sock_ops programs without an egress partner (the next command that changes anything detaches them). */
static void print_orphans(const struct ks_state *st, bool json)
{
	if (json) {
		printf("\"orphan_sock_ops\":[");
		for (int i = 0; i < st->norphans; i++)
			printf("%s%u", i ? "," : "", st->orphans[i]);
		printf("],");
		return;
	}
	for (int i = 0; i < st->norphans; i++)
		printf("orphan: sock_ops program id %u shares no maps with an egress program; the "
		       "next attach, detach, lockdown or sync detaches it\n", st->orphans[i]);
}

/* Whose programs these are, if not this version's: "other_version" (null if ours). */
static void print_version(const struct ks_state *st, bool json)
{
	const struct ks_old *old = st->old;
	/* The fields of ours its policies lack: what status shows as 0. */
	const struct layout_plan *missing = old ? &old->value[KS_MAP_policy] : NULL;

	if (json) {
		if (!old) {
			printf("\"other_version\":null,");
			return;
		}
		printf("\"other_version\":{\"differs\":");
		json_string(stdout, old->differs);
		printf(",\"takeover\":");
		if (old->cannot[0])
			json_string(stdout, old->cannot);
		else
			printf("null");
		printf(",\"missing_fields\":[");
		for (size_t i = 0; i < missing->nmissing; i++) {
			printf("%s", i ? "," : "");
			json_string(stdout, missing->missing[i].path);
		}
		printf("]},");
		return;
	}
	if (!old)
		return;
	printf("attached by another version of wgks-bpf: %s\n", old->differs);
	for (size_t i = 0; i < missing->nmissing; i++)
		printf("%s%s%s", i ? ", " : "  its policies have no ", missing->missing[i].path,
		       i + 1 == missing->nmissing ? " (shown as 0 below)\n" : "");
	if (old->cannot[0])
		printf("  this version cannot take it over: %s\n  (it keeps blocking; `wgks-bpf "
		       "detach --all` removes it, `wgks-bpf lockdown off` ends a lockdown)\n",
		       old->cannot);
	else
		printf("  the next attach, detach, lockdown or sync takes it over in place\n");
}

static void print_header(const struct ks_ctx *c, uint64_t netns,
			 const struct wgks_counters *unmanaged, const struct status_opts *o)
{
	if (o->json) {
		printf("{\"attached\":true,");
		print_version(&c->st, true);
		print_orphans(&c->st, true);
		printf("\"cgroup\":");
		json_string(stdout, c->cgroup);
		printf(",\"program\":{\"id\":%u,\"name\":\"%s\"},", c->st.egress_id, ks_prog_name(&c->st));
		if (c->st.sockops_fd >= 0)
			printf("\"fail_fast\":{\"id\":%u,\"hook\":\"sock_ops\"},", c->st.sockops_id);
		else
			printf("\"fail_fast\":null,");
		printf("\"attach_mode\":\"multi\","
		       "\"variant\":\"%s\",\"this_netns\":%" PRIu64
		       ",\"unmanaged\":{\"packets\":%llu,\"bytes\":%llu},\"namespaces\":[",
		       c->st.variant->name, netns,
		       (unsigned long long)unmanaged->packets[WGKS_REASON_UNMANAGED],
		       (unsigned long long)unmanaged->bytes[WGKS_REASON_UNMANAGED]);
		return;
	}
	printf("attached: program %s (id %u) on %s, egress, multi\n", ks_prog_name(&c->st),
	       c->st.egress_id, c->cgroup);
	print_version(&c->st, false);
	print_orphans(&c->st, false);
	if (c->st.sockops_fd >= 0)
		printf("fail-fast: program id %u on sock_ops: blocked TCP connects fail in "
		       "milliseconds (ETIMEDOUT)\n", c->st.sockops_id);
	else
		printf("fail-fast: off (no sock_ops program): blocked TCP connects wait for "
		       "the SYN retries\n");
	printf("variant: %s (namespaces are told apart by their netns cookie)\n",
	       c->st.variant->name);
	printf("unmanaged namespaces: %llu packets, %llu bytes passed\n",
	       (unsigned long long)unmanaged->packets[WGKS_REASON_UNMANAGED],
	       (unsigned long long)unmanaged->bytes[WGKS_REASON_UNMANAGED]);
}

int status_main(int argc, char **argv)
{
	struct wgks_counters unmanaged;
	struct status_opts o;
	struct ks_ctx c = KS_CTX_INIT;
	bool here = false;
	uint64_t netns, userns = 0;
	int ret = 1, owned;

	if (parse_status_args(argc, argv, &o))
		return 2;
	if (ctx_check() || ctx_open(&c, o.cgroup, CTX_READ))
		goto out;
	if (!c.found) {
		if (o.json) {
			printf("{\"attached\":false,");
			print_orphans(&c.st, true);
			printf("\"protected\":false,\"namespaces\":[]}\n");
		} else {
			printf("not attached: no namespace is protected\n");
			print_orphans(&c.st, false);
		}
		ret = EXIT_NOT_PROTECTED;
		goto out;
	}
	netns = c.netns;
	if (c.st.old)
		oldmaps_counters_read(c.st.old, KS_MAP_unmanaged, 0, &unmanaged);
	else
		ks_counters_read(c.st.maps.unmanaged, 0, &unmanaged);
	print_header(&c, netns, &unmanaged, &o);
	if (print_namespaces(&c, &o, netns, &here))
		goto out;
	owned = netns_owner(&userns);
	if (o.json) {
		printf("],\"protected\":%s", here ? "true" : "false");
		if (owned >= 0)
			printf(",\"this_netns_userns\":%" PRIu64 ",\"this_netns_userns_initial\":%s",
			       userns, owned ? "true" : "false");
		printf("}\n");
	} else {
		if (!here)
			printf("\nthis namespace (%" PRIu64 ") is NOT protected\n", netns);
		if (owned == 0)
			printf("\nthis namespace belongs to user namespace %" PRIu64 ", not the "
			       "initial one: %s\n", userns, NOT_INITIAL_USERNS);
	}
	if (c.st.others)
		info("warning: %u more wgks programs are attached to the cgroup", c.st.others);
	ret = here ? 0 : EXIT_NOT_PROTECTED;
out:
	ctx_close(&c);
	return ret;
}
