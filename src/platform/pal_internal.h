/*
 * pal_internal.h - what only the platform layer shares with itself (pal__).
 * Never included outside src/platform.
 */
#ifndef YB_PAL_INTERNAL_H
#define YB_PAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "pal_compiler.h"
#include "pal_poll.h"

/* One entry of pal_dns_query's server override: an IPv4 address and a port. */
struct pal__dns_server {
    char ip[48];
    uint16_t port;
};

/*
 * Splits "ip[:port],..." (spaces after commas allowed; port 1-65535, default
 * 53) into out. YB_EINVAL for an empty list or a bad entry, YB_ELIMIT for
 * more than max entries. The address is not checked here.
 */
int pal__dns_parse_servers(const char *servers, struct pal__dns_server *out, size_t max,
                           size_t *n_r);

/* A poller backend; each platform lists its own in pal__poll_backend_list. */
struct pal__poll_backend {
    const char *name;
    int (*create)(struct pal_poller *p);
    void (*destroy)(struct pal_poller *p);
    int (*add)(struct pal_poller *p, pal_sock s, unsigned events, void *udata);
    int (*mod)(struct pal_poller *p, pal_sock s, unsigned events, void *udata);
    int (*del)(struct pal_poller *p, pal_sock s);
    int (*wait)(struct pal_poller *p, struct pal_poll_event *ev, size_t max, int timeout_ms,
                size_t *n_r);
    int (*wake)(struct pal_poller *p);
};

/* NULL-terminated, best first; defined by posix/pal_poll.c or win32/pal_poll.c. */
extern const struct pal__poll_backend *const pal__poll_backend_list[];

/*
 * The registration set used by the poll() and WSAPoll backends: dense arrays
 * (so a wait can build its pollfd array in one pass) plus a hash from socket
 * handle to slot, so lookups never index by descriptor number.
 */
struct pal__pollset {
    size_t n, cap;
    intptr_t *handle;
    unsigned *events;
    void **udata;
    size_t hcap;     /* power of two, 0 before first add */
    intptr_t *hkey;  /* handle, or PAL__HASH_EMPTY / PAL__HASH_TOMB */
    uint32_t *hslot; /* index into the dense arrays */
    size_t hused;    /* live + tombstones */
};

void pal__pollset_init(struct pal__pollset *set);
void pal__pollset_free(struct pal__pollset *set);
/* Returns the slot of h or -1. */
long pal__pollset_find(const struct pal__pollset *set, intptr_t h);
int pal__pollset_add(struct pal__pollset *set, intptr_t h, unsigned events, void *udata);
int pal__pollset_mod(struct pal__pollset *set, intptr_t h, unsigned events, void *udata);
int pal__pollset_del(struct pal__pollset *set, intptr_t h);

/* The poller object; backend state hangs off impl. */
struct pal_poller {
    const struct pal__poll_backend *backend;
    void *impl;
};

/*
 * Writes a printf-style message into errbuf (errsize bytes; nothing if
 * errbuf is NULL). A message that does not fit is cut: its start is still
 * the right message.
 */
void pal__set_errbuf(char *errbuf, size_t errsize, const char *fmt, ...) YB_PRINTF(3, 4);

#endif
