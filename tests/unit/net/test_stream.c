/*
 * test_stream.c - the command-line scanner and the SMTP DATA decoder.
 *
 * Every case is fed whole, one byte at a time, and split in two at every
 * position; the DATA cases also with output buffers of 2, 3 and many bytes.
 * All must give the same results.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal.h"
#include "yb_buf.h"
#include "yb_stream.h"

#define WHOLE ((size_t)-1)

/* Appends bytes, with anything outside printable ASCII (and '\') as \xHH. */
static void put_escaped(struct yb_buf *b, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '\\')
            yb_buf_printf(b, "\\x%02x", (unsigned)p[i]);
        else
            yb_buf_append_byte(b, p[i]);
    }
}

/* The n-th piece of a feed: whole (split == WHOLE, chunk 0), chunks, or two halves. */
static size_t piece_len(size_t len, size_t off, size_t chunk, size_t split)
{
    if (split != WHOLE)
        return off < split ? split - off : len - off;
    if (chunk == 0 || len - off < chunk)
        return len - off;
    return chunk;
}

static const char *how_name(char *buf, size_t size, size_t chunk, size_t split, size_t outcap)
{
    if (split != WHOLE)
        snprintf(buf, size, "split at %u, outcap %u", (unsigned)split, (unsigned)outcap);
    else if (chunk != 0)
        snprintf(buf, size, "%u byte(s) at a time, outcap %u", (unsigned)chunk, (unsigned)outcap);
    else
        snprintf(buf, size, "whole, outcap %u", (unsigned)outcap);
    return buf;
}

/* ---- command lines ---- */

struct line_outcome {
    struct yb_buf events; /* "[line]" (+ "lf" if bare) or "TOO_LONG", one a line */
    size_t rest;          /* bytes the caller still holds at the end */
    size_t peak;          /* most bytes the caller ever had to hold */
};

/*
 * Plays a caller: appends each piece to its buffer, takes lines until
 * NEED_MORE, drops what was consumed. Checks the scanner's promises on
 * the way: after NEED_MORE it has searched all it was given (or, when
 * discarding, consumed all of it).
 */
static void run_lines(const unsigned char *in, size_t len, size_t max, size_t chunk, size_t split,
                      struct line_outcome *o)
{
    struct yb_line_scanner ls;
    struct yb_buf held;
    yb_line_scanner_init(&ls, max);
    yb_buf_init(&o->events, 1 << 20);
    yb_buf_init(&held, len + 1);
    o->peak = 0;
    size_t off = 0;
    do {
        size_t n = piece_len(len, off, chunk, split);
        assert_int_equal(yb_buf_append(&held, in + off, n), 0);
        off += n;
        if (held.len > o->peak)
            o->peak = held.len;
        for (;;) {
            struct yb_slice line;
            size_t consumed;
            bool bare_lf;
            enum yb_line_result r = yb_line_next(&ls, held.p, held.len, &line, &consumed, &bare_lf);
            assert_true(consumed <= held.len);
            if (r == YB_LINE_OK) {
                yb_buf_append_byte(&o->events, '[');
                put_escaped(&o->events, line.p, line.len);
                yb_buf_append_cstr(&o->events, bare_lf ? "]lf\n" : "]\n");
                assert_true(line.len <= max);
            } else if (r == YB_LINE_TOO_LONG) {
                yb_buf_append_cstr(&o->events, "TOO_LONG\n");
            }
            assert_true(r == YB_LINE_NEED_MORE || consumed > 0);
            yb_buf_consume(&held, consumed);
            if (r == YB_LINE_NEED_MORE) {
                if (ls.discarding)
                    assert_int_equal(held.len, 0);
                else
                    assert_int_equal(ls.scanned, held.len);
                break;
            }
        }
    } while (off < len);
    o->rest = held.len;
    yb_buf_free(&held);
}

struct line_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    size_t max;
    const char *events;
    size_t rest;
};

#define LINE(n, in, max, ev, rest) \
    {                              \
        n, in, 0, max, ev, rest    \
    }
#define LINEN(n, in, len, max, ev, rest) \
    {                                    \
        n, in, len, max, ev, rest        \
    }

