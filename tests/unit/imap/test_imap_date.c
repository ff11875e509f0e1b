/*
 * test_imap_date.c - RFC 3501 dates and date-times: real calendar days only,
 * zones both ways, the INTERNALDATE form written back exactly.
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
#include "imap_date.h"

struct dtcase {
    const char *in;
    int rc;
    int64_t t;
    int zone;
    const char *back; /* what imap_datetime_format gives for (t, zone) */
};

static const struct dtcase dt[] = {
    /* RFC 3501's example */
    { " 1-Feb-1994 21:52:25 -0800", 0, 760168345, -480, " 1-Feb-1994 21:52:25 -0800" },
    { "01-Feb-1994 21:52:25 -0800", 0, 760168345, -480, " 1-Feb-1994 21:52:25 -0800" },
    { "1-Feb-1994 21:52:25 -0800", 0, 760168345, -480, " 1-Feb-1994 21:52:25 -0800" },
    { "23-Nov-2026 14:08:28 +0100", 0, 1795439308, 60, "23-Nov-2026 14:08:28 +0100" },
    { "29-feb-2000 00:00:00 +0000", 0, 951782400, 0, "29-Feb-2000 00:00:00 +0000" },
    { "31-Dec-1969 23:59:59 +0000", 0, -1, 0, "31-Dec-1969 23:59:59 +0000" },
    { "01-Jan-1970 05:30:00 +0530", 0, 0, 330, " 1-Jan-1970 05:30:00 +0530" },
    { "30-Jun-2015 23:59:60 +0000", 0, 1435708799, 0, "30-Jun-2015 23:59:59 +0000" },
    { "29-Feb-1900 00:00:00 +0000", YB_EPARSE, 0, 0, NULL },
    { "31-Apr-2020 00:00:00 +0000", YB_EPARSE, 0, 0, NULL },
    { " 0-Jan-2020 00:00:00 +0000", YB_EPARSE, 0, 0, NULL },
    { "01-Foo-2020 00:00:00 +0000", YB_EPARSE, 0, 0, NULL },
    { "01-Jan-2020 24:00:00 +0000", YB_EPARSE, 0, 0, NULL },
    { "01-Jan-2020 00:60:00 +0000", YB_EPARSE, 0, 0, NULL },
    { "01-Jan-2020 00:00:61 +0000", YB_EPARSE, 0, 0, NULL },
    { "01-Jan-2020 00:00:00 +0060", YB_EPARSE, 0, 0, NULL },
    { "01-Jan-2020 00:00:00 0000", YB_EPARSE, 0, 0, NULL },
    { "01-Jan-2020 00:00:00", YB_EPARSE, 0, 0, NULL },
    { "01-Jan-2020  0:00:00 +0000", YB_EPARSE, 0, 0, NULL },
    { "01-Jan-20 00:00:00 +0000", YB_EPARSE, 0, 0, NULL },
    { "", YB_EPARSE, 0, 0, NULL },
    { "01-Jan-2020 00:00:00 +0000 ", YB_EPARSE, 0, 0, NULL },
    { "01-J\xc3\xa4n-2020 00:00:00 +0000", YB_EPARSE, 0, 0, NULL },
};

static void test_datetime(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(dt); i++) {
        size_t len = strlen(dt[i].in);
        char *d = malloc(len + 1);
        int64_t t = 0;
        int zone = 0, rc;
        char back[IMAP_DATETIME_MAX];

        assert_non_null(d);
        memcpy(d, dt[i].in, len);
        rc = imap_datetime_parse(yb_slice_make(d, len), &t, &zone);
        if (rc != dt[i].rc || (rc == 0 && (t != dt[i].t || zone != dt[i].zone))) {
            print_error("'%s': %s t=%lld zone=%d\n", dt[i].in, yb_errname(rc), (long long)t, zone);
            fail();
        }
        if (rc == 0) {
            assert_int_equal(imap_datetime_format(t, zone, back, sizeof(back)), 0);
            assert_string_equal(back, dt[i].back);
            assert_int_equal((int)strlen(back), IMAP_DATETIME_MAX - 1);
        }
        free(d);
    }
    /* NUL inside */
    {
        int64_t t;
        int zone;
        assert_int_equal(imap_datetime_parse(yb_slice_make("01-Jan-2020 00:00:00 +00\0"
                                                           "0",
                                                           26),
                                             &t, &zone),
                         YB_EPARSE);
    }
}

static void test_format_limits(void **state)
{
    char buf[IMAP_DATETIME_MAX];
    (void)state;
    assert_int_equal(imap_datetime_format(0, 0, buf, sizeof(buf)), 0);
    assert_int_equal(imap_datetime_format(0, 0, buf, sizeof(buf) - 1), YB_ERANGE);
    assert_int_equal(imap_datetime_format(0, 99 * 60 + 59, buf, sizeof(buf)), 0);
    assert_int_equal(imap_datetime_format(0, 100 * 60, buf, sizeof(buf)), YB_EINVAL);
    assert_int_equal(imap_datetime_format(INT64_C(253402300800), 0, buf, sizeof(buf)),
                     YB_EINVAL); /* year 10000 */
}

static void test_date(void **state)
{
    struct imap_date d;
    (void)state;
    assert_int_equal(imap_date_parse(YB_SLICE_LIT("1-Feb-1994"), &d), 0);
    assert_int_equal(d.year, 1994);
    assert_int_equal(d.month, 2);
    assert_int_equal(d.day, 1);
    assert_true(imap_date_to_time(&d) == 760060800);
    assert_int_equal(imap_date_parse(YB_SLICE_LIT("29-Feb-2024"), &d), 0);
    assert_int_equal(imap_date_parse(YB_SLICE_LIT("29-Feb-2023"), &d), YB_EPARSE);
    assert_int_equal(imap_date_parse(YB_SLICE_LIT(" 1-Feb-1994"), &d), YB_EPARSE);
    assert_int_equal(imap_date_parse(YB_SLICE_LIT("1-Feb-1994 "), &d), YB_EPARSE);
    assert_int_equal(imap_date_parse(YB_SLICE_LIT(""), &d), YB_EPARSE);
    assert_int_equal(imap_date_parse(yb_slice_make("1-Feb-199\0", 10), &d), YB_EPARSE);
    assert_int_equal(imap_date_parse(YB_SLICE_LIT("1-F\xc3\xa9-1994"), &d), YB_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datetime),
        cmocka_unit_test(test_format_limits),
        cmocka_unit_test(test_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
