// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "backstop.h"
#include "devices.h"
#include "link.h"
#include "log.h"
#include "nsenum.h"
#include "oldmaps.h"
#include "owned.h"
#include "takeover.h"
#include "wg.h"
#include "wgsock.h"

struct takeover {
	struct ks_ctx *c;
	struct ks_old *old;
	struct ks_state nu;   /* this build's programs and maps, until they are c->st */
	uint64_t *netns;      /* the namespaces with a policy */
	bool *reached;        /* ... entered, and what the old layout lacks learnt there */
	size_t n;
	bool learn_sockets;   /* the old layout knows no listen port and no sockets */
	int uncovered;        /* namespaces whose backstop could not be put on */
};

static int refuse(struct takeover *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Why it cannot be done, kept for the command to say (ctx_ours()): nothing has changed. */
static int refuse(struct takeover *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->old->cannot, sizeof(t->old->cannot), fmt, ap);
	va_end(ap);
	debug("no takeover: %s", t->old->cannot);
	return -1;
}

/* Every namespace with a policy, first: copying while walking could restart the walk. */
static int list_namespaces(struct takeover *t)
{
	uint64_t key, next, *prev = NULL;
	size_t cap = 0;

	while (oldmaps_policy_next(t->old, prev, &next) == 0) {
		if (t->n == cap) {
			uint64_t *grown = realloc(t->netns, (cap = cap ? cap * 2 : 64) * sizeof(*grown));

			if (!grown)
				return refuse(t, "out of memory");
			t->netns = grown;
		}
		t->netns[t->n++] = key = next;
		prev = &key;
	}
	if (errno != ENOENT)
		return refuse(t, "cannot list its policies: %s", strerror(errno));
	t->reached = calloc(t->n ? t->n : 1, sizeof(*t->reached));
	return t->reached ? 0 : refuse(t, "out of memory");
}

/* Until learnt in the namespace: its loopback unknown, each tunnel's device too. */
static void mark_unproven(struct wgks_policy *p)
{
	p->rules.flags &= ~WGKS_F_LOOPBACK;
	for (int i = 0; i < WGKS_MAX_TUNNELS; i++) {
		if (p->rules.tunnels[i].name[0])
			p->rules.tunnels[i].flags |= WGKS_T_NO_DEVICE;
	}
}

static int copy_policies(struct takeover *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct wgks_policy p;
		char why[160] = "";
		int r = oldmaps_policy_read(t->old, t->netns[i], &p, why, sizeof(why));

		if (r < 0)
			return refuse(t, "cannot read the policy of namespace %" PRIu64 ": %s",
				      t->netns[i], strerror(errno));
		if (r == 1)
			return refuse(t, "the policy of namespace %" PRIu64 ": %s", t->netns[i], why);
		if (p.rules.counters >= WGKS_MAX_NETNS || p.rules.ntunnels > WGKS_MAX_TUNNELS)
			return refuse(t, "the policy of namespace %" PRIu64 " names counters or "
				      "tunnels beyond this version's", t->netns[i]);
		mark_unproven(&p);
		if (bpf_map_update_elem(t->nu.maps.policy, &t->netns[i], &p, BPF_NOEXIST))
			return refuse(t, "cannot copy a policy: %s", strerror(errno));
	}
	return 0;
}

/* The endpoints or allowed prefixes of every namespace. */
static int copy_entries(struct takeover *t, enum ks_map_index map)
{
	unsigned char old_key[64], prev_key[64], key[OWNED_KEY_MAX];
	struct wgks_owners owners;
	void *prev = NULL;
	char why[160] = "";

	if (t->old->fd[map] < 0)
		return 0;
	for (;;) {
		int r = oldmaps_entry_next(t->old, map, prev, old_key, key, &owners, why, sizeof(why));

		if (r < 0 && errno == ENOENT)
			return 0;
		if (r < 0)
			return refuse(t, "cannot read its map %s: %s", ks_map_name(map), strerror(errno));
		if (r == 1)
			return refuse(t, "its map %s: %s", ks_map_name(map), why);
		if (bpf_map_update_elem(*ks_map_fd(&t->nu.maps, map), key, &owners, BPF_NOEXIST))
			return refuse(t, "cannot copy an entry of %s: %s", ks_map_name(map),
				      strerror(errno));
		memcpy(prev_key, old_key, sizeof(prev_key));
		prev = prev_key;
	}
}

