// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy table through BPF_PROG_TEST_RUN on the real object, for every
 * variant this kernel accepts: each row, IPv4 and IPv6, verdict and counter.
 * Runs in network namespaces of its own (needs root); the host's is never
 * given a policy, and nothing is attached anywhere.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include "corebtf.h"
#include "devices.h"
#include "keys.h"
#include "netns.h"
#include "packets.h"
#include "prefix.h"
#include "state.h"

#define FWMARK 0xca6c
#define WG_INIT_LEN 148 /* a WireGuard handshake initiation's UDP payload */

enum { DROP = 0, PASS = 1 };

static int ns_managed = -1, ns_other = -1; /* netns fds */
static uint32_t tun_ifindex, phy_ifindex, other_ifindex;

struct variant_state {
	struct ks_state st;
	uint64_t netns; /* id of ns_managed as this variant sees it */
	uint32_t counters; /* its index in wgks_stats */
};

static struct ipv6hdr *v6_hdr(struct pkt *p)
{
	return (struct ipv6hdr *)(p->b + ETH_HLEN);
}

/* The packets most rows are tried with. */
static struct pkt udp4(const char *dst, uint16_t dport)
{
	return V4(.proto = IPPROTO_UDP, .dst = dst, .dport = dport);
}

static struct pkt udp6(const char *dst, uint16_t dport)
{
	return V6(.proto = IPPROTO_UDP, .dst = dst, .dport = dport);
}

/* NDP has hop limit 255; MLD 1 and a hop-by-hop header (router alert). */
static struct pkt icmp6(uint8_t type, uint8_t hoplimit, const char *dst, int hbh)
{
	return V6(.proto = IPPROTO_ICMPV6, .dst = dst, .icmp_type = type, .hoplimit = hoplimit,
		  .ext = { hbh ? IPPROTO_HOPOPTS : 0 });
}

/* ---- running the programs ---- */

/*
 * The backstop passes with "no verdict", TC_ACT_UNSPEC (tcx: TCX_NEXT), so
 * that another's filter or tcx program after it still runs; only its
 * handover program (wgks_bh_*) passes with TC_ACT_OK (TCX_PASS), which ends
 * the chain.
 */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define NO_COUNT ((enum wgks_reason)-1)

/*
 * Run program FD on P, as if it left by IFINDEX with skb->mark MARK, having
 * come in by INGRESS (forwarded; 0: sent here). Its verdict; the mark it
 * left in *MARK_OUT.
 */
static int run_on(int fd, const struct pkt *p, uint32_t ifindex, uint32_t mark, uint32_t ingress,
		  uint32_t *mark_out)
{
	struct __sk_buff ctx = { .ifindex = ifindex, .mark = mark, .ingress_ifindex = ingress };
	struct __sk_buff out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = p->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &out,
		    .ctx_size_out = sizeof(out), .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(fd, &opts), 0);
	if (mark_out)
		*mark_out = out.mark;
	return (int)opts.retval;
}

static int run(struct variant_state *vs, const struct pkt *p, uint32_t ifindex, uint32_t mark)
{
	return run_on(vs->st.egress_fd, p, ifindex, mark, 0, NULL);
}

static void counters(struct variant_state *vs, struct wgks_counters *c)
{
	assert_int_equal(ks_counters_read(vs->st.maps.stats, vs->counters, c), 0);
}

/* Exactly one more packet (and its bytes, LEN) under REASON between BEFORE and AFTER. */
static void counted(const char *what, const struct wgks_counters *before,
		    const struct wgks_counters *after, enum wgks_reason reason, uint32_t len)
{
	for (int r = 0; r < WGKS_REASON_SLOTS; r++) {
		uint64_t dp = after->packets[r] - before->packets[r];
		uint64_t db = after->bytes[r] - before->bytes[r];

		if (dp != (r == (int)reason))
			fail_msg("%s: counter %d moved by %llu", what, r, (unsigned long long)dp);
		if (db != (r == (int)reason ? len : 0))
			fail_msg("%s: bytes of counter %d moved by %llu", what, r,
				 (unsigned long long)db);
	}
}

/*
 * The egress program on P: VERDICT, one more packet under REASON, and the
 * judged mark on exactly what it passed out of a device with a backstop
 * (any but a tunnel or loopback).
 */
static void expect(struct variant_state *vs, const char *what, struct pkt p, uint32_t ifindex,
		   uint32_t mark, int verdict, enum wgks_reason reason)
{
	struct wgks_counters before, after;
	uint32_t out;
	bool judged;
	int got;

	counters(vs, &before);
	got = run_on(vs->st.egress_fd, &p, ifindex, mark, 0, &out);
	counters(vs, &after);
	if (got != verdict)
		fail_msg("%s: verdict %d, want %d", what, got, verdict);
	counted(what, &before, &after, reason, p.len - ETH_HLEN);
	judged = verdict == PASS && reason != WGKS_REASON_TUNNEL && reason != WGKS_REASON_LOCAL;
	if (!!(out & WGKS_JUDGED_MARK) != judged || (out & ~WGKS_JUDGED_MARK) != mark)
		fail_msg("%s: mark 0x%x after it, from 0x%x", what, out, mark);
}

/* One tc program (FD, called NAME) on P: VERDICT, the count, the judged bit cleared. */
static void expect_tc_on(struct variant_state *vs, int fd, const char *name, const char *what,
			 const struct pkt *p, uint32_t ifindex, uint32_t mark, uint32_t ingress,
			 int verdict, enum wgks_reason reason)
{
	struct wgks_counters before, after;
	uint32_t out;
	int got;

	counters(vs, &before);
	got = run_on(fd, p, ifindex, mark, ingress, &out);
	counters(vs, &after);
	if (got != verdict)
		fail_msg("%s: %s verdict %d, want %d", what, name, got, verdict);
	/* At tc the packet has its link-layer header: so has its length. */
	counted(what, &before, &after, reason, p->len);
	/* Cleared only where it can be ours: a forwarded packet keeps another's. */
	if (out != (ingress ? mark : mark & ~WGKS_JUDGED_MARK))
		fail_msg("%s: mark 0x%x after the %s, from 0x%x", what, out, name, mark);
}

/*
 * The backstop on P, a packet no socket hook judged (INGRESS: forwarded
 * from there): VERDICT (TC_ACT_UNSPEC to pass, TC_ACT_SHOT), one more under
 * REASON (NO_COUNT: none), the judged bit cleared. Its handover program
 * the same, passing with TC_ACT_OK.
 */
static void expect_tc(struct variant_state *vs, const char *what, struct pkt p, uint32_t ifindex,
		      uint32_t mark, uint32_t ingress, int verdict, enum wgks_reason reason)
{
	expect_tc_on(vs, vs->st.backstop_fd, "backstop", what, &p, ifindex, mark, ingress, verdict,
		     reason);
	expect_tc_on(vs, vs->st.handover_fd, "handover", what, &p, ifindex, mark, ingress,
		     verdict == TC_ACT_UNSPEC ? TC_ACT_OK : verdict, reason);
}

