/*
 * mime_decode.c - streaming base64 and quoted-printable decoders.
 */
#include "mime_decode.h"
#include "pal_err.h"
#include "yb_base64.h"
#include "yb_hex.h"

#include <string.h>

/* A small staging area so output is appended in runs, not byte by byte. */
struct stage {
    unsigned char b[256];
    size_t n;
    struct yb_buf *out;
    int rc;
};

static void st_put(struct stage *s, unsigned char c)
{
    if (s->n == sizeof(s->b)) {
        if (s->rc == 0)
            s->rc = yb_buf_append(s->out, s->b, s->n);
        s->n = 0;
    }
    s->b[s->n++] = c;
}

static int st_end(struct stage *s)
{
    if (s->rc == 0 && s->n > 0)
        s->rc = yb_buf_append(s->out, s->b, s->n);
    s->n = 0;
    return s->rc;
}

void mime_b64_init(struct mime_b64 *st)
{
    memset(st, 0, sizeof(*st));
}

int mime_b64_decode(struct mime_b64 *st, const void *in, size_t len, struct yb_buf *out)
{
    const unsigned char *p = in;
    struct stage s = { .out = out };

    for (size_t i = 0; i < len && !st->done; i++) {
        int v = yb_base64_value(p[i]);
        if (v < 0) {
            if (p[i] == '=')
                st->done = true;
            else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
                st->bad++;
            continue;
        }
        st->bits = (st->bits << 6) | (uint32_t)v;
        if (++st->n == 4) {
            st_put(&s, (unsigned char)(st->bits >> 16));
            st_put(&s, (unsigned char)(st->bits >> 8));
            st_put(&s, (unsigned char)st->bits);
            st->n = 0;
            st->bits = 0;
        }
    }
    return st_end(&s);
}

int mime_b64_finish(struct mime_b64 *st, struct yb_buf *out)
{
    struct stage s = { .out = out };

    if (st->n == 2) {
        st_put(&s, (unsigned char)(st->bits >> 4));
    } else if (st->n == 3) {
        st_put(&s, (unsigned char)(st->bits >> 10));
        st_put(&s, (unsigned char)(st->bits >> 2));
    } else if (st->n == 1) {
        st->bad++;
    }
    st->n = 0;
    st->bits = 0;
    return st_end(&s);
}

/* ---- quoted-printable ---- */

enum { QP_TEXT, QP_EQ, QP_HEX, QP_SOFT };

void mime_qp_init(struct mime_qp *st)
{
    memset(st, 0, sizeof(*st));
}

/* Held whitespace and CR turn out to be text. */
static void qp_release(struct mime_qp *st, struct stage *s)
{
    for (size_t k = 0; k < st->nws; k++)
        st_put(s, st->ws[k]);
    st->nws = 0;
    if (st->cr)
        st_put(s, '\r');
    st->cr = false;
}

static void qp_text(struct mime_qp *st, struct stage *s, unsigned char c)
{
    switch (c) {
    case '=':
        qp_release(st, s);
        st->state = QP_EQ;
        break;
    case ' ':
    case '\t':
        if (st->cr)
            qp_release(st, s);
        if (st->nws == sizeof(st->ws)) {
            for (size_t k = 0; k < st->nws; k++)
                st_put(s, st->ws[k]);
            st->nws = 0;
        }
        st->ws[st->nws++] = c;
        break;
    case '\r':
        if (st->cr)
            qp_release(st, s);
        st->cr = true;
        break;
    case '\n':
        st->nws = 0; /* whitespace at the end of a line is transport padding */
        if (st->cr)
            st_put(s, '\r');
        st->cr = false;
        st_put(s, '\n');
        break;
    default:
        qp_release(st, s);
        st_put(s, c);
        break;
    }
}

int mime_qp_decode(struct mime_qp *st, const void *in, size_t len, struct yb_buf *out)
{
    const unsigned char *p = in;
    struct stage s = { .out = out };

    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        int h;
        switch (st->state) {
        case QP_TEXT: qp_text(st, &s, c); break;
        case QP_EQ:
            if (yb_hex_value(c) >= 0) {
                st->hex1 = c;
                st->state = QP_HEX;
            } else if (c == ' ' || c == '\t' || c == '\r') {
                st->state = QP_SOFT;
            } else if (c == '\n') {
                st->state = QP_TEXT;
            } else {
                st->bad++;
                st_put(&s, '=');
                st->state = QP_TEXT;
                qp_text(st, &s, c);
            }
            break;
        case QP_HEX:
            st->state = QP_TEXT;
            if ((h = yb_hex_value(c)) >= 0) {
                st_put(&s, (unsigned char)(yb_hex_value(st->hex1) * 16 + h));
            } else {
                st->bad++;
                st_put(&s, '=');
                st_put(&s, st->hex1);
                qp_text(st, &s, c);
            }
            break;
        case QP_SOFT:
            if (c == '\n') {
                st->state = QP_TEXT;
            } else if (c != ' ' && c != '\t' && c != '\r') {
                st->bad++; /* "= x": not a soft break, but nothing better to make of it */
                st->state = QP_TEXT;
                qp_text(st, &s, c);
            }
            break;
        }
    }
    return st_end(&s);
}

int mime_qp_finish(struct mime_qp *st, struct yb_buf *out)
{
    struct stage s = { .out = out };

    if (st->state == QP_EQ) {
        st_put(&s, '=');
    } else if (st->state == QP_HEX) {
        st_put(&s, '=');
        st_put(&s, st->hex1);
    }
    st->nws = 0; /* trailing whitespace of the last line: padding too */
    if (st->cr)
        st_put(&s, '\r');
    st->cr = false;
    st->state = QP_TEXT;
    return st_end(&s);
}

/* ---- any encoding ---- */

enum mime_cte mime_cte_from_name(const void *name, size_t len)
{
    const unsigned char *p = name;
    char w[24];
    size_t n = 0;

    for (size_t i = 0; i < len && n + 1 < sizeof(w); i++) {
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
            continue;
        w[n++] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    }
    w[n] = '\0';
    if (strcmp(w, "base64") == 0)
        return MIME_CTE_BASE64;
    if (strcmp(w, "quoted-printable") == 0)
        return MIME_CTE_QP;
    return MIME_CTE_7BIT;
}

void mime_decoder_init(struct mime_decoder *d, enum mime_cte cte)
{
    d->cte = cte;
    if (cte == MIME_CTE_BASE64)
        mime_b64_init(&d->u.b64);
    else if (cte == MIME_CTE_QP)
        mime_qp_init(&d->u.qp);
}

int mime_decoder_feed(struct mime_decoder *d, const void *in, size_t len, struct yb_buf *out)
{
    switch (d->cte) {
    case MIME_CTE_BASE64: return mime_b64_decode(&d->u.b64, in, len, out);
    case MIME_CTE_QP: return mime_qp_decode(&d->u.qp, in, len, out);
    default: return yb_buf_append(out, in, len);
    }
}

int mime_decoder_finish(struct mime_decoder *d, struct yb_buf *out)
{
    switch (d->cte) {
    case MIME_CTE_BASE64: return mime_b64_finish(&d->u.b64, out);
    case MIME_CTE_QP: return mime_qp_finish(&d->u.qp, out);
    default: return 0;
    }
}
