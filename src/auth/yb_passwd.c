/*
 * yb_passwd.c - stored passwords (Dovecot's {SCRAM-SHA-256} form) and the
 * SCRAM-SHA-256 arithmetic, over OpenSSL.
 */
#include "yb_passwd.h"
#include "pal.h"
#include "yb_base64.h"
#include "yb_hex.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <string.h>

static int hmac_sha256(const unsigned char *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[32])
{
    unsigned int n = 0;
    if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) == NULL || n != 32)
        return YB_EIO;
    return 0;
}

static int sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return YB_EIO;
    return 0;
}

static bool password_ok(const void *pw, size_t len)
{
    if (len == 0 || len > YB_LIMIT_PASSWORD)
        return false;
    const unsigned char *p = pw;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == 0 || p[i] == '\r' || p[i] == '\n')
            return false;
    }
    return true;
}

int yb_scram_derive(const void *pw, size_t len, const unsigned char *salt, size_t salt_len,
                    unsigned iterations, struct yb_scram_keys *keys_r)
{
    unsigned char salted[32], client_key[32];
    int rc = 0;
    if (salt_len == 0 || salt_len > YB_PASSWD_SALT_MAX || iterations < 1 ||
        iterations > YB_PASSWD_MAX_ITERATIONS)
        return YB_EINVAL;
    if (PKCS5_PBKDF2_HMAC(pw, (int)len, salt, (int)salt_len, (int)iterations, EVP_sha256(),
                          (int)sizeof(salted), salted) != 1)
        return YB_EIO;
    memset(keys_r, 0, sizeof(*keys_r));
    keys_r->iterations = iterations;
    memcpy(keys_r->salt, salt, salt_len);
    keys_r->salt_len = salt_len;
    if ((rc = hmac_sha256(salted, 32, "Client Key", 10, client_key)) == 0 &&
        (rc = sha256(client_key, 32, keys_r->stored_key)) == 0)
        rc = hmac_sha256(salted, 32, "Server Key", 10, keys_r->server_key);
    OPENSSL_cleanse(salted, sizeof(salted));
    OPENSSL_cleanse(client_key, sizeof(client_key));
    return rc;
}

int yb_passwd_hash(const void *pw, size_t len, unsigned iterations, char *out, size_t outsize)
{
    unsigned char salt[YB_PASSWD_SALT_LEN];
    struct yb_scram_keys k;
    char s64[YB_BASE64_ENCODED_LEN(YB_PASSWD_SALT_LEN) + 1];
    char k1[YB_BASE64_ENCODED_LEN(32) + 1], k2[YB_BASE64_ENCODED_LEN(32) + 1];
    size_t n;
    if (!password_ok(pw, len) || iterations < YB_PASSWD_MIN_ITERATIONS ||
        iterations > YB_PASSWD_MAX_ITERATIONS)
        return YB_EINVAL;
    int rc = pal_random_bytes(salt, sizeof(salt));
    if (rc == 0)
        rc = yb_scram_derive(pw, len, salt, sizeof(salt), iterations, &k);
    if (rc == 0)
        rc = yb_base64_encode(salt, sizeof(salt), s64, sizeof(s64), &n);
    if (rc == 0)
        rc = yb_base64_encode(k.stored_key, 32, k1, sizeof(k1), &n);
    if (rc == 0)
        rc = yb_base64_encode(k.server_key, 32, k2, sizeof(k2), &n);
    OPENSSL_cleanse(&k, sizeof(k));
    if (rc != 0)
        return rc;
    int w = snprintf(out, outsize, "%s%u,%s,%s,%s", YB_PASSWD_SCHEME, iterations, s64, k1, k2);
    if (w < 0 || (size_t)w >= outsize)
        return YB_ERANGE;
    return 0;
}

/* Decodes one comma-separated base64 field of exactly want bytes (want 0: up to cap). */
static int field_b64(const char **p, unsigned char *out, size_t cap, size_t want, size_t *len_r)
{
    const char *start = *p, *end = strchr(start, ',');
    size_t flen = end != NULL ? (size_t)(end - start) : strlen(start);
    size_t n = 0;
    if (yb_base64_decode(start, flen, YB_B64_STRICT, out, cap, &n) != 0 || n == 0 ||
        (want != 0 && n != want))
        return YB_EPARSE;
    *p = end != NULL ? end + 1 : start + flen;
    if (len_r != NULL)
        *len_r = n;
    return end != NULL ? 0 : 1; /* 1: this was the last field */
}

