/* Name resolution on c-ares, on the runtime's loop (dns.c). */
#ifndef LUANET_DNS_H
#define LUANET_DNS_H

#include <lua.h>

#define LNET_DNSQUERY "luanet.DnsQuery"

struct dns_query;
/* Called once a lookup has its answer; the query is at stack index obj,
 * its result table in user value 2 (see dns.c). */
typedef void (*dns_done_fn)(void *ud, lua_State *L, int obj);

/* [-0, +1, m] Starts a lookup of `name` (a literal address: a reverse
 * lookup), family AF_UNSPEC, AF_INET or AF_INET6; pushes the query. */
struct dns_query *dns_lookup(lua_State *L, const char *name, int family, dns_done_fn done, void *ud);
/* The query will report nothing more. */
void dns_abort(struct dns_query *q);
int luaopen_luanet_dns(lua_State *L);

#endif
