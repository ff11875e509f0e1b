/*
 * test_imap_mutf7.c - modified UTF-7 both ways (RFC 3501 5.1.3 examples,
 * surrogate pairs, every non-canonical spelling refused), the length limit at
 * N and N+1, and the Maildir++ name rules.
 *
 * The codec takes whole names, so "one byte at a time" becomes: every case
 * is decoded from an exact-size heap copy (ASan sees any over-read), and
 * every prefix of every case too; a prefix may be valid or not, but it must
 * never decode to more than the whole.
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
#include "imap_mutf7.h"

struct codec_case {
    const char *mutf7;
    const char *utf8; /* NULL: the mUTF-7 is invalid (YB_EILSEQ) */
};

static const struct codec_case cases[] = {
    { "", "" },
    { "INBOX", "INBOX" },
    { "Sent Items", "Sent Items" },
    { "&-", "&" },
    { "A&-B", "A&B" },
    { "Entw&APw-rfe", "Entw\xc3\xbc"
                      "rfe" },
    { "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
                                         "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
    { "&Jjo-!", "\xe2\x98\xba!" },
    { "&2D3eAQ-", "\xf0\x9f\x98\x81" }, /* U+1F601: a surrogate pair */
    { "&Jjo-&-", "\xe2\x98\xba&" },     /* a run then an escaped '&' is fine */
    { "&AAk-", "\t" },                  /* controls travel encoded (the name check refuses them) */
    /* invalid */
    { "&", NULL },
    { "&Jjo", NULL },        /* never closed */
    { "&AGE-", NULL },       /* 'a' written in base64 */
    { "&ACA-", NULL },       /* ' ' written in base64 */
    { "&Jjo-&Jjo-", NULL },  /* two runs where one is canonical */
    { "&Jjp-", NULL },       /* padding bits not zero */
    { "&JjoAA-", NULL },     /* a whole extra character */
    { "&Jjo=-", NULL },      /* '=' padding is not modified base64 */
    { "&Jjo/-", NULL },      /* '/' is ',' in modified base64 */
    { "&2D0-", NULL },       /* a lone high surrogate */
    { "&3gE-", NULL },       /* a lone low surrogate */
    { "&AAA-", NULL },       /* NUL */
    { "caf\xc3\xa9", NULL }, /* raw 8-bit */
    { "\xff", NULL },        /* invalid UTF-8 */
    { "a\x7f", NULL },       /* DEL */
    { "\x01", NULL },
    { "a\tb", NULL }, /* raw control */
};

static void check_decode(const char *what, const unsigned char *in, size_t len,
                         const struct codec_case *c, bool whole)
{
    char out[512];
    size_t olen = 99;
    int rc = imap_mutf7_to_utf8(yb_slice_make(in, len), out, sizeof(out), &olen);

    if (!whole) {
        /* A prefix: valid or not, never a crash and never longer than the whole. */
        assert_true(rc == 0 || rc == YB_EILSEQ);
        return;
    }
    if (c->utf8 == NULL) {
        if (rc != YB_EILSEQ) {
            print_error("%s '%s': %s, expected YB_EILSEQ\n", what, c->mutf7, yb_errname(rc));
            fail();
        }
        assert_int_equal((int)olen, 0);
        return;
    }
    if (rc != 0 || olen != strlen(c->utf8) || memcmp(out, c->utf8, olen) != 0) {
        print_error("%s '%s': %s '%.*s'\n", what, c->mutf7, yb_errname(rc), (int)olen, out);
        fail();
    }
}

static void test_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cases); i++) {
        size_t len = strlen(cases[i].mutf7);
        for (size_t k = 0; k <= len; k++) {
            unsigned char *d = malloc(k ? k : 1);
            assert_non_null(d);
            memcpy(d, cases[i].mutf7, k);
            check_decode("decode", d, k, &cases[i], k == len);
            free(d);
        }
    }
}

static void test_encode(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cases); i++) {
        char out[512];
        size_t olen;
        const char *u = cases[i].utf8;
        if (u == NULL)
            continue;
        assert_int_equal(imap_utf8_to_mutf7(yb_slice_cstr(u), out, sizeof(out), &olen), 0);
        if (strcmp(out, cases[i].mutf7) != 0) {
            print_error("encode '%s': '%s', expected '%s'\n", u, out, cases[i].mutf7);
            fail();
        }
    }
}

