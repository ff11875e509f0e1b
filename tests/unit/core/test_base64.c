/*
 * test_base64.c - RFC 4648 vectors, strictness, and buffer limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "pal.h"
#include "yb_base64.h"

static const char *const vectors[][2] = {
    { "", "" },
    { "f", "Zg==" },
    { "fo", "Zm8=" },
    { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" },
    { "fooba", "Zm9vYmE=" },
    { "foobar", "Zm9vYmFy" },
};

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(vectors); i++) {
        char enc[32];
        unsigned char dec[32];
        size_t n;
        assert_int_equal(
            yb_base64_encode(vectors[i][0], strlen(vectors[i][0]), enc, sizeof(enc), &n), 0);
        assert_string_equal(enc, vectors[i][1]);
        assert_int_equal(n, strlen(vectors[i][1]));
        assert_int_equal(yb_base64_decode(vectors[i][1], strlen(vectors[i][1]), YB_B64_STRICT, dec,
                                          sizeof(dec), &n),
                         0);
        assert_int_equal(n, strlen(vectors[i][0]));
        assert_memory_equal(dec, vectors[i][0], n);
    }
}

static void test_binary_round_trip(void **state)
{
    (void)state;
    unsigned char in[256], dec[256];
    char enc[YB_BASE64_ENCODED_LEN(256) + 1];
    for (int i = 0; i < 256; i++)
        in[i] = (unsigned char)i; /* NUL and every byte value */
    for (size_t len = 0; len <= 256; len++) {
        size_t n, m;
        assert_int_equal(yb_base64_encode(in, len, enc, sizeof(enc), &n), 0);
        assert_int_equal(n, YB_BASE64_ENCODED_LEN(len));
        assert_int_equal(yb_base64_decode(enc, n, YB_B64_STRICT, dec, sizeof(dec), &m), 0);
        assert_int_equal(m, len);
        assert_memory_equal(dec, in, len);
    }
}

static void test_strictness(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zg",       /* missing padding */
        "Zg=",      /* short padding */
        "Z===",     /* padding too early */
        "Zm9v!",    /* outside the alphabet */
        "Zm9\x80",  /* invalid UTF-8 / high byte */
        "Zh==",     /* non-zero unused bits */
        "Zm9=Zm9v", /* data after padding */
        "Zm 9v",    /* space without SKIP_SPACE */
        "=Zm9",
    };
    unsigned char out[32];
    size_t n;
    for (size_t i = 0; i < YB_ARRAY_LEN(bad); i++) {
        if (yb_base64_decode(bad[i], strlen(bad[i]), YB_B64_STRICT, out, sizeof(out), &n) !=
            YB_EPARSE) {
            print_error("accepted '%s'\n", bad[i]);
            fail();
        }
    }
    assert_int_equal(yb_base64_decode("Zm\0v", 4, YB_B64_STRICT, out, sizeof(out), &n), YB_EPARSE);
    assert_int_equal(
        yb_base64_decode("Zm9v\r\nYmFy \t", 12, YB_B64_SKIP_SPACE, out, sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
}

static void test_buffer_limits(void **state)
{
    (void)state;
    char enc[8];
    unsigned char dec[3];
    size_t n;
    /* Exactly fits (no room for the NUL is fine), one short is refused. */
    assert_int_equal(yb_base64_encode("foobar", 6, enc, 8, &n), 0);
    assert_int_equal(yb_base64_encode("foobarx", 7, enc, 8, &n), YB_ERANGE);
    assert_int_equal(yb_base64_decode("Zm9v", 4, YB_B64_STRICT, dec, 3, &n), 0);
    assert_int_equal(yb_base64_decode("Zm9vYg==", 8, YB_B64_STRICT, dec, 3, &n), YB_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_binary_round_trip),
        cmocka_unit_test(test_strictness),
        cmocka_unit_test(test_buffer_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
