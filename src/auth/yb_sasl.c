/*
 * yb_sasl.c - PLAIN, LOGIN and SCRAM-SHA-256 as server-side state machines.
 */
#include "yb_sasl.h"
#include "pal.h"
#include "yb_base64.h"
#include "yb_utf8.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdlib.h>
#include <string.h>

/* Longest SCRAM first/final messages kept for the AuthMessage. */
#define SCRAM_MSG_MAX 1024
/* Server nonce bytes (base64-encoded on the wire). */
#define SCRAM_NONCE_BYTES 18

enum stage { ST_START, ST_LOGIN_USER, ST_LOGIN_PASS, ST_SCRAM_FINAL, ST_SCRAM_ACK, ST_DONE };

struct yb_sasl {
    enum yb_sasl_mech mech;
    enum stage stage;
    struct yb_sasl_lookup lookup;
    char user[YB_LIMIT_SASL_USER + 1];
    char authzid[YB_LIMIT_SASL_USER + 1];
    /* SCRAM */
    bool known;
    struct yb_scram_keys keys;
    char gs2[YB_LIMIT_SASL_USER + 16];
    char first_bare[SCRAM_MSG_MAX];
    char server_first[SCRAM_MSG_MAX];
    char nonce[SCRAM_MSG_MAX];
};

static unsigned char g_secret[32];
static pal_once g_secret_once = PAL_ONCE_INIT;

static void make_secret(void)
{
    if (pal_random_bytes(g_secret, sizeof(g_secret)) != 0)
        abort(); /* no randomness: nothing about authentication can be trusted */
}

const unsigned char *yb_sasl_process_secret(void)
{
    pal_once_run(&g_secret_once, make_secret);
    return g_secret;
}

int yb_sasl_mech_parse(struct yb_slice name, enum yb_sasl_mech *mech_r)
{
    if (yb_slice_eq_cstr_nocase(name, "PLAIN"))
        *mech_r = YB_SASL_PLAIN;
    else if (yb_slice_eq_cstr_nocase(name, "LOGIN"))
        *mech_r = YB_SASL_LOGIN;
    else if (yb_slice_eq_cstr_nocase(name, "SCRAM-SHA-256"))
        *mech_r = YB_SASL_SCRAM_SHA_256;
    else
        return YB_ENOTSUP;
    return 0;
}

const char *yb_sasl_mech_name(enum yb_sasl_mech mech)
{
    switch (mech) {
    case YB_SASL_PLAIN: return "PLAIN";
    case YB_SASL_LOGIN: return "LOGIN";
    case YB_SASL_SCRAM_SHA_256: return "SCRAM-SHA-256";
    }
    return "?";
}

int yb_sasl_start(enum yb_sasl_mech mech, const struct yb_sasl_lookup *lookup,
                  struct yb_sasl **sasl_r)
{
    struct yb_sasl *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return YB_ENOMEM;
    s->mech = mech;
    s->lookup = *lookup;
    *sasl_r = s;
    return 0;
}

void yb_sasl_free(struct yb_sasl **sasl)
{
    if (*sasl == NULL)
        return;
    OPENSSL_cleanse(*sasl, sizeof(**sasl));
    free(*sasl);
    *sasl = NULL;
}

const char *yb_sasl_user(const struct yb_sasl *s)
{
    return s->user;
}

const char *yb_sasl_authzid(const struct yb_sasl *s)
{
    return s->authzid;
}

/* Copies a user name after checking it: 1..limit bytes of UTF-8 without controls. */
static int take_name(char *dst, const unsigned char *p, size_t len)
{
    if (len == 0 || len > YB_LIMIT_SASL_USER || !yb_utf8_valid(p, len, NULL))
        return YB_EPARSE;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7F)
            return YB_EPARSE;
    }
    memcpy(dst, p, len);
    dst[len] = '\0';
    return 0;
}

/*
 * Verifies a password for s->user. An unknown user costs the same work as a
 * known one, so timing does not tell them apart.
 */
static int check_password(struct yb_sasl *s, const void *pw, size_t len)
{
    char stored[YB_PASSWD_STORED_MAX];
    int rc = s->lookup.stored(s->lookup.arg, s->user, stored, sizeof(stored));
    if (rc == YB_ENOTFOUND) {
        struct yb_scram_keys dummy;
        unsigned char salt[YB_PASSWD_SALT_LEN] = { 0 };
        yb_scram_derive(pw, len, salt, sizeof(salt), YB_PASSWD_DEFAULT_ITERATIONS, &dummy);
        return YB_EACCES;
    }
    if (rc != 0)
        return rc;
    rc = yb_passwd_verify(stored, pw, len);
    OPENSSL_cleanse(stored, sizeof(stored));
    return rc == YB_EPARSE || rc == YB_ENOTSUP ? YB_EACCES : rc;
}

