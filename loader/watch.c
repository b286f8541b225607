// SPDX-License-Identifier: GPL-2.0-only
/*
 * watch [--json]: one line per blocked packet, from the program's ring
 * buffer. The program only sends events while someone watches: this keeps
 * a deadline a few seconds ahead in wgks_watch, so a watcher that dies
 * stops the flow by itself. Events are rate-limited in the program (per
 * namespace and CPU); each says how many were held back before it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "context.h"
#include "json.h"
#include "log.h"
#include "oldmaps.h"
#include "opts.h"
#include "subcommands.h"

#define HEARTBEAT_MS 1000
#define DEADLINE_NS (3 * 1000000000ull)

static volatile sig_atomic_t stop;

/* Cgroup paths seen lately: a walk of the cgroup tree per event would be dear. */
#define PATH_CACHE 16

struct cached_path {
	uint64_t id;
	char path[512];
};

struct watcher {
	struct cached_path cache[PATH_CACHE];
	unsigned next_slot;
	bool json;
	uint64_t netns;        /* ours: device names resolve only here */
	int64_t realtime_skew; /* CLOCK_REALTIME - CLOCK_MONOTONIC, in ns */
	int cgroup_fd;
	unsigned long events;
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int set_deadline(int watch_fd, uint64_t deadline)
{
	struct wgks_watch w = { .deadline_ns = deadline };
	uint32_t zero = 0;

	return bpf_map_update_elem(watch_fd, &zero, &w, BPF_ANY);
}

static const char *cgroup_path(struct watcher *w, uint64_t id)
{
	struct cached_path *slot;

	for (unsigned i = 0; i < PATH_CACHE; i++) {
		if (w->cache[i].id == id && w->cache[i].path[0])
			return w->cache[i].path;
	}
	slot = &w->cache[w->next_slot++ % PATH_CACHE];
	slot->id = id;
	if (cgroup_path_of_id(w->cgroup_fd, id, slot->path, sizeof(slot->path)))
		snprintf(slot->path, sizeof(slot->path), "cgroup-id:%" PRIu64, id);
	return slot->path;
}

static const char *proto_name(uint8_t proto, char *buf, size_t size)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	}
	snprintf(buf, size, "proto-%u", proto);
	return buf;
}

/* Device IFINDEX of the event's namespace, by name if it is ours ("ifN" if not). */
static void device_name(const struct watcher *w, const struct wgks_event *e, uint32_t ifindex,
			char dev[IF_NAMESIZE])
{
	if (e->netns != w->netns || !if_indextoname(ifindex, dev))
		snprintf(dev, IF_NAMESIZE, "if%u", ifindex);
}

/* Who sent it, as watch says: a socket's packet, or the backstop's kinds. */
static const char *reason_name(uint8_t reason)
{
	return reason == WGKS_REASON_FORWARD ? "forward" :
	       reason == WGKS_REASON_KERNEL  ? "kernel"  : "blocked";
}

/*
 * "time netns uid cgroup proto src -> dst dev" (a socket's packet), with
 * "forwarded from DEV" or "kernel" in place of uid and cgroup for what the
 * backstop blocked; or the same as JSON.
 */
