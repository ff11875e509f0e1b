/*
 * test_mime_subject.c - RFC 5256 base subjects: each step of section 2.1,
 * the reply/forward indication, encoded words, and the degenerate inputs
 * (empty, only a prefix, NUL, invalid UTF-8).
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
#include "mime_subject.h"

struct scase {
    const char *in;
    size_t len; /* 0: strlen */
    const char *base;
    bool reply;
};

static const struct scase cases[] = {
    { "hello", 0, "hello", false },
    { "Re: hello", 0, "hello", true },
    { "RE: Re: re: hello", 0, "hello", true },
    { "Re:hello", 0, "hello", true },
    { "Re : hello", 0, "hello", true }, /* *WSP before the colon */
    { "Fwd: hello", 0, "hello", true },
    { "FW: hello", 0, "hello", true },
    { "Re[2]: hello", 0, "hello", true },      /* a blob inside subj-refwd */
    { "[PATCH] Re: hello", 0, "hello", true }, /* blobs before subj-refwd */
    { "[list] hello", 0, "hello", false },     /* step 4 */
    { "[list] [tag] hello", 0, "hello", false },
    { "[list]", 0, "[list]", false }, /* step 4 never empties the subject */
    { "[list] ", 0, "[list]", false },
    { "hello (fwd)", 0, "hello", true }, /* step 2 */
    { "hello (FWD) (fwd)  ", 0, "hello", true },
    { "[fwd: hello]", 0, "hello", true }, /* step 6 */
    { "Re: [fwd: Re: hello (fwd)]", 0, "hello", true },
    { "[Fwd: [list] Re: x]", 0, "x", true },
    { "  hello \t  world  ", 0, "hello world", false },
    { "hello\r\n world", 0, "hello world", false },
    { "Ref: x", 0, "Ref: x", false }, /* "re" must be followed by ':' */
    { "Reply", 0, "Reply", false },
    { "Re:", 0, "", true },
    { "", 0, "", false },
    { "   ", 0, "", false },
    { "=?UTF-8?Q?Re=3A_caf=C3=A9?=", 0, "caf\xc3\xa9", true },
    { "Re: =?ISO-8859-1?Q?caf=E9?= (fwd)", 0, "caf\xc3\xa9", true },
    { "a\0b", 3, "a\0b", false },            /* NUL is kept as a byte */
    { "Re: \xff", 0, "\xef\xbf\xbd", true }, /* invalid UTF-8 becomes U+FFFD */
    { "[unclosed hello", 0, "[unclosed hello", false },
    { "[a[b]] x", 0, "[a[b]] x", false }, /* '[' is not a BLOBCHAR */
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cases); i++) {
        const struct scase *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        size_t blen = c->len ? c->len : strlen(c->base);
        char *d = malloc(len + 1);
        struct yb_buf out;
        bool reply = !c->reply;

        assert_non_null(d);
        memcpy(d, c->in, len);
        yb_buf_init(&out, 4096);
        assert_int_equal(mime_base_subject(yb_slice_make(d, len), &out, &reply), 0);
        if (out.len != blen || (blen && memcmp(out.p, c->base, blen) != 0) || reply != c->reply) {
            print_error("'%s': '%s' reply %d, expected '%s' reply %d\n", c->in, yb_buf_cstr(&out),
                        (int)reply, c->base, (int)c->reply);
            fail();
        }
        yb_buf_free(&out);
        free(d);
    }
}

static void test_limit(void **state)
{
    struct yb_buf out;
    (void)state;
    yb_buf_init(&out, 5);
    assert_int_equal(mime_base_subject(YB_SLICE_LIT("Re: hello"), &out, NULL), 0);
    assert_string_equal(yb_buf_cstr(&out), "hello");
    yb_buf_reset(&out);
    assert_int_equal(mime_base_subject(YB_SLICE_LIT("Re: hello!"), &out, NULL), YB_ELIMIT);
    assert_int_equal((int)out.len, 0);
    yb_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
