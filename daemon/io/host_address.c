/* net.HostAddress: QHostAddress for IPv4 and IPv6. Qt's special addresses
 * are names ("LocalHost", "AnyIPv6"), also constants on the class, and
 * every call that takes an address takes such a name, a literal or a
 * HostAddress. "Any" is Qt 5's dual-stack any: [::] with IPV6_V6ONLY off. */
#include "host_address.h"
#include "object.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/*** net.HostAddress: an IPv4 or IPv6 address, as Qt's QHostAddress.
 * Every method that takes an address takes a HostAddress, a literal
 * ("127.0.0.1", "::1") or a SpecialAddress name. `a == b` compares two
 * addresses, and tostring(a) is a:toString().
 * @classmod HostAddress
 * @qt QHostAddress
 * @usage local a = net.HostAddress("192.168.1.20")
 * print(a:protocol(), a:isInSubnet("192.168.0.0/16"))   --> IPv4Protocol true
 */
static const struct lnet_class host_address_class;

struct host_address {
  struct lnet_object obj;   /* first: its class */
  enum host_address_kind kind;
  struct net_addr addr;
};

/*** Qt's special addresses: names (constants of the class table, too:
 * net.HostAddress.LocalHost == "LocalHost").
 * @enum SpecialAddress
 * @field Null Qt: 0, no address
 * @field Broadcast Qt: 1, 255.255.255.255
 * @field LocalHost Qt: 2, 127.0.0.1
 * @field LocalHostIPv6 Qt: 3, ::1
 * @field Any Qt: 4, every address, IPv6 and IPv4 ([::] taking IPv4 too)
 * @field AnyIPv6 Qt: 5, ::
 * @field AnyIPv4 Qt: 6, 0.0.0.0
 * @qt QHostAddress::SpecialAddress
 */
static const char *const special_names[] = {
  "Null", "Broadcast", "LocalHost", "LocalHostIPv6", "Any", "AnyIPv6", "AnyIPv4", NULL,
};

/* Fills `ha` (not its class) from a literal or a special name; false if
 * it is neither. */
static bool host_address_parse(const char *text, int port, struct host_address *ha) {
  ha->kind = HA_NULL;
  memset(&ha->addr, 0, sizeof ha->addr);
  const char *literal = text;
  if (strcmp(text, "Null") == 0)
    return true;
  if (strcmp(text, "Any") == 0) {
    ha->kind = HA_ANY;
    net_addr_any(AF_INET6, port, &ha->addr);
    return true;
  }
  if (strcmp(text, "Broadcast") == 0)
    literal = "255.255.255.255";
  else if (strcmp(text, "LocalHost") == 0)
    literal = "127.0.0.1";
  else if (strcmp(text, "LocalHostIPv6") == 0)
    literal = "::1";
  else if (strcmp(text, "AnyIPv4") == 0)
    literal = "0.0.0.0";
  else if (strcmp(text, "AnyIPv6") == 0)
    literal = "::";
  if (!net_addr_parse(literal, port, &ha->addr))
    return false;
  ha->kind = ha->addr.ss.ss_family == AF_INET ? HA_IPV4 : HA_IPV6;
  return true;
}

enum host_address_kind host_address_get(lua_State *L, int idx, int port, struct net_addr *out) {
  struct host_address *ud = lnet_testself(L, idx, &host_address_class);
  struct host_address tmp;
  if (ud) {
    tmp = *ud;
    net_addr_set_port(&tmp.addr, port);
  } else if (!host_address_parse(luaL_checkstring(L, idx), port, &tmp)) {
    tmp.kind = HA_NULL;
  }
  *out = tmp.addr;
  return tmp.kind;
}

static struct host_address *host_address_new(lua_State *L) {
  return lnet_newobject(L, sizeof(struct host_address), &host_address_class, 0);
}

void host_address_push(lua_State *L, const struct sockaddr *sa) {
  struct host_address *ha = host_address_new(L);
  if (sa->sa_family == AF_INET) {
    ha->kind = HA_IPV4;
    memcpy(&ha->addr.ss, sa, sizeof(struct sockaddr_in));
    ha->addr.len = sizeof(struct sockaddr_in);
  } else if (sa->sa_family == AF_INET6) {
    ha->kind = HA_IPV6;
    memcpy(&ha->addr.ss, sa, sizeof(struct sockaddr_in6));
    ha->addr.len = sizeof(struct sockaddr_in6);
  }
  net_addr_set_port(&ha->addr, 0);
}

