/* luanetd ctl [-s PATH] status [--json]|reload [NAME]|stop: a client of the control
 * socket. Exits 0 when the daemon did it, 1 when it refused or failed
 * (with its message on stderr), 2 when no daemon answers at PATH. */
#ifndef LUANET_CTL_H
#define LUANET_CTL_H

/* argv[0] is "ctl". */
int ctl_main(int argc, char **argv);

#endif
