/*
 * test_charset.c - one-shot charset conversion.
 *
 * Expected bytes come from the charsets' published tables (checked against
 * an independent encoder). A charset the platform lacks is skipped with a
 * printed reason, decided by pal_charset_supported() at run time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pal_charset.h"
#include "pal_err.h"

#define JA "日本語のメール"

struct sample {
    const char *charset;
    const char *utf8;
    size_t utf8_len;    /* 0: strlen */
    const char *native; /* NULL: round trip only (encoder output may vary) */
    size_t native_len;  /* 0: strlen */
};

static const struct sample k_samples[] = {
    { "ISO-8859-1", "café Ünïcødé", 0,
      "caf\xe9 \xdcn\xef"
      "c\xf8"
      "d\xe9",
      0 },
    { "UTF-16LE", "a\xc3\xa9", 0, "a\0\xe9\0", 4 },
    { "UTF-16BE", "a\xc3\xa9", 0, "\0a\0\xe9", 4 },
    { "UTF-16LE", "\xf0\x9f\x93\xac", 0, "\x3d\xd8\xec\xdc", 4 }, /* U+1F4EC, surrogates */
    { "UTF-16LE", JA, 0, "\xe5\x65\x2c\x67\x9e\x8a\x6e\x30\xe1\x30\xfc\x30\xeb\x30", 14 },
    { "UTF-16BE", JA, 0, "\x65\xe5\x67\x2c\x8a\x9e\x30\x6e\x30\xe1\x30\xfc\x30\xeb", 14 },
    { "Windows-1252", "\xe2\x82\xac\xe2\x80\x9cx\xe2\x80\x9d", 0, "\x80\x93\x78\x94", 0 },
    { "ISO-8859-15", "\xe2\x82\xac\xc5\xa0\xc5\xa1", 0, "\xa4\xa6\xa8", 0 },
    { "Shift_JIS", JA, 0, "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x81\x81\x5b\x83\x8b", 0 },
    { "EUC-JP", JA, 0, "\xc6\xfc\xcb\xdc\xb8\xec\xa4\xce\xa5\xe1\xa1\xbc\xa5\xeb", 0 },
    { "ISO-2022-JP", JA, 0,
      "\x1b\x24\x42\x46\x7c\x4b\x5c\x38\x6c\x24\x4e\x25\x61\x21\x3c\x25\x6b\x1b\x28\x42", 0 },
    { "ISO-2022-JP", "To: " JA " ok", 0, NULL, 0 },
    { "KOI8-R", "Привет, мир", 0, "\xf0\xd2\xc9\xd7\xc5\xd4\x2c\x20\xcd\xc9\xd2", 0 },
    { "UTF-7", "Hi Mom -\xe2\x98\xba-!", 0, NULL, 0 },
    { "UTF-7", JA, 0, NULL, 0 },
    { "US-ASCII", "plain text 123", 0, "plain text 123", 0 },
};

static bool supported_or_skip(const char *charset)
{
    if (pal_charset_supported(charset))
        return true;
    print_message("skipping %s: not supported by the %s backend\n", charset, pal_charset_backend());
    return false;
}

static void test_backend_name(void **state)
{
    (void)state;
    const char *name = pal_charset_backend();
    assert_non_null(name);
    assert_true(strlen(name) > 0);
    assert_true(pal_charset_supported("UTF-8"));
    assert_true(pal_charset_supported("ISO-8859-1"));
    assert_true(pal_charset_supported("US-ASCII"));
    assert_false(pal_charset_supported("x-no-such-charset"));
    assert_false(pal_charset_supported(""));
}

