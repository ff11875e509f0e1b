/*
 * yubinctl.c - the CTRL client (XMail's CtrlClnt, flag for flag).
 *
 *   yubinctl -s HOST [-n PORT] -u USER -p PASS [-L | -S] [-t SECS] COMMAND ARGS...
 *   yubinctl -s HOST ... -f FILE          one command per line, one session
 *
 * The password may also come from $YUBINCTL_PASSWORD or the first line of
 * a file (-P FILE), so it does not show in the process list; the user from
 * $YUBINCTL_USER. List results go to stdout as TAB-separated lines (fields
 * unquoted), errors to stderr; the exit status is 0 or the CTRL error
 * number (ctrl_proto.h), or 90-92 for connection, protocol and usage
 * errors. cfgfileset sends standard input as the new file.
 *
 * TLS: -L connects with TLS from the start (CtrlsListen, port 6018), -S
 * upgrades a plaintext session with "#!TLS". Like CtrlClnt, the server's
 * certificate is not checked unless -C CAFILE names the CAs to check it
 * (and HOST) against.
 *
 * Only the shared protocol code, the core and the PAL are linked; TLS is
 * OpenSSL over memory BIOs, so sockets stay behind the PAL.
 */
#include "ctrl_proto.h"
#include "pal.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef YUBIN_VERSION
#define YUBIN_VERSION "0.0.0"
#endif

#define DEFAULT_TIMEOUT_S 60
/* Commands in flight in -f mode before waiting for replies (hides the round trip). */
#define PIPELINE_WINDOW 64
/* Longest line of a -f command file or a cfgfileset body line. */
#define INPUT_LINE_MAX YB_CTRL_LIMIT_LINE

struct options {
    const char *host, *user, *pass, *file, *cafile;
    unsigned port;
    bool tls_implicit, tls_upgrade;
    int timeout_ms;
    int argc;
    char **argv; /* the command and its arguments */
};

struct conn {
    pal_sock sock;
    int timeout_ms;
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio; /* network side of the TLS engine */
    struct yb_ctrl_lines lines;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: yubinctl -s HOST [-n PORT] -u USER (-p PASS | -P FILE) [-L | -S] [-C CAFILE]\n"
            "                [-t SECS] (COMMAND [ARG...] | -f FILE)\n"
            "       yubinctl --version | --help\n"
            "\n"
            "  -s HOST     the server (default 127.0.0.1)\n"
            "  -n PORT     the CTRL port (default %d, with -L %d)\n"
            "  -u USER     administrator name (or $YUBINCTL_USER)\n"
            "  -p PASS     password (or $YUBINCTL_PASSWORD, or -P FILE: its first line)\n"
            "  -L          TLS from the start (CtrlsListen)\n"
            "  -S          upgrade a plaintext connection with #!TLS\n"
            "  -C CAFILE   check the server certificate and HOST against these CAs\n"
            "  -t SECS     network timeout (default %d)\n"
            "  -f FILE     run every command in FILE (one per line, TAB-separated\n"
            "              fields; '#' comments) in one session; '-' is stdin\n"
            "\n"
            "Lists print as TAB-separated lines; errors go to stderr and the exit\n"
            "status is the CTRL error number (0 on success). cfgfileset reads the new\n"
            "file from standard input.\n",
            YB_CTRL_PORT, YB_CTRL_TLS_PORT, DEFAULT_TIMEOUT_S);
}

static int fail(int code, const char *fmt, ...) YB_PRINTF(2, 3);

static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("yubinctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* Reads the first line of path (without its ending) into buf. */
static int read_first_line(const char *path, char *buf, size_t size)
{
    char *data = NULL;
    size_t len = 0;
    int rc = pal_file_read_all(path, 64 * 1024, &data, &len);
    if (rc != 0)
        return rc;
    size_t n = 0;
    while (n < len && data[n] != '\n' && data[n] != '\r')
        n++;
    if (n >= size) {
        free(data);
        return YB_ELIMIT;
    }
    memcpy(buf, data, n);
    buf[n] = '\0';
    free(data);
    return 0;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *v_r)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v > max)
        return false;
    *v_r = v;
    return true;
}

