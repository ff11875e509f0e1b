/*
 * test_smtpc_reply.c - the SMTP client's reply parser against well-formed
 * and hostile replies (whole, byte at a time, split at every position), and
 * the DATA dot-stuffing encoder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpc_reply.h"

/* Feeds in[0..len) in pieces of step bytes (0: whole); returns the final status. */
static enum smtpc_parse_status feed(struct smtpc_rparser *p, const char *in, size_t len,
                                    size_t step, size_t *consumed_r)
{
    enum smtpc_parse_status st = SMTPC_REPLY_MORE;
    size_t off = 0;
    smtpc_rparser_init(p);
    while (off < len && st == SMTPC_REPLY_MORE) {
        size_t n = step == 0 || len - off < step ? len - off : step;
        size_t used = 0;
        st = smtpc_rparser_feed(p, in + off, n, &used);
        assert_true(used <= n);
        off += used;
        if (st == SMTPC_REPLY_MORE)
            assert_int_equal(used, n);
    }
    if (consumed_r != NULL)
        *consumed_r = off;
    return st;
}

static struct smtpc_rparser g_p;

static void expect_ok(const char *in, unsigned code, const char *text, unsigned nlines)
{
    size_t len = strlen(in);
    for (size_t step = 0; step <= 3; step++) {
        size_t used = 0;
        enum smtpc_parse_status st = feed(&g_p, in, len, step, &used);
        if (st != SMTPC_REPLY_DONE)
            fail_msg("\"%s\" step %u: status %d (%s)", in, (unsigned)step, (int)st,
                     g_p.reply.why ? g_p.reply.why : "-");
        assert_int_equal(g_p.reply.code, code);
        assert_string_equal(g_p.reply.text, text);
        assert_int_equal(g_p.reply.nlines, nlines);
        assert_int_equal(used, len);
    }
}

static void expect_bad(const char *in, size_t len, const char *why)
{
    for (size_t step = 0; step <= 1; step++) {
        enum smtpc_parse_status st = feed(&g_p, in, len, step, NULL);
        assert_int_equal(st, SMTPC_REPLY_BAD);
        assert_non_null(g_p.reply.why);
        if (strstr(g_p.reply.why, why) == NULL)
            fail_msg("expected \"%s\", got \"%s\"", why, g_p.reply.why);
    }
}

static void test_well_formed(void **state)
{
    (void)state;
    expect_ok("250 OK\r\n", 250, "OK", 1);
    expect_ok("220 mx.example ESMTP ready\r\n", 220, "mx.example ESMTP ready", 1);
    expect_ok("250\r\n", 250, "", 1);
    expect_ok("250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n", 250,
              "mx.example\nPIPELINING\nSIZE 1000\n8BITMIME", 4);
    /* A bare LF ends a line too (servers exist that send it). */
    expect_ok("550 5.1.1 no such user\n", 550, "5.1.1 no such user", 1);
    /* A CR inside the text is not a line end; it is shown as '?'. */
    expect_ok("451 a\rb\r\n", 451, "a?b", 1);
    expect_ok("554 \r\n", 554, "", 1);
}

static void test_rest_not_consumed(void **state)
{
    (void)state;
    const char *in = "250 OK\r\n354 go\r\n";
    size_t used = 0;
    smtpc_rparser_init(&g_p);
    assert_int_equal(smtpc_rparser_feed(&g_p, in, strlen(in), &used), SMTPC_REPLY_DONE);
    assert_int_equal(used, 8);
    smtpc_rparser_init(&g_p);
    assert_int_equal(smtpc_rparser_feed(&g_p, in + used, strlen(in) - used, &used),
                     SMTPC_REPLY_DONE);
    assert_int_equal(g_p.reply.code, 354);
}

static void test_split_everywhere(void **state)
{
    (void)state;
    const char *in = "250-first line\r\n250-second\r\n250 last\r\n";
    size_t len = strlen(in);
    for (size_t cut = 0; cut <= len; cut++) {
        size_t u1 = 0, u2 = 0;
        smtpc_rparser_init(&g_p);
        enum smtpc_parse_status st = smtpc_rparser_feed(&g_p, in, cut, &u1);
        assert_int_equal(u1, cut);
        if (cut < len) {
            assert_int_equal(st, SMTPC_REPLY_MORE);
            st = smtpc_rparser_feed(&g_p, in + cut, len - cut, &u2);
        }
        assert_int_equal(st, SMTPC_REPLY_DONE);
        assert_string_equal(g_p.reply.text, "first line\nsecond\nlast");
    }
}

static void test_line_limit(void **state)
{
    (void)state;
    size_t room = SMTPC_LIMIT_REPLY_LINE + 16;
    char *in = malloc(room);
    assert_non_null(in);
    /* Exactly the limit (code, space and text) is accepted. */
    memcpy(in, "250 ", 4);
    memset(in + 4, 'x', SMTPC_LIMIT_REPLY_LINE - 4);
    memcpy(in + SMTPC_LIMIT_REPLY_LINE, "\r\n", 2);
    assert_int_equal(feed(&g_p, in, SMTPC_LIMIT_REPLY_LINE + 2, 0, NULL), SMTPC_REPLY_DONE);
    assert_int_equal(g_p.reply.len, SMTPC_LIMIT_REPLY_LINE - 4);
    /* One more byte: refused. */
    memset(in + 4, 'x', SMTPC_LIMIT_REPLY_LINE - 3);
    memcpy(in + SMTPC_LIMIT_REPLY_LINE + 1, "\r\n", 2);
    expect_bad(in, SMTPC_LIMIT_REPLY_LINE + 3, "line too long");
    /* An endless line without CRLF stops at the limit, it is not buffered forever. */
    memset(in, '2', room);
    expect_bad(in, room, "line too long");
    free(in);
}

