/*
 * test_imap_seqset.c - sequence sets: strict syntax, the range limit at N and
 * N+1, "*" and "$", normalisation, and iteration that costs the mailbox, not
 * the numbers.
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
#include "imap_seqset.h"

struct parse_case {
    const char *in;
    size_t len; /* 0: strlen */
    int rc;
    uint32_t star;
    const char *resolved; /* imap_seqset_format after resolve(star) */
};

static const struct parse_case cases[] = {
    { "1", 0, 0, 10, "1" },
    { "1:4", 0, 0, 10, "1:4" },
    { "4:1", 0, 0, 10, "1:4" },
    { "1,2,3", 0, 0, 10, "1:3" },
    { "3,1,2", 0, 0, 10, "1:3" },
    { "5:7,1:6", 0, 0, 10, "1:7" },
    { "1,3,5", 0, 0, 10, "1,3,5" },
    { "*", 0, 0, 10, "10" },
    { "*:4", 0, 0, 10, "4:10" },
    { "4:*", 0, 0, 10, "4:10" },
    { "12:*", 0, 0, 10, "10:12" }, /* RFC 3501: "12:*" in a 10-message box is 10:12 */
    { "*", 0, 0, 0, "" },          /* an empty mailbox: "*" is nothing */
    { "1:*", 0, 0, 0, "1" },
    { "1:4294967295", 0, 0, 7, "1:4294967295" },
    { "4294967295", 0, 0, 7, "4294967295" },
    { "2,2,2", 0, 0, 10, "2" },
    { "", 0, YB_EPARSE, 0, NULL },
    { "0", 0, YB_EPARSE, 0, NULL },
    { "0:5", 0, YB_EPARSE, 0, NULL },
    { "01", 0, YB_EPARSE, 0, NULL },
    { "4294967296", 0, YB_EPARSE, 0, NULL },
    { "99999999999", 0, YB_EPARSE, 0, NULL },
    { "1,", 0, YB_EPARSE, 0, NULL },
    { ",1", 0, YB_EPARSE, 0, NULL },
    { "1::2", 0, YB_EPARSE, 0, NULL },
    { "1:", 0, YB_EPARSE, 0, NULL },
    { ":1", 0, YB_EPARSE, 0, NULL },
    { "1 2", 0, YB_EPARSE, 0, NULL },
    { "1,,2", 0, YB_EPARSE, 0, NULL },
    { "-1", 0, YB_EPARSE, 0, NULL },
    { "**", 0, YB_EPARSE, 0, NULL },
    { "$,1", 0, YB_EPARSE, 0, NULL },
    { "1\0", 2, YB_EPARSE, 0, NULL },
    { "\0", 1, YB_EPARSE, 0, NULL },
    { "1\xc3\xa9", 0, YB_EPARSE, 0, NULL },
    { "\xff", 0, YB_EPARSE, 0, NULL },
};

static void test_parse_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cases); i++) {
        const struct parse_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        char *d = malloc(len ? len : 1);
        struct imap_seqset s;
        char out[64];
        size_t olen;
        int rc;

        assert_non_null(d);
        memcpy(d, c->in, len);
        rc = imap_seqset_parse(yb_slice_make(d, len), &s);
        if (rc != c->rc) {
            print_error("'%s': %s, expected %s\n", c->in, yb_errname(rc), yb_errname(c->rc));
            fail();
        }
        if (rc == 0) {
            assert_int_equal(imap_seqset_resolve(&s, c->star), 0);
            assert_int_equal(imap_seqset_format(&s, out, sizeof(out), &olen), 0);
            if (strcmp(out, c->resolved) != 0) {
                print_error("'%s' star %u: '%s', expected '%s'\n", c->in, (unsigned)c->star, out,
                            c->resolved);
                fail();
            }
        } else {
            assert_int_equal((int)s.n, 0);
            assert_null(s.r);
        }
        imap_seqset_free(&s);
        free(d);
    }
}

static void test_saved(void **state)
{
    struct imap_seqset s;
    (void)state;
    assert_int_equal(imap_seqset_parse(YB_SLICE_LIT("$"), &s), 0);
    assert_true(s.saved);
    /* The caller must substitute the saved result before resolving. */
    assert_int_equal(imap_seqset_resolve(&s, 5), YB_EINVAL);
    imap_seqset_free(&s);
}

