/*
 * yb_engine.c - the loop thread (poller, listeners, accept, timers), the
 * worker pool, and the engine's life cycle.
 */
#include "yb_engine.h"
#include "yb_engine_int.h"
#include "yb_log.h"
#include "yb_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The poller's user pointer for a listener is tagged so it is told apart from a session. */
#define LISTENER_TAG ((uintptr_t)1)

void yb_engine_limits_default(struct yb_engine_limits *l)
{
    memset(l, 0, sizeof(*l));
    l->workers = 0;
    l->max_conns = 20000;
    l->max_conns_per_service = 10000;
    l->max_conns_per_ip = 200;
    l->idle_timeout_ms = 5 * 60 * 1000; /* RFC 5321 4.5.3.2.7: at least 5 minutes */
    l->tls_handshake_ms = 30 * 1000;
    l->min_rate_bytes = 1024;
    l->min_rate_window_ms = 60 * 1000;
    l->out_high_water = 256 * 1024;
    l->shutdown_grace_ms = 10 * 1000;
}

void yb__engine_limits(struct yb_engine *e, struct yb_engine_limits *l_r)
{
    pal_mutex_lock(&e->lock);
    *l_r = e->lim;
    pal_mutex_unlock(&e->lock);
}

/* ---- timers: a binary min-heap of sessions by deadline [loop] ---- */

static void heap_swap(struct yb_engine *e, size_t a, size_t b)
{
    struct yb_session *t = e->heap[a];
    e->heap[a] = e->heap[b];
    e->heap[b] = t;
    e->heap[a]->heap_idx = a;
    e->heap[b]->heap_idx = b;
}

static void heap_up(struct yb_engine *e, size_t i)
{
    while (i > 0 && e->heap[(i - 1) / 2]->deadline > e->heap[i]->deadline) {
        heap_swap(e, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(struct yb_engine *e, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < e->heap_n && e->heap[l]->deadline < e->heap[m]->deadline)
            m = l;
        if (r < e->heap_n && e->heap[r]->deadline < e->heap[m]->deadline)
            m = r;
        if (m == i)
            return;
        heap_swap(e, i, m);
        i = m;
    }
}

static void heap_remove(struct yb_engine *e, struct yb_session *s)
{
    size_t i = s->heap_idx;
    if (i == SIZE_MAX)
        return;
    e->heap_n--;
    if (i != e->heap_n) {
        e->heap[i] = e->heap[e->heap_n];
        e->heap[i]->heap_idx = i;
        heap_down(e, i);
        heap_up(e, i);
    }
    s->heap_idx = SIZE_MAX;
}

void yb__engine_set_deadline(struct yb_engine *e, struct yb_session *s, uint64_t at)
{
    heap_remove(e, s);
    s->deadline = at;
    if (at == 0)
        return;
    if (e->heap_n == e->heap_cap) {
        size_t cap = e->heap_cap ? e->heap_cap * 2 : 256;
        struct yb_session **h = realloc(e->heap, cap * sizeof(*h));
        if (h == NULL)
            abort(); /* a session without its timer would never time out */
        e->heap = h;
        e->heap_cap = cap;
    }
    s->heap_idx = e->heap_n;
    e->heap[e->heap_n++] = s;
    heap_up(e, s->heap_idx);
}

/* ---- session registry and per-IP counts [loop] ---- */

static unsigned ip_hash(const struct listener *l, const unsigned char *ip, size_t len)
{
    uint64_t h = (uint64_t)(uintptr_t)l * 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ ip[i]) * 0x100000001B3ull;
    return (unsigned)(h % YB_NET_IP_BUCKETS);
}

static struct ipcount **ip_find(struct yb_engine *e, const struct listener *l,
                                const unsigned char *ip, size_t len, unsigned *bucket_r)
{
    unsigned b = ip_hash(l, ip, len);
    *bucket_r = b;
    struct ipcount **pp = &e->ipc[b];
    while (*pp != NULL &&
           !((*pp)->l == l && (*pp)->iplen == len && memcmp((*pp)->ip, ip, len) == 0))
        pp = &(*pp)->next;
    return pp;
}

