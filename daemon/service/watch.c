#include "watch.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void sig_now(struct file_sig *f) {
  struct stat st;
  f->exists = stat(f->path, &st) == 0;
  f->mtime_ns = f->exists ? (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec : 0;
  f->size = f->exists ? (long long)st.st_size : 0;
  f->ino = f->exists ? (unsigned long long)st.st_ino : 0;
}

static void add(struct fileset *fs, const char *path) {
  for (int i = 0; i < fs->n; i++)
    if (strcmp(fs->files[i].path, path) == 0)
      return;
  struct file_sig *files = realloc(fs->files, ((size_t)fs->n + 1) * sizeof *files);
  if (!files)
    return;
  fs->files = files;
  struct file_sig *f = &fs->files[fs->n++];
  memset(f, 0, sizeof *f);
  f->path = strdup(path);
  sig_now(f);
}

/* In a protected call: the Lua files of package.loaded, as paths. */
static int loaded_files(lua_State *L) {
  struct fileset *fs = lua_touserdata(L, 1);
  lua_getglobal(L, "package");
  int package = lua_gettop(L);
  lua_getfield(L, package, "loaded");
  int loaded = lua_gettop(L);
  lua_getfield(L, package, "searchpath");
  lua_getfield(L, package, "path");
  int searchpath = loaded + 1, path = loaded + 2;
  lua_pushnil(L);
  while (lua_next(L, loaded)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_pushvalue(L, searchpath);
      lua_pushvalue(L, -2);
      lua_pushvalue(L, path);
      lua_call(L, 2, 1);
      if (lua_type(L, -1) == LUA_TSTRING)
        add(fs, lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  return 0;
}

void fileset_collect(lua_State *L, const char *script, struct fileset *out) {
  memset(out, 0, sizeof *out);
  add(out, script);
  if (!L)
    return;
  lua_pushcfunction(L, loaded_files);
  lua_pushlightuserdata(L, out);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK)
    lua_pop(L, 1);   /* a script that broke package: its script alone */
}

const char *fileset_changed(const struct fileset *fs) {
  for (int i = 0; i < fs->n; i++) {
    struct file_sig now = { .path = fs->files[i].path };
    sig_now(&now);
    const struct file_sig *was = &fs->files[i];
    if (now.exists != was->exists || now.mtime_ns != was->mtime_ns || now.size != was->size || now.ino != was->ino)
      return was->path;
  }
  return NULL;
}

void fileset_restat(const struct fileset *fs, struct fileset *out) {
  memset(out, 0, sizeof *out);
  for (int i = 0; i < fs->n; i++)
    add(out, fs->files[i].path);
}

void fileset_copy(const struct fileset *src, struct fileset *out) {
  memset(out, 0, sizeof *out);
  if (src->n == 0 || !(out->files = calloc((size_t)src->n, sizeof *out->files)))
    return;
  for (int i = 0; i < src->n; i++) {
    out->files[i] = src->files[i];
    out->files[i].path = strdup(src->files[i].path);
  }
  out->n = src->n;
}

bool fileset_equal(const struct fileset *a, const struct fileset *b) {
  if (a->n != b->n)
    return false;
  for (int i = 0; i < a->n; i++) {
    const struct file_sig *x = &a->files[i], *y = &b->files[i];
    if (strcmp(x->path, y->path) != 0 || x->exists != y->exists || x->mtime_ns != y->mtime_ns ||
        x->size != y->size || x->ino != y->ino)
      return false;
  }
  return true;
}

void fileset_free(struct fileset *fs) {
  for (int i = 0; i < fs->n; i++)
    free(fs->files[i].path);
  free(fs->files);
  fs->files = NULL;
  fs->n = 0;
}

/* ---- watchers ---- */

static void stat_cb(struct ev_loop *loop, ev_stat *s, int revents) {
  (void)revents;
  struct watcher *w = s->data;
  ev_timer_stop(loop, &w->settle);
  ev_timer_set(&w->settle, WATCH_SETTLE, 0.);
  ev_timer_start(loop, &w->settle);
}

static void settle_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  (void)revents;
  struct watcher *w = t->data;
  /* Once more a little later: a save within the same second as the last
   * one is invisible to ev_stat. */
  ev_timer_stop(loop, &w->recheck);
  ev_timer_set(&w->recheck, WATCH_RECHECK, 0.);
  ev_timer_start(loop, &w->recheck);
  w->changed(w->ud);
}

static void recheck_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  (void)loop, (void)revents;
  struct watcher *w = t->data;
  w->changed(w->ud);
}

void watcher_init(struct watcher *w, struct ev_loop *loop, void (*changed)(void *ud), void *ud) {
  memset(w, 0, sizeof *w);
  w->loop = loop;
  w->changed = changed;
  w->ud = ud;
  ev_init(&w->settle, settle_cb);
  ev_init(&w->recheck, recheck_cb);
  w->settle.data = w->recheck.data = w;
}

static void stop_stats(struct watcher *w) {
  for (int i = 0; i < w->n; i++) {
    ev_stat_stop(w->loop, &w->stats[i]);
    free((char *)w->stats[i].path);
  }
  free(w->stats);
  w->stats = NULL;
  w->n = 0;
}

void watcher_watch(struct watcher *w, const struct fileset *fs) {
  stop_stats(w);
  w->stats = calloc((size_t)fs->n + 1, sizeof *w->stats);
  if (!w->stats)
    return;
  for (int i = 0; i < fs->n; i++) {
    ev_stat_init(&w->stats[i], stat_cb, strdup(fs->files[i].path), 0.);
    w->stats[i].data = w;
    ev_stat_start(w->loop, &w->stats[i]);
  }
  w->n = fs->n;
}

void watcher_stop(struct watcher *w) {
  if (!w->loop)
    return;
  stop_stats(w);
  ev_timer_stop(w->loop, &w->settle);
  ev_timer_stop(w->loop, &w->recheck);
}
