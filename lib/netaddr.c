#include "netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

/* An address: 4 or 16 bytes. */
typedef struct addr {
	int family; /* 4 or 6 */
	unsigned char b[16];
} addr;

/* An IPv4 literal as WHATWG URLs and ipaddr.js read it: one to four parts,
 * each decimal, octal (0...) or hex (0x...), the last filling the rest
 * (127.1, 0x7f000001 and 2130706433 are all 127.0.0.1). */
static bool parse_ipv4_legacy(const char *s, addr *out)
{
	uint64_t parts[4];
	int n = 0;
	const char *p = s;
	if (!*p)
		return false;
	for (;;) {
		if (n == 4)
			return false;
		int base = 10;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
			base = 16;
			p += 2;
		} else if (p[0] == '0' && isdigit((unsigned char)p[1])) {
			base = 8;
			p++;
		}
		if (!isxdigit((unsigned char)*p) && !(base == 16 && (*p == '.' || !*p)))
			return false;
		uint64_t v = 0;
		bool digits = false;
		while (*p && *p != '.') {
			int d;
			if (isdigit((unsigned char)*p))
				d = *p - '0';
			else if (isxdigit((unsigned char)*p))
				d = tolower((unsigned char)*p) - 'a' + 10;
			else
				return false;
			if (d >= base)
				return false;
			v = v * (uint64_t)base + (uint64_t)d;
			if (v > 0xffffffffULL)
				return false;
			digits = true;
			p++;
		}
		if (!digits && base != 16)
			return false;
		parts[n++] = v;
		if (!*p)
			break;
		p++;
		if (!*p)
			break; /* a trailing dot, as WHATWG allows */
	}
	uint32_t ip = 0;
	for (int i = 0; i < n - 1; i++) {
		if (parts[i] > 255)
			return false;
		ip |= (uint32_t)parts[i] << (24 - 8 * i);
	}
	uint64_t last_max = n == 1 ? 0xffffffffULL : (1ULL << (8 * (5 - n))) - 1;
	if (parts[n - 1] > last_max)
		return false;
	ip |= (uint32_t)parts[n - 1];
	out->family = 4;
	out->b[0] = (unsigned char)(ip >> 24);
	out->b[1] = (unsigned char)(ip >> 16);
	out->b[2] = (unsigned char)(ip >> 8);
	out->b[3] = (unsigned char)ip;
	return true;
}

static bool parse_addr(const char *host, addr *out)
{
	memset(out, 0, sizeof *out);
	char buf[128];
	size_t len = strlen(host);
	if (len >= sizeof buf)
		return false;
	memcpy(buf, host, len + 1);
	if (buf[0] == '[' && len > 1 && buf[len - 1] == ']') {
		memmove(buf, buf + 1, len - 2);
		buf[len - 2] = '\0';
	}
	if (strchr(buf, ':')) {
		if (inet_pton(AF_INET6, buf, out->b) != 1)
			return false;
		out->family = 6;
		return true;
	}
	return parse_ipv4_legacy(buf, out);
}

static bool in_prefix(const addr *a, const unsigned char *net, int bits)
{
	for (int i = 0; bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		if ((a->b[i] & mask) != (net[i] & mask))
			return false;
	}
	return true;
}

/* "a.b.c.d/n" or "v6/n", strictly (the service's ipaddr.parseCIDR). */
static bool parse_cidr(const char *s, addr *net, int *bits)
{
	const char *slash = strchr(s, '/');
	if (!slash || !slash[1])
		return false;
	char host[128];
	size_t hl = (size_t)(slash - s);
	if (hl >= sizeof host)
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(net, 0, sizeof *net);
	if (inet_pton(AF_INET6, host, net->b) == 1)
		net->family = 6;
	else if (inet_pton(AF_INET, host, net->b) == 1)
		net->family = 4;
	else
		return false;
	char *end;
	errno = 0;
	long n = strtol(slash + 1, &end, 10);
	if (errno || *end || n < 0 || n > (net->family == 4 ? 32 : 128))
		return false;
	*bits = (int)n;
	return true;
}

/* Every range ipaddr.js 2.2.0 names other than unicast. */
static const char *const not_unicast[] = {
	"0.0.0.0/8", "255.255.255.255/32", "224.0.0.0/4", "169.254.0.0/16", "127.0.0.0/8", "100.64.0.0/10",
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "192.175.48.0/24",
	"192.31.196.0/24", "192.52.193.0/24",
	"::/128", "fe80::/10", "ff00::/8", "::1/128", "fc00::/7", "::ffff:0:0/96", "100::/64", "::ffff:0:0:0/96",
	"64:ff9b::/96", "2002::/16", "2001::/32", "2001:2::/48", "2001:3::/32", "2001:4:112::/48",
	"2620:4f:8000::/48", "2001:10::/28", "2001:20::/28", "2001:30::/28", "2001::/23", "2001:db8::/32",
};

