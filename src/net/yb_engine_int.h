/*
 * yb_engine_int.h - the engine's private structures, shared by yb_engine.c
 * (loop, listeners, timers), yb_conn.c (socket and TLS I/O, dispatch) and
 * yb_sessapi.c (the handler-facing API). Not for protocol code.
 *
 * Ownership: fields marked [loop] are touched only by the loop thread;
 * [job] only by the worker running the session's callback (one at a time,
 * handed over through the engine's queues, which order the accesses);
 * [out] under s->out_lock by either.
 */
#ifndef YB_ENGINE_INT_H
#define YB_ENGINE_INT_H

#include "pal.h"
#include "yb_buf.h"
#include "yb_engine.h"
#include "yb_stream.h"

/* Bytes read from a socket per read call. */
#define YB_NET_READ_CHUNK (16 * 1024)
/* Largest body/literal chunk handed to a callback. */
#define YB_NET_BODY_CHUNK (64 * 1024)
/* Unconsumed plaintext kept per session beyond the protocol's line limit. */
#define YB_NET_IN_SLACK (64 * 1024)
/* Ceiling of a session's output buffer beyond the high-water mark. */
#define YB_NET_OUT_MAX (64u * 1024 * 1024)
/* Session id hash buckets and per-IP count buckets. */
#define YB_NET_ID_BUCKETS 4096
#define YB_NET_IP_BUCKETS 4096
/* Accepts per listener per loop iteration, and the pause when out of descriptors. */
#define YB_NET_ACCEPT_BATCH    64
#define YB_NET_ACCEPT_PAUSE_MS 250

enum sess_state {
    SS_HANDSHAKE, /* TLS handshake in progress */
    SS_INPUT,     /* waiting for a complete unit of input */
    SS_JOB,       /* queued for or running on a worker */
    SS_FLUSH_TLS, /* sending the plaintext reply to STARTTLS before the handshake */
    SS_CLOSING,   /* sending the last output, then close */
    SS_FINAL      /* proto->close is running or done; freed when it returns */
};

enum read_mode { RM_LINE, RM_DOT, RM_BYTES };

enum job_kind { JOB_OPEN, JOB_LINE, JOB_BODY, JOB_WAKE, JOB_TIMEOUT, JOB_CLOSE };

struct listener {
    struct listener *next;
    struct yb_listen_spec spec; /* spec.service points into service_buf */
    char service_buf[64];
    pal_sock sock;
    unsigned count; /* [loop] sessions from this listener */
    bool registered;
};

struct yb_session {
    struct yb_engine *e;
    struct listener *l; /* [loop]; NULL once its listener is gone */
    const struct yb_proto *proto;
    char service[64];
    void *pstate; /* [job] */
    uint64_t id;
    pal_sock sock;
    struct pal_addr peer, local;
    char peer_ip[PAL_ADDR_TEXT_MAX];

    /* [loop] */
    enum sess_state st;
    unsigned polled; /* events registered with the poller */
    struct yb_buf in;
    struct yb_buf wire; /* TLS ciphertext not yet sent */
    const struct yb_tls_ops *tls_ops;
    struct yb_tls_conn *tls;
    char tls_desc[96];
    bool eof;             /* the peer closed its side (TCP) */
    bool tls_eof;         /* TLS close_notify received */
    uint64_t sent_total;  /* bytes sent to the socket (send-progress deadline) */
    uint64_t job_started; /* monotonic ms the current job was handed over */
    bool io_error;        /* a read or write failed: the peer is gone */
    bool parked;
    bool wake_pending;
    bool opened;            /* open() ran: close() is owed */
    uint64_t deadline;      /* monotonic ms; 0 = none */
    size_t heap_idx;        /* position in the timer heap, or SIZE_MAX */
    uint64_t window_bytes;  /* body bytes in the current rate window */
    uint64_t rate_deadline; /* end of the current rate window (bodies), 0 = none */
    enum read_mode mode;
    struct yb_line_scanner ls;
    struct yb_dot_decoder dot;
    uint64_t bytes_left, body_max;
    struct yb_body_info binfo;
    unsigned ipslot; /* per-IP count bucket key hash */

