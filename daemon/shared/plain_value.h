/* Plain Lua data as bytes (plain_value.c): what a SharedDict stores and a
 * Channel carries between Lua states, which share no memory a Lua value
 * could live in. Plain data is nil, booleans, numbers (integers stay
 * integers), strings, net.json's two sentinels (null and emptyArray) and
 * tables of those without metatables or cycles, nested at most
 * PLAIN_MAX_DEPTH deep: what the daemon's state handoff also takes.
 *
 * The bytes are a tag and its payload, tables as their pairs; they never
 * leave the process, so the format is ours to change. */
#ifndef LUANET_PLAIN_VALUE_H
#define LUANET_PLAIN_VALUE_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAIN_MAX_DEPTH 64

/* A growing byte string, malloc'd (no Lua allocation, so no error can
 * jump out while a lock is held around it). */
struct plain_bytes {
  char *data;
  size_t len, cap;
  bool borrowed;             /* data is the caller's (PLAIN_BYTES_ON) until it outgrows it */
};
/* Bytes that start in the caller's array (a small value needs no malloc). */
#define PLAIN_BYTES_ON(array) { (array), 0, sizeof(array), true }

/* Appends the value at idx to out. false with a message in err naming
 * the path from `root` (e.g. "value.users[3]: a function (plain data
 * only)") when it is not plain data or memory ran out; out is then
 * unchanged in length. Allocates nothing in L. */
bool plain_encode(lua_State *L, int idx, const char *root, struct plain_bytes *out, char *err, size_t errlen);
/* [-0, +1, m] Pushes the value the n bytes at p hold; false (nothing
 * pushed) when they are not plain_encode's. */
bool plain_decode(lua_State *L, const char *p, size_t n);
void plain_bytes_free(struct plain_bytes *b);

/* Numbers, for SharedDict's incr, which works on the bytes in place. */
enum plain_number { PLAIN_NOT_NUMBER, PLAIN_INTEGER, PLAIN_FLOAT };
enum plain_number plain_number_of(const char *p, size_t n, int64_t *i, double *d);
/* Writes an integer or a float value's bytes into out (PLAIN_NUMBER_SIZE
 * bytes); returns their length. */
#define PLAIN_NUMBER_SIZE 9
size_t plain_integer_bytes(int64_t i, char out[PLAIN_NUMBER_SIZE]);
size_t plain_float_bytes(double d, char out[PLAIN_NUMBER_SIZE]);

#endif
