/*
 * test_random.c - the CSPRNG wrapper and its unbiased bounded draw.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pal_err.h"
#include "pal_random.h"

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

static void test_bytes_not_all_zero(void **state)
{
    (void)state;
    unsigned char buf[4096];
    memset(buf, 0, sizeof buf);
    assert_int_equal(pal_random_bytes(buf, sizeof buf), 0);
    assert_false(all_zero(buf, sizeof buf));
    /* Every byte value is plausible; check a rough spread over 4 KiB. */
    unsigned counts[256] = { 0 };
    for (size_t i = 0; i < sizeof buf; i++)
        counts[buf[i]]++;
    unsigned distinct = 0;
    for (size_t i = 0; i < 256; i++)
        distinct += counts[i] != 0;
    assert_true(distinct > 200); /* expected ~255.9 */
}

/* "Never partial": a big request is filled to its last byte. */
static void test_bytes_large_filled_to_end(void **state)
{
    (void)state;
    const size_t len = 1u << 20;
    unsigned char *buf = calloc(1, len);
    assert_non_null(buf);
    assert_int_equal(pal_random_bytes(buf, len), 0);
    for (size_t off = 0; off < len; off += 256)
        if (all_zero(buf + off, 256))
            fail_msg("256 zero bytes at offset %u: buffer not filled", (unsigned)off);
    free(buf);
}

static void test_two_draws_differ(void **state)
{
    (void)state;
    unsigned char a[32], b[32];
    assert_int_equal(pal_random_bytes(a, sizeof a), 0);
    assert_int_equal(pal_random_bytes(b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
}

static void test_len_zero(void **state)
{
    (void)state;
    unsigned char guard = 0xA5;
    assert_int_equal(pal_random_bytes(&guard, 0), 0);
    assert_int_equal(guard, 0xA5);
}

/* Odd sizes and unaligned starts; the bytes around the target stay untouched. */
static void test_odd_sizes_stay_in_bounds(void **state)
{
    (void)state;
    static const size_t sizes[] = { 1, 3, 7, 255, 256, 257, 1023 };
    unsigned char buf[1100];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memset(buf, 0xEE, sizeof buf);
        assert_int_equal(pal_random_bytes(buf + 1, sizes[i]), 0);
        assert_int_equal(buf[0], 0xEE);
        for (size_t j = sizes[i] + 1; j < sizeof buf; j++)
            assert_int_equal(buf[j], 0xEE);
    }
}

static void test_uniform_bound_one(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++) {
        uint32_t v = 12345;
        assert_int_equal(pal_random_uniform(1, &v), 0);
        assert_int_equal(v, 0);
    }
}

static void test_uniform_bound_seven_covers(void **state)
{
    (void)state;
    const int draws = 10000;
    unsigned counts[7] = { 0 };
    for (int i = 0; i < draws; i++) {
        uint32_t v = UINT32_MAX;
        assert_int_equal(pal_random_uniform(7, &v), 0);
        assert_true(v < 7);
        counts[v]++;
    }
    /* Expected ~1428.6 each, sd ~35: these bounds are > 10 sd wide. */
    for (int i = 0; i < 7; i++)
        if (counts[i] < 1000 || counts[i] > 1900)
            fail_msg("value %d drawn %u times out of %d", i, counts[i], draws);
}

static void test_uniform_stays_below_bound(void **state)
{
    (void)state;
    static const uint32_t bounds[] = { 2,           3,           10,         255,
                                       256,         257,         1000003,    0x80000000u,
                                       0x80000001u, 0xFFFFFFFEu, 0xFFFFFFFFu };
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        bool high_half = false;
        for (int i = 0; i < 2000; i++) {
            uint32_t v = UINT32_MAX;
            assert_int_equal(pal_random_uniform(bounds[b], &v), 0);
            if (v >= bounds[b])
                fail_msg("bound %u gave %u", bounds[b], v);
            high_half |= v >= bounds[b] / 2;
        }
        assert_true(high_half); /* the upper half is reachable */
    }
}

/* With bound 3 * 2^30, a plain "random32 % bound" draws [0, 2^30) twice as often
 * as the rest: half the results instead of a third. */
static void test_uniform_no_modulo_bias(void **state)
{
    (void)state;
    const uint32_t bound = 0xC0000000u; /* 3 * 2^30; v % bound doubles [0, 2^30) */
    int low = 0;
    const int draws = 6000;
    for (int i = 0; i < draws; i++) {
        uint32_t v;
        assert_int_equal(pal_random_uniform(bound, &v), 0);
        assert_true(v < bound);
        low += v < (1u << 30);
    }
    /* Unbiased: 1/3 (2000, sd ~37); plain modulo: 1/2 (3000). */
    assert_in_range(low, 1700, 2400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_not_all_zero),
        cmocka_unit_test(test_bytes_large_filled_to_end),
        cmocka_unit_test(test_two_draws_differ),
        cmocka_unit_test(test_len_zero),
        cmocka_unit_test(test_odd_sizes_stay_in_bounds),
        cmocka_unit_test(test_uniform_bound_one),
        cmocka_unit_test(test_uniform_bound_seven_covers),
        cmocka_unit_test(test_uniform_stays_below_bound),
        cmocka_unit_test(test_uniform_no_modulo_bias),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
