/* net.json: decode (json_decode.c), encode (json_encode.c) and the two
 * values that JSON needs and Lua lacks, null and an empty array that is
 * not an empty object (json_value.h). daemon/luanet.c sets the table as
 * luanet.core's `json`, so scripts reach it as net.json. */
/*** net.json: JSON text to plain Lua data and back (RFC 8259). Decoding
 * untrusted text never raises: a failure is nil and where it is. Integers
 * stay integers both ways; JSON's null and [] have values of their own
 * (null and emptyArray), so that [] and {} stay apart. Nesting is bounded
 * at 200. docs/LUA-LIBRARY.md has the full mapping.
 * @module json
 * @qt QJsonDocument
 * @usage local doc, err = net.json.decode('{"users":[{"id":1}],"next":null}')
 * print(doc.users[1].id, doc.next == net.json.null)         --> 1 true
 * print(net.json.encode({ b = 1, a = { 2, 3 } }, { sortKeys = true }))   --> {"a":[2,3],"b":1}
 */
#include "json.h"
#include "json_decode.h"
#include "json_encode.h"
#include "json_value.h"

#include <lauxlib.h>

int luaopen_luanet_json(lua_State *L) {
  static const luaL_Reg functions[] = {
    /*** Parses JSON text into plain Lua data (json_decode.c). Raises only
     * when text is not a string.
     * @function decode
     * @tparam string text
     * @return the value, or nil and "json: what at byte N"
     * @qt QJsonDocument::fromJson
     */
    /*** Writes a value as JSON text (json_encode.c). A table whose keys are
     * 1..n is an array, one whose keys are strings an object. An unknown
     * option raises.
     * @function encode
     * @param value
     * @tparam[opt] table options indent = true (two spaces a level), sortKeys = true (object keys in byte order)
     * @treturn string the text, or nil and "json: PATH: what" ("json: value.cb: cannot encode a function")
     * @qt QJsonDocument::toJson
     */
    { "decode", json_decode },
    { "encode", json_encode },
    { NULL, NULL },
  };
  luaL_newlib(L, functions);
  /*** JSON's null: a light userdata (NULL, as lua-cjson's cjson.null).
   * @field null
   */
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  /*** JSON's empty array [], which an empty table {} is not.
   * @field emptyArray
   */
  lua_pushlightuserdata(L, LNET_JSON_EMPTY_ARRAY);
  lua_setfield(L, -2, "emptyArray");
  return 1;
}
