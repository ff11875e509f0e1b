/*
 * test_tls.c - the OpenSSL TLS backend and the self-signed certificate.
 *
 * The server side is a yb_tls_conn; the client is plain OpenSSL over two
 * memory BIOs. Bytes are shuttled between them in memory, so no socket is
 * involved and the test runs the same on every platform.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pal.h"
#include "yb_test.h"
#include "yb_tls.h"

static const struct yb_tls_ops *T = &yb_tls_openssl;

/* Two certificates made once for the whole group. */
static char g_root[PAL_PATH_MAX];
static char g_chain1[PAL_PATH_MAX], g_key1[PAL_PATH_MAX];
static char g_chain2[PAL_PATH_MAX], g_key2[PAL_PATH_MAX];
static struct yb_tls_ctx *g_ctx1; /* mail.example */
static struct yb_tls_ctx *g_ctx2; /* two.example */

/* ---- helpers ---- */

static void path_in(char *buf, const char *dir, const char *name)
{
    assert_int_equal(pal_path_join(buf, PAL_PATH_MAX, dir, name), 0);
}

static void make_pair_files(const char *sub, const char *host, char *chain, char *key)
{
    char dir[PAL_PATH_MAX], err[YB_TLS_ERR_MAX];
    path_in(dir, g_root, sub);
    assert_int_equal(yb_tls_ensure_cert(dir, host, err, sizeof(err)), 0);
    path_in(chain, dir, "chain.pem");
    path_in(key, dir, "key.pem");
}

