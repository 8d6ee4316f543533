/* What every class of the library shares: the class description and its
 * registration (methods, Qt-style signal members, enum constants), object
 * creation and the self check, registry anchors and argument checks. The
 * class names live here, once. */
#ifndef LUANET_OBJECT_H
#define LUANET_OBJECT_H

#include <lauxlib.h>
#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lua_args.h"

#define LNET_TCPSOCKET   "luanet.TcpSocket"
#define LNET_TCPSERVER   "luanet.TcpServer"
#define LNET_UDPSOCKET   "luanet.UdpSocket"
#define LNET_TIMER       "luanet.Timer"
#define LNET_HOSTADDRESS "luanet.HostAddress"
#define LNET_HTTPPARSER  "luanet.HttpParser"


/* The ids of struct lnet_object: odd and with "LN" on top, so that neither
 * a pointer nor a small number at the head of another userdata matches. */
enum lnet_class_id {
  LNET_ID_TCPSOCKET = 0x4c4e0001,
  LNET_ID_TCPSERVER = 0x4c4e0003,
  LNET_ID_UDPSOCKET = 0x4c4e0005,
  LNET_ID_TIMER = 0x4c4e0007,
  LNET_ID_HOSTADDRESS = 0x4c4e0009,
  LNET_ID_HTTPPARSER = 0x4c4e000b,
  LNET_ID_HTTPSERVER = 0x4c4e000d,
  LNET_ID_HTTPREQUEST = 0x4c4e000f,
  LNET_ID_HTTPRESPONSE = 0x4c4e0011,
  LNET_ID_WEBSOCKET = 0x4c4e0013,
  LNET_ID_SHAREDDICT = 0x4c4e0015,
  LNET_ID_CHANNEL = 0x4c4e0017,
  LNET_ID_HTTP2CLIENT = 0x4c4e0019,
  LNET_ID_HTTP2STREAM = 0x4c4e001b,
};

struct lnet_class {
  uint32_t id;               /* enum lnet_class_id */
  const char *name;          /* the metatable's __name: "luanet.TcpSocket" */
  /* Called when a script first touches signal `id` of an object, so that
   * a class can skip work for signals nobody can have connected. */
  void (*signal_touched)(void *obj, int id);
  const luaL_Reg *methods;
  /* Methods of a base the class shares with others (QAbstractSocket's);
   * each gets the class as upvalue 1, for lnet_checkself_upvalue. May be NULL. */
  const luaL_Reg *base_methods;
  const luaL_Reg *more_methods;   /* another file's (TcpSocket's TLS); may be NULL */
  /* The metatable's __gc, __close (a to-be-closed variable's end) and
   * __tostring; each may be NULL. */
  lua_CFunction gc, close, tostring;
  const luaL_Reg *meta;      /* other metamethods (__eq); may be NULL */
  const char *const *signals;/* NULL-terminated; signal ids are 1-based */
  const char *const *constants; /* enum names exposed on the class table */
  const luaL_Reg *statics;   /* functions of the class table (singleShot) */
  lua_CFunction construct;   /* called by Class(...) */
};

/* [-0, +1, m] Registers the metatable and pushes the class table
 * (constants, methods, __call = construct). Objects of the class keep
 * their signals in user value 1, a table indexed by signal id. */
void lnet_class_register(lua_State *L, const struct lnet_class *c);
/* The first member of every object's struct: the id of the class that
 * made it. Methods check their self argument by it, with two API calls and
 * nothing pushed; comparing metatables took four calls, twice per echoed
 * message. Four bytes, so that the next member packs beside it. */
struct lnet_object {
  uint32_t class_id;
};
/* [-0, +1, m] A new full userdata of `size` bytes (a struct that starts
 * with a struct lnet_object), zeroed but for its class, with the class's
 * metatable. Its signal table (user value 1) is made when a script first
 * touches one of its signals. */
void *lnet_newobject(lua_State *L, size_t size, const struct lnet_class *c, int nuvalues);
/* The object of class c at idx, else NULL. lua_rawlen is 0 for a light
 * userdata, and a full one shorter than the tag is not ours. */
static inline void *lnet_testself(lua_State *L, int idx, const struct lnet_class *c) {
  struct lnet_object *o = lua_touserdata(L, idx);
  return o && lua_rawlen(L, idx) >= sizeof *o && o->class_id == c->id ? o : NULL;
}
/* The same, else a type error. */
static inline void *lnet_checkself(lua_State *L, int idx, const struct lnet_class *c) {
  void *o = lnet_testself(L, idx, c);
  if (!o)
    luaL_typeerror(L, idx, c->name);
  return o;
}
/* The object at idx of the class in upvalue 1 (a base method's), else a
 * type error naming that class. */
static inline void *lnet_checkself_upvalue(lua_State *L, int idx) {
  return lnet_checkself(L, idx, lua_touserdata(L, lua_upvalueindex(1)));
}
#endif
