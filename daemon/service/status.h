/* `luanetd ctl status`: one line per service (and one per draining
 * generation) for people, or with --json one JSON document with the same
 * facts and the counters, for scripts. */
#ifndef LUANET_STATUS_H
#define LUANET_STATUS_H

#include <stdio.h>

struct daemon;

void status_text(struct daemon *d, FILE *out);
void status_json(struct daemon *d, FILE *out);

#endif