static int group_setup(void **state)
{
    (void)state;
    char err[YB_TLS_ERR_MAX];
    if (yb_test_tmpdir("tls", g_root, sizeof(g_root)) != 0)
        return -1;
    make_pair_files("one", "mail.example", g_chain1, g_key1);
    make_pair_files("two", "two.example", g_chain2, g_key2);
    if (T->ctx_new_server(g_chain1, g_key1, &g_ctx1, err, sizeof(err)) != 0)
        return -1;
    if (T->ctx_new_server(g_chain2, g_key2, &g_ctx2, err, sizeof(err)) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    T->ctx_unref(&g_ctx1);
    T->ctx_unref(&g_ctx2);
    pal_file_remove_tree(g_root);
    return 0;
}

/* A server connection and an OpenSSL client joined in memory. */
struct pair {
    struct yb_tls_conn *s;
    SSL_CTX *cctx;
    SSL *c;
    BIO *c_in;    /* server -> client ciphertext */
    BIO *c_out;   /* client -> server ciphertext */
    size_t chunk; /* most bytes fed to the server at once */
};

static SSL_CTX *client_ctx(int min_version, int max_version)
{
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(cctx);
    assert_int_equal(SSL_CTX_set_min_proto_version(cctx, min_version), 1);
    assert_int_equal(SSL_CTX_set_max_proto_version(cctx, max_version), 1);
    return cctx;
}

/* Takes ownership of cctx. */
static void pair_open(struct pair *p, struct yb_tls_ctx *sctx, SSL_CTX *cctx)
{
    memset(p, 0, sizeof(*p));
    p->chunk = 64 * 1024;
    assert_int_equal(T->conn_new(sctx, &p->s), 0);
    p->cctx = cctx;
    p->c = SSL_new(cctx);
    assert_non_null(p->c);
    p->c_in = BIO_new(BIO_s_mem());
    p->c_out = BIO_new(BIO_s_mem());
    assert_non_null(p->c_in);
    assert_non_null(p->c_out);
    SSL_set_bio(p->c, p->c_in, p->c_out);
    SSL_set_connect_state(p->c);
}

static void pair_close(struct pair *p)
{
    T->conn_free(&p->s);
    assert_null(p->s);
    SSL_free(p->c);
    SSL_CTX_free(p->cctx);
    ERR_clear_error();
}

/* Moves ciphertext both ways; returns how many bytes moved. */
static size_t pump(struct pair *p)
{
    unsigned char buf[4096];
    size_t moved = 0, n;
    while (T->out_pending(p->s) > 0) {
        assert_int_equal(T->out_take(p->s, buf, sizeof(buf), &n), 0);
        assert_true(n > 0);
        assert_int_equal(BIO_write(p->c_in, buf, (int)n), (int)n);
        moved += n;
    }
    size_t fed = 0;
    while (fed < p->chunk && BIO_ctrl_pending(p->c_out) > 0) {
        size_t want = p->chunk - fed < sizeof(buf) ? p->chunk - fed : sizeof(buf);
        int got = BIO_read(p->c_out, buf, (int)want);
        assert_true(got > 0);
        assert_int_equal(T->feed(p->s, buf, (size_t)got), 0);
        fed += (size_t)got;
    }
    return moved + fed;
}

/*
 * Runs both handshakes until each finished or failed. Returns the server's
 * last result; *client_ok_r says whether the client finished.
 */
static int handshake(struct pair *p, bool *client_ok_r)
{
    int src = YB_EAGAIN;
    int client = 0; /* 0 running, 1 done, -1 failed */
    for (int round = 0; round < 1000000; round++) {
        if (client == 0) {
            int ret = SSL_do_handshake(p->c);
            if (ret == 1)
                client = 1;
            else if (SSL_get_error(p->c, ret) != SSL_ERROR_WANT_READ)
                client = -1;
        }
        if (src == YB_EAGAIN)
            src = T->handshake(p->s);
        if (pump(p) == 0)
            break; /* nobody has anything new to work on */
    }
    *client_ok_r = client == 1;
    return src;
}

static void open_and_handshake(struct pair *p, struct yb_tls_ctx *sctx, SSL_CTX *cctx)
{
    bool client_ok = false;
    pair_open(p, sctx, cctx);
    int rc = handshake(p, &client_ok);
    if (rc != 0)
        print_error("server handshake: %s\n", T->errtext(p->s));
    assert_int_equal(rc, 0);
    assert_true(client_ok);
}

/* Reads from the server until want bytes arrived (feeding the client's output). */
static void server_read_all(struct pair *p, unsigned char *buf, size_t want)
{
    size_t have = 0;
    while (have < want) {
        size_t got = 0;
        int rc = T->read(p->s, buf + have, want - have, &got);
        if (rc == YB_EAGAIN) {
            assert_true(pump(p) > 0);
            continue;
        }
        assert_int_equal(rc, 0);
        have += got;
    }
}

static void client_read_all(struct pair *p, unsigned char *buf, size_t want)
{
    size_t have = 0;
    while (have < want) {
        size_t got = 0;
        if (SSL_read_ex(p->c, buf + have, want - have, &got) == 1) {
            have += got;
            continue;
        }
        assert_int_equal(SSL_get_error(p->c, 0), SSL_ERROR_WANT_READ);
        assert_true(pump(p) > 0);
    }
}

static void client_write(struct pair *p, const void *data, size_t len)
{
    size_t put = 0;
    assert_int_equal(SSL_write_ex(p->c, data, len, &put), 1);
    assert_int_equal(put, len);
}

static bool allowed_group(int nid)
{
    return nid == NID_X25519 || nid == NID_X9_62_prime256v1 || nid == NID_secp384r1;
}

/* ---- yb_tls_ensure_cert ---- */

static X509 *load_cert(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pal_file_read_all(path, 1 << 20, &data, &len), 0);
    BIO *b = BIO_new_mem_buf(data, (int)len);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    free(data);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *load_key(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pal_file_read_all(path, 1 << 20, &data, &len), 0);
    BIO *b = BIO_new_mem_buf(data, (int)len);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    free(data);
    assert_non_null(k);
    return k;
}

