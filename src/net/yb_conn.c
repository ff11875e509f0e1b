/*
 * yb_conn.c - one connection on the loop thread: socket and TLS I/O, cutting
 * input into units (lines, body chunks), handing them to workers, applying
 * what the handler asked for when its callback returns, and timeouts.
 */
#include "yb_engine_int.h"
#include "yb_log.h"

#include <stdio.h>
#include <string.h>

/* How long a closing connection may take to accept its last output. */
#define YB_NET_CLOSE_LINGER_MS 10000

static bool out_pending(struct yb_session *s)
{
    pal_mutex_lock(&s->out_lock);
    bool p = s->out.len > 0;
    pal_mutex_unlock(&s->out_lock);
    return p;
}

static bool anything_to_send(struct yb_session *s)
{
    return s->wire.len > 0 || out_pending(s);
}

/*
 * True while more than the high-water mark waits to be sent: the session then
 * reads and dispatches nothing more, so a client that pipelines commands but
 * never reads the answers cannot make a handler block on output.
 */
static bool output_backlog(struct yb_session *s)
{
    pal_mutex_lock(&s->out_lock);
    bool b = s->out.len + s->wire.len > s->out_high;
    pal_mutex_unlock(&s->out_lock);
    return b;
}

void yb__conn_update_poll(struct yb_session *s)
{
    unsigned want = 0;
    if (!pal_sock_valid(s->sock))
        return;
    if (anything_to_send(s) && !s->io_error)
        want |= PAL_POLL_OUT;
    if ((s->st == SS_HANDSHAKE || s->st == SS_INPUT) && !s->eof && !s->io_error &&
        s->in.len < s->in.max && !output_backlog(s))
        want |= PAL_POLL_IN;
    if (want == s->polled)
        return;
    int rc;
    if (s->polled == 0)
        rc = pal_poller_add(s->e->poller, s->sock, want, s);
    else if (want == 0)
        rc = pal_poller_del(s->e->poller, s->sock);
    else
        rc = pal_poller_mod(s->e->poller, s->sock, want, s);
    if (rc == 0)
        s->polled = want;
}

static void mark_dead(struct yb_session *s)
{
    s->io_error = true;
    pal_mutex_lock(&s->out_lock);
    s->out_dead = true;
    yb_buf_free(&s->out);
    pal_cond_broadcast(&s->out_cond);
    pal_mutex_unlock(&s->out_lock);
    yb_buf_free(&s->wire);
}

/*
 * Sends from buf; returns bytes sent. A hard error sets *dead_r; the caller
 * marks the session dead once it no longer holds out_lock.
 */
static size_t send_some(struct yb_session *s, const unsigned char *p, size_t len, bool *dead_r)
{
    size_t total = 0;
    while (total < len) {
        size_t sent = 0;
        int rc = pal_sock_send(s->sock, p + total, len - total, &sent);
        if (rc == YB_EAGAIN)
            break;
        if (rc != 0) {
            *dead_r = true;
            break;
        }
        total += sent;
    }
    return total;
}

/* Moves ciphertext TLS produced into the wire buffer; false on failure. */
static bool tls_pump_out(struct yb_session *s)
{
    while (s->tls != NULL && s->tls_ops->out_pending(s->tls) > 0) {
        size_t want = s->tls_ops->out_pending(s->tls), got = 0;
        if (yb_buf_reserve(&s->wire, want) != 0)
            return false;
        if (s->tls_ops->out_take(s->tls, s->wire.p + s->wire.len, want, &got) != 0 || got == 0)
            return true;
        s->wire.len += got;
    }
    return true;
}