static void ip_release(struct yb_engine *e, struct yb_session *s)
{
    unsigned char ip[16];
    size_t len;
    unsigned b;
    if (s->l == NULL || pal_addr_bytes(&s->peer, ip, &len) != 0)
        return;
    struct ipcount **pp = ip_find(e, s->l, ip, len, &b);
    if (*pp != NULL && --(*pp)->count == 0) {
        struct ipcount *dead = *pp;
        *pp = dead->next;
        free(dead);
    }
}

static struct yb_session *session_by_id(struct yb_engine *e, uint64_t id)
{
    for (struct yb_session *s = e->ids[id % YB_NET_ID_BUCKETS]; s != NULL; s = s->id_next) {
        if (s->id == id)
            return s;
    }
    return NULL;
}

void yb__engine_free_session(struct yb_engine *e, struct yb_session *s)
{
    struct yb_session **pp = &e->ids[s->id % YB_NET_ID_BUCKETS];
    while (*pp != s)
        pp = &(*pp)->id_next;
    *pp = s->id_next;
    heap_remove(e, s);
    if (s->polled != 0 || pal_sock_valid(s->sock))
        pal_poller_del(e->poller, s->sock);
    pal_sock_close(&s->sock);
    ip_release(e, s);
    if (s->l != NULL)
        s->l->count--;
    e->nsessions--;
    if (s->tls != NULL)
        s->tls_ops->conn_free(&s->tls);
    yb_buf_free(&s->in);
    yb_buf_free(&s->wire);
    yb_buf_free(&s->chunk);
    yb_buf_free(&s->out);
    pal_cond_destroy(&s->out_cond);
    pal_mutex_destroy(&s->out_lock);
    pal_mutex_lock(&e->lock);
    e->stats.closed++;
    e->stats.current = e->nsessions;
    pal_mutex_unlock(&e->lock);
    free(s);
}

/* ---- worker pool ---- */

void yb__engine_queue_job(struct yb_engine *e, struct yb_session *s)
{
    pal_mutex_lock(&e->lock);
    s->job_next = NULL;
    if (e->jobs_tail != NULL)
        e->jobs_tail->job_next = s;
    else
        e->jobs_head = s;
    e->jobs_tail = s;
    pal_cond_signal(&e->cond);
    pal_mutex_unlock(&e->lock);
}

/*
 * The loop takes the done and flush queues together (drain_queues), so it
 * needs a wake-up only when they go from empty to not empty: whoever posts
 * into non-empty queues knows a wake-up is already on its way and the drain
 * that follows it has not run yet. Under load this saves a system call and
 * a loop wake-up per command.
 */
void yb__engine_post_done(struct yb_engine *e, struct yb_session *s)
{
    pal_mutex_lock(&e->lock);
    bool wake = e->done_head == NULL && e->flush_head == NULL;
    s->done_next = NULL;
    if (e->done_tail != NULL)
        e->done_tail->done_next = s;
    else
        e->done_head = s;
    e->done_tail = s;
    pal_mutex_unlock(&e->lock);
    if (wake)
        pal_poller_wake(e->poller);
}

void yb__engine_post_flush(struct yb_engine *e, struct yb_session *s)
{
    pal_mutex_lock(&e->lock);
    bool wake = e->done_head == NULL && e->flush_head == NULL;
    s->flush_next = e->flush_head;
    e->flush_head = s;
    pal_mutex_unlock(&e->lock);
    if (wake)
        pal_poller_wake(e->poller);
}