static const struct line_case line_cases[] = {
    LINE("empty input", "", 5, "", 0),
    LINE("empty line CRLF", "\r\n", 5, "[]\n", 0),
    LINE("empty line bare LF", "\n", 5, "[]lf\n", 0),
    LINE("exactly max, CRLF", "abcde\r\n", 5, "[abcde]\n", 0),
    LINE("exactly max, bare LF", "abcde\n", 5, "[abcde]lf\n", 0),
    LINE("max + 1, CRLF, then a good line", "abcdef\r\nxy\r\n", 5, "TOO_LONG\n[xy]\n", 0),
    LINE("max + 1, bare LF, then a good line", "abcdef\nxy\n", 5, "TOO_LONG\n[xy]lf\n", 0),
    LINE("max + 2, bare LF", "abcdefg\nok\n", 5, "TOO_LONG\n[ok]lf\n", 0),
    LINE("far too long, reported once", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nok\r\n", 5,
         "TOO_LONG\n[ok]\n", 0),
    LINE("two over-long lines in a row", "abcdef\nghijklmn\r\nok\n", 3,
         "TOO_LONG\nTOO_LONG\n[ok]lf\n", 0),
    LINE("max bytes ending in CR, then CRLF", "abcd\r\r\n", 5, "[abcd\\x0d]\n", 0),
    LINE("max + 1 bytes ending in CR, then CRLF", "abcde\r\r\n", 5, "TOO_LONG\n", 0),
    LINE("max bytes then CR: waits for the LF", "abcde\r", 5, "", 6),
    LINE("max bytes, CR, not LF: over-long", "abcde\rX\r\nok\r\n", 5, "TOO_LONG\n[ok]\n", 0),
    LINE("over-long without LF yet: consumed", "abcdefgh", 5, "", 0),
    LINE("max + 1 bytes, last not CR: consumed at once", "abcdef", 5, "", 0),
    LINE("partial line kept", "NOOP", 5, "", 4),
    LINE("CR in the middle kept", "a\rb\r\n", 5, "[a\\x0db]\n", 0),
    LINE("CR CR LF keeps one CR", "\r\r\n", 5, "[\\x0d]\n", 0),
    LINEN("NUL inside a line kept", "a\0b\n", 4, 5, "[a\\x00b]lf\n", 0),
    LINEN("NUL alone", "\0\r\n", 3, 5, "[\\x00]\n", 0),
    LINE("invalid UTF-8 kept", "\xff\xc0\xaf\xed\xa0\x80\r\n", 6,
         "[\\xff\\xc0\\xaf\\xed\\xa0\\x80]\n", 0),
    LINE("invalid UTF-8 over the limit", "\xff\xc0\xaf\xed\xa0\x80\r\n", 5, "TOO_LONG\n", 0),
    LINE("UTF-8 counted in bytes", "\xe9\x83\xb5\xe4\xbe\xbf\r\n", 6,
         "[\\xe9\\x83\\xb5\\xe4\\xbe\\xbf]\n", 0),
    LINE("pipelined commands", "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nNO", 510,
         "[MAIL FROM:<a@b>]\n[RCPT TO:<c@d>]\n[DATA]\n", 2),
    LINE("mixed endings", "a\nb\r\n\nc\r\n", 5, "[a]lf\n[b]\n[]lf\n[c]\n", 0),
    LINE("good, over-long, good", "ok\r\ntoolong!\r\nok2\n", 5, "[ok]\nTOO_LONG\n[ok2]lf\n", 0),
    LINE("max 0: empty lines only", "\r\n\n", 0, "[]\n[]lf\n", 0),
    LINE("max 0: one byte is too long", "a\n\r\n", 0, "TOO_LONG\n[]\n", 0),
    LINE("max 0: CR waits", "\r", 0, "", 1),
    LINE("max 0: CR CR LF is too long", "\r\r\n\n", 0, "TOO_LONG\n[]lf\n", 0),
    LINE("max 0: byte without LF consumed", "ab", 0, "", 0),
    LINE("max 0: one byte consumed at once", "a", 0, "", 0),
};

