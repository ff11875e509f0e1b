/*
 * ctrl_session.c - the CTRL session: greeting, login, "#!TLS", command
 * dispatch through one table, and the reply helpers.
 */
#include "ctrl_int.h"
#include "yb_log.h"
#include "yb_passwd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTRL_REPLY_MAX 1024

/* ---- replies ---- */

/* The journal could not be made durable: no held-back change may be reported done. */
static void unsay_ok(struct ctrl_session *cs, int rc)
{
    static const char ok[] = "+00000 ";
    char err[96];
    int n = snprintf(err, sizeof(err), "-%05d %s: %s: the change may be lost", YB_CTRL_E_STORAGE,
                     yb_ctrl_err_text(YB_CTRL_E_STORAGE), yb_strerror(rc));
    struct yb_buf fixed;
    /* Each error line is longer than the "+00000 OK" it replaces: room for all of them. */
    yb_buf_init(&fixed, cs->out.max + (size_t)CTRL_BATCH_MAX * sizeof(err));
    for (size_t i = 0; i < cs->out.len;) {
        const unsigned char *nl = memchr(cs->out.p + i, '\n', cs->out.len - i);
        size_t end = nl != NULL ? (size_t)(nl - cs->out.p) + 1 : cs->out.len;
        if (end - i >= sizeof(ok) - 1 && memcmp(cs->out.p + i, ok, sizeof(ok) - 1) == 0) {
            yb_buf_append(&fixed, err, n > 0 ? (size_t)n : 0);
            yb_buf_append(&fixed, "\r\n", 2);
        } else {
            yb_buf_append(&fixed, cs->out.p + i, end - i);
        }
        i = end;
    }
    yb_buf_free(&cs->out);
    cs->out = fixed;
}

void ctrl_flush(struct yb_session *s, struct ctrl_session *cs)
{
    if (cs->unsynced) {
        int rc = yb_users_journal_sync(yb_confstore_root(cs->store));
        cs->unsynced = false;
        if (rc != 0) {
            yb_log_error("ctrl", "%s: %s: fsync failed: %s", cs->tag, YB_USERS_JOURNAL,
                         yb_strerror(rc));
            unsay_ok(cs, rc);
        }
    }
    cs->batch = 0;
    if (cs->out.len > 0)
        yb_session_write(s, cs->out.p, cs->out.len);
    yb_buf_reset(&cs->out);
}

static void out_append(struct yb_session *s, struct ctrl_session *cs, const void *p, size_t n)
{
    if (cs->out.len + n > cs->out.max)
        ctrl_flush(s, cs);
    if (n > cs->out.max) {
        yb_session_write(s, p, n);
        return;
    }
    yb_buf_append(&cs->out, p, n); /* fits: flushed above */
}

/* One reply line: code, space, text (control characters shown as '?'), CRLF. */
static void put_reply(struct yb_session *s, struct ctrl_session *cs, const char *code,
                      const char *text)
{
    char buf[CTRL_REPLY_MAX];
    int n = snprintf(buf, sizeof(buf) - 2, "%s %s", code, text);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(buf) - 3 ? (size_t)n : sizeof(buf) - 3;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7F)
            buf[i] = '?'; /* details may quote client input */
    }
    buf[len] = '\r';
    buf[len + 1] = '\n';
    out_append(s, cs, buf, len + 2);
}

void ctrl_ok(struct yb_session *s, struct ctrl_session *cs, const char *fmt, ...)
{
    char text[CTRL_REPLY_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0)
        text[0] = '\0'; /* a cut text is still a reply */
    put_reply(s, cs, "+00000", text);
}

static void put_error(struct yb_session *s, struct ctrl_session *cs, int num, const char *more)
{
    char code[16], text[CTRL_REPLY_MAX];
    snprintf(code, sizeof(code), "-%05d", num);
    int n =
        snprintf(text, sizeof(text), "%s%s%s", yb_ctrl_err_text(num), more[0] ? ": " : "", more);
    if (n < 0)
        text[0] = '\0';
    yb_log_info("ctrl", "%s %s: error %d: %s", cs->tag, cs->admin[0] ? cs->admin : "-", num, text);
    put_reply(s, cs, code, text);
}

