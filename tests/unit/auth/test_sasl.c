/*
 * test_sasl.c - PLAIN, LOGIN and SCRAM-SHA-256 exchanges, with the client
 * side of SCRAM computed here independently (OpenSSL directly).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal.h"
#include "yb_base64.h"
#include "yb_sasl.h"

/* RFC 7677's user: password "pencil", 4096 iterations. */
#define USER_STORED                                                                              \
    "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=," \
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

static const unsigned char secret[32] = { 1, 2, 3, 4, 5 };
static char comma_user_stored[YB_PASSWD_STORED_MAX];

static int lookup(void *arg, const char *user, char *buf, size_t size)
{
    (void)arg;
    const char *s = NULL;
    if (strcmp(user, "user") == 0)
        s = USER_STORED;
    else if (strcmp(user, "a,b=c") == 0)
        s = comma_user_stored;
    if (s == NULL)
        return YB_ENOTFOUND;
    snprintf(buf, size, "%s", s);
    return 0;
}

static const struct yb_sasl_lookup lk = { lookup, NULL, secret };

struct run {
    struct yb_sasl *s;
    struct yb_buf out;
};

static void start(struct run *r, enum yb_sasl_mech m)
{
    assert_int_equal(yb_sasl_start(m, &lk, &r->s), 0);
    yb_buf_init(&r->out, YB_SASL_CHALLENGE_MAX);
}

static void finish(struct run *r)
{
    yb_sasl_free(&r->s);
    assert_null(r->s);
    yb_buf_free(&r->out);
}

static int step(struct run *r, const void *in, size_t len)
{
    return yb_sasl_step(r->s, in, len, true, &r->out);
}

static int plain(const char *msg, size_t len, const char **user_r)
{
    struct run r;
    start(&r, YB_SASL_PLAIN);
    int rc = step(&r, msg, len);
    static char user[400];
    snprintf(user, sizeof(user), "%s", rc == YB_SASL_DONE ? yb_sasl_user(r.s) : "");
    if (user_r != NULL)
        *user_r = user;
    finish(&r);
    return rc;
}

static void test_plain(void **state)
{
    (void)state;
    const char *u;
    assert_int_equal(plain("\0user\0pencil", 12, &u), YB_SASL_DONE);
    assert_string_equal(u, "user");
    assert_int_equal(plain("user\0user\0pencil", 16, NULL), YB_SASL_DONE);
    assert_int_equal(plain("other\0user\0pencil", 17, NULL), YB_EACCES); /* no proxy auth */
    assert_int_equal(plain("\0user\0pencil2", 13, NULL), YB_EACCES);
    assert_int_equal(plain("\0nobody\0pencil", 14, NULL), YB_EACCES);
    assert_int_equal(plain("", 0, NULL), YB_EPARSE);
    assert_int_equal(plain("userpencil", 10, NULL), YB_EPARSE);
    assert_int_equal(plain("\0userpencil", 11, NULL), YB_EPARSE);
    assert_int_equal(plain("\0\0pencil", 8, NULL), YB_EPARSE);
    assert_int_equal(plain("\0user\0", 6, NULL), YB_EPARSE);
    assert_int_equal(plain("\0user\0pen\0cil", 13, NULL), YB_EPARSE);
    assert_int_equal(plain("\0us\xffr\0pencil", 12, NULL), YB_EPARSE);

    /* Without an initial response the server sends an empty challenge first. */
    struct run r;
    start(&r, YB_SASL_PLAIN);
    assert_int_equal(yb_sasl_step(r.s, NULL, 0, false, &r.out), YB_SASL_CONTINUE);
    assert_int_equal(r.out.len, 0);
    assert_int_equal(step(&r, "\0user\0pencil", 12), YB_SASL_DONE);
    finish(&r);
}

static void test_limits(void **state)
{
    (void)state;
    static char big[YB_LIMIT_SASL_RESPONSE + 1];
    struct run r;
    memset(big, 'a', sizeof(big));
    big[0] = '\0';
    big[YB_LIMIT_SASL_USER + 1] = '\0'; /* authcid of exactly the limit */
    start(&r, YB_SASL_PLAIN);
    assert_int_equal(step(&r, big, YB_LIMIT_SASL_RESPONSE), YB_EACCES); /* well-formed, unknown */
    finish(&r);
    start(&r, YB_SASL_PLAIN);
    assert_int_equal(step(&r, big, YB_LIMIT_SASL_RESPONSE + 1), YB_ELIMIT);
    finish(&r);
    big[YB_LIMIT_SASL_USER + 1] = 'a';
    big[YB_LIMIT_SASL_USER + 2] = '\0'; /* authcid one byte over */
    start(&r, YB_SASL_PLAIN);
    assert_int_equal(step(&r, big, YB_LIMIT_SASL_USER + 10), YB_EPARSE);
    finish(&r);
}