/* ---- fixtures ---- */

static int sh(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

/* Two fresh namespaces; the managed one has lo and veth pairs (tunnel, physical, other). */
static int make_namespaces(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	if (unshare(CLONE_NEWNET) || sh("ip link set lo up") ||
	    sh("ip link add wgkstun type veth peer name wgksphy") ||
	    sh("ip link add wgksx0 type veth peer name wgksx1") ||
	    sh("ip link set wgkstun up && ip link set wgksphy up"))
		return -1;
	other_ifindex = if_nametoindex("wgksx0");
	tun_ifindex = if_nametoindex("wgkstun");
	phy_ifindex = if_nametoindex("wgksphy");
	ns_managed = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (unshare(CLONE_NEWNET))
		return -1;
	ns_other = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return setns(ns_managed, CLONE_NEWNET);
}

static int drop_namespaces(void **state)
{
	(void)state;
	if (ns_managed >= 0)
		close(ns_managed);
	if (ns_other >= 0)
		close(ns_other);
	return 0;
}

static int load(void **state, const char *variant)
{
	struct variant_state *vs;
	struct wgks_policy pol = { .rules = { .ntunnels = 1 } };

	if (geteuid() != 0) {
		*state = NULL;
		return 0;
	}
	vs = calloc(1, sizeof(*vs));
	vs->st = (struct ks_state)KS_STATE_INIT;
	setenv("WGKS_VARIANT", variant, 1);
	if (ks_load(&vs->st)) {
		free(vs);
		*state = NULL;
		/* Older kernels may refuse it (the test says SKIP); newer ones must not. */
		return kernel_version() >= variant_by_name(variant)->min_kernel ? -1 : 0;
	}
	/*
	 * cookie and probe relocate against the minimal BTF (loader/corebtf.c):
	 * had it lost a field they read, they would load only with the kernel's
	 * whole BTF, the slow way. The verdicts below check the offsets it gave.
	 */
	if (strcmp(variant, "kctx") && !vs->st.core_btf_min) {
		char path[PATH_MAX_CORE];

		if (corebtf_path(COREBTF_DIR, false, path, sizeof(path))) {
			print_message("SKIP the minimal BTF check: %s is not usable here\n",
				      COREBTF_DIR);
			goto checked;
		}
		print_error("variant %s loaded without the minimal BTF\n", variant);
		ks_close(&vs->st);
		free(vs);
		return -1;
	}
checked:
	/* The handover program too: expect_tc() runs both. */
	if (ks_handover(&vs->st)) {
		print_error("variant %s: its handover program did not load\n", variant);
		ks_close(&vs->st);
		free(vs);
		return -1;
	}
	assert_int_equal(netns_current_id(&vs->netns), 0);
	strcpy(pol.rules.tunnels[0].name, "wgkstun");
	pol.rules.tunnels[0].ifindex = tun_ifindex;
	pol.rules.tunnels[0].fwmark = FWMARK;
	assert_int_equal(ks_counters_index(&vs->st.maps, vs->netns, &vs->counters), 1);
	pol.rules.counters = vs->counters;
	assert_int_equal(bpf_map_update_elem(vs->st.maps.policy, &vs->netns, &pol, BPF_ANY), 0);
	*state = vs;
	return 0;
}

static int load_cookie(void **state) { return load(state, "cookie"); }
static int load_kctx(void **state) { return load(state, "kctx"); }
static int load_probe(void **state) { return load(state, "probe"); }

static int unload(void **state)
{
	struct variant_state *vs = *state;

	if (vs) {
		ks_close(&vs->st);
		free(vs);
	}
	return 0;
}

static struct variant_state *need(void **state)
{
	if (geteuid() != 0) {
		print_message("SKIP: BPF verdict tests need root\n");
		skip();
	}
	if (!*state) {
		print_message("SKIP: this kernel does not load this variant\n");
		skip();
	}
	return *state;
}

/* ---- editing the policy under test ---- */

static void get_policy(struct variant_state *vs, struct wgks_policy *pol)
{
	assert_int_equal(bpf_map_lookup_elem(vs->st.maps.policy, &vs->netns, pol), 0);
}

static void put_policy(struct variant_state *vs, const struct wgks_policy *pol)
{
	assert_int_equal(bpf_map_update_elem(vs->st.maps.policy, &vs->netns, pol, BPF_EXIST), 0);
}

static void set_flags(struct variant_state *vs, uint32_t flags)
{
	struct wgks_policy pol;

	get_policy(vs, &pol);
	pol.rules.flags = flags;
	put_policy(vs, &pol);
}

/* Add (or with del, remove) an endpoint entry of NETNS. */
static void endpoint_entry(struct variant_state *vs, uint64_t netns, const char *ep, int del)
{
	struct wgks_owners owners = { .tunnels = 1 };
	struct wgks_endpoint_key k;
	struct endpoint e;

	assert_true(parse_endpoint(ep, &e));
	endpoint_key(netns, &e, &k);
	if (del)
		assert_int_equal(bpf_map_delete_elem(vs->st.maps.endpoints, &k), 0);
	else
		assert_int_equal(bpf_map_update_elem(vs->st.maps.endpoints, &k, &owners, BPF_ANY), 0);
}

/* Add (or with del, remove) an allowed prefix of NETNS. */
static void allow_entry(struct variant_state *vs, uint64_t netns, const char *cidr, int del)
{
	struct wgks_owners owners = { .tunnels = 1 };
	unsigned char key[sizeof(struct wgks_allow6_key)];
	struct prefix p;
	int fd;

	assert_true(parse_prefix(cidr, &p));
	allow_key(netns, &p, key);
	fd = p.family == 4 ? vs->st.maps.allow4 : vs->st.maps.allow6;
	if (del)
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
	else
		assert_int_equal(bpf_map_update_elem(fd, key, &owners, BPF_ANY), 0);
}

/* ---- the policy table ---- */

static void test_row2_tunnel(void **state)
{
	struct variant_state *vs = need(state);

	expect(vs, "v4 via tunnel", udp4("198.18.0.1", 443), tun_ifindex, 0, PASS,
	       WGKS_REASON_TUNNEL);
	expect(vs, "v6 via tunnel", udp6("2001:db8::1", 53), tun_ifindex, 0, PASS,
	       WGKS_REASON_TUNNEL);
	/* Row 2 comes before row 5: NDP on the tunnel counts as tunnel. */
	expect(vs, "NS via tunnel", icmp6(135, 255, "ff02::1:ff00:1", 0), tun_ifindex, 0, PASS,
	       WGKS_REASON_TUNNEL);
}

/*
 * Row 3 trusts the sending socket's mark (what WireGuard sets with SO_MARK)
 * and WireGuard's own sockets, never skb->mark: a program on a child cgroup
 * runs before ours and may write that. (A socket with a mark cannot be had
 * through BPF_PROG_TEST_RUN: the e2e suites pass WireGuard's packets.)
 */
static void test_row3_not_on_skb_mark(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy pol;

	expect(vs, "v4 with the fwmark on the packet", udp4("10.77.0.1", 51820), phy_ifindex,
	       FWMARK, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "v6 with the fwmark on the packet", udp6("fd77::1", 53), phy_ifindex, FWMARK,
	       DROP, WGKS_REASON_BLOCKED);
	/* Not even for a tunnel that is not WireGuard, whose socket mark alone passes. */
	get_policy(vs, &pol);
	pol.rules.tunnels[0].flags = WGKS_T_TRUST_MARK;
	put_policy(vs, &pol);
	expect(vs, "v4 with a trusted fwmark on the packet", udp4("10.77.0.1", 51820),
	       phy_ifindex, FWMARK, DROP, WGKS_REASON_BLOCKED);
}

static void test_row4_local(void **state)
{
	struct variant_state *vs = need(state);

	expect(vs, "v4 via lo", udp4("127.0.0.1", 53), 1, 0, PASS, WGKS_REASON_LOCAL);
	expect(vs, "v6 via lo", udp6("::1", 53), 1, 0, PASS, WGKS_REASON_LOCAL);
}

static void test_row5_ndp_mld(void **state)
{
	struct variant_state *vs = need(state);
	char what[64];

	for (int type = 133; type <= 137; type++) {
		snprintf(what, sizeof(what), "NDP type %d", type);
		expect(vs, what, icmp6((uint8_t)type, 255, "fe80::1", 0), phy_ifindex, 0, PASS,
		       WGKS_REASON_LINK);
	}
	expect(vs, "MLDv1 report with router alert", icmp6(131, 1, "ff02::1:3", 1), phy_ifindex,
	       0, PASS, WGKS_REASON_LINK);
	expect(vs, "MLD query", icmp6(130, 1, "ff02::1", 1), phy_ifindex, 0, PASS,
	       WGKS_REASON_LINK);
	expect(vs, "MLD done", icmp6(132, 1, "ff02::2", 1), phy_ifindex, 0, PASS,
	       WGKS_REASON_LINK);
	expect(vs, "MLDv2 report", icmp6(143, 1, "ff02::16", 1), phy_ifindex, 0, PASS,
	       WGKS_REASON_LINK);
}

static void test_row5_not_other_icmpv6(void **state)
{
	struct variant_state *vs = need(state);

	expect(vs, "echo request", icmp6(128, 64, "2001:db8::1", 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "echo reply", icmp6(129, 64, "2001:db8::1", 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "dest unreachable", icmp6(1, 64, "2001:db8::1", 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "type 138", icmp6(138, 255, "fe80::1", 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "type 142", icmp6(142, 1, "ff02::1", 1), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	/* RFC 4861: hop limit 255 or it is no NDP; MLD: hop limit 1. */
	expect(vs, "NS hop limit 64", icmp6(135, 64, "2001:db8::1", 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "MLD hop limit 64", icmp6(143, 64, "2001:db8::1", 1), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	/* NDP's type behind a UDP header is data, not NDP. */
	{
		struct pkt p = icmp6(135, 255, "fe80::1", 0);

		v6_hdr(&p)->nexthdr = IPPROTO_UDP;
		expect(vs, "UDP looking like NDP", p, phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	}
	/* Only one hop-by-hop header may stand before NDP/MLD: not destination options. */
	{
		struct pkt p = icmp6(135, 255, "fe80::1", 1);

		v6_hdr(&p)->nexthdr = IPPROTO_DSTOPTS;
		expect(vs, "NS behind destination options", p, phy_ifindex, 0, DROP,
		       WGKS_REASON_BLOCKED);
	}
	/* A documented decision (README, Known limits): unicast NUD to a global neighbour. */
	expect(vs, "NS to a global address, hop limit 255", icmp6(135, 255, "2001:db8::99", 0),
	       phy_ifindex, 0, PASS, WGKS_REASON_LINK);
	/* Truncated: the program cannot read the type, so it drops. */
	{
		struct pkt p = icmp6(135, 255, "fe80::1", 0);

		p.len = ETH_HLEN + sizeof(struct ipv6hdr);
		expect(vs, "truncated ICMPv6", p, phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	}
}

static void test_row8_blocked(void **state)
{
	struct variant_state *vs = need(state);

	expect(vs, "v4 off tunnel", udp4("198.18.0.1", 443), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "v4 DNS off tunnel", udp4("10.77.0.1", 53), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "v6 off tunnel", udp6("2001:db8::1", 53), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
}

static void test_tunnel_gone_stays_blocked(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy pol;

	/* The interface is deleted and comes back with a new ifindex. */
	get_policy(vs, &pol);
	pol.rules.tunnels[0].ifindex = 999999;
	put_policy(vs, &pol);
	expect(vs, "v4 via recreated tunnel", udp4("198.18.0.1", 443), tun_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	pol.rules.tunnels[0].ifindex = tun_ifindex;
	put_policy(vs, &pol);
	expect(vs, "v4 via re-attached tunnel", udp4("198.18.0.1", 443), tun_ifindex, 0,
	       PASS, WGKS_REASON_TUNNEL);
}

/*
 * Row 2 trusts the device, not its index: once the tunnel is gone (the
 * kernel takes its entry out of wgks_devices), a device that takes its
 * index does not pass, nor one that wgks_devices holds under another.
 */
static void test_row2_not_on_ifindex(void **state)
{
	struct variant_state *vs = need(state);

	devices_clear(&vs->st.maps, vs->counters, 0);
	expect(vs, "the index, its device gone", udp4("198.18.0.1", 443), tun_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	assert_int_equal(devices_set(&vs->st.maps, vs->counters, 0, phy_ifindex), 0);
	expect(vs, "the index, another device noted", udp4("198.18.0.1", 443), tun_ifindex, 0,
	       DROP, WGKS_REASON_BLOCKED);
	/* Kept by an upgrade from a version without wgks_devices: the index, until attach. */
	{
		struct wgks_policy pol;

		get_policy(vs, &pol);
		pol.rules.tunnels[0].flags = WGKS_T_NO_DEVICE;
		put_policy(vs, &pol);
		expect(vs, "kept by an upgrade", udp4("198.18.0.1", 443), tun_ifindex, 0, PASS,
		       WGKS_REASON_TUNNEL);
	}
}

static void test_second_tunnel(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy pol;

	get_policy(vs, &pol);
	pol.rules.ntunnels = 2;
	strcpy(pol.rules.tunnels[1].name, "wgksphy");
	pol.rules.tunnels[1].ifindex = phy_ifindex;
	pol.rules.tunnels[1].fwmark = 0x1234;
	put_policy(vs, &pol);
	assert_int_equal(devices_set(&vs->st.maps, vs->counters, 1, phy_ifindex), 0);
	expect(vs, "via second tunnel", udp4("198.18.0.1", 443), phy_ifindex, 0, PASS,
	       WGKS_REASON_TUNNEL);
	expect(vs, "second tunnel's mark, on the packet", udp4("198.18.0.1", 443),
	       other_ifindex, 0x1234, DROP, WGKS_REASON_BLOCKED);
	/* A tunnel without a fwmark must not pass every unmarked packet. */
	pol.rules.tunnels[1].fwmark = 0;
	put_policy(vs, &pol);
	expect(vs, "unmarked, tunnel without fwmark", udp4("198.18.0.1", 443),
	       other_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	/* Entries past ntunnels are not consulted. */
	pol.rules.ntunnels = 1;
	put_policy(vs, &pol);
	expect(vs, "past ntunnels", udp4("198.18.0.1", 443), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
}

static void test_row1_unmanaged_namespace(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_counters before, after, mine_before, mine_after;
	struct pkt p = udp4("198.18.0.1", 443);
	int verdict;

	counters(vs, &mine_before);
	assert_int_equal(ks_counters_read(vs->st.maps.unmanaged, 0, &before), 0);
	assert_int_equal(setns(ns_other, CLONE_NEWNET), 0);
	verdict = run(vs, &p, 1, 0);
	assert_int_equal(setns(ns_managed, CLONE_NEWNET), 0);
	assert_int_equal(ks_counters_read(vs->st.maps.unmanaged, 0, &after), 0);
	counters(vs, &mine_after);
	assert_int_equal(verdict, PASS);
	assert_int_equal(after.packets[WGKS_REASON_UNMANAGED] -
			 before.packets[WGKS_REASON_UNMANAGED], 1);
	assert_int_equal(after.bytes[WGKS_REASON_UNMANAGED] -
			 before.bytes[WGKS_REASON_UNMANAGED], p.len - ETH_HLEN);
	assert_memory_equal(&mine_before, &mine_after, sizeof(mine_before));
}

/* WireGuard's UDP, from its listen port, to a peer endpoint: in the backstop's terms. */
static struct pkt wg4(const char *dst, uint16_t dport)
{
	return V4(.proto = IPPROTO_UDP, .dst = dst, .sport = 51000, .dport = dport);
}

/*
 * Row 6 (fwmark off) passes WireGuard's own packets to its peers'
 * endpoints: at the socket hook, those of its sockets (not any process's,
 * which BPF_PROG_TEST_RUN's socket is: the e2e suites pass wireguard-go's);
 * at the backstop, the in-kernel WireGuard's, from its listen port.
 */
static void test_row6_endpoint(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy pol;

	get_policy(vs, &pol);
	pol.rules.tunnels[0].fwmark = 0;
	pol.rules.tunnels[0].listen_port = 51000;
	put_policy(vs, &pol);
	endpoint_entry(vs, vs->netns, "198.51.100.7:51820", 0);
	endpoint_entry(vs, vs->netns, "[2001:db8::7]:51820", 0);
	endpoint_entry(vs, vs->netns + 1, "198.51.100.9:51820", 0); /* another namespace's */
	/* Entries alone do nothing: the namespace must say it has some. */
	expect_tc(vs, "endpoint without the flag", wg4("198.51.100.7", 51820), phy_ifindex, 0, 0,
		  TC_ACT_SHOT, WGKS_REASON_KERNEL);
	set_flags(vs, WGKS_F_ENDPOINTS);
	expect_tc(vs, "WireGuard to the endpoint", wg4("198.51.100.7", 51820), phy_ifindex, 0, 0,
		  TC_ACT_UNSPEC, WGKS_REASON_ENDPOINT);
	expect_tc(vs, "WireGuard to [endpoint]", V6(.proto = IPPROTO_UDP, .dst = "2001:db8::7",
		  .sport = 51000, .dport = 51820), phy_ifindex, 0, 0, TC_ACT_UNSPEC,
		  WGKS_REASON_ENDPOINT);
	expect_tc(vs, "to the endpoint's address, other port", wg4("198.51.100.7", 51821),
		  phy_ifindex, 0, 0, TC_ACT_SHOT, WGKS_REASON_KERNEL);
	expect_tc(vs, "TCP to the endpoint", V4(.proto = IPPROTO_TCP, .dst = "198.51.100.7",
		  .sport = 51000, .dport = 51820), phy_ifindex, 0, 0, TC_ACT_SHOT,
		  WGKS_REASON_KERNEL);
	expect_tc(vs, "to another host, same port", wg4("198.51.100.8", 51820), phy_ifindex, 0,
		  0, TC_ACT_SHOT, WGKS_REASON_KERNEL);
	expect_tc(vs, "another namespace's endpoint", wg4("198.51.100.9", 51820), phy_ifindex, 0,
		  0, TC_ACT_SHOT, WGKS_REASON_KERNEL);
	/* Any other socket, to the very same address and port: blocked. */
	expect(vs, "a socket that is not WireGuard's, to the endpoint", wg4("198.51.100.7", 51820),
	       phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	endpoint_entry(vs, vs->netns, "198.51.100.7:51820", 1);
	endpoint_entry(vs, vs->netns, "[2001:db8::7]:51820", 1);
	endpoint_entry(vs, vs->netns + 1, "198.51.100.9:51820", 1);
}

static const char *const test_lan[] = { "10.0.0.0/8", "fe80::/10", "ff02::/16", NULL };

static void test_row7_lan(void **state)
{
	struct variant_state *vs = need(state);

	for (int i = 0; test_lan[i]; i++)
		allow_entry(vs, vs->netns, test_lan[i], 0);
	allow_entry(vs, vs->netns + 1, "192.0.2.0/24", 0); /* another namespace's */
	expect(vs, "LAN without the flag", udp4("10.1.2.3", 631), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	set_flags(vs, WGKS_F_ALLOW);
	expect(vs, "UDP to the LAN", udp4("10.1.2.3", 631), phy_ifindex, 0, PASS,
	       WGKS_REASON_LAN);
	expect(vs, "TCP to the LAN", V4(.proto = IPPROTO_TCP, .dst = "10.1.2.3", .dport = 445), phy_ifindex, 0, PASS,
	       WGKS_REASON_LAN);
	expect(vs, "ICMP to the LAN", V4(.proto = IPPROTO_ICMP, .dst = "10.1.2.3"), phy_ifindex, 0, PASS,
	       WGKS_REASON_LAN);
	expect(vs, "UDP DNS to the LAN", udp4("10.1.2.3", 53), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "TCP DNS to the LAN", V4(.proto = IPPROTO_TCP, .dst = "10.1.2.3", .dport = 53), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "later fragment to the LAN (port unknown)", V4(.proto = IPPROTO_UDP, .dst = "10.1.2.3", .dport = 631, .frag_off = 185),
	       phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "off the LAN", udp4("11.0.0.1", 631), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "another namespace's prefix", udp4("192.0.2.1", 631), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "v6 link-local mDNS", V6(.proto = IPPROTO_UDP, .dst = "fe80::1", .sport = 5353, .dport = 5353), phy_ifindex,
	       0, PASS, WGKS_REASON_LAN);
	expect(vs, "DHCPv6 solicit", V6(.proto = IPPROTO_UDP, .dst = "ff02::1:2", .sport = 546, .dport = 547), phy_ifindex, 0,
	       PASS, WGKS_REASON_LAN);
	expect(vs, "v6 DNS to the LAN", V6(.proto = IPPROTO_UDP, .dst = "fe80::1", .sport = 40000, .dport = 53), phy_ifindex, 0,
	       DROP, WGKS_REASON_BLOCKED);
	expect(vs, "v6 DNS behind an extension header", V6(.proto = IPPROTO_UDP, .dst = "fe80::1", .sport = 40000, .dport = 53, .ext = { IPPROTO_DSTOPTS }),
	       phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "v6 mDNS behind an extension header", V6(.proto = IPPROTO_UDP, .dst = "fe80::1", .sport = 5353, .dport = 5353, .ext = { IPPROTO_DSTOPTS }),
	       phy_ifindex, 0, PASS, WGKS_REASON_LAN);
	expect(vs, "v6 later fragment to the LAN", V6(.proto = IPPROTO_UDP, .dst = "fe80::1", .ext = { IPPROTO_FRAGMENT }, .frag_off = 8), phy_ifindex, 0,
	       DROP, WGKS_REASON_BLOCKED);
	expect(vs, "v6 off the LAN", V6(.proto = IPPROTO_UDP, .dst = "2001:db8::1", .sport = 40000, .dport = 443), phy_ifindex,
	       0, DROP, WGKS_REASON_BLOCKED);
	set_flags(vs, 0);
	for (int i = 0; test_lan[i]; i++)
		allow_entry(vs, vs->netns, test_lan[i], 1);
	allow_entry(vs, vs->netns + 1, "192.0.2.0/24", 1);
}

/* Row 7 never passes name resolution, whatever the prefix: DNS, DoT, LLMNR. mDNS does. */
static void test_row7_name_resolution(void **state)
{
	struct variant_state *vs = need(state);

	allow_entry(vs, vs->netns, "10.0.0.0/8", 0);
	allow_entry(vs, vs->netns, "fe80::/10", 0);
	set_flags(vs, WGKS_F_ALLOW);
	expect(vs, "DNS over TLS to the LAN", V4(.proto = IPPROTO_TCP, .dst = "10.1.2.3", .dport = 853),
	       phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "DNS over QUIC to the LAN", udp4("10.1.2.3", 853), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "LLMNR to the LAN", udp4("10.1.2.3", 5355), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "LLMNR over TCP to the LAN", V4(.proto = IPPROTO_TCP, .dst = "10.1.2.3",
	       .dport = 5355), phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "v6 LLMNR", udp6("fe80::1", 5355), phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "mDNS to the LAN", udp4("10.1.2.3", 5353), phy_ifindex, 0, PASS,
	       WGKS_REASON_LAN);
	expect(vs, "v6 mDNS", udp6("fe80::1", 5353), phy_ifindex, 0, PASS, WGKS_REASON_LAN);
	allow_entry(vs, vs->netns, "10.0.0.0/8", 1);
	allow_entry(vs, vs->netns, "fe80::/10", 1);
}

/*
 * The header's destination is only the first hop of a source-routed packet
 * (any socket may set IP_OPTIONS or IPV6_RTHDR): rows 6 and 7 never pass it.
 */
static void test_source_routed(void **state)
{
	struct variant_state *vs = need(state);
	/* Loose source route via 10.1.2.3 on to 198.18.0.1, as IP_OPTIONS writes it. */
	static const uint8_t lsrr[] = { IPOPT_NOOP, IPOPT_LSRR, 7, 4, 198, 18, 0, 1 };
	static const uint8_t ssrr[] = { IPOPT_NOOP, IPOPT_SSRR, 7, 4, 198, 18, 0, 1 };
	static const uint8_t ra[] = { IPOPT_RA, 4, 0, 0 };          /* router alert */
	static const uint8_t ts[] = { IPOPT_TIMESTAMP, 8, 5, 0, 0, 0, 0, 0 };

	allow_entry(vs, vs->netns, "10.0.0.0/8", 0);
	allow_entry(vs, vs->netns, "fe80::/10", 0);
	endpoint_entry(vs, vs->netns, "10.9.9.9:51820", 0);
	endpoint_entry(vs, vs->netns, "[fe80::9]:51820", 0);
	set_flags(vs, WGKS_F_ALLOW | WGKS_F_ENDPOINTS);
	expect(vs, "LSRR via a LAN host", V4(.proto = IPPROTO_UDP, .dst = "10.1.2.3", .dport = 631,
	       .opts = lsrr, .optlen = sizeof(lsrr)), phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "SSRR via a LAN host", V4(.proto = IPPROTO_TCP, .dst = "10.1.2.3", .dport = 445,
	       .opts = ssrr, .optlen = sizeof(ssrr)), phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "LSRR via the endpoint", V4(.proto = IPPROTO_UDP, .dst = "10.9.9.9",
	       .dport = 51820, .opts = lsrr, .optlen = sizeof(lsrr)), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "ICMP with LSRR via a LAN host", V4(.proto = IPPROTO_ICMP, .dst = "10.1.2.3",
	       .opts = lsrr, .optlen = sizeof(lsrr)), phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	/* Options that do not route: still the LAN. */
	expect(vs, "router alert to the LAN", V4(.proto = IPPROTO_UDP, .dst = "10.1.2.3",
	       .dport = 631, .opts = ra, .optlen = sizeof(ra)), phy_ifindex, 0, PASS,
	       WGKS_REASON_LAN);
	expect(vs, "timestamp option to the LAN", V4(.proto = IPPROTO_UDP, .dst = "10.1.2.3",
	       .dport = 631, .opts = ts, .optlen = sizeof(ts)), phy_ifindex, 0, PASS,
	       WGKS_REASON_LAN);
	/* IPv6: a routing header (segment routing) names the next segment only. */
	expect(vs, "v6 routing header via a LAN host", V6(.proto = IPPROTO_UDP, .dst = "fe80::1",
	       .dport = 631, .ext = { IPPROTO_ROUTING }), phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "v6 routing header via the endpoint", V6(.proto = IPPROTO_UDP,
	       .dst = "fe80::9", .dport = 51820, .ext = { IPPROTO_DSTOPTS, IPPROTO_ROUTING }),
	       phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	/* Only the routing header stops it: from WireGuard's port, without one, it passes. */
	{
		struct wgks_policy pol;

		get_policy(vs, &pol);
		pol.rules.tunnels[0].fwmark = 0;
		pol.rules.tunnels[0].listen_port = 51000;
		put_policy(vs, &pol);
		expect_tc(vs, "v6 WireGuard via a routing header", V6(.proto = IPPROTO_UDP,
			  .dst = "fe80::9", .sport = 51000, .dport = 51820,
			  .ext = { IPPROTO_ROUTING }), phy_ifindex, 0, 0, TC_ACT_SHOT,
			  WGKS_REASON_KERNEL);
		expect_tc(vs, "v6 WireGuard, no routing header", V6(.proto = IPPROTO_UDP,
			  .dst = "fe80::9", .sport = 51000, .dport = 51820), phy_ifindex, 0, 0,
			  TC_ACT_UNSPEC, WGKS_REASON_ENDPOINT);
	}
	allow_entry(vs, vs->netns, "10.0.0.0/8", 1);
	allow_entry(vs, vs->netns, "fe80::/10", 1);
	endpoint_entry(vs, vs->netns, "10.9.9.9:51820", 1);
	endpoint_entry(vs, vs->netns, "[fe80::9]:51820", 1);
}

/* A local bridge of containers: what goes there stays on the host. */
static void test_internal_bridge(void **state)
{
	struct variant_state *vs = need(state);
	uint32_t key = WGKS_INTERNAL_KEY(vs->counters, other_ifindex);

	expect(vs, "to a bridge not noted", udp4("172.17.0.2", 80), other_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	assert_int_equal(bpf_map_update_elem(vs->st.maps.internal, &key, &other_ifindex, BPF_ANY), 0);
	expect(vs, "to a container's bridge", udp4("172.17.0.2", 80), other_ifindex, 0, PASS,
	       WGKS_REASON_INTERNAL);
	expect(vs, "DNS to a container's bridge", udp4("172.17.0.2", 53), other_ifindex, 0, PASS,
	       WGKS_REASON_INTERNAL);
	expect(vs, "the LAN beside it", udp4("10.1.2.3", 80), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect_tc(vs, "forwarded to a container's bridge", udp4("172.17.0.3", 80), other_ifindex, 0,
		  phy_ifindex, TC_ACT_UNSPEC, WGKS_REASON_INTERNAL);
	bpf_map_delete_elem(vs->st.maps.internal, &key);
}

/*
 * WireGuard's handshake initiation (148 bytes, type 1) passes from root
 * (BPF_PROG_TEST_RUN's socket is root's) before attach knows its tunnel;
 * nothing else does, not even 147 bytes of it.
 */
static void test_handshake_initiation(void **state)
{
	struct variant_state *vs = need(state);
	uint8_t init[WG_INIT_LEN] = { 1, 0, 0, 0 };

	expect(vs, "handshake initiation from root", V4(.proto = IPPROTO_UDP, .dst = "198.51.100.7",
	       .dport = 51820, .payload = init, .payload_len = WG_INIT_LEN), phy_ifindex, 0,
	       PASS, WGKS_REASON_HANDSHAKE);
	expect(vs, "v6 handshake initiation from root", V6(.proto = IPPROTO_UDP,
	       .dst = "2001:db8::7", .dport = 51820, .payload = init, .payload_len = WG_INIT_LEN),
	       phy_ifindex, 0, PASS, WGKS_REASON_HANDSHAKE);
	expect(vs, "147 bytes of it", V4(.proto = IPPROTO_UDP, .dst = "198.51.100.7",
	       .dport = 51820, .payload = init, .payload_len = WG_INIT_LEN - 1), phy_ifindex, 0,
	       DROP, WGKS_REASON_BLOCKED);
	init[0] = 4; /* transport data */
	expect(vs, "data, not a handshake", V4(.proto = IPPROTO_UDP, .dst = "198.51.100.7",
	       .dport = 51820, .payload = init, .payload_len = WG_INIT_LEN), phy_ifindex, 0,
	       DROP, WGKS_REASON_BLOCKED);
}

/* The backstop lets by what the cgroup program passed, at the cost of a test. */
static void test_backstop_judged(void **state)
{
	struct variant_state *vs = need(state);

	expect_tc(vs, "judged", udp4("10.1.2.3", 631), phy_ifindex, WGKS_JUDGED_MARK, 0,
		  TC_ACT_UNSPEC, NO_COUNT);
	expect_tc(vs, "judged, with a mark of its own", udp4("10.1.2.3", 631), phy_ifindex,
		  WGKS_JUDGED_MARK | 0x1234, 0, TC_ACT_UNSPEC, NO_COUNT);
	/* Forwarded, the bit is not ours (a root firewall rule's): judged all the same. */
	expect_tc(vs, "forwarded, with the judged bit set", udp4("198.18.0.1", 443), phy_ifindex,
		  WGKS_JUDGED_MARK, other_ifindex, TC_ACT_SHOT, WGKS_REASON_FORWARD);
}

/* What the kernel sends on its own, and what it forwards: the same table. */
static void test_backstop_rows(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy pol;

	expect_tc(vs, "IPv6 RST to the LAN", V6(.proto = IPPROTO_TCP, .dst = "fd77::1",
		  .sport = 22, .dport = 40000, .tcp_flags = 0x14), phy_ifindex, 0, 0, TC_ACT_SHOT,
		  WGKS_REASON_KERNEL);
	expect_tc(vs, "SYN-ACK under SYN cookies", V4(.proto = IPPROTO_TCP, .dst = "10.77.0.1",
		  .sport = 22, .dport = 40000, .tcp_flags = 0x12), phy_ifindex, 0, 0, TC_ACT_SHOT,
		  WGKS_REASON_KERNEL);
	expect_tc(vs, "forwarded to the internet", udp4("198.18.0.1", 443), phy_ifindex, 0,
		  other_ifindex, TC_ACT_SHOT, WGKS_REASON_FORWARD);
	expect_tc(vs, "forwarded into the tunnel", udp4("198.18.0.1", 443), tun_ifindex, 0,
		  other_ifindex, TC_ACT_UNSPEC, WGKS_REASON_TUNNEL);
	expect_tc(vs, "the kernel's WireGuard, with its fwmark", udp4("198.51.100.7", 51820),
		  phy_ifindex, FWMARK, 0, TC_ACT_UNSPEC, WGKS_REASON_FWMARK);
	expect_tc(vs, "another fwmark", udp4("198.51.100.7", 51820), phy_ifindex, FWMARK + 1, 0,
		  TC_ACT_SHOT, WGKS_REASON_KERNEL);
	expect_tc(vs, "ARP", pkt_arp(), phy_ifindex, 0, 0, TC_ACT_UNSPEC, WGKS_REASON_LINK);
	expect_tc(vs, "IGMP report, TTL 1", V4(.proto = IPPROTO_IGMP, .dst = "224.0.0.22",
		  .ttl = 1), phy_ifindex, 0, 0, TC_ACT_UNSPEC, WGKS_REASON_LINK);
	expect_tc(vs, "IGMP, TTL 64", V4(.proto = IPPROTO_IGMP, .dst = "224.0.0.22"), phy_ifindex,
		  0, 0, TC_ACT_SHOT, WGKS_REASON_KERNEL);
	expect_tc(vs, "neighbour solicitation", icmp6(135, 255, "ff02::1:ff00:1", 0), phy_ifindex,
		  0, 0, TC_ACT_UNSPEC, WGKS_REASON_LINK);
	/* Allow-LAN, forwarded for a container: the LAN yes, its resolver no. */
	allow_entry(vs, vs->netns, "10.0.0.0/8", 0);
	set_flags(vs, WGKS_F_ALLOW);
	expect_tc(vs, "forwarded to the LAN", udp4("10.1.2.3", 631), phy_ifindex, 0,
		  other_ifindex, TC_ACT_UNSPEC, WGKS_REASON_LAN);
	expect_tc(vs, "forwarded DNS to the LAN", udp4("10.1.2.3", 53), phy_ifindex, 0,
		  other_ifindex, TC_ACT_SHOT, WGKS_REASON_FORWARD);
	allow_entry(vs, vs->netns, "10.0.0.0/8", 1);
	/* fwmark off: the kernel's WireGuard, from its listen port, to an endpoint. */
	get_policy(vs, &pol);
	pol.rules.tunnels[0].fwmark = 0;
	pol.rules.tunnels[0].listen_port = 51820;
	pol.rules.flags = WGKS_F_ENDPOINTS;
	put_policy(vs, &pol);
	endpoint_entry(vs, vs->netns, "198.51.100.7:51900", 0);
	expect_tc(vs, "from the listen port to an endpoint", V4(.proto = IPPROTO_UDP,
		  .dst = "198.51.100.7", .sport = 51820, .dport = 51900), phy_ifindex, 0, 0,
		  TC_ACT_UNSPEC, WGKS_REASON_ENDPOINT);
	expect_tc(vs, "from another port to an endpoint", V4(.proto = IPPROTO_UDP,
		  .dst = "198.51.100.7", .sport = 51821, .dport = 51900), phy_ifindex, 0, 0,
		  TC_ACT_SHOT, WGKS_REASON_KERNEL);
	expect_tc(vs, "forwarded, from the listen port to an endpoint", V4(.proto = IPPROTO_UDP,
		  .dst = "198.51.100.7", .sport = 51820, .dport = 51900), phy_ifindex, 0,
		  other_ifindex, TC_ACT_SHOT, WGKS_REASON_FORWARD);
	endpoint_entry(vs, vs->netns, "198.51.100.7:51900", 1);
}

/* A device of a namespace without a policy: untouched. */
static void test_backstop_unmanaged(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_counters before, after;
	struct pkt p = udp4("198.18.0.1", 443);
	int verdict;

	assert_int_equal(ks_counters_read(vs->st.maps.unmanaged, 0, &before), 0);
	assert_int_equal(setns(ns_other, CLONE_NEWNET), 0);
	verdict = run_on(vs->st.backstop_fd, &p, 1, 0, 0, NULL);
	assert_int_equal(setns(ns_managed, CLONE_NEWNET), 0);
	assert_int_equal(ks_counters_read(vs->st.maps.unmanaged, 0, &after), 0);
	assert_int_equal(verdict, TC_ACT_UNSPEC);
	assert_int_equal(after.packets[WGKS_REASON_UNMANAGED] -
			 before.packets[WGKS_REASON_UNMANAGED], 1);
}

static void test_lockdown_without_tunnels(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy saved, pol = { .rules = { .flags = WGKS_F_LOCKDOWN } };

	get_policy(vs, &saved);
	pol.rules.counters = saved.rules.counters;
	put_policy(vs, &pol);
	expect(vs, "lockdown: via the former tunnel", udp4("198.18.0.1", 443), tun_ifindex, 0,
	       DROP, WGKS_REASON_BLOCKED);
	expect(vs, "lockdown: with the former fwmark", udp4("10.77.0.1", 51820), phy_ifindex,
	       FWMARK, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "lockdown: loopback", udp4("127.0.0.1", 53), 1, 0, PASS, WGKS_REASON_LOCAL);
	expect(vs, "lockdown: NDP", icmp6(135, 255, "fe80::1", 0), phy_ifindex, 0, PASS,
	       WGKS_REASON_LINK);
	put_policy(vs, &saved);
}

/* Each namespace counts at its own index of wgks_stats; a freed index comes back zeroed. */
static void test_counters_index(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy other = { .rules = { .flags = WGKS_F_LOCKDOWN } };
	uint64_t other_ns = vs->netns + 1000, third_ns = vs->netns + 1001;
	int ncpus = libbpf_num_possible_cpus();
	struct wgks_counters *dirty, sum;
	uint32_t idx;

	assert_int_equal(ks_counters_index(&vs->st.maps, vs->netns, &idx), 0);
	assert_int_equal(idx, vs->counters);
	assert_int_equal(ks_counters_index(&vs->st.maps, other_ns, &other.rules.counters), 1);
	assert_int_not_equal(other.rules.counters, vs->counters);
	assert_int_equal(bpf_map_update_elem(vs->st.maps.policy, &other_ns, &other, BPF_NOEXIST), 0);
	assert_int_equal(ks_counters_index(&vs->st.maps, other_ns, &idx), 0);
	assert_int_equal(idx, other.rules.counters);

	assert_true(ncpus > 0);
	dirty = calloc((size_t)ncpus, sizeof(*dirty));
	assert_non_null(dirty);
	for (int c = 0; c < ncpus; c++)
		dirty[c].packets[WGKS_REASON_BLOCKED] = 5;
	assert_int_equal(bpf_map_update_elem(vs->st.maps.stats, &other.rules.counters, dirty, BPF_ANY), 0);
	free(dirty);
	assert_int_equal(bpf_map_delete_elem(vs->st.maps.policy, &other_ns), 0);
	assert_int_equal(ks_counters_index(&vs->st.maps, third_ns, &idx), 1);
	assert_int_equal(idx, other.rules.counters);
	assert_int_equal(ks_counters_read(vs->st.maps.stats, idx, &sum), 0);
	assert_int_equal(sum.packets[WGKS_REASON_BLOCKED], 0);
}

static void test_policy_removed_passes(void **state)
{
	struct variant_state *vs = need(state);
	struct pkt p = udp4("198.18.0.1", 443);

	assert_int_equal(bpf_map_delete_elem(vs->st.maps.policy, &vs->netns), 0);
	assert_int_equal(run(vs, &p, phy_ifindex, 0), PASS);
}

/*
 * Rewriting a namespace's policy (attach, detach, lockdown do) while its
 * packets go out: a packet must never find no policy and pass as if the
 * namespace had none. A hash map update links a new element and unlinks
 * the old, and a lookup at the wrong moment can miss both; the loader
 * writes in place under the element's lock instead (ks_write_policy).
 * Other namespaces come and go meanwhile, so that freed elements are reused.
 */
struct churn {
	struct variant_state *vs;
	atomic_bool stop;
	atomic_long done; /* rewrites so far */
	long writes;
};

#define CROWD 1000 /* other namespaces: some share the bucket, in front of ours */

static uint64_t crowd_cookie(int i)
{
	return 0x7700000000000000ull + (uint64_t)i;
}

static void *churn_policies(void *arg)
{
	struct churn *c = arg;
	struct wgks_policy pol, others[CROWD];
	uint64_t keys[CROWD];
	uint32_t n;

	if (bpf_map_lookup_elem(c->vs->st.maps.policy, &c->vs->netns, &pol))
		return NULL;
	for (int i = 0; i < CROWD; i++) {
		keys[i] = crowd_cookie(i);
		others[i] = (struct wgks_policy){ .rules = { .counters = c->vs->counters } };
	}
	while (!atomic_load(&c->stop)) {
		/* In front of ours in the buckets they share, then ours rewritten. */
		n = CROWD;
		if (bpf_map_update_batch(c->vs->st.maps.policy, keys, others, &n, NULL))
			break;
		pol.rules.tunnels[0].fwmark = (uint32_t)(FWMARK + (c->writes & 1));
		if (ks_policy_write(&c->vs->st.maps, c->vs->netns, &pol))
			break;
		n = CROWD;
		bpf_map_delete_batch(c->vs->st.maps.policy, keys, &n, NULL);
		c->writes++;
		atomic_store(&c->done, c->writes);
	}
	return NULL;
}

static void test_rewrite_never_unmanaged(void **state)
{
	struct variant_state *vs = need(state);
	struct pkt p = udp4("198.18.0.1", 443);
	struct wgks_counters before, after, cbefore, cafter;
	struct churn c = { .vs = vs };
	long runs = 0;
	pthread_t t;

	struct wgks_policy other = { .rules = { .counters = vs->counters } };

	/* Added after ours, they go in front of it in the buckets they share. */
	for (int i = 0; i < CROWD; i++) {
		uint64_t k = crowd_cookie(i);

		assert_int_equal(bpf_map_update_elem(vs->st.maps.policy, &k, &other, BPF_NOEXIST), 0);
	}
	assert_int_equal(ks_counters_read(vs->st.maps.unmanaged, 0, &before), 0);
	counters(vs, &cbefore);
	assert_int_equal(pthread_create(&t, NULL, churn_policies, &c), 0);
	/*
	 * Two seconds and 200 rewrites at least (emulated guests are slow), 20 s
	 * at most: without the lock a few packets a second passed here.
	 */
	for (time_t start = time(NULL);
	     time(NULL) < start + 20 && (time(NULL) < start + 2 || atomic_load(&c.done) < 200);) {
		struct __sk_buff ctx = { .ifindex = phy_ifindex };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p.b, .data_size_in = p.len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 5000);

		assert_int_equal(bpf_prog_test_run_opts(vs->st.egress_fd, &opts), 0);
		runs += 5000;
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	assert_int_equal(ks_counters_read(vs->st.maps.unmanaged, 0, &after), 0);
	counters(vs, &cafter);
	print_message("%ld runs, %ld policy rewrites: %llu passed as unmanaged, %llu blocked\n",
		      runs, c.writes,
		      (unsigned long long)(after.packets[WGKS_REASON_UNMANAGED] -
					   before.packets[WGKS_REASON_UNMANAGED]),
		      (unsigned long long)(cafter.packets[WGKS_REASON_BLOCKED] -
					   cbefore.packets[WGKS_REASON_BLOCKED]));
	assert_true(c.writes >= 200);
	assert_int_equal(after.packets[WGKS_REASON_UNMANAGED], before.packets[WGKS_REASON_UNMANAGED]);
	assert_int_equal(cafter.packets[WGKS_REASON_BLOCKED] - cbefore.packets[WGKS_REASON_BLOCKED],
			 (uint64_t)runs);
}

/* Before each test: the namespace's policy as load() made it, whatever the last test did. */
static int fresh_policy(void **state)
{
	struct variant_state *vs = *state;
	struct wgks_policy pol = { .rules = { .ntunnels = 1 } };

	if (!vs)
		return 0;
	strcpy(pol.rules.tunnels[0].name, "wgkstun");
	pol.rules.tunnels[0].ifindex = tun_ifindex;
	pol.rules.tunnels[0].fwmark = FWMARK;
	pol.rules.counters = vs->counters;
	/* Row 2's proof: the tunnel's device, and no other slot's. */
	devices_clear(&vs->st.maps, vs->counters, 1);
	if (devices_set(&vs->st.maps, vs->counters, 0, tun_ifindex))
		return -1;
	return bpf_map_update_elem(vs->st.maps.policy, &vs->netns, &pol, BPF_ANY) ? -1 : 0;
}

#define TEST(t) cmocka_unit_test_setup(t, fresh_policy)

/* Every test stands alone (fresh_policy): the order is only the table's. */
static const struct CMUnitTest table[] = {
	TEST(test_row2_tunnel),
	TEST(test_row3_not_on_skb_mark),
	TEST(test_row4_local),
	TEST(test_row5_ndp_mld),
	TEST(test_row5_not_other_icmpv6),
	TEST(test_row8_blocked),
	TEST(test_tunnel_gone_stays_blocked),
	TEST(test_row2_not_on_ifindex),
	TEST(test_second_tunnel),
	TEST(test_row6_endpoint),
	TEST(test_row7_lan),
	TEST(test_row7_name_resolution),
	TEST(test_source_routed),
	TEST(test_internal_bridge),
	TEST(test_handshake_initiation),
	TEST(test_backstop_judged),
	TEST(test_backstop_rows),
	TEST(test_backstop_unmanaged),
	TEST(test_lockdown_without_tunnels),
	TEST(test_row1_unmanaged_namespace),
	TEST(test_counters_index),
	TEST(test_policy_removed_passes),
	TEST(test_rewrite_never_unmanaged),
};

int main(void)
{
	int failed = 0;

	if (make_namespaces(NULL)) {
		fprintf(stderr, "cannot set up test namespaces\n");
		return 1;
	}
	printf("verdict table, variant cookie (bpf_get_netns_cookie)\n");
	failed += cmocka_run_group_tests_name("verdict/cookie", table, load_cookie, unload);
	printf("verdict table, variant kctx (bpf_cast_to_kern_ctx + CO-RE)\n");
	failed += cmocka_run_group_tests_name("verdict/kctx", table, load_kctx, unload);
	printf("verdict table, variant probe (CO-RE probe read)\n");
	failed += cmocka_run_group_tests_name("verdict/probe", table, load_probe, unload);
	drop_namespaces(NULL);
	return failed ? 1 : 0;
}
