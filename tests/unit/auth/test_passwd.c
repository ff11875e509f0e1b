/*
 * test_passwd.c - stored passwords and SCRAM-SHA-256 against RFC 7677's
 * example, XMail import, and the limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "pal.h"
#include "yb_base64.h"
#include "yb_passwd.h"

/* RFC 7677 section 3: user "user", password "pencil". */
#define RFC_SALT "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_AUTH_MESSAGE                                                                      \
    "n=user,r=rOprNGfwEbeRWgbNEkqO,"                                                          \
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," \
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_PROOF      "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_SIG "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static void b64(const char *text, unsigned char *out, size_t cap, size_t *n)
{
    assert_int_equal(yb_base64_decode(text, strlen(text), YB_B64_STRICT, out, cap, n), 0);
}

static void test_rfc7677_example(void **state)
{
    (void)state;
    unsigned char salt[32], proof[32], want_sig[32], sig[32];
    size_t sl, n;
    struct yb_scram_keys k;
    b64(RFC_SALT, salt, sizeof(salt), &sl);
    b64(RFC_PROOF, proof, sizeof(proof), &n);
    b64(RFC_SERVER_SIG, want_sig, sizeof(want_sig), &n);
    assert_int_equal(yb_scram_derive("pencil", 6, salt, sl, 4096, &k), 0);
    assert_int_equal(yb_scram_check_proof(&k, RFC_AUTH_MESSAGE, strlen(RFC_AUTH_MESSAGE), proof),
                     0);
    assert_int_equal(yb_scram_server_signature(&k, RFC_AUTH_MESSAGE, strlen(RFC_AUTH_MESSAGE), sig),
                     0);
    assert_memory_equal(sig, want_sig, 32);
    proof[31] ^= 1;
    assert_int_equal(yb_scram_check_proof(&k, RFC_AUTH_MESSAGE, strlen(RFC_AUTH_MESSAGE), proof),
                     YB_EACCES);

    /* The same keys written in the stored form verify "pencil" and nothing else. */
    assert_int_equal(yb_passwd_parse("{SCRAM-SHA-256}4096," RFC_SALT
                                     ",WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
                                     "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
                                     &k),
                     0);
    assert_int_equal(k.iterations, 4096);
    const char *stored =
        "{SCRAM-SHA-256}4096," RFC_SALT ",WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
    assert_int_equal(yb_passwd_verify(stored, "pencil", 6), 0);
    assert_int_equal(yb_passwd_verify(stored, "Pencil", 6), YB_EACCES);
    assert_int_equal(yb_passwd_verify(stored, "pencil ", 7), YB_EACCES);
    assert_int_equal(yb_passwd_verify(stored, "", 0), YB_EACCES);
}

static void test_hash_and_verify(void **state)
{
    (void)state;
    char a[YB_PASSWD_STORED_MAX], b[YB_PASSWD_STORED_MAX];
    const char *pw = "correct horse battery staple";
    assert_int_equal(yb_passwd_hash(pw, strlen(pw), YB_PASSWD_MIN_ITERATIONS, a, sizeof(a)), 0);
    assert_int_equal(yb_passwd_hash(pw, strlen(pw), YB_PASSWD_MIN_ITERATIONS, b, sizeof(b)), 0);
    assert_true(strncmp(a, "{SCRAM-SHA-256}4096,", 20) == 0);
    assert_string_not_equal(a, b); /* a fresh salt each time */
    assert_int_equal(yb_passwd_verify(a, pw, strlen(pw)), 0);
    assert_int_equal(yb_passwd_verify(b, pw, strlen(pw)), 0);
    assert_int_equal(yb_passwd_verify(a, "correct horse battery stapl", 27), YB_EACCES);
    const char *utf8 = "pässwörd-日本";
    assert_int_equal(yb_passwd_hash(utf8, strlen(utf8), YB_PASSWD_MIN_ITERATIONS, a, sizeof(a)), 0);
    assert_int_equal(yb_passwd_verify(a, utf8, strlen(utf8)), 0);
}

