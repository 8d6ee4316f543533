/* What TcpSocket and UdpSocket share, as both are Qt's QAbstractSocket:
 * the descriptor, the state and the last error, the anchors that keep a
 * socket alive while libev or a suspended slot holds it, readyRead's
 * bookkeeping, and the Lua methods that only read these (state, error,
 * errorString, isValid). Each class's struct starts with a struct
 * abstract_socket, so that these take either; the signal ids differ per
 * class and are passed in. */
#ifndef LUANET_ABSTRACT_SOCKET_H
#define LUANET_ABSTRACT_SOCKET_H

#include "object.h"
#include "socket_error.h"
#include "task.h"

#include <lauxlib.h>
#include <stdint.h>

struct lnet_runtime;

struct abstract_socket {
  struct lnet_object obj;   /* first: its class */
  int fd;                   /* -1 when closed */
  struct lnet_runtime *rt;
  const char *error_string; /* errorString(); NULL: "Unknown error" */
  int ref;                  /* anchor while the fd is open */
  int busy_ref;             /* anchor while a readyRead slot is suspended */
  uint8_t state;            /* enum socket_state */
  uint8_t error;            /* enum socket_error */
  uint16_t read_busy;       /* readyRead slots running or suspended */
};

/* The methods both classes have (state, error, errorString, isValid):
 * their classes' base_methods. */
extern const luaL_Reg abstract_socket_methods[];

/* No fd, no anchors, UnconnectedState, no error. */
void abstract_socket_init(struct abstract_socket *s, const struct lnet_class *c, struct lnet_runtime *rt);
/* Sets the state and emits signal `changed` (stateChanged) with its name. */
void abstract_socket_set_state(struct abstract_socket *s, lua_State *L, int obj, enum socket_state st,
                               int changed);
void abstract_socket_set_error(struct abstract_socket *s, enum socket_error e, const char *text);
/* Sets the error and emits signal `occurred` (errorOccurred) with its name. */
void abstract_socket_emit_error(struct abstract_socket *s, lua_State *L, int obj, enum socket_error e,
                                const char *text, int occurred);
/* Emits signal `ready` (readyRead) of the socket at obj, each slot in a
 * task; a slot left suspended counts in read_busy and anchors the socket
 * until `done` (which must call abstract_socket_slot_done) hears it end. */
void abstract_socket_emit_busy(struct abstract_socket *s, lua_State *L, int obj, int ready,
                               task_done_fn done);
/* [-0, +(0|1), -] A suspended readyRead slot ended: true when it was the
 * last, with the socket pushed and its busy anchor released. */
bool abstract_socket_slot_done(struct abstract_socket *s, lua_State *L);

#endif
