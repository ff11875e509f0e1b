/*
 * yb_tls_openssl.c - the OpenSSL 3 backend of yb_tls.h.
 *
 * Ciphertext never touches a socket here: each connection has one custom BIO
 * (used as both read and write BIO) over two byte queues, `in` (what feed()
 * gave us, not yet consumed by OpenSSL) and `out` (records OpenSSL produced,
 * not yet taken by out_take()). A custom BIO rather than a pair of memory
 * BIOs because we own its storage: an emptied queue can be freed (trim), so
 * an idle connection holds only the SSL object and its session, while a
 * BIO_s_mem keeps its largest buffer for life. With SSL_MODE_RELEASE_BUFFERS
 * OpenSSL also frees its 17 KiB record buffers whenever they are empty.
 *
 * Session resumption: stateless tickets (RFC 5077 / TLS 1.3 PSK tickets),
 * encrypted with keys OpenSSL generates at random for each SSL_CTX; they die
 * with the context, and the server-side session cache is off, so no session
 * state is kept per client. Ticket lifetime is capped at two hours.
 */
#include "yb_tls.h"
#include "yb_tls_int.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "pal_err.h"

/* Mozilla "intermediate" TLS 1.2 suites, ECDHE only (TLS 1.3 keeps OpenSSL's defaults). */
#define YB_TLS12_CIPHERS                                         \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define YB_TLS_GROUPS "X25519:prime256v1:secp384r1"

/* How long a resumption ticket stays valid (seconds). */
#define YB_TLS_TICKET_LIFETIME 7200

/*
 * Most ciphertext one queue may hold. The engine drains both directions as
 * it goes; this only stops a runaway caller from exhausting memory.
 */
#define YB_TLS_QUEUE_MAX (64u * 1024 * 1024)

/* An emptied queue keeps its storage up to this size (about one record) for reuse. */
#define YB_TLS_QUEUE_KEEP (17u * 1024 + 512)

struct yb_tls_ctx {
    SSL_CTX *ssl_ctx;
    atomic_uint refs;
    struct yb_tls_ctx *(*select)(void *arg, const char *name);
    void *select_arg;
};

/* Bytes p[off .. off+len) are queued; cap bytes are allocated. */
struct yb_tls_queue {
    unsigned char *p;
    size_t off;
    size_t len;
    size_t cap;
};

struct yb_tls_conn {
    SSL *ssl;
    struct yb_tls_ctx *ctx;     /* our reference to the listener's context */
    struct yb_tls_ctx *sni_ctx; /* the context SNI switched to (a reference), or NULL */
    struct yb_tls_queue in;
    struct yb_tls_queue out;
    int failed;       /* a sticky error: once the session broke, every call returns it */
    bool out_overrun; /* the BIO refused a write: out would pass YB_TLS_QUEUE_MAX */
    char err[YB_TLS_ERR_MAX];
};

/* ---- byte queues ---- */

static int queue_append(struct yb_tls_queue *q, const void *data, size_t n)
{
    if (n > YB_TLS_QUEUE_MAX - q->len)
        return YB_ELIMIT;
    if (q->len == 0)
        q->off = 0;
    if (n > q->cap - q->off - q->len) {
        if (q->off > 0) {
            memmove(q->p, q->p + q->off, q->len);
            q->off = 0;
        }
        if (n > q->cap - q->len) {
            size_t want = q->cap < 4096 ? 4096 : q->cap;
            while (want < q->len + n)
                want *= 2;
            unsigned char *np = realloc(q->p, want);
            if (np == NULL)
                return YB_ENOMEM;
            q->p = np;
            q->cap = want;
        }
    }
    memcpy(q->p + q->off + q->len, data, n);
    q->len += n;
    return 0;
}

static void queue_release(struct yb_tls_queue *q)
{
    free(q->p);
    *q = (struct yb_tls_queue){ NULL, 0, 0, 0 };
}

/* Moves up to cap bytes out of the queue; an emptied big buffer goes back to the allocator. */
static size_t queue_take(struct yb_tls_queue *q, void *buf, size_t cap)
{
    size_t n = q->len < cap ? q->len : cap;
    if (n > 0)
        memcpy(buf, q->p + q->off, n);
    q->off += n;
    q->len -= n;
    if (q->len == 0) {
        q->off = 0;
        if (q->cap > YB_TLS_QUEUE_KEEP)
            queue_release(q);
    }
    return n;
}

