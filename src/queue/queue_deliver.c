/*
 * queue_deliver.c - one delivery attempt of one message: claim, group the
 * waiting recipients by domain, one connection per domain, state saved
 * after each domain, then DSNs and the retry decision.
 */
#include "queue_bounce.h"
#include "queue_int.h"
#include "queue_retry.h"
#include "queue_route.h"
#include "yb_stats.h"
#include "yb_vars.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct attempt {
    struct yb_queue *q;
    struct yb_config *cfg;
    const struct yb_vars *v;
    char id[YB_SPOOL_ID_MAX + 1];
    char active[PAL_PATH_MAX], msg[PAL_PATH_MAX];
    struct yb_envelope env;
    uint64_t size;
    int64_t now;
    bool busy;                        /* a connection limit kept some recipients from an attempt */
    bool interrupted;                 /* stopped before every domain was tried */
    bool *failed_now;                 /* per recipient: failed in this attempt */
    bool *relayed;                    /* per recipient: NOTIFY=SUCCESS to a server without DSN */
    char (*remote)[PAL_DNS_NAME_MAX]; /* per recipient: the server that answered last */
    struct yb_buf notes;              /* log lines waiting for the message's log file */
};

/* Most bytes of log lines one attempt keeps for the message's log file. */
#define YB_LIMIT_ATTEMPT_NOTES (256u * 1024)

static void note(struct attempt *a, enum yb_log_level level, const char *fmt, ...) YB_PRINTF(3, 4);

static void note(struct attempt *a, enum yb_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    queue_notev(a->q->root, a->id, &a->notes, level, fmt, ap);
    va_end(ap);
}

static bool is_waiting(const struct yb_env_rcpt *r)
{
    return r->state == YB_RCPT_PENDING || r->state == YB_RCPT_DEFERRED;
}

static const char *domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at != NULL ? at + 1 : "";
}

static bool notify_has(const char *notify, const char *what)
{
    size_t n = strlen(what);
    for (const char *p = notify; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == n && yb_slice_eq_nocase(yb_slice_make(p, len), yb_slice_make(what, n)))
            return true;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return false;
}

/* Sets a recipient's result (last_error is replaced). */
static void set_result(struct attempt *a, size_t i, enum yb_rcpt_state st, const char *text,
                       bool counts)
{
    struct yb_env_rcpt *r = &a->env.rcpt[i];
    char *dup = malloc(strlen(text) + 1);
    if (dup != NULL) {
        memcpy(dup, text, strlen(text) + 1);
        free(r->last_error);
        r->last_error = dup;
    }
    r->state = st;
    if (counts)
        r->attempts++;
    if (st == YB_RCPT_FAILED)
        a->failed_now[i] = true;
    uint64_t *counter = st == YB_RCPT_SENT     ? &a->q->stats.delivered
                        : st == YB_RCPT_FAILED ? &a->q->stats.failed
                                               : &a->q->stats.deferred;
    if (counts || st != YB_RCPT_DEFERRED) {
        queue_count(a->q, counter, 1);
        yb_stats_add(st == YB_RCPT_SENT     ? YB_STAT_DELIVERED
                     : st == YB_RCPT_FAILED ? YB_STAT_BOUNCED
                                            : YB_STAT_DEFERRED);
    }
}

/* Writes the envelope over the claimed file (durable; refreshes the claim's time). */
static int save(struct attempt *a)
{
    char *text = NULL;
    size_t len = 0;
    int rc = yb_envelope_format(&a->env, &text, &len);
    if (rc == 0)
        rc = pal_file_replace(a->active, text, len);
    free(text);
    if (rc != 0)
        note(a, YB_LOG_ERROR, "cannot save the delivery state: %s", yb_strerror(rc));
    return rc;
}

