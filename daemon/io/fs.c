/* File-system facts for scripts: net.statvfs(path), which the discovery
 * responder (scripts/freespace.lua) answers queries with, and
 * net.isatty(fd), which tells a command whether to draw a progress bar,
 * and net.stat, net.realpath and net.readdir for the static file server.
 *
 * statvfs(3) reads the file system's superblock figures; for local file
 * systems that is a memory read, so it runs on the loop like the other
 * regular-file I/O (DESIGN: Runtime architecture). Figures are bytes, as
 * lua_Integer: block counts times the fragment size, which is the unit
 * statvfs counts blocks in (f_bsize is only the preferred I/O size). A
 * product that would not fit a lua_Integer is clamped to LUA_MAXINTEGER:
 * some FUSE file systems report "unlimited" as 2^64-1 blocks. Failure is a
 * value, as io.open's: nil, "path: strerror", errno. */
/*** File-system facts (daemon/io/fs.c). They fail as io.open does: nil,
 * "path: message", errno.
 * @module net
 */
#include "fs.h"

#include <lauxlib.h>
#include <errno.h>
#include <string.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>



/* blocks * unit in bytes, clamped to what a lua_Integer holds. */
static lua_Integer fs_bytes(unsigned long long blocks, unsigned long long unit) {
  if (unit != 0 && blocks > (unsigned long long)LUA_MAXINTEGER / unit)
    return LUA_MAXINTEGER;
  return (lua_Integer)(blocks * unit);
}

/*** Whether fd (0, 1, 2) is a terminal: progress bars
 * are for people, not for logs.
 * @function isatty
 * @tparam integer fd
 * @treturn boolean
 */
static int fs_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)) == 1);
  return 1;
}

/* A path argument: the kernel would stop at a NUL and answer for another. */
static const char *check_path(lua_State *L, int idx) {
  size_t len;
  const char *path = luaL_checklstring(L, idx, &len);
  luaL_argcheck(L, strlen(path) == len, idx, "path contains a zero byte");
  return path;
}

/*** A file's facts; follows symlinks.
 * @function stat
 * @tparam string path
 * @treturn table { type = "file"|"directory"|"other", size =, mtime =
 * (seconds), mtime_ns =, ino =, mode = (permission bits), nlink = },
 * or nil, message, errno
 * @qt QFileInfo
 */
static int fs_stat(lua_State *L) {
  const char *path = check_path(L, 1);
  struct stat st;
  if (stat(path, &st) != 0)
    return luaL_fileresult(L, 0, path);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" : "other");
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)st.st_mtim.tv_sec);
  lua_setfield(L, -2, "mtime");
  lua_pushinteger(L, (lua_Integer)st.st_mtim.tv_nsec);
  lua_setfield(L, -2, "mtime_ns");
  lua_pushinteger(L, (lua_Integer)st.st_ino);
  lua_setfield(L, -2, "ino");
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, (lua_Integer)st.st_nlink);
  lua_setfield(L, -2, "nlink");
  return 1;
}

/*** Makes a directory.
 * @function mkdir
 * @tparam string path
 * @tparam[opt=0755] integer mode (less the umask)
 * @treturn boolean true, or nil, message, errno
 * @qt QDir::mkdir
 */
static int fs_mkdir(lua_State *L) {
  const char *path = check_path(L, 1);
  lua_Integer mode = luaL_optinteger(L, 2, 0755);
  return luaL_fileresult(L, mkdir(path, (mode_t)mode) == 0, path);
}

/*** The absolute path with every symlink resolved.
 * @function realpath
 * @tparam string path
 * @treturn string the path, or nil, message, errno
 * @qt QFileInfo::canonicalFilePath
 */
static int fs_realpath(lua_State *L) {
  const char *path = check_path(L, 1);
  char *real = realpath(path, NULL);
  if (!real)
    return luaL_fileresult(L, 0, path);
  lua_pushstring(L, real);
  free(real);
  return 1;
}

/*** The names in a directory (without . and ..),
 * sorted.
 * @function readdir
 * @tparam string path
 * @treturn {string,...} the names, or nil, message, errno
 * @qt QDir::entryList
 */
static int fs_readdir(lua_State *L) {
  const char *path = check_path(L, 1);
  DIR *dir = opendir(path);
  if (!dir)
    return luaL_fileresult(L, 0, path);
  lua_newtable(L);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++n);
  }
  closedir(dir);
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, -3);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  return 1;
}

/*** A file system's space, in bytes.
 * free is what an unprivileged user may still write (f_bavail, not
 * f_bfree, which counts the blocks reserved for root). [-0, +1|3, e]
 * @function statvfs
 * @tparam string path any path on the file system
 * @treturn table { free =, total =, size = } (size: the block size), or nil, message, errno
 * @qt QStorageInfo
 */
static int fs_statvfs(lua_State *L) {
  size_t len;
  const char *path = luaL_checklstring(L, 1, &len);
  /* The kernel would stop at the NUL and answer for another path. */
  luaL_argcheck(L, strlen(path) == len, 1, "path contains a zero byte");
  struct statvfs st;
  if (statvfs(path, &st) != 0)
    return luaL_fileresult(L, 0, path);
  /* f_frsize is 0 on a few old file systems; f_bsize is then the unit. */
  unsigned long long unit = st.f_frsize ? st.f_frsize : st.f_bsize;
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, fs_bytes(st.f_bavail, unit));
  lua_setfield(L, -2, "free");
  lua_pushinteger(L, fs_bytes(st.f_blocks, unit));
  lua_setfield(L, -2, "total");
  lua_pushinteger(L, fs_bytes(unit, 1));
  lua_setfield(L, -2, "size");
  return 1;
}

/* Adds the file-system functions to the module table on the stack top.
 * [-0, +0, m] */
int luaopen_luanet_fs(lua_State *L) {
  static const luaL_Reg funcs[] = {
    { "statvfs", fs_statvfs },
    { "isatty", fs_isatty },
    { "stat", fs_stat },
    { "mkdir", fs_mkdir },
    { "realpath", fs_realpath },
    { "readdir", fs_readdir },
    { NULL, NULL },
  };
  luaL_setfuncs(L, funcs, 0);
  return 0;
}
