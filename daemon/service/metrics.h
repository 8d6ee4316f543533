/* The daemon's metrics in Prometheus's text exposition format (version
 * 0.0.4), every name starting luanetd_: per service and worker what
 * `ctl status --json` says, per worker thread its CPU time, per SharedDict
 * its use, and the process's own figures. metrics_http.c serves it. */
#ifndef LUANET_METRICS_H
#define LUANET_METRICS_H

#include <stdio.h>

struct daemon;

void metrics_write(struct daemon *d, FILE *out);

#endif
