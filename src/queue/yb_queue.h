/*
 * yb_queue.h - outbound delivery: the queue runners, and the queue's
 * administrative API (for the CTRL commands and yubind).
 *
 * ROOT/spool (see yb_spool.h) holds:
 *   queue/<id>   ready envelopes (their "next" record says when to try)
 *   active/<id>  envelopes claimed by a runner (rename from queue/ is the
 *                claim: atomic, so several yubind processes sharing ROOT
 *                never deliver one message twice)
 *   frozen/<id>  messages an administrator must act on (an undeliverable
 *                DSN, an unreadable envelope)
 *   msg/<id>     the messages;  log/<id>  each message's delivery log
 *
 * Runners: QueueWorkers delivery threads doing blocking I/O (DNS, SMTP)
 * with time-outs, fed by a scheduler thread that scans queue/ every
 * QueueScanInterval, at once when the SMTP server commits a message, and on
 * a flush (ETRN). A message's recipients are grouped by domain: one
 * connection per domain carries all of them (batches of 100), and an idle
 * connection is kept QueueIdleConnection for the next message to the same
 * domain. Connection limits: QueueWorkers in all, QueueMaxPerDomain and
 * QueueMaxPerIP; a runner at a limit waits (up to 30 s) for a slot or an
 * idle connection. The outcome of each domain's attempt is made durable
 * before the next domain is tried (the envelope rewritten: write, fsync,
 * rename), and after the last one in a single step: the envelope removed
 * (unlink, directory fsync) when nothing waits, else rewritten and moved
 * back to queue/. A crash can therefore only repeat a delivery the remote
 * had stored before that step; the log shows it ("accepted by ..." or
 * nothing, without "state saved" or "done" after it). A claim untouched for
 * QueueClaimTimeout (its runner died) is released to queue/.
 */
#ifndef YB_QUEUE_H
#define YB_QUEUE_H

#include "yb_config.h"
#include "yb_spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct yb_queue;

/*
 * Creates the runners for store's root (not started). At creation the
 * spool is recovered: expired claims are released, and spool/tmp files
 * and messages with no envelope older than QueueCleanupAge are removed.
 */
int yb_queue_create(struct yb_confstore *store, struct yb_queue **q_r);

/*
 * Starts the threads and registers for the spool's commit hook. With
 * QueueWorkers 0 nothing starts: the queue is held.
 */
int yb_queue_start(struct yb_queue *q);

/*
 * Stops: running deliveries finish their current connection (bounded by
 * the SMTP time-outs); claimed messages go back to queue/.
 */
void yb_queue_stop(struct yb_queue *q);
void yb_queue_destroy(struct yb_queue **q);

/*
 * Deliver now whatever is waiting (domain NULL) or waiting for one domain
 * (ETRN), ignoring the retry schedule. Thread-safe; returns at once.
 */
void yb_queue_flush(struct yb_queue *q, const char *domain);

/* Counters since start (the benchmark prints them). */
struct yb_queue_stats {
    uint64_t connections; /* outbound connections opened */
    uint64_t reused;      /* transactions on a reused connection */
    uint64_t delivered;   /* recipients delivered */
    uint64_t deferred, failed;
    uint64_t messages_done; /* messages removed from the queue */
};
void yb_queue_get_stats(struct yb_queue *q, struct yb_queue_stats *st_r);

/* ---- administration (no running queue needed: they work on ROOT) ---- */

enum yb_queue_dir { YB_QDIR_QUEUE, YB_QDIR_ACTIVE, YB_QDIR_FROZEN };

struct yb_queue_entry {
    char id[YB_SPOOL_ID_MAX + 1];
    enum yb_queue_dir where;
    int64_t arrival, next_attempt;
    char from[320];
    unsigned nrcpt, nwaiting; /* recipients; those pending or deferred */
    char last_error[700];     /* of the first waiting recipient, or "" */
};

/*
 * Lists the messages in one of the directories. *e_r is malloc'ed (free
 * it); an envelope that cannot be read is listed with nrcpt 0 and its
 * error in last_error.
 */
int yb_queue_list(const char *root, enum yb_queue_dir where, struct yb_queue_entry **e_r,
                  size_t *n_r);

/* Frozen message back to the queue for an attempt now (its deferred recipients retried). */
int yb_queue_thaw(const char *root, const char *id);

/* Deletes a frozen message with its log. */
int yb_queue_delete_frozen(const char *root, const char *id);

/* Reads a message's delivery log / the message itself (malloc'ed, *len_r bytes). */
int yb_queue_read_log(const char *root, const char *id, char **text_r, size_t *len_r);
int yb_queue_read_message(const char *root, const char *id, uint64_t max, char **data_r,
                          size_t *len_r);

#endif
