/* Helpers every class uses: class registration with Qt-style signal
 * members, object creation, registry anchors, argument checks. */
#include "object.h"
#include "signals.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* obj.name: a method, else a signal (a handle made on each access:
 * signals.c), else nil.
 * upvalue 1: methods; upvalue 2: signal name -> id; upvalue 3: the class's
 * signal_touched, as a light userdata (or nil). */
static int lnet_class_index(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return 1;
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNUMBER)
    return 1;
  int id = (int)lua_tointeger(L, -1);
  signal_push_bound(L, 1, id);
  const struct lnet_class *c = lua_touserdata(L, lua_upvalueindex(3));
  if (c->signal_touched)
    c->signal_touched(lua_touserdata(L, 1), id);
  return 1;
}

/* Class(...): the class table is argument 1; the constructor never sees it. */
static int lnet_class_call(lua_State *L) {
  lua_remove(L, 1);
  lua_CFunction construct = lua_tocfunction(L, lua_upvalueindex(1));
  return construct(L);
}

void lnet_class_register(lua_State *L, const struct lnet_class *c) {
  luaL_newmetatable(L, c->name);
  const luaL_Reg lifetime[] = {
    { "__gc", c->gc }, { "__close", c->close }, { "__tostring", c->tostring },
  };
  for (size_t i = 0; i < sizeof lifetime / sizeof *lifetime; i++) {
    if (lifetime[i].func) {
      lua_pushcfunction(L, lifetime[i].func);
      lua_setfield(L, -2, lifetime[i].name);
    }
  }
  if (c->meta)
    luaL_setfuncs(L, c->meta, 0);
  lua_newtable(L);                     /* the __index closure's upvalue 1 */
  if (c->base_methods) {   /* first, so that a class's own method of a name wins */
    lua_pushlightuserdata(L, (void *)c);
    luaL_setfuncs(L, c->base_methods, 1);
  }
  luaL_setfuncs(L, c->methods, 0);
  if (c->more_methods)
    luaL_setfuncs(L, c->more_methods, 0);
  lua_newtable(L);                     /* upvalue 2 */
  for (int i = 0; c->signals && c->signals[i]; i++) {
    lua_pushinteger(L, i + 1);
    lua_setfield(L, -2, c->signals[i]);
  }
  lua_pushlightuserdata(L, (void *)c);
  lua_pushcclosure(L, lnet_class_index, 3);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);

  lua_newtable(L);                     /* the class table */
  for (int i = 0; c->constants && c->constants[i]; i++) {
    lua_pushstring(L, c->constants[i]);
    lua_setfield(L, -2, c->constants[i]);
  }
  if (c->statics)
    luaL_setfuncs(L, c->statics, 0);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, c->construct);
  lua_pushcclosure(L, lnet_class_call, 1);
  lua_setfield(L, -2, "__call");
  lua_pushstring(L, c->name);
  lua_setfield(L, -2, "__name");
  lua_setmetatable(L, -2);
}

void *lnet_newobject(lua_State *L, size_t size, const struct lnet_class *c, int nuvalues) {
  struct lnet_object *o = lua_newuserdatauv(L, size, nuvalues);
  memset(o, 0, size);
  o->class_id = c->id;
  luaL_setmetatable(L, c->name);
  return o;
}