/* ---- the BIO between OpenSSL and the queues ---- */

static BIO_METHOD *bio_method;
static CRYPTO_ONCE bio_once = CRYPTO_ONCE_STATIC_INIT;

static int bio_read(BIO *b, char *buf, int len)
{
    struct yb_tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    if (c->in.len == 0) {
        BIO_set_retry_read(b); /* no more input yet: WANT_READ */
        return -1;
    }
    return (int)queue_take(&c->in, buf, (size_t)len);
}

static int bio_write(BIO *b, const char *buf, int len)
{
    struct yb_tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    if (queue_append(&c->out, buf, (size_t)len) != 0) {
        c->out_overrun = true;
        return -1;
    }
    return len;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct yb_tls_conn *c = BIO_get_data(b);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: return (long)c->in.len;
    case BIO_CTRL_WPENDING: return (long)c->out.len;
    default: return 0;
    }
}

static void bio_method_init(void)
{
    int type = BIO_get_new_index();
    BIO_METHOD *m = type < 0 ? NULL : BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "yubin-queue");
    if (m == NULL)
        return;
    if (!BIO_meth_set_read(m, bio_read) || !BIO_meth_set_write(m, bio_write) ||
        !BIO_meth_set_ctrl(m, bio_ctrl)) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m;
}

/* ---- errors ---- */

void yb__tls_openssl_error(char *buf, size_t size, const char *what)
{
    char reason[YB_TLS_ERR_MAX];
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    else
        snprintf(reason, sizeof(reason), "unknown OpenSSL error");
    ERR_clear_error();
    if (buf != NULL && size > 0) {
        int n = snprintf(buf, size, "%s: %s", what, reason);
        if (n < 0)
            buf[0] = '\0'; /* a truncated message is still the best we have */
    }
}

/*
 * Translates a failed SSL call (its return value ret) into a YB_E* code.
 * Needing input is YB_EAGAIN; close_notify is YB_ECLOSED; anything else breaks
 * the session for good and is remembered in c->failed.
 */
static int conn_error(struct yb_tls_conn *c, int ret, const char *what)
{
    int rc;
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: ERR_clear_error(); return YB_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        snprintf(c->err, sizeof(c->err), "%s: peer sent close_notify", what);
        return YB_ECLOSED;
    case SSL_ERROR_SSL:
        yb__tls_openssl_error(c->err, sizeof(c->err), what);
        rc = YB_EPARSE;
        break;
    default:
        ERR_clear_error();
        if (c->out_overrun) {
            snprintf(c->err, sizeof(c->err), "%s: output queue over its limit", what);
            rc = YB_ELIMIT;
        } else {
            snprintf(c->err, sizeof(c->err), "%s: unexpected I/O failure", what);
            rc = YB_EIO;
        }
        break;
    }
    c->failed = rc;
    return rc;
}

/* ---- contexts ---- */

/* Refuses to prompt on a terminal for the pass phrase of an encrypted key. */
static int no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)userdata;
    return 0;
}

static void ctx_unref(struct yb_tls_ctx **ctxp);

static int on_servername(SSL *ssl, int *alert, void *arg)
{
    struct yb_tls_ctx *ctx = arg;
    struct yb_tls_conn *c = SSL_get_app_data(ssl);
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    (void)alert;
    if (ctx->select == NULL || name == NULL || c == NULL || c->sni_ctx != NULL)
        return SSL_TLSEXT_ERR_OK;
    struct yb_tls_ctx *other = ctx->select(ctx->select_arg, name);
    if (other == NULL)
        return SSL_TLSEXT_ERR_OK;
    if (other == ctx || SSL_set_SSL_CTX(ssl, other->ssl_ctx) == NULL) {
        ctx_unref(&other);
        return SSL_TLSEXT_ERR_OK;
    }
    c->sni_ctx = other; /* keeps the certificate's context alive with the connection */
    return SSL_TLSEXT_ERR_OK;
}

static int apply_policy(SSL_CTX *s)
{
    if (!SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION) ||
        !SSL_CTX_set_cipher_list(s, YB_TLS12_CIPHERS) ||
        !SSL_CTX_set1_groups_list(s, YB_TLS_GROUPS))
        return -1;
    SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_clear_options(s, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS);
    /* Stateless tickets carry the session; no server-side cache to grow. */
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_timeout(s, YB_TLS_TICKET_LIFETIME);
    static const unsigned char sid_ctx[] = "yubin";
    if (!SSL_CTX_set_session_id_context(s, sid_ctx, sizeof(sid_ctx) - 1))
        return -1;
    SSL_CTX_set_default_passwd_cb(s, no_passphrase);
    return 0;
}