static void test_ensure_cert_creates_pair(void **state)
{
    (void)state;
    char dir[PAL_PATH_MAX], chain[PAL_PATH_MAX], key[PAL_PATH_MAX], err[YB_TLS_ERR_MAX];
    path_in(dir, g_root, "fresh/nested/tls"); /* parents are created too */
    assert_int_equal(yb_tls_ensure_cert(dir, "mx.example.org", err, sizeof(err)), 0);
    path_in(chain, dir, "chain.pem");
    path_in(key, dir, "key.pem");
    X509 *x = load_cert(chain);
    EVP_PKEY *k = load_key(key);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_int_equal(X509_check_private_key(x, k), 1);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    assert_int_equal(X509_check_host(x, "mx.example.org", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "other.example.org", 0, 0, NULL), 0);
    char cn[128];
    assert_true(
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) > 0);
    assert_string_equal(cn, "mx.example.org");
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
    assert_true((X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE) != 0);
    assert_true((X509_get_extended_key_usage(x) & XKU_SSL_SERVER) != 0);
    /* A random 128-bit serial. */
    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    assert_non_null(serial);
    assert_int_equal(BN_num_bits(serial), 127);
    BN_free(serial);
    /* Valid now and for (about) ten years. */
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)), 1);
    assert_true(days >= 3650 && days <= 3653);
    assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void test_ensure_cert_is_idempotent(void **state)
{
    (void)state;
    char dir[PAL_PATH_MAX], chain[PAL_PATH_MAX], err[YB_TLS_ERR_MAX];
    char *before = NULL, *after = NULL;
    size_t blen = 0, alen = 0;
    path_in(dir, g_root, "again");
    assert_int_equal(yb_tls_ensure_cert(dir, "a.example", err, sizeof(err)), 0);
    path_in(chain, dir, "chain.pem");
    assert_int_equal(pal_file_read_all(chain, 1 << 20, &before, &blen), 0);
    assert_int_equal(yb_tls_ensure_cert(dir, "b.example", err, sizeof(err)), 0);
    assert_int_equal(pal_file_read_all(chain, 1 << 20, &after, &alen), 0);
    assert_int_equal(blen, alen);
    assert_memory_equal(before, after, blen);
    free(before);
    free(after);
}

static void check_half_pair(const char *sub, const char *remove, const char *keep)
{
    char dir[PAL_PATH_MAX], gone[PAL_PATH_MAX], kept[PAL_PATH_MAX], err[YB_TLS_ERR_MAX];
    char *before = NULL, *after = NULL;
    size_t blen = 0, alen = 0;
    path_in(dir, g_root, sub);
    assert_int_equal(yb_tls_ensure_cert(dir, "half.example", err, sizeof(err)), 0);
    path_in(gone, dir, remove);
    path_in(kept, dir, keep);
    assert_int_equal(pal_fs_unlink(gone), 0);
    assert_int_equal(pal_file_read_all(kept, 1 << 20, &before, &blen), 0);
    err[0] = '\0';
    assert_int_equal(yb_tls_ensure_cert(dir, "half.example", err, sizeof(err)), YB_ENOENT);
    print_message("refused: %s\n", err);
    assert_non_null(strstr(err, remove));
    assert_non_null(strstr(err, "missing"));
    assert_false(pal_file_exists(gone));
    assert_int_equal(pal_file_read_all(kept, 1 << 20, &after, &alen), 0);
    assert_int_equal(blen, alen);
    assert_memory_equal(before, after, blen);
    free(before);
    free(after);
}

static void test_ensure_cert_refuses_half_a_pair(void **state)
{
    (void)state;
    check_half_pair("half1", "chain.pem", "key.pem");
    check_half_pair("half2", "key.pem", "chain.pem");
}

static void test_ensure_cert_bad_hostname(void **state)
{
    (void)state;
    char dir[PAL_PATH_MAX], err[YB_TLS_ERR_MAX];
    path_in(dir, g_root, "badname");
    assert_int_equal(yb_tls_ensure_cert(dir, "", err, sizeof(err)), YB_EINVAL);
    assert_int_equal(yb_tls_ensure_cert(dir, "a.example,DNS:evil", err, sizeof(err)), YB_EINVAL);
    assert_int_equal(yb_tls_ensure_cert(dir, "a b", err, sizeof(err)), YB_EINVAL);
    /* A 100-byte name cannot be a CN (64 max) but is still a valid SAN. */
    char longname[101];
    memset(longname, 'a', 100);
    longname[100] = '\0';
    longname[50] = '.';
    assert_int_equal(yb_tls_ensure_cert(dir, longname, err, sizeof(err)), 0);
    char chain[PAL_PATH_MAX];
    path_in(chain, dir, "chain.pem");
    X509 *x = load_cert(chain);
    assert_int_equal(X509_check_host(x, longname, 0, 0, NULL), 1);
    X509_free(x);
}