/* Proxy authorisation is not offered: an authzid must name the user itself. */
static int authz_ok(const struct yb_sasl *s)
{
    return s->authzid[0] == '\0' || strcmp(s->authzid, s->user) == 0 ? 0 : YB_EACCES;
}

static int step_plain(struct yb_sasl *s, const unsigned char *in, size_t len, bool have,
                      struct yb_buf *out)
{
    (void)out;
    if (!have)
        return YB_SASL_CONTINUE; /* empty challenge: "334 " / "+ " */
    /* [authzid] NUL authcid NUL password */
    const unsigned char *n1 = memchr(in, 0, len);
    if (n1 == NULL)
        return YB_EPARSE;
    const unsigned char *n2 = memchr(n1 + 1, 0, len - (size_t)(n1 + 1 - in));
    if (n2 == NULL)
        return YB_EPARSE;
    size_t zlen = (size_t)(n1 - in), clen = (size_t)(n2 - n1 - 1);
    size_t plen = len - (size_t)(n2 + 1 - in);
    if (zlen > 0 && take_name(s->authzid, in, zlen) != 0)
        return YB_EPARSE;
    if (take_name(s->user, n1 + 1, clen) != 0 || plen == 0 || memchr(n2 + 1, 0, plen) != NULL)
        return YB_EPARSE;
    int rc = check_password(s, n2 + 1, plen);
    if (rc == 0)
        rc = authz_ok(s);
    if (rc != 0)
        return rc;
    s->stage = ST_DONE;
    return YB_SASL_DONE;
}

static int step_login(struct yb_sasl *s, const unsigned char *in, size_t len, bool have,
                      struct yb_buf *out)
{
    if (s->stage == ST_START) {
        s->stage = ST_LOGIN_USER;
        if (!have)
            return yb_buf_append_cstr(out, "Username:") == 0 ? YB_SASL_CONTINUE : YB_ENOMEM;
    }
    if (s->stage == ST_LOGIN_USER) {
        if (take_name(s->user, in, len) != 0)
            return YB_EPARSE;
        s->stage = ST_LOGIN_PASS;
        return yb_buf_append_cstr(out, "Password:") == 0 ? YB_SASL_CONTINUE : YB_ENOMEM;
    }
    if (len == 0 || memchr(in, 0, len) != NULL)
        return YB_EPARSE;
    int rc = check_password(s, in, len);
    if (rc != 0)
        return rc;
    s->stage = ST_DONE;
    return YB_SASL_DONE;
}

/* ---- SCRAM-SHA-256 ---- */

/* Unescapes a saslname (RFC 5802: "=2C" is ',', "=3D" is '='; any other '=' is an error). */
static int saslname(char *dst, const char *p, size_t len)
{
    char tmp[YB_LIMIT_SASL_USER + 1];
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (o >= YB_LIMIT_SASL_USER)
            return YB_EPARSE;
        if (p[i] == '=') {
            if (i + 2 < len && p[i + 1] == '2' && (p[i + 2] == 'C' || p[i + 2] == 'c'))
                tmp[o++] = ',';
            else if (i + 2 < len && p[i + 1] == '3' && (p[i + 2] == 'D' || p[i + 2] == 'd'))
                tmp[o++] = '=';
            else
                return YB_EPARSE;
            i += 2;
        } else if (p[i] == ',') {
            return YB_EPARSE;
        } else {
            tmp[o++] = p[i];
        }
    }
    return take_name(dst, (const unsigned char *)tmp, o);
}

/* A printable nonce: 0x21-0x7E except ','. */
static bool nonce_ok(const char *p, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x21 || p[i] > 0x7E || p[i] == ',')
            return false;
    }
    return true;
}

static int fake_keys(struct yb_sasl *s)
{
    /* A stable per-user salt, so repeated probes of one name look like a real account. */
    unsigned char mac[32];
    unsigned int n = 0;
    if (HMAC(EVP_sha256(), s->lookup.secret, 32, (const unsigned char *)s->user, strlen(s->user),
             mac, &n) == NULL)
        return YB_EIO;
    memset(&s->keys, 0, sizeof(s->keys));
    memcpy(s->keys.salt, mac, YB_PASSWD_SALT_LEN);
    s->keys.salt_len = YB_PASSWD_SALT_LEN;
    s->keys.iterations = YB_PASSWD_DEFAULT_ITERATIONS;
    return pal_random_bytes(s->keys.stored_key, 32); /* no proof can match */
}