static int parse_args(int argc, char **argv, struct options *o, char *passbuf, size_t passsize)
{
    const char *passfile = NULL;
    unsigned long v;
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->timeout_ms = DEFAULT_TIMEOUT_S * 1000;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--version") == 0) {
            printf("yubinctl %s\n", YUBIN_VERSION);
            exit(0);
        }
        if (strcmp(a, "-L") == 0) {
            o->tls_implicit = true;
            continue;
        }
        if (strcmp(a, "-S") == 0) {
            o->tls_upgrade = true;
            continue;
        }
        if (strlen(a) != 2 || strchr("snupPtfC", a[1]) == NULL)
            return fail(YB_CTRL_E_USAGE, "unknown option %s (try --help)", a);
        if (i + 1 >= argc)
            return fail(YB_CTRL_E_USAGE, "%s needs a value", a);
        const char *val = argv[++i];
        switch (a[1]) {
        case 's': o->host = val; break;
        case 'u': o->user = val; break;
        case 'p': o->pass = val; break;
        case 'P': passfile = val; break;
        case 'f': o->file = val; break;
        case 'C': o->cafile = val; break;
        case 'n':
            if (!parse_uint(val, 65535, &v) || v == 0)
                return fail(YB_CTRL_E_USAGE, "-n: a port is 1-65535");
            o->port = (unsigned)v;
            break;
        case 't':
            if (!parse_uint(val, 86400, &v) || v == 0)
                return fail(YB_CTRL_E_USAGE, "-t: a timeout is 1-86400 seconds");
            o->timeout_ms = (int)v * 1000;
            break;
        default: break;
        }
    }
    if (o->tls_implicit && o->tls_upgrade)
        return fail(YB_CTRL_E_USAGE, "-L and -S exclude each other");
    if (o->port == 0)
        o->port = o->tls_implicit ? YB_CTRL_TLS_PORT : YB_CTRL_PORT;
    if (o->user == NULL)
        o->user = getenv("YUBINCTL_USER");
    if (o->pass == NULL && passfile != NULL) {
        int rc = read_first_line(passfile, passbuf, passsize);
        if (rc != 0)
            return fail(YB_CTRL_E_USAGE, "-P %s: %s", passfile, yb_strerror(rc));
        o->pass = passbuf;
    }
    if (o->pass == NULL)
        o->pass = getenv("YUBINCTL_PASSWORD");
    if (o->user == NULL || o->pass == NULL)
        return fail(YB_CTRL_E_USAGE, "a user (-u) and a password (-p, -P, $YUBINCTL_PASSWORD) "
                                     "are needed");
    o->argc = argc - i;
    o->argv = argv + i;
    if ((o->file == NULL) == (o->argc == 0))
        return fail(YB_CTRL_E_USAGE, "give either a command or -f FILE (try --help)");
    return 0;
}

/* ---- the connection: plaintext or TLS over memory BIOs ---- */

static int send_all(struct conn *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t sent = 0;
        int rc = pal_sock_send(c->sock, p, len, &sent);
        if (rc == YB_EAGAIN) {
            if (pal_sock_wait(c->sock, true, c->timeout_ms) != 0)
                return YB_ETIMEDOUT;
            continue;
        }
        if (rc != 0)
            return rc;
        p += sent;
        len -= sent;
    }
    return 0;
}

/* Receives what is there (waiting up to the timeout). */
static int recv_some(struct conn *c, void *buf, size_t size, size_t *got_r)
{
    for (;;) {
        int rc = pal_sock_recv(c->sock, buf, size, got_r);
        if (rc != YB_EAGAIN)
            return rc;
        if (pal_sock_wait(c->sock, false, c->timeout_ms) != 0)
            return YB_ETIMEDOUT;
    }
}