/* ---- contexts ---- */

static void test_ctx_errors_name_the_file(void **state)
{
    (void)state;
    char missing[PAL_PATH_MAX], err[YB_TLS_ERR_MAX];
    struct yb_tls_ctx *ctx = NULL;
    path_in(missing, g_root, "no-such-chain.pem");
    assert_int_not_equal(T->ctx_new_server(missing, g_key1, &ctx, err, sizeof(err)), 0);
    assert_null(ctx);
    print_message("missing chain: %s\n", err);
    assert_non_null(strstr(err, "no-such-chain.pem"));
    /* A key that is not a PEM key. */
    assert_int_not_equal(T->ctx_new_server(g_chain1, g_chain1, &ctx, err, sizeof(err)), 0);
    print_message("not a key: %s\n", err);
    assert_non_null(strstr(err, g_chain1));
    /* The key of another certificate. */
    assert_int_not_equal(T->ctx_new_server(g_chain1, g_key2, &ctx, err, sizeof(err)), 0);
    print_message("mismatch: %s\n", err);
    assert_non_null(strstr(err, g_key2));
    assert_non_null(strstr(err, "mismatch"));
    assert_null(ctx);
}

static void test_ctx_refcount(void **state)
{
    (void)state;
    struct yb_tls_ctx *a = T->ctx_ref(g_ctx1);
    assert_ptr_equal(a, g_ctx1);
    struct yb_tls_conn *c = NULL;
    assert_int_equal(T->conn_new(a, &c), 0);
    T->ctx_unref(&a);
    assert_null(a);
    T->conn_free(&c);
    assert_null(T->ctx_ref(NULL));
    T->ctx_unref(&a); /* NULL is fine */
}

/* ---- handshakes and data ---- */

static void test_tls13_data_both_ways(void **state)
{
    (void)state;
    struct pair p;
    open_and_handshake(&p, g_ctx1, client_ctx(TLS1_2_VERSION, 0));
    assert_string_equal(T->version(p.s), "TLSv1.3");
    assert_non_null(T->cipher(p.s));
    assert_null(T->sni(p.s));
    assert_true(allowed_group(SSL_get_negotiated_group(p.c)));
    assert_int_equal(T->handshake(p.s), 0); /* done stays done */

    client_write(&p, "a1 NOOP\r\n", 9);
    pump(&p);
    unsigned char buf[64];
    server_read_all(&p, buf, 9);
    assert_memory_equal(buf, "a1 NOOP\r\n", 9);
    assert_int_equal(T->write(p.s, "a1 OK\r\n", 7), 0);
    assert_true(T->out_pending(p.s) > 7);
    client_read_all(&p, buf, 7);
    assert_memory_equal(buf, "a1 OK\r\n", 7);

    /* 1 MiB each way, the server fed in small chunks. */
    size_t big = 1u << 20;
    unsigned char *out = malloc(big), *in = malloc(big);
    assert_non_null(out);
    assert_non_null(in);
    for (size_t i = 0; i < big; i++)
        out[i] = (unsigned char)(i * 131 + (i >> 9));
    assert_int_equal(T->write(p.s, out, big), 0);
    client_read_all(&p, in, big);
    assert_memory_equal(in, out, big);
    p.chunk = 1000;
    memset(in, 0, big);
    client_write(&p, out, big);
    server_read_all(&p, in, big);
    assert_memory_equal(in, out, big);
    free(out);
    free(in);

    /* Idle: trim gives back the queues, and the connection still works. */
    assert_int_equal(T->out_pending(p.s), 0);
    assert_int_equal(T->pending(p.s), 0);
    T->trim(p.s);
    client_write(&p, "x", 1);
    pump(&p);
    server_read_all(&p, buf, 1);
    assert_int_equal(buf[0], 'x');
    pair_close(&p);
}

