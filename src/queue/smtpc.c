/*
 * smtpc.c - the SMTP client (see smtpc.h).
 */
#include "smtpc.h"
#include "pal.h"
#include "yb_base64.h"
#include "yb_buf.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 5321 4.5.3.2 time-outs, in milliseconds. */
#define T_GREETING  (5u * 60 * 1000)
#define T_MAIL      (5u * 60 * 1000)
#define T_RCPT      (5u * 60 * 1000)
#define T_DATA_INIT (2u * 60 * 1000)
#define T_DATA_BLK  (3u * 60 * 1000)
#define T_DATA_END  (10u * 60 * 1000)
#define T_QUIT      (5u * 1000)

/* Longest command line we build. */
#define SMTPC_LIMIT_COMMAND 2048
#define IN_BUF              8192
#define OUT_BUF             (SMTPC_MAX_RCPTS * 700 + 2 * SMTPC_LIMIT_COMMAND)
#define READ_CHUNK          (64u * 1024)

struct smtpc_conn {
    pal_sock sock;
    SSL *ssl;
    char host[PAL_DNS_NAME_MAX];
    struct smtpc_opts opts;
    char helo[256];
    struct smtpc_ext ext;
    size_t in_off, in_len;
    unsigned char in[IN_BUF];
    size_t out_len; /* commands waiting to go out together (a PIPELINING group) */
    unsigned char out[OUT_BUF];
    struct smtpc_rparser rp;
};

/* ---- TLS contexts: one for opportunistic, one verifying ---- */

static pal_once tls_once = PAL_ONCE_INIT;
static SSL_CTX *ctx_any, *ctx_verify;

static SSL_CTX *make_ctx(bool verify)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    if (c == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (verify) {
        SSL_CTX_set_default_verify_paths(c);
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    }
    return c;
}

static void tls_init(void)
{
    ctx_any = make_ctx(false);
    ctx_verify = make_ctx(true);
}

/* ---- status helpers ---- */

static void set_status(struct smtpc_status *st, unsigned code, const char *fmt, ...)
    YB_PRINTF(3, 4);

static void set_status(struct smtpc_status *st, unsigned code, const char *fmt, ...)
{
    va_list ap;
    st->code = code;
    st->permanent = code >= 500;
    va_start(ap, fmt);
    int n = vsnprintf(st->text, sizeof st->text, fmt, ap);
    va_end(ap);
    if (n < 0)
        st->text[0] = '\0';
}

/* The reply as a status: "550 5.1.1 text" with the lines joined by spaces. */
static void status_from_reply(struct smtpc_status *st, const struct smtpc_reply *r)
{
    char text[SMTPC_STATUS_MAX];
    size_t i;
    for (i = 0; i < r->len && i + 1 < sizeof text; i++)
        text[i] = r->text[i] == '\n' ? ' ' : r->text[i];
    text[i] = '\0';
    set_status(st, r->code, "%u %s", r->code, text);
}

/* ---- raw I/O ---- */

static int sock_send_all(struct smtpc_conn *c, const void *data, size_t len, unsigned timeout_ms)
{
    const unsigned char *p = data;
    uint64_t deadline = pal_time_mono_ms() + timeout_ms;
    while (len > 0) {
        size_t sent = 0;
        int rc = pal_sock_send(c->sock, p, len, &sent);
        if (rc == YB_EAGAIN) {
            uint64_t now = pal_time_mono_ms();
            if (now >= deadline)
                return YB_ETIMEDOUT;
            rc = pal_sock_wait(c->sock, true, (int)(deadline - now));
            if (rc != 0)
                return rc;
            continue;
        }
        if (rc != 0)
            return rc;
        p += sent;
        len -= sent;
    }
    return 0;
}

/* Reads what the socket has (waiting up to the deadline) into buf. */
static int sock_recv_some(struct smtpc_conn *c, void *buf, size_t size, size_t *got_r,
                          uint64_t deadline)
{
    for (;;) {
        int rc = pal_sock_recv(c->sock, buf, size, got_r);
        if (rc != YB_EAGAIN)
            return rc == 0 && *got_r == 0 ? YB_ECLOSED : rc;
        uint64_t now = pal_time_mono_ms();
        if (now >= deadline)
            return YB_ETIMEDOUT;
        if ((rc = pal_sock_wait(c->sock, false, (int)(deadline - now))) != 0)
            return rc;
    }
}

