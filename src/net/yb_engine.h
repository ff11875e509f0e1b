/*
 * yb_engine.h - the connection engine: listeners, sessions, TLS, limits.
 *
 * One loop thread owns the poller, every socket, TLS record processing and
 * the timers; protocol callbacks run on a bounded pool of worker threads.
 * A connection waiting for its next command holds no thread and only its
 * small session record (buffers are released while idle). Disk work in a
 * callback (fsync) occupies one worker, never the loop.
 */
#ifndef YB_ENGINE_H
#define YB_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pal_socket.h"
#include "yb_session.h"
#include "yb_tls.h"

struct yb_engine;

struct yb_engine_limits {
    unsigned workers;               /* worker threads (0: 2 x CPUs, at least 4) */
    unsigned max_conns;             /* all services together */
    unsigned max_conns_per_service; /* per listener (service and address) */
    unsigned max_conns_per_ip;      /* per client IP, per service */
    unsigned idle_timeout_ms;       /* waiting for a complete command */
    unsigned tls_handshake_ms;      /* TLS handshake must finish within */
    unsigned min_rate_bytes;        /* bodies: at least this many bytes ... */
    unsigned min_rate_window_ms;    /* ... per this window, or the client is cut off */
    size_t out_high_water;          /* yb_session_write waits above this */
    unsigned shutdown_grace_ms;     /* running callbacks may finish within */
};

/* Sensible defaults (RFC 5321's 5-minute idle timeout etc.). */
void yb_engine_limits_default(struct yb_engine_limits *l);

enum yb_listen_tls {
    YB_LISTEN_PLAIN = 0,   /* plaintext; STARTTLS possible when a TLS context is set */
    YB_LISTEN_IMPLICIT = 1 /* TLS from the first byte */
};

struct yb_listen_spec {
    const char *service;  /* "SmtpListen" */
    struct pal_addr addr; /* port 0: the OS chooses */
    const struct yb_proto *proto;
    enum yb_listen_tls tls;
};

struct yb_engine_stats {
    uint64_t accepted, refused, closed, timeouts;
    unsigned current, listeners;
};

/*
 * Creates an engine (not yet running). app is handed to sessions
 * (yb_session_app). Returns 0 or an error.
 */
int yb_engine_create(const struct yb_engine_limits *limits, void *app, struct yb_engine **engine_r);

/*
 * Sets the TLS server context (a reference is taken; NULL: no TLS). New
 * handshakes use it; sessions keep the one they started with. Thread-safe.
 */
void yb_engine_set_tls(struct yb_engine *e, const struct yb_tls_ops *ops, struct yb_tls_ctx *ctx);

/*
 * Makes the listener set equal to specs: listeners not in it are closed,
 * new ones opened, identical ones (same service, address, protocol, TLS
 * mode) kept with their sockets. With port 0 the bound address is in
 * bound_r[i] (may be NULL). On a bind error nothing changes and errbuf says
 * which address and why. Thread-safe; runs on the loop thread when the
 * engine is running.
 */
int yb_engine_set_listeners(struct yb_engine *e, const struct yb_listen_spec *specs, size_t n,
                            struct pal_addr *bound_r, char *errbuf, size_t errsize);

/* Changes the limits for new sessions and timers set from now on. Thread-safe. */
void yb_engine_set_limits(struct yb_engine *e, const struct yb_engine_limits *limits);

/* Starts the loop and worker threads. */
int yb_engine_start(struct yb_engine *e);

/*
 * Graceful stop: stops accepting, lets running callbacks finish (up to
 * shutdown_grace_ms), gives idle sessions timeout(YB_TIMEOUT_SHUTDOWN) so
 * they can say goodbye, flushes, closes everything, joins the threads.
 */
void yb_engine_stop(struct yb_engine *e);

/* Frees a stopped (or never started) engine; sets *e to NULL. */
void yb_engine_destroy(struct yb_engine **e);

/*
 * Wakes the session with this id if it is parked (YB_WAKE_EVENT); if it is
 * busy, the wake is delivered when it parks next. Any thread. A session that
 * no longer exists is ignored.
 */
void yb_engine_wake(struct yb_engine *e, uint64_t session_id);

void yb_engine_stats(struct yb_engine *e, struct yb_engine_stats *st_r);

#endif
