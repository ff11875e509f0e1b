/*
 * queue.c - the queue runners: scheduler, delivery threads, connection
 * slots and the idle-connection pool (see yb_queue.h).
 */
#include "queue_int.h"
#include "yb_hash.h"
#include "yb_vars.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a set of ids (chained hash) ---- */

#define IDSET_BUCKETS 4096

struct idnode {
    struct idnode *next;
    char id[YB_SPOOL_ID_MAX + 1];
};

struct queue_idset {
    struct idnode *b[IDSET_BUCKETS];
};

static unsigned id_hash(const char *s)
{
    return yb_hash_bytes(YB_HASH_INIT, s, strlen(s)) % IDSET_BUCKETS;
}

/* Adds id; false when it was there already (or no memory). */
static bool idset_add(struct queue_idset *s, const char *id)
{
    unsigned h = id_hash(id);
    for (struct idnode *n = s->b[h]; n != NULL; n = n->next)
        if (strcmp(n->id, id) == 0)
            return false;
    struct idnode *n = malloc(sizeof *n);
    if (n == NULL)
        return false;
    snprintf(n->id, sizeof n->id, "%s", id);
    n->next = s->b[h];
    s->b[h] = n;
    return true;
}

static void idset_remove(struct queue_idset *s, const char *id)
{
    struct idnode **pp = &s->b[id_hash(id)];
    for (; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            struct idnode *n = *pp;
            *pp = n->next;
            free(n);
            return;
        }
    }
}

static void idset_free(struct queue_idset *s)
{
    for (size_t i = 0; i < IDSET_BUCKETS; i++) {
        while (s->b[i] != NULL) {
            struct idnode *n = s->b[i];
            s->b[i] = n->next;
            free(n);
        }
    }
    free(s);
}

/* ---- paths and the per-message log ---- */

int queue_path_root(const char *root, char *buf, const char *dir, const char *id)
{
    char spool[PAL_PATH_MAX], d[PAL_PATH_MAX];
    int rc = pal_path_join(spool, sizeof spool, root, "spool");
    if (rc == 0)
        rc = pal_path_join(id != NULL ? d : buf, PAL_PATH_MAX, spool, dir);
    if (rc == 0 && id != NULL)
        rc = pal_path_join(buf, PAL_PATH_MAX, d, id);
    return rc;
}

int queue_path(const struct yb_queue *q, char *buf, const char *dir, const char *id)
{
    return queue_path_root(q->root, buf, dir, id);
}

/* Appends data to spool/log/<id>. */
static void log_append(const char *root, const char *id, const void *data, size_t len)
{
    char path[PAL_PATH_MAX], dir[PAL_PATH_MAX];
    struct pal_file *f = NULL;
    const unsigned flags = PAL_O_WRONLY | PAL_O_CREAT | PAL_O_APPEND;
    if (len == 0 || queue_path_root(root, path, "log", id) != 0)
        return;
    int rc = pal_fs_open(path, flags, 0600, &f);
    if (rc == YB_ENOENT && queue_path_root(root, dir, "log", NULL) == 0 &&
        pal_file_mkdirs(dir) == 0)
        rc = pal_fs_open(path, flags, 0600, &f); /* a spool made before the log directory */
    if (rc != 0)
        return;
    (void)pal_file_write_all(f, data, len);
    pal_fs_close(&f);
}

void queue_notev(const char *root, const char *id, struct yb_buf *pending, enum yb_log_level level,
                 const char *fmt, va_list ap)
{
    char line[1200], ts[64], rec[1300];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    yb_log(level, "queue", "%s: %s", id, line);
    if (pal_time_rfc5322(pal_time_now(), 0, ts, sizeof ts) != 0)
        ts[0] = '\0';
    int m = snprintf(rec, sizeof rec, "%s\t%s\n", ts, line);
    if (m <= 0)
        return;
    size_t len = (size_t)m < sizeof rec ? (size_t)m : sizeof rec - 1;
    if (pending != NULL) {
        (void)yb_buf_append(pending, rec, len); /* beyond the buffer's limit: log only */
        return;
    }
    log_append(root, id, rec, len);
}

void queue_note(const char *root, const char *id, enum yb_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    queue_notev(root, id, NULL, level, fmt, ap);
    va_end(ap);
}

