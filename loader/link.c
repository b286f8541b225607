// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "link.h"
#include "log.h"
#include "nldump.h"

/* One RTM_NEWLINK answer, attributes and statistics included. */
#define NL_BUF 8192

/* Copy a string attribute, cut to SIZE - 1. */
static void attr_string(const struct rtattr *rta, char *out, size_t size)
{
	size_t len = RTA_PAYLOAD(rta);

	if (len >= size)
		len = size - 1;
	memcpy(out, RTA_DATA(rta), len);
	out[len] = '\0';
}

/* Fill LI from one RTM_NEWLINK message. */
static void parse_link(const struct nlmsghdr *nh, struct link_info *li)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));

	memset(li, 0, sizeof(*li));
	li->ifindex = (uint32_t)ifi->ifi_index;
	li->type = ifi->ifi_type;
	for (const struct rtattr *rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFLA_IFNAME) {
			attr_string(rta, li->name, sizeof(li->name));
		} else if (rta->rta_type == IFLA_MASTER && RTA_PAYLOAD(rta) >= sizeof(__u32)) {
			memcpy(&li->master, RTA_DATA(rta), sizeof(li->master));
		} else if (rta->rta_type == IFLA_LINK && RTA_PAYLOAD(rta) >= sizeof(__u32)) {
			memcpy(&li->lower, RTA_DATA(rta), sizeof(li->lower));
		} else if (rta->rta_type == IFLA_LINK_NETNSID) {
			li->lower_elsewhere = true;
		} else if (rta->rta_type == IFLA_LINKINFO) {
			int ilen = (int)RTA_PAYLOAD(rta);

			for (const struct rtattr *in = RTA_DATA(rta); RTA_OK(in, ilen);
			     in = RTA_NEXT(in, ilen)) {
				if (in->rta_type == IFLA_INFO_KIND)
					attr_string(in, li->kind, sizeof(li->kind));
			}
		}
	}
}

int link_get(const char *name, struct link_info *li)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[RTA_SPACE(WGKS_IFNAMSIZ)];
	} req = { 0 };
	char buf[NL_BUF];
	struct rtattr *rta;
	int fd, ret = -1;
	ssize_t n;

	if (strlen(name) >= WGKS_IFNAMSIZ)
		return 0;
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	rta = (struct rtattr *)req.attrs;
	rta->rta_type = IFLA_IFNAME;
	rta->rta_len = (unsigned short)RTA_LENGTH(strlen(name) + 1);
	memcpy(RTA_DATA(rta), name, strlen(name) + 1);
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi)) + RTA_ALIGN(rta->rta_len);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		err("%s: cannot ask the kernel about it: netlink: %s", name, strerror(errno));
		return -1;
	}
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		err("%s: cannot ask the kernel about it: %s", name, strerror(errno));
		goto out;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		err("%s: cannot ask the kernel about it: %s", name, strerror(errno));
		goto out;
	}
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)n);
	     nh = NLMSG_NEXT(nh, n)) {
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			if (e->error == -ENODEV) {
				ret = 0;
			} else {
				err("%s: cannot ask the kernel about it: %s", name, strerror(-e->error));
			}
			goto out;
		}
		if (nh->nlmsg_type == RTM_NEWLINK) {
			parse_link(nh, li);
			ret = 1;
			goto out;
		}
	}
	err("%s: no answer from the kernel about it", name);
out:
	close(fd);
	return ret;
}

/* For link_list(): where the devices go, and how many fit. */
struct link_dump {
	struct link_info *links;
	int n, max;
};

static int add_link(const struct nlmsghdr *nh, void *arg)
{
	struct link_dump *d = arg;

	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (d->n == d->max) {
		errno = E2BIG;
		return -1;
	}
	parse_link(nh, &d->links[d->n++]);
	return 0;
}

int link_list(struct link_info *links, int max)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = { .nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			  .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		  .ifi = { .ifi_family = AF_UNSPEC } };
	struct link_dump d = { .links = links, .max = max };
	int fd, e = -1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd >= 0) {
		e = nl_dump(fd, &req, sizeof(req), add_link, &d);
		close(fd);
	}
	if (e) {
		err("cannot list this namespace's devices: %s", strerror(errno));
		return -1;
	}
	return d.n;
}

bool link_is_tunnel(const struct link_info *li)
{
	if (!strcmp(li->kind, "wireguard"))
		return true;
	/* tun in TAP mode is an Ethernet device: whatever it carries is a LAN. */
	return !strcmp(li->kind, "tun") && li->type == ARPHRD_NONE;
}

const char *link_describe(const struct link_info *li, char *buf, size_t size)
{
	if (!strcmp(li->kind, "tun") && li->type != ARPHRD_NONE)
		snprintf(buf, size, "a tap device");
	else if (li->kind[0])
		snprintf(buf, size, "a %s device", li->kind);
	else if (li->type == ARPHRD_ETHER)
		snprintf(buf, size, "an Ethernet device");
	else
		snprintf(buf, size, "a device of hardware type %u", li->type);
	return buf;
}
