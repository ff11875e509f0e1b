/*
 * yb_tls.h - TLS behind an ops table (curl's vtls idea), so the backend can
 * be swapped; today one backend, OpenSSL 3.
 *
 * TLS never touches a socket: the engine hands it the ciphertext it read
 * (feed) and sends the ciphertext TLS produced (out_take), so the same code
 * serves implicit TLS and STARTTLS on every platform, and the engine keeps
 * its own I/O, timeouts and limits. pending() says how many plaintext bytes
 * TLS already decrypted and holds - bytes the poller cannot see.
 *
 * After handshake(), read() and pending(), check out_pending(): TLS 1.3 can
 * produce output at any of them (KeyUpdate, tickets).
 *
 * Server policy: Mozilla "intermediate" - TLS 1.2 and 1.3 only, AEAD cipher
 * suites with forward secrecy, groups X25519, P-256, P-384; no
 * renegotiation, no compression; stateless session tickets (2 hours) whose
 * keys live as long as the context, so rebuilding the context (certificate
 * reload, daily) rotates them; server cipher preference off (clients choose
 * among good suites).
 */
#ifndef YB_TLS_H
#define YB_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct yb_tls_ctx;  /* certificates and settings; shared by many connections */
struct yb_tls_conn; /* one connection */

#define YB_TLS_ERR_MAX 256

struct yb_tls_ops {
    const char *name;
    /*
     * A server context from a PEM certificate chain and PEM private key.
     * On error errbuf says which file and why.
     */
    int (*ctx_new_server)(const char *chain_path, const char *key_path, struct yb_tls_ctx **ctx_r,
                          char *errbuf, size_t errsize);
    /* Reference counting: connections hold a reference to their context. */
    struct yb_tls_ctx *(*ctx_ref)(struct yb_tls_ctx *ctx);
    void (*ctx_unref)(struct yb_tls_ctx **ctx);
    /*
     * SNI hook: select(arg, name) may return another context to use for this
     * connection (a new reference), or NULL to keep the default. Set it
     * before the context serves connections (it is not synchronised).
     */
    void (*ctx_set_sni)(struct yb_tls_ctx *ctx,
                        struct yb_tls_ctx *(*select)(void *arg, const char *name), void *arg);

    int (*conn_new)(struct yb_tls_ctx *ctx, struct yb_tls_conn **conn_r);
    void (*conn_free)(struct yb_tls_conn **conn);

    /* Gives TLS ciphertext received from the peer; consumes all of it (YB_ELIMIT past 64 MiB
     * queued). */
    int (*feed)(struct yb_tls_conn *c, const void *data, size_t len);
    /*
     * Advances the handshake: 0 when complete, YB_EAGAIN when it needs more
     * input (send out_take() first), or an error (YB_EPARSE for a protocol
     * failure; errtext() says why).
     */
    int (*handshake)(struct yb_tls_conn *c);
    /* Plaintext out: YB_EAGAIN when more input is needed, YB_ECLOSED after close_notify. */
    int (*read)(struct yb_tls_conn *c, void *buf, size_t len, size_t *got_r);
    /* Plaintext in: encrypts all of it into the output queue (YB_EAGAIN before the handshake ends).
     */
    int (*write)(struct yb_tls_conn *c, const void *buf, size_t len);
    /* Decrypted plaintext bytes held that read() returns without new input. */
    size_t (*pending)(struct yb_tls_conn *c);
    /* Ciphertext waiting to be sent. */
    size_t (*out_pending)(struct yb_tls_conn *c);
    /* Moves up to cap bytes of ciphertext to buf. */
    int (*out_take)(struct yb_tls_conn *c, void *buf, size_t cap, size_t *n_r);
    /* Queues close_notify (YB_ENOTCONN before the handshake ends). */
    int (*shutdown)(struct yb_tls_conn *c);
    /* "TLSv1.3", the cipher suite, the SNI name (or NULL), the last error text. */
    const char *(*version)(struct yb_tls_conn *c);
    const char *(*cipher)(struct yb_tls_conn *c);
    const char *(*sni)(struct yb_tls_conn *c);
    const char *(*errtext)(struct yb_tls_conn *c);
    /* Returns unused memory (buffers) of an idle connection to the allocator. */
    void (*trim)(struct yb_tls_conn *c);
};

/* The OpenSSL 3 backend. */
extern const struct yb_tls_ops yb_tls_openssl;

/*
 * Makes sure tls_dir holds "chain.pem" and "key.pem": if neither exists,
 * generates a private key (ECDSA P-256) and a self-signed certificate for
 * hostname (valid 10 years, SAN dNSName), written atomically with the key
 * readable by the owner only, so a fresh install can speak TLS at once.
 * Existing files are left alone. Returns 0 or an error described in errbuf.
 */
int yb_tls_ensure_cert(const char *tls_dir, const char *hostname, char *errbuf, size_t errsize);

#endif