void queue_note_flush(const char *root, const char *id, struct yb_buf *pending)
{
    log_append(root, id, pending->p, pending->len);
    yb_buf_reset(pending);
}

void queue_count(struct yb_queue *q, uint64_t *counter, uint64_t n)
{
    pal_mutex_lock(&q->lock);
    *counter += n;
    pal_mutex_unlock(&q->lock);
}

void yb_queue_get_stats(struct yb_queue *q, struct yb_queue_stats *st_r)
{
    pal_mutex_lock(&q->lock);
    *st_r = q->stats;
    pal_mutex_unlock(&q->lock);
}

/* ---- connection slots ---- */

static struct queue_counter *counter_find(struct queue_counter **arr, size_t *n, size_t *cap,
                                          const char *key, bool create)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*arr)[i].key, key) == 0)
            return &(*arr)[i];
    if (!create)
        return NULL;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct queue_counter *na = realloc(*arr, nc * sizeof *na);
        if (na == NULL)
            return NULL;
        *arr = na;
        *cap = nc;
    }
    struct queue_counter *c = &(*arr)[(*n)++];
    snprintf(c->key, sizeof c->key, "%s", key);
    c->n = 0;
    return c;
}

static void counter_drop(struct queue_counter *arr, size_t *n, struct queue_counter *c)
{
    if (c->n == 0) {
        *c = arr[*n - 1];
        (*n)--;
    }
}

bool queue_slot_acquire(struct yb_queue *q, const struct yb_vars *v, const char *domain,
                        const char *ip)
{
    unsigned max_dom = (unsigned)yb_vars_num(v, YB_VAR_QueueMaxPerDomain);
    unsigned max_ip = (unsigned)yb_vars_num(v, YB_VAR_QueueMaxPerIP);
    struct smtpc_conn *evict = NULL;
    bool ok = false;
    pal_mutex_lock(&q->lock);
    struct queue_counter *d = counter_find(&q->dom, &q->ndom, &q->capdom, domain, true);
    struct queue_counter *i = counter_find(&q->ip, &q->nip, &q->capip, ip, true);
    if (d != NULL && i != NULL) {
        if (i->n >= max_ip) {
            /* An idle connection to the same server, for another domain, gives way. */
            for (size_t k = 0; k < q->npool; k++) {
                if (strcmp(q->pool[k].ip, ip) == 0) {
                    evict = q->pool[k].c;
                    struct queue_counter *od =
                        counter_find(&q->dom, &q->ndom, &q->capdom, q->pool[k].domain, false);
                    if (od != NULL && od->n > 0)
                        od->n--;
                    i->n--;
                    q->pool[k] = q->pool[--q->npool];
                    break;
                }
            }
            /* The table may have moved: look the counters up again. */
            d = counter_find(&q->dom, &q->ndom, &q->capdom, domain, true);
            i = counter_find(&q->ip, &q->nip, &q->capip, ip, true);
        }
        if (d != NULL && i != NULL && d->n < max_dom && i->n < max_ip) {
            d->n++;
            i->n++;
            ok = true;
        }
    }
    pal_mutex_unlock(&q->lock);
    if (evict != NULL)
        smtpc_close(&evict, true);
    return ok;
}

void queue_slot_release(struct yb_queue *q, const char *domain, const char *ip)
{
    pal_mutex_lock(&q->lock);
    struct queue_counter *d = counter_find(&q->dom, &q->ndom, &q->capdom, domain, false);
    if (d != NULL && d->n > 0) {
        d->n--;
        counter_drop(q->dom, &q->ndom, d);
    }
    struct queue_counter *i = counter_find(&q->ip, &q->nip, &q->capip, ip, false);
    if (i != NULL && i->n > 0) {
        i->n--;
        counter_drop(q->ip, &q->nip, i);
    }
    pal_cond_broadcast(&q->slot_cond);
    pal_mutex_unlock(&q->lock);
}

void queue_slot_wait(struct yb_queue *q, unsigned ms)
{
    pal_mutex_lock(&q->lock);
    if (!q->stopping)
        pal_cond_timedwait(&q->slot_cond, &q->lock, ms);
    pal_mutex_unlock(&q->lock);
}

/* ---- the idle pool ---- */

