/*
 * queue_mx.h - where mail for a domain goes: MX lookup (RFC 5321 5.1).
 *
 * MX records sorted by preference, hosts of equal preference in random
 * order; no MX at all: the domain's own A/AAAA (the implicit MX); a null MX
 * (RFC 7505: a single MX whose exchange is ".") or a domain that does not
 * exist: a permanent failure; a DNS failure: a temporary one. Each host's
 * addresses are tried IPv6 and IPv4 in turn.
 */
#ifndef YB_QUEUE_MX_H
#define YB_QUEUE_MX_H

#include "pal_dns.h"
#include "pal_socket.h"

#include <stddef.h>
#include <stdint.h>

/* Most MX hosts used for one domain. */
#define YB_MX_MAX_HOSTS 16
/* Most addresses tried for one domain. */
#define YB_MX_MAX_ADDRS 32

struct yb_mx_host {
    char name[PAL_DNS_NAME_MAX];
    uint16_t pref;
};

/* A uniform random number below bound (injectable for tests). */
typedef uint32_t (*yb_mx_random_fn)(void *arg, uint32_t bound);

/*
 * Sorts hosts by ascending preference and shuffles each run of equal
 * preference with rnd (NULL: the PAL's random source).
 */
void yb_mx_order(struct yb_mx_host *hosts, size_t n, yb_mx_random_fn rnd, void *arg);

enum yb_route_status { YB_ROUTE_OK = 0, YB_ROUTE_TEMP, YB_ROUTE_PERM };

struct yb_route_target {
    char host[PAL_DNS_NAME_MAX]; /* the MX host (or the domain itself) */
    struct pal_addr addr;        /* with the port set */
};

struct yb_route {
    size_t n;
    struct yb_route_target t[YB_MX_MAX_ADDRS];
    char why[300]; /* not OK: an enhanced code and text, e.g. "5.1.10 null MX" */
};

/*
 * Resolves domain (or a "[ip]" literal) into addresses on port, in the
 * order to try them. servers/timeout_ms as for pal_dns_query. Fills r and
 * returns its status; TEMP and PERM leave r->n == 0 and say why.
 */
enum yb_route_status yb_mx_route(const char *servers, unsigned timeout_ms, const char *domain,
                                 uint16_t port, struct yb_route *r);

/* Adds the addresses of host (AAAA and A, interleaved) to r; returns how many. */
size_t yb_mx_add_host(const char *servers, unsigned timeout_ms, const char *host, uint16_t port,
                      struct yb_route *r, int *dns_rc_r);

#endif
