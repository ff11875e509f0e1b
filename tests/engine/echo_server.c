/*
 * echo_server.c - a test-only protocol on the real engine (not shipped).
 *
 * It exercises every part of the session API so the integration tests can
 * drive the engine with real clients:
 *   any line          "=<line>"
 *   QUIT              "+BYE", close
 *   STARTTLS          "+GO", then TLS (wake: "+TLS <version cipher>")
 *   DATA              "+SEND", a dot body; "+GOT <bytes> cr=<n> lf=<n> nul=<n> long=<n>
 * trunc=<0|1>" BYTES <n>         read n raw bytes; "+GOT <n>" IDLE [ms]         park; on wake "*
 * WOKE <event|timer|tls>" ID                "+ID <session id>" NOTIFY <id>       wakes session
 * <id>; "+NOTIFIED" SLEEP <ms>        blocks its worker that long; "+SLEPT" BIG <n> writes n bytes
 * of 'x' then "\r\n+BIG" STATS             "+STATS current=<n> accepted=<n> refused=<n>" Over-long
 * lines: "-ERR too long"; timeouts: "-ERR timeout <idle|slow|shutdown>".
 *
 * usage: echo_server -r ROOT [--idle-ms N] [--per-ip N] [--per-service N]
 *        [--max-conns N] [--tls-ms N]
 *        [--rate BYTES/MS] [--workers N] [--max-line N] [--body-max N]
 *        [--grace-ms N] [--no-tls]
 * Listens on 127.0.0.1:0 (plain, service "EchoListen") and 127.0.0.1:0
 * (implicit TLS, "EchosListen"), writes ROOT/run/ports.tab, runs until
 * SIGTERM; SIGHUP re-applies the listeners and reloads the certificate.
 */
#include "pal.h"
#include "yb_engine.h"
#include "yb_log.h"
#include "yb_ports.h"
#include "yb_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct echo_state {
    uint64_t got;
};

static struct yb_engine *g_engine;
static uint64_t g_body_max = 10 * 1024 * 1024;

static uint64_t parse_u64(struct yb_slice s, size_t from)
{
    uint64_t v = 0;
    for (size_t i = from; i < s.len && s.p[i] >= '0' && s.p[i] <= '9'; i++)
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    return v;
}

static bool is_cmd(struct yb_slice line, const char *cmd)
{
    size_t n = strlen(cmd);
    return line.len >= n && yb_slice_eq_nocase(yb_slice_make(line.p, n), yb_slice_cstr(cmd)) &&
           (line.len == n || line.p[n] == ' ');
}

static int echo_open(struct yb_session *s, void **state_r)
{
    struct echo_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return YB_ENOMEM;
    *state_r = st;
    yb_session_printf(s, "+ECHO ready %s\r\n", yb_session_is_tls(s) ? "tls" : "plain");
    return 0;
}

static void echo_line(struct yb_session *s, void *state, struct yb_slice line, unsigned flags)
{
    (void)state;
    if (flags & YB_LINEF_TOO_LONG) {
        yb_session_printf(s, "-ERR too long\r\n");
    } else if (is_cmd(line, "QUIT")) {
        yb_session_printf(s, "+BYE\r\n");
        yb_session_close(s);
    } else if (is_cmd(line, "STARTTLS")) {
        int rc = yb_session_start_tls(s);
        yb_session_printf(s, rc == 0 ? "+GO\r\n" : "-ERR no tls\r\n");
    } else if (is_cmd(line, "DATA")) {
        yb_session_printf(s, "+SEND\r\n");
        yb_session_read_body_dot(s, g_body_max);
    } else if (is_cmd(line, "BYTES")) {
        yb_session_read_bytes(s, parse_u64(line, 6));
    } else if (is_cmd(line, "IDLE")) {
        yb_session_printf(s, "+IDLING\r\n");
        yb_session_park(s, (unsigned)parse_u64(line, 5));
    } else if (is_cmd(line, "ID")) {
        yb_session_printf(s, "+ID %llu\r\n", (unsigned long long)yb_session_id(s));
    } else if (is_cmd(line, "NOTIFY")) {
        yb_engine_wake(g_engine, parse_u64(line, 7));
        yb_session_printf(s, "+NOTIFIED\r\n");
    } else if (is_cmd(line, "SLEEP")) {
        pal_sleep_ms((unsigned)parse_u64(line, 6));
        yb_session_printf(s, "+SLEPT\r\n");
    } else if (is_cmd(line, "BIG")) {
        char xs[8192];
        memset(xs, 'x', sizeof(xs));
        uint64_t n = parse_u64(line, 4);
        while (n > 0) {
            size_t k = n < sizeof(xs) ? (size_t)n : sizeof(xs);
            if (yb_session_write(s, xs, k) != 0)
                return;
            n -= k;
        }
        yb_session_printf(s, "\r\n+BIG\r\n");
    } else if (is_cmd(line, "STATS")) {
        struct yb_engine_stats st;
        yb_engine_stats(g_engine, &st);
        yb_session_printf(s, "+STATS current=%u accepted=%llu refused=%llu\r\n", st.current,
                          (unsigned long long)st.accepted, (unsigned long long)st.refused);
    } else {
        yb_session_write(s, "=", 1);
        yb_session_write_slice(s, line);
        yb_session_write(s, "\r\n", 2);
    }
}