static void test_lines_limit(void **state)
{
    (void)state;
    size_t n = SMTPC_LIMIT_REPLY_LINES + 1;
    char *in = malloc(n * 8 + 1);
    assert_non_null(in);
    size_t off = 0;
    for (size_t i = 0; i + 1 < SMTPC_LIMIT_REPLY_LINES; i++) {
        memcpy(in + off, "250-ab\r\n", 8);
        off += 8;
    }
    memcpy(in + off, "250 ab\r\n", 8);
    assert_int_equal(feed(&g_p, in, off + 8, 0, NULL), SMTPC_REPLY_DONE);
    assert_int_equal(g_p.reply.nlines, SMTPC_LIMIT_REPLY_LINES);
    /* limit + 1 lines */
    memcpy(in + off, "250-ab\r\n250 ab\r\n", 16);
    expect_bad(in, off + 16, "too many lines");
    free(in);
}

static void test_hostile(void **state)
{
    (void)state;
    expect_bad("\r\n", 2, "shorter than a code");
    expect_bad("25\r\n", 4, "shorter than a code");
    expect_bad("650 no\r\n", 8, "[2-5][0-5][0-9]");
    expect_bad("160 no\r\n", 8, "[2-5][0-5][0-9]");
    expect_bad("2a0 no\r\n", 8, "[2-5][0-5][0-9]");
    expect_bad("270 no\r\n", 8, "[2-5][0-5][0-9]");
    expect_bad("250xOK\r\n", 8, "neither space nor hyphen");
    expect_bad("250-a\r\n251 b\r\n", 14, "code changes");
    expect_bad("250 a\0b\r\n", 9, "NUL");
    expect_bad("\0", 1, "NUL");
    /* After BAD the parser stays BAD. */
    size_t used = 0;
    assert_int_equal(smtpc_rparser_feed(&g_p, "250 OK\r\n", 8, &used), SMTPC_REPLY_BAD);
}

static void test_text_sanitised(void **state)
{
    (void)state;
    /* Invalid UTF-8 and control bytes become '?'; valid UTF-8 is kept. */
    expect_ok("550 caf\xc3\xa9 \xff\xfe x\x01y\r\n", 550, "caf\xc3\xa9 ?? x?y", 1);
    /* An overlong encoding and a lone continuation byte are invalid. */
    expect_ok("550 \xc0\xaf \x80\r\n", 550, "?? ?", 1);
}

static void test_enhanced(void **state)
{
    (void)state;
    char buf[32];
    const struct {
        const char *in, *want;
    } cases[] = {
        { "550 5.1.1 no such user\r\n", "5.1.1" },
        { "451 4.3.0 later\r\n", "4.3.0" },
        { "550 4.1.1 wrong class\r\n", "" },
        { "250 2.0.0\r\n", "2.0.0" },
        { "550 5.1234.1 too long\r\n", "" },
        { "550 5.1.1x\r\n", "" },
        { "550 no code\r\n", "" },
        { "550\r\n", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(feed(&g_p, cases[i].in, strlen(cases[i].in), 0, NULL), SMTPC_REPLY_DONE);
        smtpc_reply_enhanced(&g_p.reply, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
    }
}

/* ---- dot-stuffing ---- */

static size_t encode(const char *in, size_t len, size_t step, unsigned char *out)
{
    struct smtpc_dot d;
    size_t o = 0;
    smtpc_dot_init(&d);
    for (size_t off = 0; off < len;) {
        size_t n = step == 0 || len - off < step ? len - off : step;
        o += smtpc_dot_encode(&d, (const unsigned char *)in + off, n, out + o);
        off += n;
    }
    o += smtpc_dot_finish(&d, out + o);
    return o;
}

static void expect_wire(const char *in, size_t len, const char *want, size_t wlen)
{
    unsigned char *out = malloc(len * 3 + 8);
    assert_non_null(out);
    for (size_t step = 0; step <= 2; step++) {
        size_t n = encode(in, len, step, out);
        if (n != wlen || memcmp(out, want, n) != 0)
            fail_msg("step %u: got \"%.*s\"", (unsigned)step, (int)n, out);
    }
    free(out);
}

#define WIRE(in, want) expect_wire(in, sizeof(in) - 1, want, sizeof(want) - 1)

static void test_dot_stuffing(void **state)
{
    (void)state;
    WIRE("a\r\nb\r\n", "a\r\nb\r\n.\r\n");
    WIRE(".\r\n", "..\r\n.\r\n");
    WIRE("..x\r\n.\r\nend", "...x\r\n..\r\nend\r\n.\r\n");
    /* Stored bare LF, bare CR and mixed: CRLF on the wire. */
    WIRE("a\nb\rc\r\n.d\n", "a\r\nb\r\nc\r\n..d\r\n.\r\n");
    /* CR CR LF: a bare CR, then CRLF. */
    WIRE("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
    /* Empty body. */
    WIRE("", ".\r\n");
    /* A dot not at a line start is not doubled; NUL passes through. */
    WIRE("a.b\0c", "a.b\0c\r\n.\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed),      cmocka_unit_test(test_rest_not_consumed),
        cmocka_unit_test(test_split_everywhere), cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_lines_limit),      cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_text_sanitised),   cmocka_unit_test(test_enhanced),
        cmocka_unit_test(test_dot_stuffing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
