/*
 * yb_server.h - yubind's runtime: the configuration store, the connection
 * engine with its listeners and TLS, and the loop that reloads them.
 */
#ifndef YB_SERVER_H
#define YB_SERVER_H

#include "yb_config.h"

/*
 * Runs the server on an opened configuration store until a shutdown event
 * (SIGTERM/SIGINT, console close, service STOP). Returns a process exit code.
 */
int yb_server_run(struct yb_confstore *store, const char *version);

#endif
