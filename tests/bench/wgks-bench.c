// SPDX-License-Identifier: GPL-2.0-only
/*
 * wgks-bench: the BPF side of `make bench` (tests/bench/bench.py drives it).
 *
 *   wgks-bench empty-attach CGROUP        load the empty program, attach it (multi), print its id
 *   wgks-bench empty-detach CGROUP ID     detach it again
 *   wgks-bench tc-empty-attach [--tcx] NETNS_FILE DEV...
 *                                         the empty tc program on each DEV's egress, in
 *                                         a clsact filter at the backstop's priority (the
 *                                         backstop's chain where it is on clsact, ahead of
 *                                         it); print its id. --tcx: attached with tcx
 *                                         (BPF_TCX_EGRESS), last of the chain
 *   wgks-bench tcx-list NETNS_FILE DEV    DEV's tcx egress chain: "ID NAME" lines
 *   wgks-bench tcx-detach NETNS_FILE DEV ID
 *                                         program ID off DEV's tcx egress chain
 *   wgks-bench stats ID... -- CMD...      run CMD with bpf_stats on; print each program's
 *                                         run_cnt and run_time_ns during CMD (one JSON line)
 *   wgks-bench fill CGROUP NETNS_FILE NS PREFIXES
 *                                         into the attached program's maps: NS-1 fake
 *                                         namespaces, PREFIXES allowed IPv4 prefixes of
 *                                         NETNS_FILE's namespace (owned by its slot 0)
 *   wgks-bench unfill CGROUP NETNS_FILE   remove what fill added
 *   wgks-bench testrun REPEAT ROUNDS      the isolated cost of every path through
 *                                         BPF_PROG_TEST_RUN, in namespaces of its own:
 *                                         the cgroup program's and the backstop's
 *   wgks-bench load-time                  what loading the kill switch costs a fresh
 *                                         process (as attach does), and how much of it
 *                                         is libbpf reading the kernel's BTF
 *
 * bpf_stats are switched on with BPF_ENABLE_STATS, which is what
 * kernel.bpf_stats_enabled=1 does, but held by a file descriptor: they go
 * off again when the command ends, however it ends.
 */
#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "empty.skel.h"
#include "backstop.h"
#include "devices.h"
#include "keys.h"
#include "log.h"
#include "netns.h"
#include "prefix.h"
#include "state.h"

/* Fake namespace cookies: far above any the kernel hands out (they count up from 1). */
#define FAKE_COOKIE_BASE 0x7767000000000000ULL
#define MAX_FAKE_NS (WGKS_MAX_NETNS - 1)
#define MAX_FAKE_PREFIXES 4096
#define TEST_FWMARK 0x10
/* The empty tc program's filter: the backstop's priority, another handle. */
#define BENCH_TC_HANDLE 0x776c
/* BPF_TCX_EGRESS (Linux 6.6): the build host's UAPI headers may not have it yet. */
#define BENCH_TCX_EGRESS ((enum bpf_attach_type)47)

/* ---- what fill adds ---- */

static uint64_t fake_cookie(int i)
{
	return FAKE_COOKIE_BASE + (uint64_t)i;
}

/* A protected namespace as attach would write it, with one made-up tunnel. */
static struct wgks_policy fake_policy(int i)
{
	/* Counters at the far end, away from the real namespaces' (the lowest free). */
	struct wgks_policy p = {
		.rules = { .ntunnels = 1, .counters = WGKS_MAX_NETNS - 1 - (uint32_t)i } };

	snprintf(p.rules.tunnels[0].name, sizeof(p.rules.tunnels[0].name), "fake%d", i);
	p.rules.tunnels[0].ifindex = 1000 + (uint32_t)i;
	p.rules.tunnels[0].fwmark = TEST_FWMARK + 1 + (uint32_t)i;
	return p;
}

/* First bytes fake prefixes never have: the benchmark's destinations and the LAN. */
static bool reserved_first_byte(uint32_t b)
{
	return b == 0 || b == 10 || b == 127 || b == 169 || b == 172 || b == 192 || b == 198 ||
	       b >= 224;
}