static struct host_address *host_address_check(lua_State *L, int idx) {
  return lnet_checkself(L, idx, &host_address_class);
}

/*** A new address: a literal or a special name; anything else (or
 * nothing) gives the null address, as QHostAddress does.
 * @function net.HostAddress
 * @tparam[opt] string text
 * @treturn HostAddress
 * @qt QHostAddress::QHostAddress
 */
static int host_address_construct(lua_State *L) {
  const char *text = luaL_optstring(L, 1, NULL);
  struct host_address *ha = host_address_new(L);
  if (text && !host_address_parse(text, 0, ha))
    ha->kind = HA_NULL;
  return 1;
}

/*** Sets the address from a literal or a special name.
 * @function setAddress
 * @tparam string text
 * @treturn boolean false (and the null address) when text is neither, or is "Null"
 * @qt QHostAddress::setAddress
 */
static int host_address_setAddress(lua_State *L) {
  struct host_address *ha = host_address_check(L, 1);
  bool ok = host_address_parse(luaL_checkstring(L, 2), 0, ha);
  if (!ok)
    ha->kind = HA_NULL;
  lua_pushboolean(L, ok && ha->kind != HA_NULL);
  return 1;
}

/*** The address as text ("127.0.0.1", "::1", "fe80::1%eth0"); "" for the
 * null address, "0.0.0.0" for Any, as Qt prints them.
 * @function toString
 * @treturn string
 * @qt QHostAddress::toString
 */
static int host_address_toString(lua_State *L) {
  struct host_address *ha = host_address_check(L, 1);
  char buf[NET_ADDRSTRLEN];
  if (ha->kind == HA_NULL)
    lua_pushliteral(L, "");
  else if (ha->kind == HA_ANY)
    lua_pushliteral(L, "0.0.0.0");   /* as Qt prints QHostAddress::Any */
  else
    lua_pushstring(L, net_addr_format((struct sockaddr *)&ha->addr.ss, buf));
  return 1;
}

/*** The address's family.
 * @function protocol
 * @treturn string a NetworkLayerProtocol name
 * @qt QHostAddress::protocol
 */
/*** An address's family, as protocol() gives it.
 * @enum NetworkLayerProtocol
 * @field IPv4Protocol Qt: 0
 * @field IPv6Protocol Qt: 1
 * @field AnyIPProtocol Qt: 2, the address Any
 * @field UnknownNetworkLayerProtocol Qt: -1, the null address
 * @qt QAbstractSocket::NetworkLayerProtocol
 */
static int host_address_protocol(lua_State *L) {
  static const char *const names[] = {
    [HA_NULL] = "UnknownNetworkLayerProtocol", [HA_IPV4] = "IPv4Protocol",
    [HA_IPV6] = "IPv6Protocol", [HA_ANY] = "AnyIPProtocol",
  };
  lua_pushstring(L, names[host_address_check(L, 1)->kind]);
  return 1;
}

/*** Whether this is the null address (no address).
 * @function isNull
 * @treturn boolean
 * @qt QHostAddress::isNull
 */
static int host_address_isNull(lua_State *L) {
  lua_pushboolean(L, host_address_check(L, 1)->kind == HA_NULL);
  return 1;
}

static const struct in6_addr *ipv6_of(const struct host_address *ha) {
  return &((const struct sockaddr_in6 *)&ha->addr.ss)->sin6_addr;
}

static uint32_t ipv4_of(const struct host_address *ha) {
  return ntohl(((const struct sockaddr_in *)&ha->addr.ss)->sin_addr.s_addr);
}

/*** Whether this is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.x.x).
 * @function isLoopback
 * @treturn boolean
 * @qt QHostAddress::isLoopback
 */
static int host_address_isLoopback(lua_State *L) {
  struct host_address *ha = host_address_check(L, 1);
  const struct in6_addr *v6 = ipv6_of(ha);
  bool yes = (ha->kind == HA_IPV4 && (ipv4_of(ha) >> 24) == 127) ||
             (ha->kind == HA_IPV6 && (IN6_IS_ADDR_LOOPBACK(v6) ||
                                      (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127)));
  lua_pushboolean(L, yes);
  return 1;
}

/*** Whether this is a multicast address (224.0.0.0/4, ff00::/8).
 * @function isMulticast
 * @treturn boolean
 * @qt QHostAddress::isMulticast
 */
static int host_address_isMulticast(lua_State *L) {
  struct host_address *ha = host_address_check(L, 1);
  bool yes = (ha->kind == HA_IPV4 && (ipv4_of(ha) >> 28) == 0xE) ||
             (ha->kind == HA_IPV6 && IN6_IS_ADDR_MULTICAST(ipv6_of(ha)));
  lua_pushboolean(L, yes);
  return 1;
}

