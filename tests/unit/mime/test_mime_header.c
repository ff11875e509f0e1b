/*
 * test_mime_header.c - RFC 2047 words in the charsets mail carries
 * (ISO-8859-1, Windows-1252, ISO-2022-JP, Shift_JIS, EUC-JP, UTF-8),
 * adjacent and split words, raw 8-bit and invalid bytes, and Content-Type
 * parameters with RFC 2231 continuations and charsets.
 *
 * These run under wine too, against the Win32 code-page converter.
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
#include "mime_header.h"
#include "yb_utf8.h"

#define TESUTO "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88" /* テスト in UTF-8 */

struct wcase {
    const char *in;
    const char *out;
};

static const struct wcase words[] = {
    { "plain text", "plain text" },
    { "", "" },
    { "=?ISO-8859-1?Q?caf=E9?=", "caf\xc3\xa9" },
    { "=?iso-8859-1?q?caf=e9?=", "caf\xc3\xa9" },
    { "=?UTF-8?B?Y2Fmw6k=?=", "caf\xc3\xa9" },
    { "=?UTF-8?B?Y2Fmw6k?=", "caf\xc3\xa9" }, /* padding left out */
    { "=?windows-1252?Q?=80_5?=", "\xe2\x82\xac 5" },
    { "=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", TESUTO },
    { "=?Shift_JIS?B?g2WDWINn?=", TESUTO },
    { "=?EUC-JP?B?pcaluaXI?=", TESUTO },
    { "=?utf-8*en?Q?hi?=", "hi" }, /* RFC 2231 language */
    { "a =?UTF-8?Q?b?= c", "a b c" },
    { "=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab" },     /* whitespace between words is not text */
    { "=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=", "ab" }, /* also when folded */
    { "=?UTF-8?Q?a?= =?ISO-8859-1?Q?=E9?=", "a\xc3\xa9" },
    { "=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?=", "caf\xc3\xa9" }, /* a character split across words */
    { "=?x-unknown?Q?abc?= d", "=?x-unknown?Q?abc?= d" },    /* kept as written */
    { "=?UTF-8?Q?=FF?=", "=?UTF-8?Q?=FF?=" },                /* invalid bytes: kept as written */
    { "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=" },                /* no such encoding */
    { "=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=" },                /* a space ends no word */
    { "=?UTF-8?Q?unterminated", "=?UTF-8?Q?unterminated" },
    { "Re:=?UTF-8?Q?x?=", "Re:x" }, /* glued to text, as careless mailers write */
    { "caf\xc3\xa9 raw UTF-8", "caf\xc3\xa9 raw UTF-8" },
    { "bad \xff byte", "bad \xef\xbf\xbd byte" },
    { "cut \xc3", "cut \xef\xbf\xbd" },
    { "folded\r\n line", "folded line" },
};

static void test_words(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(words); i++) {
        struct yb_buf out;
        size_t len = strlen(words[i].in);
        char *d = malloc(len + 1);
        assert_non_null(d);
        memcpy(d, words[i].in, len);
        yb_buf_init(&out, 4096);
        assert_int_equal(mime_header_decode(yb_slice_make(d, len), &out), 0);
        if (strcmp(yb_buf_cstr(&out), words[i].out) != 0) {
            print_error("'%s' -> '%s', expected '%s' (backend %s)\n", words[i].in,
                        yb_buf_cstr(&out), words[i].out, pal_charset_backend());
            fail();
        }
        assert_true(yb_utf8_valid(out.p, out.len, NULL));
        yb_buf_free(&out);
        free(d);
    }
}

/* The output limit: YB_ELIMIT, never more than the maximum. */
static void test_decode_limit(void **state)
{
    struct yb_buf out;
    (void)state;
    yb_buf_init(&out, 4);
    assert_int_equal(mime_header_decode(YB_SLICE_LIT("=?UTF-8?Q?abcdef?="), &out), YB_ELIMIT);
    assert_true(out.len <= 4);
    yb_buf_free(&out);
}

