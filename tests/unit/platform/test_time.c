/*
 * test_time.c - clocks, RFC 5322 dates and the civil-time conversions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pal_err.h"
#include "pal_thread.h"
#include "pal_time.h"

/* ---- an independent reference for the proleptic Gregorian calendar ---- */

/* Days from 1970-01-01 to y-m-d (H. Hinnant's days_from_civil). */
static int64_t ref_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* ---- clocks ---- */

static void test_mono_non_decreasing(void **state)
{
    (void)state;
    uint64_t prev_ms = pal_time_mono_ms(), prev_ns = pal_time_mono_ns();
    for (int i = 0; i < 100000; i++) {
        uint64_t ms = pal_time_mono_ms(), ns = pal_time_mono_ns();
        assert_true(ms >= prev_ms);
        assert_true(ns >= prev_ns);
        prev_ms = ms;
        prev_ns = ns;
    }
}

/* The two monotonic views are the same clock. */
static void test_mono_ms_ns_agree(void **state)
{
    (void)state;
    uint64_t ms0 = pal_time_mono_ms();
    uint64_t ns = pal_time_mono_ns();
    uint64_t ms1 = pal_time_mono_ms();
    assert_true(ns / 1000000u + 1 >= ms0);
    assert_true(ns / 1000000u <= ms1 + 1);
}

static void test_sleep_advances_mono(void **state)
{
    (void)state;
    uint64_t t0 = pal_time_mono_ms(), n0 = pal_time_mono_ns();
    pal_sleep_ms(50);
    uint64_t t1 = pal_time_mono_ms(), n1 = pal_time_mono_ns();
    assert_true(t1 - t0 >= 45);
    assert_true(n1 - n0 >= 45u * 1000000u);
    assert_true(t1 - t0 < 5000); /* not a timing test, but not absurd either */
}

static void test_wall_clock_plausible(void **state)
{
    (void)state;
    const int64_t y2024 = 1704067200; /* 2024-01-01T00:00:00Z */
    const int64_t y2200 = 7258118400; /* 2200-01-01T00:00:00Z */
    int64_t s = pal_time_now();
    int64_t ms = pal_time_now_ms();
    int64_t ns = pal_time_now_ns();
    int64_t s2 = pal_time_now();
    assert_true(s > y2024 && s < y2200);
    /* The three views agree to within a couple of seconds. */
    assert_true(ms / 1000 >= s - 1 && ms / 1000 <= s2 + 1);
    assert_true(ns / 1000000000 >= s - 1 && ns / 1000000000 <= s2 + 1);
    /* Sub-second resolution is present in ns (not just s * 1e9): sample a few. */
    bool subsec = false;
    for (int i = 0; i < 20 && !subsec; i++) {
        if (pal_time_now_ns() % 1000000000 != 0)
            subsec = true;
        else
            pal_sleep_ms(1);
    }
    assert_true(subsec);
}

static void test_local_offset_range(void **state)
{
    (void)state;
    const int64_t instants[] = { 0, 951827696, 1795442908, pal_time_now(), 1720000000 };
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        int off = pal_time_local_offset_min(instants[i]);
        assert_true(off >= -14 * 60 && off <= 14 * 60);
    }
}

/* ---- RFC 5322 ---- */