/*
 * N distinct unicast IPv4 prefixes, /8 to /32, deterministic, spread over
 * the address space but covering none of the benchmark's destinations.
 */
static int fake_prefixes(struct prefix *out, int n)
{
	uint32_t x = 0x9e3779b9;
	int got = 0;

	while (got < n) {
		struct prefix p = { .family = 4 };
		uint32_t a, mask;
		bool dup = false;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p.len = (uint8_t)(8 + x % 25);
		a = x * 2654435761u;
		if (reserved_first_byte(a >> 24))
			continue;
		mask = p.len == 32 ? ~0u : ~(~0u >> p.len);
		a = htonl(a & mask);
		memcpy(p.addr, &a, 4);
		for (int i = 0; i < got && !dup; i++)
			dup = out[i].len == p.len && !memcmp(out[i].addr, p.addr, 4);
		if (!dup)
			out[got++] = p;
	}
	return got;
}

static int add_fake_namespaces(int policy_fd, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t k = fake_cookie(i);
		struct wgks_policy p = fake_policy(i);

		if (bpf_map_update_elem(policy_fd, &k, &p, BPF_NOEXIST)) {
			err("fake namespace %d: %s", i, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void del_fake_namespaces(int policy_fd)
{
	for (int i = 0; i < MAX_FAKE_NS; i++) {
		uint64_t k = fake_cookie(i);

		bpf_map_delete_elem(policy_fd, &k);
	}
}

static int add_prefixes(int allow4_fd, uint64_t netns, int n)
{
	static struct prefix ps[MAX_FAKE_PREFIXES];
	struct wgks_owners owners = { .tunnels = 1 };
	unsigned char key[sizeof(struct wgks_allow6_key)];

	fake_prefixes(ps, n);
	for (int i = 0; i < n; i++) {
		allow_key(netns, &ps[i], key);
		if (bpf_map_update_elem(allow4_fd, key, &owners, BPF_NOEXIST)) {
			err("prefix %d: %s", i, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void del_prefixes(int allow4_fd, uint64_t netns)
{
	static struct prefix ps[MAX_FAKE_PREFIXES];
	unsigned char key[sizeof(struct wgks_allow6_key)];

	fake_prefixes(ps, MAX_FAKE_PREFIXES);
	for (int i = 0; i < MAX_FAKE_PREFIXES; i++) {
		allow_key(netns, &ps[i], key);
		bpf_map_delete_elem(allow4_fd, key);
	}
}

/* The cookie of the namespace bound at PATH (/run/netns/NAME). */
static int cookie_of(const char *path, uint64_t *cookie)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = -1;

	if (self < 0 || fd < 0) {
		err("%s: %s", path, strerror(errno));
		goto out;
	}
	if (setns(fd, CLONE_NEWNET)) {
		err("setns %s: %s", path, strerror(errno));
		goto out;
	}
	ret = netns_current_id(cookie);
	if (setns(self, CLONE_NEWNET)) {
		err("setns back: %s", strerror(errno));
		ret = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	if (self >= 0)
		close(self);
	return ret;
}

/* The attached kill switch's maps. 0, or -1 after err(). */
static int find_attached(const char *cgroup, struct ks_state *st)
{
	int cg = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int found;

	if (cg < 0) {
		err("%s: %s", cgroup, strerror(errno));
		return -1;
	}
	found = ks_find(st, cg);
	close(cg);
	if (found == 0)
		err("no wgks program attached to %s", cgroup);
	return found == 1 ? 0 : -1;
}

static int cmd_fill(int argc, char **argv)
{
	struct ks_state st = KS_STATE_INIT;
	uint64_t netns;
	int ns, prefixes, ret = 1;

	if (argc != 4)
		return 2;
	ns = atoi(argv[2]);
	prefixes = atoi(argv[3]);
	if (ns < 1 || ns > WGKS_MAX_NETNS || prefixes < 0 || prefixes > MAX_FAKE_PREFIXES)
		return 2;
	if (cookie_of(argv[1], &netns) || find_attached(argv[0], &st))
		goto out;
	if (add_fake_namespaces(st.maps.policy, ns - 1) ||
	    add_prefixes(st.maps.allow4, netns, prefixes))
		goto out;
	ret = 0;
out:
	ks_close(&st);
	return ret;
}

static int cmd_unfill(int argc, char **argv)
{
	struct ks_state st = KS_STATE_INIT;
	uint64_t netns;
	int ret = 1;

	if (argc != 2)
		return 2;
	if (cookie_of(argv[1], &netns) || find_attached(argv[0], &st))
		goto out;
	del_fake_namespaces(st.maps.policy);
	del_prefixes(st.maps.allow4, netns);
	ret = 0;
out:
	ks_close(&st);
	return ret;
}

/* ---- the empty program ---- */

static int cmd_empty_attach(int argc, char **argv)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	struct empty_bpf *skel = NULL;
	int cg = -1, ret = 1;

	if (argc != 1)
		return 2;
	cg = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		err("%s: %s", argv[0], strerror(errno));
		goto out;
	}
	skel = empty_bpf__open_and_load();
	if (!skel) {
		err("cannot load the empty program: %s", strerror(errno));
		goto out;
	}
	if (bpf_prog_attach(bpf_program__fd(skel->progs.wgksbench_empty), cg,
			    BPF_CGROUP_INET_EGRESS, BPF_F_ALLOW_MULTI)) {
		err("cannot attach the empty program: %s", strerror(errno));
		goto out;
	}
	/* The cgroup holds it from here on, until empty-detach. */
	bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.wgksbench_empty), &info, &len);
	printf("%u\n", info.id);
	ret = 0;
out:
	empty_bpf__destroy(skel);
	if (cg >= 0)
		close(cg);
	return ret;
}

static int cmd_empty_detach(int argc, char **argv)
{
	int cg = -1, fd = -1, ret = 1;

	if (argc != 2)
		return 2;
	cg = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = bpf_prog_get_fd_by_id((uint32_t)strtoul(argv[1], NULL, 10));
	if (cg < 0 || fd < 0) {
		err("%s, program %s: %s", argv[0], argv[1], strerror(errno));
		goto out;
	}
	if (bpf_prog_detach2(fd, cg, BPF_CGROUP_INET_EGRESS)) {
		err("cannot detach program %s: %s", argv[1], strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (cg >= 0)
		close(cg);
	return ret;
}

/*
 * The empty tc program on each DEV's egress in the namespace of
 * NETNS_FILE, as the backstop is attached where the kernel has no tcx
 * (clsact, cls_bpf direct-action, priority WGKS_TC_PRIO) with a handle of
 * its own: added after a backstop's filter, it runs before it
 * (empty.bpf.c); after a backstop on tcx, after it. --tcx: on the tcx
 * chain, last (after the backstop, which stays first). The filters, or the
 * device, hold it; removing them (tc filter del ... handle 0x776c,
 * tcx-detach) or the namespace frees it.
 */
static int cmd_tc_empty_attach(int argc, char **argv)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	struct empty_bpf *skel = NULL;
	int self = -1, nsfd = -1, ret = 1;
	bool tcx = argc > 0 && !strcmp(argv[0], "--tcx");

	if (tcx) {
		argc--;
		argv++;
	}
	if (argc < 2)
		return 2;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	nsfd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (self < 0 || nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
		err("%s: %s", argv[0], strerror(errno));
		goto out;
	}
	skel = empty_bpf__open_and_load();
	if (!skel) {
		err("cannot load the empty programs: %s", strerror(errno));
		goto out;
	}
	for (int i = 1; i < argc; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)if_nametoindex(argv[i]),
			    .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BENCH_TC_HANDLE, .priority = WGKS_TC_PRIO,
			    .prog_fd = bpf_program__fd(skel->progs.wgksbench_tc));
		int e;

		if (!hook.ifindex) {
			err("%s: no such device", argv[i]);
			goto out;
		}
		if (tcx) {
			/* Held by the device (no link) until detached or the device goes. */
			if (bpf_prog_attach_opts(opts.prog_fd, hook.ifindex, BENCH_TCX_EGRESS, NULL)) {
				err("%s: cannot attach the empty tc program with tcx: %s", argv[i],
				    strerror(errno));
				goto out;
			}
			continue;
		}
		e = bpf_tc_hook_create(&hook);
		if (e && e != -EEXIST) {
			err("%s: clsact: %s", argv[i], strerror(-e));
			goto out;
		}
		e = bpf_tc_attach(&hook, &opts);
		if (e) {
			err("%s: cannot attach the empty tc program: %s", argv[i], strerror(-e));
			goto out;
		}
	}
	bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.wgksbench_tc), &info, &len);
	printf("%u\n", info.id);
	ret = 0;
out:
	empty_bpf__destroy(skel);
	if (self >= 0 && setns(self, CLONE_NEWNET))
		ret = 1;
	if (self >= 0)
		close(self);
	if (nsfd >= 0)
		close(nsfd);
	return ret;
}

