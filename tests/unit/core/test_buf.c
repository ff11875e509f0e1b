/*
 * test_buf.c - bounded buffers and slices.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pal.h"
#include "yb_buf.h"

static void test_limit_exact_and_one_more(void **state)
{
    (void)state;
    struct yb_buf b;
    yb_buf_init(&b, 10);
    assert_string_equal(yb_buf_cstr(&b), "");
    assert_int_equal(yb_buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(yb_buf_append_byte(&b, 'x'), YB_ELIMIT);
    assert_int_equal(b.len, 10);
    assert_string_equal(yb_buf_cstr(&b), "0123456789");
    yb_buf_reset(&b);
    assert_int_equal(yb_buf_append(&b, "01234567890", 11), YB_ELIMIT);
    assert_int_equal(b.len, 0);
    yb_buf_free(&b);
}

static void test_printf_over_limit_leaves_content(void **state)
{
    (void)state;
    struct yb_buf b;
    yb_buf_init(&b, 8);
    assert_int_equal(yb_buf_printf(&b, "%s", "abc"), 0);
    assert_int_equal(yb_buf_printf(&b, "%d", 123456), YB_ELIMIT);
    assert_string_equal(yb_buf_cstr(&b), "abc");
    assert_int_equal(yb_buf_printf(&b, "%05d", 42), 0);
    assert_string_equal(yb_buf_cstr(&b), "abc00042");
    yb_buf_free(&b);
}

static void test_nul_bytes_are_data(void **state)
{
    (void)state;
    struct yb_buf b;
    yb_buf_init(&b, 64);
    assert_int_equal(yb_buf_append(&b, "a\0b", 3), 0);
    assert_int_equal(b.len, 3);
    assert_true(yb_slice_has_nul(yb_buf_slice(&b)));
    assert_true(yb_slice_eq(yb_buf_slice(&b), yb_slice_make("a\0b", 3)));
    assert_false(yb_slice_eq(yb_buf_slice(&b), yb_slice_make("a\0c", 3)));
    yb_buf_free(&b);
}

static void test_consume_truncate_steal(void **state)
{
    (void)state;
    struct yb_buf b;
    yb_buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(yb_buf_append_cstr(&b, "line\r\n"), 0);
    assert_int_equal(b.len, 6000);
    yb_buf_consume(&b, 5994);
    assert_string_equal(yb_buf_cstr(&b), "line\r\n");
    yb_buf_truncate(&b, 4);
    assert_string_equal(yb_buf_cstr(&b), "line");
    size_t len;
    unsigned char *p = yb_buf_steal(&b, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(p, "line", 5);
    free(p);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    yb_buf_consume(&b, 0);
    yb_buf_free(&b);
}

static void test_slice_nocase(void **state)
{
    (void)state;
    assert_true(yb_slice_eq_cstr_nocase(YB_SLICE_LIT("EHLO"), "ehlo"));
    assert_true(yb_slice_eq_cstr_nocase(YB_SLICE_LIT(""), ""));
    assert_false(yb_slice_eq_cstr_nocase(YB_SLICE_LIT("EHLO"), "ehl"));
    /* Only ASCII folds: 0xC0 is not 0xE0. */
    assert_false(yb_slice_eq_nocase(yb_slice_make("\xC0", 1), yb_slice_make("\xE0", 1)));
    assert_false(yb_slice_eq_cstr_nocase(YB_SLICE_LIT("["), "{"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_exact_and_one_more),
        cmocka_unit_test(test_printf_over_limit_leaves_content),
        cmocka_unit_test(test_nul_bytes_are_data),
        cmocka_unit_test(test_consume_truncate_steal),
        cmocka_unit_test(test_slice_nocase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