static int ctx_new_server(const char *chain_path, const char *key_path, struct yb_tls_ctx **ctx_r,
                          char *errbuf, size_t errsize)
{
    char what[YB_TLS_ERR_MAX];
    *ctx_r = NULL;
    if (chain_path == NULL || key_path == NULL) {
        snprintf(errbuf, errsize, "TLS context: no certificate chain or key file given");
        return YB_EINVAL;
    }
    ERR_clear_error();
    struct yb_tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        snprintf(errbuf, errsize, "TLS context: out of memory");
        return YB_ENOMEM;
    }
    atomic_init(&ctx->refs, 1);
    int rc = YB_EINVAL;
    ctx->ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (ctx->ssl_ctx == NULL || apply_policy(ctx->ssl_ctx) != 0) {
        yb__tls_openssl_error(errbuf, errsize, "TLS context");
        rc = YB_ENOMEM;
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, chain_path) != 1) {
        snprintf(what, sizeof(what), "%s: cannot load certificate chain", chain_path);
        yb__tls_openssl_error(errbuf, errsize, what);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx->ssl_ctx, key_path, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof(what), "%s: cannot load private key", key_path);
        yb__tls_openssl_error(errbuf, errsize, what);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx->ssl_ctx) != 1) {
        snprintf(what, sizeof(what), "%s: private key does not match certificate in %s", key_path,
                 chain_path);
        yb__tls_openssl_error(errbuf, errsize, what);
        goto fail;
    }
    SSL_CTX_set_tlsext_servername_callback(ctx->ssl_ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx->ssl_ctx, ctx);
    *ctx_r = ctx;
    return 0;
fail:
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
    return rc;
}

static struct yb_tls_ctx *ctx_ref(struct yb_tls_ctx *ctx)
{
    if (ctx != NULL)
        atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
    return ctx;
}

