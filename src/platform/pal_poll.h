/*
 * pal_poll.h - readiness poller over many sockets.
 *
 * Backends: epoll (Linux), poll() (any POSIX system; also selectable on Linux
 * for tests), WSAPoll (Windows). Registrations are keyed by socket handle and
 * carry an opaque user pointer; nothing is indexed by descriptor number.
 *
 * Semantics are level-triggered on every backend. Threading contract: one
 * thread (the loop thread) calls add/mod/del/wait; any thread may call
 * pal_poller_wake() to make a blocked wait return early.
 */
#ifndef YB_PAL_POLL_H
#define YB_PAL_POLL_H

#include <stddef.h>
#include "pal_socket.h"

enum {
    PAL_POLL_IN = 1u << 0,  /* readable (or a connection to accept) */
    PAL_POLL_OUT = 1u << 1, /* writable (or a non-blocking connect finished) */
    PAL_POLL_ERR = 1u << 2, /* error condition; reported even if not asked */
    PAL_POLL_HUP = 1u << 3  /* peer hung up; reported even if not asked; a HUP
                               comes with IN when IN was asked, so a reader
                               always reads the end of stream */
};

struct pal_poll_event {
    void *udata;     /* the pointer given to pal_poller_add/mod */
    unsigned events; /* PAL_POLL_* bits that are ready */
};

struct pal_poller;

/*
 * Creates a poller. backend NULL picks the best one for the platform;
 * otherwise "epoll", "poll" or "wsapoll" (YB_ENOTSUP if not built here).
 */
int pal_poller_create(const char *backend, struct pal_poller **poller_r);

/* Destroys *poller and sets it to NULL. Registered sockets are not closed. */
void pal_poller_destroy(struct pal_poller **poller);

/* Name of the backend in use ("epoll", "poll", "wsapoll"). */
const char *pal_poller_backend(const struct pal_poller *poller);

/*
 * NULL-terminated list of backend names built into this binary, best first.
 * Tests run the poller suite once per entry.
 */
const char *const *pal_poller_backends(void);

/* Registers sock for events (PAL_POLL_IN/OUT; 0 = only ERR/HUP). YB_EEXIST if present. */
int pal_poller_add(struct pal_poller *poller, pal_sock sock, unsigned events, void *udata);

/* Changes the events and user pointer of a registered socket. YB_ENOENT if absent. */
int pal_poller_mod(struct pal_poller *poller, pal_sock sock, unsigned events, void *udata);

/* Removes sock. Must be called before the socket is closed. YB_ENOENT if absent. */
int pal_poller_del(struct pal_poller *poller, pal_sock sock);

/*
 * Waits up to timeout_ms (< 0 forever, 0 = just check) and stores at most max
 * ready events. *n_r may be 0 on timeout or after a wake-up. Returns 0 or an
 * error; an interrupted wait returns 0 with *n_r = 0.
 */
int pal_poller_wait(struct pal_poller *poller, struct pal_poll_event *events, size_t max,
                    int timeout_ms, size_t *n_r);

/* Makes a current or the next pal_poller_wait() return. Thread-safe, async-safe. */
int pal_poller_wake(struct pal_poller *poller);

#endif