/* Sends what TLS has produced for the network. */
static int tls_flush(struct conn *c)
{
    unsigned char buf[16 * 1024];
    while (BIO_ctrl_pending(c->wbio) > 0) {
        int n = BIO_read(c->wbio, buf, (int)sizeof(buf));
        if (n <= 0)
            break;
        int rc = send_all(c, buf, (size_t)n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Feeds received network bytes to TLS. */
static int tls_fill(struct conn *c)
{
    unsigned char buf[16 * 1024];
    size_t got = 0;
    int rc = recv_some(c, buf, sizeof(buf), &got);
    if (rc != 0)
        return rc;
    return BIO_write(c->rbio, buf, (int)got) == (int)got ? 0 : YB_ENOMEM;
}

static int tls_start(struct conn *c, const struct options *o)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL)
        return YB_ENOMEM;
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    if (o->cafile != NULL) {
        if (SSL_CTX_load_verify_locations(c->ctx, o->cafile, NULL) != 1) {
            fail(0, "-C %s: cannot load the CA file", o->cafile);
            return YB_EINVAL;
        }
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    }
    c->ssl = SSL_new(c->ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL)
        return YB_ENOMEM;
    SSL_set_bio(c->ssl, c->rbio, c->wbio); /* the SSL owns both BIOs from here */
    SSL_set_tlsext_host_name(c->ssl, o->host);
    if (o->cafile != NULL)
        SSL_set1_host(c->ssl, o->host);
    for (;;) {
        int r = SSL_connect(c->ssl);
        int rc = tls_flush(c);
        if (rc != 0)
            return rc;
        if (r == 1)
            return 0;
        if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ) {
            unsigned long e = ERR_get_error();
            char msg[256];
            ERR_error_string_n(e, msg, sizeof(msg));
            fail(0, "TLS handshake with %s failed: %s", o->host, e != 0 ? msg : "closed");
            return YB_EIO;
        }
        if ((rc = tls_fill(c)) != 0)
            return rc;
    }
}

static int conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->ssl == NULL)
        return send_all(c, data, len);
    while (len > 0) {
        size_t put = 0;
        if (SSL_write_ex(c->ssl, data, len, &put) != 1)
            return YB_EIO;
        data = (const unsigned char *)data + put;
        len -= put;
    }
    return tls_flush(c);
}

static int conn_read(struct conn *c, void *buf, size_t size, size_t *got_r)
{
    if (c->ssl == NULL)
        return recv_some(c, buf, size, got_r);
    for (;;) {
        int r = SSL_read_ex(c->ssl, buf, size, got_r);
        if (r == 1)
            return 0;
        int err = SSL_get_error(c->ssl, r);
        if (err == SSL_ERROR_ZERO_RETURN)
            return YB_ECLOSED;
        if (err != SSL_ERROR_WANT_READ)
            return YB_EIO;
        int rc = tls_flush(c); /* e.g. a key update answer */
        if (rc == 0)
            rc = tls_fill(c);
        if (rc != 0)
            return rc;
    }
}

/* The next reply or list line. */
static int read_line(struct conn *c, struct yb_slice *line_r)
{
    static unsigned char buf[YB_CTRL_READ_CHUNK];
    for (;;) {
        int rc = yb_ctrl_lines_next(&c->lines, line_r);
        if (rc != YB_EAGAIN)
            return rc;
        size_t got = 0;
        if ((rc = conn_read(c, buf, sizeof(buf), &got)) != 0)
            return rc;
        if ((rc = yb_ctrl_lines_feed(&c->lines, buf, got)) != 0)
            return rc;
    }
}

static int net_error(int rc, const char *what)
{
    if (rc == YB_ELIMIT)
        return fail(YB_CTRL_E_PROTOCOL, "%s: a line from the server is too long", what);
    return fail(YB_CTRL_E_CONNECT, "%s: %s", what, yb_strerror(rc));
}

/*
 * Reads one reply. OK: returns 0 (printing the text when print_ok). A list: prints it (records as
 * TAB-separated fields, raw lines when raw) and returns 0. An error: prints it and returns its
 * number. *body_r is set when the server waits for a body.
 */
