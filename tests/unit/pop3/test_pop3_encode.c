/*
 * test_pop3_encode.c - RETR/TOP output: CRLF whatever the stored line
 * endings, dot-stuffing, the terminator, TOP's header and line count, and
 * the size count; every case fed whole, one byte at a time, split at every
 * position, and into an output buffer of the smallest size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pop3_encode.h"

struct ecase {
    const char *in;
    int top; /* -1: RETR, else TOP's line count */
    const char *out;
    uint64_t octets;
};

static const struct ecase cases[] = {
    { "", -1, ".\r\n", 0 },
    { "a\r\nb\r\n", -1, "a\r\nb\r\n.\r\n", 6 },
    { "a\nb\n", -1, "a\r\nb\r\n.\r\n", 6 },
    { "a\nb", -1, "a\r\nb\r\n.\r\n", 6 },
    { "a\rb\r\n", -1, "a\rb\r\n.\r\n", 5 },
    { "a\r", -1, "a\r\n.\r\n", 3 },
    { "a\r\r\n", -1, "a\r\r\n.\r\n", 4 },
    { ".\r\n", -1, "..\r\n.\r\n", 3 },
    { ".hidden\n..two\n", -1, "..hidden\r\n...two\r\n.\r\n", 16 },
    { "x.y\r\n.\r\n", -1, "x.y\r\n..\r\n.\r\n", 8 },
    { "\r.x\n", -1, "\r.x\r\n.\r\n", 5 },
    { "a\0b\n", -1, "a\0b\r\n.\r\n", 5 },
    { "H: 1\r\nH: 2\r\n\r\nl1\r\nl2\r\nl3\r\n", 0, "H: 1\r\nH: 2\r\n\r\n.\r\n", 14 },
    { "H: 1\r\nH: 2\r\n\r\nl1\r\nl2\r\nl3\r\n", 2, "H: 1\r\nH: 2\r\n\r\nl1\r\nl2\r\n.\r\n", 22 },
    { "H: 1\nH: 2\n\n.l1\nl2\nl3\n", 1, "H: 1\r\nH: 2\r\n\r\n..l1\r\n.\r\n", 19 },
    { "H: 1\r\n\r\nonly", 5, "H: 1\r\n\r\nonly\r\n.\r\n", 14 },
    { "H: 1\r\nno blank line", 0, "H: 1\r\nno blank line\r\n.\r\n", 21 },
    { "\r\nbody\r\n", 0, "\r\n.\r\n", 2 },
};

/* Test inputs hold NULs: their length is the literal's, marked by the table's strings. */
static size_t case_len(const char *s)
{
    return strcmp(s, "a\0b\n") == 0 ? 4 : strlen(s);
}

/* Encodes in, fed in pieces of step (0: whole), into an output window of cap bytes. */
static size_t run(const struct ecase *c, const unsigned char *in, size_t len, size_t step,
                  size_t split, size_t cap, unsigned char *out, uint64_t *octets_r)
{
    struct pop3_encoder e;
    pop3_encoder_init(&e, c->top >= 0, c->top >= 0 ? (uint32_t)c->top : 0);
    size_t pos = 0, o = 0, rounds = 0;
    while (pos < len && !pop3_encoder_done(&e)) {
        size_t piece = len - pos;
        if (step != 0 && piece > step)
            piece = step;
        if (split != 0 && pos < split && pos + piece > split)
            piece = split - pos;
        size_t used = 0;
        o += pop3_encode(&e, in + pos, piece, out + o, cap, &used);
        pos += used;
        assert_true(++rounds < 10000); /* progress is guaranteed with cap >= 2 */
    }
    o += pop3_encode_finish(&e, out + o, true);
    *octets_r = e.octets;
    return o;
}

static void check(const struct ecase *c, size_t i, size_t step, size_t split, size_t cap)
{
    size_t len = case_len(c->in);
    size_t want_len = strcmp(c->in, "a\0b\n") == 0 ? 8 : strlen(c->out);
    unsigned char *in = malloc(len ? len : 1);
    unsigned char out[256];
    assert_non_null(in);
    memcpy(in, c->in, len);
    uint64_t octets = 0;
    size_t n = run(c, in, len, step, split, cap, out, &octets);
    if (n != want_len || memcmp(out, c->out, n) != 0)
        fail_msg("case %u step %u split %u cap %u: got %.*s", (unsigned)i, (unsigned)step,
                 (unsigned)split, (unsigned)cap, (int)n, (const char *)out);
    if (octets != c->octets)
        fail_msg("case %u: octets %u, want %u", (unsigned)i, (unsigned)octets, (unsigned)c->octets);
    free(in);
}

static void test_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check(&cases[i], i, 0, 0, 200);
}

static void test_byte_at_a_time(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check(&cases[i], i, 1, 0, 200);
}

static void test_every_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = case_len(cases[i].in);
        for (size_t split = 1; split < len; split++)
            check(&cases[i], i, 0, split, 200);
    }
}

/* The smallest output window (YB_POP3_ENCODE_EXPANSION bytes) still makes progress. */
static void test_small_output(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check(&cases[i], i, 0, 0, YB_POP3_ENCODE_EXPANSION);
        check(&cases[i], i, 3, 0, YB_POP3_ENCODE_EXPANSION + 1);
    }
}

/* TOP stops consuming input once its lines are out: the rest of a big file is never read. */
static void test_top_stops_reading(void **state)
{
    (void)state;
    const char *msg = "A: b\r\n\r\n1\r\n2\r\n3\r\n";
    unsigned char out[64];
    size_t used = 0;
    struct pop3_encoder e;
    pop3_encoder_init(&e, true, 1);
    size_t n = pop3_encode(&e, (const unsigned char *)msg, strlen(msg), out, sizeof out, &used);
    assert_true(pop3_encoder_done(&e));
    assert_int_equal(used, strlen("A: b\r\n\r\n1\r\n"));
    assert_int_equal(n, used);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_byte_at_a_time),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_small_output),
        cmocka_unit_test(test_top_stops_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