    /* the job handed to a worker */
    enum job_kind job;
    struct yb_slice job_line;
    unsigned job_flags;
    size_t job_consume;
    enum yb_body_end job_end;
    enum yb_timeout_kind job_timeout;
    unsigned job_why;
    struct yb_buf chunk;

    /* [job] requests the loop applies when the job returns */
    bool req_close, req_tls, req_park;
    unsigned req_park_ms;
    bool req_mode;
    enum read_mode req_mode_to;
    uint64_t req_arg;

    /* [out] */
    pal_mutex out_lock;
    pal_cond out_cond;
    struct yb_buf out;
    size_t out_high, out_low; /* flow control marks, from the limits at accept */
    bool out_waiting;         /* a worker waits for the buffer to drain */
    bool out_dead;            /* the peer is gone: writes fail */
    bool flush_req_queued;

    /* links */
    struct yb_session *job_next;   /* worker queue */
    struct yb_session *done_next;  /* loop's done queue */
    struct yb_session *flush_next; /* loop's flush-request queue */
    struct yb_session *id_next;    /* id hash chain */
};

struct ipcount {
    struct ipcount *next;
    const struct listener *l; /* by identity; the key includes the service */
    unsigned char ip[16];
    size_t iplen;
    unsigned count;
};

struct yb_engine {
    struct yb_engine_limits lim; /* under lock */
    void *app;
    struct pal_poller *poller;
    pal_mutex lock; /* queues, limits, TLS context, listener changes */
    pal_cond cond;
    struct pal_thread *loop_thread;
    struct pal_thread **workers;
    unsigned nworkers;
    bool running, stopping, workers_quit;
    bool shutdown_requested, loop_done, loop_abandon; /* [lock] */
    bool shutting;                                    /* [loop] */
    uint64_t next_id;

    /* worker queue [lock] */
    struct yb_session *jobs_head, *jobs_tail;
    /* loop queues [lock] */
    struct yb_session *done_head, *done_tail;
    struct yb_session *flush_head;
    struct yb_buf wakes;                        /* uint64_t session ids */
    struct listener *pending_add;               /* listeners to install */
    const struct yb_listen_spec *pending_specs; /* the wanted set (caller's memory) */
    size_t pending_n;
    bool listeners_changed;
    unsigned listener_gen, listener_gen_done;

    /* TLS [lock] */
    const struct yb_tls_ops *tls_ops;
    struct yb_tls_ctx *tls_ctx;

    /* [loop] */
    struct listener *listeners;
    struct yb_session *ids[YB_NET_ID_BUCKETS];
    struct ipcount *ipc[YB_NET_IP_BUCKETS];
    struct yb_session **heap;
    size_t heap_n, heap_cap;
    uint64_t accept_paused_until;
    unsigned nsessions;

    /* statistics [lock] */
    struct yb_engine_stats stats;
};

/* yb_conn.c */
void yb__conn_readable(struct yb_session *s);
void yb__conn_writable(struct yb_session *s);
void yb__conn_dispatch(struct yb_session *s);
void yb__conn_job_done(struct yb_session *s);
void yb__conn_flush_request(struct yb_session *s);
/* On the worker, after a callback: send a plaintext reply without waiting for the loop. */
void yb__conn_send_early(struct yb_session *s);
void yb__conn_deadline(struct yb_session *s, uint64_t now);
void yb__conn_start_job(struct yb_session *s, enum job_kind kind);
void yb__conn_update_poll(struct yb_session *s);
int yb__conn_flush(struct yb_session *s);
void yb__conn_start_tls(struct yb_session *s);

/* yb_engine.c */
void yb__engine_queue_job(struct yb_engine *e, struct yb_session *s);
void yb__engine_post_done(struct yb_engine *e, struct yb_session *s);
void yb__engine_post_flush(struct yb_engine *e, struct yb_session *s);
void yb__engine_set_deadline(struct yb_engine *e, struct yb_session *s, uint64_t at);
void yb__engine_free_session(struct yb_engine *e, struct yb_session *s);
void yb__engine_limits(struct yb_engine *e, struct yb_engine_limits *l_r);

#endif
