/* luanetd: runs a Lua script with the event loop, as lua5.4 would run it
 * but with `require "luanet"` built in and the main chunk in a task.
 *
 *   luanetd script.lua [args...]
 *
 * The script gets its arguments as `...` and in `arg`, as under lua5.4. The
 * process exits 0 when nothing is left to wait for (no open socket, active
 * timer or suspended task), with net.quit(code)'s code, or 1 after an
 * uncaught error in the main chunk (with its traceback on stderr). */
#include "runtime.h"
#include "task.h"
#include "ctl.h"
#include "daemon.h"
#include "lua_library.h"
#include "state.h"
#include "version.h"

#include <lauxlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
  fprintf(out,
          "usage: luanetd script.lua [args...]        run one script with the loop\n"
          "       luanetd -c FILE [--check]           run (or check) the services of a config\n"
          "       luanetd ctl [-s SOCKET] status [--json]|reload [NAME]|stop\n"
          "       luanetd --version                   this program's version and its libraries'\n");
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
  state_use_library(lua_library_modules);
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    version_print(stdout);
    return 0;
  }
  if (strcmp(argv[1], "ctl") == 0)
    return ctl_main(argc - 1, argv + 1);
  if (strcmp(argv[1], "-c") == 0) {
    bool check = argc == 4 && strcmp(argv[3], "--check") == 0;
    if (argc != 3 && !check) {
      usage(stderr);
      return 2;
    }
    return daemon_main(argv[2], check);
  }
  if (argv[1][0] == '-') {   /* not a script name: an option we do not have */
    fprintf(stderr, "luanetd: unknown option %s\n", argv[1]);
    usage(stderr);
    return 2;
  }
  lua_State *L = state_new();
  if (!L) {
    fprintf(stderr, "luanetd: not enough memory\n");
    return 1;
  }
  int code = run_script(L, argc, argv, 1);
  fflush(stdout);
  state_close(L);
  return code;
}
