/*
 * queue_int.h - what the queue's files share (not for outside src/queue).
 */
#ifndef YB_QUEUE_INT_H
#define YB_QUEUE_INT_H

#include "pal.h"
#include "smtpc.h"
#include "yb_buf.h"
#include "yb_log.h"
#include <stdarg.h>
#include "yb_queue.h"

/* Most ids waiting for a runner at once (the rest wait for the next scan). */
#define QUEUE_MAX_JOBS 100000
/* Most idle connections kept. */
#define QUEUE_MAX_POOL 256

struct queue_counter {
    char key[PAL_DNS_NAME_MAX];
    unsigned n;
};

struct queue_pooled {
    char domain[PAL_DNS_NAME_MAX];
    char ip[PAL_ADDR_TEXT_MAX];
    struct smtpc_conn *c;
    uint64_t since_ms;
};

struct queue_job {
    char id[YB_SPOOL_ID_MAX + 1];
    bool force;
};

struct queue_idset;

struct yb_queue {
    struct yb_confstore *store;
    char root[PAL_PATH_MAX];
    char host[256]; /* our name in EHLO and DSNs */
    pal_mutex lock;
    pal_cond work_cond, sched_cond;
    pal_cond slot_cond; /* signalled when a slot is released or a connection pooled */
    bool stopping, started;
    struct queue_job *jobs;
    size_t jhead, jcount;
    struct queue_idset *inflight; /* ids queued as jobs or being delivered */
    bool scan_now, flush_all;
    char flush_domain[PAL_DNS_NAME_MAX];
    struct pal_thread *sched;
    struct pal_thread **workers;
    unsigned nworkers;
    struct queue_counter *dom, *ip;
    size_t ndom, nip, capdom, capip;
    struct queue_pooled pool[QUEUE_MAX_POOL];
    size_t npool;
    struct yb_queue_stats stats;
    struct yb_spool_hook hook;
};

/* Paths under ROOT/spool: "<dir>/<id>" (id NULL: the directory). */
int queue_path(const struct yb_queue *q, char *buf, const char *dir, const char *id);
int queue_path_root(const char *root, char *buf, const char *dir, const char *id);

/* Appends a line to spool/log/<id> and logs it (service "queue"). */
void queue_note(const char *root, const char *id, enum yb_log_level level, const char *fmt, ...)
    YB_PRINTF(4, 5);

/*
 * The same, but with pending set the line waits there instead of going to
 * the file: a delivery attempt writes its lines to the message's log only
 * when the message stays in the queue (a delivered message needs no log
 * file of its own: creating and deleting one per message costs more than
 * the delivery's own disk work). queue_note_flush appends what waits.
 */
void queue_notev(const char *root, const char *id, struct yb_buf *pending, enum yb_log_level level,
                 const char *fmt, va_list ap) YB_PRINTF(5, 0);
void queue_note_flush(const char *root, const char *id, struct yb_buf *pending);

/* Delivers (an attempt at) one claimable message: queue_deliver.c. */
void queue_process(struct yb_queue *q, const char *id, bool force);

/*
 * Connection slots: a slot is held while a connection to (domain, ip) is
 * open, pooled or not. acquire returns false at a limit (after closing an
 * idle pooled connection to the same IP if that frees a slot).
 */
bool queue_slot_acquire(struct yb_queue *q, const struct yb_vars *v, const char *domain,
                        const char *ip);
void queue_slot_release(struct yb_queue *q, const char *domain, const char *ip);

/* Waits up to ms for a slot to be released or a connection to be pooled. */
void queue_slot_wait(struct yb_queue *q, unsigned ms);

/* An idle connection to domain, or NULL; ip_r gets its address. */
struct smtpc_conn *queue_pool_take(struct yb_queue *q, const char *domain, char *ip_r);
/* Keeps an idle connection (or closes it when the pool is full or idle time is 0). */
void queue_pool_put(struct yb_queue *q, const struct yb_vars *v, const char *domain, const char *ip,
                    struct smtpc_conn *c);

void queue_count(struct yb_queue *q, uint64_t *counter, uint64_t n);

#endif
