/*
 * smtp_session.c - the SMTP session: greeting, command dispatch, the small
 * commands (EHLO, HELO, NOOP, RSET, QUIT, VRFY, EXPN, HELP, STARTTLS),
 * timeouts and the three protocol flavours.
 */
#include "smtp_int.h"
#include "pal.h"
#include "yb_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Delay added per bad command beyond the first few (tarpit), and its ceiling. */
#define SMTP_TARPIT_STEP_MS 500
#define SMTP_TARPIT_MAX_MS  5000

static const char *const state_names[] = { "pregreet", "greeted", "ready", "mail",
                                           "data",     "bdat",    "auth",  "quit" };

void smtp_set_state(struct smtp_session *ss, enum smtp_state st)
{
    if (ss->state != st)
        yb_log_debug("smtp", "%s: %s -> %s", ss->session_tag, state_names[ss->state],
                     state_names[st]);
    ss->state = st;
}

int64_t smtp_var(const struct smtp_session *ss, enum yb_var_id id)
{
    return yb_vars_num(yb_config_vars(ss->cfg), id);
}

void smtp_reply(struct yb_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    yb_session_vreply(s, fmt, ap);
    va_end(ap);
}

bool smtp_bad_command(struct yb_session *s, struct smtp_session *ss)
{
    ss->bad_commands++;
    if (ss->bad_commands >= (unsigned)smtp_var(ss, YB_VAR_SmtpMaxBadCommands)) {
        smtp_reply(s, "421 4.7.0 %s Too many errors, closing connection", ss->server_name);
        yb_session_close(s);
        smtp_set_state(ss, SMTP_ST_QUIT);
        return true;
    }
    if (ss->bad_commands > 3) {
        unsigned ms = (ss->bad_commands - 3) * SMTP_TARPIT_STEP_MS;
        pal_sleep_ms(ms < SMTP_TARPIT_MAX_MS ? ms : SMTP_TARPIT_MAX_MS);
    }
    return false;
}

/* AUTH is offered and accepted only on TLS (loopback plaintext included: no exception). */
bool smtp_tls_required_for_auth(struct yb_session *s, const struct smtp_session *ss)
{
    (void)ss;
    return !yb_session_is_tls(s);
}

static void server_name(struct smtp_session *ss)
{
    const struct yb_vars *v = yb_config_vars(ss->cfg);
    const char *n = yb_vars_str(v, YB_VAR_SmtpServerDomain);
    if (n[0] == '\0')
        n = yb_vars_str(v, YB_VAR_RootDomain);
    if (n[0] != '\0')
        snprintf(ss->server_name, sizeof(ss->server_name), "%s", n);
    else if (pal_hostname(ss->server_name, sizeof(ss->server_name)) != 0)
        snprintf(ss->server_name, sizeof(ss->server_name), "localhost");
}

static void greet(struct yb_session *s, struct smtp_session *ss)
{
    ss->state = SMTP_ST_GREETED;
    smtp_reply(s, "220 %s ESMTP yubin", ss->server_name);
}

static int open_common(struct yb_session *s, void **state_r, enum smtp_mode mode)
{
    struct smtp_session *ss = calloc(1, sizeof(*ss));
    if (ss == NULL)
        return YB_ENOMEM;
    ss->mode = mode;
    ss->store = yb_session_app(s);
    ss->cfg = yb_confstore_get(ss->store);
    snprintf(ss->session_tag, sizeof(ss->session_tag), "s%llu",
             (unsigned long long)yb_session_id(s));
    server_name(ss);
    *state_r = ss;
    int64_t delay_s = smtp_var(ss, YB_VAR_SmtpGreetDelay);
    if (mode == SMTP_MODE_MX && delay_s > 0 && !smtp_pregreet_passed(yb_session_peer(s))) {
        /* RFC 5321 3.1: the client waits for the greeting. One that does not is refused. */
        ss->state = SMTP_ST_PREGREET;
        yb_session_park(s, (unsigned)delay_s * 1000u);
        return 0;
    }
    greet(s, ss);
    return 0;
}