struct smtpc_conn *queue_pool_take(struct yb_queue *q, const char *domain, char *ip_r)
{
    struct smtpc_conn *c = NULL;
    pal_mutex_lock(&q->lock);
    for (size_t k = q->npool; k-- > 0;) {
        if (strcmp(q->pool[k].domain, domain) == 0) {
            c = q->pool[k].c;
            snprintf(ip_r, PAL_ADDR_TEXT_MAX, "%s", q->pool[k].ip);
            q->pool[k] = q->pool[--q->npool];
            break;
        }
    }
    pal_mutex_unlock(&q->lock);
    return c;
}

void queue_pool_put(struct yb_queue *q, const struct yb_vars *v, const char *domain, const char *ip,
                    struct smtpc_conn *c)
{
    bool keep = yb_vars_num(v, YB_VAR_QueueIdleConnection) > 0;
    pal_mutex_lock(&q->lock);
    if (keep && !q->stopping && q->npool < QUEUE_MAX_POOL) {
        struct queue_pooled *p = &q->pool[q->npool++];
        snprintf(p->domain, sizeof p->domain, "%s", domain);
        snprintf(p->ip, sizeof p->ip, "%s", ip);
        p->c = c;
        p->since_ms = pal_time_mono_ms();
        c = NULL;
        pal_cond_broadcast(&q->slot_cond);
    }
    pal_mutex_unlock(&q->lock);
    if (c != NULL) {
        smtpc_close(&c, true);
        queue_slot_release(q, domain, ip);
    }
}

/* Closes pooled connections idle longer than max_ms (all with max_ms 0). */
static void pool_expire(struct yb_queue *q, uint64_t max_ms)
{
    for (;;) {
        struct queue_pooled victim;
        bool found = false;
        uint64_t now = pal_time_mono_ms();
        pal_mutex_lock(&q->lock);
        for (size_t k = 0; k < q->npool; k++) {
            if (max_ms == 0 || now - q->pool[k].since_ms >= max_ms) {
                victim = q->pool[k];
                q->pool[k] = q->pool[--q->npool];
                found = true;
                break;
            }
        }
        pal_mutex_unlock(&q->lock);
        if (!found)
            return;
        smtpc_close(&victim.c, true);
        queue_slot_release(q, victim.domain, victim.ip);
    }
}

/* ---- jobs ---- */

/* Queues id for a runner (once). Call with the lock held. */
static void push_job_locked(struct yb_queue *q, const char *id, bool force)
{
    if (q->jcount == QUEUE_MAX_JOBS || !idset_add(q->inflight, id))
        return;
    struct queue_job *j = &q->jobs[(q->jhead + q->jcount) % QUEUE_MAX_JOBS];
    snprintf(j->id, sizeof j->id, "%s", id);
    j->force = force;
    q->jcount++;
    pal_cond_signal(&q->work_cond);
}

static void on_commit(void *arg, const char *id)
{
    struct yb_queue *q = arg;
    pal_mutex_lock(&q->lock);
    if (!q->stopping)
        push_job_locked(q, id, false);
    pal_mutex_unlock(&q->lock);
}

static void on_flush(void *arg, const char *domain)
{
    yb_queue_flush(arg, domain);
}

static void worker_main(void *arg)
{
    struct yb_queue *q = arg;
    for (;;) {
        struct queue_job job;
        pal_mutex_lock(&q->lock);
        while (q->jcount == 0 && !q->stopping)
            pal_cond_wait(&q->work_cond, &q->lock);
        if (q->stopping) {
            pal_mutex_unlock(&q->lock);
            return;
        }
        job = q->jobs[q->jhead];
        q->jhead = (q->jhead + 1) % QUEUE_MAX_JOBS;
        q->jcount--;
        pal_mutex_unlock(&q->lock);
        queue_process(q, job.id, job.force);
        pal_mutex_lock(&q->lock);
        idset_remove(q->inflight, job.id);
        pal_mutex_unlock(&q->lock);
    }
}

/* ---- the scheduler ---- */

static bool id_name(const char *name)
{
    size_t n = 0;
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return n > 0 && n <= YB_SPOOL_ID_MAX;
}