static void run_job(struct yb_session *s)
{
    const struct yb_proto *p = s->proto;
    switch (s->job) {
    case JOB_OPEN:
        yb_stats_connection(yb_session_service(s));
        if (p->open(s, &s->pstate) != 0)
            s->req_close = true;
        break;
    case JOB_LINE: p->line(s, s->pstate, s->job_line, s->job_flags); break;
    case JOB_BODY: p->body(s, s->pstate, yb_buf_slice(&s->chunk), s->job_end); break;
    case JOB_WAKE:
        if (p->wake != NULL)
            p->wake(s, s->pstate, s->job_why);
        break;
    case JOB_TIMEOUT:
        p->timeout(s, s->pstate, s->job_timeout);
        s->req_close = true;
        break;
    case JOB_CLOSE:
        p->close(s, s->pstate);
        s->pstate = NULL;
        break;
    }
}

static void worker_main(void *arg)
{
    struct yb_engine *e = arg;
    pal_mutex_lock(&e->lock);
    for (;;) {
        while (e->jobs_head == NULL && !e->workers_quit)
            pal_cond_wait(&e->cond, &e->lock);
        if (e->jobs_head == NULL)
            break;
        struct yb_session *s = e->jobs_head;
        e->jobs_head = s->job_next;
        if (e->jobs_head == NULL)
            e->jobs_tail = NULL;
        pal_mutex_unlock(&e->lock);
        run_job(s);
        yb__conn_send_early(s);
        yb__engine_post_done(e, s);
        pal_mutex_lock(&e->lock);
    }
    pal_mutex_unlock(&e->lock);
}

/* ---- listeners ---- */

static void listener_register(struct yb_engine *e, struct listener *l, bool on)
{
    if (on && !l->registered) {
        if (pal_poller_add(e->poller, l->sock, PAL_POLL_IN,
                           (void *)((uintptr_t)l | LISTENER_TAG)) == 0)
            l->registered = true;
    } else if (!on && l->registered) {
        pal_poller_del(e->poller, l->sock);
        l->registered = false;
    }
}

static void listener_close(struct yb_engine *e, struct listener *l)
{
    listener_register(e, l, false);
    pal_sock_close(&l->sock);
    /* Sessions keep running; they no longer count against a listener. */
    for (unsigned b = 0; b < YB_NET_ID_BUCKETS; b++) {
        for (struct yb_session *s = e->ids[b]; s != NULL; s = s->id_next) {
            if (s->l == l) {
                ip_release(e, s);
                s->l = NULL;
            }
        }
    }
    free(l);
}

static bool same_spec(const struct yb_listen_spec *a, const struct yb_listen_spec *b)
{
    return strcmp(a->service, b->service) == 0 && a->proto == b->proto && a->tls == b->tls &&
           a->addr.len == b->addr.len && memcmp(a->addr.storage, b->addr.storage, a->addr.len) == 0;
}

/*
 * Closes the listeners that match none of specs, then adds the fresh ones.
 * Runs on the loop thread, or directly when the engine is not running.
 */
static void replace_listeners(struct yb_engine *e, struct listener *fresh,
                              const struct yb_listen_spec *specs, size_t n)
{
    struct listener **pp = &e->listeners;
    while (*pp != NULL) {
        bool wanted = false;
        for (size_t i = 0; i < n && !wanted; i++)
            wanted = same_spec(&(*pp)->spec, &specs[i]);
        if (wanted) {
            pp = &(*pp)->next;
            continue;
        }
        struct listener *dead = *pp;
        *pp = dead->next;
        listener_close(e, dead);
    }
    while (fresh != NULL) {
        struct listener *next = fresh->next;
        fresh->next = e->listeners;
        e->listeners = fresh;
        if (e->running)
            listener_register(e, fresh, true);
        fresh = next;
    }
    unsigned count = 0;
    for (struct listener *l = e->listeners; l != NULL; l = l->next)
        count++;
    pal_mutex_lock(&e->lock);
    e->stats.listeners = count;
    pal_mutex_unlock(&e->lock);
}