int yb__conn_flush(struct yb_session *s)
{
    bool dead = false;
    uint64_t sent_before = s->sent_total;
    if (s->io_error)
        return YB_ECLOSED;
    bool encrypting = s->tls != NULL && s->st != SS_HANDSHAKE && s->st != SS_FLUSH_TLS;
    for (int round = 0; round < 64 && !dead; round++) {
        pal_mutex_lock(&s->out_lock);
        if (encrypting) {
            /* Encrypt only while the wire holds less than the high-water mark, so
             * a peer that does not read holds the writer back (flow control). */
            while (s->out.len > 0 && s->wire.len < s->out_high) {
                size_t piece = s->out.len < YB_NET_BODY_CHUNK ? s->out.len : YB_NET_BODY_CHUNK;
                if (s->tls_ops->write(s->tls, s->out.p, piece) != 0 || !tls_pump_out(s)) {
                    dead = true;
                    break;
                }
                yb_buf_consume(&s->out, piece);
            }
        } else if (s->out.len > 0) {
            size_t n = send_some(s, s->out.p, s->out.len, &dead);
            yb_buf_consume(&s->out, n);
            s->sent_total += n;
        }
        pal_mutex_unlock(&s->out_lock);
        if (dead || s->tls == NULL)
            break;
        if (!tls_pump_out(s)) {
            dead = true;
            break;
        }
        size_t before = s->wire.len;
        if (s->wire.len > 0) {
            size_t n = send_some(s, s->wire.p, s->wire.len, &dead);
            yb_buf_consume(&s->wire, n);
            s->sent_total += n;
        }
        /* Go on only while sending made room for more of the plaintext. */
        if (!encrypting || s->wire.len == before || s->wire.len >= s->out_high)
            break;
    }
    if (dead) {
        mark_dead(s);
        return YB_ECLOSED;
    }
    pal_mutex_lock(&s->out_lock);
    if (s->out.len == 0 && !s->out_waiting)
        yb_buf_free(&s->out); /* idle sessions keep no buffer */
    if (s->out_waiting && s->out.len + s->wire.len <= s->out_low) {
        s->out_waiting = false;
        pal_cond_broadcast(&s->out_cond);
    }
    bool waiting = s->out_waiting;
    pal_mutex_unlock(&s->out_lock);
    if (s->wire.len == 0)
        yb_buf_free(&s->wire);
    /* A worker waiting for its output to drain: a send deadline that progress renews. */
    if (waiting && s->st == SS_JOB && (s->sent_total != sent_before || s->deadline == 0)) {
        struct yb_engine_limits lim;
        yb__engine_limits(s->e, &lim);
        yb__engine_set_deadline(s->e, s, pal_time_mono_ms() + lim.idle_timeout_ms);
    }
    return 0;
}

/*
 * Called by the worker right after a callback returned, before the loop
 * thread hears of it: sends the reply of a plaintext session at once, so the
 * peer does not wait for the loop's wake-up (one thread hand-off less on
 * every request/response round trip). Only what out_lock guards is touched;
 * a send error is left for the loop's own flush to find. TLS sessions are
 * flushed by the loop (the TLS object is the loop's).
 */
void yb__conn_send_early(struct yb_session *s)
{
    if (s->job == JOB_CLOSE || s->tls != NULL)
        return;
    pal_mutex_lock(&s->out_lock);
    if (!s->out_dead && s->out.len > 0) {
        bool dead = false;
        size_t n = send_some(s, s->out.p, s->out.len, &dead);
        yb_buf_consume(&s->out, n);
    }
    pal_mutex_unlock(&s->out_lock);
}

static void finish_close(struct yb_session *s)
{
    if (s->opened) {
        /* close() may not write: the connection is gone. */
        pal_mutex_lock(&s->out_lock);
        s->out_dead = true;
        pal_cond_broadcast(&s->out_cond);
        pal_mutex_unlock(&s->out_lock);
        s->opened = false;
        s->st = SS_FINAL;
        yb__engine_set_deadline(s->e, s, 0);
        if (s->polled != 0) {
            pal_poller_del(s->e->poller, s->sock);
            s->polled = 0;
        }
        pal_sock_close(&s->sock);
        yb__conn_start_job(s, JOB_CLOSE);
        return;
    }
    yb__engine_free_session(s->e, s);
}