/* True when env has a waiting recipient at domain (ASCII case-insensitive). */
static bool waits_for(const struct yb_envelope *env, const char *domain)
{
    size_t dl = strlen(domain);
    for (size_t i = 0; i < env->nrcpt; i++) {
        const struct yb_env_rcpt *r = &env->rcpt[i];
        if (r->state != YB_RCPT_PENDING && r->state != YB_RCPT_DEFERRED)
            continue;
        const char *at = strrchr(r->addr, '@');
        if (at != NULL && strlen(at + 1) == dl &&
            yb_slice_eq_nocase(yb_slice_cstr(at + 1), yb_slice_make(domain, dl)))
            return true;
    }
    return false;
}

/* Queues every due message in queue/ (all with flush_all, one domain's with flush). */
static void scan_queue(struct yb_queue *q, bool flush_all, const char *flush_domain)
{
    char dir[PAL_PATH_MAX];
    struct pal_dir *d = NULL;
    struct pal_dirent ent;
    int64_t now = pal_time_now();
    if (queue_path(q, dir, "queue", NULL) != 0 || pal_fs_dir_open(dir, &d) != 0)
        return;
    while (pal_fs_dir_next(d, &ent) == 0 && ent.name != NULL) {
        if (!id_name(ent.name))
            continue;
        char id[YB_SPOOL_ID_MAX + 1];
        snprintf(id, sizeof id, "%s", ent.name);
        pal_mutex_lock(&q->lock);
        bool busy = q->stopping || q->jcount == QUEUE_MAX_JOBS;
        pal_mutex_unlock(&q->lock);
        if (busy)
            break;
        bool due = flush_all;
        bool force = flush_all;
        if (!due) {
            struct yb_envelope env;
            char err[300];
            int rc = yb_spool_read_envelope_in(q->root, "queue", id, &env, err, sizeof err);
            if (rc == YB_ENOENT)
                continue; /* claimed meanwhile */
            if (rc != 0) {
                due = true; /* the runner freezes it with the error */
            } else if (flush_domain[0] != '\0') {
                due = force = waits_for(&env, flush_domain);
            } else {
                due = env.next_attempt <= now;
            }
            yb_envelope_clear(&env);
        }
        if (due) {
            pal_mutex_lock(&q->lock);
            push_job_locked(q, id, force);
            pal_mutex_unlock(&q->lock);
        }
    }
    pal_fs_dir_close(&d);
}

/* Releases claims untouched for claim_s seconds (their runner died). */
static void release_stale_claims(struct yb_queue *q, int64_t claim_s)
{
    char dir[PAL_PATH_MAX];
    struct pal_dir *d = NULL;
    struct pal_dirent ent;
    int64_t now_ns = pal_time_now_ns();
    if (queue_path(q, dir, "active", NULL) != 0 || pal_fs_dir_open(dir, &d) != 0)
        return;
    while (pal_fs_dir_next(d, &ent) == 0 && ent.name != NULL) {
        char from[PAL_PATH_MAX], to[PAL_PATH_MAX];
        struct pal_stat st;
        if (!id_name(ent.name))
            continue;
        if (queue_path(q, from, "active", ent.name) != 0 ||
            queue_path(q, to, "queue", ent.name) != 0 || pal_fs_stat(from, &st) != 0)
            continue;
        if (now_ns - st.mtime_ns < claim_s * 1000000000LL)
            continue;
        pal_mutex_lock(&q->lock);
        bool mine = !idset_add(q->inflight, ent.name);
        if (!mine)
            idset_remove(q->inflight, ent.name);
        pal_mutex_unlock(&q->lock);
        if (mine)
            continue; /* one of our own runners has it */
        if (pal_fs_rename(from, to) == 0)
            queue_note(q->root, ent.name, YB_LOG_WARN,
                       "claim released: untouched for %llds (its runner died); the last "
                       "acknowledged delivery before the crash may be repeated if its state "
                       "was not saved",
                       (long long)claim_s);
    }
    pal_fs_dir_close(&d);
}

