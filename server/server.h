/* The server proper: listener, sessions and the loop, driven by a loaded configuration. */
#ifndef ZD_SERVER_SERVER_H
#define ZD_SERVER_SERVER_H

#include "config.h"

/* Serves until SIGTERM/SIGINT, then finishes what is in flight. Returns the exit status (0 after a clean
 * stop; non-zero, after a log line saying why, when the server could not start). */
int srv_server_run(const srv_config *cfg);

#endif
