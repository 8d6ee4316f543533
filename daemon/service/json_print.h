/* JSON written by the daemon itself: `ctl status --json`, log lines with
 * log = { format = "json" }. Strings come from scripts and peers (an
 * error message may quote a client's bytes), so any byte is taken and
 * the output stays JSON: what is not UTF-8 is written as U+FFFD. */
#ifndef LUANET_JSON_PRINT_H
#define LUANET_JSON_PRINT_H

#include <stddef.h>
#include <stdio.h>

/* s[0..n) as a JSON string, with its quotes. */
void json_print_string(FILE *out, const char *s, size_t n);
/* A NUL-terminated s; null for NULL. */
void json_print_cstring(FILE *out, const char *s);

#endif
