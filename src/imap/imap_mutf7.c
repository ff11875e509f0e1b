/*
 * imap_mutf7.c - modified UTF-7 mailbox names and the Maildir++ name rules.
 */
#include "imap_mutf7.h"
#include "pal_err.h"
#include "yb_base64.h"
#include "yb_utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Modified base64 (RFC 3501 5.1.3): ',' takes the place of '/'. */
static int b64_value(unsigned char c)
{
    if (c == ',')
        return 63;
    return c == '/' ? -1 : yb_base64_value(c);
}

struct out {
    char *p;
    size_t len, cap;
    int err;
};

static void put(struct out *o, const void *data, size_t n)
{
    if (o->err != 0)
        return;
    if (o->len + n > YB_IMAP_LIMIT_MAILBOX) {
        o->err = YB_ELIMIT;
        return;
    }
    if (o->len + n > o->cap) {
        o->err = YB_ERANGE;
        return;
    }
    memcpy(o->p + o->len, data, n);
    o->len += n;
}

static void put_utf8(struct out *o, uint32_t cp)
{
    unsigned char b[4];
    size_t n;

    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    put(o, b, n);
}

static int finish(struct out *o, size_t *len_r)
{
    *len_r = 0;
    if (o->err != 0)
        return o->err;
    if (o->len < o->cap)
        o->p[o->len] = '\0';
    *len_r = o->len;
    return 0;
}

/* Decodes the base64 run in[*i..] up to its '-'; *i ends after the '-'. */
static int decode_run(struct yb_slice in, size_t *i, struct out *o)
{
    uint32_t bits = 0, high = 0;
    unsigned nbits = 0;
    size_t chars = 0;

    for (;; (*i)++) {
        int v;
        if (*i >= in.len)
            return YB_EILSEQ; /* '&' never closed */
        if (in.p[*i] == '-')
            break;
        if ((v = b64_value(in.p[*i])) < 0)
            return YB_EILSEQ;
        chars++;
        bits = (bits << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits >= 16) {
            uint32_t u = (bits >> (nbits - 16)) & 0xFFFF;
            nbits -= 16;
            bits &= (1u << nbits) - 1;
            if (high != 0) {
                if (u < 0xDC00 || u > 0xDFFF)
                    return YB_EILSEQ;
                put_utf8(o, 0x10000 + ((high - 0xD800) << 10) + (u - 0xDC00));
                high = 0;
            } else if (u >= 0xD800 && u <= 0xDBFF) {
                high = u;
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
                return YB_EILSEQ;
            } else if ((u >= 0x20 && u <= 0x7E) || u == 0) {
                return YB_EILSEQ; /* printable ASCII must be written as itself; no NUL */
            } else {
                put_utf8(o, u);
            }
        }
    }
    (*i)++; /* the '-' */
    /* Canonical: no extra character, zero padding, no dangling surrogate. */
    if (chars == 0 || nbits >= 6 || bits != 0 || high != 0)
        return YB_EILSEQ;
    return o->err;
}

int imap_mutf7_to_utf8(struct yb_slice in, char *out, size_t outcap, size_t *len_r)
{
    struct out o = { out, 0, outcap, 0 };
    bool after_run = false;
    size_t i = 0;
    int rc;

    *len_r = 0;
    if (in.len > YB_IMAP_LIMIT_MAILBOX)
        return YB_ELIMIT;
    while (i < in.len) {
        unsigned char c = in.p[i];
        if (c < 0x20 || c > 0x7E)
            return YB_EILSEQ;
        if (c != '&') {
            put(&o, &c, 1);
            after_run = false;
            i++;
            continue;
        }
        if (i + 1 < in.len && in.p[i + 1] == '-') {
            put(&o, "&", 1);
            after_run = false;
            i += 2;
            continue;
        }
        if (after_run)
            return YB_EILSEQ; /* "&AOk-&AOk-" must be one run */
        i++;
        if ((rc = decode_run(in, &i, &o)) < 0)
            return rc;
        after_run = true;
    }
    return finish(&o, len_r);
}

static void flush_run(struct out *o, uint32_t bits, unsigned nbits)
{
    if (nbits > 0) {
        char c = b64[(bits << (6 - nbits)) & 0x3F];
        put(o, &c, 1);
    }
    put(o, "-", 1);
}

