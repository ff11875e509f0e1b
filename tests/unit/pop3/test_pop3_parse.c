/*
 * test_pop3_parse.c - POP3 command lines: every keyword and arity, numbers,
 * the 255-octet line limit at the limit and one past it, empty lines, NUL
 * and other control bytes, invalid UTF-8; and a pipelined stream fed to the
 * engine's line scanner (with the protocol's max_line) whole and one byte
 * at a time, which must give the same commands.
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
#include "pop3_parse.h"
#include "pop3_server.h"
#include "yb_stream.h"

struct pcase {
    const char *in;
    size_t len; /* 0: strlen(in) */
    int rc;
    enum pop3_verb verb;
    unsigned nargs;
    const char *arg0, *arg1;
    uint32_t num0, num1;
};

static const struct pcase cases[] = {
    { "USER alice@example.test", 0, 0, POP3_USER, 1, "alice@example.test", NULL, 0, 0 },
    { "user bob", 0, 0, POP3_USER, 1, "bob", NULL, 0, 0 },
    { "USER", 0, YB_EPARSE, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "USER a b", 0, YB_EPARSE, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "USER  a", 0, YB_EPARSE, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "PASS secret with  spaces ", 0, 0, POP3_PASS, 1, "secret with  spaces ", NULL, 0, 0 },
    { "PASS", 0, YB_EPARSE, POP3_PASS, 0, NULL, NULL, 0, 0 },
    { "PASS ", 0, YB_EPARSE, POP3_PASS, 0, NULL, NULL, 0, 0 },
    { "STAT", 0, 0, POP3_STAT, 0, NULL, NULL, 0, 0 },
    { "stat", 0, 0, POP3_STAT, 0, NULL, NULL, 0, 0 },
    { "STAT ", 0, YB_EPARSE, POP3_STAT, 0, NULL, NULL, 0, 0 },
    { "STAT 1", 0, YB_EPARSE, POP3_STAT, 0, NULL, NULL, 0, 0 },
    { "LIST", 0, 0, POP3_LIST, 0, NULL, NULL, 0, 0 },
    { "LIST 7", 0, 0, POP3_LIST, 1, "7", NULL, 7, 0 },
    { "LIST 1 2", 0, YB_EPARSE, POP3_LIST, 0, NULL, NULL, 0, 0 },
    { "LIST x", 0, YB_EPARSE, POP3_LIST, 0, NULL, NULL, 0, 0 },
    { "LIST -1", 0, YB_EPARSE, POP3_LIST, 0, NULL, NULL, 0, 0 },
    { "LIST +1", 0, YB_EPARSE, POP3_LIST, 0, NULL, NULL, 0, 0 },
    { "RETR 4294967295", 0, 0, POP3_RETR, 1, "4294967295", NULL, 4294967295u, 0 },
    { "RETR 4294967296", 0, YB_EPARSE, POP3_RETR, 0, NULL, NULL, 0, 0 },
    { "RETR 0000000001", 0, 0, POP3_RETR, 1, "0000000001", NULL, 1, 0 },
    { "RETR 00000000001", 0, YB_EPARSE, POP3_RETR, 0, NULL, NULL, 0, 0 },
    { "RETR 0", 0, 0, POP3_RETR, 1, "0", NULL, 0, 0 },
    { "RETR", 0, YB_EPARSE, POP3_RETR, 0, NULL, NULL, 0, 0 },
    { "DELE 3", 0, 0, POP3_DELE, 1, "3", NULL, 3, 0 },
    { "NOOP", 0, 0, POP3_NOOP, 0, NULL, NULL, 0, 0 },
    { "RSET", 0, 0, POP3_RSET, 0, NULL, NULL, 0, 0 },
    { "QUIT", 0, 0, POP3_QUIT, 0, NULL, NULL, 0, 0 },
    { "TOP 2 0", 0, 0, POP3_TOP, 2, "2", "0", 2, 0 },
    { "top 2 10", 0, 0, POP3_TOP, 2, "2", "10", 2, 10 },
    { "TOP 2", 0, YB_EPARSE, POP3_TOP, 0, NULL, NULL, 0, 0 },
    { "TOP 2 3 4", 0, YB_EPARSE, POP3_TOP, 0, NULL, NULL, 0, 0 },
    { "TOP 2 ", 0, YB_EPARSE, POP3_TOP, 0, NULL, NULL, 0, 0 },
    { "UIDL", 0, 0, POP3_UIDL, 0, NULL, NULL, 0, 0 },
    { "UIDL 12", 0, 0, POP3_UIDL, 1, "12", NULL, 12, 0 },
    { "CAPA", 0, 0, POP3_CAPA, 0, NULL, NULL, 0, 0 },
    { "STLS", 0, 0, POP3_STLS, 0, NULL, NULL, 0, 0 },
    { "AUTH", 0, 0, POP3_AUTH, 0, NULL, NULL, 0, 0 },
    { "AUTH PLAIN", 0, 0, POP3_AUTH, 1, "PLAIN", NULL, 0, 0 },
    { "AUTH PLAIN AGFsaWNlAHB3", 0, 0, POP3_AUTH, 2, "PLAIN", "AGFsaWNlAHB3", 0, 0 },
    { "AUTH PLAIN =", 0, 0, POP3_AUTH, 2, "PLAIN", "=", 0, 0 },
    { "AUTH PLAIN a b", 0, YB_EPARSE, POP3_AUTH, 0, NULL, NULL, 0, 0 },
    { "APOP mrose c4c9334bac560ecc979e58001b3e22fb", 0, 0, POP3_APOP, 1,
      "mrose c4c9334bac560ecc979e58001b3e22fb", NULL, 0, 0 },
    { "XTND XMIT", 0, YB_ENOTSUP, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "RETRX 1", 0, YB_ENOTSUP, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "", 0, YB_EPARSE, POP3_USER, 0, NULL, NULL, 0, 0 },
    { " STAT", 0, YB_ENOTSUP, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "STAT\0", 5, YB_EPARSE, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "PASS a\0b", 8, YB_EPARSE, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "PASS a\tb", 0, YB_EPARSE, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "PASS a\x7f", 0, YB_EPARSE, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "PASS p\xc3\xa4ss", 0, 0, POP3_PASS, 1, "p\xc3\xa4ss", NULL, 0, 0 },
    { "PASS p\xc3ss", 0, YB_EUTF8, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "USER \xff", 0, YB_EUTF8, POP3_USER, 0, NULL, NULL, 0, 0 },
    { "PASS \xed\xa0\x80", 0, YB_EUTF8, POP3_USER, 0, NULL, NULL, 0, 0 },
};