/* Applies a change posted by yb_engine_set_listeners [loop]. */
static void apply_listener_changes(struct yb_engine *e)
{
    pal_mutex_lock(&e->lock);
    if (!e->listeners_changed) {
        pal_mutex_unlock(&e->lock);
        return;
    }
    struct listener *fresh = e->pending_add;
    const struct yb_listen_spec *specs = e->pending_specs;
    size_t n = e->pending_n;
    e->pending_add = NULL;
    e->listeners_changed = false;
    unsigned gen = e->listener_gen;
    pal_mutex_unlock(&e->lock);
    replace_listeners(e, fresh, specs, n);
    pal_mutex_lock(&e->lock);
    e->listener_gen_done = gen;
    pal_cond_broadcast(&e->cond);
    pal_mutex_unlock(&e->lock);
}

int yb_engine_set_listeners(struct yb_engine *e, const struct yb_listen_spec *specs, size_t n,
                            struct pal_addr *bound_r, char *errbuf, size_t errsize)
{
    /*
     * Only the loop changes e->listeners, and only when this function asks
     * it to (callers serialise: the main thread), so reading the list here
     * to find listeners to keep is safe.
     */
    struct listener *fresh = NULL;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct listener *kept = NULL;
        for (struct listener *l = e->listeners; l != NULL && kept == NULL; l = l->next) {
            if (same_spec(&l->spec, &specs[i]))
                kept = l;
        }
        if (kept != NULL) {
            if (bound_r != NULL)
                pal_sock_local_addr(kept->sock, &bound_r[i]);
            continue;
        }
        struct listener *l = calloc(1, sizeof(*l));
        if (l == NULL) {
            rc = YB_ENOMEM;
            snprintf(errbuf, errsize, "out of memory");
            break;
        }
        l->spec = specs[i];
        snprintf(l->service_buf, sizeof(l->service_buf), "%s", specs[i].service);
        l->spec.service = l->service_buf;
        rc = pal_tcp_listen(&specs[i].addr, 0, &l->sock);
        if (rc != 0) {
            char addr[PAL_ADDR_TEXT_MAX];
            pal_addr_format(&specs[i].addr, true, addr, sizeof(addr));
            snprintf(errbuf, errsize, "%s %s: cannot listen: %s", specs[i].service, addr,
                     yb_strerror(rc));
            free(l);
            break;
        }
        /* Keep the requested address (port 0 included) as the identity for reloads. */
        struct pal_addr bound;
        pal_sock_local_addr(l->sock, &bound);
        if (bound_r != NULL)
            bound_r[i] = bound;
        l->next = fresh;
        fresh = l;
    }
    if (rc != 0) {
        while (fresh != NULL) {
            struct listener *next = fresh->next;
            pal_sock_close(&fresh->sock);
            free(fresh);
            fresh = next;
        }
        return rc;
    }
    pal_mutex_lock(&e->lock);
    bool running = e->running;
    pal_mutex_unlock(&e->lock);
    if (!running) {
        replace_listeners(e, fresh, specs, n);
        return 0;
    }
    pal_mutex_lock(&e->lock);
    e->pending_add = fresh;
    e->pending_specs = specs;
    e->pending_n = n;
    e->listeners_changed = true;
    unsigned gen = ++e->listener_gen;
    pal_mutex_unlock(&e->lock);
    pal_poller_wake(e->poller);
    pal_mutex_lock(&e->lock);
    while (e->listener_gen_done != gen && e->running)
        pal_cond_wait(&e->cond, &e->lock);
    pal_mutex_unlock(&e->lock);
    return 0;
}

/* ---- accepting [loop] ---- */

static void refuse(const struct yb_proto *p, enum yb_listen_tls tls, pal_sock *sock)
{
    /* Best effort, never blocking: a refused client gets one line if the socket takes it. */
    if (p->refuse_busy != NULL && tls == YB_LISTEN_PLAIN) {
        size_t sent;
        pal_sock_send(*sock, p->refuse_busy, strlen(p->refuse_busy), &sent);
    }
    pal_sock_close(sock);
}