static void test_handshake_byte_at_a_time(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, g_ctx1, client_ctx(TLS1_2_VERSION, 0));
    p.chunk = 1;
    bool ok = false;
    assert_int_equal(handshake(&p, &ok), 0);
    assert_true(ok);
    client_write(&p, "hello", 5);
    unsigned char buf[8];
    server_read_all(&p, buf, 5);
    assert_memory_equal(buf, "hello", 5);
    pair_close(&p);
}

static void test_pending_reports_buffered_plaintext(void **state)
{
    (void)state;
    struct pair p;
    open_and_handshake(&p, g_ctx1, client_ctx(TLS1_2_VERSION, 0));
    unsigned char buf[32];
    size_t got = 0;
    assert_int_equal(T->pending(p.s), 0);
    assert_int_equal(T->read(p.s, buf, sizeof(buf), &got), YB_EAGAIN);
    assert_int_equal(got, 0);

    client_write(&p, "hello world", 11); /* one record */
    pump(&p);
    assert_int_equal(T->read(p.s, buf, 5, &got), 0);
    assert_int_equal(got, 5);
    assert_int_equal(T->pending(p.s), 6);
    assert_int_equal(T->read(p.s, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 6);
    assert_memory_equal(buf, " world", 6);
    assert_int_equal(T->pending(p.s), 0);

    /* Two records fed at once: after the first, the second is still held. */
    client_write(&p, "abc", 3);
    client_write(&p, "defg", 4);
    pump(&p);
    assert_int_equal(T->read(p.s, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 3);
    assert_int_equal(T->pending(p.s), 4);
    assert_int_equal(T->read(p.s, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "defg", 4);
    assert_int_equal(T->pending(p.s), 0);
    assert_int_equal(T->read(p.s, buf, sizeof(buf), &got), YB_EAGAIN);
    pair_close(&p);
}

/* Stateless tickets: a second connection resumes without a full handshake. */
static void test_session_resumption(void **state)
{
    (void)state;
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        struct pair p;
        open_and_handshake(&p, g_ctx1, client_ctx(v, v));
        /* The client reads (and so takes in TLS 1.3's tickets) one reply. */
        assert_int_equal(T->write(p.s, "ok", 2), 0);
        unsigned char buf[2];
        client_read_all(&p, buf, 2);
        SSL_SESSION *sess = SSL_get1_session(p.c);
        assert_non_null(sess);
        assert_true(SSL_SESSION_is_resumable(sess));
        assert_false(SSL_session_reused(p.c));
        SSL_CTX *cctx = p.cctx;
        assert_int_equal(SSL_CTX_up_ref(cctx), 1);
        /* A clean close: OpenSSL marks the session of an unclean one not resumable. */
        assert_true(SSL_shutdown(p.c) >= 0);
        pair_close(&p);

        pair_open(&p, g_ctx1, cctx);
        assert_int_equal(SSL_set_session(p.c, sess), 1);
        bool ok = false;
        assert_int_equal(handshake(&p, &ok), 0);
        assert_true(ok);
        assert_true(SSL_session_reused(p.c));
        SSL_SESSION_free(sess);
        pair_close(&p);
    }
}

static void test_close_notify(void **state)
{
    (void)state;
    struct pair p;
    open_and_handshake(&p, g_ctx1, client_ctx(TLS1_2_VERSION, 0));
    unsigned char buf[16];
    size_t got = 0;
    client_write(&p, "bye", 3);
    assert_true(SSL_shutdown(p.c) >= 0);
    pump(&p);
    assert_int_equal(T->read(p.s, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 3);
    assert_int_equal(T->read(p.s, buf, sizeof(buf), &got), YB_ECLOSED);
    assert_int_equal(T->read(p.s, buf, sizeof(buf), &got), YB_ECLOSED);
    /* Our close_notify reaches the client. */
    assert_int_equal(T->shutdown(p.s), 0);
    assert_true(T->out_pending(p.s) > 0);
    pump(&p);
    assert_int_equal(SSL_read_ex(p.c, buf, sizeof(buf), &got), 0);
    assert_int_equal(SSL_get_error(p.c, 0), SSL_ERROR_ZERO_RETURN);
    pair_close(&p);
}

static void test_server_shutdown_first(void **state)
{
    (void)state;
    struct pair p;
    open_and_handshake(&p, g_ctx1, client_ctx(TLS1_2_VERSION, 0));
    unsigned char buf[16];
    size_t got = 0;
    assert_int_equal(T->shutdown(p.s), 0);
    pump(&p);
    assert_int_equal(SSL_read_ex(p.c, buf, sizeof(buf), &got), 0);
    assert_int_equal(SSL_get_error(p.c, 0), SSL_ERROR_ZERO_RETURN);
    assert_int_equal(SSL_shutdown(p.c), 1);
    pump(&p);
    assert_int_equal(T->read(p.s, buf, sizeof(buf), &got), YB_ECLOSED);
    pair_close(&p);
}

/* Runs a handshake that must fail on the server side with YB_EPARSE. */
static void expect_refused(SSL_CTX *cctx, const char *what)
{
    struct pair p;
    bool ok = true;
    pair_open(&p, g_ctx1, cctx);
    int rc = handshake(&p, &ok);
    print_message("%s: %s\n", what, T->errtext(p.s));
    assert_false(ok);
    assert_int_equal(rc, YB_EPARSE);
    assert_true(T->errtext(p.s)[0] != '\0');
    /* The session stays broken. */
    assert_int_equal(T->handshake(p.s), YB_EPARSE);
    assert_int_equal(T->write(p.s, "x", 1), YB_EPARSE);
    pair_close(&p);
}

static void test_tls11_refused(void **state)
{
    (void)state;
    SSL_CTX *cctx = client_ctx(TLS1_1_VERSION, TLS1_1_VERSION);
    SSL_CTX_set_security_level(cctx, 0);
    assert_int_equal(SSL_CTX_set_cipher_list(cctx, "DEFAULT:@SECLEVEL=0"), 1);
    expect_refused(cctx, "TLS 1.1 client");
}

static void test_non_aead_refused(void **state)
{
    (void)state;
    static const char *const suites[] = { "AES128-SHA", "ECDHE-ECDSA-AES128-SHA",
                                          "ECDHE-ECDSA-AES128-SHA256", "AES128-GCM-SHA256" };
    for (size_t i = 0; i < YB_ARRAY_LEN(suites); i++) {
        SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
        assert_int_equal(SSL_CTX_set_cipher_list(cctx, suites[i]), 1);
        expect_refused(cctx, suites[i]);
    }
}

static void test_tls12_good_suites_accepted(void **state)
{
    (void)state;
    static const char *const suites[] = { "ECDHE-ECDSA-AES128-GCM-SHA256",
                                          "ECDHE-ECDSA-AES256-GCM-SHA384",
                                          "ECDHE-ECDSA-CHACHA20-POLY1305" };
    for (size_t i = 0; i < YB_ARRAY_LEN(suites); i++) {
        SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION);
        assert_int_equal(SSL_CTX_set_cipher_list(cctx, suites[i]), 1);
        struct pair p;
        open_and_handshake(&p, g_ctx1, cctx);
        assert_string_equal(T->version(p.s), "TLSv1.2");
        assert_string_equal(T->cipher(p.s), suites[i]);
        assert_true(allowed_group(SSL_get_negotiated_group(p.c)));
        pair_close(&p);
    }
}

static void test_groups(void **state)
{
    (void)state;
    /*
     * Each allowed group is chosen when the client prefers it, in 1.3 and 1.2
     * (a 1.2 client must also list P-256, the curve of our ECDSA certificate).
     */
    static const char *const groups[] = { "X25519:P-256", "P-256", "P-384:P-256" };
    static const int nids[] = { NID_X25519, NID_X9_62_prime256v1, NID_secp384r1 };
    for (size_t i = 0; i < YB_ARRAY_LEN(groups); i++) {
        for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
            SSL_CTX *cctx = client_ctx(v, v);
            assert_int_equal(SSL_CTX_set1_groups_list(cctx, groups[i]), 1);
            struct pair p;
            open_and_handshake(&p, g_ctx1, cctx);
            assert_int_equal(SSL_get_negotiated_group(p.c), nids[i]);
            pair_close(&p);
        }
    }
    /* A client that offers only P-521 finds no common group. */
    SSL_CTX *cctx = client_ctx(TLS1_3_VERSION, TLS1_3_VERSION);
    assert_int_equal(SSL_CTX_set1_groups_list(cctx, "P-521"), 1);
    expect_refused(cctx, "P-521 only");
}

static void test_plaintext_client_gets_eparse(void **state)
{
    (void)state;
    struct yb_tls_conn *c = NULL;
    assert_int_equal(T->conn_new(g_ctx1, &c), 0);
    assert_int_equal(T->handshake(c), YB_EAGAIN);
    assert_int_equal(T->feed(c, "EHLO x\r\n", 8), 0);
    assert_int_equal(T->handshake(c), YB_EPARSE);
    print_message("plaintext: %s\n", T->errtext(c));
    assert_true(T->errtext(c)[0] != '\0');
    assert_int_equal(T->handshake(c), YB_EPARSE);
    size_t got = 1;
    unsigned char buf[8];
    assert_int_equal(T->read(c, buf, sizeof(buf), &got), YB_EPARSE);
    assert_int_equal(got, 0);
    T->conn_free(&c);
}

struct sni_seen {
    int calls;
    char name[64];
};

static struct yb_tls_ctx *select_ctx(void *arg, const char *name)
{
    struct sni_seen *seen = arg;
    seen->calls++;
    size_t n = strlen(name);
    if (n >= sizeof(seen->name))
        n = sizeof(seen->name) - 1;
    memcpy(seen->name, name, n);
    seen->name[n] = '\0';
    if (strcmp(name, "two.example") == 0)
        return T->ctx_ref(g_ctx2);
    if (strcmp(name, "self.example") == 0)
        return T->ctx_ref(g_ctx1);
    return NULL;
}

/* The CN of the certificate the client saw. */
static void peer_cn(SSL *c, char *cn, size_t size)
{
    X509 *x = SSL_get1_peer_certificate(c);
    assert_non_null(x);
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)size) >
                0);
    X509_free(x);
}

