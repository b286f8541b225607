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
#include <sys/utsname.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include "corebtf.h"
#include "keys.h"
#include "netns.h"
#include "prefix.h"
#include "state.h"

#define FWMARK 0xca6c

enum { DROP = 0, PASS = 1 };

static int ns_managed = -1, ns_other = -1; /* netns fds */
static uint32_t tun_ifindex, phy_ifindex, other_ifindex;

struct variant_state {
	struct ks_state st;
	uint64_t netns; /* id of ns_managed as this variant sees it */
	uint32_t counters; /* its index in wgks_stats */
};

/* ---- packets: Ethernet header, then what the program reads ---- */

struct pkt {
	unsigned char b[128];
	uint32_t len;
};

static void eth(struct pkt *p, uint16_t proto)
{
	memset(p, 0, sizeof(*p));
	p->b[12] = proto >> 8;
	p->b[13] = proto & 0xff;
	p->len = ETH_HLEN;
}

static struct pkt ipv4_udp(const char *dst, uint16_t dport)
{
	struct pkt p;
	unsigned char *ip;

	eth(&p, ETH_P_IP);
	ip = p.b + ETH_HLEN;
	ip[0] = 0x45;
	ip[3] = 20 + 8 + 4; /* total length */
	ip[8] = 64;
	ip[9] = 17; /* UDP */
	inet_pton(AF_INET, "10.0.0.2", ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	ip[20] = 0x30;
	ip[21] = 0x39; /* sport 12345 */
	ip[22] = dport >> 8;
	ip[23] = dport & 0xff;
	ip[25] = 12; /* UDP length */
	p.len += 20 + 8 + 4;
	return p;
}

/* IPv6 with NEXT after the fixed header; optional hop-by-hop first. */
static unsigned char *ipv6(struct pkt *p, uint8_t next, uint8_t hoplimit, const char *dst,
			   int hbh)
{
	unsigned char *ip;

	eth(p, ETH_P_IPV6);
	ip = p->b + ETH_HLEN;
	ip[0] = 0x60;
	ip[6] = hbh ? 0 : next;
	ip[7] = hoplimit;
	inet_pton(AF_INET6, "fd00::2", ip + 8);
	inet_pton(AF_INET6, dst, ip + 24);
	p->len += 40;
	if (hbh) {
		unsigned char *h = ip + 40;

		h[0] = next;
		h[1] = 0;    /* 8 bytes */
		h[2] = 5;    /* router alert */
		h[3] = 2;
		h[6] = 1;    /* PadN */
		p->len += 8;
	}
	ip[5] = (uint8_t)(p->len - ETH_HLEN - 40 + 8); /* payload length, roughly */
	return p->b + p->len;
}

static struct pkt ipv6_udp(const char *dst)
{
	struct pkt p;
	unsigned char *udp = ipv6(&p, 17, 64, dst, 0);

	udp[3] = 53;
	p.len += 8;
	return p;
}

static struct pkt icmpv6(uint8_t type, uint8_t hoplimit, const char *dst, int hbh)
{
	struct pkt p;
	unsigned char *icmp = ipv6(&p, 58, hoplimit, dst, hbh);

	icmp[0] = type;
	p.len += 8;
	return p;
}

/* IPv4 with PROTO to DST; ports for TCP/UDP; FRAG_OFF in 8-byte units. */
static struct pkt ipv4(uint8_t proto, const char *dst, uint16_t dport, uint16_t frag_off)
{
	struct pkt p = ipv4_udp(dst, dport);
	unsigned char *ip = p.b + ETH_HLEN;

	ip[9] = proto;
	ip[6] = frag_off >> 8;
	ip[7] = frag_off & 0xff;
	if (proto == 1) { /* ICMP echo: no ports */
		ip[20] = 8;
		ip[21] = ip[22] = ip[23] = 0;
	}
	return p;
}

/* IPv6 UDP from SPORT to DST:DPORT, optionally behind a destination-options header. */
static struct pkt ipv6_udp_ports(const char *dst, uint16_t sport, uint16_t dport, int dstopts)
{
	struct pkt p;
	unsigned char *l4 = ipv6(&p, dstopts ? 60 : 17, 64, dst, 0);

