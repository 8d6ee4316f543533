#include "log.h"
#include "json_print.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static _Atomic int min_level = LOG_INFO;   /* a SIGHUP sets it while workers log */
static _Atomic int format = LOG_FORMAT_TEXT;

/* Workers log from their threads: one line at a time, and one repeat
 * count. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The last error line printed, and how often it came again since. */
static struct {
  char service[64];
  char text[1024];
  unsigned repeats;
  time_t since;
} last;

bool log_level_parse(const char *name, enum log_level *out) {
  for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
    if (strcmp(name, level_names[i]) == 0) {
      *out = (enum log_level)i;
      return true;
    }
  }
  return false;
}

const char *log_level_name(enum log_level level) {
  return level_names[level];
}

void log_set_level(enum log_level level) {
  min_level = level;
}

void log_set_format(enum log_format f) {
  format = f;
}

static void write_line(enum log_level level, const char *service, const char *text) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm tm;
  gmtime_r(&now.tv_sec, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  char *line = NULL;
  size_t len = 0;
  FILE *out;
  if (format == LOG_FORMAT_JSON && (out = open_memstream(&line, &len))) {
    /* Built whole, then one write: a line is never split by another's. */
    fprintf(out, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"service\":", stamp, now.tv_nsec / 1000000,
            level_names[level]);
    json_print_cstring(out, service);
    fputs(",\"message\":", out);
    json_print_cstring(out, text);
    fputs("}\n", out);
    fclose(out);
    fwrite(line, 1, len, stderr);
    free(line);
  } else {
    fprintf(stderr, "%s.%03ldZ %s %s %s\n", stamp, now.tv_nsec / 1000000, level_names[level], service, text);
  }
  fflush(stderr);
}

static void report_repeats(void) {
  if (last.repeats == 0)
    return;
  char text[1100];
  snprintf(text, sizeof text, "%s (repeated %u more times)", last.text, last.repeats);
  write_line(LOG_ERROR, last.service, text);
  last.repeats = 0;
  last.since = time(NULL);
}

/* One line: newlines and the tabs that follow them become " | ". */
static void flatten(const char *msg, char *out, size_t size) {
  size_t n = 0;
  for (const char *p = msg; *p && n + 4 < size; p++) {
    if (*p == '\n') {
      while (p[1] == '\t' || p[1] == '\n')
        p++;
      if (p[1] == '\0')
        break;
      memcpy(out + n, " | ", 3);
      n += 3;
    } else {
      out[n++] = *p == '\t' ? ' ' : *p;
    }
  }
  out[n] = '\0';
}

static void log_line_locked(enum log_level level, const char *service, const char *text) {
  bool same = level == LOG_ERROR && strcmp(text, last.text) == 0 && strcmp(service, last.service) == 0;
  if (same) {
    last.repeats++;
    if (time(NULL) - last.since >= LOG_REPEAT_SECONDS)
      report_repeats();
    return;
  }
  report_repeats();   /* the count comes before whatever breaks the run */
  if (level == LOG_ERROR) {
    snprintf(last.service, sizeof last.service, "%s", service);
    snprintf(last.text, sizeof last.text, "%s", text);
    last.since = time(NULL);
  } else {
    last.text[0] = '\0';
  }
  write_line(level, service, text);
}

void log_line(enum log_level level, const char *service, const char *msg) {
  if ((int)level < atomic_load(&min_level))
    return;
  char text[1024];
  flatten(msg, text, sizeof text);
  pthread_mutex_lock(&lock);
  log_line_locked(level, service ? service : "luanetd", text);
  pthread_mutex_unlock(&lock);
}

void log_printf(enum log_level level, const char *service, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_line(level, service, msg);
}

void log_tick(void) {
  pthread_mutex_lock(&lock);
  if (last.repeats > 0 && time(NULL) - last.since >= 1)
    report_repeats();
  pthread_mutex_unlock(&lock);
}

void log_flush(void) {
  pthread_mutex_lock(&lock);
  report_repeats();
  pthread_mutex_unlock(&lock);
}
