/*
 * pop3_encode.c - line endings and dot-stuffing for RETR and TOP.
 */
#include "pop3_encode.h"

#include <string.h>

void pop3_encoder_init(struct pop3_encoder *e, bool top, uint32_t top_lines)
{
    memset(e, 0, sizeof(*e));
    e->line_start = true;
    e->top = top;
    e->in_header = true;
    e->top_left = top_lines;
}

bool pop3_encoder_done(const struct pop3_encoder *e)
{
    return e->done;
}

/* A line ended (its CRLF is written): TOP counts it. */
static void end_of_line(struct pop3_encoder *e, bool was_empty)
{
    e->line_start = true;
    if (!e->top)
        return;
    if (e->in_header) {
        if (was_empty) {
            e->in_header = false;
            if (e->top_left == 0)
                e->done = true;
        }
        return;
    }
    if (--e->top_left == 0)
        e->done = true;
}

size_t pop3_encode(struct pop3_encoder *e, const unsigned char *in, size_t len, unsigned char *out,
                   size_t outcap, size_t *used_r)
{
    size_t i = 0, o = 0;
    while (i < len && !e->done && outcap - o >= YB_POP3_ENCODE_EXPANSION) {
        unsigned char c = in[i];
        if (!e->cr_pending && !(e->line_start && c == '.') && c != '\r' && c != '\n') {
            /* The common case: a run of ordinary bytes up to the next CR or LF, copied at once. */
            size_t room = outcap - o - 1, lim = len - i < room ? len - i : room, n = lim;
            const unsigned char *stop = memchr(in + i, '\n', lim);
            if (stop != NULL)
                n = (size_t)(stop - (in + i));
            stop = memchr(in + i, '\r', n);
            if (stop != NULL)
                n = (size_t)(stop - (in + i)); /* not 0: in[i] is neither CR nor LF */
            memcpy(out + o, in + i, n);
            o += n;
            i += n;
            e->octets += n;
            e->line_start = false;
            continue;
        }
        if (c == '\n') {
            bool empty = e->line_start;
            e->cr_pending = false;
            out[o++] = '\r';
            out[o++] = '\n';
            e->octets += 2;
            i++;
            end_of_line(e, empty);
            continue;
        }
        if (e->cr_pending) {
            /* The CR before this byte was not a CRLF's: it is data. */
            out[o++] = '\r';
            e->octets++;
            e->cr_pending = false;
            e->line_start = false;
            continue; /* this byte again, with room checked again */
        }
        if (c == '\r') {
            e->cr_pending = true;
            i++;
            continue;
        }
        if (e->line_start && c == '.') {
            out[o++] = '.'; /* the stuffing dot: not part of the message's size */
            e->line_start = false;
            continue; /* the message's own dot, with room checked again */
        }
        out[o++] = c;
        e->octets++;
        e->line_start = false;
        i++;
    }
    *used_r = i;
    return o;
}

size_t pop3_encode_finish(struct pop3_encoder *e, unsigned char *out, bool terminator)
{
    size_t o = 0;
    if (!e->done && (e->cr_pending || !e->line_start)) {
        /* An unterminated last line (a trailing CR counts as its end). */
        out[o++] = '\r';
        out[o++] = '\n';
        e->octets += 2;
        e->cr_pending = false;
        e->line_start = true;
    }
    if (terminator) {
        memcpy(out + o, ".\r\n", 3);
        o += 3;
    }
    return o;
}
