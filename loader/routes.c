// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "log.h"
#include "nldump.h"
#include "routes.h"

static void add_way(struct ways_out *w, uint32_t ifindex)
{
	for (int i = 0; i < w->n; i++) {
		if (w->ifindex[i] == ifindex)
			return;
	}
	if (w->n == ROUTES_MAX_WAYS_OUT)
		w->unknown = true; /* too many to tell: assume any device */
	else
		w->ifindex[w->n++] = ifindex;
}

/* The hops of a multipath route: each one with a gateway leads out. */
static void parse_multipath(struct ways_out *w, const struct rtattr *rta, bool by_default)
{
	const struct rtnexthop *nh = RTA_DATA(rta);
	int len = (int)RTA_PAYLOAD(rta);

	while (len >= (int)sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) && nh->rtnh_len <= len) {
		bool gateway = false;
		int alen = nh->rtnh_len - (int)sizeof(*nh);

		for (const struct rtattr *a = RTNH_DATA(nh); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
			gateway |= a->rta_type == RTA_GATEWAY || a->rta_type == RTA_VIA;
		if (gateway || by_default)
			add_way(w, (uint32_t)nh->rtnh_ifindex);
		len -= RTNH_ALIGN(nh->rtnh_len);
		nh = RTNH_NEXT(nh);
	}
}

/* One RTM_NEWROUTE: a unicast route to a gateway, or a default route, leads out. */
static void parse_route(struct ways_out *w, const struct nlmsghdr *nh)
{
	const struct rtmsg *rtm = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rtm));
	bool gateway = false, by_default = rtm->rtm_dst_len == 0;
	uint32_t oif = 0;

	if (len < 0 || rtm->rtm_type != RTN_UNICAST)
		return;
	for (const struct rtattr *rta = RTM_RTA(rtm); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		switch (rta->rta_type) {
		case RTA_OIF:
			if (RTA_PAYLOAD(rta) >= sizeof(oif))
				memcpy(&oif, RTA_DATA(rta), sizeof(oif));
			break;
		case RTA_GATEWAY:
		case RTA_VIA:
			gateway = true;
			break;
		case RTA_MULTIPATH:
			parse_multipath(w, rta, by_default);
			break;
		case RTA_NH_ID:
			w->unknown = true;
			break;
		}
	}
	if (oif && (gateway || by_default))
		add_way(w, oif);
}

static int add_route(const struct nlmsghdr *nh, void *arg)
{
	if (nh->nlmsg_type == RTM_NEWROUTE)
		parse_route(arg, nh);
	return 0;
}

int routes_ways_out(struct ways_out *w)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rtm;
	} req = { .nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETROUTE,
			  .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		  .rtm = { .rtm_family = AF_UNSPEC } };
	int fd, e = -1;

	memset(w, 0, sizeof(*w));
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd >= 0) {
		e = nl_dump(fd, &req, sizeof(req), add_route, w);
		close(fd);
	}
	if (e) {
		err("cannot list this namespace's routes: %s", strerror(errno));
		return -1;
	}
	return 0;
}

bool routes_lead_out(const struct ways_out *w, uint32_t ifindex)
{
	if (w->unknown)
		return true;
	for (int i = 0; i < w->n; i++) {
		if (w->ifindex[i] == ifindex)
			return true;
	}
	return false;
}