static void freeze(struct yb_queue *q, const char *id, const char *from_path, const char *why,
                   struct yb_buf *notes)
{
    if (notes != NULL)
        queue_note_flush(q->root, id, notes);
    char to[PAL_PATH_MAX];
    if (queue_path(q, to, "frozen", id) == 0 && pal_fs_rename(from_path, to) == 0)
        queue_note(q->root, id, YB_LOG_ERROR, "frozen (an administrator must act): %s", why);
    else
        queue_note(q->root, id, YB_LOG_ERROR, "cannot freeze: %s", why);
}

/* Longest wait for a connection slot before the message is put back. */
#define SLOT_WAIT_MS 30000

/* A domain's route, looked up only when a new connection is needed. */
struct lazy_route {
    bool done;
    enum yb_route_status st;
    struct yb_route r;
    struct queue_relay relay;
};

/* Opens a connection to the first target that takes one. */
static struct smtpc_conn *connect_any(struct attempt *a, const char *domain,
                                      const struct yb_route *route, const struct queue_relay *relay,
                                      char *ip_r, struct smtpc_status *st)
{
    struct smtpc_opts o;
    memset(&o, 0, sizeof o);
    o.helo = a->q->host;
    o.tls = relay->tls;
    o.connect_ms = (unsigned)yb_vars_num(a->v, YB_VAR_SmtpClientConnectTimeout) * 1000u;
    o.max_wait_ms = (unsigned)yb_vars_num(a->v, YB_VAR_SmtpClientMaxWait) * 1000u;
    bool any_tried = false;
    for (size_t t = 0; t < route->n; t++) {
        char ip[PAL_ADDR_TEXT_MAX];
        pal_addr_format(&route->t[t].addr, false, ip, sizeof ip);
        if (!queue_slot_acquire(a->q, a->v, domain, ip))
            continue;
        any_tried = true;
        struct smtpc_conn *c = NULL;
        int rc = smtpc_open(&route->t[t].addr, route->t[t].host, &o, &c, st);
        if (rc != 0 && st->tls_failed && o.tls == SMTPC_TLS_MAY) {
            /* Opportunistic TLS that fails is retried in clear, as Postfix does. */
            note(a, YB_LOG_INFO, "%s [%s]: %s; retrying without TLS", route->t[t].host, ip,
                 st->text);
            struct smtpc_opts clear = o;
            clear.tls = SMTPC_TLS_NONE;
            rc = smtpc_open(&route->t[t].addr, route->t[t].host, &clear, &c, st);
        }
        if (rc == 0 && relay->user[0] != '\0')
            rc = smtpc_auth_plain(c, relay->user, relay->password, st);
        if (rc == 0) {
            queue_count(a->q, &a->q->stats.connections, 1);
            snprintf(ip_r, PAL_ADDR_TEXT_MAX, "%s", ip);
            yb_log_debug("queue", "%s: connected to %s [%s]%s", a->id, route->t[t].host, ip,
                         smtpc_is_tls(c) ? " with TLS" : "");
            return c;
        }
        smtpc_close(&c, rc != YB_ECLOSED);
        queue_slot_release(a->q, domain, ip);
        note(a, YB_LOG_INFO, "%s [%s]: %s", route->t[t].host, ip, st->text);
    }
    if (!any_tried) {
        a->busy = true;
        snprintf(st->text, sizeof st->text, "4.4.5 connection limit for %s reached; retrying soon",
                 domain);
        st->code = 451;
        st->permanent = false;
    }
    return NULL;
}

/* Verdicts a connection's extensions force on the whole message, or NULL. */
static const char *refusal(struct attempt *a, const struct smtpc_conn *c)
{
    const struct smtpc_ext *e = smtpc_extensions(c);
    if (a->env.smtputf8 && !e->smtputf8)
        return "553 5.6.7 the message needs SMTPUTF8 and the server does not offer it";
    if (strcmp(a->env.body, "8BITMIME") == 0 && !e->eightbit)
        return "554 5.6.3 the message has 8-bit content and the server does not offer 8BITMIME";
    if (strcmp(a->env.body, "BINARYMIME") == 0)
        return "554 5.6.3 binary content cannot be relayed";
    if (e->size_known && e->size > 0 && a->size > e->size)
        return "552 5.3.4 the message is larger than the server's SIZE limit";
    return NULL;
}