/* Sends what is queued, then closes. */
static void begin_close(struct yb_session *s)
{
    s->st = SS_CLOSING;
    if (s->tls != NULL && !s->io_error)
        s->tls_ops->shutdown(s->tls);
    yb__conn_flush(s);
    if (s->io_error || !anything_to_send(s)) {
        finish_close(s);
        return;
    }
    yb__engine_set_deadline(s->e, s, pal_time_mono_ms() + YB_NET_CLOSE_LINGER_MS);
    yb__conn_update_poll(s);
}

void yb__conn_start_job(struct yb_session *s, enum job_kind kind)
{
    s->job = kind;
    s->job_started = pal_time_mono_ms();
    if (kind == JOB_OPEN)
        s->opened = true;
    if (kind != JOB_CLOSE)
        s->st = SS_JOB;
    yb__engine_set_deadline(s->e, s, 0);
    yb__conn_update_poll(s);
    yb__engine_queue_job(s->e, s);
}

static void start_timeout_job(struct yb_session *s, enum yb_timeout_kind kind)
{
    s->job_timeout = kind;
    pal_mutex_lock(&s->e->lock);
    s->e->stats.timeouts++;
    pal_mutex_unlock(&s->e->lock);
    if (!s->opened) {
        yb__engine_free_session(s->e, s);
        return;
    }
    yb__conn_start_job(s, JOB_TIMEOUT);
}

/* Decrypts what TLS holds into the input buffer, as far as it has room. */
static void tls_read_in(struct yb_session *s)
{
    /* Records that arrived with the peer's FIN are still decrypted: s->eof is
     * the socket's end, s->tls_eof TLS close_notify. */
    while (s->tls != NULL && !s->tls_eof && !s->io_error && s->in.len < s->in.max) {
        size_t room = s->in.max - s->in.len, got = 0;
        if (room > YB_NET_READ_CHUNK)
            room = YB_NET_READ_CHUNK;
        if (yb_buf_reserve(&s->in, room) != 0)
            return;
        int rc = s->tls_ops->read(s->tls, s->in.p + s->in.len, room, &got);
        if (rc == YB_EAGAIN)
            return;
        if (rc == YB_ECLOSED) {
            s->tls_eof = true;
            s->eof = true;
            return;
        }
        if (rc != 0) {
            yb_log_info("net", "%s %s: TLS: %s", s->service, s->peer_ip,
                        s->tls_ops->errtext(s->tls));
            mark_dead(s);
            return;
        }
        s->in.len += got;
        s->in.p[s->in.len] = '\0';
    }
}

static void handshake_done(struct yb_session *s)
{
    snprintf(s->tls_desc, sizeof(s->tls_desc), "%s %s", s->tls_ops->version(s->tls),
             s->tls_ops->cipher(s->tls));
    if (!s->opened) {
        yb__conn_start_job(s, JOB_OPEN);
        return;
    }
    s->job_why = YB_WAKE_TLS;
    yb__conn_start_job(s, JOB_WAKE);
}

static void step_handshake(struct yb_session *s)
{
    int rc = s->tls_ops->handshake(s->tls);
    if (!tls_pump_out(s))
        rc = YB_ENOMEM;
    yb__conn_flush(s);
    if (rc == 0) {
        handshake_done(s);
        return;
    }
    if (rc == YB_EAGAIN && !s->io_error && !s->eof) {
        yb__conn_update_poll(s);
        return;
    }
    if (rc != YB_EAGAIN)
        yb_log_info("net", "%s %s: TLS handshake failed: %s", s->service, s->peer_ip,
                    s->tls_ops->errtext(s->tls));
    mark_dead(s);
    finish_close(s);
}