/* Removes crash leftovers: spool/tmp files, and messages no envelope names, older than age_s. */
static void cleanup_leftovers(struct yb_queue *q, int64_t age_s)
{
    char dir[PAL_PATH_MAX];
    int64_t now_ns = pal_time_now_ns();
    static const char *const subs[] = { "tmp", "msg" };
    for (size_t s = 0; s < 2; s++) {
        struct pal_dir *d = NULL;
        struct pal_dirent ent;
        if (queue_path(q, dir, subs[s], NULL) != 0 || pal_fs_dir_open(dir, &d) != 0)
            continue;
        while (pal_fs_dir_next(d, &ent) == 0 && ent.name != NULL) {
            char path[PAL_PATH_MAX], other[PAL_PATH_MAX];
            struct pal_stat st;
            if (pal_path_join(path, sizeof path, dir, ent.name) != 0 ||
                pal_fs_stat(path, &st) != 0 || st.type != PAL_FT_FILE ||
                now_ns - st.mtime_ns < age_s * 1000000000LL)
                continue;
            if (s == 1) {
                bool referenced = false;
                static const char *const envdirs[] = { "queue", "active", "frozen" };
                for (size_t k = 0; k < 3 && !referenced; k++)
                    referenced =
                        queue_path(q, other, envdirs[k], ent.name) == 0 && pal_file_exists(other);
                if (referenced)
                    continue;
            }
            if (pal_fs_unlink(path) == 0)
                yb_log_warn("queue", "removed crash leftover %s/%s", subs[s], ent.name);
        }
        pal_fs_dir_close(&d);
    }
}

static void sched_main(void *arg)
{
    struct yb_queue *q = arg;
    uint64_t last_scan = 0;
    for (;;) {
        struct yb_config *cfg = yb_confstore_get(q->store);
        const struct yb_vars *v = yb_config_vars(cfg);
        uint64_t interval = (uint64_t)yb_vars_num(v, YB_VAR_QueueScanInterval) * 1000u;
        int64_t claim = yb_vars_num(v, YB_VAR_QueueClaimTimeout);
        uint64_t idle = (uint64_t)yb_vars_num(v, YB_VAR_QueueIdleConnection) * 1000u;
        yb_config_unref(&cfg);

        pal_mutex_lock(&q->lock);
        if (q->stopping) {
            pal_mutex_unlock(&q->lock);
            break;
        }
        bool scan = q->scan_now || pal_time_mono_ms() - last_scan >= interval;
        bool flush_all = q->flush_all;
        char domain[PAL_DNS_NAME_MAX];
        snprintf(domain, sizeof domain, "%s", q->flush_domain);
        q->scan_now = q->flush_all = false;
        q->flush_domain[0] = '\0';
        pal_mutex_unlock(&q->lock);

        pool_expire(q, idle > 0 ? idle : 1);
        if (scan) {
            release_stale_claims(q, claim);
            scan_queue(q, flush_all, domain);
            last_scan = pal_time_mono_ms();
        }
        pal_mutex_lock(&q->lock);
        if (!q->stopping && !q->scan_now) {
            unsigned wait = (unsigned)interval;
            if (q->npool > 0 && wait > 500)
                wait = 500; /* keep idle connections' expiry on time */
            pal_cond_timedwait(&q->sched_cond, &q->lock, wait);
        }
        pal_mutex_unlock(&q->lock);
    }
}

/* ---- life cycle ---- */

int yb_queue_create(struct yb_confstore *store, struct yb_queue **q_r)
{
    struct yb_queue *q = calloc(1, sizeof *q);
    *q_r = NULL;
    if (q == NULL)
        return YB_ENOMEM;
    q->store = store;
    snprintf(q->root, sizeof q->root, "%s", yb_confstore_root(store));
    q->jobs = calloc(QUEUE_MAX_JOBS, sizeof *q->jobs);
    q->inflight = calloc(1, sizeof *q->inflight);
    if (q->jobs == NULL || q->inflight == NULL || pal_mutex_init(&q->lock) != 0) {
        free(q->jobs);
        free(q->inflight);
        free(q);
        return YB_ENOMEM;
    }
    pal_cond_init(&q->work_cond);
    pal_cond_init(&q->sched_cond);
    pal_cond_init(&q->slot_cond);
    static const char *const subs[] = { "tmp", "msg", "queue", "active", "frozen", "log" };
    for (size_t i = 0; i < YB_ARRAY_LEN(subs); i++) {
        char path[PAL_PATH_MAX];
        int rc = queue_path(q, path, subs[i], NULL);
        if (rc == 0)
            rc = pal_file_mkdirs(path);
        if (rc != 0) {
            yb_log_error("queue", "cannot create spool/%s: %s", subs[i], yb_strerror(rc));
            yb_queue_destroy(&q);
            return rc;
        }
    }
    struct yb_config *cfg = yb_confstore_get(store);
    const struct yb_vars *v = yb_config_vars(cfg);
    const char *name = yb_vars_str(v, YB_VAR_SmtpServerDomain);
    if (name[0] == '\0')
        name = yb_vars_str(v, YB_VAR_RootDomain);
    if (name[0] != '\0')
        snprintf(q->host, sizeof q->host, "%s", name);
    else if (pal_hostname(q->host, sizeof q->host) != 0)
        snprintf(q->host, sizeof q->host, "localhost");
    q->nworkers = (unsigned)yb_vars_num(v, YB_VAR_QueueWorkers);
    int64_t claim = yb_vars_num(v, YB_VAR_QueueClaimTimeout);
    int64_t age = yb_vars_num(v, YB_VAR_QueueCleanupAge);
    yb_config_unref(&cfg);
    release_stale_claims(q, claim);
    cleanup_leftovers(q, age);
    *q_r = q;
    return 0;
}

