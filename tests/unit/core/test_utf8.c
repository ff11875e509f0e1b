/*
 * test_utf8.c - RFC 3629 validation at every boundary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "pal.h"
#include "yb_utf8.h"

struct utf8_case {
    const char *s;
    size_t len;
    bool valid;
    size_t bad; /* offset of the first bad byte when invalid */
};

static const struct utf8_case cases[] = {
    { "", 0, true, 0 },
    { "ascii", 5, true, 0 },
    { "\0", 1, true, 0 }, /* NUL is valid UTF-8; callers refuse it where they must */
    { "\x7f", 1, true, 0 },
    { "\xc2\x80", 2, true, 0 },         /* U+0080, smallest 2-byte */
    { "\xdf\xbf", 2, true, 0 },         /* U+07FF */
    { "\xe0\xa0\x80", 3, true, 0 },     /* U+0800 */
    { "\xed\x9f\xbf", 3, true, 0 },     /* U+D7FF, last before surrogates */
    { "\xee\x80\x80", 3, true, 0 },     /* U+E000, first after */
    { "\xef\xbf\xbf", 3, true, 0 },     /* U+FFFF */
    { "\xf0\x90\x80\x80", 4, true, 0 }, /* U+10000 */
    { "\xf4\x8f\xbf\xbf", 4, true, 0 }, /* U+10FFFF, the last */
    { "\x80", 1, false, 0 },
    { "a\xbf", 2, false, 1 },
    { "\xc0\x80", 2, false, 0 }, /* overlong NUL */
    { "\xc1\xbf", 2, false, 0 },
    { "\xe0\x9f\xbf", 3, false, 0 },     /* overlong */
    { "\xed\xa0\x80", 3, false, 0 },     /* U+D800 */
    { "\xed\xbf\xbf", 3, false, 0 },     /* U+DFFF */
    { "\xf0\x8f\xbf\xbf", 4, false, 0 }, /* overlong */
    { "\xf4\x90\x80\x80", 4, false, 0 }, /* U+110000 */
    { "\xf5\x80\x80\x80", 4, false, 0 },
    { "\xff", 1, false, 0 },
    { "ok\xe2\x82", 4, false, 2 },       /* cut off */
    { "\xe2\x82\xac\xe2", 4, false, 3 }, /* euro then a cut-off start */
    { "\xc3\x28", 2, false, 0 },
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cases); i++) {
        size_t bad = 99;
        bool v = yb_utf8_valid(cases[i].s, cases[i].len, &bad);
        if (v != cases[i].valid || (!v && bad != cases[i].bad)) {
            print_error("case %u: valid=%d bad=%u\n", (unsigned)i, v, (unsigned)bad);
            fail();
        }
    }
}

static void test_seq_len(void **state)
{
    (void)state;
    const unsigned char euro[] = { 0xe2, 0x82, 0xac };
    assert_int_equal(yb_utf8_seq_len(euro, 3), 3);
    assert_int_equal(yb_utf8_seq_len(euro, 2), 0);
    assert_int_equal(yb_utf8_seq_len(euro, 0), 0);
    assert_int_equal(yb_utf8_seq_len((const unsigned char *)"a", 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_seq_len),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