int yb_passwd_parse(const char *stored, struct yb_scram_keys *keys_r)
{
    size_t plen = strlen(YB_PASSWD_SCHEME);
    memset(keys_r, 0, sizeof(*keys_r));
    if (strncmp(stored, YB_PASSWD_SCHEME, plen) != 0)
        return YB_ENOTSUP;
    const char *p = stored + plen;
    unsigned long it = 0;
    if (*p < '1' || *p > '9')
        return YB_EPARSE;
    while (*p >= '0' && *p <= '9') {
        it = it * 10 + (unsigned long)(*p++ - '0');
        if (it > YB_PASSWD_MAX_ITERATIONS)
            return YB_EPARSE;
    }
    if (*p++ != ',' || it < 1)
        return YB_EPARSE;
    keys_r->iterations = (unsigned)it;
    if (field_b64(&p, keys_r->salt, sizeof(keys_r->salt), 0, &keys_r->salt_len) != 0 ||
        field_b64(&p, keys_r->stored_key, 32, 32, NULL) != 0 ||
        field_b64(&p, keys_r->server_key, 32, 32, NULL) != 1 || *p != '\0')
        return YB_EPARSE;
    return 0;
}

int yb_passwd_verify(const char *stored, const void *pw, size_t len)
{
    struct yb_scram_keys want, got;
    int rc = yb_passwd_parse(stored, &want);
    if (rc != 0)
        return rc;
    /*
     * A password we would refuse to store is still run through the whole
     * derivation (as an empty string) so the answer takes the same time.
     */
    bool ok = password_ok(pw, len);
    rc = yb_scram_derive(ok ? pw : "", ok ? len : 0, want.salt, want.salt_len, want.iterations,
                         &got);
    if (rc != 0)
        return rc;
    bool same = CRYPTO_memcmp(got.stored_key, want.stored_key, 32) == 0;
    OPENSSL_cleanse(&got, sizeof(got));
    return same && ok ? 0 : YB_EACCES;
}

int yb_scram_check_proof(const struct yb_scram_keys *keys, const void *auth_message,
                         size_t auth_len, const unsigned char proof[32])
{
    unsigned char sig[32], client_key[32], stored[32];
    int rc = hmac_sha256(keys->stored_key, 32, auth_message, auth_len, sig);
    if (rc != 0)
        return rc;
    for (int i = 0; i < 32; i++)
        client_key[i] = proof[i] ^ sig[i];
    rc = sha256(client_key, 32, stored);
    OPENSSL_cleanse(client_key, sizeof(client_key));
    if (rc != 0)
        return rc;
    return CRYPTO_memcmp(stored, keys->stored_key, 32) == 0 ? 0 : YB_EACCES;
}

int yb_scram_server_signature(const struct yb_scram_keys *keys, const void *auth_message,
                              size_t auth_len, unsigned char sig_r[32])
{
    return hmac_sha256(keys->server_key, 32, auth_message, auth_len, sig_r);
}

bool yb_passwd_is_xmail(const char *stored)
{
    size_t n = strlen(stored);
    if (n == 0 || n % 2 != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (yb_hex_value((unsigned char)stored[i]) < 0)
            return false;
    }
    return true;
}

int yb_passwd_xmail_decode(const char *hex, char *out, size_t outsize, size_t *len_r)
{
    if (!yb_passwd_is_xmail(hex))
        return YB_EPARSE;
    size_t n = strlen(hex) / 2;
    if (n + 1 > outsize)
        return YB_ERANGE;
    for (size_t i = 0; i < n; i++) {
        int b = yb_hex_value((unsigned char)hex[2 * i]) << 4 |
                yb_hex_value((unsigned char)hex[2 * i + 1]);
        out[i] = (char)(b ^ 101); /* XMail's XMCrypt: each byte XOR 101 */
    }
    out[n] = '\0';
    *len_r = n;
    return 0;
}