static void echo_body(struct yb_session *s, void *state, struct yb_slice chunk,
                      enum yb_body_end end)
{
    struct echo_state *st = state;
    st->got += chunk.len;
    if (end != YB_BODY_DONE)
        return;
    struct yb_body_info bi;
    yb_session_body_info(s, &bi);
    yb_session_printf(s, "+GOT %llu cr=%llu lf=%llu nul=%llu long=%u trunc=%d\r\n",
                      (unsigned long long)st->got, (unsigned long long)bi.bare_cr,
                      (unsigned long long)bi.bare_lf, (unsigned long long)bi.nul_bytes,
                      (unsigned)bi.longest_line, bi.truncated ? 1 : 0);
    st->got = 0;
}

static void echo_wake(struct yb_session *s, void *state, unsigned why)
{
    (void)state;
    if (why & YB_WAKE_TLS)
        yb_session_printf(s, "+TLS %s\r\n", yb_session_tls_desc(s));
    else
        yb_session_printf(s, "* WOKE %s\r\n", (why & YB_WAKE_EVENT) ? "event" : "timer");
}

static void echo_timeout(struct yb_session *s, void *state, enum yb_timeout_kind kind)
{
    (void)state;
    yb_session_printf(s, "-ERR timeout %s\r\n",
                      kind == YB_TIMEOUT_IDLE   ? "idle"
                      : kind == YB_TIMEOUT_SLOW ? "slow"
                                                : "shutdown");
}

static void echo_close(struct yb_session *s, void *state)
{
    (void)s;
    free(state);
}

static const struct yb_proto echo_proto = {
    .name = "echo",
    .max_line = 1000,
    .open = echo_open,
    .line = echo_line,
    .body = echo_body,
    .wake = echo_wake,
    .timeout = echo_timeout,
    .close = echo_close,
    .refuse_busy = "-ERR busy\r\n",
};

/* ---- the program ---- */

struct events {
    pal_mutex lock;
    pal_cond cond;
    unsigned pending;
};

static void on_event(void *arg, unsigned ev)
{
    struct events *e = arg;
    pal_mutex_lock(&e->lock);
    e->pending |= ev;
    pal_cond_signal(&e->cond);
    pal_mutex_unlock(&e->lock);
}

static int load_tls(const char *root, struct yb_engine *engine)
{
    char dir[PAL_PATH_MAX], chain[PAL_PATH_MAX], key[PAL_PATH_MAX], err[YB_TLS_ERR_MAX];
    struct yb_tls_ctx *ctx = NULL;
    if (pal_path_join(dir, sizeof(dir), root, "tls") != 0 ||
        pal_path_join(chain, sizeof(chain), dir, "chain.pem") != 0 ||
        pal_path_join(key, sizeof(key), dir, "key.pem") != 0)
        return YB_ENAMETOOLONG;
    int rc = yb_tls_ensure_cert(dir, "localhost", err, sizeof(err));
    if (rc == 0)
        rc = yb_tls_openssl.ctx_new_server(chain, key, &ctx, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "echo_server: TLS: %s\n", err);
        return rc;
    }
    yb_engine_set_tls(engine, &yb_tls_openssl, ctx);
    yb_tls_openssl.ctx_unref(&ctx);
    return 0;
}