static int read_reply(struct conn *c, bool raw, bool print_ok, const char *what, bool *body_r)
{
    struct yb_slice line;
    struct yb_ctrl_reply r;
    static struct yb_ctrl_args args;
    if (body_r != NULL)
        *body_r = false;
    int rc = read_line(c, &line);
    if (rc != 0)
        return net_error(rc, what);
    if (yb_ctrl_parse_reply(line, &r) != 0)
        return fail(YB_CTRL_E_PROTOCOL, "%s: unexpected reply \"%.*s\"", what,
                    (int)(line.len > 200 ? 200 : line.len), (const char *)line.p);
    switch (r.kind) {
    case YB_CTRL_R_OK:
        if (print_ok) {
            fwrite(r.text.p, 1, r.text.len, stdout);
            fputc('\n', stdout);
        }
        return 0;
    case YB_CTRL_R_BODY:
        if (body_r != NULL)
            *body_r = true;
        return 0;
    case YB_CTRL_R_ERROR:
        fprintf(stderr, "yubinctl: %s: -%05d %.*s\n", what, r.code, (int)r.text.len,
                (const char *)r.text.p);
        return r.code > 0 && r.code < 256 ? r.code : YB_CTRL_E_PROTOCOL;
    case YB_CTRL_R_LIST: break;
    }
    for (;;) {
        struct yb_slice content;
        if ((rc = read_line(c, &line)) != 0)
            return net_error(rc, what);
        if (yb_ctrl_unstuff(line, &content))
            return 0;
        if (!raw && yb_ctrl_split(content, &args) == 0) {
            for (size_t i = 0; i < args.n; i++) {
                if (i > 0)
                    fputc('\t', stdout);
                fwrite(args.f[i].p, 1, args.f[i].len, stdout);
            }
        } else {
            fwrite(content.p, 1, content.len, stdout);
        }
        fputc('\n', stdout);
    }
}

static int send_line(struct conn *c, const struct yb_slice *f, size_t n)
{
    struct yb_buf out;
    yb_buf_init(&out, YB_CTRL_LIMIT_LINE + 2);
    int rc = yb_ctrl_format(&out, f, n);
    if (rc == 0)
        rc = conn_write(c, out.p, out.len);
    yb_buf_free(&out);
    return rc;
}

/* Commands whose list is raw file content rather than records. */
static bool raw_list(struct yb_slice cmd)
{
    return yb_slice_eq_cstr_nocase(cmd, "cfgfileget") ||
           yb_slice_eq_cstr_nocase(cmd, "frozgetlog") || yb_slice_eq_cstr_nocase(cmd, "frozgetmsg");
}

/* Commands whose OK text is their result. */
static bool ok_text(struct yb_slice cmd)
{
    return yb_slice_eq_cstr_nocase(cmd, "version") || yb_slice_eq_cstr_nocase(cmd, "queueflush") ||
           yb_slice_eq_cstr_nocase(cmd, "etrn");
}

