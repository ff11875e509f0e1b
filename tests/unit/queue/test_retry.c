/*
 * test_retry.c - the retry schedule: parsing (limits, refusals) and the
 * times it gives, the give-up at the maximum age, the delay warning.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pal_err.h"
#include "queue_retry.h"

static void test_parse(void **state)
{
    (void)state;
    struct yb_retry r;
    assert_int_equal(yb_retry_parse("5m,10m, 1h ,2d", &r), 0);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.step[0], 300);
    assert_int_equal(r.step[1], 600);
    assert_int_equal(r.step[2], 3600);
    assert_int_equal(r.step[3], 2 * 86400);
    assert_int_equal(yb_retry_parse("90", &r), 0);
    assert_int_equal(r.step[0], 90);
    assert_int_equal(yb_retry_parse("2S,3M,4H,1D", &r), 0);
    assert_int_equal(r.step[3], 86400);
    /* The longest wait, and one second more. */
    assert_int_equal(yb_retry_parse("30d", &r), 0);
    assert_int_equal(yb_retry_parse("2592001", &r), YB_EINVAL);
    assert_int_equal(yb_retry_parse("31d", &r), YB_EINVAL);
    assert_int_equal(yb_retry_parse("99999999999999999999", &r), YB_EINVAL);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    struct yb_retry r;
    const char *bad[] = { "",       " ", "0",   "0s",  "5x",    "5m,",      ",5m",
                          "5m,,6m", "m", "-5m", "5 m", "5m;6m", "\xc3\xa9", "5m\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (yb_retry_parse(bad[i], &r) != YB_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
    }
    assert_int_equal(yb_retry_parse(NULL, &r), YB_EINVAL);
}

static void test_step_limit(void **state)
{
    (void)state;
    struct yb_retry r;
    char text[512] = "";
    size_t off = 0;
    for (unsigned i = 0; i < YB_RETRY_MAX_STEPS; i++)
        off += (size_t)snprintf(text + off, sizeof text - off, "%s%us", i ? "," : "", i + 1);
    assert_int_equal(yb_retry_parse(text, &r), 0);
    assert_int_equal(r.n, YB_RETRY_MAX_STEPS);
    snprintf(text + off, sizeof text - off, ",99s");
    assert_int_equal(yb_retry_parse(text, &r), YB_ELIMIT);
}

static void test_next_times(void **state)
{
    (void)state;
    struct yb_retry r;
    int64_t next = 0;
    const int64_t arrival = 1000000, max_age = 5 * 86400;
    assert_int_equal(yb_retry_parse("5m,10m,1h", &r), 0);
    /* After attempt k the k-th wait; the last one repeats. */
    assert_true(yb_retry_next(&r, arrival, 1, arrival, max_age, &next));
    assert_int_equal(next, arrival + 300);
    assert_true(yb_retry_next(&r, arrival, 2, arrival + 300, max_age, &next));
    assert_int_equal(next, arrival + 900);
    assert_true(yb_retry_next(&r, arrival, 3, arrival + 900, max_age, &next));
    assert_int_equal(next, arrival + 4500);
    assert_true(yb_retry_next(&r, arrival, 50, arrival + 86400, max_age, &next));
    assert_int_equal(next, arrival + 86400 + 3600);
    /* The last attempt is at the maximum age, never after it. */
    assert_true(yb_retry_next(&r, arrival, 9, arrival + max_age - 60, max_age, &next));
    assert_int_equal(next, arrival + max_age);
    /* At or past the maximum age: give up. */
    assert_false(yb_retry_next(&r, arrival, 9, arrival + max_age, max_age, &next));
    assert_false(yb_retry_next(&r, arrival, 9, arrival + max_age + 1, max_age, &next));
    /* attempts 0 (nothing tried yet) uses the first wait. */
    assert_true(yb_retry_next(&r, arrival, 0, arrival, max_age, &next));
    assert_int_equal(next, arrival + 300);
}

static void test_default_schedule(void **state)
{
    (void)state;
    struct yb_retry r;
    yb_retry_default(&r);
    assert_int_equal(r.n, 7);
    assert_int_equal(r.step[0], 300);
    assert_int_equal(r.step[6], 4 * 3600);
    /* Growing intervals. */
    for (unsigned i = 1; i < r.n; i++)
        assert_true(r.step[i] > r.step[i - 1]);
}

static void test_warning(void **state)
{
    (void)state;
    const int64_t a = 5000, four_h = 4 * 3600;
    assert_false(yb_retry_warn_due(a, a + four_h - 1, four_h, false));
    assert_true(yb_retry_warn_due(a, a + four_h, four_h, false));
    assert_false(yb_retry_warn_due(a, a + four_h, four_h, true));
    assert_false(yb_retry_warn_due(a, a + 10 * four_h, 0, false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_step_limit),
        cmocka_unit_test(test_next_times),
        cmocka_unit_test(test_default_schedule),
        cmocka_unit_test(test_warning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
