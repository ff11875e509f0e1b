/*
 * smtpc_reply.c - parsers of the SMTP client (see smtpc_reply.h).
 */
#include "smtpc_reply.h"
#include "yb_utf8.h"

#include <stdio.h>
#include <string.h>

enum { RP_LINE = 0, RP_CR, RP_DONE, RP_BAD };

void smtpc_rparser_init(struct smtpc_rparser *p)
{
    p->state = RP_LINE;
    p->line_len = 0;
    p->reply.code = 0;
    p->reply.nlines = 0;
    p->reply.len = 0;
    p->reply.text[0] = '\0';
    p->reply.why = NULL;
}

static enum smtpc_parse_status bad(struct smtpc_rparser *p, const char *why)
{
    p->state = RP_BAD;
    p->reply.why = why;
    return SMTPC_REPLY_BAD;
}

/* Appends text to the reply, replacing what cannot go into a log with '?'. */
static void add_text(struct smtpc_reply *r, const unsigned char *s, size_t n)
{
    size_t i = 0;
    if (r->nlines > 1 && r->len < SMTPC_REPLY_TEXT_MAX)
        r->text[r->len++] = '\n';
    while (i < n) {
        size_t cl = yb_utf8_seq_len(s + i, n - i);
        if (cl == 0 || (cl == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
            if (r->len + 1 > SMTPC_REPLY_TEXT_MAX)
                break;
            r->text[r->len++] = '?';
            i++;
            continue;
        }
        if (r->len + cl > SMTPC_REPLY_TEXT_MAX)
            break; /* cut whole characters only */
        memcpy(r->text + r->len, s + i, cl);
        r->len += cl;
        i += cl;
    }
    r->text[r->len] = '\0';
}

/* One complete line (without its end). Returns MORE, DONE or BAD. */
static enum smtpc_parse_status end_line(struct smtpc_rparser *p)
{
    const unsigned char *l = p->line;
    size_t n = p->line_len;
    struct smtpc_reply *r = &p->reply;
    if (n < 3)
        return bad(p, "reply line shorter than a code");
    if (l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' || l[2] < '0' || l[2] > '9')
        return bad(p, "reply code is not [2-5][0-5][0-9]");
    unsigned code =
        (unsigned)(l[0] - '0') * 100 + (unsigned)(l[1] - '0') * 10 + (unsigned)(l[2] - '0');
    if (r->nlines > 0 && code != r->code)
        return bad(p, "reply code changes inside a multi-line reply");
    if (r->nlines == SMTPC_LIMIT_REPLY_LINES)
        return bad(p, "too many lines in one reply");
    r->code = code;
    r->nlines++;
    bool last;
    if (n == 3) {
        last = true;
    } else if (l[3] == ' ') {
        last = true;
    } else if (l[3] == '-') {
        last = false;
    } else {
        return bad(p, "reply code followed by neither space nor hyphen");
    }
    add_text(r, l + (n > 3 ? 4 : 3), n > 3 ? n - 4 : 0);
    p->line_len = 0;
    if (last) {
        p->state = RP_DONE;
        return SMTPC_REPLY_DONE;
    }
    p->state = RP_LINE;
    return SMTPC_REPLY_MORE;
}

enum smtpc_parse_status smtpc_rparser_feed(struct smtpc_rparser *p, const void *data, size_t len,
                                           size_t *used_r)
{
    const unsigned char *s = data;
    size_t i = 0;
    enum smtpc_parse_status st = SMTPC_REPLY_MORE;
    *used_r = 0;
    if (p->state == RP_BAD)
        return SMTPC_REPLY_BAD;
    if (p->state == RP_DONE)
        return SMTPC_REPLY_DONE;
    while (i < len) {
        unsigned char c = s[i++];
        if (c == '\0') {
            st = bad(p, "NUL byte in a reply");
            break;
        }
        if (p->state == RP_CR) {
            if (c == '\n') {
                st = end_line(p);
                if (st != SMTPC_REPLY_MORE)
                    break;
                continue;
            }
            /* A CR inside the text: keep it (add_text replaces it). */
            p->state = RP_LINE;
            if (p->line_len == SMTPC_LIMIT_REPLY_LINE) {
                st = bad(p, "reply line too long");
                break;
            }
            p->line[p->line_len++] = '\r';
        }
        if (c == '\r') {
            p->state = RP_CR;
            continue;
        }
        if (c == '\n') {
            st = end_line(p);
            if (st != SMTPC_REPLY_MORE)
                break;
            continue;
        }
        if (p->line_len == SMTPC_LIMIT_REPLY_LINE) {
            st = bad(p, "reply line too long");
            break;
        }
        p->line[p->line_len++] = c;
    }
    *used_r = i;
    return st;
}

void smtpc_reply_enhanced(const struct smtpc_reply *r, char *buf, size_t size)
{
    const char *t = r->text;
    size_t i = 0;
    buf[0] = '\0';
    /* class.subject.detail: class = the reply's first digit, 1-3 and 1-3 digits. */
    if (size < 12 || r->code / 100 < 2 || t[0] != (char)('0' + r->code / 100) || t[1] != '.')
        return;
    i = 2;
    for (int part = 0; part < 2; part++) {
        size_t d = 0;
        while (t[i] >= '0' && t[i] <= '9' && d < 3) {
            i++;
            d++;
        }
        if (d == 0)
            return;
        if (part == 0) {
            if (t[i] != '.')
                return;
            i++;
        }
    }
    if (t[i] != '\0' && t[i] != ' ' && t[i] != '\n')
        return;
    memcpy(buf, t, i);
    buf[i] = '\0';
}

void smtpc_dot_init(struct smtpc_dot *d)
{
    d->bol = true;
    d->cr = false;
}

size_t smtpc_dot_encode(struct smtpc_dot *d, const unsigned char *in, size_t len,
                        unsigned char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i];
        if (d->cr) {
            d->cr = false;
            if (c == '\n') {
                /* CRLF: the CR already went out with an LF, this one is done. */
                continue;
            }
        }
        if (c == '\r') {
            out[o++] = '\r';
            out[o++] = '\n';
            d->bol = true;
            d->cr = true;
            continue;
        }
        if (c == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            d->bol = true;
            continue;
        }
        if (d->bol && c == '.')
            out[o++] = '.';
        d->bol = false;
        out[o++] = c;
    }
    return o;
}

size_t smtpc_dot_finish(struct smtpc_dot *d, unsigned char *out)
{
    size_t o = 0;
    if (!d->bol) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    memcpy(out + o, ".\r\n", 3);
    d->bol = true;
    d->cr = false;
    return o + 3;
}