void ctrl_err(struct yb_session *s, struct ctrl_session *cs, int num, const char *fmt, ...)
{
    char more[CTRL_REPLY_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(more, sizeof(more), fmt, ap);
    va_end(ap);
    if (n < 0)
        more[0] = '\0';
    put_error(s, cs, num, more);
}

void ctrl_error(struct yb_session *s, struct ctrl_session *cs, int num)
{
    put_error(s, cs, num, "");
}

void ctrl_fail(struct yb_session *s, struct ctrl_session *cs, int num, const char *detail)
{
    put_error(s, cs, num, detail != NULL ? detail : "");
}

void ctrl_want_body(struct yb_session *s, struct ctrl_session *cs)
{
    put_reply(s, cs, "+00101", "send the file, end with a line holding a single '.'");
}

void ctrl_list_begin(struct yb_session *s, struct ctrl_session *cs)
{
    put_reply(s, cs, "+00100", "OK");
}

void ctrl_list_record(struct yb_session *s, struct ctrl_session *cs, const struct yb_slice *f,
                      size_t n)
{
    struct yb_buf line;
    yb_buf_init(&line, YB_CTRL_LIMIT_LINE + 2);
    /* Every field is quoted, so a record never starts with '.': no stuffing needed. */
    if (yb_ctrl_format(&line, f, n) == 0)
        out_append(s, cs, line.p, line.len);
    yb_buf_free(&line);
}

void ctrl_list_line(struct yb_session *s, struct ctrl_session *cs, struct yb_slice line)
{
    if (line.len > 0 && line.p[0] == '.')
        out_append(s, cs, ".", 1);
    out_append(s, cs, line.p, line.len);
    out_append(s, cs, "\r\n", 2);
}

void ctrl_list_end(struct yb_session *s, struct ctrl_session *cs)
{
    out_append(s, cs, YB_CTRL_END, 3);
}

void ctrl_list_block(struct yb_session *s, struct ctrl_session *cs, struct yb_slice block)
{
    ctrl_list_begin(s, cs);
    size_t i = 0;
    while (i < block.len) {
        const unsigned char *nl = memchr(block.p + i, '\n', block.len - i);
        size_t end = nl != NULL ? (size_t)(nl - block.p) : block.len;
        size_t len = end - i;
        if (len > 0 && block.p[i + len - 1] == '\r')
            len--;
        ctrl_list_line(s, cs, yb_slice_make(block.p + i, len));
        i = end + 1;
    }
    ctrl_list_end(s, cs);
}

bool ctrl_is_admin(const struct ctrl_session *cs)
{
    return cs->role == CTRL_ROLE_ADMIN;
}

bool ctrl_may_domain(const struct ctrl_session *cs, struct yb_slice domain)
{
    if (cs->role == CTRL_ROLE_ADMIN)
        return true;
    for (size_t i = 0; i < cs->ndomains; i++) {
        if (yb_slice_eq_nocase(yb_slice_cstr(cs->domains[i]), domain))
            return true;
    }
    return false;
}

/* ---- the command table ---- */

enum { CMD_ADMIN = 1u << 0 /* administrators only, never a domain administrator */ };

struct ctrl_cmd {
    const char *name;
    unsigned min_args, max_args; /* after the command name */
    unsigned flags;
    ctrl_cmd_fn *fn;
};

static ctrl_cmd_fn cmd_noop, cmd_quit;

#define ANY YB_CTRL_LIMIT_FIELDS
static const struct ctrl_cmd commands[] = {
    { "useradd", 3, 4, 0, ctrl_cmd_useradd },
    { "userdel", 2, 2, 0, ctrl_cmd_userdel },
    { "userpasswd", 3, 3, 0, ctrl_cmd_userpasswd },
    { "userlist", 0, 2, 0, ctrl_cmd_userlist },
    { "userstat", 2, 2, 0, ctrl_cmd_userstat },
    { "uservars", 2, 2, 0, ctrl_cmd_uservars },
    { "uservarsset", 4, ANY, 0, ctrl_cmd_uservarsset },
    { "aliasadd", 3, 3, 0, ctrl_cmd_aliasadd },
    { "aliasdel", 2, 3, 0, ctrl_cmd_aliasdel },
    { "aliaslist", 0, 3, 0, ctrl_cmd_aliaslist },
    { "aliasdomainadd", 2, 2, 0, ctrl_cmd_aliasdomainadd },
    { "aliasdomaindel", 1, 1, 0, ctrl_cmd_aliasdomaindel },
    { "aliasdomainlist", 0, 1, 0, ctrl_cmd_aliasdomainlist },
    { "domainadd", 1, 1, CMD_ADMIN, ctrl_cmd_domainadd },
    { "domaindel", 1, 2, CMD_ADMIN, ctrl_cmd_domaindel },
    { "domainlist", 0, 0, 0, ctrl_cmd_domainlist },
    { "cfgfileget", 1, 1, CMD_ADMIN, ctrl_cmd_cfgfileget },
    { "cfgfileset", 1, 1, CMD_ADMIN, ctrl_cmd_cfgfileset },
    { "frozlist", 0, 0, CMD_ADMIN, ctrl_cmd_frozlist },
    { "frozsubmit", 1, 1, CMD_ADMIN, ctrl_cmd_frozsubmit },
    { "frozdel", 1, 1, CMD_ADMIN, ctrl_cmd_frozdel },
    { "frozgetlog", 1, 1, CMD_ADMIN, ctrl_cmd_frozgetlog },
    { "frozgetmsg", 1, 1, CMD_ADMIN, ctrl_cmd_frozgetmsg },
    { "etrn", 1, ANY, CMD_ADMIN, ctrl_cmd_etrn },
    { "queuelist", 0, 0, CMD_ADMIN, ctrl_cmd_queuelist },
    { "queueflush", 0, 0, CMD_ADMIN, ctrl_cmd_queueflush },
    { "reload", 0, 0, CMD_ADMIN, ctrl_cmd_reload },
    { "stats", 0, 0, CMD_ADMIN, ctrl_cmd_stats },
    { "version", 0, 0, 0, ctrl_cmd_version },
    { "ctrladd", 3, ANY, CMD_ADMIN, ctrl_cmd_ctrladd },
    { "ctrldel", 1, 1, CMD_ADMIN, ctrl_cmd_ctrldel },
    { "ctrllist", 0, 0, CMD_ADMIN, ctrl_cmd_ctrllist },
    { "noop", 0, 0, 0, cmd_noop },
    { "quit", 0, 0, 0, cmd_quit },
};
#undef ANY

static void cmd_noop(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    (void)a;
    ctrl_ok(s, cs, "OK");
}

static void cmd_quit(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    (void)a;
    ctrl_ok(s, cs, "bye");
    cs->state = CTRL_ST_QUIT;
    ctrl_flush(s, cs);
    yb_session_close(s);
}

static void dispatch(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    for (size_t i = 0; i < YB_ARRAY_LEN(commands); i++) {
        const struct ctrl_cmd *c = &commands[i];
        if (!yb_slice_eq_cstr_nocase(a->f[0], c->name))
            continue;
        if (a->n - 1 < c->min_args || a->n - 1 > c->max_args) {
            ctrl_err(s, cs, YB_CTRL_E_ARGS, "%s takes %u to %u", c->name, c->min_args, c->max_args);
            return;
        }
        if ((c->flags & CMD_ADMIN) && !ctrl_is_admin(cs)) {
            ctrl_err(s, cs, YB_CTRL_E_DENIED, "%s is for administrators", c->name);
            return;
        }
        c->fn(s, cs, a);
        return;
    }
    ctrl_error(s, cs, YB_CTRL_E_UNKNOWN_COMMAND);
}

/* ---- login ---- */

static void set_admin(struct ctrl_session *cs, const struct ctrl_admin *ad)
{
    snprintf(cs->admin, sizeof(cs->admin), "%s", ad->name);
    cs->role = ad->role;
    cs->ndomains = 0;
    for (size_t i = 0; i < ad->ndomains; i++) {
        char *d = malloc(strlen(ad->domain[i]) + 1);
        if (d == NULL)
            break; /* fewer domains: less access, never more */
        memcpy(d, ad->domain[i], strlen(ad->domain[i]) + 1);
        cs->domains[cs->ndomains++] = d;
    }
}

static char g_dummy[YB_PASSWD_STORED_MAX];
static pal_once g_dummy_once = PAL_ONCE_INIT;

static void make_dummy(void)
{
    if (yb_passwd_hash("no such administrator", 21, YB_PASSWD_DEFAULT_ITERATIONS, g_dummy,
                       sizeof(g_dummy)) != 0)
        g_dummy[0] = '\0';
}

/* A stored password with the default cost, to check unknown names against. */
static const char *dummy_hash(void)
{
    pal_once_run(&g_dummy_once, make_dummy);
    return g_dummy;
}

static void do_login(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    const char *ip = yb_session_peer_ip(s);
    struct yb_config *cfg = yb_confstore_get(cs->store);
    const struct yb_vars *v = yb_config_vars(cfg);
    unsigned max_fail = (unsigned)yb_vars_num(v, YB_VAR_CtrlMaxLoginFailures);
    unsigned block_s = (unsigned)yb_vars_num(v, YB_VAR_CtrlLoginBlockTime);
    struct ctrl_admin ad;
    if (!ctrl_login_allowed(yb_session_is_tls(s), yb_session_peer(s))) {
        ctrl_err(s, cs, YB_CTRL_E_TLS_REQUIRED, "send %s first", YB_CTRL_STARTTLS);
        goto out;
    }
    if (ctrl_login_blocked(ip, max_fail, block_s)) {
        ctrl_error(s, cs, YB_CTRL_E_BLOCKED);
        cs->state = CTRL_ST_QUIT;
        ctrl_flush(s, cs);
        yb_session_close(s);
        goto out;
    }
    int rc = YB_EACCES;
    if (a->n == 2 && a->f[0].len <= YB_CTRL_LIMIT_NAME && a->f[1].len <= YB_LIMIT_PASSWORD &&
        ctrl_admin_find(yb_config_tab(cfg, YB_CF_CTRLACCOUNTS), a->f[0], &ad) == 0)
        rc = yb_passwd_verify(ad.password, a->f[1].p, a->f[1].len);
    else if (a->n == 2 && a->f[1].len <= YB_LIMIT_PASSWORD)
        /* About the same time for an unknown name as for a wrong password. */
        yb_passwd_verify(dummy_hash(), a->f[1].p, a->f[1].len);
    if (rc != 0) {
        ctrl_login_failed(ip);
        pal_sleep_ms(ctrl_login_delay_ms(ip));
        yb_log_warn("ctrl", "%s %s: login failed for %.*s", cs->tag, ip,
                    a->n >= 1 && a->f[0].len <= YB_CTRL_LIMIT_NAME ? (int)a->f[0].len : 0,
                    a->n >= 1 ? (const char *)a->f[0].p : "");
        ctrl_error(s, cs, YB_CTRL_E_LOGIN);
        goto out;
    }
    ctrl_login_succeeded(ip);
    set_admin(cs, &ad);
    cs->state = CTRL_ST_READY;
    yb_log_info("ctrl", "%s %s: %s logged in (%s)%s", cs->tag, ip, cs->admin,
                cs->role == CTRL_ROLE_ADMIN ? "admin" : "domain administrator",
                yb_session_is_tls(s) ? " over TLS" : "");
    ctrl_ok(s, cs, "welcome %s", cs->admin);
out:
    yb_config_unref(&cfg);
}

static void cmd_starttls(struct yb_session *s, struct ctrl_session *cs)
{
    if (yb_session_is_tls(s)) {
        ctrl_error(s, cs, YB_CTRL_E_ALREADY_TLS);
        return;
    }
    if (yb_session_start_tls(s) != 0) {
        ctrl_error(s, cs, YB_CTRL_E_NO_TLS);
        return;
    }
    ctrl_ok(s, cs, "start TLS");
}

/* ---- the engine's callbacks ---- */

static int ctrl_open(struct yb_session *s, void **state_r)
{
    struct ctrl_session *cs = calloc(1, sizeof(*cs));
    if (cs == NULL)
        return YB_ENOMEM;
    cs->store = yb_session_app(s);
    yb_buf_init(&cs->out, CTRL_OUT_CHUNK);
    yb_buf_init(&cs->body, YB_CTRL_LIMIT_BODY);
    snprintf(cs->tag, sizeof(cs->tag), "c%llu", (unsigned long long)yb_session_id(s));
    *state_r = cs;
    unsigned char rnd[16];
    char challenge[40];
    if (pal_random_bytes(rnd, sizeof(rnd)) != 0)
        memset(rnd, 0, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(challenge + 2 * i, 3, "%02x", rnd[i]);
    /* XMail's greeting shape: a challenge in angle brackets, then the server. */
    ctrl_ok(s, cs, "<%s> yubin CTRL server ready", challenge);
    ctrl_flush(s, cs);
    return 0;
}

static void ctrl_line(struct yb_session *s, void *state, struct yb_slice line, unsigned flags)
{
    struct ctrl_session *cs = state;
    struct yb_ctrl_args *a = NULL;
    if (cs->state == CTRL_ST_QUIT)
        return;
    if (flags & YB_LINEF_TOO_LONG) {
        ctrl_err(s, cs, YB_CTRL_E_LIMIT, "line longer than %u bytes", YB_CTRL_LIMIT_LINE);
        goto out;
    }
    if (yb_slice_eq(line, YB_SLICE_LIT(YB_CTRL_STARTTLS))) {
        cmd_starttls(s, cs);
        goto out;
    }
    a = malloc(sizeof(*a));
    if (a == NULL) {
        ctrl_err(s, cs, YB_CTRL_E_INTERNAL, "out of memory");
        goto out;
    }
    int rc = yb_ctrl_split(line, a);
    if (rc != 0) {
        ctrl_err(s, cs, rc == YB_ELIMIT ? YB_CTRL_E_LIMIT : YB_CTRL_E_SYNTAX, "%s",
                 rc == YB_EUTF8 ? "invalid UTF-8" : yb_strerror(rc));
        goto out;
    }
    if (cs->state == CTRL_ST_LOGIN) {
        do_login(s, cs, a);
        goto out;
    }
    dispatch(s, cs, a);
out:
    free(a);
    /* Group commit: while pipelined commands wait, account changes share one
     * fsync; their replies are held until it is done (ctrl_flush). */
    if (cs->unsynced && cs->batch < CTRL_BATCH_MAX && yb_session_line_pending(s)) {
        cs->batch++;
        return;
    }
    ctrl_flush(s, cs);
}

static void ctrl_body(struct yb_session *s, void *state, struct yb_slice chunk,
                      enum yb_body_end end)
{
    struct ctrl_session *cs = state;
    if (cs->state != CTRL_ST_BODY)
        return;
    yb_buf_append_slice(&cs->body, chunk); /* past the limit: body_info says truncated */
    if (end == YB_BODY_DONE) {
        cs->state = CTRL_ST_READY;
        ctrl_cfgfileset_done(s, cs);
        yb_buf_free(&cs->body);
        ctrl_flush(s, cs);
    }
}

static void ctrl_wake(struct yb_session *s, void *state, unsigned why)
{
    (void)s;
    (void)state;
    (void)why; /* after #!TLS the client speaks first (the login line) */
}

static void ctrl_timeout(struct yb_session *s, void *state, enum yb_timeout_kind kind)
{
    struct ctrl_session *cs = state;
    ctrl_err(s, cs, YB_CTRL_E_LIMIT, "%s",
             kind == YB_TIMEOUT_SHUTDOWN ? "server shutting down" : "timeout");
    ctrl_flush(s, cs);
}

static void ctrl_close(struct yb_session *s, void *state)
{
    (void)s;
    struct ctrl_session *cs = state;
    if (cs == NULL)
        return;
    if (cs->unsynced && yb_users_journal_sync(yb_confstore_root(cs->store)) != 0)
        yb_log_error("ctrl", "%s: %s: fsync failed at close", cs->tag, YB_USERS_JOURNAL);
    for (size_t i = 0; i < cs->ndomains; i++)
        free(cs->domains[i]);
    yb_buf_free(&cs->out);
    yb_buf_free(&cs->body);
    free(cs);
}

#define CTRL_PROTO(var)                                                         \
    const struct yb_proto var = {                                               \
        .name = "ctrl",                                                         \
        .max_line = YB_CTRL_LIMIT_LINE,                                         \
        .open = ctrl_open,                                                      \
        .line = ctrl_line,                                                      \
        .body = ctrl_body,                                                      \
        .wake = ctrl_wake,                                                      \
        .timeout = ctrl_timeout,                                                \
        .close = ctrl_close,                                                    \
        .refuse_busy = "-00021 a limit was exceeded: too many connections\r\n", \
    }

CTRL_PROTO(yb_ctrl_proto);
CTRL_PROTO(yb_ctrl_proto_tls);