/* Sends standard input, dot-stuffed, as a body. */
static int send_stdin_body(struct conn *c)
{
    static char line[INPUT_LINE_MAX + 2];
    struct yb_buf out;
    int rc = 0;
    yb_buf_init(&out, 2 * (INPUT_LINE_MAX + 4));
    while (rc == 0 && fgets(line, sizeof(line), stdin) != NULL) {
        size_t n = strlen(line);
        bool whole = n > 0 && line[n - 1] == '\n';
        if (!whole && !feof(stdin)) {
            rc = YB_ELIMIT;
            break;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        rc = yb_ctrl_stuff_line(&out, yb_slice_make(line, n));
        if (rc == 0 && out.len > INPUT_LINE_MAX) {
            rc = conn_write(c, out.p, out.len);
            yb_buf_reset(&out);
        }
    }
    if (rc == 0)
        rc = yb_buf_append(&out, YB_CTRL_END, 3);
    if (rc == 0)
        rc = conn_write(c, out.p, out.len);
    yb_buf_free(&out);
    return rc;
}

static int run_one(struct conn *c, const struct options *o)
{
    struct yb_slice f[YB_CTRL_LIMIT_FIELDS];
    if ((size_t)o->argc > YB_CTRL_LIMIT_FIELDS)
        return fail(YB_CTRL_E_USAGE, "more than %d arguments", YB_CTRL_LIMIT_FIELDS);
    for (int i = 0; i < o->argc; i++) {
        f[i] = yb_slice_cstr(o->argv[i]);
        if (!yb_ctrl_field_ok(f[i]))
            return fail(YB_CTRL_E_BAD_FIELD,
                        "argument %d holds a control character or "
                        "invalid UTF-8",
                        i + 1);
    }
    int rc = send_line(c, f, (size_t)o->argc);
    if (rc != 0)
        return net_error(rc, o->argv[0]);
    bool body = false;
    rc = read_reply(c, raw_list(f[0]), ok_text(f[0]), o->argv[0], &body);
    if (rc != 0 || !body)
        return rc;
    if ((rc = send_stdin_body(c)) != 0)
        return rc == YB_ELIMIT ? fail(YB_CTRL_E_LIMIT, "a line of the input is too long")
                               : net_error(rc, o->argv[0]);
    return read_reply(c, false, false, o->argv[0], NULL);
}

/* One command line of a -f file: the first field (unquoted) names the command. */
struct pending {
    char name[32];
    unsigned lineno;
};

static int run_file(struct conn *c, const struct options *o)
{
    static char line[INPUT_LINE_MAX + 2];
    static struct yb_ctrl_args args;
    static struct pending window[PIPELINE_WINDOW];
    FILE *in = strcmp(o->file, "-") == 0 ? stdin : fopen(o->file, "rb");
    size_t head = 0, inflight = 0;
    unsigned lineno = 0;
    int first_err = 0, rc;
    bool eof = false;
    if (in == NULL)
        return fail(YB_CTRL_E_USAGE, "-f %s: cannot open", o->file);
    while (!eof || inflight > 0) {
        /* Fill the window, then collect the oldest reply. */
        while (!eof && inflight < PIPELINE_WINDOW) {
            if (fgets(line, sizeof(line), in) == NULL) {
                eof = true;
                break;
            }
            lineno++;
            size_t n = strlen(line);
            if (n > 0 && line[n - 1] != '\n' && !feof(in)) {
                fail(0, "%s:%u: line too long", o->file, lineno);
                first_err = first_err ? first_err : YB_CTRL_E_LIMIT;
                int ch;
                while ((ch = fgetc(in)) != EOF && ch != '\n')
                    ;
                continue;
            }
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            line[n] = '\0';
            if (n == 0 || line[0] == '#')
                continue;
            if (yb_ctrl_split(yb_slice_make(line, n), &args) != 0) {
                fail(0, "%s:%u: malformed command line", o->file, lineno);
                first_err = first_err ? first_err : YB_CTRL_E_SYNTAX;
                continue;
            }
            if (yb_slice_eq_cstr_nocase(args.f[0], "cfgfileset")) {
                fail(0, "%s:%u: cfgfileset needs its body on stdin: run it alone", o->file, lineno);
                first_err = first_err ? first_err : YB_CTRL_E_USAGE;
                continue;
            }
            line[n++] = '\r';
            line[n++] = '\n';
            if ((rc = conn_write(c, line, n)) != 0) {
                fclose(in);
                return net_error(rc, o->file);
            }
            struct pending *p = &window[(head + inflight) % PIPELINE_WINDOW];
            snprintf(p->name, sizeof(p->name), "%.*s", (int)args.f[0].len,
                     (const char *)args.f[0].p);
            p->lineno = lineno;
            inflight++;
        }
        if (inflight == 0)
            continue;
        struct pending *p = &window[head];
        char what[64];
        snprintf(what, sizeof(what), "line %u: %s", p->lineno, p->name);
        rc = read_reply(c, raw_list(yb_slice_cstr(p->name)), ok_text(yb_slice_cstr(p->name)), what,
                        NULL);
        head = (head + 1) % PIPELINE_WINDOW;
        inflight--;
        if (rc >= YB_CTRL_E_CONNECT) {
            fclose(in);
            return rc; /* the connection is gone: nothing more will be answered */
        }
        if (rc != 0 && first_err == 0)
            first_err = rc;
    }
    if (in != stdin)
        fclose(in);
    return first_err;
}

static int login(struct conn *c, const struct options *o)
{
    bool body;
    int rc = read_reply(c, false, false, "greeting", &body);
    if (rc != 0)
        return rc;
    if (o->tls_upgrade) {
        if ((rc = conn_write(c, YB_CTRL_STARTTLS "\r\n", strlen(YB_CTRL_STARTTLS) + 2)) != 0)
            return net_error(rc, YB_CTRL_STARTTLS);
        if ((rc = read_reply(c, false, false, YB_CTRL_STARTTLS, &body)) != 0)
            return rc;
        if ((rc = tls_start(c, o)) != 0)
            return rc == YB_EIO || rc == YB_EINVAL ? YB_CTRL_E_CONNECT
                                                   : net_error(rc, "TLS handshake");
    }
    struct yb_slice f[2] = { yb_slice_cstr(o->user), yb_slice_cstr(o->pass) };
    if (!yb_ctrl_field_ok(f[0]) || !yb_ctrl_field_ok(f[1]))
        return fail(YB_CTRL_E_BAD_FIELD, "the user or password holds a control character");
    if ((rc = send_line(c, f, 2)) != 0)
        return net_error(rc, "login");
    return read_reply(c, false, false, "login", &body);
}

static int connect_to(struct conn *c, const struct options *o)
{
    struct pal_addr addrs[8];
    size_t n = 0;
    int rc = pal_addr_resolve(o->host, (uint16_t)o->port, addrs, YB_ARRAY_LEN(addrs), &n);
    if (rc != 0)
        return fail(YB_CTRL_E_CONNECT, "%s: %s", o->host, yb_strerror(rc));
    for (size_t i = 0; i < n; i++) {
        rc = pal_tcp_connect_wait(&addrs[i], c->timeout_ms, &c->sock);
        if (rc == 0) {
            pal_sock_set_nodelay(c->sock, true); /* pipelined commands go out at once */
            return 0;
        }
    }
    return fail(YB_CTRL_E_CONNECT, "%s port %u: %s", o->host, o->port, yb_strerror(rc));
}

int main(int argc, char **argv)
{
    static char passbuf[YB_CTRL_LIMIT_NAME * 8 + 1];
    struct options o;
    struct conn c;
    int rc = parse_args(argc, argv, &o, passbuf, sizeof(passbuf));
    if (rc != 0)
        return rc;
    memset(&c, 0, sizeof(c));
    c.sock = PAL_SOCK_INVALID;
    c.timeout_ms = o.timeout_ms;
    yb_ctrl_lines_init(&c.lines, YB_CTRL_LIMIT_LINE);
    if ((rc = pal_net_init()) != 0)
        return fail(YB_CTRL_E_CONNECT, "network: %s", yb_strerror(rc));
    if ((rc = connect_to(&c, &o)) != 0)
        goto out;
    if (o.tls_implicit && (rc = tls_start(&c, &o)) != 0) {
        rc = rc == YB_EIO || rc == YB_EINVAL ? YB_CTRL_E_CONNECT : net_error(rc, "TLS handshake");
        goto out;
    }
    if ((rc = login(&c, &o)) != 0)
        goto out;
    rc = o.file != NULL ? run_file(&c, &o) : run_one(&c, &o);
    if (rc < YB_CTRL_E_CONNECT) {
        /* Say goodbye; the answer does not change the outcome. */
        static const char quit[] = "\"quit\"\r\n";
        if (conn_write(&c, quit, sizeof(quit) - 1) == 0)
            read_reply(&c, false, false, "quit", NULL);
    }
out:
    fflush(stdout);
    if (c.ssl != NULL)
        SSL_free(c.ssl);
    if (c.ctx != NULL)
        SSL_CTX_free(c.ctx);
    yb_ctrl_lines_free(&c.lines);
    pal_sock_close(&c.sock);
    return rc;
}