static void accept_one(struct yb_engine *e, struct listener *l, pal_sock sock,
                       const struct pal_addr *peer, const struct yb_engine_limits *lim)
{
    unsigned char ip[16];
    size_t iplen = 0;
    unsigned bucket = 0;
    struct ipcount **pp = NULL;
    if (pal_addr_bytes(peer, ip, &iplen) == 0)
        pp = ip_find(e, l, ip, iplen, &bucket);
    if (e->nsessions >= lim->max_conns || l->count >= lim->max_conns_per_service ||
        (pp != NULL && *pp != NULL && (*pp)->count >= lim->max_conns_per_ip)) {
        refuse(l->spec.proto, l->spec.tls, &sock);
        pal_mutex_lock(&e->lock);
        e->stats.refused++;
        pal_mutex_unlock(&e->lock);
        return;
    }
    struct yb_session *s = calloc(1, sizeof(*s));
    if (s == NULL || pal_mutex_init(&s->out_lock) != 0) {
        free(s);
        pal_sock_close(&sock);
        return;
    }
    if (pal_cond_init(&s->out_cond) != 0) {
        pal_mutex_destroy(&s->out_lock);
        free(s);
        pal_sock_close(&sock);
        return;
    }
    if (pp != NULL) {
        if (*pp == NULL) {
            *pp = calloc(1, sizeof(**pp));
            if (*pp != NULL) {
                (*pp)->l = l;
                memcpy((*pp)->ip, ip, iplen);
                (*pp)->iplen = iplen;
            }
        }
        if (*pp != NULL)
            (*pp)->count++;
    }
    s->e = e;
    s->l = l;
    s->proto = l->spec.proto;
    snprintf(s->service, sizeof(s->service), "%s", l->spec.service);
    s->sock = sock;
    s->peer = *peer;
    pal_sock_local_addr(sock, &s->local);
    if (pal_addr_format(peer, false, s->peer_ip, sizeof(s->peer_ip)) != 0)
        s->peer_ip[0] = '\0';
    s->heap_idx = SIZE_MAX;
    s->mode = RM_LINE;
    yb_line_scanner_init(&s->ls, s->proto->max_line);
    yb_buf_init(&s->in, s->proto->max_line + 2 + YB_NET_IN_SLACK);
    yb_buf_init(&s->wire, YB_NET_OUT_MAX);
    yb_buf_init(&s->chunk, YB_NET_BODY_CHUNK);
    yb_buf_init(&s->out, YB_NET_OUT_MAX);
    s->out_high = lim->out_high_water;
    s->out_low = lim->out_high_water / 2;
    pal_sock_set_nodelay(sock, true);
    pal_sock_set_keepalive(sock, true);
    l->count++;
    e->nsessions++;
    pal_mutex_lock(&e->lock);
    s->id = ++e->next_id;
    e->stats.accepted++;
    e->stats.current = e->nsessions;
    const struct yb_tls_ops *ops = e->tls_ops;
    struct yb_tls_ctx *ctx = e->tls_ctx != NULL ? ops->ctx_ref(e->tls_ctx) : NULL;
    pal_mutex_unlock(&e->lock);
    s->id_next = e->ids[s->id % YB_NET_ID_BUCKETS];
    e->ids[s->id % YB_NET_ID_BUCKETS] = s;

    if (l->spec.tls == YB_LISTEN_IMPLICIT) {
        int rc = ctx != NULL ? ops->conn_new(ctx, &s->tls) : YB_ENOTSUP;
        if (ctx != NULL)
            ops->ctx_unref(&ctx);
        if (rc != 0) {
            yb_log_error("net", "%s: no TLS for %s: %s", s->service, s->peer_ip, yb_strerror(rc));
            yb__engine_free_session(e, s);
            return;
        }
        s->tls_ops = ops;
        s->st = SS_HANDSHAKE;
        yb__engine_set_deadline(e, s, pal_time_mono_ms() + lim->tls_handshake_ms);
        yb__conn_update_poll(s);
        return;
    }
    if (ctx != NULL)
        ops->ctx_unref(&ctx);
    yb__conn_start_job(s, JOB_OPEN);
}