static void test_password_limits(void **state)
{
    (void)state;
    static char pw[YB_LIMIT_PASSWORD + 2];
    char out[YB_PASSWD_STORED_MAX];
    memset(pw, 'p', sizeof(pw));
    assert_int_equal(
        yb_passwd_hash(pw, YB_LIMIT_PASSWORD, YB_PASSWD_MIN_ITERATIONS, out, sizeof(out)), 0);
    assert_int_equal(yb_passwd_verify(out, pw, YB_LIMIT_PASSWORD), 0);
    assert_int_equal(
        yb_passwd_hash(pw, YB_LIMIT_PASSWORD + 1, YB_PASSWD_MIN_ITERATIONS, out, sizeof(out)),
        YB_EINVAL);
    assert_int_equal(yb_passwd_hash("", 0, YB_PASSWD_MIN_ITERATIONS, out, sizeof(out)), YB_EINVAL);
    assert_int_equal(yb_passwd_hash("a\0b", 3, YB_PASSWD_MIN_ITERATIONS, out, sizeof(out)),
                     YB_EINVAL);
    assert_int_equal(yb_passwd_hash("a\nb", 3, YB_PASSWD_MIN_ITERATIONS, out, sizeof(out)),
                     YB_EINVAL);
    assert_int_equal(yb_passwd_hash("ab", 2, YB_PASSWD_MIN_ITERATIONS - 1, out, sizeof(out)),
                     YB_EINVAL);
    assert_int_equal(yb_passwd_hash("ab", 2, YB_PASSWD_MIN_ITERATIONS, out, 20), YB_ERANGE);
    /* Checking an over-long or NUL-holding password fails, never crashes. */
    assert_int_equal(yb_passwd_hash("ab", 2, YB_PASSWD_MIN_ITERATIONS, out, sizeof(out)), 0);
    assert_int_equal(yb_passwd_verify(out, pw, YB_LIMIT_PASSWORD + 1), YB_EACCES);
    assert_int_equal(yb_passwd_verify(out, "ab\0", 3), YB_EACCES);
}

static void test_damaged_stored_forms(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{SCRAM-SHA-256}",
        "{SCRAM-SHA-256}0,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "{SCRAM-SHA-256}99999999999,W22ZaJ0SNY7soEsUEjb6gQ==,"
        "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "{SCRAM-SHA-256}4096,,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7Bke,"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
        "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=,extra",
        "{SCRAM-SHA-256}4096x,W22ZaJ0SNY7soEsUEjb6gQ==,a,b",
    };
    struct yb_scram_keys k;
    for (size_t i = 0; i < YB_ARRAY_LEN(bad); i++) {
        if (yb_passwd_parse(bad[i], &k) != YB_EPARSE) {
            print_error("accepted damaged form %u\n", (unsigned)i);
            fail();
        }
        assert_int_equal(yb_passwd_verify(bad[i], "pencil", 6), YB_EPARSE);
    }
    assert_int_equal(yb_passwd_parse("{PLAIN}pencil", &k), YB_ENOTSUP);
    assert_int_equal(yb_passwd_verify("0408051a", "pencil", 6),
                     YB_ENOTSUP); /* XMail: import only */
}

static void test_xmail_import(void **state)
{
    (void)state;
    /* XMail's XMCrypt: each byte XOR 101 as two hex digits. "pencil" -> 15000b060c09. */
    char out[64];
    size_t n;
    assert_true(yb_passwd_is_xmail("15000b060c09"));
    assert_int_equal(yb_passwd_xmail_decode("15000b060c09", out, sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_string_equal(out, "pencil");
    assert_int_equal(yb_passwd_xmail_decode("15000B060C09", out, sizeof(out), &n), 0);
    assert_string_equal(out, "pencil");
    assert_false(yb_passwd_is_xmail(""));
    assert_false(yb_passwd_is_xmail("150"));
    assert_false(yb_passwd_is_xmail("15zz"));
    assert_false(yb_passwd_is_xmail("{SCRAM-SHA-256}4096,a,b,c"));
    assert_int_equal(yb_passwd_xmail_decode("15000b060c09", out, 6, &n), YB_ERANGE);
    assert_int_equal(yb_passwd_xmail_decode("15000b060c09", out, 7, &n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7677_example), cmocka_unit_test(test_hash_and_verify),
        cmocka_unit_test(test_password_limits), cmocka_unit_test(test_damaged_stored_forms),
        cmocka_unit_test(test_xmail_import),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