static bool in_cidr(const addr *a, const char *cidr)
{
	addr net;
	int bits;
	return parse_cidr(cidr, &net, &bits) && net.family == a->family && in_prefix(a, net.b, bits);
}

char *sc_ip_refusal(const char *host, char *const *ranges, size_t nranges, bool reject_ipv6,
		    bool *is_ip, sc_error *err)
{
	addr a;
	*is_ip = parse_addr(host, &a);
	if (!*is_ip)
		return NULL;
	char shown[INET6_ADDRSTRLEN];
	inet_ntop(a.family == 4 ? AF_INET : AF_INET6, a.b, shown, sizeof shown);
	if (reject_ipv6 && a.family == 6)
		return sc_xstrdup("[PSYNC_S2202] IPv6 support not enabled for JWKS URI");
	bool local = false;
	for (size_t i = 0; i < nranges; i++) {
		if (strcmp(ranges[i], "local") == 0) {
			local = true;
			continue;
		}
		addr net;
		int bits;
		if (!parse_cidr(ranges[i], &net, &bits)) {
			sc_error_set(err, SC_EXIT_USAGE, "ipaddr: the address has neither IPv6 nor IPv4 CIDR format (%s)", ranges[i]);
			return NULL;
		}
		if (net.family == a.family && in_prefix(&a, net.b, bits))
			return sc_xasprintf("[PSYNC_S2203] IPs in this range are not supported: %s", shown);
	}
	if (!local)
		return NULL;
	for (size_t i = 0; i < sizeof not_unicast / sizeof not_unicast[0]; i++)
		if (in_cidr(&a, not_unicast[i]))
			return sc_xasprintf("[PSYNC_S2203] IPs in this range are not supported: %s", shown);
	return NULL;
}

/* ---- --resolve ---- */

static sc_resolve_rule *rules;
static size_t nrules;

/* "host", "host:port", "[v6]", "[v6]:port" */
static bool split_host_port(const char *s, size_t len, char **host, int *port)
{
	const char *end = s + len, *colon = NULL;
	const char *hs = s, *he;
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return false;
		hs = s + 1;
		he = close;
		if (close + 1 < end) {
			if (close[1] != ':')
				return false;
			colon = close + 1;
		}
	} else {
		colon = memchr(s, ':', len);
		if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return false; /* an IPv6 address needs its brackets */
		he = colon ? colon : end;
	}
	if (he == hs)
		return false;
	*port = 0;
	if (colon) {
		char num[8];
		size_t nl = (size_t)(end - colon - 1);
		if (!nl || nl >= sizeof num)
			return false;
		memcpy(num, colon + 1, nl);
		num[nl] = '\0';
		char *e;
		long p = strtol(num, &e, 10);
		if (*e || p < 1 || p > 65535)
			return false;
		*port = (int)p;
	}
	*host = sc_xstrndup(hs, (size_t)(he - hs));
	return true;
}

int sc_resolve_add(const char *spec, sc_error *err)
{
	const char *eq = strchr(spec, '=');
	sc_resolve_rule r = { 0 };
	if (!eq || !split_host_port(spec, (size_t)(eq - spec), &r.host, &r.port) ||
	    !split_host_port(eq + 1, strlen(eq + 1), &r.addr, &r.to_port)) {
		free(r.host);
		sc_error_set(err, SC_EXIT_USAGE, "--resolve takes HOST[:PORT]=ADDR[:PORT], not '%s'", spec);
		return -1;
	}
	addr a;
	if (!parse_addr(r.addr, &a)) {
		sc_error_set(err, SC_EXIT_USAGE, "--resolve %s: %s is not an IP address", spec, r.addr);
		free(r.host);
		free(r.addr);
		return -1;
	}
	for (char *c = r.host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	rules = sc_xrealloc(rules, (nrules + 1) * sizeof *rules);
	rules[nrules++] = r;
	return 0;
}

void sc_resolve_clear(void)
{
	for (size_t i = 0; i < nrules; i++) {
		free(rules[i].host);
		free(rules[i].addr);
	}
	free(rules);
	rules = NULL;
	nrules = 0;
}

const sc_resolve_rule *sc_resolve_find(const char *host, int port)
{
	if (!host)
		return NULL;
	const sc_resolve_rule *any = NULL;
	for (size_t i = 0; i < nrules; i++) {
		if (strcasecmp(rules[i].host, host) != 0)
			continue;
		if (rules[i].port && port && rules[i].port == port)
			return &rules[i];
		if (!rules[i].port && !any)
			any = &rules[i];
		if (!port && !any)
			any = &rules[i];
	}
	return any;
}

size_t sc_resolve_count(void) { return nrules; }
const sc_resolve_rule *sc_resolve_at(size_t i) { return i < nrules ? &rules[i] : NULL; }