	if (dstopts) {
		l4[0] = 17; /* next: UDP */
		l4[1] = 0;  /* 8 bytes */
		l4[2] = 1;  /* PadN */
		l4[3] = 4;
		p.len += 8;
		l4 += 8;
	}
	l4[0] = sport >> 8;
	l4[1] = sport & 0xff;
	l4[2] = dport >> 8;
	l4[3] = dport & 0xff;
	p.len += 8;
	return p;
}

/* IPv6 non-first fragment of a UDP datagram to DST: no ports to read. */
static struct pkt ipv6_later_fragment(const char *dst)
{
	struct pkt p;
	unsigned char *frag = ipv6(&p, 44, 64, dst, 0);

	frag[0] = 17;
	frag[3] = 8 << 3; /* offset 8 x 8 bytes */
	p.len += 8 + 16;
	return p;
}

/* ---- running the program ---- */

static int run(struct variant_state *vs, const struct pkt *p, uint32_t ifindex, uint32_t mark)
{
	struct __sk_buff ctx = { .ifindex = ifindex, .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = p->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(vs->st.prog_fd, &opts), 0);
	return (int)opts.retval;
}

static void counters(struct variant_state *vs, struct wgks_counters *c)
{
	assert_int_equal(ks_read_counters(vs->st.stats_fd, &vs->counters, c), 0);
}

/* Run P; expect VERDICT, and exactly one more packet (and its bytes) under REASON. */
static void expect(struct variant_state *vs, const char *what, struct pkt p, uint32_t ifindex,
		   uint32_t mark, int verdict, enum wgks_reason reason)
{
	struct wgks_counters before, after;
	int got;

	counters(vs, &before);
	got = run(vs, &p, ifindex, mark);
	counters(vs, &after);
	if (got != verdict)
		fail_msg("%s: verdict %d, want %d", what, got, verdict);
	for (int r = 0; r < WGKS_REASON_MAX; r++) {
		uint64_t dp = after.packets[r] - before.packets[r];
		uint64_t db = after.bytes[r] - before.bytes[r];

		if (dp != (r == (int)reason))
			fail_msg("%s: counter %d moved by %llu", what, r, (unsigned long long)dp);
		if (db != (r == (int)reason ? p.len - ETH_HLEN : 0))
			fail_msg("%s: bytes of counter %d moved by %llu", what, r,
				 (unsigned long long)db);
	}
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

/* The first kernel each variant runs on (see enum wgks_variant). */
static int variant_min_kernel(const char *variant)
{
	if (!strcmp(variant, "cookie"))
		return 615;
	if (!strcmp(variant, "kctx"))
		return 602;
	return 514;
}

static int kernel_at_least(int want)
{
	struct utsname u;
	int major, minor;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 100 + minor >= want;
}

static int load(void **state, const char *variant)
{
	struct variant_state *vs;
	struct wgks_policy pol = { .ntunnels = 1 };

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
		return kernel_at_least(variant_min_kernel(variant)) ? -1 : 0;
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
	assert_int_equal(netns_current_id(&vs->netns), 0);
	strcpy(pol.tunnels[0].name, "wgkstun");
	pol.tunnels[0].ifindex = tun_ifindex;
	pol.tunnels[0].fwmark = FWMARK;
	assert_int_equal(ks_counters_index(&vs->st, vs->netns, &vs->counters), 1);
	pol.counters = vs->counters;
	assert_int_equal(bpf_map_update_elem(vs->st.policy_fd, &vs->netns, &pol, BPF_ANY), 0);
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
	assert_int_equal(bpf_map_lookup_elem(vs->st.policy_fd, &vs->netns, pol), 0);
}

static void put_policy(struct variant_state *vs, const struct wgks_policy *pol)
{
	assert_int_equal(bpf_map_update_elem(vs->st.policy_fd, &vs->netns, pol, BPF_EXIST), 0);
}

static void set_flags(struct variant_state *vs, uint32_t flags)
{
	struct wgks_policy pol;

	get_policy(vs, &pol);
	pol.flags = flags;
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
		assert_int_equal(bpf_map_delete_elem(vs->st.endpoints_fd, &k), 0);
	else
		assert_int_equal(bpf_map_update_elem(vs->st.endpoints_fd, &k, &owners, BPF_ANY), 0);
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
	fd = p.family == 4 ? vs->st.allow4_fd : vs->st.allow6_fd;
	if (del)
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
	else
		assert_int_equal(bpf_map_update_elem(fd, key, &owners, BPF_ANY), 0);
}

/* ---- the policy table ---- */

static void test_row2_tunnel(void **state)
{
	struct variant_state *vs = need(state);

	expect(vs, "v4 via tunnel", ipv4_udp("198.18.0.1", 443), tun_ifindex, 0, PASS,
	       WGKS_REASON_TUNNEL);
	expect(vs, "v6 via tunnel", ipv6_udp("2001:db8::1"), tun_ifindex, 0, PASS,
	       WGKS_REASON_TUNNEL);
	/* Row 2 comes before row 5: NDP on the tunnel counts as tunnel. */
	expect(vs, "NS via tunnel", icmpv6(135, 255, "ff02::1:ff00:1", 0), tun_ifindex, 0, PASS,
	       WGKS_REASON_TUNNEL);
}

static void test_row3_fwmark(void **state)
{
	struct variant_state *vs = need(state);

	expect(vs, "v4 with fwmark", ipv4_udp("10.77.0.1", 51820), phy_ifindex, FWMARK, PASS,
	       WGKS_REASON_FWMARK);
	expect(vs, "v6 with fwmark", ipv6_udp("fd77::1"), phy_ifindex, FWMARK, PASS,
	       WGKS_REASON_FWMARK);
	expect(vs, "v4 other mark", ipv4_udp("10.77.0.1", 51820), phy_ifindex, FWMARK + 1,
	       DROP, WGKS_REASON_BLOCKED);
	expect(vs, "v4 mark with extra bits", ipv4_udp("10.77.0.1", 51820), phy_ifindex,
	       FWMARK | 0x10000, DROP, WGKS_REASON_BLOCKED);
}

static void test_row4_local(void **state)
{
	struct variant_state *vs = need(state);

	expect(vs, "v4 via lo", ipv4_udp("127.0.0.1", 53), 1, 0, PASS, WGKS_REASON_LOCAL);
	expect(vs, "v6 via lo", ipv6_udp("::1"), 1, 0, PASS, WGKS_REASON_LOCAL);
}

static void test_row5_ndp_mld(void **state)
{
	struct variant_state *vs = need(state);
	char what[64];

	for (int type = 133; type <= 137; type++) {
		snprintf(what, sizeof(what), "NDP type %d", type);
		expect(vs, what, icmpv6((uint8_t)type, 255, "fe80::1", 0), phy_ifindex, 0, PASS,
		       WGKS_REASON_LINK);
	}
	expect(vs, "MLDv1 report with router alert", icmpv6(131, 1, "ff02::1:3", 1), phy_ifindex,
	       0, PASS, WGKS_REASON_LINK);
	expect(vs, "MLD query", icmpv6(130, 1, "ff02::1", 1), phy_ifindex, 0, PASS,
	       WGKS_REASON_LINK);
	expect(vs, "MLD done", icmpv6(132, 1, "ff02::2", 1), phy_ifindex, 0, PASS,
	       WGKS_REASON_LINK);
	expect(vs, "MLDv2 report", icmpv6(143, 1, "ff02::16", 1), phy_ifindex, 0, PASS,
	       WGKS_REASON_LINK);
}

static void test_row5_not_other_icmpv6(void **state)
{
	struct variant_state *vs = need(state);

	expect(vs, "echo request", icmpv6(128, 64, "2001:db8::1", 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "echo reply", icmpv6(129, 64, "2001:db8::1", 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "dest unreachable", icmpv6(1, 64, "2001:db8::1", 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "type 138", icmpv6(138, 255, "fe80::1", 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "type 142", icmpv6(142, 1, "ff02::1", 1), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	/* RFC 4861: hop limit 255 or it is no NDP; MLD: hop limit 1. */
	expect(vs, "NS hop limit 64", icmpv6(135, 64, "2001:db8::1", 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "MLD hop limit 64", icmpv6(143, 64, "2001:db8::1", 1), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	/* NDP's type behind a UDP header is data, not NDP. */
	{
		struct pkt p = icmpv6(135, 255, "fe80::1", 0);

		p.b[ETH_HLEN + 6] = 17;
		expect(vs, "UDP looking like NDP", p, phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	}
	/* Only one hop-by-hop header may stand before NDP/MLD: not destination options. */
	{
		struct pkt p = icmpv6(135, 255, "fe80::1", 1);

		p.b[ETH_HLEN + 6] = 60;
		expect(vs, "NS behind destination options", p, phy_ifindex, 0, DROP,
		       WGKS_REASON_BLOCKED);
	}
	/* A documented decision (README, Known limits): unicast NUD to a global neighbour. */
	expect(vs, "NS to a global address, hop limit 255", icmpv6(135, 255, "2001:db8::99", 0),
	       phy_ifindex, 0, PASS, WGKS_REASON_LINK);
	/* Truncated: the program cannot read the type, so it drops. */
	{
		struct pkt p = icmpv6(135, 255, "fe80::1", 0);

		p.len = ETH_HLEN + 40;
		expect(vs, "truncated ICMPv6", p, phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	}
}

static void test_row8_blocked(void **state)
{
	struct variant_state *vs = need(state);

	expect(vs, "v4 off tunnel", ipv4_udp("198.18.0.1", 443), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "v4 DNS off tunnel", ipv4_udp("10.77.0.1", 53), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "v6 off tunnel", ipv6_udp("2001:db8::1"), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
}

static void test_tunnel_gone_stays_blocked(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy pol;

	/* The interface is deleted and comes back with a new ifindex. */
	assert_int_equal(bpf_map_lookup_elem(vs->st.policy_fd, &vs->netns, &pol), 0);
	pol.tunnels[0].ifindex = 999999;
	assert_int_equal(bpf_map_update_elem(vs->st.policy_fd, &vs->netns, &pol, BPF_EXIST), 0);
	expect(vs, "v4 via recreated tunnel", ipv4_udp("198.18.0.1", 443), tun_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	pol.tunnels[0].ifindex = tun_ifindex;
	assert_int_equal(bpf_map_update_elem(vs->st.policy_fd, &vs->netns, &pol, BPF_EXIST), 0);
	expect(vs, "v4 via re-attached tunnel", ipv4_udp("198.18.0.1", 443), tun_ifindex, 0,
	       PASS, WGKS_REASON_TUNNEL);
}

static void test_second_tunnel(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy pol;

	assert_int_equal(bpf_map_lookup_elem(vs->st.policy_fd, &vs->netns, &pol), 0);
	pol.ntunnels = 2;
	strcpy(pol.tunnels[1].name, "wgksphy");
	pol.tunnels[1].ifindex = phy_ifindex;
	pol.tunnels[1].fwmark = 0x1234;
	assert_int_equal(bpf_map_update_elem(vs->st.policy_fd, &vs->netns, &pol, BPF_EXIST), 0);
	expect(vs, "via second tunnel", ipv4_udp("198.18.0.1", 443), phy_ifindex, 0, PASS,
	       WGKS_REASON_TUNNEL);
	expect(vs, "second tunnel's mark", ipv4_udp("198.18.0.1", 443), other_ifindex,
	       0x1234, PASS, WGKS_REASON_FWMARK);
	/* A tunnel without a fwmark must not pass every unmarked packet. */
	pol.tunnels[1].fwmark = 0;
	assert_int_equal(bpf_map_update_elem(vs->st.policy_fd, &vs->netns, &pol, BPF_EXIST), 0);
	expect(vs, "unmarked, tunnel without fwmark", ipv4_udp("198.18.0.1", 443),
	       other_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	/* Entries past ntunnels are not consulted. */
	pol.ntunnels = 1;
	assert_int_equal(bpf_map_update_elem(vs->st.policy_fd, &vs->netns, &pol, BPF_EXIST), 0);
	expect(vs, "past ntunnels", ipv4_udp("198.18.0.1", 443), phy_ifindex, 0x1234, DROP,
	       WGKS_REASON_BLOCKED);
}

static void test_row1_unmanaged_namespace(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_counters before, after, mine_before, mine_after;
	struct pkt p = ipv4_udp("198.18.0.1", 443);
	uint32_t zero = 0;
	int verdict;

	counters(vs, &mine_before);
	assert_int_equal(ks_read_counters(vs->st.unmanaged_fd, &zero, &before), 0);
	assert_int_equal(setns(ns_other, CLONE_NEWNET), 0);
	verdict = run(vs, &p, 1, 0);
	assert_int_equal(setns(ns_managed, CLONE_NEWNET), 0);
	assert_int_equal(ks_read_counters(vs->st.unmanaged_fd, &zero, &after), 0);
	counters(vs, &mine_after);
	assert_int_equal(verdict, PASS);
	assert_int_equal(after.packets[WGKS_REASON_UNMANAGED] -
			 before.packets[WGKS_REASON_UNMANAGED], 1);
	assert_int_equal(after.bytes[WGKS_REASON_UNMANAGED] -
			 before.bytes[WGKS_REASON_UNMANAGED], p.len - ETH_HLEN);
	assert_memory_equal(&mine_before, &mine_after, sizeof(mine_before));
}

static void test_row6_endpoint(void **state)
{
	struct variant_state *vs = need(state);

	endpoint_entry(vs, vs->netns, "198.51.100.7:51820", 0);
	endpoint_entry(vs, vs->netns, "[2001:db8::7]:51820", 0);
	endpoint_entry(vs, vs->netns + 1, "198.51.100.9:51820", 0); /* another namespace's */
	/* Entries alone do nothing: the namespace must say it has some. */
	expect(vs, "endpoint without the flag", ipv4_udp("198.51.100.7", 51820), phy_ifindex, 0,
	       DROP, WGKS_REASON_BLOCKED);
	set_flags(vs, WGKS_F_ENDPOINTS);
	expect(vs, "UDP to the endpoint", ipv4_udp("198.51.100.7", 51820), phy_ifindex, 0, PASS,
	       WGKS_REASON_ENDPOINT);
	expect(vs, "UDP to [endpoint]", ipv6_udp_ports("2001:db8::7", 40000, 51820, 0),
	       phy_ifindex, 0, PASS, WGKS_REASON_ENDPOINT);
	expect(vs, "UDP to the endpoint's address, other port", ipv4_udp("198.51.100.7", 51821),
	       phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "TCP to the endpoint", ipv4(6, "198.51.100.7", 51820, 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "UDP to another host, same port", ipv4_udp("198.51.100.8", 51820), phy_ifindex,
	       0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "another namespace's endpoint", ipv4_udp("198.51.100.9", 51820), phy_ifindex,
	       0, DROP, WGKS_REASON_BLOCKED);
	set_flags(vs, 0);
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
	expect(vs, "LAN without the flag", ipv4_udp("10.1.2.3", 631), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	set_flags(vs, WGKS_F_ALLOW);
	expect(vs, "UDP to the LAN", ipv4_udp("10.1.2.3", 631), phy_ifindex, 0, PASS,
	       WGKS_REASON_LAN);
	expect(vs, "TCP to the LAN", ipv4(6, "10.1.2.3", 445, 0), phy_ifindex, 0, PASS,
	       WGKS_REASON_LAN);
	expect(vs, "ICMP to the LAN", ipv4(1, "10.1.2.3", 0, 0), phy_ifindex, 0, PASS,
	       WGKS_REASON_LAN);
	expect(vs, "UDP DNS to the LAN", ipv4_udp("10.1.2.3", 53), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "TCP DNS to the LAN", ipv4(6, "10.1.2.3", 53, 0), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "later fragment to the LAN (port unknown)", ipv4(17, "10.1.2.3", 631, 185),
	       phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "off the LAN", ipv4_udp("11.0.0.1", 631), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "another namespace's prefix", ipv4_udp("192.0.2.1", 631), phy_ifindex, 0, DROP,
	       WGKS_REASON_BLOCKED);
	expect(vs, "v6 link-local mDNS", ipv6_udp_ports("fe80::1", 5353, 5353, 0), phy_ifindex,
	       0, PASS, WGKS_REASON_LAN);
	expect(vs, "DHCPv6 solicit", ipv6_udp_ports("ff02::1:2", 546, 547, 0), phy_ifindex, 0,
	       PASS, WGKS_REASON_LAN);
	expect(vs, "v6 DNS to the LAN", ipv6_udp_ports("fe80::1", 40000, 53, 0), phy_ifindex, 0,
	       DROP, WGKS_REASON_BLOCKED);
	expect(vs, "v6 DNS behind an extension header", ipv6_udp_ports("fe80::1", 40000, 53, 1),
	       phy_ifindex, 0, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "v6 mDNS behind an extension header", ipv6_udp_ports("fe80::1", 5353, 5353, 1),
	       phy_ifindex, 0, PASS, WGKS_REASON_LAN);
	expect(vs, "v6 later fragment to the LAN", ipv6_later_fragment("fe80::1"), phy_ifindex, 0,
	       DROP, WGKS_REASON_BLOCKED);
	expect(vs, "v6 off the LAN", ipv6_udp_ports("2001:db8::1", 40000, 443, 0), phy_ifindex,
	       0, DROP, WGKS_REASON_BLOCKED);
	set_flags(vs, 0);
	for (int i = 0; test_lan[i]; i++)
		allow_entry(vs, vs->netns, test_lan[i], 1);
	allow_entry(vs, vs->netns + 1, "192.0.2.0/24", 1);
}

static void test_lockdown_without_tunnels(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy saved, pol = { .flags = WGKS_F_LOCKDOWN };

	get_policy(vs, &saved);
	pol.counters = saved.counters;
	put_policy(vs, &pol);
	expect(vs, "lockdown: via the former tunnel", ipv4_udp("198.18.0.1", 443), tun_ifindex, 0,
	       DROP, WGKS_REASON_BLOCKED);
	expect(vs, "lockdown: with the former fwmark", ipv4_udp("10.77.0.1", 51820), phy_ifindex,
	       FWMARK, DROP, WGKS_REASON_BLOCKED);
	expect(vs, "lockdown: loopback", ipv4_udp("127.0.0.1", 53), 1, 0, PASS, WGKS_REASON_LOCAL);
	expect(vs, "lockdown: NDP", icmpv6(135, 255, "fe80::1", 0), phy_ifindex, 0, PASS,
	       WGKS_REASON_LINK);
	put_policy(vs, &saved);
}

/* Each namespace counts at its own index of wgks_stats; a freed index comes back zeroed. */
static void test_counters_index(void **state)
{
	struct variant_state *vs = need(state);
	struct wgks_policy other = { .flags = WGKS_F_LOCKDOWN };
	uint64_t other_ns = vs->netns + 1000, third_ns = vs->netns + 1001;
	int ncpus = libbpf_num_possible_cpus();
	struct wgks_counters *dirty, sum;
	uint32_t idx;

	assert_int_equal(ks_counters_index(&vs->st, vs->netns, &idx), 0);
	assert_int_equal(idx, vs->counters);
	assert_int_equal(ks_counters_index(&vs->st, other_ns, &other.counters), 1);
	assert_int_not_equal(other.counters, vs->counters);
	assert_int_equal(bpf_map_update_elem(vs->st.policy_fd, &other_ns, &other, BPF_NOEXIST), 0);
	assert_int_equal(ks_counters_index(&vs->st, other_ns, &idx), 0);
	assert_int_equal(idx, other.counters);

	assert_true(ncpus > 0);
	dirty = calloc((size_t)ncpus, sizeof(*dirty));
	assert_non_null(dirty);
	for (int c = 0; c < ncpus; c++)
		dirty[c].packets[WGKS_REASON_BLOCKED] = 5;
	assert_int_equal(bpf_map_update_elem(vs->st.stats_fd, &other.counters, dirty, BPF_ANY), 0);
	free(dirty);
	assert_int_equal(bpf_map_delete_elem(vs->st.policy_fd, &other_ns), 0);
	assert_int_equal(ks_counters_index(&vs->st, third_ns, &idx), 1);
	assert_int_equal(idx, other.counters);
	assert_int_equal(ks_read_counters(vs->st.stats_fd, &idx, &sum), 0);
	assert_int_equal(sum.packets[WGKS_REASON_BLOCKED], 0);
}

static void test_policy_removed_passes(void **state)
{
	struct variant_state *vs = need(state);
	struct pkt p = ipv4_udp("198.18.0.1", 443);

	assert_int_equal(bpf_map_delete_elem(vs->st.policy_fd, &vs->netns), 0);
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

	if (bpf_map_lookup_elem(c->vs->st.policy_fd, &c->vs->netns, &pol))
		return NULL;
	for (int i = 0; i < CROWD; i++) {
		keys[i] = crowd_cookie(i);
		others[i] = (struct wgks_policy){ .counters = c->vs->counters };
	}
	while (!atomic_load(&c->stop)) {
		/* In front of ours in the buckets they share, then ours rewritten. */
		n = CROWD;
		if (bpf_map_update_batch(c->vs->st.policy_fd, keys, others, &n, NULL))
			break;
		pol.tunnels[0].fwmark = (uint32_t)(FWMARK + (c->writes & 1));
		if (ks_write_policy(&c->vs->st, c->vs->netns, &pol))
			break;
		n = CROWD;
		bpf_map_delete_batch(c->vs->st.policy_fd, keys, &n, NULL);
		c->writes++;
		atomic_store(&c->done, c->writes);
	}
	return NULL;
}

static void test_rewrite_never_unmanaged(void **state)
{
	struct variant_state *vs = need(state);
	struct pkt p = ipv4_udp("198.18.0.1", 443);
	struct wgks_counters before, after, cbefore, cafter;
	struct churn c = { .vs = vs };
	uint32_t zero = 0;
	long runs = 0;
	pthread_t t;

	struct wgks_policy other = { .counters = vs->counters };

	/* Added after ours, they go in front of it in the buckets they share. */
	for (int i = 0; i < CROWD; i++) {
		uint64_t k = crowd_cookie(i);

		assert_int_equal(bpf_map_update_elem(vs->st.policy_fd, &k, &other, BPF_NOEXIST), 0);
	}
	assert_int_equal(ks_read_counters(vs->st.unmanaged_fd, &zero, &before), 0);
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

		assert_int_equal(bpf_prog_test_run_opts(vs->st.prog_fd, &opts), 0);
		runs += 5000;
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	assert_int_equal(ks_read_counters(vs->st.unmanaged_fd, &zero, &after), 0);
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

#define TABLE(variant)                                                            \
	{                                                                         \
		cmocka_unit_test(test_row2_tunnel),                               \
		cmocka_unit_test(test_row3_fwmark),                               \
		cmocka_unit_test(test_row4_local),                                \
		cmocka_unit_test(test_row5_ndp_mld),                              \
		cmocka_unit_test(test_row5_not_other_icmpv6),                     \
		cmocka_unit_test(test_row8_blocked),                              \
		cmocka_unit_test(test_tunnel_gone_stays_blocked),                 \
		cmocka_unit_test(test_second_tunnel),                             \
		cmocka_unit_test(test_row6_endpoint),                             \
		cmocka_unit_test(test_row7_lan),                                  \
		cmocka_unit_test(test_lockdown_without_tunnels),                  \
		cmocka_unit_test(test_row1_unmanaged_namespace),                  \
		cmocka_unit_test(test_counters_index),                            \
		cmocka_unit_test(test_rewrite_never_unmanaged),                   \
		cmocka_unit_test(test_policy_removed_passes),                     \
	}

int main(void)
{
	const struct CMUnitTest cookie[] = TABLE(cookie);
	const struct CMUnitTest kctx[] = TABLE(kctx);
	const struct CMUnitTest probe[] = TABLE(probe);
	int failed = 0;

	if (make_namespaces(NULL)) {
		fprintf(stderr, "cannot set up test namespaces\n");
		return 1;
	}
	printf("verdict table, variant cookie (bpf_get_netns_cookie)\n");
	failed += cmocka_run_group_tests_name("verdict/cookie", cookie, load_cookie, unload);
	printf("verdict table, variant kctx (bpf_cast_to_kern_ctx + CO-RE)\n");
	failed += cmocka_run_group_tests_name("verdict/kctx", kctx, load_kctx, unload);
	printf("verdict table, variant probe (CO-RE probe read)\n");
	failed += cmocka_run_group_tests_name("verdict/probe", probe, load_probe, unload);
	drop_namespaces(NULL);
	return failed ? 1 : 0;
}