static void test_round_trips(void **state)
{
    (void)state;
    int skipped = 0;
    for (size_t i = 0; i < sizeof k_samples / sizeof k_samples[0]; i++) {
        const struct sample *s = &k_samples[i];
        if (!supported_or_skip(s->charset)) {
            skipped++;
            continue;
        }
        size_t ulen = s->utf8_len ? s->utf8_len : strlen(s->utf8);
        char enc[256], dec[256];
        size_t elen = 0, dlen = 0;
        int rc = pal_charset_convert(s->charset, "UTF-8", s->utf8, ulen, enc, sizeof enc, &elen);
        if (rc != 0)
            fail_msg("UTF-8 -> %s (sample %u): %s", s->charset, (unsigned)i, yb_errname(rc));
        if (s->native) {
            size_t nlen = s->native_len ? s->native_len : strlen(s->native);
            if (elen != nlen || memcmp(enc, s->native, nlen) != 0)
                fail_msg("UTF-8 -> %s (sample %u): wrong bytes (%u, want %u)", s->charset,
                         (unsigned)i, (unsigned)elen, (unsigned)nlen);
        }
        rc = pal_charset_convert("UTF-8", s->charset, enc, elen, dec, sizeof dec, &dlen);
        if (rc != 0)
            fail_msg("%s -> UTF-8 (sample %u): %s", s->charset, (unsigned)i, yb_errname(rc));
        if (dlen != ulen || memcmp(dec, s->utf8, ulen) != 0)
            fail_msg("%s round trip (sample %u) changed the text", s->charset, (unsigned)i);
    }
    /* The charsets every backend must carry were not skipped. */
    assert_true(skipped < (int)(sizeof k_samples / sizeof k_samples[0]) / 2);
}

/* Decoding fixed input is deterministic even where encoders may differ. */
static void test_known_decodes(void **state)
{
    (void)state;
    static const struct {
        const char *charset, *in, *want;
    } cases[] = {
        { "UTF-7", "Hi Mom -+Jjo--!", "Hi Mom -\xe2\x98\xba-!" }, /* RFC 2152 */
        { "UTF-7", "+ZeVnLIqe-", "日本語" },                      /* RFC 2152 */
        { "ISO-2022-JP", "abc\x1b$BF|K\\8l\x1b(Bxyz", "abc日本語xyz" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!supported_or_skip(cases[i].charset))
            continue;
        char out[64];
        size_t n = 0;
        int rc = pal_charset_convert("UTF-8", cases[i].charset, cases[i].in, strlen(cases[i].in),
                                     out, sizeof out, &n);
        if (rc != 0)
            fail_msg("case %u: %s", (unsigned)i, yb_errname(rc));
        assert_int_equal(n, strlen(cases[i].want));
        assert_memory_equal(out, cases[i].want, n);
    }
}

/* A one-shot conversion into a stateful charset ends back in ASCII state. */
static void test_iso2022jp_returns_to_ascii(void **state)
{
    (void)state;
    if (!supported_or_skip("ISO-2022-JP"))
        return;
    char out[64];
    size_t n = 0;
    assert_int_equal(
        pal_charset_convert("ISO-2022-JP", "UTF-8", "日本", strlen("日本"), out, sizeof out, &n),
        0);
    assert_true(n >= 3 + 4 + 3);
    assert_memory_equal(out, "\x1b$B", 3);
    assert_memory_equal(out + n - 3, "\x1b(B", 3);
    for (size_t i = 0; i < n; i++)
        assert_true((unsigned char)out[i] < 0x80);
    /* If only the closing escape does not fit, that is YB_ERANGE, not a cut. */
    size_t m = 0;
    assert_int_equal(
        pal_charset_convert("ISO-2022-JP", "UTF-8", "日本", strlen("日本"), out, n - 1, &m),
        YB_ERANGE);
    assert_int_equal(
        pal_charset_convert("ISO-2022-JP", "UTF-8", "日本", strlen("日本"), out, n, &m), 0);
    assert_int_equal(m, n);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
    } bad[] = {
        { "\xff", 1 },
        { "ab\xc3\x28", 4 },        /* lead byte, then a non-continuation */
        { "\x80zz", 3 },            /* lone continuation byte */
        { "\xed\xa0\x80z", 4 },     /* UTF-16 surrogate encoded in UTF-8 */
        { "\xc0\xafz", 3 },         /* overlong '/' */
        { "\xf4\x90\x80\x80z", 5 }, /* beyond U+10FFFF */
    };
    static const char *const targets[] = { "UTF-16LE", "ISO-8859-1" };
    for (size_t t = 0; t < 2; t++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char out[64];
            size_t n = 0;
            int rc = pal_charset_convert(targets[t], "UTF-8", bad[i].in, bad[i].len, out,
                                         sizeof out, &n);
            if (rc != YB_EILSEQ)
                fail_msg("invalid UTF-8 case %u -> %s gave %s, want YB_EILSEQ", (unsigned)i,
                         targets[t], yb_errname(rc));
        }
    }
}