static void check_lines(const struct line_case *c, struct line_outcome *o, const char *how)
{
    if (strcmp(yb_buf_cstr(&o->events), c->events) != 0 || o->rest != c->rest) {
        print_error("case '%s' (%s): events\n%s(rest %u), expected\n%s(rest %u)\n", c->name, how,
                    yb_buf_cstr(&o->events), (unsigned)o->rest, c->events, (unsigned)c->rest);
        fail();
    }
    yb_buf_free(&o->events);
}

static void test_line_cases(void **state)
{
    (void)state;
    char how[64];
    for (size_t i = 0; i < YB_ARRAY_LEN(line_cases); i++) {
        const struct line_case *c = &line_cases[i];
        const unsigned char *in = (const unsigned char *)c->in;
        size_t len = c->len ? c->len : strlen(c->in);
        struct line_outcome o;
        run_lines(in, len, c->max, 0, WHOLE, &o);
        check_lines(c, &o, "whole");
        run_lines(in, len, c->max, 1, WHOLE, &o);
        /* One byte at a time, the caller never holds more than max + CR + LF. */
        if (o.peak > c->max + 2) {
            print_error("case '%s': caller held %u bytes\n", c->name, (unsigned)o.peak);
            fail();
        }
        check_lines(c, &o, "byte at a time");
        for (size_t s = 0; s <= len; s++) {
            run_lines(in, len, c->max, 0, s, &o);
            check_lines(c, &o, how_name(how, sizeof(how), 0, s, 0));
        }
    }
}

static unsigned char *repeat(unsigned char byte, size_t n, const char *tail, size_t *len_r)
{
    size_t t = strlen(tail);
    unsigned char *p = malloc(n + t + 1);
    assert_non_null(p);
    memset(p, byte, n);
    memcpy(p + n, tail, t + 1);
    *len_r = n + t;
    return p;
}

/* An attacker's endless line, one byte per read: memory stays at max + 2. */
static void test_line_overlong_trickle(void **state)
{
    (void)state;
    size_t len;
    unsigned char *in = repeat('x', 100000, "\r\nQUIT\r\n", &len);
    struct line_outcome o;
    run_lines(in, len, 510, 1, WHOLE, &o);
    assert_string_equal(yb_buf_cstr(&o.events), "TOO_LONG\n[QUIT]\n");
    assert_true(o.peak <= 512);
    assert_int_equal(o.rest, 0);
    yb_buf_free(&o.events);
    run_lines(in, len, 510, 7, WHOLE, &o);
    assert_string_equal(yb_buf_cstr(&o.events), "TOO_LONG\n[QUIT]\n");
    assert_true(o.peak <= 512 + 6);
    yb_buf_free(&o.events);
    free(in);
}

/* A long line that fits, one byte at a time: linear thanks to `scanned`. */
static void test_line_long_trickle_is_linear(void **state)
{
    (void)state;
    size_t len, n = 200000;
    unsigned char *in = repeat('y', n, "\n", &len);
    struct yb_line_scanner ls;
    yb_line_scanner_init(&ls, n);
    struct yb_slice line;
    size_t consumed;
    bool bare_lf;
    for (size_t i = 1; i < len; i++) {
        assert_int_equal(yb_line_next(&ls, in, i, &line, &consumed, &bare_lf), YB_LINE_NEED_MORE);
        assert_int_equal(consumed, 0);
        assert_int_equal(ls.scanned, i);
    }
    assert_int_equal(yb_line_next(&ls, in, len, &line, &consumed, &bare_lf), YB_LINE_OK);
    assert_int_equal(line.len, n);
    assert_true(line.p == in);
    assert_int_equal(consumed, len);
    assert_true(bare_lf);
    assert_int_equal(ls.scanned, 0);
    assert_false(ls.discarding);
    free(in);
}

static void test_line_init(void **state)
{
    (void)state;
    struct yb_line_scanner ls;
    memset(&ls, 0xa5, sizeof(ls));
    yb_line_scanner_init(&ls, 510);
    assert_int_equal(ls.max, 510);
    assert_false(ls.discarding);
    assert_int_equal(ls.scanned, 0);
}

/* ---- SMTP DATA ---- */

struct dot_outcome {
    struct yb_buf out;
    size_t consumed;
    struct yb_dot_decoder d;
};

