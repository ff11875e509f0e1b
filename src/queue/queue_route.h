/*
 * queue_route.h - where a domain's mail goes: a smarthost from the
 * smarthost file (server.tab QueueSmarthostFile, under ROOT), else its MX.
 *
 * The smarthost file is a tab file (tabs/FORMAT.md), one relay per record:
 *   "domain"  "host[:port]"  "tls"  "user"  "password"
 * domain is a destination domain or "*" (all mail not matched otherwise);
 * an empty host keeps MX delivery and sets only the TLS policy for the
 * domain (per-destination TLS: e.g. "verify" for a partner's domain);
 * tls is none, may, encrypt (STARTTLS required) or verify (required, and
 * the certificate must be valid for host); user and password, when not
 * empty, are used with AUTH PLAIN, only over TLS. The file is re-read when
 * it changes; a file that does not parse is reported and ignored (MX
 * delivery goes on).
 */
#ifndef YB_QUEUE_ROUTE_H
#define YB_QUEUE_ROUTE_H

#include "queue_mx.h"
#include "smtpc.h"
#include "yb_vars.h"

struct queue_relay {
    bool smarthost;
    enum smtpc_tls tls;
    char user[256], password[256];
};

/*
 * Fills route and relay for domain. Returns the route's status (see
 * yb_mx_route).
 */
enum yb_route_status queue_route(const char *root, const struct yb_vars *v, const char *domain,
                                 struct yb_route *route, struct queue_relay *relay);

/* "none", "may", "encrypt", "verify" (ASCII case-insensitive); false when none matches. */
bool queue_tls_parse(const char *text, enum smtpc_tls *tls_r);

#endif
