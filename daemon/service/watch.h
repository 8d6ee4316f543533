/* The files a generation of a service runs (its script and every Lua file
 * it required), their stat signatures, and watchers that notice a change.
 *
 * libev's ev_stat compares times to the whole second, so a second save
 * within the same second can go unseen: after any change the watcher calls
 * back once more WATCH_RECHECK seconds later, and the caller compares
 * signatures (nanosecond mtime, size, inode), which do see it. */
#ifndef LUANET_WATCH_H
#define LUANET_WATCH_H

#include <ev.h>
#include <lua.h>
#include <stdbool.h>

#define WATCH_SETTLE 0.1     /* an editor's save is several syscalls */
#define WATCH_RECHECK 1.1

struct file_sig {
  char *path;
  long long mtime_ns, size;
  unsigned long long ino;
  bool exists;
};

struct fileset {
  struct file_sig *files;
  int n;
};

/* The script, then (when L is not NULL) each file of package.loaded that
 * package.searchpath finds on package.path in L, with their signatures. */
void fileset_collect(lua_State *L, const char *script, struct fileset *out);
/* The first file whose signature differs from what it is now, or NULL. */
const char *fileset_changed(const struct fileset *fs);
/* The same paths with their signatures now. */
void fileset_restat(const struct fileset *fs, struct fileset *out);
bool fileset_equal(const struct fileset *a, const struct fileset *b);
/* A copy of src (paths and signatures as they were). */
void fileset_copy(const struct fileset *src, struct fileset *out);
void fileset_free(struct fileset *fs);

struct watcher {
  struct ev_loop *loop;
  ev_stat *stats;
  int n;
  ev_timer settle, recheck;
  void (*changed)(void *ud);
  void *ud;
};

void watcher_init(struct watcher *w, struct ev_loop *loop, void (*changed)(void *ud), void *ud);
/* Watches the paths of fs (replacing what it watched). */
void watcher_watch(struct watcher *w, const struct fileset *fs);
void watcher_stop(struct watcher *w);

#endif