/* WireGuard's listen port and own sockets for tunnel T (device LI), as attach learns them. */
static void learn_wireguard(struct wgks_tunnel *tun, const struct link_info *li, uint64_t netns)
{
	bool kernel_wg = !strcmp(li->kind, "wireguard");
	uint64_t sockets[WGKS_TUNNEL_SOCKETS];
	struct wg_info wi;
	int is_wg = wg_query(tun->name, !kernel_wg, &wi);

	if (is_wg < 0) {
		info("tunnel %s (namespace %" PRIu64 "): WireGuard did not say which sockets are "
		     "its own: its packets stay blocked until attach runs there again", tun->name,
		     netns);
		return;
	}
	if (!is_wg) {
		/* Another kind of tunnel (OpenVPN): its mark alone, as attach --fwmark has it. */
		if (tun->fwmark)
			tun->flags |= WGKS_T_TRUST_MARK;
		return;
	}
	tun->listen_port = wi.listen_port;
	/* The kernel's WireGuard sends from no socket of a process: it needs none. */
	if (kernel_wg)
		return;
	if (wgsock_find(wi.listen_port, sockets) < 0) {
		info("tunnel %s (namespace %" PRIu64 "): its WireGuard sockets were not found: "
		     "its packets stay blocked until attach runs there again", tun->name, netns);
		return;
	}
	memcpy(tun->sockets, sockets, sizeof(tun->sockets));
}

/* Inside namespace NETNS (the I-th): learn what the old layout lacks. */
static void learn_here(struct takeover *t, size_t i)
{
	struct ks_maps *m = &t->nu.maps;
	struct wgks_policy p;
	uint32_t index;

	if (bpf_map_lookup_elem(m->policy, &t->netns[i], &p))
		return;
	index = p.rules.counters;
	for (uint32_t slot = 0; slot < WGKS_MAX_TUNNELS; slot++) {
		struct wgks_tunnel *tun = &p.rules.tunnels[slot];
		struct link_info li;
		int found;

		if (!tun->name[0])
			continue;
		found = link_get(tun->name, &li);
		if (found < 0)
			continue; /* cannot tell: it keeps passing by its ifindex */
		tun->flags &= ~WGKS_T_NO_DEVICE;
		if (!found || li.ifindex != tun->ifindex || !link_is_tunnel(&li) ||
		    devices_set(m, index, slot, li.ifindex)) {
			info("tunnel %s (namespace %" PRIu64 ", ifindex %u) is not the tunnel device "
			     "it was: it stays blocked until attach runs there again", tun->name,
			     t->netns[i], tun->ifindex);
			continue;
		}
		if (t->learn_sockets)
			learn_wireguard(tun, &li, t->netns[i]);
	}
	/* The kernel takes this entry out when the namespace goes: pruning can tell then. */
	if (devices_set(m, index, WGKS_DEV_LOOPBACK, 1) == 0)
		p.rules.flags |= WGKS_F_LOOPBACK;
	if (bpf_map_update_elem(m->policy, &t->netns[i], &p, BPF_EXIST) == 0)
		t->reached[i] = true;
}

static int visit_learn(uint64_t netns, void *arg)
{
	struct takeover *t = arg;

	for (size_t i = 0; i < t->n; i++) {
		if (t->netns[i] == netns && !t->reached[i])
			learn_here(t, i);
	}
	return 0;
}

/* What could not be learnt, said. */
static void report_unreached(const struct takeover *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->reached[i])
			continue;
		info("namespace %" PRIu64 " could not be entered: its tunnels pass by ifindex "
		     "alone, as before, until attach runs there%s", t->netns[i],
		     t->learn_sockets ? "; WireGuard's own packets are blocked until then" : "");
	}
}

/* Step 4: the new programs in the old ones' places. 0, or -1 (nothing changed) after err(). */
static int replace_programs(struct takeover *t)
{
	struct ks_state *old = &t->c->st, *nu = &t->nu;
	int cg = t->c->cgroup_fd;

	if (ks_replace(nu->egress_fd, old->egress_fd, cg, BPF_CGROUP_INET_EGRESS))
		return refuse(t, "cannot replace egress program %u: %s", old->egress_id,
			      strerror(errno));
	nu->egress_id = ks_prog_id(nu->egress_fd);
	if (old->sockops_fd >= 0 &&
	    ks_replace(nu->sockops_fd, old->sockops_fd, cg, BPF_CGROUP_SOCK_OPS) == 0) {
		nu->sockops_id = ks_prog_id(nu->sockops_fd);
		return 0;
	}
	/*
	 * None to replace, or it would not go: the new one beside it. The old
	 * one, with no partner now, goes with the next command if not here.
	 */
	if (ks_attach_sockops(nu, cg))
		info("the egress program is replaced; fail-fast comes back with the next command");
	if (old->sockops_fd >= 0)
		bpf_prog_detach2(old->sockops_fd, cg, BPF_CGROUP_SOCK_OPS);
	return 0;
}