/* Delivers one batch (<= SMTPC_MAX_RCPTS) of one domain's recipients. */
static void deliver_batch(struct attempt *a, const char *domain, struct lazy_route *lr,
                          const size_t *idx, size_t n)
{
    struct smtpc_rcpt rc_in[SMTPC_MAX_RCPTS];
    struct smtpc_status st;
    char ip[PAL_ADDR_TEXT_MAX];
    memset(&st, 0, sizeof st);
    struct smtpc_msg m = { a->env.from,     a->env.ret,
                           a->env.envid,    strcmp(a->env.body, "8BITMIME") == 0,
                           a->env.smtputf8, a->size,
                           a->msg };
    for (int tries = 0; tries < 2; tries++) {
        bool reused = true;
        struct smtpc_conn *c = queue_pool_take(a->q, domain, ip);
        if (c == NULL) {
            reused = false;
            if (!lr->done) {
                lr->st = queue_route(a->q->root, a->v, domain, &lr->r, &lr->relay);
                lr->done = true;
            }
            if (lr->st != YB_ROUTE_OK) {
                enum yb_rcpt_state s = lr->st == YB_ROUTE_PERM ? YB_RCPT_FAILED : YB_RCPT_DEFERRED;
                for (size_t k = 0; k < n; k++)
                    set_result(a, idx[k], s, lr->r.why, true);
                note(a, YB_LOG_INFO, "domain %s: %s (%u recipient(s) %s)", domain, lr->r.why,
                     (unsigned)n, s == YB_RCPT_FAILED ? "failed" : "deferred");
                return;
            }
            /* At a connection limit, wait for a slot or an idle connection:
             * the holders are other runners mid-delivery, done in bounded time. */
            uint64_t until = pal_time_mono_ms() + SLOT_WAIT_MS;
            for (;;) {
                a->busy = false;
                c = connect_any(a, domain, &lr->r, &lr->relay, ip, &st);
                if (c != NULL || !a->busy || pal_time_mono_ms() >= until)
                    break;
                queue_slot_wait(a->q, 200);
                if ((c = queue_pool_take(a->q, domain, ip)) != NULL) {
                    reused = true;
                    break;
                }
            }
        }
        if (c == NULL) {
            for (size_t k = 0; k < n; k++)
                set_result(a, idx[k], YB_RCPT_DEFERRED, st.text[0] ? st.text : "4.4.1 no server",
                           !a->busy);
            return;
        }
        const char *no = refusal(a, c);
        if (no != NULL) {
            for (size_t k = 0; k < n; k++) {
                set_result(a, idx[k], YB_RCPT_FAILED, no, true);
                snprintf(a->remote[idx[k]], PAL_DNS_NAME_MAX, "%s", smtpc_host(c));
            }
            queue_pool_put(a->q, a->v, domain, ip, c);
            return;
        }
        for (size_t k = 0; k < n; k++) {
            const struct yb_env_rcpt *r = &a->env.rcpt[idx[k]];
            rc_in[k].addr = r->addr;
            rc_in[k].notify = r->notify;
            rc_in[k].orcpt = r->orcpt;
        }
        if (reused)
            queue_count(a->q, &a->q->stats.reused, 1);
        bool accepted = false;
        int rc = smtpc_send(c, &m, rc_in, n, &accepted);
        if (accepted)
            note(a, YB_LOG_INFO, "accepted by %s [%s] for %u recipient(s) at %s; saving state",
                 smtpc_host(c), ip, (unsigned)n, domain);
        if (rc != 0 && reused && !accepted && tries == 0) {
            /* A stale pooled connection: once more on a fresh one. */
            smtpc_close(&c, false);
            queue_slot_release(a->q, domain, ip);
            continue;
        }
        bool dsn = smtpc_extensions(c)->dsn;
        for (size_t k = 0; k < n; k++) {
            const struct smtpc_status *res = &rc_in[k].result;
            size_t i = idx[k];
            enum yb_rcpt_state s = res->code >= 200 && res->code < 300 ? YB_RCPT_SENT
                                   : res->code >= 500                  ? YB_RCPT_FAILED
                                                                       : YB_RCPT_DEFERRED;
            snprintf(a->remote[i], PAL_DNS_NAME_MAX, "%s", smtpc_host(c));
            set_result(a, i, s, res->text, true);
            if (s == YB_RCPT_SENT && !dsn && notify_has(a->env.rcpt[i].notify, "SUCCESS"))
                a->relayed[i] = true;
            note(a, YB_LOG_INFO, "to=<%s> relay=%s[%s]%s result=%s %s", a->env.rcpt[i].addr,
                 smtpc_host(c), ip, smtpc_is_tls(c) ? " tls" : "",
                 s == YB_RCPT_SENT     ? "sent"
                 : s == YB_RCPT_FAILED ? "failed"
                                       : "deferred",
                 res->text);
        }
        if (rc == 0) {
            queue_pool_put(a->q, a->v, domain, ip, c);
        } else {
            smtpc_close(&c, false);
            queue_slot_release(a->q, domain, ip);
        }
        return;
    }
}

