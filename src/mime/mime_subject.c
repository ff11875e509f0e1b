/*
 * mime_subject.c - RFC 5256 base subject extraction.
 */
#include "mime_subject.h"
#include "mime_header.h"
#include "pal_err.h"

#include <stddef.h>

static bool starts_nocase(const unsigned char *s, size_t avail, const char *w)
{
    size_t i = 0;
    for (; w[i] != '\0'; i++) {
        unsigned char c = i < avail ? s[i] : 0;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (i >= avail || c != (unsigned char)w[i])
            return false;
    }
    return true;
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP at s[b]; returns the end or b when none. */
static size_t blob(const unsigned char *s, size_t b, size_t e)
{
    size_t k;
    if (b >= e || s[b] != '[')
        return b;
    for (k = b + 1; k < e && s[k] != ']'; k++) {
        if (s[k] == '[')
            return b;
    }
    if (k >= e)
        return b;
    for (k++; k < e && s[k] == ' '; k++)
        ;
    return k;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
static size_t refwd(const unsigned char *s, size_t b, size_t e)
{
    size_t k = b;
    if (starts_nocase(s + k, e - k, "re"))
        k += 2;
    else if (starts_nocase(s + k, e - k, "fwd"))
        k += 3;
    else if (starts_nocase(s + k, e - k, "fw"))
        k += 2;
    else
        return b;
    while (k < e && s[k] == ' ')
        k++;
    k = blob(s, k, e);
    if (k < e && s[k] == ':')
        return k + 1;
    return b;
}

/* Step 3: subj-leader = (*subj-blob subj-refwd) / WSP, removed repeatedly. */
static size_t strip_leaders(const unsigned char *s, size_t b, size_t e, bool *reply)
{
    for (;;) {
        size_t k, r;
        if (b < e && s[b] == ' ') {
            b++;
            continue;
        }
        k = b;
        for (;;) {
            size_t n = blob(s, k, e);
            if (n == k)
                break;
            k = n;
        }
        r = refwd(s, k, e);
        if (r == k)
            return b;
        *reply = true;
        b = r;
    }
}

int mime_base_subject(struct yb_slice raw, struct yb_buf *out, bool *reply_r)
{
    struct yb_buf dec;
    bool reply = false;
    size_t b = 0, e, start = out->len;
    const unsigned char *s;
    int rc;

    /* (1) decode, and make every whitespace run one space */
    yb_buf_init(&dec, raw.len * 4 + 16);
    if ((rc = mime_header_decode(raw, &dec)) < 0)
        goto done;
    {
        size_t k = 0;
        bool sp = false;
        for (size_t i = 0; i < dec.len; i++) {
            unsigned char c = dec.p[i];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                if (!sp)
                    dec.p[k++] = ' ';
                sp = true;
            } else {
                dec.p[k++] = c;
                sp = false;
            }
        }
        yb_buf_truncate(&dec, k);
    }
    if (dec.len == 0)
        goto done;
    s = dec.p;
    e = dec.len;
    for (;;) {
        /* (2) subj-trailer = "(fwd)" / WSP, from the end */
        for (;;) {
            if (e > b && s[e - 1] == ' ') {
                e--;
            } else if (e - b >= 5 && starts_nocase(s + e - 5, 5, "(fwd)")) {
                e -= 5;
                reply = true;
            } else {
                break;
            }
        }
        /* (3), (4), (5) */
        for (;;) {
            size_t before = b, n;
            b = strip_leaders(s, b, e, &reply);
            n = blob(s, b, e);
            if (n > b && n < e) /* something (not only spaces: blob ate them) is left */
                b = n;
            if (b == before)
                break;
        }
        /* (6) "[fwd:" ... "]" */
        if (e - b >= 6 && starts_nocase(s + b, e - b, "[fwd:") && s[e - 1] == ']') {
            b += 5;
            e -= 1;
            reply = true;
            continue;
        }
        break;
    }
    rc = yb_buf_append(out, s + b, e - b);
    if (rc < 0)
        yb_buf_truncate(out, start);
done:
    yb_buf_free(&dec);
    if (reply_r != NULL)
        *reply_r = reply;
    return rc;
}