int imap_utf8_to_mutf7(struct yb_slice in, char *out, size_t outcap, size_t *len_r)
{
    struct out o = { out, 0, outcap, 0 };
    bool in_run = false;
    uint32_t bits = 0;
    unsigned nbits = 0;
    size_t i = 0;

    *len_r = 0;
    if (in.len > YB_IMAP_LIMIT_MAILBOX)
        return YB_ELIMIT;
    while (i < in.len) {
        size_t n = yb_utf8_seq_len(in.p + i, in.len - i);
        uint32_t cp, units[2];
        size_t nu;

        if (n == 0 || in.p[i] == 0)
            return YB_EILSEQ;
        if (n == 1) {
            cp = in.p[i];
        } else {
            cp = in.p[i] & (0x7F >> n);
            for (size_t k = 1; k < n; k++)
                cp = (cp << 6) | (in.p[i + k] & 0x3F);
        }
        i += n;
        if (cp >= 0x20 && cp <= 0x7E) {
            if (in_run) {
                flush_run(&o, bits, nbits);
                in_run = false;
                bits = 0;
                nbits = 0;
            }
            put(&o, cp == '&' ? "&-" : (const char *)&in.p[i - 1], cp == '&' ? 2 : 1);
            continue;
        }
        if (!in_run) {
            put(&o, "&", 1);
            in_run = true;
        }
        if (cp >= 0x10000) {
            units[0] = 0xD800 + ((cp - 0x10000) >> 10);
            units[1] = 0xDC00 + ((cp - 0x10000) & 0x3FF);
            nu = 2;
        } else {
            units[0] = cp;
            nu = 1;
        }
        for (size_t k = 0; k < nu; k++) {
            bits = (bits << 16) | units[k];
            nbits += 16;
            while (nbits >= 6) {
                char c = b64[(bits >> (nbits - 6)) & 0x3F];
                nbits -= 6;
                bits &= (1u << nbits) - 1;
                put(&o, &c, 1);
            }
        }
    }
    if (in_run)
        flush_run(&o, bits, nbits);
    return finish(&o, len_r);
}

enum imap_mailbox_error imap_mailbox_check(struct yb_slice s)
{
    size_t i, level_start = 0, levels = 1;

    if (s.len == 0)
        return IMAP_MBOX_EMPTY;
    if (s.len > YB_IMAP_LIMIT_MAILBOX)
        return IMAP_MBOX_TOO_LONG;
    for (i = 0; i < s.len; i++) {
        unsigned char c = s.p[i];
        if (c < 0x20 || c == 0x7F ||
            (c == 0xC2 && i + 1 < s.len && s.p[i + 1] >= 0x80 && s.p[i + 1] < 0xA0))
            return IMAP_MBOX_CONTROL; /* C0, DEL, and C1 (U+0080..U+009F is C2 80..C2 9F) */
    }
    if (!yb_utf8_valid(s.p, s.len, NULL))
        return IMAP_MBOX_BAD_UTF8;
    if (s.p[0] == '/' || s.p[0] == '~')
        return IMAP_MBOX_LEADING;
    for (i = 0; i <= s.len; i++) {
        if (i == s.len || s.p[i] == '/') {
            if (i == level_start)
                return IMAP_MBOX_EMPTY;
            if (i < s.len && ++levels > YB_IMAP_LIMIT_MAILBOX_LEVELS)
                return IMAP_MBOX_TOO_LONG;
            level_start = i + 1;
            continue;
        }
        switch (s.p[i]) {
        case '.': return i + 1 < s.len && s.p[i + 1] == '.' ? IMAP_MBOX_DOTS : IMAP_MBOX_DOT;
        case '%':
        case '*':
        case '\\':
        case ':':
        case '?':
        case '"':
        case '<':
        case '>':
        case '|': return IMAP_MBOX_RESERVED;
        default: break;
        }
    }
    return IMAP_MBOX_OK;
}

enum imap_mailbox_error imap_mailbox_from_wire(struct yb_slice wire, bool utf8_accept, char *out,
                                               size_t outcap, size_t *len_r)
{
    enum imap_mailbox_error e;
    size_t n;

    *len_r = 0;
    if (outcap < YB_IMAP_LIMIT_MAILBOX + 1)
        return IMAP_MBOX_TOO_LONG;
    if (utf8_accept) {
        if (wire.len > YB_IMAP_LIMIT_MAILBOX)
            return IMAP_MBOX_TOO_LONG;
        if (wire.len > 0)
            memcpy(out, wire.p, wire.len);
        n = wire.len;
    } else {
        int rc = imap_mutf7_to_utf8(wire, out, outcap, &n);
        if (rc == YB_ELIMIT || rc == YB_ERANGE)
            return IMAP_MBOX_TOO_LONG;
        if (rc < 0)
            return IMAP_MBOX_BAD_MUTF7;
    }
    out[n] = '\0';
    if ((e = imap_mailbox_check(yb_slice_make(out, n))) != IMAP_MBOX_OK)
        return e;
    if (yb_slice_eq_cstr_nocase(yb_slice_make(out, n), "INBOX"))
        memcpy(out, "INBOX", 5);
    *len_r = n;
    return IMAP_MBOX_OK;
}

const char *imap_mailbox_error_text(enum imap_mailbox_error e)
{
    switch (e) {
    case IMAP_MBOX_OK: return "Mailbox name is valid";
    case IMAP_MBOX_EMPTY: return "Mailbox name or one of its levels is empty";
    case IMAP_MBOX_TOO_LONG: return "Mailbox name is too long or too deep";
    case IMAP_MBOX_BAD_UTF8: return "Mailbox name is not valid UTF-8";
    case IMAP_MBOX_LEADING: return "Mailbox name may not begin with '/' or '~'";
    case IMAP_MBOX_DOTS: return "Mailbox name may not contain '..'";
    case IMAP_MBOX_DOT: return "Mailbox name may not contain '.' (the folder separator on disk)";
    case IMAP_MBOX_CONTROL: return "Mailbox name may not contain control characters";
    case IMAP_MBOX_BAD_MUTF7: return "Mailbox name is not valid modified UTF-7";
    case IMAP_MBOX_RESERVED: return "Mailbox name may not contain % * \\ : ? \" < > or |";
    }
    return "Invalid mailbox name";
}