/*
 * In NETNS_FILE's namespace (this process stays there: it is a one-shot
 * command), DEV's ifindex. 0, or -1 after err().
 */
static int enter_dev(const char *netns_file, const char *dev, int *ifindex)
{
	int nsfd = open(netns_file, O_RDONLY | O_CLOEXEC), r = -1;

	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
		err("%s: %s", netns_file, strerror(errno));
	} else {
		*ifindex = (int)if_nametoindex(dev);
		r = *ifindex ? 0 : -1;
		if (r)
			err("%s: no such device", dev);
	}
	if (nsfd >= 0)
		close(nsfd);
	return r;
}

/*
 * The programs on DEV's tcx egress chain, in the order they run: "ID NAME"
 * a line (Debian 12's bpftool shows no tcx). Exit 3 if the kernel has none.
 */
static int cmd_tcx_list(int argc, char **argv)
{
	uint32_t ids[64], cnt = 64, flags = 0;
	int ifindex;

	if (argc != 2)
		return 2;
	if (enter_dev(argv[0], argv[1], &ifindex))
		return 1;
	if (bpf_prog_query(ifindex, BENCH_TCX_EGRESS, 0, &flags, ids, &cnt))
		return errno == ENOENT ? 0 : errno == EINVAL ? 3 : 1;
	for (uint32_t i = 0; i < cnt && i < 64; i++) {
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			printf("%u %s\n", ids[i], info.name);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

/* Program ID off DEV's tcx egress chain (wgks-bpf without its backstop, side by side). */
static int cmd_tcx_detach(int argc, char **argv)
{
	int ifindex, fd, ret = 1;

	if (argc != 3)
		return 2;
	if (enter_dev(argv[0], argv[1], &ifindex))
		return 1;
	fd = bpf_prog_get_fd_by_id((uint32_t)strtoul(argv[2], NULL, 10));
	if (fd < 0 || bpf_prog_detach2(fd, ifindex, BENCH_TCX_EGRESS))
		err("%s: cannot detach program %s from tcx: %s", argv[1], argv[2], strerror(errno));
	else
		ret = 0;
	if (fd >= 0)
		close(fd);
	return ret;
}

/* ---- in-situ cost: bpf_stats around a command ---- */

#define MAX_STAT_PROGS 8

struct prog_stats {
	uint32_t id;
	int fd;
	uint64_t cnt, ns;
};

static int read_stats(struct prog_stats *p)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(p->fd, &info, &len))
		return -1;
	p->cnt = info.run_cnt;
	p->ns = info.run_time_ns;
	return 0;
}

