/*
 * test_err.c - yb_strerror / yb_errname over the whole YB_E* space.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "pal_err.h"

static const struct {
    int code;
    const char *name;
} k_codes[] = {
    { YB_OK, "YB_OK" },
    { YB_ENOMEM, "YB_ENOMEM" },
    { YB_EINVAL, "YB_EINVAL" },
    { YB_ENOENT, "YB_ENOENT" },
    { YB_EEXIST, "YB_EEXIST" },
    { YB_EACCES, "YB_EACCES" },
    { YB_ENOSPC, "YB_ENOSPC" },
    { YB_EIO, "YB_EIO" },
    { YB_EAGAIN, "YB_EAGAIN" },
    { YB_EINTR, "YB_EINTR" },
    { YB_ECLOSED, "YB_ECLOSED" },
    { YB_ECONNREFUSED, "YB_ECONNREFUSED" },
    { YB_ECONNRESET, "YB_ECONNRESET" },
    { YB_EPIPE, "YB_EPIPE" },
    { YB_ETIMEDOUT, "YB_ETIMEDOUT" },
    { YB_EADDRINUSE, "YB_EADDRINUSE" },
    { YB_EADDRNOTAVAIL, "YB_EADDRNOTAVAIL" },
    { YB_EMFILE, "YB_EMFILE" },
    { YB_ENFILE, "YB_ENFILE" },
    { YB_ENOTDIR, "YB_ENOTDIR" },
    { YB_EISDIR, "YB_EISDIR" },
    { YB_ENOTEMPTY, "YB_ENOTEMPTY" },
    { YB_EXDEV, "YB_EXDEV" },
    { YB_ENAMETOOLONG, "YB_ENAMETOOLONG" },
    { YB_ELIMIT, "YB_ELIMIT" },
    { YB_EPARSE, "YB_EPARSE" },
    { YB_EUTF8, "YB_EUTF8" },
    { YB_EBUSY, "YB_EBUSY" },
    { YB_ENOTSUP, "YB_ENOTSUP" },
    { YB_EILSEQ, "YB_EILSEQ" },
    { YB_EINPROGRESS, "YB_EINPROGRESS" },
    { YB_ENOTCONN, "YB_ENOTCONN" },
    { YB_EAFNOSUPPORT, "YB_EAFNOSUPPORT" },
    { YB_ENETUNREACH, "YB_ENETUNREACH" },
    { YB_EHOSTUNREACH, "YB_EHOSTUNREACH" },
    { YB_ERANGE, "YB_ERANGE" },
    { YB_ENOTFOUND, "YB_ENOTFOUND" },
    { YB_EROFS, "YB_EROFS" },
    { YB_EPERM, "YB_EPERM" },
    { YB_EBADF, "YB_EBADF" },
    { YB_EUNKNOWN, "YB_EUNKNOWN" },
};
#define N_CODES (sizeof k_codes / sizeof k_codes[0])

/* The table above must cover every code between YB_OK and YB_E_LAST. */
static void test_table_is_complete(void **state)
{
    (void)state;
    assert_int_equal(N_CODES, (size_t)(-(int)YB_E_LAST));
    for (size_t i = 0; i < N_CODES; i++)
        assert_int_equal(k_codes[i].code, -(int)i);
}

static void test_errname_every_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        const char *name = yb_errname(k_codes[i].code);
        assert_non_null(name);
        assert_string_equal(name, k_codes[i].name);
    }
}

/* Every known code has its own non-empty description; all differ pairwise. */
static void test_strerror_every_code(void **state)
{
    (void)state;
    const char *unknown = yb_strerror(-1000);
    assert_non_null(unknown);
    for (size_t i = 0; i < N_CODES; i++) {
        const char *msg = yb_strerror(k_codes[i].code);
        assert_non_null(msg);
        assert_true(strlen(msg) > 0);
        if (k_codes[i].code != YB_EUNKNOWN && k_codes[i].code != YB_OK)
            assert_string_not_equal(msg, unknown);
        for (size_t j = 0; j < i; j++) {
            const char *other = yb_strerror(k_codes[j].code);
            if (strcmp(msg, other) == 0)
                fail_msg("%s and %s share the description \"%s\"", k_codes[i].name, k_codes[j].name,
                         msg);
        }
    }
}

static void test_specific_descriptions(void **state)
{
    (void)state;
    /* The header gives these two as examples of the contract. */
    assert_string_equal(yb_strerror(YB_ENOSPC), "no space left on device");
    assert_string_equal(yb_strerror(-1000), "unknown error");
}

static void test_unknown_codes_never_null(void **state)
{
    (void)state;
    static const int unknown[] = { YB_E_LAST, YB_E_LAST - 1, -1000,   1,       2,
                                   42,        12345,         INT_MIN, INT_MAX, INT_MIN + 1 };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *msg = yb_strerror(unknown[i]);
        const char *name = yb_errname(unknown[i]);
        assert_non_null(msg);
        assert_non_null(name);
        assert_string_equal(msg, "unknown error");
        assert_true(strlen(name) > 0);
        /* Must not be mistaken for a real code's name. */
        for (size_t j = 0; j < N_CODES; j++)
            assert_string_not_equal(name, k_codes[j].name);
    }
}

/* The strings are static: calling again returns the same text. */
static void test_stable_strings(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        char copy[256];
        int n = snprintf(copy, sizeof copy, "%s", yb_strerror(k_codes[i].code));
        assert_true(n > 0 && (size_t)n < sizeof copy);
        (void)yb_strerror(k_codes[(i + 1) % N_CODES].code);
        assert_string_equal(copy, yb_strerror(k_codes[i].code));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_complete),
        cmocka_unit_test(test_errname_every_code),
        cmocka_unit_test(test_strerror_every_code),
        cmocka_unit_test(test_specific_descriptions),
        cmocka_unit_test(test_unknown_codes_never_null),
        cmocka_unit_test(test_stable_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