static void test_truncated_input(void **state)
{
    (void)state;
    static const struct {
        const char *from;
        const char *in;
        size_t len;
    } cut[] = {
        { "UTF-8", "ok\xe6\x97", 4 },   /* first two bytes of 日 */
        { "UTF-8", "\xf0\x9f\x93", 3 }, /* three of four */
        { "UTF-16LE", "a\0b", 3 },      /* odd byte count */
        { "UTF-16LE", "\x3d\xd8", 2 },  /* a lone high surrogate at the end */
        { "Shift_JIS", "\x93\xfa\x96", 3 }, { "EUC-JP", "\xc6\xfc\xcb", 3 },
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        if (!supported_or_skip(cut[i].from))
            continue;
        char out[64];
        size_t n = 0;
        const char *to = strcmp(cut[i].from, "UTF-8") == 0 ? "UTF-16LE" : "UTF-8";
        int rc = pal_charset_convert(to, cut[i].from, cut[i].in, cut[i].len, out, sizeof out, &n);
        if (rc != YB_EPARSE)
            fail_msg("truncated %s (case %u) gave %s, want YB_EPARSE", cut[i].from, (unsigned)i,
                     yb_errname(rc));
    }
}

static void test_output_too_small(void **state)
{
    (void)state;
    char out[64];
    size_t n = 0;
    const char *in = "café";
    size_t len = strlen(in); /* 5 bytes of UTF-8, 4 of Latin-1 */
    assert_int_equal(pal_charset_convert("ISO-8859-1", "UTF-8", in, len, out, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(pal_charset_convert("ISO-8859-1", "UTF-8", in, len, out, 3, &n), YB_ERANGE);
    assert_int_equal(pal_charset_convert("ISO-8859-1", "UTF-8", in, len, out, 0, &n), YB_ERANGE);
    /* UTF-8 -> UTF-8 still checks the room. */
    assert_int_equal(pal_charset_convert("UTF-8", "UTF-8", in, len, out, len, &n), 0);
    assert_int_equal(n, len);
    assert_int_equal(pal_charset_convert("UTF-8", "UTF-8", in, len, out, len - 1, &n), YB_ERANGE);
    /* Latin-1 -> UTF-8 grows: 4 bytes need 5. */
    assert_int_equal(pal_charset_convert("UTF-8", "ISO-8859-1", "caf\xe9", 4, out, 4, &n),
                     YB_ERANGE);
    assert_int_equal(pal_charset_convert("UTF-16LE", "UTF-8", "abc", 3, out, 5, &n), YB_ERANGE);
}

static void test_unknown_charset(void **state)
{
    (void)state;
    char out[16];
    size_t n;
    assert_int_equal(pal_charset_convert("x-no-such-charset", "UTF-8", "a", 1, out, sizeof out, &n),
                     YB_ENOTSUP);
    assert_int_equal(pal_charset_convert("UTF-8", "x-no-such-charset", "a", 1, out, sizeof out, &n),
                     YB_ENOTSUP);
    assert_int_equal(pal_charset_convert("UTF-8", "", "a", 1, out, sizeof out, &n), YB_ENOTSUP);
}

static void test_empty_input(void **state)
{
    (void)state;
    static const char *const cs[] = { "UTF-8",     "ISO-8859-1",  "UTF-16LE",
                                      "Shift_JIS", "ISO-2022-JP", "UTF-7" };
    char out[16];
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        if (!supported_or_skip(cs[i]))
            continue;
        size_t n = 99;
        assert_int_equal(pal_charset_convert(cs[i], "UTF-8", "", 0, out, sizeof out, &n), 0);
        assert_int_equal(n, 0);
        n = 99;
        assert_int_equal(pal_charset_convert("UTF-8", cs[i], "", 0, out, sizeof out, &n), 0);
        assert_int_equal(n, 0);
    }
    size_t n = 99;
    assert_int_equal(pal_charset_convert("ISO-8859-1", "UTF-8", "", 0, out, 0, &n), 0);
    assert_int_equal(n, 0);
}

static void test_aliases_case_insensitive(void **state)
{
    (void)state;
    static const char *const latin1[] = { "ISO-8859-1", "iso-8859-1", "latin1", "LATIN1",
                                          "Latin1" };
    static const char *const utf8[] = { "UTF-8", "utf-8", "Utf-8", "utf8", "UTF8" };
    for (size_t i = 0; i < sizeof latin1 / sizeof latin1[0]; i++) {
        for (size_t j = 0; j < sizeof utf8 / sizeof utf8[0]; j++) {
            char out[16];
            size_t n = 0;
            int rc = pal_charset_convert(latin1[i], utf8[j], "\xc3\xa9t\xc3\xa9", 5, out,
                                         sizeof out, &n);
            if (rc != 0)
                fail_msg("\"%s\" <- \"%s\": %s", latin1[i], utf8[j], yb_errname(rc));
            assert_int_equal(n, 3);
            assert_memory_equal(out, "\xe9t\xe9", 3);
        }
        assert_true(pal_charset_supported(latin1[i]));
    }
    for (size_t j = 0; j < sizeof utf8 / sizeof utf8[0]; j++)
        assert_true(pal_charset_supported(utf8[j]));
    if (supported_or_skip("Shift_JIS")) {
        static const char *const sjis[] = { "sjis", "SJIS", "shift_jis", "SHIFT_JIS" };
        for (size_t i = 0; i < sizeof sjis / sizeof sjis[0]; i++) {
            char out[16];
            size_t n = 0;
            int rc = pal_charset_convert(sjis[i], "UTF-8", "日", 3, out, sizeof out, &n);
            if (rc != 0)
                fail_msg("\"%s\": %s", sjis[i], yb_errname(rc));
            assert_int_equal(n, 2);
            assert_memory_equal(out, "\x93\xfa", 2);
        }
    }
}

static void test_unrepresentable(void **state)
{
    (void)state;
    char out[64];
    size_t n = 0;
    assert_int_equal(
        pal_charset_convert("ISO-8859-1", "UTF-8", "a日b", strlen("a日b"), out, sizeof out, &n),
        YB_EILSEQ);
    assert_int_equal(
        pal_charset_convert("US-ASCII", "UTF-8", "caf\xc3\xa9", 5, out, sizeof out, &n), YB_EILSEQ);
    /* No silent transliteration or '?' substitution. */
    assert_int_equal(pal_charset_convert("KOI8-R", "UTF-8", "日", 3, out, sizeof out, &n),
                     pal_charset_supported("KOI8-R") ? YB_EILSEQ : YB_ENOTSUP);
    /* Bytes invalid in the source charset. */
    assert_int_equal(pal_charset_convert("UTF-8", "US-ASCII", "a\xe9", 2, out, sizeof out, &n),
                     YB_EILSEQ);
}

static void test_embedded_nul(void **state)
{
    (void)state;
    char out[16];
    size_t n = 0;
    assert_int_equal(
        pal_charset_convert("ISO-8859-1", "UTF-8", "a\0\xc3\xa9", 4, out, sizeof out, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "a\0\xe9", 3);
    assert_int_equal(pal_charset_convert("UTF-16LE", "UTF-8", "a\0b", 3, out, sizeof out, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "a\0\0\0b\0", 6);
    assert_int_equal(pal_charset_convert("UTF-8", "UTF-16BE", "\0a\0\0\0b", 6, out, sizeof out, &n),
                     0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "a\0b", 3);
}

/* A UTF-16 decode drops nothing and a BOM-less UTF-16LE/BE encode adds no BOM. */
static void test_utf16_no_bom(void **state)
{
    (void)state;
    char out[16];
    size_t n = 0;
    assert_int_equal(pal_charset_convert("UTF-16LE", "UTF-8", "x", 1, out, sizeof out, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(pal_charset_convert("UTF-16BE", "UTF-8", "x", 1, out, sizeof out, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\0x", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_name),     cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_known_decodes),    cmocka_unit_test(test_iso2022jp_returns_to_ascii),
        cmocka_unit_test(test_invalid_utf8),     cmocka_unit_test(test_truncated_input),
        cmocka_unit_test(test_output_too_small), cmocka_unit_test(test_unknown_charset),
        cmocka_unit_test(test_empty_input),      cmocka_unit_test(test_aliases_case_insensitive),
        cmocka_unit_test(test_unrepresentable),  cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_utf16_no_bom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
