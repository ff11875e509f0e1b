/*
 * yb_buf.h - growable byte buffers with a hard maximum.
 *
 * Every buffer is created with the limit of its use (YB_LIMIT_SMTP_LINE, a
 * tab file's YB_LIMIT_TAB_FILE ...); growing past it fails with YB_ELIMIT
 * and leaves the contents unchanged, so a hostile peer can never make us
 * allocate more than the limit. The fields are public for reading only.
 */
#ifndef YB_BUF_H
#define YB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include "pal_compiler.h"
#include "yb_slice.h"

struct yb_buf {
    unsigned char *p; /* NULL until the first append; always NUL-terminated after it */
    size_t len;       /* bytes of content (not counting the terminating NUL) */
    size_t cap;       /* allocated bytes */
    size_t max;       /* the most content this buffer may hold */
};

/* Initialises an empty buffer that may hold at most max bytes. No allocation. */
void yb_buf_init(struct yb_buf *b, size_t max);

/* Frees the storage; the buffer is empty and reusable with the same max. */
void yb_buf_free(struct yb_buf *b);

/* Empties the buffer, keeping its storage. */
static inline void yb_buf_reset(struct yb_buf *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

/* Makes room for extra more bytes. YB_ELIMIT past max, YB_ENOMEM. */
int yb_buf_reserve(struct yb_buf *b, size_t extra);

int yb_buf_append(struct yb_buf *b, const void *data, size_t len);
int yb_buf_append_byte(struct yb_buf *b, unsigned char c);

/*
 * Appends fields as one tab-file / CTRL record: each field double-quoted with
 * '"' and '\\' escaped, TAB-separated, then eol. All or nothing: on
 * YB_ELIMIT (past b's max) b is as it was. The caller checks the fields.
 */
int yb_buf_append_quoted(struct yb_buf *b, const struct yb_slice *fields, size_t n,
                         const char *eol);
int yb_buf_append_cstr(struct yb_buf *b, const char *s);
int yb_buf_append_slice(struct yb_buf *b, struct yb_slice s);

/* Appends formatted text. YB_ELIMIT (content unchanged) if it would pass max. */
int yb_buf_printf(struct yb_buf *b, const char *fmt, ...) YB_PRINTF(2, 3);
int yb_buf_vprintf(struct yb_buf *b, const char *fmt, va_list ap) YB_PRINTF(2, 0);

/* Removes the first n bytes (n <= len), moving the rest to the front. */
void yb_buf_consume(struct yb_buf *b, size_t n);

/* Shortens the content to len bytes (len <= b->len). */
void yb_buf_truncate(struct yb_buf *b, size_t len);

static inline struct yb_slice yb_buf_slice(const struct yb_buf *b)
{
    return (struct yb_slice){b->p, b->len};
}

/*
 * The content as a C string (never NULL: "" for an empty buffer). Only
 * meaningful when the content has no NUL byte.
 */
const char *yb_buf_cstr(const struct yb_buf *b);

/*
 * Hands the storage to the caller (malloc'ed, NUL-terminated, or NULL if
 * nothing was ever appended) and leaves the buffer empty.
 */
unsigned char *yb_buf_steal(struct yb_buf *b, size_t *len_r);

#endif