/* NUL is a byte like any other: kept, in text and in a decoded word. */
static void test_decode_nul(void **state)
{
    struct yb_buf out;
    (void)state;
    yb_buf_init(&out, 256);
    assert_int_equal(mime_header_decode(yb_slice_make("a\0b =?UTF-8?B?YQBi?=", 20), &out), 0);
    assert_int_equal((int)out.len, 7);
    assert_memory_equal(out.p, "a\0b a\0b", 7);
    yb_buf_free(&out);
}

/* A value full of encoded-word starts that never end decodes in linear time. */
static void test_decode_no_quadratic(void **state)
{
    size_t n = 256 * 1024; /* the largest header block the parser keeps */
    char *v = malloc(n);
    struct yb_buf out;
    uint64_t t0 = pal_time_mono_ms();
    (void)state;
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = "=?a?Q?_"[i % 7];
    yb_buf_init(&out, 4 * n);
    assert_int_equal(mime_header_decode(yb_slice_make(v, n), &out), 0);
    assert_int_equal((int)out.len, (int)n); /* nothing was a word: kept as written */
    assert_true(pal_time_mono_ms() - t0 < 1000);
    yb_buf_free(&out);
    free(v);
}

static void test_unfold(void **state)
{
    struct yb_buf out;
    (void)state;
    yb_buf_init(&out, 256);
    assert_int_equal(mime_header_unfold(YB_SLICE_LIT("a\r\n b\n\tc\r\nd"), &out), 0);
    assert_string_equal(yb_buf_cstr(&out), "a b\tc\r\nd"); /* a line end without WSP stays */
    yb_buf_free(&out);
}

static void expect_param(const struct mime_ctype *ct, const char *name, const char *value)
{
    struct yb_slice v = mime_ctype_param(ct, name);
    if (value == NULL) {
        assert_null(v.p);
        return;
    }
    if (v.p == NULL || v.len != strlen(value) || memcmp(v.p, value, v.len) != 0) {
        print_error("param %s: '%.*s', expected '%s'\n", name, (int)v.len,
                    v.p ? (const char *)v.p : "(none)", value);
        fail();
    }
}

static void test_ctype(void **state)
{
    struct mime_ctype ct;
    (void)state;

    assert_int_equal(
        mime_ctype_parse(YB_SLICE_LIT("Text/Plain; charset=\"utf-8\"; format=flowed"), true, &ct),
        0);
    assert_true(yb_slice_eq(ct.type, YB_SLICE_LIT("Text")));
    assert_true(yb_slice_eq(ct.subtype, YB_SLICE_LIT("Plain")));
    assert_int_equal((int)ct.nparams, 2);
    expect_param(&ct, "CHARSET", "utf-8");
    expect_param(&ct, "format", "flowed");
    expect_param(&ct, "name", NULL);
    mime_ctype_free(&ct);

    /* comments, folding, escapes, a bare value with a space */
    assert_int_equal(
        mime_ctype_parse(
            YB_SLICE_LIT("multipart/mixed (c) ;\r\n boundary=\"a\\\"b\"; name=my file.txt"), true,
            &ct),
        0);
    expect_param(&ct, "boundary", "a\"b");
    expect_param(&ct, "name", "my file.txt");
    mime_ctype_free(&ct);

    /* RFC 2231: sections, in any order, encoded and not */
    assert_int_equal(mime_ctype_parse(YB_SLICE_LIT("attachment; filename*1=\"b.txt\"; "
                                                   "filename*0=\"a\""),
                                      false, &ct),
                     0);
    assert_true(yb_slice_eq(ct.type, YB_SLICE_LIT("attachment")));
    expect_param(&ct, "filename", "ab.txt");
    mime_ctype_free(&ct);

    assert_int_equal(
        mime_ctype_parse(YB_SLICE_LIT("text/plain; name*=iso-8859-1'fr'caf%E9.txt"), true, &ct), 0);
    expect_param(&ct, "name", "caf\xc3\xa9.txt");
    assert_true(ct.param[0].extended);
    mime_ctype_free(&ct);

    assert_int_equal(mime_ctype_parse(YB_SLICE_LIT("text/plain; name*0*=utf-8''na%C3%AFve; "
                                                   "name*1=\".txt\""),
                                      true, &ct),
                     0);
    expect_param(&ct, "name", "na\xc3\xafve.txt");
    mime_ctype_free(&ct);

    /* junk never fails the parse */
    assert_int_equal(mime_ctype_parse(YB_SLICE_LIT(";;=;x=\"unterminated"), true, &ct), 0);
    assert_int_equal((int)ct.type.len, 0);
    expect_param(&ct, "x", "unterminated");
    mime_ctype_free(&ct);
    assert_int_equal(mime_ctype_parse(YB_SLICE_LIT(""), true, &ct), 0);
    assert_int_equal((int)ct.nparams, 0);
    mime_ctype_free(&ct);
}