static const struct {
    int64_t t;
    int off;
    const char *want;
} k_dates[] = {
    { 0, 0, "Thu, 01 Jan 1970 00:00:00 +0000" },
    { 951827696, 0, "Tue, 29 Feb 2000 12:34:56 +0000" },
    { 1795439308, 60, "Mon, 23 Nov 2026 14:08:28 +0100" },
    { 1795462708, -330, "Mon, 23 Nov 2026 14:08:28 -0530" },
    { 0, -330, "Wed, 31 Dec 1969 18:30:00 -0530" },
    { -1, 0, "Wed, 31 Dec 1969 23:59:59 +0000" },
    { 4107542399, 0, "Sun, 28 Feb 2100 23:59:59 +0000" }, /* 2100 is not leap: */
    { 4107542400, 0, "Mon, 01 Mar 2100 00:00:00 +0000" },
    { 13574563200, 0, "Tue, 29 Feb 2400 00:00:00 +0000" }, /* 2400 is */
    { -2208988800, 0, "Mon, 01 Jan 1900 00:00:00 +0000" },
    { 4107542399, 60, "Mon, 01 Mar 2100 00:59:59 +0100" },
    { 1795439308, 5999, "Fri, 27 Nov 2026 17:07:28 +9959" },
    { 1795439308, -5999, "Thu, 19 Nov 2026 09:09:28 -9959" },
    { 1795439308, 345, "Mon, 23 Nov 2026 18:53:28 +0545" },
};

static void test_rfc5322_known_instants(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_dates / sizeof k_dates[0]; i++) {
        char buf[PAL_RFC5322_DATE_MAX];
        memset(buf, 'x', sizeof buf);
        int rc = pal_time_rfc5322(k_dates[i].t, k_dates[i].off, buf, sizeof buf);
        if (rc != 0)
            fail_msg("case %u: rc %s", (unsigned)i, yb_errname(rc));
        if (strcmp(buf, k_dates[i].want) != 0)
            fail_msg("case %u: got \"%s\" want \"%s\"", (unsigned)i, buf, k_dates[i].want);
    }
}

static void test_rfc5322_buffer_size(void **state)
{
    (void)state;
    const char *want = "Thu, 01 Jan 1970 00:00:00 +0000";
    size_t need = strlen(want) + 1;
    char buf[PAL_RFC5322_DATE_MAX];

    assert_int_equal(pal_time_rfc5322(0, 0, buf, need), 0);
    assert_string_equal(buf, want);
    assert_int_equal(pal_time_rfc5322(0, 0, buf, need - 1), YB_ERANGE);
    assert_int_equal(pal_time_rfc5322(0, 0, buf, 1), YB_ERANGE);
    assert_int_equal(pal_time_rfc5322(0, 0, buf, 0), YB_ERANGE);
}

static void test_rfc5322_bad_offset(void **state)
{
    (void)state;
    static const int bad[] = { 6000, -6000, 100000, -100000 };
    char buf[PAL_RFC5322_DATE_MAX];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pal_time_rfc5322(0, bad[i], buf, sizeof buf), YB_EINVAL);
}