/*** Whether this is 255.255.255.255.
 * @function isBroadcast
 * @treturn boolean
 * @qt QHostAddress::isBroadcast
 */
static int host_address_isBroadcast(lua_State *L) {
  struct host_address *ha = host_address_check(L, 1);
  lua_pushboolean(L, ha->kind == HA_IPV4 && ipv4_of(ha) == 0xFFFFFFFFu);
  return 1;
}

/*** The IPv4 address as a number (127.0.0.1 is 0x7f000001).
 * @function toIPv4Address
 * @treturn integer|nil nil when this is no IPv4 address
 * @qt QHostAddress::toIPv4Address
 */
static int host_address_toIPv4Address(lua_State *L) {
  struct host_address *ha = host_address_check(L, 1);
  if (ha->kind != HA_IPV4)
    return 0;
  lua_pushinteger(L, ipv4_of(ha));
  return 1;
}

/*** The 16 bytes, as Qt's Q_IPV6ADDR; an IPv4 address
 * gives its v4-mapped form, as in Qt.
 * @function toIPv6Address
 * @treturn string 16 bytes
 * @qt QHostAddress::toIPv6Address
 */
static int host_address_toIPv6Address(lua_State *L) {
  struct host_address *ha = host_address_check(L, 1);
  unsigned char bytes[16] = { 0 };
  if (ha->kind == HA_IPV6) {
    memcpy(bytes, ipv6_of(ha), 16);
  } else if (ha->kind == HA_IPV4) {
    uint32_t v4 = htonl(ipv4_of(ha));
    bytes[10] = bytes[11] = 0xff;
    memcpy(bytes + 12, &v4, 4);
  }
  lua_pushlstring(L, (const char *)bytes, 16);
  return 1;
}

