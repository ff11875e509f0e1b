/*
 * test_mime_decode.c - the streaming transfer decoders: the same output
 * whole, one byte at a time and split at every position; RFC 2045's rules
 * for soft breaks and trailing whitespace; what lenient decoding keeps.
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
#include "mime_decode.h"

struct dcase {
    enum mime_cte cte;
    const char *in;
    const char *out;
    size_t outlen; /* 0: strlen(out) */
    unsigned bad;  /* 1: some input was odd */
};

static const struct dcase cases[] = {
    { MIME_CTE_BASE64, "SGVsbG8sIHdvcmxkIQ==", "Hello, world!", 0, 0 },
    { MIME_CTE_BASE64, "SGVs\r\nbG8s\r\nIHdv cmxk\tIQ==\r\n", "Hello, world!", 0, 0 },
    { MIME_CTE_BASE64, "SGk", "Hi", 0, 0 },             /* unpadded */
    { MIME_CTE_BASE64, "SGk=\r\nignored", "Hi", 0, 0 }, /* after padding: nothing */
    { MIME_CTE_BASE64, "S!G*k", "Hi", 0, 1 },           /* junk skipped, counted */
    { MIME_CTE_BASE64, "AAEC", "\0\1\2", 3, 0 },
    { MIME_CTE_BASE64, "", "", 0, 0 },
    { MIME_CTE_QP, "a=3Db", "a=b", 0, 0 },
    { MIME_CTE_QP, "soft=\r\nbreak", "softbreak", 0, 0 },
    { MIME_CTE_QP, "soft=  \r\nbreak", "softbreak", 0, 0 }, /* whitespace after '=' */
    { MIME_CTE_QP, "bare=\nLF", "bareLF", 0, 0 },
    { MIME_CTE_QP, "trail  \r\nx\t\r\n", "trail\r\nx\r\n", 0, 0 },
    { MIME_CTE_QP, "in  side", "in  side", 0, 0 },
    { MIME_CTE_QP, "caf=c3=a9", "caf\xc3\xa9", 0, 0 }, /* lower-case hex */
    { MIME_CTE_QP, "d=XY", "d=XY", 0, 1 },
    { MIME_CTE_QP, "d=4", "d=4", 0, 0 },
    { MIME_CTE_QP, "d=4x", "d=4x", 0, 1 },
    { MIME_CTE_QP, "end =", "end =", 0, 0 },
    { MIME_CTE_QP, "cr\rin text", "cr\rin text", 0, 0 },
    { MIME_CTE_QP, "last line  ", "last line", 0, 0 },
    { MIME_CTE_QP, "nul=00", "nul\0", 4, 0 },
    { MIME_CTE_QP, "raw \xff\xc3", "raw \xff\xc3", 0, 0 }, /* 8-bit passes as bytes */
    { MIME_CTE_7BIT, "as\r\nis=3D", "as\r\nis=3D", 0, 0 },
};

/* Decodes in split into chunks at the given positions (sorted, in range). */
static void decode_split(const struct dcase *c, const size_t *cuts, size_t ncuts,
                         struct yb_buf *out, uint64_t *bad_r)
{
    struct mime_decoder d;
    size_t len = strlen(c->in), at = 0;
    mime_decoder_init(&d, c->cte);
    for (size_t k = 0; k <= ncuts; k++) {
        size_t to = k < ncuts ? cuts[k] : len;
        /* an exact-size copy of each chunk, so ASan sees any over-read */
        unsigned char *chunk = malloc(to - at + 1);
        assert_non_null(chunk);
        memcpy(chunk, c->in + at, to - at);
        assert_int_equal(mime_decoder_feed(&d, chunk, to - at, out), 0);
        free(chunk);
        at = to;
    }
    assert_int_equal(mime_decoder_finish(&d, out), 0);
    *bad_r = c->cte == MIME_CTE_BASE64 ? d.u.b64.bad : c->cte == MIME_CTE_QP ? d.u.qp.bad : 0;
}