/* One domain, in batches: an idle connection first, else a route and a new one. */
static void deliver_domain(struct attempt *a, const char *domain, const size_t *idx, size_t n)
{
    struct lazy_route *lr = calloc(1, sizeof *lr);
    if (lr == NULL) {
        for (size_t k = 0; k < n; k++)
            set_result(a, idx[k], YB_RCPT_DEFERRED, "4.3.0 out of memory", true);
        return;
    }
    for (size_t k = 0; k < n; k += SMTPC_MAX_RCPTS)
        deliver_batch(a, domain, lr, idx + k, n - k > SMTPC_MAX_RCPTS ? SMTPC_MAX_RCPTS : n - k);
    free(lr);
}

/* Sends the DSN of one kind for the recipients selected by pick; true when one was due. */
static void send_dsn(struct attempt *a, enum yb_dsn_action action, const bool *pick,
                     int64_t retry_until)
{
    size_t n = 0;
    for (size_t i = 0; i < a->env.nrcpt; i++)
        n += pick[i];
    if (n == 0)
        return;
    struct yb_dsn_rcpt *r = calloc(n, sizeof *r);
    if (r == NULL)
        return;
    size_t k = 0;
    for (size_t i = 0; i < a->env.nrcpt; i++) {
        if (!pick[i])
            continue;
        r[k].addr = a->env.rcpt[i].addr;
        r[k].orcpt = a->env.rcpt[i].orcpt;
        r[k].status = a->env.rcpt[i].last_error;
        r[k].remote = a->remote[i];
        r[k].action = action;
        k++;
    }
    struct yb_dsn d = { a->q->host,
                        a->env.from,
                        a->env.envid,
                        a->id,
                        a->env.arrival,
                        a->now,
                        retry_until,
                        strcmp(a->env.ret, "HDRS") == 0,
                        strcmp(a->env.body, "8BITMIME") == 0,
                        a->msg,
                        n,
                        r };
    int rc = yb_dsn_send(a->cfg, a->q->root, &d);
    note(a, rc == 0 ? YB_LOG_INFO : YB_LOG_ERROR, "%s DSN for %u recipient(s) to <%s>%s%s",
         action == YB_DSN_FAILED    ? "failure"
         : action == YB_DSN_DELAYED ? "delay"
                                    : "relay",
         (unsigned)n, a->env.from,
         rc == 0 ? "" : ": cannot send: ", rc == 0 ? "" : yb_strerror(rc));
    free(r);
}

