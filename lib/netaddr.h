/* Addresses: the IP ranges the sync service refuses for a JWKS URI, and
 * --resolve HOST[:PORT]=ADDR[:PORT] (curl's habit) for configs written for a
 * compose network. */
#ifndef SC_NETADDR_H
#define SC_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* How the service judges an address (libs/lib-services/src/ip/lookup.ts
 * validateIpHostname, ipaddr.js 2.2.0 ranges): `ranges` holds CIDRs and
 * "local" (anything outside public unicast). Returns the service's error
 * ("[PSYNC_S2203] IPs in this range are not supported: ADDR", or S2202 for
 * IPv6 under reject_ipv6) as a fresh string, or NULL when the address is
 * allowed. *is_ip says whether `host` is an IP literal at all (a name is
 * judged only where the service resolves it). A malformed CIDR sets err. */
char *sc_ip_refusal(const char *host, char *const *ranges, size_t nranges, bool reject_ipv6,
		    bool *is_ip, sc_error *err);

/* One --resolve rule. port 0: any port; to_port 0: the same port. */
typedef struct sc_resolve_rule {
	char *host;
	int port;
	char *addr;
	int to_port;
} sc_resolve_rule;

/* Parses HOST[:PORT]=ADDR[:PORT] (IPv6 in brackets) and adds it to the
 * process's rules (set once in main, before threads). Exit 2 on a bad one. */
int sc_resolve_add(const char *spec, sc_error *err);
void sc_resolve_clear(void);
/* The rule for host:port (port 0 matches any rule for the host), or NULL. */
const sc_resolve_rule *sc_resolve_find(const char *host, int port);
size_t sc_resolve_count(void);
const sc_resolve_rule *sc_resolve_at(size_t i);

#endif
