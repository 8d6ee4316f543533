/* fuzz_metrics: what the daemon's own listeners read and write from
 * strangers' bytes: the metrics listener's request line
 * (daemon/service/metrics_route.c) and the JSON strings of `ctl status
 * --json` and JSON log lines (daemon/service/json_print.c), which take
 * any bytes. Checked, besides memory safety:
 *   - a head judged complete has its end inside the input, and a prefix
 *     without that end is not complete;
 *   - /metrics is served only to a request line that starts with
 *     "GET /metrics" or "HEAD /metrics";
 *   - json_print_string's output is one valid JSON string (json_text.c's
 *     own check), which decodes to the input when the input is UTF-8. */
#include "json_print.h"
#include "json_text.h"
#include "metrics_route.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what) {
  fprintf(stderr, "fuzz_metrics: invariant broken: %s\n", what);
  abort();
}

static void check_route(const char *p, size_t n) {
  bool complete = metrics_head_complete(p, n);
  const char *lf = memchr(p, '\n', n);
  if (complete && !lf)
    fail("complete without a line feed");
  if (complete && n > 1 && metrics_head_complete(p, 1))
    fail("complete after one byte");
  bool head_only;
  enum metrics_route r = metrics_route(p, n, &head_only);
  if (r == METRICS_ROUTE_METRICS) {
    bool get = n >= 12 && memcmp(p, "GET /metrics", 12) == 0;
    bool head = n >= 13 && memcmp(p, "HEAD /metrics", 13) == 0;
    if (!(get && !head_only) && !(head && head_only))
      fail("/metrics served to another request line");
  }
}

static void check_json(const char *p, size_t n) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f)
    return;
  json_print_string(f, p, n);
  fclose(f);
  size_t size;
  struct json_error e;
  if (json_text_string(out, len, &size, &e) != len)
    fail("json_print_string wrote what is not one JSON string");
  if (utf8_valid((const uint8_t *)p, n)) {
    char *back = malloc(size + 1);
    json_text_unescape(back, out + 1, len - 2);
    if (size != n || memcmp(back, p, n) != 0)
      fail("a UTF-8 string does not come back");
    free(back);
  }
  free(out);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  check_route((const char *)data, size);
  check_json((const char *)data, size);
  return 0;
}
