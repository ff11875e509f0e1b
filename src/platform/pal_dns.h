/*
 * pal_dns.h - DNS queries through the platform's own resolver.
 *
 * POSIX uses the libresolv stub resolver (res_nquery: resolv.conf, UDP with
 * TCP fallback on truncation, one private resolver state per call, so it is
 * thread-safe); Windows uses the DNS client service (DnsQuery_UTF8). The
 * platform resolver was chosen over a bundled library (c-ares) because it
 * needs no third-party code on either platform (no mingw cross-build),
 * follows the administrator's system DNS settings, and its blocking calls
 * fit the queue's delivery threads.
 *
 * servers overrides the system's name servers: "ip[:port]" entries separated
 * by commas ("127.0.0.1:5353"); NULL or "" uses the system configuration.
 * POSIX takes up to PAL_DNS_MAX_SERVERS IPv4 addresses with any port;
 * Windows takes one IPv4 address on port 53 (DnsQuery cannot change the
 * port) and answers YB_ENOTSUP otherwise.
 */
#ifndef YB_PAL_DNS_H
#define YB_PAL_DNS_H

#include <stddef.h>
#include <stdint.h>

/* Most records one answer keeps (the rest are dropped). */
#define PAL_DNS_MAX_RR 64
/* Longest name, dotted text with the NUL. */
#define PAL_DNS_NAME_MAX 256
/* Most rdata bytes one record keeps (longer records are dropped). */
#define PAL_DNS_DATA_MAX 1024
/* Most name servers in an override. */
#define PAL_DNS_MAX_SERVERS 3

enum pal_dns_type {
    PAL_DNS_A = 1,
    PAL_DNS_MX = 15,
    PAL_DNS_TXT = 16,
    PAL_DNS_AAAA = 28,
    PAL_DNS_TLSA = 52
};

struct pal_dns_rr {
    uint16_t type;
    uint16_t pref; /* MX: preference */
    uint32_t ttl;
    char name[PAL_DNS_NAME_MAX];          /* MX: the exchange, without the final dot */
    size_t len;                           /* bytes in data */
    unsigned char data[PAL_DNS_DATA_MAX]; /* A: 4 bytes, AAAA: 16, TXT: the
                                           * character-strings each with its length
                                           * byte (wire form), TLSA: wire rdata */
};

struct pal_dns_answer {
    size_t n; /* records of the asked type in the answer section */
    struct pal_dns_rr rr[PAL_DNS_MAX_RR];
};

/*
 * Asks for records of type at name (an absolute name; no search list is
 * applied). Returns 0 with ans->n >= 0 (0: the name exists but has no such
 * record), YB_ENOTFOUND when the name does not exist (NXDOMAIN),
 * YB_EAGAIN for a temporary failure (time-out, SERVFAIL, refused),
 * YB_EINVAL for a bad name or server list, YB_ENOTSUP as said above.
 * timeout_ms bounds each try; the resolver tries each server twice.
 */
int pal_dns_query(const char *servers, const char *name, enum pal_dns_type type,
                  unsigned timeout_ms, struct pal_dns_answer *ans);

#endif