/* The first `bits` bits of a and b agree (both of one family). */
static bool same_prefix(const unsigned char *a, const unsigned char *b, int bits) {
  int whole = bits / 8, rest = bits % 8;
  if (memcmp(a, b, (size_t)whole) != 0)
    return false;
  if (rest == 0)
    return true;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

/*** Whether the address is in a subnet: a:isInSubnet(subnet,
 * prefixLength) or a:isInSubnet("10.0.0.0/8"). Raises on a subnet that
 * is not one.
 * @function isInSubnet
 * @tparam string|HostAddress subnet
 * @tparam[opt] integer prefixLength
 * @treturn boolean
 * @qt QHostAddress::isInSubnet
 */
static int host_address_isInSubnet(lua_State *L) {
  struct host_address *ha = host_address_check(L, 1);
  struct net_addr subnet;
  lua_Integer bits;
  if (lua_type(L, 2) == LUA_TSTRING && strchr(lua_tostring(L, 2), '/')) {
    char text[NET_ADDRSTRLEN];
    const char *arg = lua_tostring(L, 2), *slash = strchr(arg, '/');
    size_t n = (size_t)(slash - arg);
    luaL_argcheck(L, n < sizeof text, 2, "not a subnet");
    memcpy(text, arg, n);
    text[n] = '\0';
    luaL_argcheck(L, net_addr_parse(text, 0, &subnet), 2, "not a subnet");
    bits = (lua_Integer)strtol(slash + 1, NULL, 10);
  } else {
    luaL_argcheck(L, host_address_get(L, 2, 0, &subnet) != HA_NULL, 2, "not an address");
    bits = luaL_checkinteger(L, 3);
  }
  int family = subnet.ss.ss_family;
  int max = family == AF_INET ? 32 : 128;
  luaL_argcheck(L, bits >= 0 && bits <= max, 3, "prefix length out of range");
  bool in = false;
  if (ha->kind == HA_IPV4 && family == AF_INET) {
    in = same_prefix((const unsigned char *)&((struct sockaddr_in *)&ha->addr.ss)->sin_addr,
                     (const unsigned char *)&((struct sockaddr_in *)&subnet.ss)->sin_addr, (int)bits);
  } else if (ha->kind == HA_IPV6 && family == AF_INET6) {
    in = same_prefix((const unsigned char *)ipv6_of(ha),
                     (const unsigned char *)&((struct sockaddr_in6 *)&subnet.ss)->sin6_addr, (int)bits);
  }
  lua_pushboolean(L, in);
  return 1;
}

/*** Reads a subnet: HostAddress.parseSubnet("10.0.0.0/8") gives the
 * address and 8; without "/n" the prefix is the whole address. The null
 * address and -1, as Qt's pair, when the text is not a subnet.
 * @function parseSubnet
 * @static
 * @tparam string text
 * @treturn HostAddress
 * @treturn integer the prefix length
 * @qt QHostAddress::parseSubnet
 */
static int host_address_parseSubnet(lua_State *L) {
  const char *arg = luaL_checkstring(L, 1);
  const char *slash = strchr(arg, '/');
  char text[NET_ADDRSTRLEN];
  struct net_addr addr;
  size_t n = slash ? (size_t)(slash - arg) : strlen(arg);
  char *end = NULL;
  long bits = -1;
  if (n < sizeof text) {
    memcpy(text, arg, n);
    text[n] = '\0';
    if (net_addr_parse(text, 0, &addr)) {
      int max = addr.ss.ss_family == AF_INET ? 32 : 128;
      bits = slash ? strtol(slash + 1, &end, 10) : max;
      if ((slash && (*end != '\0' || end == slash + 1)) || bits < 0 || bits > max)
        bits = -1;
    }
  }
  if (bits < 0) {
    struct sockaddr_storage none = { .ss_family = AF_UNSPEC };
    host_address_push(L, (struct sockaddr *)&none);
    lua_pushinteger(L, -1);
    return 2;
  }
  host_address_push(L, (struct sockaddr *)&addr.ss);
  lua_pushinteger(L, bits);
  return 2;
}

/*** The scope of an IPv6 link-local address ("eth0" of fe80::1%eth0); "" when none.
 * @function scopeId
 * @treturn string
 * @qt QHostAddress::scopeId
 */
static int host_address_scopeId(lua_State *L) {
  struct host_address *ha = host_address_check(L, 1);
  char name[NET_ADDRSTRLEN], *pct;
  if (ha->kind != HA_IPV6 || !(pct = strchr(net_addr_format((struct sockaddr *)&ha->addr.ss, name), '%')))
    lua_pushliteral(L, "");
  else
    lua_pushstring(L, pct + 1);
  return 1;
}

static bool host_address_same(const struct host_address *a, const struct host_address *b) {
  if (a->kind != b->kind)
    return false;
  if (a->kind == HA_IPV4)
    return ipv4_of(a) == ipv4_of(b);
  if (a->kind == HA_IPV6)
    return memcmp(ipv6_of(a), ipv6_of(b), sizeof(struct in6_addr)) == 0;
  return true;
}

/*** Whether two addresses are the same: a:isEqual(b) and a == b; b may
 * also be a literal or a special name.
 * @function isEqual
 * @tparam string|HostAddress other
 * @treturn boolean
 * @qt QHostAddress::isEqual
 */
static int host_address_isEqual(lua_State *L) {
  struct host_address *a = host_address_check(L, 1);
  struct host_address b;
  struct host_address *ud = lnet_testself(L, 2, &host_address_class);
  if (ud)
    b = *ud;
  else if (!lua_isstring(L, 2) || !host_address_parse(lua_tostring(L, 2), 0, &b))
    b.kind = HA_NULL;
  lua_pushboolean(L, host_address_same(a, &b));
  return 1;
}

static const luaL_Reg host_address_methods[] = {
  { "setAddress", host_address_setAddress },
  { "toString", host_address_toString },
  { "protocol", host_address_protocol },
  { "isNull", host_address_isNull },
  { "isLoopback", host_address_isLoopback },
  { "isMulticast", host_address_isMulticast },
  { "isBroadcast", host_address_isBroadcast },
  { "isEqual", host_address_isEqual },
  { "toIPv4Address", host_address_toIPv4Address },
  { "scopeId", host_address_scopeId },
  { "toIPv6Address", host_address_toIPv6Address },
  { "isInSubnet", host_address_isInSubnet },
  { NULL, NULL },
};

static const luaL_Reg host_address_statics[] = {
  { "parseSubnet", host_address_parseSubnet },
  { NULL, NULL },
};

static const luaL_Reg host_address_meta[] = {
  { "__eq", host_address_isEqual },
  { NULL, NULL },
};

static const struct lnet_class host_address_class = {
  .id = LNET_ID_HOSTADDRESS, .name = LNET_HOSTADDRESS, .methods = host_address_methods, .tostring = host_address_toString, .meta = host_address_meta,
  .constants = special_names, .statics = host_address_statics, .construct = host_address_construct,
};

int luaopen_luanet_host_address(lua_State *L) {
  lnet_class_register(L, &host_address_class);
  return 1;
}