void yb__conn_readable(struct yb_session *s)
{
    if (s->st != SS_HANDSHAKE && s->st != SS_INPUT)
        return;
    unsigned char buf[YB_NET_READ_CHUNK];
    for (int round = 0; round < 4 && !s->eof && !s->io_error; round++) {
        size_t room = sizeof(buf);
        if (s->tls == NULL) {
            room = s->in.max - s->in.len;
            if (room > sizeof(buf))
                room = sizeof(buf);
            if (room == 0)
                break;
        }
        size_t got = 0;
        int rc = pal_sock_recv(s->sock, buf, room, &got);
        if (rc == YB_EAGAIN)
            break;
        if (rc == YB_ECLOSED) {
            s->eof = true;
            break;
        }
        if (rc != 0) {
            mark_dead(s);
            break;
        }
        if (s->mode != RM_LINE)
            s->window_bytes += got;
        if (s->tls != NULL) {
            if (s->tls_ops->feed(s->tls, buf, got) != 0) {
                mark_dead(s);
                break;
            }
        } else if (yb_buf_append(&s->in, buf, got) != 0) {
            mark_dead(s);
            break;
        }
    }
    if (s->st == SS_HANDSHAKE) {
        if (s->io_error) {
            finish_close(s);
            return;
        }
        step_handshake(s);
        return;
    }
    yb__conn_dispatch(s);
}

/* Cuts the next body chunk out of the input; true when a job was started. */
static bool dispatch_body(struct yb_session *s)
{
    yb_buf_reset(&s->chunk);
    bool done = false;
    if (s->mode == RM_DOT) {
        while (!s->dot.done && s->in.len > 0 && s->chunk.len + 2 <= s->chunk.max) {
            size_t consumed = 0, produced = 0, room = s->chunk.max - s->chunk.len;
            if (yb_buf_reserve(&s->chunk, room) != 0)
                break;
            yb_dot_decode(&s->dot, s->in.p, s->in.len, &consumed, s->chunk.p + s->chunk.len, room,
                          &produced);
            yb_buf_consume(&s->in, consumed);
            /* Past the size limit the message is read but no longer delivered. */
            uint64_t before = s->dot.out_total - produced;
            if (s->dot.out_total > s->body_max) {
                s->binfo.truncated = true;
                produced = before >= s->body_max ? 0 : (size_t)(s->body_max - before);
            }
            s->chunk.len += produced;
            if (consumed == 0 && produced == 0)
                break;
        }
        done = s->dot.done;
        s->binfo.bytes = s->dot.out_total;
        s->binfo.bare_cr = s->dot.bare_cr;
        s->binfo.bare_lf = s->dot.bare_lf;
        s->binfo.nul_bytes = s->dot.nul_bytes;
        s->binfo.longest_line = s->dot.longest_line;
    } else {
        size_t take = s->in.len;
        if (take > s->bytes_left)
            take = (size_t)s->bytes_left;
        if (take > s->chunk.max)
            take = s->chunk.max;
        if (take > 0 && yb_buf_append(&s->chunk, s->in.p, take) == 0) {
            yb_buf_consume(&s->in, take);
            s->bytes_left -= take;
            s->binfo.bytes += take;
        }
        done = s->bytes_left == 0;
    }
    if (!done && s->chunk.len == 0)
        return false;
    s->job_end = done ? YB_BODY_DONE : YB_BODY_MORE;
    if (done)
        s->mode = RM_LINE;
    yb__conn_start_job(s, JOB_BODY);
    return true;
}

