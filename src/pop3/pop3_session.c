/*
 * pop3_session.c - the POP3 session: greeting, command dispatch by state,
 * CAPA, STLS, NOOP, QUIT before login, the autologout timer and the two
 * listener flavours.
 *
 * The autologout timer (RFC 1939 3: at least 10 minutes) is the session's
 * own: after every command the session parks with Pop3IdleTimeout, so the
 * engine's IdleTimeout (5 minutes for SMTP) does not cut POP3 clients off.
 */
#include "pop3_int.h"
#include "pal.h"
#include "yb_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Delay added per bad command beyond the first few (tarpit), and its ceiling. */
#define POP3_TARPIT_STEP_MS 500
#define POP3_TARPIT_MAX_MS  5000
#define POP3_TARPIT_FREE    3

static const char *const state_names[] = { "authorization", "sasl", "transaction", "done" };

void pop3_set_state(struct pop3_session *ps, enum pop3_state st)
{
    if (ps->state != st)
        yb_log_debug("pop3", "%s: %s -> %s", ps->tag, state_names[ps->state], state_names[st]);
    ps->state = st;
}

int64_t pop3_var(const struct pop3_session *ps, enum yb_var_id id)
{
    return yb_vars_num(yb_config_vars(ps->cfg), id);
}

void pop3_reply(struct yb_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    yb_session_vreply(s, fmt, ap);
    va_end(ap);
}

bool pop3_bad_command(struct yb_session *s, struct pop3_session *ps)
{
    ps->bad_commands++;
    if (ps->bad_commands >= (unsigned)pop3_var(ps, YB_VAR_Pop3MaxBadCommands)) {
        pop3_reply(s, "-ERR Too many bad commands, closing connection");
        yb_session_close(s);
        pop3_set_state(ps, POP3_ST_DONE);
        return true;
    }
    if (ps->bad_commands > POP3_TARPIT_FREE) {
        unsigned ms = (ps->bad_commands - POP3_TARPIT_FREE) * POP3_TARPIT_STEP_MS;
        pal_sleep_ms(ms < POP3_TARPIT_MAX_MS ? ms : POP3_TARPIT_MAX_MS);
    }
    return false;
}

bool pop3_auth_allowed(struct yb_session *s, const struct pop3_session *ps)
{
    return yb_session_is_tls(s) || pop3_var(ps, YB_VAR_Pop3AllowPlaintextAuth) != 0;
}

/* Restarts the autologout timer. */
static void arm_timer(struct yb_session *s, struct pop3_session *ps)
{
    if (ps->state != POP3_ST_DONE)
        yb_session_park(s, (unsigned)pop3_var(ps, YB_VAR_Pop3IdleTimeout) * 1000u);
}

static int pop3_open(struct yb_session *s, void **state_r)
{
    struct pop3_session *ps = calloc(1, sizeof(*ps));
    if (ps == NULL)
        return YB_ENOMEM;
    ps->store = yb_session_app(s);
    ps->cfg = yb_confstore_get(ps->store);
    snprintf(ps->tag, sizeof(ps->tag), "s%llu", (unsigned long long)yb_session_id(s));
    *state_r = ps;
    /* No APOP timestamp in the greeting: APOP needs reversible passwords. */
    pop3_reply(s, "+OK yubin POP3 server ready");
    arm_timer(s, ps);
    return 0;
}

static void cmd_capa(struct yb_session *s, struct pop3_session *ps)
{
    pop3_reply(s, "+OK Capability list follows");
    pop3_reply(s, "TOP");
    pop3_reply(s, "UIDL");
    pop3_reply(s, "RESP-CODES");
    pop3_reply(s, "AUTH-RESP-CODE");
    pop3_reply(s, "PIPELINING");
    if (ps->state == POP3_ST_AUTHORIZATION) {
        if (pop3_auth_allowed(s, ps)) {
            pop3_reply(s, "USER");
            pop3_reply(s, "SASL PLAIN LOGIN SCRAM-SHA-256");
        }
        if (!yb_session_is_tls(s))
            pop3_reply(s, "STLS");
    }
    pop3_reply(s, "IMPLEMENTATION yubin");
    pop3_reply(s, ".");
}

static void cmd_stls(struct yb_session *s, struct pop3_session *ps)
{
    if (ps->state != POP3_ST_AUTHORIZATION) {
        pop3_reply(s, "-ERR STLS only before login");
        pop3_bad_command(s, ps);
        return;
    }
    if (yb_session_is_tls(s)) {
        pop3_reply(s, "-ERR TLS already active");
        pop3_bad_command(s, ps);
        return;
    }
    if (yb_session_start_tls(s) != 0) {
        pop3_reply(s, "-ERR [SYS/TEMP] TLS not available");
        return;
    }
    pop3_reply(s, "+OK Begin TLS negotiation");
    /* RFC 2595 4: forget what was said before TLS. */
    ps->user[0] = '\0';
}