static void finish(struct attempt *a)
{
    struct yb_queue *q = a->q;
    size_t n = a->env.nrcpt;
    bool *pick = calloc(n, sizeof *pick);
    if (pick == NULL) {
        save(a);
        return;
    }
    bool bounce_ok = a->env.from[0] != '\0';
    /* Still waiting: retry, or give up at the maximum age. */
    unsigned attempts = 0;
    size_t waiting = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_waiting(&a->env.rcpt[i])) {
            waiting++;
            if (a->env.rcpt[i].attempts > attempts)
                attempts = a->env.rcpt[i].attempts;
        }
    }
    struct yb_retry sched;
    if (yb_retry_parse(yb_vars_str(a->v, YB_VAR_QueueRetrySchedule), &sched) != 0)
        yb_retry_default(&sched);
    int64_t max_age = yb_vars_num(a->v, YB_VAR_QueueMaxAge);
    int64_t next = 0;
    if (waiting > 0) {
        if (a->interrupted) {
            next = a->now;
        } else if (a->busy && attempts == 0) {
            next = a->now + 5;
        } else if (!yb_retry_next(&sched, a->env.arrival, attempts, a->now, max_age, &next)) {
            for (size_t i = 0; i < n; i++) {
                if (!is_waiting(&a->env.rcpt[i]))
                    continue;
                char why[SMTPC_STATUS_MAX + 64];
                snprintf(why, sizeof why, "%s (gave up after %u attempts)",
                         a->env.rcpt[i].last_error, a->env.rcpt[i].attempts);
                set_result(a, i, YB_RCPT_FAILED, why, false);
            }
            waiting = 0;
            note(a, YB_LOG_WARN, "maximum queue time reached; giving up");
        } else if (a->busy && next > a->now + 5) {
            next = a->now + 5;
        }
    }
    /* Failure DSN for what failed now, unless NOTIFY says otherwise. */
    bool any_failed = false;
    for (size_t i = 0; i < n; i++) {
        const char *nt = a->env.rcpt[i].notify;
        pick[i] = a->failed_now[i] && (nt[0] == '\0' || notify_has(nt, "FAILURE"));
        any_failed |= a->failed_now[i];
    }
    if (bounce_ok) {
        send_dsn(a, YB_DSN_FAILED, pick, 0);
        for (size_t i = 0; i < n; i++)
            pick[i] = a->relayed[i];
        send_dsn(a, YB_DSN_RELAYED, pick, 0);
        int64_t warn = yb_vars_num(a->v, YB_VAR_QueueDelayWarning);
        if (waiting > 0 && yb_retry_warn_due(a->env.arrival, a->now, warn, a->env.warned)) {
            bool any = false;
            for (size_t i = 0; i < n; i++) {
                pick[i] = is_waiting(&a->env.rcpt[i]) && notify_has(a->env.rcpt[i].notify, "DELAY");
                any |= pick[i];
            }
            send_dsn(a, YB_DSN_DELAYED, pick, a->env.arrival + max_age);
            a->env.warned = true;
            (void)any;
        }
    }
    free(pick);
    char queue_file[PAL_PATH_MAX];
    if (waiting > 0) {
        a->env.next_attempt = next;
        if (save(a) == 0 && queue_path(q, queue_file, "queue", a->id) == 0 &&
            pal_fs_rename(a->active, queue_file) == 0) {
            yb_log_info("queue", "%s: state saved", a->id);
            note(a, YB_LOG_INFO, "%u recipient(s) waiting; next attempt in %llds",
                 (unsigned)waiting, (long long)(next - a->now));
        }
        /* The message stays: its log file gets this attempt's lines. */
        queue_note_flush(q->root, a->id, &a->notes);
        return;
    }
    if (!bounce_ok && any_failed) {
        /* A DSN that cannot be delivered: never another DSN; the administrator decides. */
        save(a);
        freeze(q, a->id, a->active, "a delivery status notification could not be delivered",
               &a->notes);
        return;
    }
    /* Done: the envelope first (a crash then leaves only an unreferenced message, cleaned up). */
    char log_path[PAL_PATH_MAX], active_dir[PAL_PATH_MAX];
    if (pal_fs_unlink(a->active) != 0)
        return;
    if (queue_path(q, active_dir, "active", NULL) == 0)
        pal_fs_sync_dir(active_dir);
    pal_fs_unlink(a->msg);
    if (queue_path(q, log_path, "log", a->id) == 0)
        pal_fs_unlink(log_path);
    queue_count(q, &q->stats.messages_done, 1);
    yb_log_info("queue", "%s: done (%u recipient(s))", a->id, (unsigned)n);
}

