/*
 * yb_sessapi.c - the functions protocol handlers call (yb_session.h). They
 * run on the worker executing the session's callback; what they ask for is
 * recorded and applied by the loop when the callback returns.
 */
#include "yb_engine_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

/* Output is appended in pieces of at most this size, so flow control can act between them. */
#define YB_NET_WRITE_PIECE (64 * 1024)

int yb_session_write(struct yb_session *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    int rc = 0;
    pal_mutex_lock(&s->out_lock);
    while (len > 0) {
        if (s->out_dead) {
            rc = YB_ECLOSED;
            break;
        }
        if (s->out.len > s->out_high) {
            /* Ask the loop to send, and wait until it has drained below the low mark. */
            s->out_waiting = true;
            bool post = !s->flush_req_queued;
            s->flush_req_queued = true;
            if (post) {
                pal_mutex_unlock(&s->out_lock);
                yb__engine_post_flush(s->e, s);
                pal_mutex_lock(&s->out_lock);
            }
            while (s->out_waiting && !s->out_dead)
                pal_cond_wait(&s->out_cond, &s->out_lock);
            continue;
        }
        size_t piece = len < YB_NET_WRITE_PIECE ? len : YB_NET_WRITE_PIECE;
        rc = yb_buf_append(&s->out, p, piece);
        if (rc != 0)
            break;
        p += piece;
        len -= piece;
    }
    pal_mutex_unlock(&s->out_lock);
    return rc;
}

int yb_session_write_slice(struct yb_session *s, struct yb_slice data)
{
    return yb_session_write(s, data.p, data.len);
}

int yb_session_vreply(struct yb_session *s, const char *fmt, va_list ap)
{
    char buf[YB_SESSION_REPLY_MAX];
    int n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
    if (n < 0)
        return YB_EINVAL;
    if ((size_t)n > sizeof(buf) - 3)
        n = (int)sizeof(buf) - 3;
    buf[n] = '\r';
    buf[n + 1] = '\n';
    return yb_session_write(s, buf, (size_t)n + 2);
}

int yb_session_reply(struct yb_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = yb_session_vreply(s, fmt, ap);
    va_end(ap);
    return rc;
}

int yb_session_printf(struct yb_session *s, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return YB_EINVAL;
    if ((size_t)n < sizeof(small))
        return yb_session_write(s, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (big == NULL)
        return YB_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = yb_session_write(s, big, (size_t)n);
    free(big);
    return rc;
}

void yb_session_read_body_dot(struct yb_session *s, uint64_t max_bytes)
{
    s->req_mode = true;
    s->req_mode_to = RM_DOT;
    s->req_arg = max_bytes;
}

void yb_session_read_bytes(struct yb_session *s, uint64_t n)
{
    s->req_mode = true;
    s->req_mode_to = RM_BYTES;
    s->req_arg = n;
}

void yb_session_body_info(struct yb_session *s, struct yb_body_info *info_r)
{
    *info_r = s->binfo;
}

int yb_session_start_tls(struct yb_session *s)
{
    if (s->tls != NULL)
        return YB_EINVAL;
    pal_mutex_lock(&s->e->lock);
    bool have = s->e->tls_ctx != NULL;
    pal_mutex_unlock(&s->e->lock);
    if (!have)
        return YB_ENOTSUP;
    s->req_tls = true;
    return 0;
}

void yb_session_park(struct yb_session *s, unsigned timeout_ms)
{
    s->req_park = true;
    s->req_park_ms = timeout_ms;
}

void yb_session_close(struct yb_session *s)
{
    s->req_close = true;
}

bool yb_session_line_pending(const struct yb_session *s)
{
    /* The loop does not touch s->in while a callback runs; the current line
     * is still at its front (job_consume bytes). */
    if (s->mode != RM_LINE || s->job != JOB_LINE || s->in.len <= s->job_consume)
        return false;
    return memchr(s->in.p + s->job_consume, '\n', s->in.len - s->job_consume) != NULL;
}

const struct pal_addr *yb_session_peer(const struct yb_session *s)
{
    return &s->peer;
}

const struct pal_addr *yb_session_local(const struct yb_session *s)
{
    return &s->local;
}

const char *yb_session_peer_ip(const struct yb_session *s)
{
    return s->peer_ip;
}

const char *yb_session_service(const struct yb_session *s)
{
    return s->service;
}

bool yb_session_is_tls(const struct yb_session *s)
{
    return s->tls != NULL;
}

const char *yb_session_tls_desc(const struct yb_session *s)
{
    return s->tls != NULL ? s->tls_desc : "";
}

uint64_t yb_session_id(const struct yb_session *s)
{
    return s->id;
}

void *yb_session_app(const struct yb_session *s)
{
    return s->e->app;
}