static int open_mx(struct yb_session *s, void **st)
{
    return open_common(s, st, SMTP_MODE_MX);
}
static int open_sub(struct yb_session *s, void **st)
{
    return open_common(s, st, SMTP_MODE_SUBMISSION);
}
static int open_smtps(struct yb_session *s, void **st)
{
    return open_common(s, st, SMTP_MODE_SMTPS);
}

static void cmd_ehlo(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg, bool esmtp)
{
    if (arg.len == 0 || smtp_check_helo(arg) != 0) {
        smtp_reply(s, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
        smtp_bad_command(s, ss);
        return;
    }
    smtp_txn_reset(&ss->txn);
    snprintf(ss->helo, sizeof(ss->helo), "%.*s", (int)arg.len, (const char *)arg.p);
    ss->esmtp = esmtp;
    smtp_set_state(ss, SMTP_ST_READY);
    if (!esmtp) {
        smtp_reply(s, "250 %s", ss->server_name);
        return;
    }
    smtp_reply(s, "250-%s Hello %s [%s]", ss->server_name, ss->helo, yb_session_peer_ip(s));
    smtp_reply(s, "250-PIPELINING");
    smtp_reply(s, "250-SIZE %lld", (long long)smtp_var(ss, YB_VAR_MaxMessageSize));
    smtp_reply(s, "250-8BITMIME");
    smtp_reply(s, "250-ENHANCEDSTATUSCODES");
    if (!yb_session_is_tls(s))
        smtp_reply(s, "250-STARTTLS");
    else
        smtp_reply(s, "250-AUTH PLAIN LOGIN SCRAM-SHA-256");
    smtp_reply(s, "250-DSN");
    smtp_reply(s, "250-SMTPUTF8");
    smtp_reply(s, "250 CHUNKING");
}

static void cmd_starttls(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg)
{
    if (arg.len != 0) {
        smtp_reply(s, "501 5.5.4 Syntax: STARTTLS");
        return;
    }
    if (yb_session_is_tls(s)) {
        smtp_reply(s, "503 5.5.1 TLS already active");
        return;
    }
    if (yb_session_start_tls(s) != 0) {
        smtp_reply(s, "454 4.7.0 TLS not available");
        return;
    }
    smtp_reply(s, "220 2.0.0 Ready to start TLS");
    /* RFC 3207: forget everything learned before TLS. */
    smtp_txn_reset(&ss->txn);
    ss->helo[0] = '\0';
    ss->esmtp = false;
    smtp_set_state(ss, SMTP_ST_GREETED);
}

static void smtp_line(struct yb_session *s, void *state, struct yb_slice line, unsigned flags)
{
    struct smtp_session *ss = state;
    if (ss->state == SMTP_ST_QUIT)
        return;
    if (ss->state == SMTP_ST_PREGREET) {
        yb_log_info("smtp", "%s %s: talked before the greeting, refused", ss->session_tag,
                    yb_session_peer_ip(s));
        smtp_reply(s, "554 5.5.1 %s Protocol error: command sent before the greeting",
                   ss->server_name);
        yb_session_close(s);
        smtp_set_state(ss, SMTP_ST_QUIT);
        return;
    }
    if (flags & YB_LINEF_TOO_LONG) {
        smtp_reply(s, "500 5.5.2 Line too long");
        smtp_bad_command(s, ss);
        return;
    }
    if (ss->state == SMTP_ST_AUTH) {
        smtp_auth_continue(s, ss, line);
        return;
    }
    /* The engine allows AUTH-sized lines; every other command has RFC 5321's 512. */
    struct smtp_cmd cmd;
    int rc = smtp_parse_command(line, &cmd);
    if (line.len > YB_SMTP_LIMIT_LINE && !(rc == 0 && cmd.verb == SMTP_AUTH)) {
        smtp_reply(s, "500 5.5.2 Line too long");
        smtp_bad_command(s, ss);
        return;
    }
    if (rc != 0) {
        smtp_reply(s, "500 5.5.2 Command not recognized");
        smtp_bad_command(s, ss);
        return;
    }
    switch (cmd.verb) {
    case SMTP_EHLO: cmd_ehlo(s, ss, cmd.arg, true); return;
    case SMTP_HELO: cmd_ehlo(s, ss, cmd.arg, false); return;
    case SMTP_NOOP: smtp_reply(s, "250 2.0.0 Ok"); return;
    case SMTP_RSET:
        smtp_txn_reset(&ss->txn);
        if (ss->state != SMTP_ST_GREETED)
            smtp_set_state(ss, SMTP_ST_READY);
        smtp_reply(s, "250 2.0.0 Ok");
        return;
    case SMTP_QUIT:
        smtp_reply(s, "221 2.0.0 %s Bye", ss->server_name);
        yb_session_close(s);
        smtp_set_state(ss, SMTP_ST_QUIT);
        return;
    case SMTP_VRFY: smtp_reply(s, "252 2.5.2 Cannot VRFY user, but will accept message"); return;
    case SMTP_EXPN: smtp_reply(s, "502 5.5.1 EXPN not available"); return;
    case SMTP_HELP: smtp_reply(s, "214 2.0.0 See RFC 5321"); return;
    case SMTP_STARTTLS: cmd_starttls(s, ss, cmd.arg); return;
    default: break;
    }
    if (ss->state == SMTP_ST_GREETED) {
        smtp_reply(s, "503 5.5.1 Send HELO or EHLO first");
        smtp_bad_command(s, ss);
        return;
    }
    switch (cmd.verb) {
    case SMTP_AUTH: smtp_cmd_auth(s, ss, cmd.arg); return;
    case SMTP_MAIL: smtp_cmd_mail(s, ss, cmd.arg); return;
    case SMTP_RCPT: smtp_cmd_rcpt(s, ss, cmd.arg); return;
    case SMTP_DATA: smtp_cmd_data(s, ss, cmd.arg); return;
    case SMTP_BDAT: smtp_cmd_bdat(s, ss, cmd.arg); return;
    case SMTP_ETRN: smtp_cmd_etrn(s, ss, cmd.arg); return;
    default:
        smtp_reply(s, "502 5.5.1 Command not implemented");
        smtp_bad_command(s, ss);
        return;
    }
}

static void smtp_body_cb(struct yb_session *s, void *state, struct yb_slice chunk,
                         enum yb_body_end end)
{
    smtp_body(s, state, chunk, end);
}

static void smtp_wake(struct yb_session *s, void *state, unsigned why)
{
    struct smtp_session *ss = state;
    /* After STARTTLS the client speaks first (EHLO): only the greeting delay wakes us. */
    if (ss->state != SMTP_ST_PREGREET)
        return;
    if (!(why & YB_WAKE_TIMER)) {
        yb_session_park(s, 1); /* not the timer: finish the pause almost at once */
        return;
    }
    smtp_pregreet_remember(yb_session_peer(s));
    greet(s, ss);
}

static void smtp_timeout(struct yb_session *s, void *state, enum yb_timeout_kind kind)
{
    struct smtp_session *ss = state;
    if (kind == YB_TIMEOUT_SHUTDOWN)
        smtp_reply(s, "421 4.3.2 %s Service shutting down", ss->server_name);
    else
        smtp_reply(s, "421 4.4.2 %s Timeout, closing connection", ss->server_name);
}

static void smtp_close(struct yb_session *s, void *state)
{
    (void)s;
    struct smtp_session *ss = state;
    if (ss == NULL)
        return;
    smtp_txn_reset(&ss->txn);
    free(ss->txn.local);
    free(ss->txn.remote);
    yb_sasl_free(&ss->sasl);
    free(ss->res);
    yb_config_unref(&ss->cfg);
    free(ss);
}

#define SMTP_PROTO(var, opener)                                               \
    const struct yb_proto var = {                                             \
        .name = "smtp",                                                       \
        .max_line = YB_SMTP_LIMIT_AUTH_LINE,                                  \
        .open = opener,                                                       \
        .line = smtp_line,                                                    \
        .body = smtp_body_cb,                                                 \
        .wake = smtp_wake,                                                    \
        .timeout = smtp_timeout,                                              \
        .close = smtp_close,                                                  \
        .refuse_busy = "421 4.7.0 Too many connections, try again later\r\n", \
    }

SMTP_PROTO(yb_smtp_proto_mx, open_mx);
SMTP_PROTO(yb_smtp_proto_submission, open_sub);
SMTP_PROTO(yb_smtp_proto_smtps, open_smtps);