int yb_queue_start(struct yb_queue *q)
{
    int rc;
    if (q->nworkers == 0) {
        yb_log_info("queue", "QueueWorkers is 0: the queue is held (nothing is delivered)");
        return 0;
    }
    q->workers = calloc(q->nworkers, sizeof *q->workers);
    if (q->workers == NULL)
        return YB_ENOMEM;
    q->started = true;
    q->hook.committed = on_commit;
    q->hook.flush = on_flush;
    q->hook.arg = q;
    yb_spool_set_hook(&q->hook);
    for (unsigned i = 0; i < q->nworkers; i++)
        if ((rc = pal_thread_start(&q->workers[i], worker_main, q)) != 0)
            goto fail;
    if ((rc = pal_thread_start(&q->sched, sched_main, q)) != 0)
        goto fail;
    pal_mutex_lock(&q->lock);
    q->scan_now = true;
    pal_cond_signal(&q->sched_cond);
    pal_mutex_unlock(&q->lock);
    yb_log_info("queue", "%u delivery threads started", q->nworkers);
    return 0;
fail:
    yb_log_error("queue", "cannot start the queue runners: %s", yb_strerror(rc));
    yb_queue_stop(q);
    return rc;
}

void yb_queue_stop(struct yb_queue *q)
{
    if (q == NULL || !q->started)
        return;
    yb_spool_set_hook(NULL);
    pal_mutex_lock(&q->lock);
    q->stopping = true;
    pal_cond_broadcast(&q->work_cond);
    pal_cond_broadcast(&q->slot_cond);
    pal_cond_broadcast(&q->sched_cond);
    pal_mutex_unlock(&q->lock);
    if (q->sched != NULL)
        pal_thread_join(&q->sched);
    for (unsigned i = 0; i < q->nworkers; i++)
        if (q->workers[i] != NULL)
            pal_thread_join(&q->workers[i]);
    pool_expire(q, 0);
    q->started = false;
    yb_log_info("queue",
                "stopped: %llu connections opened, %llu transactions on reused connections, "
                "%llu recipients delivered, %llu deferred, %llu failed, %llu messages done",
                (unsigned long long)q->stats.connections, (unsigned long long)q->stats.reused,
                (unsigned long long)q->stats.delivered, (unsigned long long)q->stats.deferred,
                (unsigned long long)q->stats.failed, (unsigned long long)q->stats.messages_done);
}

void yb_queue_destroy(struct yb_queue **qp)
{
    struct yb_queue *q = *qp;
    if (q == NULL)
        return;
    *qp = NULL;
    yb_queue_stop(q);
    free(q->workers);
    free(q->jobs);
    if (q->inflight != NULL)
        idset_free(q->inflight);
    free(q->dom);
    free(q->ip);
    pal_cond_destroy(&q->work_cond);
    pal_cond_destroy(&q->sched_cond);
    pal_cond_destroy(&q->slot_cond);
    pal_mutex_destroy(&q->lock);
    free(q);
}

void yb_queue_flush(struct yb_queue *q, const char *domain)
{
    pal_mutex_lock(&q->lock);
    q->scan_now = true;
    if (domain == NULL || domain[0] == '\0')
        q->flush_all = true;
    else
        snprintf(q->flush_domain, sizeof q->flush_domain, "%s", domain);
    pal_cond_signal(&q->sched_cond);
    pal_mutex_unlock(&q->lock);
}