/* YB_MIME_LIMIT_PARAMS parameters are kept; the next one is ignored. */
static void test_param_limit(void **state)
{
    char v[4096];
    size_t n = (size_t)snprintf(v, sizeof(v), "text/plain");
    struct mime_ctype ct;
    (void)state;
    for (int i = 0; i <= YB_MIME_LIMIT_PARAMS; i++)
        n += (size_t)snprintf(v + n, sizeof(v) - n, "; p%d=%d", i, i);
    assert_int_equal(mime_ctype_parse(yb_slice_make(v, n), true, &ct), 0);
    assert_int_equal((int)ct.nparams, YB_MIME_LIMIT_PARAMS);
    expect_param(&ct, "p31", "31");
    expect_param(&ct, "p32", NULL);
    mime_ctype_free(&ct);
}

/* A decoded parameter value keeps YB_MIME_LIMIT_PARAM_VALUE bytes; more is cut there. */
static void test_param_value_limit(void **state)
{
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        struct yb_buf v;
        struct mime_ctype ct;
        size_t n = YB_MIME_LIMIT_PARAM_VALUE + (size_t)extra;
        yb_buf_init(&v, 1 << 20);
        yb_buf_append_cstr(&v, "text/plain; name*0*=us-ascii''");
        for (size_t i = 0; i < n; i++)
            yb_buf_append_byte(&v, 'v');
        assert_int_equal(mime_ctype_parse(yb_buf_slice(&v), true, &ct), 0);
        assert_int_equal((int)mime_ctype_param(&ct, "name").len, YB_MIME_LIMIT_PARAM_VALUE);
        mime_ctype_free(&ct);
        yb_buf_free(&v);
    }
}

/* YB_MIME_LIMIT_PARAM_SECTIONS sections are joined; a section past them is not. */
static void test_param_sections_limit(void **state)
{
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        struct yb_buf v;
        struct mime_ctype ct;
        yb_buf_init(&v, 1 << 20);
        yb_buf_append_cstr(&v, "text/plain");
        for (int i = 0; i < YB_MIME_LIMIT_PARAM_SECTIONS + extra; i++)
            yb_buf_printf(&v, "; n*%d=x", i);
        assert_int_equal(mime_ctype_parse(yb_buf_slice(&v), true, &ct), 0);
        assert_int_equal((int)mime_ctype_param(&ct, "n").len, YB_MIME_LIMIT_PARAM_SECTIONS);
        mime_ctype_free(&ct);
        yb_buf_free(&v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_decode_limit),
        cmocka_unit_test(test_unfold),
        cmocka_unit_test(test_decode_no_quadratic),
        cmocka_unit_test(test_decode_nul),
        cmocka_unit_test(test_ctype),
        cmocka_unit_test(test_param_limit),
        cmocka_unit_test(test_param_value_limit),
        cmocka_unit_test(test_param_sections_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