void yb__conn_dispatch(struct yb_session *s)
{
    if (s->st != SS_INPUT)
        return;
    if (s->tls != NULL) {
        tls_read_in(s);
        /* Reading can make TLS 1.3 answer (KeyUpdate): send what it produced. */
        if (s->tls_ops->out_pending(s->tls) > 0)
            yb__conn_flush(s);
    }
    if (output_backlog(s)) {
        yb__conn_update_poll(s); /* writable() dispatches again once it drained */
        return;
    }
    if (s->wake_pending && s->parked) {
        s->wake_pending = false;
        s->parked = false;
        s->job_why = YB_WAKE_EVENT;
        yb__conn_start_job(s, JOB_WAKE);
        return;
    }
    if (s->mode == RM_LINE) {
        struct yb_slice line;
        size_t consumed = 0;
        bool bare = false;
        enum yb_line_result r = yb_line_next(&s->ls, s->in.p, s->in.len, &line, &consumed, &bare);
        if (r == YB_LINE_OK || r == YB_LINE_TOO_LONG) {
            s->job_line = r == YB_LINE_OK ? line : yb_slice_make("", 0);
            s->job_flags =
                (bare ? YB_LINEF_BARE_LF : 0) | (r == YB_LINE_TOO_LONG ? YB_LINEF_TOO_LONG : 0);
            s->job_consume = consumed;
            s->parked = false;
            yb__conn_start_job(s, JOB_LINE);
            return;
        }
        if (consumed > 0)
            yb_buf_consume(&s->in, consumed);
    } else if (dispatch_body(s)) {
        return;
    }
    if (s->in.len == 0) {
        /* Idle sessions keep no buffers: a few hundred bytes plus TLS state. */
        yb_buf_free(&s->in);
        yb_buf_free(&s->chunk);
        if (s->tls != NULL && s->wire.len == 0)
            s->tls_ops->trim(s->tls);
    }
    if (s->eof || s->io_error) {
        begin_close(s);
        return;
    }
    yb__conn_update_poll(s);
}

void yb__conn_start_tls(struct yb_session *s)
{
    struct yb_engine *e = s->e;
    /* Whatever the client sent after the command is discarded, never interpreted. */
    yb_buf_free(&s->in);
    yb_line_scanner_init(&s->ls, s->proto->max_line);
    pal_mutex_lock(&e->lock);
    const struct yb_tls_ops *ops = e->tls_ops;
    struct yb_tls_ctx *ctx = e->tls_ctx != NULL ? ops->ctx_ref(e->tls_ctx) : NULL;
    unsigned hs_ms = e->lim.tls_handshake_ms;
    pal_mutex_unlock(&e->lock);
    int rc = ctx != NULL ? ops->conn_new(ctx, &s->tls) : YB_ENOTSUP;
    if (ctx != NULL)
        ops->ctx_unref(&ctx);
    if (rc != 0) {
        begin_close(s);
        return;
    }
    s->tls_ops = ops;
    s->st = SS_HANDSHAKE;
    yb__engine_set_deadline(e, s, pal_time_mono_ms() + hs_ms);
    yb__conn_update_poll(s);
}

void yb__conn_job_done(struct yb_session *s)
{
    struct yb_engine *e = s->e;
    if (s->job == JOB_CLOSE) {
        yb__engine_free_session(e, s);
        return;
    }
    if (s->job_consume > 0) {
        yb_buf_consume(&s->in, s->job_consume);
        s->job_consume = 0;
    }
    struct yb_engine_limits lim;
    yb__engine_limits(e, &lim);
    if (s->mode == RM_LINE)
        s->rate_deadline = 0; /* the body ended */
    else if (s->rate_deadline != 0 && s->job == JOB_BODY)
        s->rate_deadline += pal_time_mono_ms() - s->job_started; /* the handler's time */
    if (s->req_mode) {
        s->mode = s->req_mode_to;
        memset(&s->binfo, 0, sizeof(s->binfo));
        s->window_bytes = 0;
        s->rate_deadline = 0;
        if (s->mode == RM_DOT) {
            yb_dot_decoder_init(&s->dot);
            s->body_max = s->req_arg;
        } else if (s->mode == RM_BYTES) {
            s->bytes_left = s->req_arg;
        }
    }
    bool want_close = s->req_close, want_tls = s->req_tls, park = s->req_park;
    unsigned park_ms = s->req_park_ms;
    s->req_close = s->req_tls = s->req_park = s->req_mode = false;
    yb__conn_flush(s);

    if (want_close || s->io_error) {
        begin_close(s);
        return;
    }
    if (want_tls) {
        s->st = SS_FLUSH_TLS;
        if (!anything_to_send(s)) {
            yb__conn_start_tls(s);
            return;
        }
        yb__engine_set_deadline(e, s, pal_time_mono_ms() + YB_NET_CLOSE_LINGER_MS);
        yb__conn_update_poll(s);
        return;
    }
    if (e->shutting && s->job != JOB_TIMEOUT) {
        start_timeout_job(s, YB_TIMEOUT_SHUTDOWN);
        return;
    }
    s->st = SS_INPUT;
    uint64_t now = pal_time_mono_ms();
    if (park) {
        s->parked = true;
        yb__engine_set_deadline(e, s, park_ms > 0 ? now + park_ms : 0);
    } else if (s->mode == RM_LINE) {
        s->parked = false;
        yb__engine_set_deadline(e, s, now + lim.idle_timeout_ms);
    } else {
        /* Bodies: one rate window runs across chunks; a chunk does not restart it. */
        if (s->rate_deadline == 0)
            s->rate_deadline = now + lim.min_rate_window_ms;
        yb__engine_set_deadline(e, s, s->rate_deadline);
    }
    yb__conn_dispatch(s);
}