static int print_event(void *arg, void *data, size_t size)
{
	struct watcher *w = arg;
	const struct wgks_event *e = data;
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?", when[64], pbuf[16];
	char dev[IF_NAMESIZE] = "", in[IF_NAMESIZE] = "";
	bool no_owner = e->reason == WGKS_REASON_FORWARD || e->reason == WGKS_REASON_KERNEL;
	const char *cg = no_owner ? "" : cgroup_path(w, e->cgroup_id);
	int af = e->family == 6 ? AF_INET6 : AF_INET;
	uint64_t wall = e->time_ns + (uint64_t)w->realtime_skew;
	time_t secs = (time_t)(wall / 1000000000ull);
	struct passwd *pw;
	struct tm tm;

	if (size < sizeof(*e))
		return 0;
	if (e->family) {
		inet_ntop(af, e->saddr, src, sizeof(src));
		inet_ntop(af, e->daddr, dst, sizeof(dst));
	}
	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	device_name(w, e, e->ifindex, dev);
	if (e->ingress_ifindex)
		device_name(w, e, e->ingress_ifindex, in);
	pw = getpwuid(e->uid);
	if (w->json) {
		printf("{\"time\":\"%s.%03u\",\"netns\":%" PRIu64 ",\"uid\":", when,
		       (unsigned)(wall / 1000000 % 1000), (uint64_t)e->netns);
		/*
		 * What the backstop blocked came from no socket of a process
		 * (the kernel's, or forwarded): no uid, user or cgroup, rather
		 * than the overflow uid and the root cgroup the helpers answer.
		 */
		if (no_owner) {
			printf("null,\"user\":null,\"cgroup\":null");
		} else {
			/* Names come from others (a cgroup in a delegated subtree): all escaped. */
			printf("%u,\"user\":", e->uid);
			json_string(stdout, pw ? pw->pw_name : "");
			printf(",\"cgroup\":");
			json_string(stdout, cg);
		}
		printf(",\"proto\":\"%s\",\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,"
		       "\"device\":", proto_name(e->proto, pbuf, sizeof(pbuf)), src, ntohs(e->sport), dst,
		       ntohs(e->dport));
		json_string(stdout, dev);
		printf(",\"reason\":\"%s\",\"ingress\":", reason_name(e->reason));
		if (e->ingress_ifindex)
			json_string(stdout, in);
		else
			printf("null");
		printf(",\"len\":%u,\"suppressed\":%" PRIu64 "}\n", e->len, (uint64_t)e->suppressed);
	} else {
		char user[64], cgtext[512], devtext[64], who[600];

		if (e->suppressed)
			printf("... %" PRIu64 " more blocked in netns %" PRIu64 " (rate limit)\n",
			       (uint64_t)e->suppressed, (uint64_t)e->netns);
		if (e->reason == WGKS_REASON_FORWARD)
			snprintf(who, sizeof(who), "forwarded from %s",
				 text_safe(in, devtext, sizeof(devtext)));
		else if (e->reason == WGKS_REASON_KERNEL)
			snprintf(who, sizeof(who), "kernel");
		else
			snprintf(who, sizeof(who), "uid %u(%s) %s", e->uid,
				 text_safe(pw ? pw->pw_name : "?", user, sizeof(user)),
				 text_safe(cg, cgtext, sizeof(cgtext)));
		printf("%s.%03u netns %" PRIu64 " %s %s %s%s%s:%u -> %s%s%s:%u dev %s\n",
		       when, (unsigned)(wall / 1000000 % 1000), (uint64_t)e->netns, who,
		       proto_name(e->proto, pbuf, sizeof(pbuf)),
		       af == AF_INET6 ? "[" : "", src, af == AF_INET6 ? "]" : "", ntohs(e->sport),
		       af == AF_INET6 ? "[" : "", dst, af == AF_INET6 ? "]" : "", ntohs(e->dport),
		       text_safe(dev, devtext, sizeof(devtext)));
	}
	fflush(stdout);
	w->events++;
	return 0;
}

static int watch_loop(struct ks_ctx *c, struct watcher *w)
{
	struct ring_buffer *rb = ring_buffer__new(c->st.maps.events, print_event, w, NULL);
	int ret = 0;

	if (!rb) {
		err("cannot read the event ring buffer: %s", strerror(errno));
		return -1;
	}
	while (!stop) {
		int n;

		if (set_deadline(c->st.maps.watch, clock_ns(CLOCK_MONOTONIC) + DEADLINE_NS)) {
			err("cannot announce the watcher: %s", strerror(errno));
			ret = -1;
			break;
		}
		n = ring_buffer__poll(rb, HEARTBEAT_MS);
		if (n < 0 && n != -EINTR) {
			err("cannot read events: %s", strerror(-n));
			ret = -1;
			break;
		}
	}
	/* Stop the flow now rather than in a few seconds. */
	set_deadline(c->st.maps.watch, 0);
	ring_buffer__free(rb);
	return ret;
}

int watch_main(int argc, char **argv)
{
	struct watcher w = { 0 };
	struct status_opts o;
	struct sigaction sa = { .sa_handler = on_signal };
	struct ks_ctx c = KS_CTX_INIT;
	int ret = 1;

	if (parse_status_args(argc, argv, &o))
		return 2;
	/* No lock: watching runs for long and changes nothing but its deadline. */
	if (ctx_check() || ctx_open(&c, o.cgroup, CTX_READ))
		goto out;
	if (!c.found) {
		err("not attached: nothing to watch");
		goto out;
	}
	/* Its events may be laid out otherwise: take it over first (any command that changes). */
	if (c.st.old) {
		err("program %s (id %u) was attached by another version of wgks-bpf (%s): `wgks-bpf "
		    "sync` takes it over, then watch", ks_prog_name(&c.st), c.st.egress_id,
		    c.st.old->differs);
		goto out;
	}
	w.netns = c.netns;
	w.json = o.json;
	w.cgroup_fd = c.cgroup_fd;
	w.realtime_skew = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!o.json)
		info("watching blocked packets (Ctrl-C to stop)");
	if (watch_loop(&c, &w) == 0)
		ret = 0;
out:
	ctx_close(&c);
	return ret;
}