static void accept_ready(struct yb_engine *e, struct listener *l)
{
    struct yb_engine_limits lim;
    yb__engine_limits(e, &lim);
    for (int i = 0; i < YB_NET_ACCEPT_BATCH; i++) {
        pal_sock sock;
        struct pal_addr peer;
        int rc = pal_tcp_accept(l->sock, &sock, &peer);
        if (rc == YB_EAGAIN)
            return;
        if (rc == YB_EMFILE || rc == YB_ENFILE || rc == YB_ENOMEM) {
            /* Out of descriptors: stop accepting for a moment instead of spinning. */
            yb_log_warn("net", "%s: cannot accept: %s; pausing %d ms", l->spec.service,
                        yb_strerror(rc), YB_NET_ACCEPT_PAUSE_MS);
            e->accept_paused_until = pal_time_mono_ms() + YB_NET_ACCEPT_PAUSE_MS;
            for (struct listener *x = e->listeners; x != NULL; x = x->next)
                listener_register(e, x, false);
            return;
        }
        if (rc != 0)
            return;
        accept_one(e, l, sock, &peer, &lim);
    }
}

/* ---- the loop ---- */

static void drain_queues(struct yb_engine *e)
{
    pal_mutex_lock(&e->lock);
    struct yb_session *done = e->done_head, *flush = e->flush_head;
    e->done_head = e->done_tail = NULL;
    e->flush_head = NULL;
    size_t nw = e->wakes.len / sizeof(uint64_t);
    uint64_t *wakes = NULL;
    if (nw > 0) {
        wakes = malloc(e->wakes.len);
        if (wakes != NULL)
            memcpy(wakes, e->wakes.p, e->wakes.len);
        else
            nw = 0;
        yb_buf_reset(&e->wakes);
    }
    pal_mutex_unlock(&e->lock);

    while (flush != NULL) {
        struct yb_session *next = flush->flush_next;
        pal_mutex_lock(&flush->out_lock);
        flush->flush_req_queued = false;
        pal_mutex_unlock(&flush->out_lock);
        yb__conn_flush_request(flush);
        flush = next;
    }
    while (done != NULL) {
        struct yb_session *next = done->done_next;
        yb__conn_job_done(done);
        done = next;
    }
    for (size_t i = 0; i < nw; i++) {
        struct yb_session *s = session_by_id(e, wakes[i]);
        if (s == NULL)
            continue;
        s->wake_pending = true;
        if (s->st == SS_INPUT)
            yb__conn_dispatch(s);
    }
    free(wakes);
}

static void run_timers(struct yb_engine *e, uint64_t now)
{
    while (e->heap_n > 0 && e->heap[0]->deadline <= now) {
        struct yb_session *s = e->heap[0];
        yb__engine_set_deadline(e, s, 0);
        yb__conn_deadline(s, now);
    }
    if (e->accept_paused_until != 0 && now >= e->accept_paused_until && !e->shutting) {
        e->accept_paused_until = 0;
        for (struct listener *l = e->listeners; l != NULL; l = l->next)
            listener_register(e, l, true);
    }
}

/* Runs on the loop thread via the stop request: say goodbye to every session. */
static void begin_shutdown(struct yb_engine *e)
{
    for (struct listener *l = e->listeners; l != NULL; l = l->next)
        listener_register(e, l, false);
    for (unsigned b = 0; b < YB_NET_ID_BUCKETS; b++) {
        for (struct yb_session *s = e->ids[b]; s != NULL; s = s->id_next) {
            if (s->st == SS_INPUT || s->st == SS_HANDSHAKE) {
                /* Expire now: the deadline handler sends the goodbye and closes. */
                yb__engine_set_deadline(e, s, 1);
            }
        }
    }
}

#define LOOP_EVENTS 256

