/*
 * yb_ports.h - ROOT/run/ports.tab: the addresses the listeners really bound
 * (port 0 in server.tab lets the OS choose), so tests and scripts find them.
 */
#ifndef YB_PORTS_H
#define YB_PORTS_H

#include <stddef.h>
#include "pal_socket.h"

struct yb_bound_port {
    const char *service;  /* the server.tab variable, e.g. "SmtpListen" */
    struct pal_addr addr; /* the address actually bound */
};

/*
 * Writes ROOT/run/ports.tab atomically: one record per listener,
 * "service"<TAB>"ip"<TAB>"port". Creates ROOT/run if needed.
 */
int yb_ports_write(const char *root, const struct yb_bound_port *ports, size_t n);

#endif
