// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prefix.h"

const char *const lan_prefixes[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
	"224.0.0.0/24",       /* link-local multicast: mDNS, ... */
	"239.255.255.250/32", /* SSDP */
	"255.255.255.255/32", /* limited broadcast */
	"fc00::/7", "fe80::/10",
	"ff02::/16",          /* link-local multicast: mDNS, DHCPv6 (ff02::1:2), ... */
	NULL,
};

/* Parse an address of either family into addr (16 bytes); 4 or 6, 0 if none. */
static int parse_address(const char *s, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return 6;
	return 0;
}

static bool host_bits_zero(const uint8_t addr[16], unsigned len, unsigned bits)
{
	for (unsigned b = len; b < bits; b++) {
		if (addr[b / 8] & (0x80 >> (b % 8)))
			return false;
	}
	return true;
}

bool parse_prefix(const char *s, struct prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	unsigned bits;
	long len;
	char *end;

	if (!s || strlen(s) >= sizeof(buf))
		return false;
	memset(p, 0, sizeof(*p));
	strcpy(buf, s);
	slash = strchr(s, '/');
	if (slash)
		buf[slash - s] = '\0';
	p->family = (uint8_t)parse_address(buf, p->addr);
	if (!p->family)
		return false;
	bits = p->family == 4 ? 32 : 128;
	len = bits;
	if (slash) {
		if (!isdigit((unsigned char)slash[1]))
			return false;
		len = strtol(slash + 1, &end, 10);
		if (*end || len < 0 || len > (long)bits)
			return false;
	}
	p->len = (uint8_t)len;
	return host_bits_zero(p->addr, p->len, bits);
}

bool parse_endpoint(const char *s, struct endpoint *e)
{
	char host[INET6_ADDRSTRLEN + 2];
	bool bracketed;
	const char *colon;
	size_t hlen;
	long port;
	char *end;

	if (!s)
		return false;
	memset(e, 0, sizeof(*e));
	bracketed = s[0] == '[';
	if (bracketed) {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return false;
		hlen = (size_t)(close - s - 1);
		colon = close + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host) || !isdigit((unsigned char)colon[1]))
		return false;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return false;
	e->family = (uint8_t)parse_address(host, e->addr);
	/* An IPv6 address must be in brackets, an IPv4 one must not. */
	if (!e->family || (e->family == 6) != bracketed)
		return false;
	e->port = (uint16_t)port;
	return true;
}

/* Does prefix P contain every address of ADDR/LEN? */
static bool contains(const struct prefix *p, const uint8_t addr[16], unsigned len)
{
	if (p->len > len)
		return false;
	for (unsigned b = 0; b < p->len; b++) {
		uint8_t m = (uint8_t)(0x80 >> (b % 8));

		if ((p->addr[b / 8] & m) != (addr[b / 8] & m))
			return false;
	}
	return true;
}

/* Does some prefix lie inside ADDR/LEN (or contain it)? */
static bool overlaps(const struct prefix *p, const uint8_t addr[16], unsigned len)
{
	struct prefix q = { .family = p->family, .len = (uint8_t)len };

	memcpy(q.addr, addr, 16);
	return contains(p, addr, len) || contains(&q, p->addr, p->len);
}

/*
 * Whether the union of the prefixes of FAMILY covers ADDR/LEN: one holds it
 * whole, or both halves are covered. Only halves some prefix reaches are
 * split, so the walk is bounded by the prefixes' lengths, not 2^bits.
 */
static bool covered(const struct prefix *ps, int n, int family, uint8_t addr[16], unsigned len)
{
	unsigned bits = family == 4 ? 32 : 128;
	bool any = false, whole;

	for (int i = 0; i < n; i++) {
		if (ps[i].family != family || !overlaps(&ps[i], addr, len))
			continue;
		if (contains(&ps[i], addr, len))
			return true;
		any = true;
	}
	if (!any || len == bits)
		return false;
	/* addr/len has its host bits clear: the left half shares it. */
	whole = covered(ps, n, family, addr, len + 1);
	if (whole) {
		addr[len / 8] |= (uint8_t)(0x80 >> (len % 8));
		whole = covered(ps, n, family, addr, len + 1);
		addr[len / 8] &= (uint8_t)~(0x80 >> (len % 8));
	}
	return whole;
}

bool prefixes_cover_family(const struct prefix *ps, int n, int family)
{
	uint8_t addr[16] = { 0 };

	return covered(ps, n, family, addr, 0);
}

void format_prefix(const struct prefix *p, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, addr, sizeof(addr));
	snprintf(buf, size, "%s/%u", addr, p->len);
}

void format_endpoint(const struct endpoint *e, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, addr, sizeof(addr));
	snprintf(buf, size, e->family == 6 ? "[%s]:%u" : "%s:%u", addr, e->port);
}
