/* The object whose address is net.json.emptyArray (json_value.h): one
 * per process, so it is the same value in every Lua state. Its content
 * is never read. */
#include "json_value.h"

const char lnet_json_empty_array = 0;