static void test_login(void **state)
{
    (void)state;
    struct run r;
    start(&r, YB_SASL_LOGIN);
    assert_int_equal(yb_sasl_step(r.s, NULL, 0, false, &r.out), YB_SASL_CONTINUE);
    assert_string_equal(yb_buf_cstr(&r.out), "Username:");
    assert_int_equal(step(&r, "user", 4), YB_SASL_CONTINUE);
    assert_string_equal(yb_buf_cstr(&r.out), "Password:");
    assert_int_equal(step(&r, "pencil", 6), YB_SASL_DONE);
    assert_string_equal(yb_sasl_user(r.s), "user");
    finish(&r);
    /* With the user name as initial response, and a wrong password. */
    start(&r, YB_SASL_LOGIN);
    assert_int_equal(step(&r, "user", 4), YB_SASL_CONTINUE);
    assert_string_equal(yb_buf_cstr(&r.out), "Password:");
    assert_int_equal(step(&r, "pencil!", 7), YB_EACCES);
    finish(&r);
    start(&r, YB_SASL_LOGIN);
    assert_int_equal(step(&r, "", 0), YB_EPARSE);
    finish(&r);
}

/* The client side of SCRAM-SHA-256, computed here with OpenSSL directly. */
static void client_proof(const char *pw, const unsigned char *salt, size_t salt_len, int iter,
                         const char *auth_message, char *proof64, size_t cap,
                         unsigned char sig_r[32])
{
    unsigned char salted[32], ck[32], sk[32], csig[32], proof[32], svk[32];
    unsigned int n;
    size_t m;
    assert_int_equal(
        PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, (int)salt_len, iter, EVP_sha256(), 32, salted),
        1);
    HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ck, &n);
    EVP_Digest(ck, 32, sk, &n, EVP_sha256(), NULL);
    HMAC(EVP_sha256(), sk, 32, (const unsigned char *)auth_message, strlen(auth_message), csig, &n);
    for (int i = 0; i < 32; i++)
        proof[i] = ck[i] ^ csig[i];
    assert_int_equal(yb_base64_encode(proof, 32, proof64, cap, &m), 0);
    HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Server Key", 10, svk, &n);
    HMAC(EVP_sha256(), svk, 32, (const unsigned char *)auth_message, strlen(auth_message), sig_r,
         &n);
}

/* Runs a whole exchange; returns the result of the final step. */
static int scram(const char *user_attr, const char *pw, const char *gs2, const char *c_attr,
                 bool tamper_nonce, char *server_first_r)
{
    struct run r;
    char first[512], final_wo[1024], final[1200], nonce[256], am[2048], proof64[64];
    unsigned char salt[64], sig[32];
    size_t sl;
    start(&r, YB_SASL_SCRAM_SHA_256);
    snprintf(first, sizeof(first), "%sn=%s,r=rOprNGfwEbeRWgbNEkqO", gs2, user_attr);
    int rc = step(&r, first, strlen(first));
    if (rc != YB_SASL_CONTINUE) {
        finish(&r);
        return rc;
    }
    const char *sf = yb_buf_cstr(&r.out);
    if (server_first_r != NULL)
        snprintf(server_first_r, 512, "%s", sf);
    /* r=<nonce>,s=<salt>,i=<n> */
    assert_true(strncmp(sf, "r=rOprNGfwEbeRWgbNEkqO", 22) == 0);
    const char *s_at = strstr(sf, ",s="), *i_at = strstr(sf, ",i=");
    assert_non_null(s_at);
    assert_non_null(i_at);
    snprintf(nonce, sizeof(nonce), "%.*s", (int)(s_at - sf - 2), sf + 2);
    assert_int_equal(yb_base64_decode(s_at + 3, (size_t)(i_at - s_at - 3), YB_B64_STRICT, salt,
                                      sizeof(salt), &sl),
                     0);
    int iter = (int)strtol(i_at + 3, NULL, 10);
    snprintf(final_wo, sizeof(final_wo), "%s,r=%s%s", c_attr, nonce, tamper_nonce ? "x" : "");
    snprintf(am, sizeof(am), "%s,%s,%s", first + strlen(gs2), sf, final_wo);
    client_proof(pw, salt, sl, iter, am, proof64, sizeof(proof64), sig);
    snprintf(final, sizeof(final), "%s,p=%s", final_wo, proof64);
    rc = step(&r, final, strlen(final));
    if (rc == YB_SASL_CONTINUE) {
        char want[64];
        size_t n;
        yb_base64_encode(sig, 32, want, sizeof(want), &n);
        char v[80];
        snprintf(v, sizeof(v), "v=%s", want);
        assert_string_equal(yb_buf_cstr(&r.out), v); /* the server proves itself too */
        rc = step(&r, "", 0);
    }
    finish(&r);
    return rc;
}

