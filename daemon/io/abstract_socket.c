/* QAbstractSocket's share of TcpSocket and UdpSocket (abstract_socket.h):
 * written once, so that the two classes agree on the state and error they
 * report and on how a suspended readyRead slot keeps its socket alive. */
/*** What TcpSocket and UdpSocket share, as Qt's QAbstractSocket: these
 * methods are theirs, and these enums are constants of both class tables
 * (net.TcpSocket.ConnectedState == "ConnectedState"). There is no
 * net.AbstractSocket to make.
 * @classmod AbstractSocket
 * @qt QAbstractSocket
 */
#include "abstract_socket.h"
#include "runtime.h"
#include "signals.h"

/* The socket at idx, of the class whose method this is. */
static struct abstract_socket *abstract_socket_check(lua_State *L, int idx) {
  return lnet_checkself_upvalue(L, idx);
}

void abstract_socket_init(struct abstract_socket *s, const struct lnet_class *c, struct lnet_runtime *rt) {
  s->obj.class_id = c->id;
  s->rt = rt;
  s->fd = -1;
  s->ref = LUA_NOREF;
  s->busy_ref = LUA_NOREF;
}

void abstract_socket_set_state(struct abstract_socket *s, lua_State *L, int obj, enum socket_state st,
                               int changed) {
  if (s->state == st)
    return;
  s->state = (uint8_t)st;
  if (lnet_has_slots(L, obj, changed)) {
    lua_pushstring(L, socket_state_names[st]);
    lnet_emit(s->rt, L, obj, changed, 1, NULL, NULL);
  }
}

void abstract_socket_set_error(struct abstract_socket *s, enum socket_error e, const char *text) {
  s->error = (uint8_t)e;
  s->error_string = text;
}

void abstract_socket_emit_error(struct abstract_socket *s, lua_State *L, int obj, enum socket_error e,
                                const char *text, int occurred) {
  abstract_socket_set_error(s, e, text);
  if (lnet_has_slots(L, obj, occurred)) {
    lua_pushstring(L, socket_error_name(e));
    lnet_emit(s->rt, L, obj, occurred, 1, NULL, NULL);
  }
}

void abstract_socket_emit_busy(struct abstract_socket *s, lua_State *L, int obj, int ready,
                               task_done_fn done) {
  s->read_busy++;
  int suspended = lnet_emit(s->rt, L, obj, ready, 0, done, s);
  s->read_busy--;
  if (suspended) {
    if (s->read_busy == 0)
      s->busy_ref = lnet_anchor(L, obj);
    s->read_busy += (uint16_t)suspended;
  }
}

bool abstract_socket_slot_done(struct abstract_socket *s, lua_State *L) {
  if (--s->read_busy > 0)
    return false;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->busy_ref);   /* holds s while the caller looks */
  lnet_unanchor(L, &s->busy_ref);
  return true;
}

/* ---- the Lua methods both classes have ---- */

/*** The socket's state.
 * @function state
 * @treturn string a SocketState name
 * @qt QAbstractSocket::state
 */
static int abstract_socket_state(lua_State *L) {
  lua_pushstring(L, socket_state_names[abstract_socket_check(L, 1)->state]);
  return 1;
}

/*** The last error, "UnknownSocketError" before any.
 * @function error
 * @treturn string a SocketError name
 * @qt QAbstractSocket::error
 */
static int abstract_socket_error(lua_State *L) {
  lua_pushstring(L, socket_error_name(abstract_socket_check(L, 1)->error));
  return 1;
}

/*** The last error's text, as Qt words it ("Connection refused").
 * @function errorString
 * @treturn string "Unknown error" before any
 * @qt QIODevice::errorString
 */
static int abstract_socket_errorString(lua_State *L) {
  struct abstract_socket *s = abstract_socket_check(L, 1);
  lua_pushstring(L, s->error_string ? s->error_string : "Unknown error");
  return 1;
}

/*** Whether the socket has a descriptor (is connected, connecting, bound...).
 * @function isValid
 * @treturn boolean
 * @qt QAbstractSocket::isValid
 */
static int abstract_socket_isValid(lua_State *L) {
  lua_pushboolean(L, abstract_socket_check(L, 1)->fd >= 0);
  return 1;
}

const luaL_Reg abstract_socket_methods[] = {
  { "state", abstract_socket_state },
  { "error", abstract_socket_error },
  { "errorString", abstract_socket_errorString },
  { "isValid", abstract_socket_isValid },
  { NULL, NULL },
};