static void sni_case(const char *name, const char *want_cn, int want_calls)
{
    struct sni_seen seen = { 0, "" };
    struct yb_tls_ctx *ctx = T->ctx_ref(g_ctx1);
    T->ctx_set_sni(ctx, select_ctx, &seen);
    SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, 0);
    struct pair p;
    pair_open(&p, ctx, cctx);
    if (name != NULL)
        assert_int_equal(SSL_set_tlsext_host_name(p.c, name), 1);
    bool ok = false;
    assert_int_equal(handshake(&p, &ok), 0);
    assert_true(ok);
    assert_int_equal(seen.calls, want_calls);
    if (name != NULL) {
        assert_string_equal(seen.name, name);
        assert_string_equal(T->sni(p.s), name);
    } else {
        assert_null(T->sni(p.s));
    }
    char cn[64];
    peer_cn(p.c, cn, sizeof(cn));
    assert_string_equal(cn, want_cn);
    T->ctx_set_sni(ctx, NULL, NULL);
    T->ctx_unref(&ctx); /* the connection keeps its own references */
    client_write(&p, "ping", 4);
    unsigned char buf[4];
    server_read_all(&p, buf, 4);
    pair_close(&p);
}

static void test_sni_switches_context(void **state)
{
    (void)state;
    sni_case("two.example", "two.example", 1);
    sni_case("Other.Example", "mail.example", 1);
    sni_case("self.example", "mail.example", 1);
    sni_case(NULL, "mail.example", 0);
}