int main(int argc, char **argv)
{
    const char *root = NULL;
    bool tls = true, toggle = false, extra_on = false;
    struct yb_engine_limits lim;
    yb_engine_limits_default(&lim);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        char *end = NULL;
        if (strcmp(a, "-r") == 0) {
            root = v;
            i++;
        } else if (strcmp(a, "--idle-ms") == 0) {
            lim.idle_timeout_ms = (unsigned)strtoul(v, &end, 10);
            i++;
        } else if (strcmp(a, "--per-ip") == 0) {
            lim.max_conns_per_ip = (unsigned)strtoul(v, &end, 10);
            i++;
        } else if (strcmp(a, "--per-service") == 0) {
            lim.max_conns_per_service = (unsigned)strtoul(v, &end, 10);
            i++;
        } else if (strcmp(a, "--tls-ms") == 0) {
            lim.tls_handshake_ms = (unsigned)strtoul(v, &end, 10);
            i++;
        } else if (strcmp(a, "--max-conns") == 0) {
            lim.max_conns = (unsigned)strtoul(v, &end, 10);
            i++;
        } else if (strcmp(a, "--workers") == 0) {
            lim.workers = (unsigned)strtoul(v, &end, 10);
            i++;
        } else if (strcmp(a, "--grace-ms") == 0) {
            lim.shutdown_grace_ms = (unsigned)strtoul(v, &end, 10);
            i++;
        } else if (strcmp(a, "--body-max") == 0) {
            g_body_max = strtoull(v, &end, 10);
            i++;
        } else if (strcmp(a, "--rate") == 0) {
            lim.min_rate_bytes = (unsigned)strtoul(v, &end, 10);
            if (end != NULL && *end == '/')
                lim.min_rate_window_ms = (unsigned)strtoul(end + 1, &end, 10);
            i++;
        } else if (strcmp(a, "--toggle-listener") == 0) {
            toggle = true;
        } else if (strcmp(a, "--no-tls") == 0) {
            tls = false;
        } else {
            fprintf(stderr, "echo_server: unknown option %s\n", a);
            return 2;
        }
    }
    if (root == NULL) {
        fprintf(stderr, "usage: echo_server -r ROOT [options]\n");
        return 2;
    }
    yb_log_configure(NULL, true, YB_LOG_WARN);
    struct events ev;
    memset(&ev, 0, sizeof(ev));
    pal_mutex_init(&ev.lock);
    pal_cond_init(&ev.cond);
    if (pal_proc_events_start(on_event, &ev) != 0)
        return 1;
    if (yb_engine_create(&lim, NULL, &g_engine) != 0)
        return 1;
    if (tls && load_tls(root, g_engine) != 0)
        return 1;
    struct yb_listen_spec specs[3];
    size_t n = tls ? 2 : 1;
    specs[0] = (struct yb_listen_spec){ "EchoListen", { { 0 }, 0 }, &echo_proto, YB_LISTEN_PLAIN };
    specs[1] =
        (struct yb_listen_spec){ "EchosListen", { { 0 }, 0 }, &echo_proto, YB_LISTEN_IMPLICIT };
    pal_addr_parse("127.0.0.1:0", &specs[0].addr);
    pal_addr_parse("127.0.0.1:0", &specs[1].addr);
    /* --toggle-listener: each reload adds or removes this one (live listener changes). */
    struct yb_listen_spec extra = { "EchoExtraListen", { { 0 }, 0 }, &echo_proto, YB_LISTEN_PLAIN };
    pal_addr_parse("127.0.0.1:0", &extra.addr);
    struct pal_addr bound[3];
    char err[256];
    if (yb_engine_set_listeners(g_engine, specs, n, bound, err, sizeof(err)) != 0) {
        fprintf(stderr, "echo_server: %s\n", err);
        return 1;
    }
    struct yb_bound_port ports[3] = { { "EchoListen", bound[0] },
                                      { "EchosListen", bound[1] },
                                      { "EchoExtraListen", bound[2] } };
    if (yb_ports_write(root, ports, n) != 0 || yb_engine_start(g_engine) != 0)
        return 1;
    for (;;) {
        pal_mutex_lock(&ev.lock);
        while (ev.pending == 0)
            pal_cond_wait(&ev.cond, &ev.lock);
        unsigned got = ev.pending;
        ev.pending = 0;
        pal_mutex_unlock(&ev.lock);
        if (got & PAL_PROC_SHUTDOWN)
            break;
        if (got & PAL_PROC_RELOAD) {
            if (tls)
                load_tls(root, g_engine);
            if (toggle)
                extra_on = !extra_on;
            size_t want = n + (extra_on ? 1 : 0);
            if (extra_on)
                specs[n] = extra;
            if (yb_engine_set_listeners(g_engine, specs, want, bound, err, sizeof(err)) != 0)
                fprintf(stderr, "echo_server: reload: %s\n", err);
            else if (toggle) {
                ports[n] = (struct yb_bound_port){ "EchoExtraListen", bound[n] };
                yb_ports_write(root, ports, want);
            }
            fprintf(stderr, "echo_server: reloaded\n");
        }
    }
    yb_engine_stop(g_engine);
    yb_engine_destroy(&g_engine);
    pal_proc_events_stop();
    return 0;
}