static void test_encode_refuses(void **state)
{
    char out[64];
    size_t olen;
    (void)state;
    assert_int_equal(imap_utf8_to_mutf7(YB_SLICE_LIT("a\xff"), out, sizeof(out), &olen), YB_EILSEQ);
    assert_int_equal(imap_utf8_to_mutf7(YB_SLICE_LIT("\xc3"), out, sizeof(out), &olen), YB_EILSEQ);
    assert_int_equal(imap_utf8_to_mutf7(YB_SLICE_LIT("\xed\xa0\x80"), out, sizeof(out), &olen),
                     YB_EILSEQ); /* a surrogate in UTF-8 */
    assert_int_equal(imap_utf8_to_mutf7(YB_SLICE_LIT("a\0b"), out, sizeof(out), &olen), YB_EILSEQ);
    /* Output buffer too small: YB_ERANGE, not a truncated name. */
    assert_int_equal(imap_utf8_to_mutf7(YB_SLICE_LIT("\xc3\xbc"), out, 3, &olen), YB_ERANGE);
    assert_int_equal(imap_utf8_to_mutf7(YB_SLICE_LIT("\xc3\xbc"), out, 5, &olen), 0);
    assert_int_equal((int)olen, 5); /* "&APw-" */
}

/* Exactly YB_IMAP_LIMIT_MAILBOX bytes in and out pass; one more is YB_ELIMIT. */
static void test_limits(void **state)
{
    char in[YB_IMAP_LIMIT_MAILBOX + 2], out[1024];
    size_t olen;
    (void)state;

    memset(in, 'a', sizeof(in));
    assert_int_equal(
        imap_mutf7_to_utf8(yb_slice_make(in, YB_IMAP_LIMIT_MAILBOX), out, sizeof(out), &olen), 0);
    assert_int_equal((int)olen, YB_IMAP_LIMIT_MAILBOX);
    assert_int_equal(
        imap_mutf7_to_utf8(yb_slice_make(in, YB_IMAP_LIMIT_MAILBOX + 1), out, sizeof(out), &olen),
        YB_ELIMIT);
    assert_int_equal(
        imap_utf8_to_mutf7(yb_slice_make(in, YB_IMAP_LIMIT_MAILBOX), out, sizeof(out), &olen), 0);
    assert_int_equal(
        imap_utf8_to_mutf7(yb_slice_make(in, YB_IMAP_LIMIT_MAILBOX + 1), out, sizeof(out), &olen),
        YB_ELIMIT);
    /* 127 x U+00FC is 254 bytes of UTF-8 but "&" + 339 + "-" bytes of mUTF-7. */
    {
        char u[254];
        for (size_t i = 0; i < sizeof(u); i += 2) {
            u[i] = (char)0xc3;
            u[i + 1] = (char)0xbc;
        }
        assert_int_equal(imap_utf8_to_mutf7(yb_slice_make(u, sizeof(u)), out, sizeof(out), &olen),
                         YB_ELIMIT);
    }
}

struct name_case {
    const char *name;
    size_t len; /* 0: strlen */
    enum imap_mailbox_error e;
};

static const struct name_case names[] = {
    { "INBOX", 0, IMAP_MBOX_OK },
    { "Sent", 0, IMAP_MBOX_OK },
    { "Archive/2025", 0, IMAP_MBOX_OK },
    { "Entw\xc3\xbc"
      "rfe",
      0, IMAP_MBOX_OK },
    { "a b/c-d_e (f) [g] & h", 0, IMAP_MBOX_OK },
    { "\xe6\x97\xa5\xe6\x9c\xac", 0, IMAP_MBOX_OK },
    { "", 0, IMAP_MBOX_EMPTY },
    { "a//b", 0, IMAP_MBOX_EMPTY },
    { "a/", 0, IMAP_MBOX_EMPTY },
    { "/a", 0, IMAP_MBOX_LEADING },
    { "~a", 0, IMAP_MBOX_LEADING },
    { "..", 0, IMAP_MBOX_DOTS },
    { "a/../b", 0, IMAP_MBOX_DOTS },
    { "Archive.2025", 0, IMAP_MBOX_DOT },
    { ".hidden", 0, IMAP_MBOX_DOT },
    { "a\tb", 0, IMAP_MBOX_CONTROL },
    { "a\x7f", 0, IMAP_MBOX_CONTROL },
    { "a\xc2\x85", 0, IMAP_MBOX_CONTROL }, /* U+0085 NEL, a C1 control */
    { "a\0b", 3, IMAP_MBOX_CONTROL },
    { "a\xff", 0, IMAP_MBOX_BAD_UTF8 },
    { "a\xc3", 0, IMAP_MBOX_BAD_UTF8 },
    { "a*", 0, IMAP_MBOX_RESERVED },
    { "a%", 0, IMAP_MBOX_RESERVED },
    { "a\\b", 0, IMAP_MBOX_RESERVED },
    { "c:d", 0, IMAP_MBOX_RESERVED },
    { "a|b", 0, IMAP_MBOX_RESERVED },
};