void queue_process(struct yb_queue *q, const char *id, bool force)
{
    struct attempt a;
    char queued[PAL_PATH_MAX], err[600];
    memset(&a, 0, sizeof a);
    a.q = q;
    snprintf(a.id, sizeof a.id, "%s", id);
    if (queue_path(q, queued, "queue", id) != 0 || queue_path(q, a.active, "active", id) != 0 ||
        queue_path(q, a.msg, "msg", id) != 0)
        return;
    /* The claim: whoever renames first delivers. */
    if (pal_fs_rename(queued, a.active) != 0)
        return;
    int rc = yb_spool_read_envelope_in(q->root, "active", id, &a.env, err, sizeof err);
    if (rc != 0) {
        yb_log_error("queue", "refusing envelope %s: %s", id, err);
        freeze(q, id, a.active, err, NULL);
        return;
    }
    a.now = pal_time_now();
    if (!force && a.env.next_attempt > a.now) {
        pal_fs_rename(a.active, queued); /* not due (a scan raced a runner's update) */
        yb_envelope_clear(&a.env);
        return;
    }
    struct pal_stat st;
    if ((rc = pal_fs_stat(a.msg, &st)) != 0) {
        yb_envelope_clear(&a.env);
        freeze(q, id, a.active, "the message file is missing", NULL);
        return;
    }
    a.size = st.size;
    yb_buf_init(&a.notes, YB_LIMIT_ATTEMPT_NOTES);
    a.cfg = yb_confstore_get(q->store);
    a.v = yb_config_vars(a.cfg);
    size_t n = a.env.nrcpt;
    a.failed_now = calloc(n, sizeof *a.failed_now);
    a.relayed = calloc(n, sizeof *a.relayed);
    a.remote = calloc(n, sizeof *a.remote);
    size_t *idx = calloc(n, sizeof *idx);
    bool *grouped = calloc(n, sizeof *grouped);
    if (a.failed_now == NULL || a.relayed == NULL || a.remote == NULL || idx == NULL ||
        grouped == NULL) {
        pal_fs_rename(a.active, queued);
        goto out;
    }
    /* One domain at a time, each domain's recipients together. */
    for (size_t i = 0; i < n; i++) {
        if (grouped[i] || !is_waiting(&a.env.rcpt[i]))
            continue;
        pal_mutex_lock(&q->lock);
        bool stopping = q->stopping;
        pal_mutex_unlock(&q->lock);
        if (stopping) {
            a.interrupted = true;
            break;
        }
        const char *dom = domain_of(a.env.rcpt[i].addr);
        size_t k = 0;
        for (size_t j = i; j < n; j++) {
            if (!grouped[j] && is_waiting(&a.env.rcpt[j]) &&
                yb_slice_eq_nocase(yb_slice_cstr(domain_of(a.env.rcpt[j].addr)),
                                   yb_slice_cstr(dom))) {
                grouped[j] = true;
                idx[k++] = j;
            }
        }
        char domain[PAL_DNS_NAME_MAX];
        snprintf(domain, sizeof domain, "%s", dom);
        deliver_domain(&a, domain, idx, k);
        /* Saved before the next domain; after the last one finish() makes the
         * outcome durable in one step (removal, or save and requeue). */
        bool more = false;
        for (size_t j = i + 1; j < n && !more; j++)
            more = !grouped[j] && is_waiting(&a.env.rcpt[j]);
        if (more && save(&a) == 0)
            yb_log_info("queue", "%s: state saved after %s", id, domain);
    }
    finish(&a);
out:
    free(idx);
    free(grouped);
    free(a.failed_now);
    free(a.relayed);
    free(a.remote);
    yb_envelope_clear(&a.env);
    yb_config_unref(&a.cfg);
    yb_buf_free(&a.notes);
}