static void loop_main(void *arg)
{
    struct yb_engine *e = arg;
    struct pal_poll_event ev[LOOP_EVENTS];
    for (;;) {
        pal_mutex_lock(&e->lock);
        bool shut = e->shutdown_requested, abandon = e->loop_abandon;
        pal_mutex_unlock(&e->lock);
        if (shut && !e->shutting) {
            e->shutting = true;
            begin_shutdown(e);
        }
        if (abandon || (e->shutting && e->nsessions == 0)) {
            pal_mutex_lock(&e->lock);
            e->loop_done = true;
            pal_mutex_unlock(&e->lock);
            break;
        }
        uint64_t now = pal_time_mono_ms();
        int timeout = 1000;
        if (e->heap_n > 0) {
            uint64_t d = e->heap[0]->deadline;
            timeout = d <= now ? 0 : (d - now < 1000 ? (int)(d - now) : 1000);
        }
        size_t n = 0;
        pal_poller_wait(e->poller, ev, LOOP_EVENTS, timeout, &n);
        for (size_t i = 0; i < n; i++) {
            uintptr_t u = (uintptr_t)ev[i].udata;
            if (u & LISTENER_TAG) {
                struct listener *l = (struct listener *)(u & ~LISTENER_TAG);
                if (!e->shutting)
                    accept_ready(e, l);
                continue;
            }
            struct yb_session *s = ev[i].udata;
            if (ev[i].events & PAL_POLL_OUT)
                yb__conn_writable(s);
            if (ev[i].events & (PAL_POLL_IN | PAL_POLL_HUP | PAL_POLL_ERR))
                yb__conn_readable(s);
        }
        drain_queues(e);
        run_timers(e, pal_time_mono_ms());
        /* Only after this wait's events: none of them may name a closed listener. */
        apply_listener_changes(e);
    }
}

/* ---- life cycle ---- */

int yb_engine_create(const struct yb_engine_limits *limits, void *app, struct yb_engine **engine_r)
{
    struct yb_engine *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return YB_ENOMEM;
    int rc = pal_net_init();
    if (rc == 0)
        rc = pal_poller_create(NULL, &e->poller);
    if (rc != 0) {
        free(e);
        return rc;
    }
    if (pal_mutex_init(&e->lock) != 0 || pal_cond_init(&e->cond) != 0) {
        pal_poller_destroy(&e->poller);
        free(e);
        return YB_ENOMEM;
    }
    e->lim = *limits;
    if (e->lim.workers == 0) {
        e->lim.workers = 2 * pal_cpu_count();
        if (e->lim.workers < 4)
            e->lim.workers = 4;
    }
    e->app = app;
    yb_buf_init(&e->wakes, 1024 * 1024 * sizeof(uint64_t));
    *engine_r = e;
    return 0;
}

void yb_engine_set_tls(struct yb_engine *e, const struct yb_tls_ops *ops, struct yb_tls_ctx *ctx)
{
    struct yb_tls_ctx *nctx = ctx != NULL ? ops->ctx_ref(ctx) : NULL;
    pal_mutex_lock(&e->lock);
    struct yb_tls_ctx *old = e->tls_ctx;
    const struct yb_tls_ops *old_ops = e->tls_ops;
    e->tls_ctx = nctx;
    e->tls_ops = ops;
    pal_mutex_unlock(&e->lock);
    if (old != NULL)
        old_ops->ctx_unref(&old);
}

void yb_engine_set_limits(struct yb_engine *e, const struct yb_engine_limits *limits)
{
    pal_mutex_lock(&e->lock);
    unsigned workers = e->lim.workers;
    e->lim = *limits;
    e->lim.workers = workers; /* the pool is sized at start */
    pal_mutex_unlock(&e->lock);
}

int yb_engine_start(struct yb_engine *e)
{
    e->workers = calloc(e->lim.workers, sizeof(*e->workers));
    if (e->workers == NULL)
        return YB_ENOMEM;
    for (struct listener *l = e->listeners; l != NULL; l = l->next)
        listener_register(e, l, true);
    pal_mutex_lock(&e->lock);
    e->running = true;
    pal_mutex_unlock(&e->lock);
    for (unsigned i = 0; i < e->lim.workers; i++) {
        int rc = pal_thread_start(&e->workers[i], worker_main, e);
        if (rc != 0) {
            yb_engine_stop(e);
            return rc;
        }
        e->nworkers++;
    }
    int rc = pal_thread_start(&e->loop_thread, loop_main, e);
    if (rc != 0) {
        yb_engine_stop(e);
        return rc;
    }
    return 0;
}