static void test_scram(void **state)
{
    (void)state;
    char sf1[512], sf2[512];
    assert_int_equal(scram("user", "pencil", "n,,", "c=biws", false, NULL), YB_SASL_DONE);
    assert_int_equal(scram("user", "pencil", "y,,", "c=eSws", false, NULL), YB_SASL_DONE);
    assert_int_equal(scram("user", "pencil", "n,a=user,", "c=bixhPXVzZXIs", false, NULL),
                     YB_SASL_DONE);
    assert_int_equal(scram("user", "pencil2", "n,,", "c=biws", false, NULL), YB_EACCES);
    assert_int_equal(scram("user", "pencil", "n,,", "c=eSws", false, NULL), YB_EPARSE);
    assert_int_equal(scram("user", "pencil", "n,,", "c=biws", true, NULL), YB_EPARSE);
    assert_int_equal(scram("user", "pencil", "p=tls-unique,,", "c=biws", false, NULL), YB_EPARSE);
    assert_int_equal(scram("us=3Der", "pencil", "n,,", "c=biws", false, NULL), YB_EACCES);
    assert_int_equal(scram("us=er", "pencil", "n,,", "c=biws", false, NULL), YB_EPARSE);
    /* An escaped name reaches the lookup unescaped. */
    assert_int_equal(yb_passwd_hash("pw", 2, YB_PASSWD_MIN_ITERATIONS, comma_user_stored,
                                    sizeof(comma_user_stored)),
                     0);
    assert_int_equal(scram("a=2Cb=3Dc", "pw", "n,,", "c=biws", false, NULL), YB_SASL_DONE);
    /* An unknown user gets a plausible, stable salt and fails only at the end. */
    assert_int_equal(scram("nobody", "pencil", "n,,", "c=biws", false, sf1), YB_EACCES);
    assert_int_equal(scram("nobody", "pencil", "n,,", "c=biws", false, sf2), YB_EACCES);
    assert_string_equal(strstr(sf1, ",s="), strstr(sf2, ",s="));
    assert_non_null(strstr(sf1, ",i=100000"));
}

static void test_scram_malformed_first(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "n",
        "n,",
        "x,,n=user,r=abc",
        "n,,n=user",
        "n,,r=abc,n=user",
        "n,,n=,r=abc",
        "n,,n=user,r=",
        "n,,n=user,r=a b",
        "n,,n=user,r=abc,m=ext",
        "n,b=x,n=user,r=abc",
    };
    for (size_t i = 0; i < YB_ARRAY_LEN(bad); i++) {
        struct run r;
        start(&r, YB_SASL_SCRAM_SHA_256);
        int rc = step(&r, bad[i], strlen(bad[i]));
        if (rc != YB_EPARSE) {
            print_error("accepted '%s' (%d)\n", bad[i], rc);
            fail();
        }
        finish(&r);
    }
}

static void test_mech_names(void **state)
{
    (void)state;
    enum yb_sasl_mech m;
    assert_int_equal(yb_sasl_mech_parse(YB_SLICE_LIT("plain"), &m), 0);
    assert_int_equal(m, YB_SASL_PLAIN);
    assert_int_equal(yb_sasl_mech_parse(YB_SLICE_LIT("Scram-Sha-256"), &m), 0);
    assert_string_equal(yb_sasl_mech_name(m), "SCRAM-SHA-256");
    assert_int_equal(yb_sasl_mech_parse(YB_SLICE_LIT("CRAM-MD5"), &m), YB_ENOTSUP);
    assert_int_equal(yb_sasl_mech_parse(YB_SLICE_LIT(""), &m), YB_ENOTSUP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_scram),
        cmocka_unit_test(test_scram_malformed_first),
        cmocka_unit_test(test_mech_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