static void test_names(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(names); i++) {
        size_t len = names[i].len ? names[i].len : strlen(names[i].name);
        enum imap_mailbox_error e = imap_mailbox_check(yb_slice_make(names[i].name, len));
        if (e != names[i].e) {
            print_error("name case %u: %d (%s), expected %d\n", (unsigned)i, (int)e,
                        imap_mailbox_error_text(e), (int)names[i].e);
            fail();
        }
        assert_non_null(imap_mailbox_error_text(e));
    }
}

static void test_name_limits(void **state)
{
    char n[YB_IMAP_LIMIT_MAILBOX + 1];
    char deep[2 * YB_IMAP_LIMIT_MAILBOX_LEVELS + 2];
    size_t k = 0;
    (void)state;

    memset(n, 'x', sizeof(n));
    assert_int_equal(imap_mailbox_check(yb_slice_make(n, YB_IMAP_LIMIT_MAILBOX)), IMAP_MBOX_OK);
    assert_int_equal(imap_mailbox_check(yb_slice_make(n, YB_IMAP_LIMIT_MAILBOX + 1)),
                     IMAP_MBOX_TOO_LONG);
    for (int i = 0; i < YB_IMAP_LIMIT_MAILBOX_LEVELS; i++) {
        if (i)
            deep[k++] = '/';
        deep[k++] = 'a';
    }
    assert_int_equal(imap_mailbox_check(yb_slice_make(deep, k)), IMAP_MBOX_OK);
    deep[k++] = '/';
    deep[k++] = 'a';
    assert_int_equal(imap_mailbox_check(yb_slice_make(deep, k)), IMAP_MBOX_TOO_LONG);
}

static void test_from_wire(void **state)
{
    static const struct {
        const char *wire;
        size_t len;
        bool utf8;
        enum imap_mailbox_error e;
        const char *name;
    } w[] = {
        { "inbox", 5, false, IMAP_MBOX_OK, "INBOX" },
        { "InBoX", 5, true, IMAP_MBOX_OK, "INBOX" },
        { "INBOX/Sub", 9, false, IMAP_MBOX_OK, "INBOX/Sub" },
        { "Entw&APw-rfe", 12, false, IMAP_MBOX_OK, "Entw\xc3\xbcrfe" },
        { "Entw\xc3\xbcrfe", 9, true, IMAP_MBOX_OK, "Entw\xc3\xbcrfe" },
        /* under UTF8=ACCEPT "&" is just a character */
        { "A&B", 3, true, IMAP_MBOX_OK, "A&B" },
        { "Entw\xc3\xbcrfe", 9, false, IMAP_MBOX_BAD_MUTF7, NULL },
        { "&AGE-", 5, false, IMAP_MBOX_BAD_MUTF7, NULL },
        { "a\0b", 3, false, IMAP_MBOX_BAD_MUTF7, NULL }, /* NUL on the wire */
        { "a\0b", 3, true, IMAP_MBOX_CONTROL, NULL },
        { "\xff", 1, true, IMAP_MBOX_BAD_UTF8, NULL },
        { "&AAk-", 5, false, IMAP_MBOX_CONTROL, NULL }, /* an encoded TAB */
        { "a.b", 3, false, IMAP_MBOX_DOT, NULL },
        { "", 0, false, IMAP_MBOX_EMPTY, NULL },
    };
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(w); i++) {
        char out[YB_IMAP_LIMIT_MAILBOX + 1];
        size_t len = 7;
        enum imap_mailbox_error e = imap_mailbox_from_wire(yb_slice_make(w[i].wire, w[i].len),
                                                           w[i].utf8, out, sizeof(out), &len);
        if (e != w[i].e || (e == IMAP_MBOX_OK && strcmp(out, w[i].name) != 0)) {
            print_error("wire case %u: %d (%s)\n", (unsigned)i, (int)e, imap_mailbox_error_text(e));
            fail();
        }
        if (e != IMAP_MBOX_OK)
            assert_int_equal((int)len, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),         cmocka_unit_test(test_encode),
        cmocka_unit_test(test_encode_refuses), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_names),          cmocka_unit_test(test_name_limits),
        cmocka_unit_test(test_from_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