static void check_case(const struct pcase *c, size_t i)
{
    size_t len = c->len ? c->len : strlen(c->in);
    unsigned char *copy = malloc(len ? len : 1); /* exact size: ASan sees over-reads */
    assert_non_null(copy);
    memcpy(copy, c->in, len);
    struct pop3_cmd cmd;
    int rc = pop3_parse_command(yb_slice_make(copy, len), &cmd);
    if (rc != c->rc)
        fail_msg("case %u (%s): rc %d, want %d", (unsigned)i, c->in, rc, c->rc);
    if (rc == 0) {
        assert_int_equal(cmd.verb, c->verb);
        assert_int_equal(cmd.nargs, c->nargs);
        if (c->arg0 != NULL)
            assert_true(yb_slice_eq(cmd.arg[0], yb_slice_cstr(c->arg0)));
        if (c->arg1 != NULL)
            assert_true(yb_slice_eq(cmd.arg[1], yb_slice_cstr(c->arg1)));
        assert_int_equal(cmd.num[0], c->num0);
        assert_int_equal(cmd.num[1], c->num1);
    }
    free(copy);
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i], i);
}

/* RFC 2449: 255 octets with CRLF, so 253 without it is the longest line. */
static void test_line_limit(void **state)
{
    (void)state;
    char line[YB_POP3_LIMIT_LINE + 2];
    struct pop3_cmd cmd;
    memcpy(line, "PASS ", 5);
    memset(line + 5, 'x', sizeof line - 5);
    assert_int_equal(pop3_parse_command(yb_slice_make(line, YB_POP3_LIMIT_LINE), &cmd), 0);
    assert_int_equal(cmd.arg[0].len, YB_POP3_LIMIT_LINE - 5);
    assert_int_equal(pop3_parse_command(yb_slice_make(line, YB_POP3_LIMIT_LINE + 1), &cmd),
                     YB_ELIMIT);
    assert_int_equal(YB_POP3_LIMIT_LINE + 2, 255);
}

static void test_verb_names(void **state)
{
    (void)state;
    assert_string_equal(pop3_verb_name(POP3_TOP), "TOP");
    assert_string_equal(pop3_verb_name(POP3_APOP), "APOP");
}

/* The result of one line, as text, for comparing runs. */
static void describe(struct yb_slice line, unsigned too_long, char *out, size_t size)
{
    struct pop3_cmd cmd;
    if (too_long) {
        snprintf(out, size, "too-long");
        return;
    }
    int rc = pop3_parse_command(line, &cmd);
    int n = snprintf(out, size, "rc=%d", rc);
    if (rc == 0) {
        n += snprintf(out + n, size - (size_t)n, " %s", pop3_verb_name(cmd.verb));
        for (unsigned i = 0; i < cmd.nargs; i++)
            n += snprintf(out + n, size - (size_t)n, " [%.*s]", (int)cmd.arg[i].len,
                          (const char *)cmd.arg[i].p);
    }
}