/* "1,3,5,...": exactly the limit is accepted, one range more is YB_ELIMIT. */
static void test_range_limit(void **state)
{
    size_t cap = (size_t)YB_IMAP_LIMIT_SEQ_RANGES * 12 + 16;
    char *text = malloc(cap);
    size_t len = 0;
    struct imap_seqset s;
    (void)state;

    assert_non_null(text);
    for (unsigned i = 0; i < YB_IMAP_LIMIT_SEQ_RANGES; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s%u", i ? "," : "", 2 * i + 1);
    assert_int_equal(imap_seqset_parse(yb_slice_make(text, len), &s), 0);
    assert_int_equal((int)s.n, YB_IMAP_LIMIT_SEQ_RANGES);
    assert_int_equal(imap_seqset_resolve(&s, 1), 0);
    assert_int_equal((int)imap_seqset_count(&s), YB_IMAP_LIMIT_SEQ_RANGES);
    imap_seqset_free(&s);
    len += (size_t)snprintf(text + len, cap - len, ",%u", 2 * YB_IMAP_LIMIT_SEQ_RANGES + 1);
    assert_int_equal(imap_seqset_parse(yb_slice_make(text, len), &s), YB_ELIMIT);
    assert_int_equal((int)s.n, 0);
    free(text);
}

/* A huge set over a small mailbox walks the mailbox, not 4 billion numbers. */
static void test_iterate_huge(void **state)
{
    struct imap_seqset s;
    struct imap_seq_iter it;
    uint32_t seq, expect = 1;
    uint64_t t0 = pal_time_mono_ms();
    (void)state;

    assert_int_equal(imap_seqset_parse(YB_SLICE_LIT("1:4294967295"), &s), 0);
    assert_int_equal(imap_seqset_resolve(&s, 10), 0);
    assert_true(imap_seqset_count(&s) == UINT64_C(4294967295));
    imap_seq_iter_init(&it, &s, 10);
    while (imap_seq_iter_next(&it, &seq))
        assert_int_equal(seq, expect++);
    assert_int_equal(expect, 11);
    assert_true(pal_time_mono_ms() - t0 < 1000);
    imap_seqset_free(&s);
}

static void test_iterate_sequence(void **state)
{
    struct imap_seqset s;
    struct imap_seq_iter it;
    uint32_t seq, got[16];
    size_t n = 0;
    (void)state;

    assert_int_equal(imap_seqset_parse(YB_SLICE_LIT("9:*,2,4:5,100:200"), &s), 0);
    assert_int_equal(imap_seqset_resolve(&s, 12), 0);
    imap_seq_iter_init(&it, &s, 10);
    while (n < 16 && imap_seq_iter_next(&it, &seq))
        got[n++] = seq;
    assert_int_equal((int)n, 5);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], 4);
    assert_int_equal(got[2], 5);
    assert_int_equal(got[3], 9);
    assert_int_equal(got[4], 10);
    assert_true(imap_seqset_contains(&s, 150));
    assert_false(imap_seqset_contains(&s, 3));
    assert_false(imap_seqset_contains(&s, 201));
    imap_seqset_free(&s);
}

static void test_iterate_uids(void **state)
{
    static const uint32_t uids[] = { 3, 7, 8, 20, 21, 4000000000u };
    struct imap_seqset s;
    struct imap_uid_iter it;
    size_t idx, got[8], n = 0;
    uint64_t t0 = pal_time_mono_ms();
    (void)state;

    assert_int_equal(imap_seqset_parse(YB_SLICE_LIT("1:7,9:20,3999999999:*"), &s), 0);
    assert_int_equal(imap_seqset_resolve(&s, 4000000000u), 0);
    imap_uid_iter_init(&it, &s, uids, YB_ARRAY_LEN(uids));
    while (n < 8 && imap_uid_iter_next(&it, &idx))
        got[n++] = idx;
    assert_int_equal((int)n, 4);
    assert_int_equal((int)got[0], 0); /* 3 */
    assert_int_equal((int)got[1], 1); /* 7 */
    assert_int_equal((int)got[2], 3); /* 20 */
    assert_int_equal((int)got[3], 5); /* 4000000000 */
    assert_true(pal_time_mono_ms() - t0 < 1000);
    imap_seqset_free(&s);

    /* No UID in range: nothing, and an empty mailbox: nothing. */
    assert_int_equal(imap_seqset_parse(YB_SLICE_LIT("9:19"), &s), 0);
    assert_int_equal(imap_seqset_resolve(&s, 0), 0);
    imap_uid_iter_init(&it, &s, uids, YB_ARRAY_LEN(uids));
    assert_false(imap_uid_iter_next(&it, &idx));
    imap_uid_iter_init(&it, &s, uids, 0);
    assert_false(imap_uid_iter_next(&it, &idx));
    imap_seqset_free(&s);
}

static void test_build_and_format(void **state)
{
    struct imap_seqset s;
    char out[8];
    size_t len;
    (void)state;

    imap_seqset_init(&s);
    for (uint32_t v = 1; v <= 5; v++)
        assert_int_equal(imap_seqset_add(&s, v, v), 0);
    assert_int_equal(imap_seqset_add(&s, 9, 7), 0);
    assert_int_equal((int)s.n, 2); /* appended in order: merged as it goes */
    assert_int_equal(imap_seqset_resolve(&s, 0), 0);
    assert_int_equal(imap_seqset_format(&s, out, sizeof(out), &len), 0);
    assert_string_equal(out, "1:5,7:9");
    assert_int_equal((int)len, 7);
    assert_int_equal(imap_seqset_format(&s, out, 7, &len), YB_ERANGE);
    imap_seqset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_cases),      cmocka_unit_test(test_saved),
        cmocka_unit_test(test_range_limit),      cmocka_unit_test(test_iterate_huge),
        cmocka_unit_test(test_iterate_sequence), cmocka_unit_test(test_iterate_uids),
        cmocka_unit_test(test_build_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