static int scram_first(struct yb_sasl *s, const char *in, size_t len, struct yb_buf *out)
{
    /* gs2-header: ("n" / "y") "," [ "a=" saslname ] "," ; "p=" (channel binding) is not offered. */
    if (len < 3 || (in[0] != 'n' && in[0] != 'y') || in[1] != ',')
        return YB_EPARSE;
    const char *p = in + 2, *end = in + len;
    const char *comma = memchr(p, ',', (size_t)(end - p));
    if (comma == NULL)
        return YB_EPARSE;
    if (comma > p) {
        if (comma - p < 3 || p[0] != 'a' || p[1] != '=' ||
            saslname(s->authzid, p + 2, (size_t)(comma - p - 2)) != 0)
            return YB_EPARSE;
    }
    size_t gs2len = (size_t)(comma + 1 - in);
    if (gs2len >= sizeof(s->gs2))
        return YB_EPARSE;
    memcpy(s->gs2, in, gs2len);
    s->gs2[gs2len] = '\0';
    /* client-first-message-bare: "n=" saslname ",r=" nonce ["," extensions] */
    const char *bare = comma + 1;
    size_t blen = (size_t)(end - bare);
    if (blen >= sizeof(s->first_bare) || blen < 6 || bare[0] != 'n' || bare[1] != '=')
        return YB_EPARSE;
    memcpy(s->first_bare, bare, blen);
    s->first_bare[blen] = '\0';
    const char *uend = memchr(bare + 2, ',', blen - 2);
    if (uend == NULL || saslname(s->user, bare + 2, (size_t)(uend - bare - 2)) != 0)
        return YB_EPARSE;
    if (end - uend < 4 || uend[1] != 'r' || uend[2] != '=')
        return YB_EPARSE;
    const char *cn = uend + 3, *cnend = memchr(cn, ',', (size_t)(end - cn));
    if (cnend == NULL)
        cnend = end;
    else if (cnend + 1 < end && cnend[1] == 'm')
        return YB_EPARSE; /* a mandatory extension we do not know */
    if (!nonce_ok(cn, (size_t)(cnend - cn)))
        return YB_EPARSE;

    char stored[YB_PASSWD_STORED_MAX];
    int rc = s->lookup.stored(s->lookup.arg, s->user, stored, sizeof(stored));
    s->known = rc == 0 && yb_passwd_parse(stored, &s->keys) == 0;
    OPENSSL_cleanse(stored, sizeof(stored));
    if (rc != 0 && rc != YB_ENOTFOUND)
        return rc;
    if (!s->known && (rc = fake_keys(s)) != 0)
        return rc;

    unsigned char rnd[SCRAM_NONCE_BYTES];
    char snonce[YB_BASE64_ENCODED_LEN(SCRAM_NONCE_BYTES) + 1];
    char salt64[YB_BASE64_ENCODED_LEN(YB_PASSWD_SALT_MAX) + 1];
    size_t n;
    if ((rc = pal_random_bytes(rnd, sizeof(rnd))) != 0 ||
        (rc = yb_base64_encode(rnd, sizeof(rnd), snonce, sizeof(snonce), &n)) != 0 ||
        (rc = yb_base64_encode(s->keys.salt, s->keys.salt_len, salt64, sizeof(salt64), &n)) != 0)
        return rc;
    size_t cnlen = (size_t)(cnend - cn);
    if (cnlen + strlen(snonce) + 1 > sizeof(s->nonce))
        return YB_EPARSE;
    memcpy(s->nonce, cn, cnlen);
    memcpy(s->nonce + cnlen, snonce, strlen(snonce) + 1);
    struct yb_buf sf;
    yb_buf_init(&sf, sizeof(s->server_first) - 1);
    rc = yb_buf_printf(&sf, "r=%s,s=%s,i=%u", s->nonce, salt64, s->keys.iterations);
    if (rc == 0) {
        memcpy(s->server_first, sf.p, sf.len + 1);
        rc = yb_buf_append(out, sf.p, sf.len);
    }
    yb_buf_free(&sf);
    if (rc != 0)
        return rc;
    s->stage = ST_SCRAM_FINAL;
    return YB_SASL_CONTINUE;
}