/* Any instant in the supported span fits PAL_RFC5322_DATE_MAX and parses back. */
static void test_rfc5322_sweep_shape(void **state)
{
    (void)state;
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    for (int64_t t = -2208988800; t < 13574563200; t += 86400 * 97 + 3607) {
        char buf[PAL_RFC5322_DATE_MAX];
        assert_int_equal(pal_time_rfc5322(t, 0, buf, sizeof buf), 0);
        int64_t days_since = floor_div(t, 86400);
        int64_t sod = t - days_since * 86400;
        struct pal_civil c;
        pal_time_to_civil(t, &c);
        char want[64];
        int n =
            snprintf(want, sizeof want, "%s, %02d %s %lld %02d:%02d:%02d +0000",
                     days[(int)(((days_since % 7) + 11) % 7)], c.day, months[c.month - 1],
                     (long long)c.year, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
        assert_true(n > 0 && (size_t)n < sizeof want);
        assert_string_equal(buf, want);
    }
}

/* ---- civil time ---- */

static void test_civil_known(void **state)
{
    (void)state;
    struct pal_civil c;
    pal_time_to_civil(0, &c);
    assert_true(c.year == 1970);
    assert_int_equal(c.month, 1);
    assert_int_equal(c.day, 1);
    assert_int_equal(c.wday, 4);
    pal_time_to_civil(4107542400, &c); /* the day after 2100-02-28 */
    assert_true(c.year == 2100);
    assert_int_equal(c.month, 3);
    assert_int_equal(c.day, 1);
    assert_int_equal(c.wday, 1);
    pal_time_to_civil(-1, &c);
    assert_true(c.year == 1969);
    assert_int_equal(c.month, 12);
    assert_int_equal(c.day, 31);
    assert_int_equal(c.hour, 23);
    assert_int_equal(c.min, 59);
    assert_int_equal(c.sec, 59);
    assert_int_equal(c.wday, 3);
}

static void check_civil(int64_t t)
{
    struct pal_civil c;
    memset(&c, 0x55, sizeof c);
    pal_time_to_civil(t, &c);
    assert_in_range(c.month, 1, 12);
    assert_true(c.day >= 1 && c.day <= days_in_month(c.year, c.month));
    assert_in_range(c.hour, 0, 23);
    assert_in_range(c.min, 0, 59);
    assert_in_range(c.sec, 0, 59);
    assert_in_range(c.wday, 0, 6);
    int64_t days = floor_div(t, 86400);
    if (ref_days_from_civil(c.year, c.month, c.day) != days)
        fail_msg("t=%lld -> %lld-%02d-%02d disagrees with the reference", (long long)t,
                 (long long)c.year, c.month, c.day);
    assert_int_equal(c.wday, (int)(((days % 7) + 11) % 7));
    assert_true((int64_t)c.hour * 3600 + c.min * 60 + c.sec == t - days * 86400);

    int64_t back = pal_time_from_civil(&c);
    if (back != t)
        fail_msg("round trip of %lld gave %lld", (long long)t, (long long)back);
}

static void test_civil_round_trip_sweep(void **state)
{
    (void)state;
    const int64_t lo = ref_days_from_civil(1900, 1, 1) * 86400;
    const int64_t hi = ref_days_from_civil(2400, 12, 31) * 86400 + 86399;
    int n = 0;
    for (int64_t t = lo; t <= hi; t += 86400 * 13 + 3671 + 7) {
        check_civil(t);
        n++;
    }
    assert_true(n > 10000);
    /* Boundaries around every year start and the leap days in the span. */
    for (int64_t y = 1900; y <= 2400; y++) {
        int64_t start = ref_days_from_civil(y, 1, 1) * 86400;
        check_civil(start);
        check_civil(start - 1);
        check_civil(ref_days_from_civil(y, 3, 1) * 86400 - 1); /* last second of Feb */
    }
    check_civil(lo);
    check_civil(hi);
}

static void test_from_civil_leap_rules(void **state)
{
    (void)state;
    struct pal_civil c = { .year = 2100, .month = 3, .day = 1 };
    int64_t mar1 = pal_time_from_civil(&c);
    c.month = 2;
    c.day = 28;
    int64_t feb28 = pal_time_from_civil(&c);
    assert_true(mar1 - feb28 == 86400); /* 2100: no Feb 29 */
    c.year = 2000;
    int64_t feb28_2000 = pal_time_from_civil(&c);
    c.month = 3;
    c.day = 1;
    assert_true(pal_time_from_civil(&c) - feb28_2000 == 2 * 86400); /* 2000: leap */
    struct pal_civil e = { .year = 1970, .month = 1, .day = 1, .wday = 6 };
    assert_true(pal_time_from_civil(&e) == 0); /* wday is ignored */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mono_non_decreasing),
        cmocka_unit_test(test_mono_ms_ns_agree),
        cmocka_unit_test(test_sleep_advances_mono),
        cmocka_unit_test(test_wall_clock_plausible),
        cmocka_unit_test(test_local_offset_range),
        cmocka_unit_test(test_rfc5322_known_instants),
        cmocka_unit_test(test_rfc5322_buffer_size),
        cmocka_unit_test(test_rfc5322_bad_offset),
        cmocka_unit_test(test_rfc5322_sweep_shape),
        cmocka_unit_test(test_civil_known),
        cmocka_unit_test(test_civil_round_trip_sweep),
        cmocka_unit_test(test_from_civil_leap_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