/* Sends what OpenSSL has queued for the wire. */
static int tls_flush(struct smtpc_conn *c, unsigned timeout_ms)
{
    BIO *w = SSL_get_wbio(c->ssl);
    unsigned char buf[16384];
    int n;
    while ((n = BIO_read(w, buf, (int)sizeof buf)) > 0) {
        int rc = sock_send_all(c, buf, (size_t)n, timeout_ms);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Feeds OpenSSL one read from the socket. */
static int tls_fill(struct smtpc_conn *c, uint64_t deadline)
{
    unsigned char buf[16384];
    size_t got = 0;
    int rc = sock_recv_some(c, buf, sizeof buf, &got, deadline);
    if (rc != 0)
        return rc;
    if (BIO_write(SSL_get_rbio(c->ssl), buf, (int)got) != (int)got)
        return YB_ENOMEM;
    return 0;
}

static int conn_write(struct smtpc_conn *c, const void *data, size_t len, unsigned timeout_ms)
{
    if (c->ssl == NULL)
        return sock_send_all(c, data, len, timeout_ms);
    const unsigned char *p = data;
    while (len > 0) {
        int chunk = len > 16384 ? 16384 : (int)len;
        int n = SSL_write(c->ssl, p, chunk);
        if (n <= 0)
            return YB_EIO;
        int rc = tls_flush(c, timeout_ms);
        if (rc != 0)
            return rc;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends the commands waiting in c->out. */
static int conn_flush(struct smtpc_conn *c, unsigned timeout_ms)
{
    if (c->out_len == 0)
        return 0;
    size_t n = c->out_len;
    c->out_len = 0;
    return conn_write(c, c->out, n, timeout_ms);
}

/* Refills c->in (it must be empty). */
static int conn_fill(struct smtpc_conn *c, uint64_t deadline)
{
    c->in_off = c->in_len = 0;
    if (c->ssl == NULL)
        return sock_recv_some(c, c->in, sizeof c->in, &c->in_len, deadline);
    for (;;) {
        size_t got = 0;
        int r = SSL_read_ex(c->ssl, c->in, sizeof c->in, &got);
        if (r == 1) {
            c->in_len = got;
            return 0;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN)
            return YB_ECLOSED;
        if (e != SSL_ERROR_WANT_READ)
            return YB_EIO;
        int rc = tls_flush(c, 10000);
        if (rc == 0)
            rc = tls_fill(c, deadline);
        if (rc != 0)
            return rc;
    }
}

/* Reads one complete reply within timeout_ms (capped by max_wait_ms). */
static int read_reply(struct smtpc_conn *c, unsigned timeout_ms, struct smtpc_reply *r_r,
                      struct smtpc_status *st)
{
    if (c->opts.max_wait_ms > 0 && timeout_ms > c->opts.max_wait_ms)
        timeout_ms = c->opts.max_wait_ms;
    uint64_t deadline = pal_time_mono_ms() + timeout_ms;
    int frc = conn_flush(c, T_MAIL);
    if (frc != 0) {
        set_status(st, 451, "4.4.2 %s: sending failed: %s", c->host, yb_strerror(frc));
        return frc;
    }
    smtpc_rparser_init(&c->rp);
    for (;;) {
        if (c->in_off == c->in_len) {
            int rc = conn_fill(c, deadline);
            if (rc != 0) {
                set_status(st, 451, "4.4.2 %s: %s", c->host,
                           rc == YB_ETIMEDOUT ? "timed out waiting for a reply"
                           : rc == YB_ECLOSED ? "connection closed by the server"
                                              : yb_strerror(rc));
                return rc;
            }
        }
        size_t used = 0;
        enum smtpc_parse_status ps =
            smtpc_rparser_feed(&c->rp, c->in + c->in_off, c->in_len - c->in_off, &used);
        c->in_off += used;
        if (ps == SMTPC_REPLY_DONE) {
            *r_r = c->rp.reply;
            return 0;
        }
        if (ps == SMTPC_REPLY_BAD) {
            set_status(st, 451, "4.5.0 %s: malformed reply: %s", c->host, c->rp.reply.why);
            return YB_EPARSE;
        }
    }
}

static int send_cmd(struct smtpc_conn *c, struct smtpc_status *st, const char *fmt, ...)
    YB_PRINTF(3, 4);

static int send_cmd(struct smtpc_conn *c, struct smtpc_status *st, const char *fmt, ...)
{
    char line[SMTPC_LIMIT_COMMAND];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 2) {
        set_status(st, 501, "5.5.2 command too long for %s", c->host);
        return YB_ELIMIT;
    }
    memcpy(line + n, "\r\n", 2);
    /* Queued: the next reply read (or the message data) sends the group in one write. */
    int rc = 0;
    if (c->out_len + (size_t)n + 2 > sizeof c->out)
        rc = conn_flush(c, T_MAIL);
    if (rc == 0) {
        memcpy(c->out + c->out_len, line, (size_t)n + 2);
        c->out_len += (size_t)n + 2;
    } else {
        set_status(st, 451, "4.4.2 %s: sending failed: %s", c->host, yb_strerror(rc));
    }
    return rc;
}

/* ---- session setup ---- */

static bool word_is(const char *line, const char *kw)
{
    size_t n = strlen(kw);
    for (size_t i = 0; i < n; i++) {
        char a = line[i];
        if (a >= 'a' && a <= 'z')
            a = (char)(a - 'a' + 'A');
        if (a != kw[i])
            return false;
    }
    return line[n] == '\0' || line[n] == ' ' || line[n] == '\n' || line[n] == '=';
}

static void parse_ehlo(struct smtpc_ext *e, const struct smtpc_reply *r)
{
    const char *p = r->text;
    bool first = true;
    memset(e, 0, sizeof *e);
    e->esmtp = true;
    while (*p != '\0') {
        if (!first) {
            if (word_is(p, "PIPELINING"))
                e->pipelining = true;
            else if (word_is(p, "8BITMIME"))
                e->eightbit = true;
            else if (word_is(p, "SMTPUTF8"))
                e->smtputf8 = true;
            else if (word_is(p, "DSN"))
                e->dsn = true;
            else if (word_is(p, "STARTTLS"))
                e->starttls = true;
            else if (word_is(p, "AUTH")) {
                const char *end = strchr(p, '\n');
                size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
                for (size_t i = 4; i + 5 <= n; i++)
                    if (p[i - 1] == ' ' && word_is(p + i, "PLAIN"))
                        e->auth_plain = true;
            } else if (word_is(p, "SIZE")) {
                uint64_t v = 0;
                const char *q = p + 4;
                while (*q == ' ')
                    q++;
                while (*q >= '0' && *q <= '9' && v < UINT64_MAX / 10)
                    v = v * 10 + (uint64_t)(*q++ - '0');
                e->size_known = true; /* offered; size 0 = no fixed limit */
                e->size = v;
            }
        }
        first = false;
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
}

static int say_hello(struct smtpc_conn *c, struct smtpc_status *st)
{
    struct smtpc_reply r;
    int rc = send_cmd(c, st, "EHLO %s", c->helo);
    if (rc == 0)
        rc = read_reply(c, T_MAIL, &r, st);
    if (rc != 0)
        return rc;
    if (r.code / 100 == 2) {
        parse_ehlo(&c->ext, &r);
        return 0;
    }
    if (r.code / 100 == 5) {
        if ((rc = send_cmd(c, st, "HELO %s", c->helo)) != 0 ||
            (rc = read_reply(c, T_MAIL, &r, st)) != 0)
            return rc;
        memset(&c->ext, 0, sizeof c->ext);
        if (r.code / 100 == 2)
            return 0;
    }
    status_from_reply(st, &r);
    return YB_EPERM;
}

static int start_tls(struct smtpc_conn *c, struct smtpc_status *st)
{
    struct smtpc_reply r;
    int rc = send_cmd(c, st, "STARTTLS");
    if (rc == 0)
        rc = read_reply(c, T_MAIL, &r, st);
    if (rc != 0)
        return rc;
    if (r.code != 220) {
        status_from_reply(st, &r);
        return YB_EPERM;
    }
    if (c->in_off != c->in_len) {
        /* Bytes after 220 before the handshake: an injection attempt. */
        set_status(st, 451, "4.7.0 %s sent data after its STARTTLS reply", c->host);
        return YB_EPARSE;
    }
    pal_once_run(&tls_once, tls_init);
    bool verify = c->opts.tls == SMTPC_TLS_VERIFY;
    SSL_CTX *ctx = verify ? ctx_verify : ctx_any;
    if (ctx == NULL || (c->ssl = SSL_new(ctx)) == NULL) {
        set_status(st, 451, "4.7.0 cannot set up TLS");
        return YB_ENOMEM;
    }
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    if (rb == NULL || wb == NULL) {
        BIO_free(rb);
        BIO_free(wb);
        set_status(st, 451, "4.7.0 cannot set up TLS");
        return YB_ENOMEM;
    }
    SSL_set_bio(c->ssl, rb, wb);
    SSL_set_tlsext_host_name(c->ssl, c->host);
    if (verify)
        SSL_set1_host(c->ssl, c->host);
    unsigned t =
        c->opts.max_wait_ms > 0 && c->opts.max_wait_ms < T_MAIL ? c->opts.max_wait_ms : T_MAIL;
    uint64_t deadline = pal_time_mono_ms() + t;
    for (;;) {
        int r2 = SSL_connect(c->ssl);
        int frc = tls_flush(c, t);
        if (frc != 0) {
            set_status(st, 451, "4.7.0 %s: TLS handshake: %s", c->host, yb_strerror(frc));
            return frc;
        }
        if (r2 == 1)
            break;
        int e = SSL_get_error(c->ssl, r2);
        if (e != SSL_ERROR_WANT_READ) {
            unsigned long oe = ERR_get_error();
            char eb[200];
            ERR_error_string_n(oe, eb, sizeof eb);
            long vr = SSL_get_verify_result(c->ssl);
            set_status(st, 451, "4.7.5 %s: TLS handshake failed: %s", c->host,
                       vr != X509_V_OK ? X509_verify_cert_error_string(vr) : eb);
            ERR_clear_error();
            return YB_EIO;
        }
        if ((frc = tls_fill(c, deadline)) != 0) {
            set_status(st, 451, "4.7.0 %s: TLS handshake: %s", c->host, yb_strerror(frc));
            return frc;
        }
    }
    return say_hello(c, st);
}

int smtpc_open(const struct pal_addr *addr, const char *host, const struct smtpc_opts *opts,
               struct smtpc_conn **c_r, struct smtpc_status *st)
{
    struct smtpc_conn *c = calloc(1, sizeof *c);
    struct smtpc_reply r;
    char ip[PAL_ADDR_TEXT_MAX];
    int rc;
    *c_r = NULL;
    st->tls_failed = false;
    if (c == NULL) {
        set_status(st, 451, "4.3.0 out of memory");
        return YB_ENOMEM;
    }
    c->sock = PAL_SOCK_INVALID;
    c->opts = *opts;
    snprintf(c->host, sizeof c->host, "%s", host);
    snprintf(c->helo, sizeof c->helo, "%s", opts->helo != NULL ? opts->helo : "localhost");
    pal_addr_format(addr, true, ip, sizeof ip);
    rc = pal_tcp_connect_wait(addr, (int)opts->connect_ms, &c->sock);
    if (rc != 0) {
        set_status(st, 451, "4.4.1 cannot connect to %s [%s]: %s", host, ip, yb_strerror(rc));
        goto fail;
    }
    /* Commands and replies are small and each waits for the other: no Nagle delay. */
    (void)pal_sock_set_nodelay(c->sock, true);
    if ((rc = read_reply(c, T_GREETING, &r, st)) != 0)
        goto fail;
    if (r.code != 220) {
        status_from_reply(st, &r);
        rc = YB_EPERM;
        goto fail;
    }
    if ((rc = say_hello(c, st)) != 0)
        goto fail;
    if (opts->tls != SMTPC_TLS_NONE && c->ext.starttls) {
        rc = start_tls(c, st);
        if (rc != 0 && opts->tls == SMTPC_TLS_MAY && c->ssl == NULL && rc == YB_EPERM) {
            rc = 0; /* STARTTLS refused: go on in plaintext, as opportunistic TLS may */
        } else if (rc != 0) {
            if (st->code < 400)
                set_status(st, 451, "4.7.0 %s: STARTTLS failed", host);
            st->tls_failed = true;
            goto fail;
        }
    } else if (opts->tls == SMTPC_TLS_ENCRYPT || opts->tls == SMTPC_TLS_VERIFY) {
        set_status(st, 451, "4.7.10 %s does not offer STARTTLS and TLS is required", host);
        rc = YB_ENOTSUP;
        goto fail;
    }
    *c_r = c;
    return 0;
fail:
    smtpc_close(&c, false);
    return rc;
}

const struct smtpc_ext *smtpc_extensions(const struct smtpc_conn *c)
{
    return &c->ext;
}

bool smtpc_is_tls(const struct smtpc_conn *c)
{
    return c->ssl != NULL;
}

const char *smtpc_host(const struct smtpc_conn *c)
{
    return c->host;
}

/* ---- the transaction ---- */

/* RFC 3461 xtext: '+', '=' and what is not printable ASCII as "+HH". */
static void xtext(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s != '\0' && o + 4 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 33 || ch > 126 || ch == '+' || ch == '=') {
            out[o++] = '+';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = '\0';
}

static int mail_cmd(struct smtpc_conn *c, const struct smtpc_msg *m, struct smtpc_status *st)
{
    char params[1024], envid[300];
    int n = 0;
    params[0] = '\0';
    if (c->ext.size_known) /* RFC 1870: only to a server that offers SIZE */
        n += snprintf(params + n, sizeof params - (size_t)n, " SIZE=%llu",
                      (unsigned long long)m->size);
    if (m->eightbit && c->ext.eightbit)
        n += snprintf(params + n, sizeof params - (size_t)n, " BODY=8BITMIME");
    if (m->smtputf8)
        n += snprintf(params + n, sizeof params - (size_t)n, " SMTPUTF8");
    if (c->ext.dsn) {
        if (m->ret[0] != '\0')
            n += snprintf(params + n, sizeof params - (size_t)n, " RET=%s", m->ret);
        if (m->envid[0] != '\0') {
            xtext(m->envid, envid, sizeof envid);
            n += snprintf(params + n, sizeof params - (size_t)n, " ENVID=%s", envid);
        }
    }
    if (!c->ext.esmtp)
        params[0] = '\0';
    return send_cmd(c, st, "MAIL FROM:<%s>%s", m->from, params);
}

static int rcpt_cmd(struct smtpc_conn *c, const struct smtpc_rcpt *r, struct smtpc_status *st)
{
    char params[700], orcpt[600];
    int n = 0;
    params[0] = '\0';
    if (c->ext.dsn) {
        if (r->notify[0] != '\0')
            n += snprintf(params + n, sizeof params - (size_t)n, " NOTIFY=%s", r->notify);
        const char *semi = strchr(r->orcpt, ';');
        if (semi != NULL) {
            xtext(semi + 1, orcpt, sizeof orcpt);
            n += snprintf(params + n, sizeof params - (size_t)n, " ORCPT=%.*s;%s",
                          (int)(semi - r->orcpt), r->orcpt, orcpt);
        }
    }
    return send_cmd(c, st, "RCPT TO:<%s>%s", r->addr, params);
}

/* Sends the message file, dot-stuffed, then ".". */
static int send_body(struct smtpc_conn *c, const char *path, struct smtpc_status *st)
{
    struct pal_file *f = NULL;
    unsigned char *in = malloc(READ_CHUNK), *out = malloc(READ_CHUNK * 3 + 8);
    struct smtpc_dot dot;
    int rc = 0;
    smtpc_dot_init(&dot);
    if (in == NULL || out == NULL) {
        rc = YB_ENOMEM;
        set_status(st, 451, "4.3.0 out of memory");
        goto out;
    }
    if ((rc = pal_fs_open(path, PAL_O_RDONLY, 0, &f)) != 0) {
        set_status(st, 451, "4.3.0 cannot open the queued message: %s", yb_strerror(rc));
        goto out;
    }
    for (;;) {
        size_t got = 0;
        if ((rc = pal_fs_read(f, in, READ_CHUNK, &got)) != 0) {
            set_status(st, 451, "4.3.0 cannot read the queued message: %s", yb_strerror(rc));
            goto out;
        }
        size_t n = got > 0 ? smtpc_dot_encode(&dot, in, got, out) : smtpc_dot_finish(&dot, out);
        if ((rc = conn_write(c, out, n, T_DATA_BLK)) != 0) {
            set_status(st, 451, "4.4.2 %s: sending the message failed: %s", c->host,
                       yb_strerror(rc));
            goto out;
        }
        if (got == 0)
            break;
    }
out:
    if (f != NULL)
        pal_fs_close(&f);
    free(in);
    free(out);
    return rc;
}

/* Gives every recipient without a result the connection's failure. */
static void fail_rest(struct smtpc_rcpt *r, size_t n, const struct smtpc_status *st)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].result.code == 0)
            r[i].result = *st;
}

int smtpc_send(struct smtpc_conn *c, const struct smtpc_msg *m, struct smtpc_rcpt *r, size_t n,
               bool *accepted_r)
{
    struct smtpc_status st;
    struct smtpc_reply rep;
    size_t accepted = 0;
    int rc;
    *accepted_r = false;
    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < n; i++)
        memset(&r[i].result, 0, sizeof r[i].result);
    if (n == 0 || n > SMTPC_MAX_RCPTS)
        return YB_EINVAL;
    bool pipe = c->ext.pipelining;
    /* MAIL, then (pipelined) every RCPT and DATA, then the replies in order. */
    if ((rc = mail_cmd(c, m, &st)) != 0)
        goto conn_fail;
    if (!pipe) {
        if ((rc = read_reply(c, T_MAIL, &rep, &st)) != 0)
            goto conn_fail;
        if (rep.code / 100 != 2) {
            status_from_reply(&st, &rep);
            fail_rest(r, n, &st);
            return smtpc_reset(c) == 0 ? 0 : YB_EIO;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if ((rc = rcpt_cmd(c, &r[i], &st)) != 0)
                goto conn_fail;
        if ((rc = send_cmd(c, &st, "DATA")) != 0)
            goto conn_fail;
        if ((rc = read_reply(c, T_MAIL, &rep, &st)) != 0)
            goto conn_fail;
        if (rep.code / 100 != 2) {
            /* MAIL refused: the RCPTs and DATA that follow are answered with errors. */
            status_from_reply(&st, &rep);
            fail_rest(r, n, &st);
            for (size_t i = 0; i <= n; i++)
                if ((rc = read_reply(c, T_RCPT, &rep, &st)) != 0)
                    return rc;
            if (rep.code == 354) {
                /* A broken server took DATA anyway: end the empty message. */
                if ((rc = conn_write(c, ".\r\n", 3, T_DATA_BLK)) != 0 ||
                    (rc = read_reply(c, T_DATA_END, &rep, &st)) != 0)
                    return rc;
            }
            return smtpc_reset(c) == 0 ? 0 : YB_EIO;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!pipe && (rc = rcpt_cmd(c, &r[i], &st)) != 0)
            goto conn_fail;
        if ((rc = read_reply(c, T_RCPT, &rep, &st)) != 0)
            goto conn_fail;
        if (rep.code / 100 == 2) {
            accepted++;
            r[i].result.code = 1; /* accepted; the reply to "." decides */
        } else {
            status_from_reply(&r[i].result, &rep);
        }
    }
    if (!pipe && accepted > 0) {
        if ((rc = send_cmd(c, &st, "DATA")) != 0)
            goto conn_fail;
    }
    if (pipe || accepted > 0) {
        if ((rc = read_reply(c, T_DATA_INIT, &rep, &st)) != 0)
            goto conn_fail;
        if (rep.code == 354 && accepted == 0) {
            if ((rc = conn_write(c, ".\r\n", 3, T_DATA_BLK)) != 0 ||
                (rc = read_reply(c, T_DATA_END, &rep, &st)) != 0)
                goto conn_fail;
            return smtpc_reset(c) == 0 ? 0 : YB_EIO;
        }
        if (accepted == 0)
            return smtpc_reset(c) == 0 ? 0 : YB_EIO;
        if (rep.code != 354) {
            status_from_reply(&st, &rep);
            for (size_t i = 0; i < n; i++)
                if (r[i].result.code == 1)
                    r[i].result = st;
            return smtpc_reset(c) == 0 ? 0 : YB_EIO;
        }
    } else {
        return smtpc_reset(c) == 0 ? 0 : YB_EIO;
    }
    if ((rc = send_body(c, m->path, &st)) != 0)
        goto conn_fail;
    if ((rc = read_reply(c, T_DATA_END, &rep, &st)) != 0)
        goto conn_fail;
    if (rep.code / 100 == 2)
        *accepted_r = true;
    status_from_reply(&st, &rep);
    for (size_t i = 0; i < n; i++)
        if (r[i].result.code == 1)
            r[i].result = st;
    return 0;
conn_fail:
    for (size_t i = 0; i < n; i++)
        if (r[i].result.code == 1)
            r[i].result.code = 0;
    if (st.code == 0 || st.code >= 500)
        set_status(&st, 451, "4.4.2 %s: connection failed: %s", c->host, yb_strerror(rc));
    fail_rest(r, n, &st);
    return rc != 0 ? rc : YB_EIO;
}

int smtpc_auth_plain(struct smtpc_conn *c, const char *user, const char *password,
                     struct smtpc_status *st)
{
    char raw[600], b64[900];
    struct smtpc_reply r;
    size_t ul = strlen(user), pl = strlen(password), blen = 0;
    if (c->ssl == NULL) {
        set_status(st, 451, "4.7.0 %s: not sending a password without TLS", c->host);
        return YB_EPERM;
    }
    if (!c->ext.auth_plain) {
        set_status(st, 451, "4.7.0 %s does not offer AUTH PLAIN", c->host);
        return YB_ENOTSUP;
    }
    if (ul + pl + 2 > sizeof raw) {
        set_status(st, 451, "4.7.0 credentials too long");
        return YB_ELIMIT;
    }
    raw[0] = '\0';
    memcpy(raw + 1, user, ul);
    raw[1 + ul] = '\0';
    memcpy(raw + 2 + ul, password, pl);
    int rc = yb_base64_encode(raw, ul + pl + 2, b64, sizeof b64, &blen);
    OPENSSL_cleanse(raw, sizeof raw);
    if (rc != 0) {
        set_status(st, 451, "4.7.0 credentials too long");
        return rc;
    }
    b64[blen] = '\0';
    rc = send_cmd(c, st, "AUTH PLAIN %s", b64);
    OPENSSL_cleanse(b64, sizeof b64);
    if (rc == 0)
        rc = read_reply(c, T_MAIL, &r, st);
    if (rc != 0)
        return rc;
    if (r.code != 235) {
        status_from_reply(st, &r);
        return YB_EACCES;
    }
    return 0;
}

int smtpc_reset(struct smtpc_conn *c)
{
    struct smtpc_status st;
    struct smtpc_reply r;
    int rc = send_cmd(c, &st, "RSET");
    if (rc == 0)
        rc = read_reply(c, T_MAIL, &r, &st);
    if (rc == 0 && r.code != 250)
        rc = YB_EIO;
    return rc;
}

void smtpc_close(struct smtpc_conn **cp, bool quit)
{
    struct smtpc_conn *c = *cp;
    if (c == NULL)
        return;
    *cp = NULL;
    if (quit && pal_sock_valid(c->sock)) {
        struct smtpc_status st;
        struct smtpc_reply r;
        c->opts.max_wait_ms = T_QUIT;
        if (send_cmd(c, &st, "QUIT") == 0)
            (void)read_reply(c, T_QUIT, &r, &st);
    }
    if (c->ssl != NULL)
        SSL_free(c->ssl);
    pal_sock_close(&c->sock);
    free(c);
}