/*
 * Plays the session engine: pieces of input arrive; it decodes into a
 * heap buffer of exactly outcap bytes (so ASan sees any overrun), keeps what
 * was not consumed, and stops feeding once the decoder is done.
 */
static void run_dot(const unsigned char *in, size_t len, size_t chunk, size_t split, size_t outcap,
                    struct dot_outcome *o)
{
    struct yb_buf held;
    unsigned char *out = malloc(outcap);
    assert_non_null(out);
    yb_buf_init(&o->out, 4 << 20);
    yb_buf_init(&held, len + 1);
    yb_dot_decoder_init(&o->d);
    o->consumed = 0;
    size_t off = 0;
    do {
        size_t n = piece_len(len, off, chunk, split);
        assert_int_equal(yb_buf_append(&held, in + off, n), 0);
        off += n;
        while (held.len > 0 && !o->d.done) {
            size_t consumed = 99, produced = 99;
            yb_dot_decode(&o->d, held.p, held.len, &consumed, out, outcap, &produced);
            assert_true(consumed <= held.len);
            assert_true(produced <= outcap);
            assert_true(consumed + produced > 0); /* outcap >= 2: progress */
            assert_int_equal(yb_buf_append(&o->out, out, produced), 0);
            yb_buf_consume(&held, consumed);
            o->consumed += consumed;
        }
    } while (off < len && !o->d.done);
    /* Once done, nothing more is taken. */
    if (o->d.done && held.len > 0) {
        size_t consumed = 99, produced = 99;
        yb_dot_decode(&o->d, held.p, held.len, &consumed, out, outcap, &produced);
        assert_int_equal(consumed, 0);
        assert_int_equal(produced, 0);
    }
    yb_buf_free(&held);
    free(out);
}

/* Every CR in the output is followed by LF, and every LF preceded by CR. */
static bool crlf_only(const struct yb_buf *b)
{
    for (size_t i = 0; i < b->len; i++) {
        if (b->p[i] == '\r' && (i + 1 == b->len || b->p[i + 1] != '\n'))
            return false;
        if (b->p[i] == '\n' && (i == 0 || b->p[i - 1] != '\r'))
            return false;
    }
    return true;
}

struct dot_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *out;
    size_t outlen;   /* 0: strlen(out) */
    size_t consumed; /* WHOLE: all of in */
    bool done;
    unsigned bare_cr, bare_lf, nul;
    size_t longest;
};

/* name, in, out, consumed, done, bare CR, bare LF, NUL, longest line */
#define DOT(n, in, out, used, done, cr, lf, nul, longest)  \
    {                                                      \
        n, in, 0, out, 0, used, done, cr, lf, nul, longest \
    }
#define DOTN(n, in, len, out, outlen, used, done, cr, lf, nul, longest) \
    {                                                                   \
        n, in, len, out, outlen, used, done, cr, lf, nul, longest       \
    }

