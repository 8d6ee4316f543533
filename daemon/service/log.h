/* The daemon's log: one line per event on stderr, "TIME LEVEL SERVICE
 * message", which journald and a terminal both read well; or, with
 * log = { format = "json" }, one JSON object per line ({"time", "level",
 * "service", "message"}) for log shippers. Lines under the
 * configured level are dropped; an error line that repeats the one before
 * it is counted instead of printed, and the count is reported before the
 * next different line (or every LOG_REPEAT_SECONDS while it goes on). */
#ifndef LUANET_LOG_H
#define LUANET_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

#define LOG_REPEAT_SECONDS 10

/* "debug", "info", "warn" or "error"; false for anything else. */
bool log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);
void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
/* `service` may be NULL for the daemon's own lines ("luanetd"). A message
 * of several lines (a traceback) becomes one line, its lines joined by
 * " | ". */
void log_line(enum log_level level, const char *service, const char *msg);
void log_printf(enum log_level level, const char *service, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports a pending repeat count once it is a second old (the daemon's
 * timers call it), or at once (at exit). */
void log_tick(void);
void log_flush(void);

#endif
