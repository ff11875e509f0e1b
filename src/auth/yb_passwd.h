/*
 * yb_passwd.h - stored passwords and the SCRAM-SHA-256 arithmetic.
 *
 * A password is never stored reversibly. The stored form is Dovecot's
 * SCRAM-SHA-256 scheme, self-describing by its prefix so the scheme can
 * change later:
 *
 *     {SCRAM-SHA-256}<iterations>,<salt b64>,<StoredKey b64>,<ServerKey b64>
 *
 * SaltedPassword = PBKDF2-HMAC-SHA256(password, salt, iterations) (RFC 5802);
 * StoredKey = SHA256(HMAC(SaltedPassword, "Client Key")) and ServerKey =
 * HMAC(SaltedPassword, "Server Key"). One stored form serves PLAIN and LOGIN
 * (recompute and compare StoredKey, in constant time) and SCRAM-SHA-256
 * without keeping the salted password itself (a password-equivalent for
 * SCRAM). Lines can be copied from a Dovecot passdb and back.
 *
 * Passwords are compared as bytes (UTF-8); SASLprep normalisation is not
 * applied, so a non-ASCII password must be typed in the same normal form.
 */
#ifndef YB_PASSWD_H
#define YB_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#define YB_PASSWD_SCHEME "{SCRAM-SHA-256}"
/* Iterations for new hashes: a compromise between brute-force cost and login cost. */
#define YB_PASSWD_DEFAULT_ITERATIONS 100000u
/* RFC 7677 asks for at least 4096; more than this is refused as a denial of service. */
#define YB_PASSWD_MIN_ITERATIONS 4096u
#define YB_PASSWD_MAX_ITERATIONS 10000000u
#define YB_PASSWD_SALT_LEN       16
/* Longest salt accepted in a stored form (Dovecot writes 16 bytes). */
#define YB_PASSWD_SALT_MAX 64
/* Longest password accepted, in bytes. */
#define YB_LIMIT_PASSWORD 1024
/* Longest stored form. */
#define YB_PASSWD_STORED_MAX 256

struct yb_scram_keys {
    unsigned iterations;
    unsigned char salt[YB_PASSWD_SALT_MAX];
    size_t salt_len;
    unsigned char stored_key[32];
    unsigned char server_key[32];
};

/*
 * Hashes a password (len bytes, no NUL inside) with a fresh random salt into
 * the stored form in out (YB_PASSWD_STORED_MAX is enough). YB_EINVAL for an
 * empty password, one with a NUL or CR/LF, or longer than YB_LIMIT_PASSWORD,
 * or iterations outside the allowed range.
 */
int yb_passwd_hash(const void *pw, size_t len, unsigned iterations, char *out, size_t outsize);

/* Parses a stored form. YB_ENOTSUP for another scheme, YB_EPARSE for a damaged one. */
int yb_passwd_parse(const char *stored, struct yb_scram_keys *keys_r);

/*
 * Checks a password against a stored form: 0 when it matches, YB_EACCES
 * when it does not, YB_ENOTSUP/YB_EPARSE for a stored form it cannot use.
 * Takes the same time for a wrong password as for a right one.
 */
int yb_passwd_verify(const char *stored, const void *pw, size_t len);

/* True when stored looks like XMail's reversible encoding (hex), for import. */
bool yb_passwd_is_xmail(const char *stored);

/*
 * Decodes XMail's reversible encoding (each byte XOR 101, as two hex digits)
 * into out; for importing an XMail mailusers.tab, which is then re-hashed.
 */
int yb_passwd_xmail_decode(const char *hex, char *out, size_t outsize, size_t *len_r);

/* ---- SCRAM-SHA-256 (RFC 5802, RFC 7677) ---- */

/* Derives the keys from a password, salt and iteration count. */
int yb_scram_derive(const void *pw, size_t len, const unsigned char *salt, size_t salt_len,
                    unsigned iterations, struct yb_scram_keys *keys_r);

/*
 * Checks a client's proof (32 bytes) for AuthMessage: 0 when it proves
 * knowledge of the password, YB_EACCES otherwise (constant time).
 */
int yb_scram_check_proof(const struct yb_scram_keys *keys, const void *auth_message,
                         size_t auth_len, const unsigned char proof[32]);

/* The ServerSignature (32 bytes) the server sends in its final message. */
int yb_scram_server_signature(const struct yb_scram_keys *keys, const void *auth_message,
                              size_t auth_len, unsigned char sig_r[32]);

#endif