static int scram_final(struct yb_sasl *s, const char *in, size_t len, struct yb_buf *out)
{
    /* "c=" base64(gs2-header) ",r=" nonce ["," extensions] ",p=" proof */
    char want_c[YB_BASE64_ENCODED_LEN(sizeof(s->gs2)) + 1];
    size_t n;
    int rc = yb_base64_encode(s->gs2, strlen(s->gs2), want_c, sizeof(want_c), &n);
    if (rc != 0)
        return rc;
    const char *p = in, *end = in + len;
    if (len < 2 || p[0] != 'c' || p[1] != '=')
        return YB_EPARSE;
    const char *c_end = memchr(p, ',', len);
    if (c_end == NULL || (size_t)(c_end - p - 2) != n || memcmp(p + 2, want_c, n) != 0)
        return YB_EPARSE; /* channel binding data must echo our gs2 header */
    const char *r = c_end + 1;
    size_t nlen = strlen(s->nonce);
    if ((size_t)(end - r) < nlen + 3 || r[0] != 'r' || r[1] != '=' ||
        memcmp(r + 2, s->nonce, nlen) != 0 || (r + 2 + nlen < end && r[2 + nlen] != ','))
        return YB_EPARSE;
    /* The proof is the last attribute. */
    const char *pp = NULL;
    for (const char *q = end - 1; q > in; q--) {
        if (*q == ',') {
            pp = q;
            break;
        }
    }
    if (pp == NULL || end - pp < 4 || pp[1] != 'p' || pp[2] != '=' || pp < r + 2 + nlen)
        return YB_EPARSE;
    unsigned char proof[32];
    if (yb_base64_decode(pp + 3, (size_t)(end - pp - 3), YB_B64_STRICT, proof, sizeof(proof), &n) !=
            0 ||
        n != 32)
        return YB_EPARSE;

    struct yb_buf am;
    yb_buf_init(&am, 3 * SCRAM_MSG_MAX);
    rc = yb_buf_printf(&am, "%s,%s,", s->first_bare, s->server_first);
    if (rc == 0)
        rc = yb_buf_append(&am, in, (size_t)(pp - in));
    if (rc == 0)
        rc = yb_scram_check_proof(&s->keys, am.p, am.len, proof);
    if (rc == 0 && !s->known)
        rc = YB_EACCES;
    if (rc == 0)
        rc = authz_ok(s);
    unsigned char sig[32];
    char sig64[YB_BASE64_ENCODED_LEN(32) + 1];
    if (rc == 0)
        rc = yb_scram_server_signature(&s->keys, am.p, am.len, sig);
    yb_buf_free(&am);
    if (rc == 0)
        rc = yb_base64_encode(sig, 32, sig64, sizeof(sig64), &n);
    if (rc == 0)
        rc = yb_buf_printf(out, "v=%s", sig64);
    if (rc != 0)
        return rc;
    s->stage = ST_SCRAM_ACK;
    return YB_SASL_CONTINUE;
}

static int step_scram(struct yb_sasl *s, const char *in, size_t len, bool have, struct yb_buf *out)
{
    switch (s->stage) {
    case ST_START:
        if (!have)
            return YB_SASL_CONTINUE; /* empty challenge: the client sends its first message */
        return scram_first(s, in, len, out);
    case ST_SCRAM_FINAL: return scram_final(s, in, len, out);
    case ST_SCRAM_ACK:
        /* The client acknowledges the server signature with an empty response. */
        if (len != 0)
            return YB_EPARSE;
        s->stage = ST_DONE;
        return YB_SASL_DONE;
    default: return YB_EINVAL;
    }
}

int yb_sasl_step(struct yb_sasl *s, const void *in, size_t len, bool have_input, struct yb_buf *out)
{
    yb_buf_reset(out);
    if (s->stage == ST_DONE)
        return YB_EINVAL;
    if (len > YB_LIMIT_SASL_RESPONSE)
        return YB_ELIMIT;
    if (!have_input)
        len = 0;
    switch (s->mech) {
    case YB_SASL_PLAIN: return step_plain(s, in, len, have_input, out);
    case YB_SASL_LOGIN: return step_login(s, in, len, have_input, out);
    case YB_SASL_SCRAM_SHA_256: return step_scram(s, in, len, have_input, out);
    }
    return YB_EINVAL;
}

int yb_sasl_step_text(struct yb_sasl *s, struct yb_slice text, bool have_input,
                      char challenge[YB_SASL_CHALLENGE_TEXT_MAX])
{
    static _Thread_local unsigned char dec[YB_LIMIT_SASL_RESPONSE + 3];
    size_t n = 0;
    challenge[0] = '\0';
    if (have_input && !(text.len == 0 || (text.len == 1 && text.p[0] == '=')) &&
        yb_base64_decode((const char *)text.p, text.len, YB_B64_STRICT, dec, sizeof(dec), &n) != 0)
        return YB_EPARSE;
    struct yb_buf out;
    yb_buf_init(&out, YB_SASL_CHALLENGE_MAX);
    int rc = yb_sasl_step(s, dec, n, have_input, &out);
    if (rc == YB_SASL_CONTINUE) {
        size_t len = 0;
        if (yb_base64_encode(out.p != NULL ? out.p : (const unsigned char *)"", out.len, challenge,
                             YB_SASL_CHALLENGE_TEXT_MAX, &len) != 0)
            len = 0;
        challenge[len] = '\0';
    }
    yb_buf_free(&out);
    OPENSSL_cleanse(dec, n);
    return rc;
}