static void expect(const struct dcase *c, const struct yb_buf *out, uint64_t bad, const char *how)
{
    size_t olen = c->outlen ? c->outlen : strlen(c->out);
    if (out->len != olen || (olen && memcmp(out->p, c->out, olen) != 0) ||
        (bad > 0) != (c->bad > 0)) {
        print_error("'%s' (%s): got %u bytes, bad %u\n", c->in, how, (unsigned)out->len,
                    (unsigned)bad);
        fail();
    }
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cases); i++) {
        const struct dcase *c = &cases[i];
        size_t len = strlen(c->in);
        struct yb_buf out;
        uint64_t bad;
        size_t cuts[256];

        /* whole */
        yb_buf_init(&out, 4096);
        decode_split(c, NULL, 0, &out, &bad);
        expect(c, &out, bad, "whole");
        yb_buf_free(&out);
        /* one byte at a time */
        assert_true(len < 256);
        for (size_t k = 1; k < len; k++)
            cuts[k - 1] = k;
        yb_buf_init(&out, 4096);
        decode_split(c, cuts, len ? len - 1 : 0, &out, &bad);
        expect(c, &out, bad, "byte by byte");
        yb_buf_free(&out);
        /* two pieces, at every position */
        for (size_t k = 0; k <= len; k++) {
            cuts[0] = k;
            yb_buf_init(&out, 4096);
            decode_split(c, cuts, 1, &out, &bad);
            expect(c, &out, bad, "split");
            yb_buf_free(&out);
        }
    }
}

/* The output buffer's maximum bounds the output. */
static void test_output_limit(void **state)
{
    struct mime_b64 st;
    struct yb_buf out;
    (void)state;
    yb_buf_init(&out, 12);
    mime_b64_init(&st);
    /* 12 bytes fit; the 13th, which the padding releases at the end, does not. */
    assert_int_equal(mime_b64_decode(&st, "SGVsbG8sIHdvcmxkIQ==", 20, &out), 0);
    assert_int_equal(mime_b64_finish(&st, &out), YB_ELIMIT);
    assert_int_equal((int)out.len, 12);
    yb_buf_free(&out);
    yb_buf_init(&out, 13);
    mime_b64_init(&st);
    assert_int_equal(mime_b64_decode(&st, "SGVsbG8sIHdvcmxkIQ==", 20, &out), 0);
    assert_int_equal(mime_b64_finish(&st, &out), 0);
    assert_int_equal((int)out.len, 13);
    yb_buf_free(&out);
}

/* A run of trailing whitespace longer than what is held is kept, not lost. */
static void test_qp_long_whitespace(void **state)
{
    char in[YB_MIME_LIMIT_QP_HOLD * 2 + 8];
    struct mime_qp st;
    struct yb_buf out;
    (void)state;
    memset(in, ' ', sizeof(in));
    in[0] = 'a';
    in[sizeof(in) - 1] = 'b';
    yb_buf_init(&out, 4096);
    mime_qp_init(&st);
    assert_int_equal(mime_qp_decode(&st, in, sizeof(in), &out), 0);
    assert_int_equal(mime_qp_finish(&st, &out), 0);
    assert_int_equal((int)out.len, (int)sizeof(in));
    assert_memory_equal(out.p, in, sizeof(in));
    yb_buf_free(&out);
}

static void test_cte_names(void **state)
{
    (void)state;
    assert_int_equal(mime_cte_from_name("BASE64", 6), MIME_CTE_BASE64);
    assert_int_equal(mime_cte_from_name(" base64 ", 8), MIME_CTE_BASE64);
    assert_int_equal(mime_cte_from_name("Quoted-Printable", 16), MIME_CTE_QP);
    assert_int_equal(mime_cte_from_name("8bit", 4), MIME_CTE_7BIT);
    assert_int_equal(mime_cte_from_name("x-uuencode", 10), MIME_CTE_7BIT);
    assert_int_equal(mime_cte_from_name("", 0), MIME_CTE_7BIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_qp_long_whitespace),
        cmocka_unit_test(test_cte_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