#define MAX_RESULTS 32

/* Runs stream through the line scanner in pieces of step bytes (0: whole). */
static size_t run_stream(const unsigned char *stream, size_t len, size_t step,
                         char results[MAX_RESULTS][512])
{
    struct yb_line_scanner ls;
    yb_line_scanner_init(&ls, yb_pop3_proto.max_line);
    unsigned char *held = malloc(len + 1);
    assert_non_null(held);
    size_t held_len = 0, fed = 0, n = 0;
    while (fed < len || held_len > 0) {
        size_t add = step == 0 ? len - fed : (len - fed < step ? len - fed : step);
        memcpy(held + held_len, stream + fed, add);
        held_len += add;
        fed += add;
        struct yb_slice line;
        size_t consumed = 0;
        bool bare = false;
        enum yb_line_result r = yb_line_next(&ls, held, held_len, &line, &consumed, &bare);
        if (r != YB_LINE_NEED_MORE) {
            assert_true(n < MAX_RESULTS);
            describe(line, r == YB_LINE_TOO_LONG, results[n], 512);
            n++;
        }
        memmove(held, held + consumed, held_len - consumed);
        held_len -= consumed;
        if (r == YB_LINE_NEED_MORE && add == 0)
            break;
    }
    free(held);
    return n;
}

static void test_stream_byte_at_a_time(void **state)
{
    (void)state;
    static char whole[MAX_RESULTS][512], bytewise[MAX_RESULTS][512], sevens[MAX_RESULTS][512];
    unsigned char stream[YB_POP3_LIMIT_AUTH_LINE * 2 + 2048];
    size_t len = 0;
#define ADD(s)                                  \
    do {                                        \
        memcpy(stream + len, s, sizeof(s) - 1); \
        len += sizeof(s) - 1;                   \
    } while (0)
    ADD("CAPA\r\nUSER alice@example.test\r\nPASS a b\r\nSTAT\nLIST 1\r\nTOP 1 5\r\n");
    ADD("RETR 1\r\nSTAT\0\r\nUSER \xff\r\n\r\nFOO\r\n");
    /* 253 octets: accepted; 254: refused by the parser (the engine allows AUTH lines). */
    memcpy(stream + len, "PASS ", 5);
    memset(stream + len + 5, 'p', YB_POP3_LIMIT_LINE - 5);
    len += YB_POP3_LIMIT_LINE;
    ADD("\r\n");
    memcpy(stream + len, "PASS ", 5);
    memset(stream + len + 5, 'p', YB_POP3_LIMIT_LINE + 1 - 5);
    len += YB_POP3_LIMIT_LINE + 1;
    ADD("\r\n");
    /* Past the engine's limit: dropped whole, reported once, the next line is intact. */
    memset(stream + len, 'A', YB_POP3_LIMIT_AUTH_LINE + 1);
    len += YB_POP3_LIMIT_AUTH_LINE + 1;
    ADD("\r\nQUIT\r\n");
#undef ADD
    size_t n1 = run_stream(stream, len, 0, whole);
    size_t n2 = run_stream(stream, len, 1, bytewise);
    size_t n3 = run_stream(stream, len, 7, sevens);
    assert_int_equal(n1, 15);
    assert_int_equal(n2, n1);
    assert_int_equal(n3, n1);
    for (size_t i = 0; i < n1; i++) {
        assert_string_equal(whole[i], bytewise[i]);
        assert_string_equal(whole[i], sevens[i]);
    }
    assert_string_equal(whole[0], "rc=0 CAPA");
    assert_string_equal(whole[2], "rc=0 PASS [a b]");
    assert_string_equal(whole[3], "rc=0 STAT"); /* bare LF ends a command line too */
    assert_string_equal(whole[5], "rc=0 TOP [1] [5]");
    assert_string_equal(whole[7], "rc=-25");  /* NUL */
    assert_string_equal(whole[8], "rc=-26");  /* invalid UTF-8 */
    assert_string_equal(whole[9], "rc=-25");  /* empty */
    assert_string_equal(whole[10], "rc=-28"); /* unknown */
    assert_true(strncmp(whole[11], "rc=0 PASS [ppp", 14) == 0);
    assert_string_equal(whole[12], "rc=-24"); /* 254 octets */
    assert_string_equal(whole[13], "too-long");
    assert_string_equal(whole[14], "rc=0 QUIT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_verb_names),
        cmocka_unit_test(test_stream_byte_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
