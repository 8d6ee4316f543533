/* systemd's notify protocol without libsystemd: datagrams such as
 * "READY=1" to the Unix socket named by NOTIFY_SOCKET (a leading '@' is
 * the abstract namespace). Without NOTIFY_SOCKET every call does nothing. */
#ifndef LUANET_NOTIFY_H
#define LUANET_NOTIFY_H

/* Sends one message; lines may be joined with '\n'. */
void notify_send(const char *message);
/* RELOADING=1 with the MONOTONIC_USEC that systemd 253+ asks for. */
void notify_reloading(void);
/* Half of WATCHDOG_USEC in seconds when the watchdog is on for us, else 0. */
double notify_watchdog_interval(void);

#endif
