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
#include "context.h"
#include "log.h"
#include "netns.h"
#include "opts.h"
#include "subcommands.h"

#define EXIT_NOT_PROTECTED 3

static const char *const reason_names[WGKS_REASON_MAX] = {
	[WGKS_REASON_UNMANAGED] = "unmanaged", [WGKS_REASON_TUNNEL] = "tunnel",
	[WGKS_REASON_FWMARK] = "fwmark",       [WGKS_REASON_LOCAL] = "local",
	[WGKS_REASON_LINK] = "link",           [WGKS_REASON_BLOCKED] = "blocked",
};

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_namespace_json(uint64_t id, bool current, const struct wgks_policy *p,
				 const struct wgks_counters *cnt)
{
	printf("{\"netns\":%" PRIu64 ",\"current\":%s,\"tunnels\":[", id,
	       current ? "true" : "false");
	for (uint32_t i = 0; i < p->ntunnels && i < WGKS_MAX_TUNNELS; i++) {
		printf("%s{\"name\":", i ? "," : "");
		print_json_string(p->tunnels[i].name);
		printf(",\"ifindex\":%u,\"fwmark\":%u}", p->tunnels[i].ifindex,
		       p->tunnels[i].fwmark);
	}
	printf("],\"counters\":{");
	for (int r = WGKS_REASON_TUNNEL; r < WGKS_REASON_MAX; r++)
		printf("%s\"%s\":{\"packets\":%llu,\"bytes\":%llu}", r > WGKS_REASON_TUNNEL ? "," : "",
		       reason_names[r], (unsigned long long)cnt->packets[r],
		       (unsigned long long)cnt->bytes[r]);
	printf("}}");
}

static void print_namespace_text(uint64_t id, bool current, const struct wgks_policy *p,
				 const struct wgks_counters *cnt)
{
	printf("\nnetns %" PRIu64 "%s\n", id, current ? " (this namespace)" : "");
	for (uint32_t i = 0; i < p->ntunnels && i < WGKS_MAX_TUNNELS; i++)
		printf("  tunnel %-16s ifindex %u  fwmark 0x%x\n", p->tunnels[i].name,
		       p->tunnels[i].ifindex, p->tunnels[i].fwmark);
	printf("  %-10s %12s %14s\n", "verdict", "packets", "bytes");
	for (int r = WGKS_REASON_TUNNEL; r < WGKS_REASON_MAX; r++)
		printf("  %-10s %12llu %14llu\n", reason_names[r],
		       (unsigned long long)cnt->packets[r], (unsigned long long)cnt->bytes[r]);
}

/* Every namespace with a policy. Sets *here if this one has one. */
static int print_namespaces(const struct ks_ctx *c, const struct status_opts *o,
			    uint64_t netns, bool *here)
{
	uint64_t key, next;
	void *prev = NULL;
	int n = 0;

	while (bpf_map_get_next_key(c->st.policy_fd, prev, &next) == 0) {
		struct wgks_policy p;
		struct wgks_counters cnt;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(c->st.policy_fd, &key, &p))
			continue; /* removed meanwhile */
		ks_read_counters(c->st.stats_fd, &key, &cnt);
		if (key == netns)
			*here = true;
		if (o->json) {
			if (n)
				putchar(',');
			print_namespace_json(key, key == netns, &p, &cnt);
		} else {
			print_namespace_text(key, key == netns, &p, &cnt);
		}
		n++;
	}
	if (errno != ENOENT) {
		err("cannot list the policy: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void print_header(const struct ks_ctx *c, uint64_t netns,
			 const struct wgks_counters *unmanaged, const struct status_opts *o)
{
	if (o->json) {
		printf("{\"attached\":true,\"cgroup\":");
		print_json_string(c->cgroup);
		printf(",\"program\":{\"id\":%u,\"name\":\"%s\"},", c->st.prog_id, c->st.prog_name);
		if (c->st.sockops_fd >= 0)
			printf("\"fail_fast\":{\"id\":%u,\"hook\":\"sock_ops\"},", c->st.sockops_id);
		else
			printf("\"fail_fast\":null,");
		printf("\"attach_mode\":\"multi\","
		       "\"variant\":\"%s\",\"this_netns\":%" PRIu64
		       ",\"unmanaged\":{\"packets\":%llu,\"bytes\":%llu},\"namespaces\":[",
		       variant_name(c->st.variant), netns,
		       (unsigned long long)unmanaged->packets[WGKS_REASON_UNMANAGED],
		       (unsigned long long)unmanaged->bytes[WGKS_REASON_UNMANAGED]);
		return;
	}
	printf("attached: program %s (id %u) on %s, egress, multi\n", c->st.prog_name,
	       c->st.prog_id, c->cgroup);
	if (c->st.sockops_fd >= 0)
		printf("fail-fast: program id %u on sock_ops: blocked TCP connects fail in "
		       "milliseconds (ETIMEDOUT)\n", c->st.sockops_id);
	else
		printf("fail-fast: off (no sock_ops program): blocked TCP connects wait for "
		       "the SYN retries\n");
	printf("variant: %s (namespaces are told apart by their netns cookie)\n",
	       variant_name(c->st.variant));
	printf("unmanaged namespaces: %llu packets, %llu bytes passed\n",
	       (unsigned long long)unmanaged->packets[WGKS_REASON_UNMANAGED],
	       (unsigned long long)unmanaged->bytes[WGKS_REASON_UNMANAGED]);
}

int status_main(int argc, char **argv)
{
	struct wgks_counters unmanaged;
	struct status_opts o;
	struct ks_ctx c;
	uint32_t zero = 0;
	bool here = false;
	uint64_t netns;
	int ret = 1;

	if (parse_status_args(argc, argv, &o))
		return 2;
	if (ctx_open(&c, o.cgroup, false))
		goto out;
	if (!c.found) {
		if (o.json)
			printf("{\"attached\":false,\"protected\":false,\"namespaces\":[]}\n");
		else
			printf("not attached: no namespace is protected\n");
		ret = EXIT_NOT_PROTECTED;
		goto out;
	}
	if (netns_current_id(&netns))
		goto out;
	ks_read_counters(c.st.unmanaged_fd, &zero, &unmanaged);
	print_header(&c, netns, &unmanaged, &o);
	if (print_namespaces(&c, &o, netns, &here))
		goto out;
	if (o.json)
		printf("],\"protected\":%s}\n", here ? "true" : "false");
	else if (!here)
		printf("\nthis namespace (%" PRIu64 ") is NOT protected\n", netns);
	if (c.st.others)
		info("warning: %u more wgks programs are attached to the cgroup", c.st.others);
	ret = here ? 0 : EXIT_NOT_PROTECTED;
out:
	ctx_close(&c);
	return ret;
}
