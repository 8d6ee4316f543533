/* plain_copy: see plain_copy.h. The value crosses as plain_value.c's
 * bytes, the same that SharedDict and Channel carry, so the three take
 * the same values and refuse the rest with the same words. */
#include "plain_copy.h"
#include "plain_value.h"

#include <lauxlib.h>
#include <stdio.h>

bool plain_copy(lua_State *from, int idx, lua_State *to, const char *what, char *err, size_t errlen) {
  struct plain_bytes b = { 0 };
  bool ok = plain_encode(from, idx, what, &b, err, errlen);
  if (ok && !plain_decode(to, b.data, b.len)) {
    snprintf(err, errlen, "%s: could not be copied", what);
    ok = false;
  }
  plain_bytes_free(&b);
  return ok;
}
