/*
 * yb_stream.c - the command-line scanner and the SMTP DATA decoder.
 *
 * Both are pure functions of (state, bytes): nothing is allocated, nothing
 * is buffered inside them, and every decision that needs a byte not yet seen
 * waits for it, so feeding whole, in pieces or one byte at a time gives the
 * same results.
 */
#include "yb_stream.h"

#include <string.h>

/* ---- command lines ---- */

void yb_line_scanner_init(struct yb_line_scanner *ls, size_t max)
{
    ls->max = max;
    ls->discarding = false;
    ls->scanned = 0;
}

/* Index of the first LF in p[from..to), or SIZE_MAX. p may be NULL when from == to. */
static size_t find_lf(const unsigned char *p, size_t from, size_t to)
{
    if (from >= to)
        return SIZE_MAX;
    const unsigned char *lf = memchr(p + from, '\n', to - from);
    return lf != NULL ? (size_t)(lf - p) : SIZE_MAX;
}

/*
 * A line that is accepted holds at most max bytes, then perhaps a CR, then
 * the LF: so the first max + 2 bytes decide. The caller never has to keep
 * more than that: once max + 1 bytes have come without an LF and the last of
 * them is not a CR (which might still be the CR of a CRLF), or max + 2 bytes
 * without an LF, the line is over-long and every byte of it is consumed as it
 * arrives. TOO_LONG is reported at its LF, so the next call starts on the
 * next line and a command is never taken from the middle of a long line.
 */
enum yb_line_result yb_line_next(struct yb_line_scanner *ls, const unsigned char *data, size_t len,
                                 struct yb_slice *line_r, size_t *consumed_r, bool *bare_lf_r)
{
    size_t window = ls->max <= SIZE_MAX - 2 ? ls->max + 2 : SIZE_MAX;
    size_t from = 0; /* where discarding starts looking for the LF */
    size_t lf;

    *line_r = yb_slice_make(data, 0);
    *consumed_r = 0;
    *bare_lf_r = false;

    if (!ls->discarding) {
        size_t end = len < window ? len : window;
        if (ls->scanned > end)
            ls->scanned = 0; /* not the bytes we saw last time: search them all */
        lf = find_lf(data, ls->scanned, end);
        if (lf != SIZE_MAX) {
            bool cr = lf > 0 && data[lf - 1] == '\r';
            size_t n = cr ? lf - 1 : lf;
            ls->scanned = 0;
            *consumed_r = lf + 1;
            if (n > ls->max)
                return YB_LINE_TOO_LONG; /* max + 1 bytes, then a bare LF */
            *line_r = yb_slice_make(data, n);
            *bare_lf_r = !cr;
            return YB_LINE_OK;
        }
        if (end < window - 1 || (end == window - 1 && data[end - 1] == '\r')) {
            ls->scanned = end;
            return YB_LINE_NEED_MORE;
        }
        ls->discarding = true;
        ls->scanned = 0;
        from = end;
    }

    lf = find_lf(data, from, len);
    if (lf == SIZE_MAX) {
        *consumed_r = len;
        return YB_LINE_NEED_MORE;
    }
    ls->discarding = false;
    *consumed_r = lf + 1;
    return YB_LINE_TOO_LONG;
}

/* ---- SMTP DATA ---- */