static void dispatch(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd)
{
    switch (cmd->verb) {
    case POP3_CAPA: cmd_capa(s, ps); return;
    case POP3_NOOP:
        if (ps->state == POP3_ST_TRANSACTION) {
            pop3_reply(s, "+OK");
            return;
        }
        break;
    case POP3_QUIT: pop3_cmd_quit(s, ps); return;
    case POP3_STLS: cmd_stls(s, ps); return;
    case POP3_APOP:
        pop3_reply(s, "-ERR APOP not supported (use USER/PASS or AUTH over TLS)");
        pop3_bad_command(s, ps);
        return;
    default: break;
    }
    if (ps->state == POP3_ST_AUTHORIZATION) {
        switch (cmd->verb) {
        case POP3_USER: pop3_cmd_user(s, ps, cmd); return;
        case POP3_PASS: pop3_cmd_pass(s, ps, cmd); return;
        case POP3_AUTH: pop3_cmd_auth(s, ps, cmd); return;
        default:
            pop3_reply(s, "-ERR Log in first");
            pop3_bad_command(s, ps);
            return;
        }
    }
    switch (cmd->verb) {
    case POP3_STAT: pop3_cmd_stat(s, ps); return;
    case POP3_LIST: pop3_cmd_list(s, ps, cmd, false); return;
    case POP3_UIDL: pop3_cmd_list(s, ps, cmd, true); return;
    case POP3_RETR:
    case POP3_TOP: pop3_cmd_retr(s, ps, cmd); return;
    case POP3_DELE: pop3_cmd_dele(s, ps, cmd); return;
    case POP3_RSET: pop3_cmd_rset(s, ps); return;
    default:
        pop3_reply(s, "-ERR Already logged in");
        pop3_bad_command(s, ps);
        return;
    }
}

static void pop3_line(struct yb_session *s, void *state, struct yb_slice line, unsigned flags)
{
    struct pop3_session *ps = state;
    if (ps->state == POP3_ST_DONE)
        return;
    if (flags & YB_LINEF_TOO_LONG) {
        if (ps->state == POP3_ST_SASL) {
            yb_sasl_free(&ps->sasl);
            pop3_set_state(ps, POP3_ST_AUTHORIZATION);
        }
        pop3_reply(s, "-ERR Line too long");
        pop3_bad_command(s, ps);
    } else if (ps->state == POP3_ST_SASL) {
        pop3_auth_continue(s, ps, line);
    } else {
        struct pop3_cmd cmd;
        int rc = pop3_parse_command(line, &cmd);
        if (rc == 0) {
            dispatch(s, ps, &cmd);
        } else {
            pop3_reply(s, "-ERR %s",
                       rc == YB_ENOTSUP  ? "Unknown command"
                       : rc == YB_ELIMIT ? "Line too long"
                       : rc == YB_EUTF8  ? "Invalid UTF-8"
                                         : "Syntax error");
            pop3_bad_command(s, ps);
        }
    }
    arm_timer(s, ps);
}

static void pop3_wake(struct yb_session *s, void *state, unsigned why)
{
    struct pop3_session *ps = state;
    if (why & YB_WAKE_TIMER) {
        /* RFC 1939 3: the autologout timer ends the session without UPDATE. */
        yb_log_info("pop3", "%s %s: autologout after %lld s idle", ps->tag, yb_session_peer_ip(s),
                    (long long)pop3_var(ps, YB_VAR_Pop3IdleTimeout));
        pop3_reply(s, "-ERR Autologout: idle for too long");
        yb_session_close(s);
        pop3_set_state(ps, POP3_ST_DONE);
        return;
    }
    arm_timer(s, ps); /* TLS is up (STLS): the client speaks next */
}

static void pop3_timeout(struct yb_session *s, void *state, enum yb_timeout_kind kind)
{
    (void)state;
    if (kind == YB_TIMEOUT_SHUTDOWN)
        pop3_reply(s, "-ERR [SYS/TEMP] Server shutting down");
    else
        pop3_reply(s, "-ERR Autologout: idle for too long");
}

static void pop3_close(struct yb_session *s, void *state)
{
    (void)s;
    struct pop3_session *ps = state;
    if (ps == NULL)
        return;
    /* A dropped connection never reaches UPDATE: nothing is deleted. */
    pop3_maildrop_close(&ps->md);
    yb_sasl_free(&ps->sasl);
    yb_config_unref(&ps->cfg);
    free(ps);
}

#define POP3_PROTO(var)                                                       \
    const struct yb_proto var = {                                             \
        .name = "pop3",                                                       \
        .max_line = YB_POP3_LIMIT_AUTH_LINE,                                  \
        .open = pop3_open,                                                    \
        .line = pop3_line,                                                    \
        .body = NULL,                                                         \
        .wake = pop3_wake,                                                    \
        .timeout = pop3_timeout,                                              \
        .close = pop3_close,                                                  \
        .refuse_busy = "-ERR [SYS/TEMP] Too many connections, try later\r\n", \
    }

POP3_PROTO(yb_pop3_proto);
POP3_PROTO(yb_pop3s_proto);