void yb_engine_stop(struct yb_engine *e)
{
    pal_mutex_lock(&e->lock);
    bool was_running = e->running && !e->stopping;
    e->stopping = true;
    unsigned grace = e->lim.shutdown_grace_ms;
    pal_mutex_unlock(&e->lock);
    if (was_running && e->loop_thread != NULL) {
        /*
         * The loop notices `stopping`, stops accepting and closes sessions as
         * their callbacks finish; sessions still busy after the grace period
         * are abandoned to the OS at exit.
         */
        pal_mutex_lock(&e->lock);
        e->shutdown_requested = true;
        pal_mutex_unlock(&e->lock);
        pal_poller_wake(e->poller);
        uint64_t until = pal_time_mono_ms() + grace;
        while (pal_time_mono_ms() < until) {
            pal_mutex_lock(&e->lock);
            bool left = e->loop_done;
            pal_mutex_unlock(&e->lock);
            if (left)
                break;
            pal_sleep_ms(10);
        }
        pal_mutex_lock(&e->lock);
        e->loop_abandon = !e->loop_done;
        pal_mutex_unlock(&e->lock);
        pal_poller_wake(e->poller);
        pal_thread_join(&e->loop_thread);
        /* Sessions the loop abandoned: a worker blocked on their output must
         * not wait for a loop that is gone. */
        for (unsigned b = 0; b < YB_NET_ID_BUCKETS; b++) {
            for (struct yb_session *s = e->ids[b]; s != NULL; s = s->id_next) {
                pal_mutex_lock(&s->out_lock);
                s->out_dead = true;
                pal_cond_broadcast(&s->out_cond);
                pal_mutex_unlock(&s->out_lock);
            }
        }
    }
    pal_mutex_lock(&e->lock);
    e->workers_quit = true;
    e->running = false;
    pal_cond_broadcast(&e->cond);
    pal_mutex_unlock(&e->lock);
    for (unsigned i = 0; i < e->nworkers; i++)
        pal_thread_join(&e->workers[i]);
    e->nworkers = 0;
}

void yb_engine_destroy(struct yb_engine **ep)
{
    struct yb_engine *e = *ep;
    if (e == NULL)
        return;
    while (e->listeners != NULL) {
        struct listener *l = e->listeners;
        e->listeners = l->next;
        listener_close(e, l);
    }
    for (unsigned b = 0; b < YB_NET_ID_BUCKETS; b++) {
        while (e->ids[b] != NULL)
            yb__engine_free_session(e, e->ids[b]);
        while (e->ipc[b] != NULL) {
            struct ipcount *c = e->ipc[b];
            e->ipc[b] = c->next;
            free(c);
        }
    }
    if (e->tls_ctx != NULL)
        e->tls_ops->ctx_unref(&e->tls_ctx);
    free(e->heap);
    free(e->workers);
    yb_buf_free(&e->wakes);
    pal_poller_destroy(&e->poller);
    pal_cond_destroy(&e->cond);
    pal_mutex_destroy(&e->lock);
    free(e);
    *ep = NULL;
}

void yb_engine_wake(struct yb_engine *e, uint64_t session_id)
{
    pal_mutex_lock(&e->lock);
    int rc = yb_buf_append(&e->wakes, &session_id, sizeof(session_id));
    pal_mutex_unlock(&e->lock);
    if (rc == 0)
        pal_poller_wake(e->poller);
}

void yb_engine_stats(struct yb_engine *e, struct yb_engine_stats *st_r)
{
    pal_mutex_lock(&e->lock);
    *st_r = e->stats;
    pal_mutex_unlock(&e->lock);
}