/* Step 5, in namespace NETNS: the backstop, this build's program, on its devices. */
static int visit_cover(uint64_t netns, void *arg)
{
	struct takeover *t = arg;
	struct wgks_policy p;

	if (bpf_map_lookup_elem(t->c->st.maps.policy, &netns, &p))
		return 0;
	if (backstop_cover(t->c, &p.rules) < 0)
		t->uncovered++;
	return 0;
}

/* Step 6: what OLD counted at INDEX of MAP, added to ours (on CPU 0: the sum is what is read). */
static void add_counters(const struct ks_old *old, enum ks_map_index map, int fd, uint32_t index)
{
	int ncpus = libbpf_num_possible_cpus();
	struct wgks_counters sum, *percpu;

	if (ncpus <= 0 || oldmaps_counters_read(old, map, index, &sum))
		return;
	percpu = calloc((size_t)ncpus, sizeof(*percpu));
	if (!percpu)
		return;
	if (bpf_map_lookup_elem(fd, &index, percpu) == 0) {
		for (int r = 0; r < WGKS_REASON_SLOTS; r++) {
			percpu[0].packets[r] += sum.packets[r];
			percpu[0].bytes[r] += sum.bytes[r];
		}
		bpf_map_update_elem(fd, &index, percpu, BPF_EXIST);
	}
	free(percpu);
}

static void add_all_counters(struct takeover *t, const struct ks_old *old)
{
	const struct ks_maps *m = &t->c->st.maps;

	add_counters(old, KS_MAP_unmanaged, m->unmanaged, 0);
	for (size_t i = 0; i < t->n; i++) {
		struct wgks_policy p;

		if (bpf_map_lookup_elem(m->policy, &t->netns[i], &p) == 0)
			add_counters(old, KS_MAP_stats, m->stats, p.rules.counters);
	}
}

/* No policy in it: the old programs just go. */
static int nothing_to_carry(struct ks_ctx *c)
{
	if (ks_detach(&c->st, c->cgroup_fd))
		return -1;
	info("detached the programs of another version of wgks-bpf: no namespace had a policy");
	ks_close(&c->st);
	c->found = false;
	return 0;
}

static long long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

int takeover(struct ks_ctx *c)
{
	struct takeover t = { .c = c, .old = c->st.old, .nu = KS_STATE_INIT };
	struct ks_state old;
	struct timespec t0;
	size_t reached = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (t.old->cannot[0])
		return -1;
	t.learn_sockets = layout_missing(&t.old->value[KS_MAP_policy], "rules.tunnels[].sockets[]");
	if (list_namespaces(&t))
		goto fail;
	if (t.n == 0) {
		free(t.netns);
		free(t.reached);
		return nothing_to_carry(c);
	}
	if (ks_load(&t.nu)) {
		refuse(&t, "this version's programs did not load");
		goto fail;
	}
	if (copy_policies(&t) || copy_entries(&t, KS_MAP_endpoints) ||
	    copy_entries(&t, KS_MAP_allow4) || copy_entries(&t, KS_MAP_allow6))
		goto fail;
	visit_learn(c->netns, &t);
	/* -1: this namespace could not be re-entered; nothing may go on here. */
	if (nsenum_each(visit_learn, &t) < 0) {
		refuse(&t, "the namespaces could not be visited");
		ks_close(&t.nu);
		free(t.netns);
		free(t.reached);
		return -2;
	}
	if (replace_programs(&t))
		goto fail;

	/* From here on it is done: this build's programs run, on its maps. */
	old = c->st;
	c->st = t.nu;
	c->found = true;
	visit_cover(c->netns, &t);
	if (nsenum_each(visit_cover, &t) < 0) {
		ks_close(&old);
		free(t.netns);
		free(t.reached);
		return -2;
	}
	add_all_counters(&t, old.old);
	for (size_t i = 0; i < t.n; i++)
		reached += t.reached[i];
	info("took over what another version of wgks-bpf attached (%s): %zu namespace%s, "
	     "%zu entered, in %lld ms", old.old->differs, t.n, t.n == 1 ? "" : "s", reached,
	     ms_since(&t0));
	report_unreached(&t);
	ks_close(&old);
	free(t.netns);
	free(t.reached);
	if (t.uncovered) {
		err("the backstop is not on every device of %d namespace%s: run the command again",
		    t.uncovered, t.uncovered == 1 ? "" : "s");
		return -2;
	}
	return 0;
fail:
	ks_close(&t.nu);
	free(t.netns);
	free(t.reached);
	return -1;
}