static const struct dot_case dot_cases[] = {
    DOT("empty message", ".\r\n", "", WHOLE, true, 0, 0, 0, 0),
    DOT("no input yet", "", "", WHOLE, false, 0, 0, 0, 0),
    DOT("simple message", "Subject: hi\r\n\r\nbody\r\n.\r\n", "Subject: hi\r\n\r\nbody\r\n", WHOLE,
        true, 0, 0, 0, 11),
    DOT("one empty line", "\r\n.\r\n", "\r\n", WHOLE, true, 0, 0, 0, 0),
    DOT("stuffed line", "..x\r\n.\r\n", ".x\r\n", WHOLE, true, 0, 0, 0, 2),
    DOT("stuffed lone dot", "a\r\n..\r\n.\r\n", "a\r\n.\r\n", WHOLE, true, 0, 0, 0, 1),
    DOT("stuffed dots", "...\r\n..\r\n.\r\n", "..\r\n.\r\n", WHOLE, true, 0, 0, 0, 2),
    DOT("dot inside a line", "a.b\r\na.\r\n.\r\n", "a.b\r\na.\r\n", WHOLE, true, 0, 0, 0, 3),
    DOT("dot then text: dot removed", ".x\r\n.\r\n", "x\r\n", WHOLE, true, 0, 0, 0, 1),
    DOT("a dot line always ends it", "a\r\n.\r\nb\r\n.\r\n", "a\r\n", 6, true, 0, 0, 0, 1),
    DOT("pipelined command not consumed", "a\r\n.\r\nQUIT\r\n", "a\r\n", 6, true, 0, 0, 0, 1),
    DOT("pipelined after empty message", ".\r\nRSET\r\n", "", 3, true, 0, 0, 0, 0),
    DOT("unfinished line", "abc", "abc", WHOLE, false, 0, 0, 0, 3),
    DOT("unfinished CR held back", "a\r", "a", WHOLE, false, 0, 0, 0, 1),
    DOT("unfinished at line start", "a\r\n.", "a\r\n", WHOLE, false, 0, 0, 0, 1),
    DOT("unfinished dot CR", "a\r\n.\r", "a\r\n", WHOLE, false, 0, 0, 0, 1),

    /* SMTP smuggling: none of these ends the message. */
    DOT("LF . LF", "a\n.\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", WHOLE, true, 0, 2, 0, 1),
    DOT("CR . CR", "a\r.\rb\r\n.\r\n", "a\r\n.\r\nb\r\n", WHOLE, true, 2, 0, 0, 1),
    DOT("CRLF . LF", "a\r\n.\nb\r\n.\r\n", "a\r\n\r\nb\r\n", WHOLE, true, 0, 1, 0, 1),
    DOT("LF . CRLF", "a\n.\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", WHOLE, true, 0, 1, 0, 1),
    DOT("CR . CRLF", "a\r.\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", WHOLE, true, 1, 0, 0, 1),
    DOT("CRLF . CR X", "a\r\n.\rb\r\n.\r\n", "a\r\n\r\nb\r\n", WHOLE, true, 1, 0, 0, 1),
    DOT("CRLF . CR CRLF", "a\r\n.\r\r\n.\r\n", "a\r\n\r\n\r\n", WHOLE, true, 1, 0, 0, 1),
    DOT("CRLF . CR then CRLF . CRLF", "a\r\n.\r\r\nb\r\n.\r\n", "a\r\n\r\n\r\nb\r\n", WHOLE, true,
        1, 0, 0, 1),
    DOT("LF . LF then . CRLF", "\n.\n.\r\n", "\r\n.\r\n.\r\n", WHOLE, false, 0, 2, 0, 1),
    DOT(". LF at the start", ".\nb\r\n.\r\n", "\r\nb\r\n", WHOLE, true, 0, 1, 0, 1),
    DOT(". CR at the start", ".\rb\r\n.\r\n", "\r\nb\r\n", WHOLE, true, 1, 0, 0, 1),
    DOT("LF . CRLF at the start", "\n.\r\n.\r\n", "\r\n.\r\n", WHOLE, true, 0, 1, 0, 1),
    DOT("CR . LF", "a\r.\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", WHOLE, true, 1, 1, 0, 1),
    DOT("LF after bare LF: no unstuffing", "a\n..x\r\n.\r\n", "a\r\n..x\r\n", WHOLE, true, 0, 1, 0,
        3),
    DOT("bare LF then real CRLF . CRLF ends", "a\n\r\n.\r\n", "a\r\n\r\n", WHOLE, true, 0, 1, 0, 1),
    DOT("bare CR then real CRLF . CRLF ends", "a\r\r\n.\r\n", "a\r\n\r\n", WHOLE, true, 1, 0, 0, 1),
    DOT("CR CR LF at the start", "\r\r\n.\r\n", "\r\n\r\n", WHOLE, true, 1, 0, 0, 0),

    /* Counts and line lengths. */
    DOT("bare LF and CR counted", "a\nb\nc\rd\r\n.\r\n", "a\r\nb\r\nc\r\nd\r\n", WHOLE, true, 1, 2,
        0, 1),
    DOTN("NUL counted and kept", "a\0b\r\n\0\r\n.\r\n", 11, "a\0b\r\n\0\r\n", 8, WHOLE, true, 0, 0,
         2, 3),
    DOTN("NUL after a stuffing dot", ".\0\r\n.\r\n", 7, "\0\r\n", 3, WHOLE, true, 0, 0, 1, 1),
    DOT("invalid UTF-8 kept", "\xff\xc0\xaf\r\n.\r\n", "\xff\xc0\xaf\r\n", WHOLE, true, 0, 0, 0, 3),
    DOT("longest line, stuffing dot not counted", "ab\r\n..cd\r\nx\r\n.\r\n", "ab\r\n.cd\r\nx\r\n",
        WHOLE, true, 0, 0, 0, 3),
};

