/* luanetd: runs a Lua script with the event loop, as lua5.4 would run it
 * but with `require "luanet"` built in and the main chunk in a task.
 *
 *   luanetd script.lua [args...]
 *
 * The script gets its arguments as `...` and in `arg`, as under lua5.4. The
 * process exits 0 when nothing is left to wait for (no open socket, active
 * timer or suspended task), with net.quit(code)'s code, or 1 after an
 * uncaught error in the main chunk (with its traceback on stderr). */
#include "lnet.h"
#include "luanet.h"

#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LUANET_LUA_DIR
#define LUANET_LUA_DIR "/usr/share/luanetd/lua"
#endif

static void usage(FILE *out) {
  fprintf(out, "usage: luanetd script.lua [args...]\n");
}

/* Our Lua modules come first on package.path; luanet.core is built in. */
static void setup_package(lua_State *L) {
  const char *dir = getenv("LUANET_LUA_DIR");
  if (!dir)
    dir = LUANET_LUA_DIR;
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_luanet_core);
  lua_setfield(L, -2, "luanet.core");
  lua_pop(L, 2);
}

/* arg[0] is the script, arg[1..] its arguments, arg[-1] this program. */
static void setup_arg(lua_State *L, int argc, char **argv, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static void main_chunk_done(struct lnet_runtime *rt, void *ud, enum task_status st) {
  (void)ud;
  if (st == TASK_FAILED) {
    rt->exit_code = 1;
    rt->quit_requested = true;
    ev_break(rt->loop, EVBREAK_ALL);
  }
}

static int run_script(lua_State *L, int argc, char **argv, int script) {
  struct lnet_runtime *rt = runtime_open(L);
  setup_arg(L, argc, argv, script);
  if (luaL_loadfile(L, argv[script]) != LUA_OK) {
    fprintf(stderr, "luanetd: %s\n", lua_tostring(L, -1));
    return 1;
  }
  int nargs = argc - script - 1;
  luaL_checkstack(L, nargs, "too many arguments");
  for (int i = script + 1; i < argc; i++)
    lua_pushstring(L, argv[i]);
  lua_State *co;
  switch (task_call(rt, L, nargs, &co)) {
  case TASK_FAILED:
    return 1;
  case TASK_SUSPENDED:
    task_on_done(rt, co, main_chunk_done, NULL);
    break;
  case TASK_FINISHED:
    break;
  }
  while (!rt->quit_requested && ev_run(rt->loop, 0))
    ;
  return rt->exit_code;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(stdout);
    return 0;
  }
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "luanetd: not enough memory\n");
    return 1;
  }
  /* Generational, as lua5.4's own interpreter runs it: a server's garbage
   * is mostly young (the strings read and written per event). */
  lua_gc(L, LUA_GCGEN, 0, 0);
  luaL_openlibs(L);
  setup_package(L);
  int code = run_script(L, argc, argv, 1);
  fflush(stdout);
  lua_close(L);
  return code;
}