/*
 * The decoder applies RFC 5321 as written, then normalises line endings:
 *
 * - A line is what ends in CRLF. The body starts at a line start (the DATA
 *   command's CRLF precedes it), so ".\r\n" at once is an empty message.
 * - At a line start, "." CRLF is the end; a "." followed by anything else is
 *   a stuffing dot and is removed (4.5.2: "the first character is deleted").
 *   So a dot at a line start is never message content.
 * - A bare CR or bare LF is an ordinary byte of its line for both rules: it
 *   never starts or ends a line for unstuffing or for the terminator. Only
 *   when written out does each one become CRLF (and get counted), so the
 *   output has CRLF endings only.
 *
 * Hence a line "." followed by a bare CR or LF: by the RFC the line is "."
 * plus more characters, not a single period, so the dot is a stuffing dot
 * and is dropped, and the bare ending becomes CRLF: "\r\n.\n" gives
 * "\r\n\r\n", and "\r\n.\rX" gives "\r\n\r\nX". It is never the end of the
 * message. After a bare CR or LF no dot is removed, because RFC 5321 sees no
 * line start there: "\n.\r\n" gives "\r\n.\r\n" and "\n..x" gives
 * "\r\n..x". Either choice is safe; what matters for smuggling is only that
 * the end is CRLF "." CRLF, and whoever sends the message on dot-stuffs it
 * again. A caller that refuses bare CR/LF by policy never stores either.
 *
 * The longest line is measured on the output (after unstuffing, with every
 * bare CR and LF ending a line), without its CRLF.
 */
enum dot_state {
    DOT_BOL = 0, /* at a line start: after CRLF, or at the start of the body */
    DOT_DOT,     /* a "." at a line start */
    DOT_DOT_CR,  /* "." CR at a line start: the end if LF comes next */
    DOT_TEXT,    /* inside a line */
    DOT_CR       /* a CR inside a line, not yet known to be bare */
};

void yb_dot_decoder_init(struct yb_dot_decoder *d)
{
    memset(d, 0, sizeof(*d));
    d->state = DOT_BOL;
}

/* Writes CRLF and ends the current line. The caller checked there is room. */
static size_t put_crlf(struct yb_dot_decoder *d, unsigned char *out)
{
    out[0] = '\r';
    out[1] = '\n';
    d->line_len = 0;
    return 2;
}

void yb_dot_decode(struct yb_dot_decoder *d, const unsigned char *in, size_t inlen,
                   size_t *consumed_r, unsigned char *out, size_t outcap, size_t *produced_r)
{
    size_t i = 0, o = 0;

    /* Each step either consumes a byte, or writes and moves to a state that
     * will consume it: a CR's fate is known only from the byte after it. */
    while (i < inlen && !d->done) {
        unsigned char c = in[i];
        switch (d->state) {
        case DOT_BOL:
            if (c == '.') {
                d->state = DOT_DOT;
                i++;
            } else {
                d->state = DOT_TEXT;
            }
            break;
        case DOT_DOT:
            if (c == '\r') {
                d->state = DOT_DOT_CR;
                i++;
            } else {
                d->state = DOT_TEXT; /* the stuffing dot is dropped */
            }
            break;
        case DOT_DOT_CR:
            if (c == '\n') {
                d->done = true;
                i++;
            } else {
                d->state = DOT_CR; /* the dot is dropped; this CR is bare */
            }
            break;
        case DOT_CR:
            if (outcap - o < 2)
                goto full;
            o += put_crlf(d, out + o);
            if (c == '\n') {
                d->state = DOT_BOL;
                i++;
            } else {
                d->bare_cr++;
                d->state = DOT_TEXT;
            }
            break;
        case DOT_TEXT:
        default:
            if (c == '\r') {
                d->state = DOT_CR;
                i++;
            } else if (c == '\n') {
                if (outcap - o < 2)
                    goto full;
                o += put_crlf(d, out + o);
                d->bare_lf++;
                i++;
            } else {
                /* Copy the run of ordinary bytes that fits. */
                size_t room = outcap - o, n = 0;
                size_t max = inlen - i < room ? inlen - i : room;
                if (max == 0)
                    goto full;
                while (n < max && in[i + n] != '\r' && in[i + n] != '\n') {
                    if (in[i + n] == 0)
                        d->nul_bytes++;
                    n++;
                }
                memcpy(out + o, in + i, n);
                i += n;
                o += n;
                d->line_len += n;
                if (d->line_len > d->longest_line)
                    d->longest_line = d->line_len;
            }
            break;
        }
    }
full:
    d->out_total += o;
    *consumed_r = i;
    *produced_r = o;
}