static void check_dot(size_t len, const char *name, const char *want, size_t wantlen,
                      size_t consumed, bool done, unsigned bare_cr, unsigned bare_lf, unsigned nul,
                      size_t longest, struct dot_outcome *o, const char *how)
{
    if (consumed == WHOLE)
        consumed = len;
    bool ok = o->out.len == wantlen && (wantlen == 0 || memcmp(o->out.p, want, wantlen) == 0) &&
              o->consumed == consumed && o->d.done == done && o->d.bare_cr == bare_cr &&
              o->d.bare_lf == bare_lf && o->d.nul_bytes == nul && o->d.longest_line == longest &&
              o->d.out_total == o->out.len && crlf_only(&o->out);
    if (!ok) {
        struct yb_buf got, exp;
        yb_buf_init(&got, 1 << 20);
        yb_buf_init(&exp, 1 << 20);
        put_escaped(&got, o->out.p, o->out.len > 200 ? 200 : o->out.len);
        put_escaped(&exp, (const unsigned char *)want, wantlen > 200 ? 200 : wantlen);
        print_error("case '%s' (%s):\n got  [%s] consumed %u done %d cr %u lf %u nul %u "
                    "longest %u total %u\n want [%s] consumed %u done %d cr %u lf %u nul %u "
                    "longest %u\n",
                    name, how, yb_buf_cstr(&got), (unsigned)o->consumed, (int)o->d.done,
                    (unsigned)o->d.bare_cr, (unsigned)o->d.bare_lf, (unsigned)o->d.nul_bytes,
                    (unsigned)o->d.longest_line, (unsigned)o->d.out_total, yb_buf_cstr(&exp),
                    (unsigned)consumed, (int)done, bare_cr, bare_lf, nul, (unsigned)longest);
        yb_buf_free(&got);
        yb_buf_free(&exp);
        fail();
    }
    yb_buf_free(&o->out);
}

/* Runs one DATA case in every feeding and every output size. */
static void run_dot_case(const unsigned char *in, size_t len, const char *name, const char *want,
                         size_t wantlen, size_t consumed, bool done, unsigned cr, unsigned lf,
                         unsigned nul, size_t longest, bool every_split)
{
    static const size_t outcaps[] = { 2, 3, 1 << 16 };
    char how[64];
    struct dot_outcome o;
    for (size_t k = 0; k < YB_ARRAY_LEN(outcaps); k++) {
        size_t cap = outcaps[k];
        run_dot(in, len, 0, WHOLE, cap, &o);
        check_dot(len, name, want, wantlen, consumed, done, cr, lf, nul, longest, &o,
                  how_name(how, sizeof(how), 0, WHOLE, cap));
        run_dot(in, len, 1, WHOLE, cap, &o);
        check_dot(len, name, want, wantlen, consumed, done, cr, lf, nul, longest, &o,
                  how_name(how, sizeof(how), 1, WHOLE, cap));
        for (size_t s = 0; s <= len; s += every_split ? 1 : 97) {
            run_dot(in, len, 0, s, cap, &o);
            check_dot(len, name, want, wantlen, consumed, done, cr, lf, nul, longest, &o,
                      how_name(how, sizeof(how), 0, s, cap));
        }
    }
}

static void test_dot_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(dot_cases); i++) {
        const struct dot_case *c = &dot_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        size_t outlen = c->outlen ? c->outlen : strlen(c->out);
        run_dot_case((const unsigned char *)c->in, len, c->name, c->out, outlen, c->consumed,
                     c->done, c->bare_cr, c->bare_lf, c->nul, c->longest, true);
    }
}