static void ctx_unref(struct yb_tls_ctx **ctxp)
{
    struct yb_tls_ctx *ctx = *ctxp;
    *ctxp = NULL;
    if (ctx == NULL || atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* Set while the context is being configured, before connections use it. */
static void ctx_set_sni(struct yb_tls_ctx *ctx,
                        struct yb_tls_ctx *(*select)(void *arg, const char *name), void *arg)
{
    ctx->select = select;
    ctx->select_arg = arg;
}

/* ---- connections ---- */

static int conn_new(struct yb_tls_ctx *ctx, struct yb_tls_conn **conn_r)
{
    *conn_r = NULL;
    if (CRYPTO_THREAD_run_once(&bio_once, bio_method_init) != 1 || bio_method == NULL)
        return YB_ENOMEM;
    struct yb_tls_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return YB_ENOMEM;
    BIO *bio = NULL;
    ERR_clear_error();
    c->ssl = SSL_new(ctx->ssl_ctx);
    if (c->ssl == NULL || (bio = BIO_new(bio_method)) == NULL)
        goto fail;
    BIO_set_data(bio, c);
    BIO_set_init(bio, 1);
    SSL_set_bio(c->ssl, bio, bio); /* one reference, owned by the SSL from here on */
    SSL_set_app_data(c->ssl, c);
    SSL_set_accept_state(c->ssl);
    c->ctx = ctx_ref(ctx);
    *conn_r = c;
    return 0;
fail:
    ERR_clear_error();
    SSL_free(c->ssl);
    free(c);
    return YB_ENOMEM;
}

static void conn_free(struct yb_tls_conn **cp)
{
    struct yb_tls_conn *c = *cp;
    *cp = NULL;
    if (c == NULL)
        return;
    SSL_free(c->ssl);
    ctx_unref(&c->sni_ctx);
    ctx_unref(&c->ctx);
    queue_release(&c->in);
    queue_release(&c->out);
    free(c);
}

static int feed(struct yb_tls_conn *c, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    int rc = queue_append(&c->in, data, len);
    if (rc == YB_ELIMIT)
        snprintf(c->err, sizeof(c->err), "TLS input queue over its limit");
    return rc;
}

static int handshake(struct yb_tls_conn *c)
{
    if (c->failed != 0)
        return c->failed;
    if (SSL_is_init_finished(c->ssl))
        return 0;
    ERR_clear_error();
    int ret = SSL_do_handshake(c->ssl);
    if (ret == 1)
        return 0;
    return conn_error(c, ret, "TLS handshake");
}

static int conn_read(struct yb_tls_conn *c, void *buf, size_t len, size_t *got_r)
{
    *got_r = 0;
    if (c->failed != 0)
        return c->failed;
    if (len == 0)
        return 0;
    ERR_clear_error();
    int ret = SSL_read_ex(c->ssl, buf, len, got_r);
    if (ret == 1)
        return 0;
    *got_r = 0;
    return conn_error(c, ret, "TLS read");
}

static int conn_write(struct yb_tls_conn *c, const void *buf, size_t len)
{
    if (c->failed != 0)
        return c->failed;
    if (len == 0)
        return 0;
    ERR_clear_error();
    size_t put = 0;
    /* Without SSL_MODE_ENABLE_PARTIAL_WRITE one call encrypts all of it (our BIO never blocks). */
    int ret = SSL_write_ex(c->ssl, buf, len, &put);
    if (ret == 1)
        return 0;
    return conn_error(c, ret, "TLS write");
}

/* True when in holds at least one whole TLS record (5-byte header + body). */
static bool whole_record_queued(const struct yb_tls_queue *q)
{
    if (q->len < 5)
        return false;
    const unsigned char *h = q->p + q->off;
    size_t body = ((size_t)h[3] << 8) | h[4];
    return q->len - 5 >= body;
}

static size_t pending(struct yb_tls_conn *c)
{
    if (c->failed != 0)
        return 0;
    size_t n = (size_t)SSL_pending(c->ssl);
    if (n > 0 || !SSL_is_init_finished(c->ssl) || !whole_record_queued(&c->in))
        return n;
    /*
     * A record that came in with earlier input is still ciphertext: decrypt it
     * now (peek consumes no plaintext) so the caller learns what read() holds.
     */
    unsigned char one;
    size_t got = 0;
    ERR_clear_error();
    int ret = SSL_peek_ex(c->ssl, &one, 1, &got);
    if (ret != 1) {
        (void)conn_error(c, ret, "TLS read"); /* read() reports it */
        return 0;
    }
    return (size_t)SSL_pending(c->ssl);
}

static size_t out_pending(struct yb_tls_conn *c)
{
    return c->out.len;
}

static int out_take(struct yb_tls_conn *c, void *buf, size_t cap, size_t *n_r)
{
    *n_r = queue_take(&c->out, buf, cap);
    return 0;
}

static int conn_shutdown(struct yb_tls_conn *c)
{
    if (c->failed != 0)
        return c->failed;
    if (!SSL_is_init_finished(c->ssl))
        return YB_ENOTCONN;
    ERR_clear_error();
    int ret = SSL_shutdown(c->ssl);
    if (ret >= 0)
        return 0; /* close_notify queued (0: the peer's not seen yet; we do not wait) */
    return conn_error(c, ret, "TLS shutdown");
}

static const char *conn_version(struct yb_tls_conn *c)
{
    return SSL_get_version(c->ssl);
}

static const char *conn_cipher(struct yb_tls_conn *c)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
    return cipher != NULL ? SSL_CIPHER_get_name(cipher) : NULL;
}

static const char *conn_sni(struct yb_tls_conn *c)
{
    return SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
}

static const char *conn_errtext(struct yb_tls_conn *c)
{
    return c->err;
}

static void trim(struct yb_tls_conn *c)
{
    if (c->in.len == 0)
        queue_release(&c->in);
    if (c->out.len == 0)
        queue_release(&c->out);
}

const struct yb_tls_ops yb_tls_openssl = {
    .name = "openssl",
    .ctx_new_server = ctx_new_server,
    .ctx_ref = ctx_ref,
    .ctx_unref = ctx_unref,
    .ctx_set_sni = ctx_set_sni,
    .conn_new = conn_new,
    .conn_free = conn_free,
    .feed = feed,
    .handshake = handshake,
    .read = conn_read,
    .write = conn_write,
    .pending = pending,
    .out_pending = out_pending,
    .out_take = out_take,
    .shutdown = conn_shutdown,
    .version = conn_version,
    .cipher = conn_cipher,
    .sni = conn_sni,
    .errtext = conn_errtext,
    .trim = trim,
};