static void test_renegotiation_refused(void **state)
{
    (void)state;
    struct pair p;
    open_and_handshake(&p, g_ctx1, client_ctx(TLS1_2_VERSION, TLS1_2_VERSION));
    assert_int_equal(SSL_renegotiate(p.c), 1);
    unsigned char buf[16];
    size_t got = 0;
    int cret = SSL_do_handshake(p.c);
    bool client_failed = false;
    for (int i = 0; i < 20 && !client_failed; i++) {
        pump(&p);
        int rc = T->read(p.s, buf, sizeof(buf), &got);
        assert_true(rc == YB_EAGAIN || rc == YB_EPARSE);
        pump(&p);
        cret = SSL_do_handshake(p.c);
        if (cret != 1 && SSL_get_error(p.c, cret) == SSL_ERROR_SSL)
            client_failed = true;
        if (cret == 1 && SSL_renegotiate_pending(p.c) == 0)
            break;
    }
    assert_true(client_failed);
    unsigned long e = ERR_peek_error();
    char reason[160];
    ERR_error_string_n(e, reason, sizeof(reason));
    print_message("client renegotiation: %s\n", reason);
    assert_int_equal(SSL_num_renegotiations(p.c), 1); /* asked once, never completed */
    pair_close(&p);
}

static void test_garbage_after_handshake(void **state)
{
    (void)state;
    unsigned char junk[3000];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(i * 7 + 3);
    /* Garbage alone, then garbage that looks like an application record. */
    for (int variant = 0; variant < 3; variant++) {
        struct pair p;
        open_and_handshake(&p, g_ctx1,
                           client_ctx(TLS1_2_VERSION, variant == 2 ? TLS1_2_VERSION : 0));
        if (variant > 0) {
            junk[0] = 23; /* application_data */
            junk[1] = 3;
            junk[2] = 3;
            junk[3] = 0x02;
            junk[4] = 0x00;
        }
        assert_int_equal(T->feed(p.s, junk, sizeof(junk)), 0);
        unsigned char buf[64];
        size_t got = 0;
        int rc = T->read(p.s, buf, sizeof(buf), &got);
        print_message("garbage %d: %s (%s)\n", variant, yb_errname(rc), T->errtext(p.s));
        assert_int_equal(rc, YB_EPARSE);
        assert_int_equal(got, 0);
        assert_int_equal(T->pending(p.s), 0);
        assert_int_equal(T->read(p.s, buf, sizeof(buf), &got), YB_EPARSE);
        assert_int_equal(T->write(p.s, "x", 1), YB_EPARSE);
        assert_int_equal(T->shutdown(p.s), YB_EPARSE);
        assert_int_equal(T->feed(p.s, junk, sizeof(junk)), 0);
        T->trim(p.s);
        pair_close(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ensure_cert_creates_pair),
        cmocka_unit_test(test_ensure_cert_is_idempotent),
        cmocka_unit_test(test_ensure_cert_refuses_half_a_pair),
        cmocka_unit_test(test_ensure_cert_bad_hostname),
        cmocka_unit_test(test_ctx_errors_name_the_file),
        cmocka_unit_test(test_ctx_refcount),
        cmocka_unit_test(test_tls13_data_both_ways),
        cmocka_unit_test(test_handshake_byte_at_a_time),
        cmocka_unit_test(test_pending_reports_buffered_plaintext),
        cmocka_unit_test(test_session_resumption),
        cmocka_unit_test(test_close_notify),
        cmocka_unit_test(test_server_shutdown_first),
        cmocka_unit_test(test_tls11_refused),
        cmocka_unit_test(test_non_aead_refused),
        cmocka_unit_test(test_tls12_good_suites_accepted),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_plaintext_client_gets_eparse),
        cmocka_unit_test(test_sni_switches_context),
        cmocka_unit_test(test_renegotiation_refused),
        cmocka_unit_test(test_garbage_after_handshake),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