/* A line of n bytes (after a stuffing dot when stuffed), then the end. */
static void check_longest(size_t n, bool stuffed)
{
    size_t len;
    unsigned char *in = repeat('x', n, "\r\n.\r\n", &len);
    if (stuffed) {
        in[0] = '.';
        in[1] = '.';
    }
    unsigned char *want = malloc(n + 2);
    assert_non_null(want);
    memcpy(want, in + (stuffed ? 1 : 0), n + (stuffed ? 1 : 2));
    size_t wantlen = stuffed ? n + 1 : n + 2;
    size_t longest = stuffed ? n - 1 : n;
    run_dot_case(in, len, stuffed ? "stuffed long line" : "long line", (const char *)want, wantlen,
                 WHOLE, true, 0, 0, 0, longest, false);
    free(want);
    free(in);
}

static void test_dot_longest_line(void **state)
{
    (void)state;
    check_longest(998, false); /* RFC 5321's limit */
    check_longest(999, false); /* one more: counted, the caller decides */
    check_longest(999, true);  /* ".." + 997 x: the line is 998 bytes */
    check_longest(1000, true);
}

/* A big message decodes the same through 2 bytes of output as through many. */
static void test_dot_tiny_outcap(void **state)
{
    (void)state;
    struct yb_buf in;
    unsigned want_lf = 0, want_cr = 0, want_nul = 0;
    yb_buf_init(&in, 1 << 20);
    for (unsigned i = 0; i < 3000; i++) {
        want_lf += i % 7 == 3 || i % 7 == 6;
        want_cr += i % 7 == 5;
        want_nul += i % 7 == 4;
        static const char *const lines[] = { "..stuffed", "plain text", "", "bare\nlf",
                                             "\xff\0z",   "cr\rhere",   "." };
        const char *l = lines[i % YB_ARRAY_LEN(lines)];
        assert_int_equal(yb_buf_append(&in, l, i % 7 == 4 ? 3 : strlen(l)), 0);
        if (i % 7 != 6)
            assert_int_equal(yb_buf_append_cstr(&in, "\r\n"), 0);
        else
            assert_int_equal(yb_buf_append_cstr(&in, "\n"), 0); /* ".\n" */
    }
    assert_int_equal(yb_buf_append_cstr(&in, ".\r\nQUIT\r\n"), 0);
    struct dot_outcome big, tiny, trickle;
    run_dot(in.p, in.len, 0, WHOLE, 1 << 20, &big);
    run_dot(in.p, in.len, 0, WHOLE, 2, &tiny);
    run_dot(in.p, in.len, 1, WHOLE, 2, &trickle);
    assert_true(big.d.done);
    assert_int_equal(big.consumed, in.len - 6);
    assert_true(crlf_only(&big.out));
    assert_true(yb_slice_eq(yb_buf_slice(&big.out), yb_buf_slice(&tiny.out)));
    assert_true(yb_slice_eq(yb_buf_slice(&big.out), yb_buf_slice(&trickle.out)));
    assert_int_equal(tiny.consumed, big.consumed);
    assert_int_equal(trickle.consumed, big.consumed);
    assert_int_equal(big.d.bare_lf, want_lf);
    assert_int_equal(big.d.bare_cr, want_cr);
    assert_int_equal(big.d.nul_bytes, want_nul);
    assert_int_equal(tiny.d.bare_lf, big.d.bare_lf);
    assert_int_equal(trickle.d.nul_bytes, big.d.nul_bytes);
    assert_int_equal(big.d.longest_line, 10);
    yb_buf_free(&big.out);
    yb_buf_free(&tiny.out);
    yb_buf_free(&trickle.out);
    yb_buf_free(&in);
}

