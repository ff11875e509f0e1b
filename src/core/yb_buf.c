/*
 * yb_buf.c - bounded growable buffers.
 */
#include "yb_buf.h"
#include "pal_err.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

bool yb_slice_eq_nocase(struct yb_slice a, struct yb_slice b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        unsigned char x = a.p[i], y = b.p[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

bool yb_slice_eq_cstr_nocase(struct yb_slice s, const char *lit)
{
    return yb_slice_eq_nocase(s, yb_slice_cstr(lit));
}

void yb_buf_init(struct yb_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void yb_buf_free(struct yb_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

int yb_buf_reserve(struct yb_buf *b, size_t extra)
{
    if (extra > b->max - b->len || b->len > b->max)
        return YB_ELIMIT;
    size_t need = b->len + extra + 1; /* + NUL */
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    if (cap < need)
        cap = need;
    unsigned char *np = realloc(b->p, cap);
    if (np == NULL)
        return YB_ENOMEM;
    b->p = np;
    b->cap = cap;
    return 0;
}

int yb_buf_append(struct yb_buf *b, const void *data, size_t len)
{
    int rc = yb_buf_reserve(b, len);
    if (rc != 0)
        return rc;
    if (len > 0)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

int yb_buf_append_byte(struct yb_buf *b, unsigned char c)
{
    return yb_buf_append(b, &c, 1);
}

int yb_buf_append_cstr(struct yb_buf *b, const char *s)
{
    return yb_buf_append(b, s, strlen(s));
}

int yb_buf_append_slice(struct yb_buf *b, struct yb_slice s)
{
    return yb_buf_append(b, s.p, s.len);
}

int yb_buf_vprintf(struct yb_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return YB_EINVAL;
    int rc = yb_buf_reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    int m = vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    if (m != n)
        return YB_EINVAL;
    b->len += (size_t)n;
    return 0;
}

int yb_buf_printf(struct yb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = yb_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void yb_buf_consume(struct yb_buf *b, size_t n)
{
    if (n >= b->len) {
        yb_buf_reset(b);
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

void yb_buf_truncate(struct yb_buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->p[len] = '\0';
    }
}

const char *yb_buf_cstr(const struct yb_buf *b)
{
    return b->p != NULL ? (const char *)b->p : "";
}

unsigned char *yb_buf_steal(struct yb_buf *b, size_t *len_r)
{
    unsigned char *p = b->p;
    if (len_r != NULL)
        *len_r = b->len;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

int yb_buf_append_quoted(struct yb_buf *b, const struct yb_slice *fields, size_t n,
                         const char *eol)
{
    size_t start = b->len;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = yb_buf_append_byte(b, '\t');
        if (rc == 0)
            rc = yb_buf_append_byte(b, '"');
        for (size_t k = 0; k < fields[i].len && rc == 0; k++) {
            unsigned char c = fields[i].p[k];
            if (c == '"' || c == '\\')
                rc = yb_buf_append_byte(b, '\\');
            if (rc == 0)
                rc = yb_buf_append_byte(b, c);
        }
        if (rc == 0)
            rc = yb_buf_append_byte(b, '"');
    }
    if (rc == 0)
        rc = yb_buf_append(b, eol, strlen(eol));
    if (rc != 0)
        yb_buf_truncate(b, start);
    return rc;
}
