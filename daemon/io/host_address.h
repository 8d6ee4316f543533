/* net.HostAddress and the address arguments of every other class. */
#ifndef LUANET_HOST_ADDRESS_H
#define LUANET_HOST_ADDRESS_H

#include "net.h"
#include <lua.h>
#include <stdbool.h>

enum host_address_kind { HA_NULL, HA_IPV4, HA_IPV6, HA_ANY };

/* Reads an address argument: a HostAddress, a literal ("::1") or a special
 * name ("LocalHost", "Any", ...). Returns HA_NULL when the string is none
 * of them (a host name, say); `out` gets the address with `port`. */
enum host_address_kind host_address_get(lua_State *L, int idx, int port, struct net_addr *out);
/* [-0, +1, m] A new HostAddress for sa (without its port). */
void host_address_push(lua_State *L, const struct sockaddr *sa);
int luaopen_luanet_host_address(lua_State *L);

#endif