/* Output stops exactly at outcap; a CRLF is never split. */
static void test_dot_out_full(void **state)
{
    (void)state;
    struct yb_dot_decoder d;
    unsigned char out[4];
    size_t consumed, produced;
    const unsigned char *in = (const unsigned char *)"abc\r\n.\r\n";
    yb_dot_decoder_init(&d);
    yb_dot_decode(&d, in, 8, &consumed, out, 4, &produced);
    assert_int_equal(produced, 3); /* "abc", no room for CRLF */
    assert_int_equal(consumed, 4); /* the CR is taken, its CRLF pending */
    assert_memory_equal(out, "abc", 3);
    yb_dot_decode(&d, in + consumed, 8 - 4, &consumed, out, 4, &produced);
    assert_int_equal(produced, 2);
    assert_memory_equal(out, "\r\n", 2);
    assert_int_equal(consumed, 4);
    assert_true(d.done);
    assert_int_equal(d.out_total, 5);
    /* Done: nothing more is consumed. */
    yb_dot_decode(&d, (const unsigned char *)"x", 1, &consumed, out, 4, &produced);
    assert_int_equal(consumed, 0);
    assert_int_equal(produced, 0);
}

/* A small LCG, so the "random" inputs are the same on every platform. */
static unsigned next_rand(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (unsigned)(*seed >> 16);
}

/*
 * Thousands of short inputs made of the bytes that matter ('.', CR, LF, NUL,
 * text): every way of feeding them gives the same lines and the same message.
 */
static void test_random_inputs_feed_alike(void **state)
{
    (void)state;
    static const unsigned char alphabet[] = { '.', '\r', '\n', 'a', 0 };
    uint32_t seed = 42;
    unsigned char in[48];
    for (unsigned round = 0; round < 3000; round++) {
        size_t len = next_rand(&seed) % sizeof(in);
        for (size_t i = 0; i < len; i++)
            in[i] = alphabet[next_rand(&seed) % sizeof(alphabet)];
        size_t split = len ? next_rand(&seed) % (len + 1) : 0;
        size_t max = next_rand(&seed) % 6;

        struct line_outcome a, b, c;
        run_lines(in, len, max, 0, WHOLE, &a);
        run_lines(in, len, max, 1, WHOLE, &b);
        run_lines(in, len, max, 0, split, &c);
        assert_string_equal(yb_buf_cstr(&a.events), yb_buf_cstr(&b.events));
        assert_string_equal(yb_buf_cstr(&a.events), yb_buf_cstr(&c.events));
        assert_int_equal(a.rest, b.rest);
        assert_int_equal(a.rest, c.rest);
        assert_true(b.peak <= max + 2);
        yb_buf_free(&a.events);
        yb_buf_free(&b.events);
        yb_buf_free(&c.events);

        struct dot_outcome x, y, z;
        run_dot(in, len, 0, WHOLE, 1 << 10, &x);
        run_dot(in, len, 1, WHOLE, 2, &y);
        run_dot(in, len, 0, split, 3, &z);
        assert_true(crlf_only(&x.out));
        assert_true(yb_slice_eq(yb_buf_slice(&x.out), yb_buf_slice(&y.out)));
        assert_true(yb_slice_eq(yb_buf_slice(&x.out), yb_buf_slice(&z.out)));
        assert_int_equal(x.consumed, y.consumed);
        assert_int_equal(x.consumed, z.consumed);
        assert_int_equal(x.d.done, y.d.done);
        assert_int_equal(x.d.bare_cr, y.d.bare_cr);
        assert_int_equal(x.d.bare_lf, y.d.bare_lf);
        assert_int_equal(x.d.nul_bytes, y.d.nul_bytes);
        assert_int_equal(x.d.longest_line, y.d.longest_line);
        assert_int_equal(x.d.bare_cr, z.d.bare_cr);
        assert_int_equal(x.d.bare_lf, z.d.bare_lf);
        assert_int_equal(x.d.nul_bytes, z.d.nul_bytes);
        assert_int_equal(x.d.longest_line, z.d.longest_line);
        assert_int_equal(x.d.done, z.d.done);
        yb_buf_free(&x.out);
        yb_buf_free(&y.out);
        yb_buf_free(&z.out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_init),
        cmocka_unit_test(test_line_cases),
        cmocka_unit_test(test_line_overlong_trickle),
        cmocka_unit_test(test_line_long_trickle_is_linear),
        cmocka_unit_test(test_dot_cases),
        cmocka_unit_test(test_dot_longest_line),
        cmocka_unit_test(test_dot_tiny_outcap),
        cmocka_unit_test(test_dot_out_full),
        cmocka_unit_test(test_random_inputs_feed_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