void yb__conn_writable(struct yb_session *s)
{
    if (s->st == SS_FINAL)
        return;
    yb__conn_flush(s);
    if (s->st == SS_HANDSHAKE) {
        yb__conn_update_poll(s);
        return;
    }
    if (s->st == SS_FLUSH_TLS && !anything_to_send(s) && !s->io_error) {
        yb__conn_start_tls(s);
        return;
    }
    if (s->st == SS_CLOSING && (s->io_error || !anything_to_send(s))) {
        finish_close(s);
        return;
    }
    if (s->io_error && s->st == SS_INPUT) {
        begin_close(s);
        return;
    }
    if (s->st == SS_INPUT) {
        yb__conn_dispatch(s); /* input held back by an output backlog */
        return;
    }
    yb__conn_update_poll(s);
}

void yb__conn_flush_request(struct yb_session *s)
{
    if (s->st == SS_FINAL)
        return;
    yb__conn_flush(s);
    yb__conn_update_poll(s);
}

void yb__conn_deadline(struct yb_session *s, uint64_t now)
{
    struct yb_engine *e = s->e;
    switch (s->st) {
    case SS_HANDSHAKE:
        yb_log_info("net", "%s %s: TLS handshake timed out", s->service, s->peer_ip);
        mark_dead(s);
        finish_close(s);
        return;
    case SS_INPUT:
        if (e->shutting) {
            start_timeout_job(s, YB_TIMEOUT_SHUTDOWN);
        } else if (s->parked) {
            s->parked = false;
            s->job_why = YB_WAKE_TIMER;
            yb__conn_start_job(s, JOB_WAKE);
        } else if (s->mode == RM_LINE) {
            start_timeout_job(s, YB_TIMEOUT_IDLE);
        } else {
            struct yb_engine_limits lim;
            yb__engine_limits(e, &lim);
            if (s->window_bytes < lim.min_rate_bytes) {
                yb_log_info("net", "%s %s: sending slower than %u bytes per %u ms, cut off",
                            s->service, s->peer_ip, lim.min_rate_bytes, lim.min_rate_window_ms);
                start_timeout_job(s, YB_TIMEOUT_SLOW);
            } else {
                s->window_bytes = 0;
                s->rate_deadline = now + lim.min_rate_window_ms;
                yb__engine_set_deadline(e, s, s->rate_deadline);
            }
        }
        return;
    case SS_FLUSH_TLS:
    case SS_CLOSING:
        mark_dead(s);
        finish_close(s);
        return;
    case SS_JOB: {
        /* The only deadline during a job: a worker waits for output the peer
         * does not read. Cut the peer off; the worker's write fails. */
        pal_mutex_lock(&s->out_lock);
        bool waiting = s->out_waiting;
        pal_mutex_unlock(&s->out_lock);
        if (waiting) {
            yb_log_info("net", "%s %s: not reading its output, cut off", s->service, s->peer_ip);
            mark_dead(s);
        }
        return;
    }
    case SS_FINAL: return;
    }
}