static int cmd_stats(int argc, char **argv)
{
	struct prog_stats before[MAX_STAT_PROGS], after[MAX_STAT_PROGS];
	int n = 0, stats_fd = -1, status = 0, ret = 1;
	pid_t pid;

	for (; n < argc && strcmp(argv[n], "--"); n++) {
		if (n == MAX_STAT_PROGS)
			return 2;
		before[n].id = (uint32_t)strtoul(argv[n], NULL, 10);
		before[n].fd = bpf_prog_get_fd_by_id(before[n].id);
		if (before[n].fd < 0) {
			err("program %u: %s", before[n].id, strerror(errno));
			goto out;
		}
	}
	if (n >= argc - 1)
		return 2;
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		err("cannot enable bpf_stats: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < n; i++)
		read_stats(&before[i]);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execvp(argv[n + 1], &argv[n + 1]);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		err("cannot run %s: %s", argv[n + 1], strerror(errno));
		goto out;
	}
	for (int i = 0; i < n; i++) {
		after[i] = before[i];
		read_stats(&after[i]);
	}
	printf("{\"rc\": %d, \"progs\": {", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	for (int i = 0; i < n; i++)
		printf("%s\"%u\": {\"run_cnt\": %llu, \"run_time_ns\": %llu}", i ? ", " : "",
		       before[i].id, (unsigned long long)(after[i].cnt - before[i].cnt),
		       (unsigned long long)(after[i].ns - before[i].ns));
	printf("}}\n");
	ret = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
out:
	if (stats_fd >= 0)
		close(stats_fd);
	for (int i = 0; i < n; i++)
		close(before[i].fd);
	return ret;
}

/* ---- isolated cost: BPF_PROG_TEST_RUN ---- */

struct pkt {
	unsigned char b[ETH_HLEN + 20 + 8 + 64];
};

/* Ethernet, IPv4, UDP to DST:9 and 64 bytes of payload: what udpflood sends. */
static struct pkt udp4(const char *dst)
{
	struct pkt p;
	unsigned char *ip = p.b + ETH_HLEN;

	memset(&p, 0, sizeof(p));
	p.b[12] = ETH_P_IP >> 8;
	p.b[13] = ETH_P_IP & 0xff;
	ip[0] = 0x45;
	ip[2] = (20 + 8 + 64) >> 8;
	ip[3] = (20 + 8 + 64) & 0xff;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	inet_pton(AF_INET, "10.201.2.1", ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	ip[20] = 0x9c;
	ip[21] = 0x40; /* sport 40000 */
	ip[23] = 9;    /* dport 9 */
	ip[25] = 8 + 64;
	return p;
}

enum dev { DEV_TUN, DEV_PHY, DEV_LO };

struct path {
	const char *name;
	const char *dst;
	enum dev dev;
	uint32_t mark;
	bool unmanaged;
	bool needs_allow; /* only with allowed prefixes */
	bool forwarded;   /* came in by ctr0 (ingress_ifindex) */
};

/*
 * The cgroup program's paths: a socket's packets. Not fwmark: row 3 reads
 * the socket's own mark, and the socket BPF_PROG_TEST_RUN makes up has
 * none (the packet's mark in the context is not the socket's).
 */
static const struct path paths[] = {
	{ "tunnel", "10.201.1.2", DEV_TUN, 0, false, false, false },
	{ "local", "127.0.0.1", DEV_LO, 0, false, false, false },
	{ "blocked", "198.18.0.2", DEV_PHY, 0, false, false, false },
	{ "unmanaged", "198.18.0.2", DEV_PHY, 0, true, false, false },
	{ "lan", "192.168.77.2", DEV_PHY, 0, false, true, false },
};

#define NPATHS (sizeof(paths) / sizeof(paths[0]))

/*
 * The backstop's full table, at eth0's egress: packets no socket hook
 * judged. A judged packet (WGKS_JUDGED_MARK) cannot be timed here: the
 * program clears the bit, and the repeats run on the same packet.
 */
static const struct path tc_paths[] = {
	/* Forwarded for a container, off the tunnel: dropped (row 8, "forward"). */
	{ "fwd-blocked", "198.18.0.2", DEV_PHY, 0, false, false, true },
	/* The tunnel's fwmark on a packet no socket hook saw, as the kernel's WireGuard's. */
	{ "fwd-fwmark", "198.18.0.3", DEV_PHY, TEST_FWMARK, false, false, true },
	{ "fwd-lan", "192.168.77.2", DEV_PHY, 0, false, true, true },
};

#define NTC_PATHS (sizeof(tc_paths) / sizeof(tc_paths[0]))

struct config {
	const char *name;
	int namespaces;
	bool allow_lan;
	int prefixes;
};

static const struct config configs[] = {
	{ "1 namespace", 1, false, 0 },
	{ "16 namespaces", 16, false, 0 },
	{ "256 namespaces", 256, false, 0 },
	{ "allow-LAN", 1, true, 0 },
	{ "allow-LAN + 1000 prefixes", 1, true, 1000 },
};

#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

struct bench_env {
	int ns_managed, ns_other;
	uint32_t tun_ifindex, phy_ifindex, ctr_ifindex;
	uint64_t netns;
	uint32_t counters; /* its index in wgks_stats */
	struct ks_state st;
	struct empty_bpf *empty;
};

static int sh(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * A managed namespace with a tunnel (tun0, a tun device), a "physical"
 * link (eth0, a veth) and a link to a container (ctr0, a veth: where
 * forwarded packets come in); and another namespace.
 */
static int make_namespaces(struct bench_env *e)
{
	if (unshare(CLONE_NEWNET) || sh("ip link set lo up") ||
	    sh("ip tuntap add tun0 mode tun") ||
	    sh("ip link add eth0 type veth peer name eth0p") ||
	    sh("ip link add ctr0 type veth peer name ctr0p") ||
	    sh("ip link set tun0 up && ip link set eth0 up && ip link set ctr0 up")) {
		err("cannot set up the test namespaces");
		return -1;
	}
	e->tun_ifindex = if_nametoindex("tun0");
	e->phy_ifindex = if_nametoindex("eth0");
	e->ctr_ifindex = if_nametoindex("ctr0");
	e->ns_managed = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (unshare(CLONE_NEWNET))
		return -1;
	e->ns_other = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return setns(e->ns_managed, CLONE_NEWNET);
}

static uint32_t ifindex_of(const struct bench_env *e, enum dev d)
{
	return d == DEV_TUN ? e->tun_ifindex : d == DEV_PHY ? e->phy_ifindex : 1;
}

/* Average ns of one run of PROG_FD on P, REPEAT times in the kernel. */
static double run_ns(int prog_fd, const struct pkt *p, uint32_t ifindex, uint32_t mark,
		     uint32_t ingress_ifindex, int repeat)
{
	struct __sk_buff ctx = { .ifindex = ifindex, .mark = mark,
				 .ingress_ifindex = ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = sizeof(p->b),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -1;
	return (double)opts.duration;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The policy of the managed namespace for config C. */
static int set_config(struct bench_env *e, const struct config *c)
{
	struct wgks_policy pol = { .rules = { .ntunnels = 1,
					      .flags = c->allow_lan ? WGKS_F_ALLOW : 0,
					      .counters = e->counters } };
	struct wgks_owners owners = { .tunnels = 1 };
	unsigned char key[sizeof(struct wgks_allow6_key)];
	struct prefix lan;

	del_fake_namespaces(e->st.maps.policy);
	del_prefixes(e->st.maps.allow4, e->netns);
	for (int i = 0; lan_prefixes[i]; i++) {
		parse_prefix(lan_prefixes[i], &lan);
		allow_key(e->netns, &lan, key);
		bpf_map_delete_elem(lan.family == 4 ? e->st.maps.allow4 : e->st.maps.allow6, key);
		if (c->allow_lan &&
		    bpf_map_update_elem(lan.family == 4 ? e->st.maps.allow4 : e->st.maps.allow6, key,
					&owners, BPF_ANY))
			return -1;
	}
	snprintf(pol.rules.tunnels[0].name, sizeof(pol.rules.tunnels[0].name), "tun0");
	pol.rules.tunnels[0].ifindex = e->tun_ifindex;
	pol.rules.tunnels[0].fwmark = TEST_FWMARK;
	/* As attach writes a tun device with --fwmark: not WireGuard, the mark alone passes. */
	pol.rules.tunnels[0].flags = WGKS_T_TRUST_MARK;
	/* Row 2's proof that tun0 is the tunnel. */
	if (devices_set(&e->st.maps, e->counters, 0, e->tun_ifindex) ||
	    bpf_map_update_elem(e->st.maps.policy, &e->netns, &pol, BPF_ANY))
		return -1;
	return add_fake_namespaces(e->st.maps.policy, c->namespaces - 1) ||
	       add_prefixes(e->st.maps.allow4, e->netns, c->prefixes);
}

/* One path: median ns of ROUNDS runs, each REPEAT times. */
static double measure(struct bench_env *e, int prog_fd, const struct path *p, int repeat,
		      int rounds)
{
	struct pkt pk = udp4(p->dst);
	double v[64];

	if (p->unmanaged && setns(e->ns_other, CLONE_NEWNET))
		return -1;
	/* The other namespace has only lo: the program does not look at it there. */
	for (int r = 0; r < rounds; r++)
		v[r] = run_ns(prog_fd, &pk, p->unmanaged ? 1 : ifindex_of(e, p->dev), p->mark,
			      p->forwarded ? e->ctr_ifindex : 0, repeat);
	if (p->unmanaged && setns(e->ns_managed, CLONE_NEWNET))
		return -1;
	return median(v, rounds);
}

static int cmd_testrun(int argc, char **argv)
{
	struct bench_env e = { .ns_managed = -1, .ns_other = -1, .st = KS_STATE_INIT };
	int repeat, rounds, empty_fd, empty_tc_fd, ret = 1;

	if (argc != 2)
		return 2;
	repeat = atoi(argv[0]);
	rounds = atoi(argv[1]);
	if (repeat < 1 || rounds < 1 || rounds > 64)
		return 2;
	if (make_namespaces(&e) || ks_load(&e.st) || netns_current_id(&e.netns) ||
	    ks_counters_index(&e.st.maps, e.netns, &e.counters) < 0)
		goto out;
	e.empty = empty_bpf__open_and_load();
	if (!e.empty) {
		err("cannot load the empty program: %s", strerror(errno));
		goto out;
	}
	empty_fd = bpf_program__fd(e.empty->progs.wgksbench_empty);
	empty_tc_fd = bpf_program__fd(e.empty->progs.wgksbench_tc);
	printf("{\"variant\": \"%s\", \"program\": \"%s\", \"repeat\": %d, \"rounds\": %d, "
	       "\"configs\": [",
	       e.st.variant->name, ks_prog_name(&e.st), repeat, rounds);
	for (size_t c = 0; c < NCONFIGS; c++) {
		if (set_config(&e, &configs[c])) {
			err("cannot set up \"%s\": %s", configs[c].name, strerror(errno));
			goto out;
		}
		printf("%s{\"config\": \"%s\", \"namespaces\": %d, \"allow_lan\": %s, "
		       "\"prefixes\": %d, \"paths\": {",
		       c ? ", " : "", configs[c].name, configs[c].namespaces,
		       configs[c].allow_lan ? "true" : "false", configs[c].prefixes);
		for (size_t i = 0, shown = 0; i < NPATHS; i++) {
			const struct path *p = &paths[i];
			double empty, wgks;

			if (p->needs_allow && !configs[c].allow_lan)
				continue;
			/* The two interleaved, so that drifts hit both alike. */
			empty = measure(&e, empty_fd, p, repeat, rounds);
			wgks = measure(&e, e.st.egress_fd, p, repeat, rounds);
			if (empty < 0 || wgks < 0) {
				err("BPF_PROG_TEST_RUN failed: %s", strerror(errno));
				goto out;
			}
			printf("%s\"%s\": {\"empty_ns\": %.1f, \"wgks_ns\": %.1f}", shown++ ? ", " : "",
			       p->name, empty, wgks);
		}
		printf("}, \"tc_paths\": {");
		for (size_t i = 0, shown = 0; i < NTC_PATHS; i++) {
			const struct path *p = &tc_paths[i];
			double empty, wgks;

			if (p->needs_allow && !configs[c].allow_lan)
				continue;
			empty = measure(&e, empty_tc_fd, p, repeat, rounds);
			wgks = measure(&e, e.st.backstop_fd, p, repeat, rounds);
			if (empty < 0 || wgks < 0) {
				err("BPF_PROG_TEST_RUN (tc) failed: %s", strerror(errno));
				goto out;
			}
			printf("%s\"%s\": {\"empty_ns\": %.1f, \"wgks_ns\": %.1f}", shown++ ? ", " : "",
			       p->name, empty, wgks);
		}
		printf("}}");
		fflush(stdout);
	}
	printf("]}\n");
	ret = 0;
out:
	empty_bpf__destroy(e.empty);
	ks_close(&e.st);
	if (e.ns_managed >= 0)
		close(e.ns_managed);
	if (e.ns_other >= 0)
		close(e.ns_other);
	return ret;
}

/* ---- where attach's time goes ---- */

static double load_start, btf_done;

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* libbpf says when it has read the kernel's BTF (debug level): note the time. */
static int time_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)ap;
	if (!btf_done && strstr(fmt, "loading kernel BTF"))
		btf_done = mono_ms();
	return 0;
}

static int cmd_load_time(int argc, char **argv)
{
	struct ks_state st = KS_STATE_INIT;
	double end;
	int r;

	(void)argv;
	if (argc != 0)
		return 2;
	libbpf_set_print(time_libbpf);
	load_start = mono_ms();
	r = ks_load(&st);
	end = mono_ms();
	if (r)
		return 1;
	/* kernel_btf_ms: -1 when libbpf never read the kernel's BTF (the minimal one served). */
	printf("{\"load_ms\": %.2f, \"kernel_btf_ms\": %.2f, \"minimal_btf\": %s}\n",
	       end - load_start, btf_done ? btf_done - load_start : -1.0,
	       st.core_btf_min ? "true" : "false");
	ks_close(&st);
	return 0;
}

/* ---- dispatch ---- */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
} commands[] = {
	{ "empty-attach", cmd_empty_attach, "CGROUP" },
	{ "empty-detach", cmd_empty_detach, "CGROUP ID" },
	{ "tc-empty-attach", cmd_tc_empty_attach, "[--tcx] NETNS_FILE DEV..." },
	{ "tcx-list", cmd_tcx_list, "NETNS_FILE DEV" },
	{ "tcx-detach", cmd_tcx_detach, "NETNS_FILE DEV ID" },
	{ "stats", cmd_stats, "ID... -- CMD..." },
	{ "fill", cmd_fill, "CGROUP NETNS_FILE NAMESPACES PREFIXES" },
	{ "unfill", cmd_unfill, "CGROUP NETNS_FILE" },
	{ "testrun", cmd_testrun, "REPEAT ROUNDS" },
	{ "load-time", cmd_load_time, "" },
};

int main(int argc, char **argv)
{
	log_setup_libbpf();
	for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++) {
		int ret;

		if (strcmp(argv[1], commands[i].name))
			continue;
		ret = commands[i].fn(argc - 2, argv + 2);
		if (ret == 2)
			fprintf(stderr, "Usage: wgks-bench %s %s\n", commands[i].name,
				commands[i].args);
		return ret;
	}
	fprintf(stderr, "Usage: wgks-bench COMMAND ARGS (see the top of tests/bench/wgks-bench.c)\n");
	return 2;
}
