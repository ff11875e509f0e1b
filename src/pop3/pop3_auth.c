/*
 * pop3_auth.c - the AUTHORIZATION state: USER/PASS (RFC 1939 7) and AUTH
 * (RFC 5034) over the shared SASL mechanisms, and opening the maildrop.
 *
 * An unknown user and a wrong password get the same reply after the same
 * time: USER/PASS runs through the SASL PLAIN machine (which does the same
 * work for an unknown user), and every failure is answered at a fixed delay
 * after the command arrived, growing with the session's failures, so the
 * cost of one hash or another does not show.
 */
#include "pop3_int.h"
#include "pal.h"
#include "yb_lastlogin.h"
#include "yb_log.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reply time after a failed login, per failure in the session, and its ceiling. */
#define POP3_AUTH_FAIL_DELAY_MS     1000
#define POP3_AUTH_FAIL_DELAY_MAX_MS 5000

/*
 * The account for a login name: user@domain, or a bare user in
 * Pop3DefaultDomain when that is set. Only mailbox accounts log in.
 */
static const struct yb_user *find_account(const struct pop3_session *ps, const char *login)
{
    const char *at = strrchr(login, '@');
    struct yb_slice name, domain;
    if (at != NULL) {
        if (at == login || at[1] == '\0')
            return NULL;
        name = yb_slice_make(login, (size_t)(at - login));
        domain = yb_slice_cstr(at + 1);
    } else {
        const char *def = yb_vars_str(yb_config_vars(ps->cfg), YB_VAR_Pop3DefaultDomain);
        if (def[0] == '\0' || login[0] == '\0')
            return NULL;
        name = yb_slice_cstr(login);
        domain = yb_slice_cstr(def);
    }
    const struct yb_user *u = yb_users_find(yb_config_users(ps->cfg), domain, name);
    return u != NULL && u->type == YB_USER_MAILBOX ? u : NULL;
}

static int lookup_stored(void *arg, const char *user, char *buf, size_t size)
{
    const struct yb_user *u = find_account(arg, user);
    if (u == NULL || u->password.len + 1 > size)
        return YB_ENOTFOUND;
    memcpy(buf, u->password.p, u->password.len);
    buf[u->password.len] = '\0';
    return 0;
}

static int start_sasl(struct pop3_session *ps, enum yb_sasl_mech mech)
{
    struct yb_sasl_lookup lk = { lookup_stored, ps, yb_sasl_process_secret() };
    yb_sasl_free(&ps->sasl);
    return yb_sasl_start(mech, &lk, &ps->sasl);
}

static void auth_failed(struct yb_session *s, struct pop3_session *ps, int rc)
{
    yb_sasl_free(&ps->sasl);
    pop3_set_state(ps, POP3_ST_AUTHORIZATION);
    ps->user[0] = '\0';
    if (rc == YB_EPARSE || rc == YB_ELIMIT) {
        pop3_reply(s, "-ERR Malformed authentication data");
        pop3_bad_command(s, ps);
        return;
    }
    ps->auth_failures++;
    uint64_t delay = (uint64_t)ps->auth_failures * POP3_AUTH_FAIL_DELAY_MS;
    if (delay > POP3_AUTH_FAIL_DELAY_MAX_MS)
        delay = POP3_AUTH_FAIL_DELAY_MAX_MS;
    uint64_t spent = pal_time_mono_ms() - ps->auth_started_ms;
    if (spent < delay)
        pal_sleep_ms((unsigned)(delay - spent));
    yb_log_info("pop3", "%s %s: authentication failed", ps->tag, yb_session_peer_ip(s));
    pop3_reply(s, "-ERR [AUTH] Authentication failed");
    pop3_bad_command(s, ps);
}

/* Credentials are good: lock and list the maildrop (RFC 1939 8: or say why not). */
static void logged_in(struct yb_session *s, struct pop3_session *ps, const char *login)
{
    char path[PAL_PATH_MAX];
    yb_sasl_free(&ps->sasl);
    pop3_set_state(ps, POP3_ST_AUTHORIZATION);
    ps->user[0] = '\0';
    const struct yb_user *u = find_account(ps, login);
    int rc = u != NULL ? yb_user_maildir(yb_confstore_root(ps->store), u, path, sizeof path)
                       : YB_ENOTFOUND;
    if (rc == 0)
        rc = pop3_maildrop_open(path, &ps->md);
    if (rc == YB_EBUSY) {
        yb_log_info("pop3", "%s %s: %s: maildrop in use", ps->tag, yb_session_peer_ip(s), login);
        pop3_reply(s, "-ERR [IN-USE] Maildrop is locked by another session");
        return;
    }
    if (rc != 0) {
        yb_log_error("pop3", "%s %s: %s: cannot open the maildrop: %s", ps->tag,
                     yb_session_peer_ip(s), login, yb_strerror(rc));
        pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the maildrop, try again later");
        return;
    }
    snprintf(ps->login, sizeof(ps->login), "%.*s@%.*s", (int)u->name.len, (const char *)u->name.p,
             (int)u->domain.len, (const char *)u->domain.p);
    pop3_set_state(ps, POP3_ST_TRANSACTION);
    yb_lastlogin_note_user(yb_confstore_root(ps->store), u, "pop3");
    yb_log_info("pop3", "%s %s: %s logged in%s, %llu messages (%llu octets)", ps->tag,
                yb_session_peer_ip(s), ps->login, yb_session_is_tls(s) ? " (TLS)" : "",
                (unsigned long long)ps->md->n, (unsigned long long)ps->md->total);
    pop3_reply(s, "+OK Logged in, %llu messages (%llu octets)", (unsigned long long)ps->md->n,
               (unsigned long long)ps->md->total);
}

static bool refuse_plaintext(struct yb_session *s, struct pop3_session *ps)
{
    if (pop3_auth_allowed(s, ps))
        return false;
    pop3_reply(s, "-ERR [AUTH] Plaintext authentication not allowed without TLS (use STLS)");
    pop3_bad_command(s, ps);
    return true;
}

void pop3_cmd_user(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd)
{
    if (refuse_plaintext(s, ps))
        return;
    struct yb_slice name = cmd->arg[0];
    if (name.len > YB_LIMIT_SASL_USER) {
        pop3_reply(s, "-ERR User name too long");
        pop3_bad_command(s, ps);
        return;
    }
    memcpy(ps->user, name.p, name.len);
    ps->user[name.len] = '\0';
    /* The same answer for every name (RFC 1939 allows it; nothing is revealed). */
    pop3_reply(s, "+OK Send PASS");
}

void pop3_cmd_pass(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd)
{
    if (refuse_plaintext(s, ps))
        return;
    if (ps->user[0] == '\0') {
        pop3_reply(s, "-ERR USER first");
        pop3_bad_command(s, ps);
        return;
    }
    ps->auth_started_ms = pal_time_mono_ms();
    /* PLAIN's message: authzid NUL authcid NUL password (no NUL can come from a line). */
    char msg[YB_LIMIT_SASL_USER + YB_POP3_LIMIT_LINE + 2];
    size_t ulen = strlen(ps->user), plen = cmd->arg[0].len;
    msg[0] = '\0';
    memcpy(msg + 1, ps->user, ulen);
    msg[1 + ulen] = '\0';
    memcpy(msg + 2 + ulen, cmd->arg[0].p, plen);
    char user[YB_LIMIT_SASL_USER + 1];
    memcpy(user, ps->user, ulen + 1);
    struct yb_buf out;
    yb_buf_init(&out, YB_SASL_CHALLENGE_MAX);
    int rc = start_sasl(ps, YB_SASL_PLAIN);
    if (rc == 0)
        rc = yb_sasl_step(ps->sasl, msg, 2 + ulen + plen, true, &out);
    yb_buf_free(&out);
    OPENSSL_cleanse(msg, sizeof(msg));
    if (rc == YB_SASL_DONE)
        logged_in(s, ps, user);
    else
        auth_failed(s, ps,
                    rc == YB_EPARSE || rc == YB_ELIMIT || rc == YB_SASL_CONTINUE ? YB_EACCES : rc);
}

/* Runs one SASL step on the client's base64 text and answers. */
static void auth_step(struct yb_session *s, struct pop3_session *ps, struct yb_slice text,
                      bool have)
{
    char challenge[YB_SASL_CHALLENGE_TEXT_MAX];
    ps->auth_started_ms = pal_time_mono_ms();
    int rc = yb_sasl_step_text(ps->sasl, text, have, challenge);
    if (rc == YB_SASL_CONTINUE) {
        pop3_reply(s, "+ %s", challenge);
        pop3_set_state(ps, POP3_ST_SASL);
    } else if (rc == YB_SASL_DONE) {
        char user[YB_LIMIT_SASL_USER + 1];
        snprintf(user, sizeof(user), "%s", yb_sasl_user(ps->sasl));
        logged_in(s, ps, user);
    } else {
        auth_failed(s, ps, rc);
    }
}

void pop3_cmd_auth(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd)
{
    if (refuse_plaintext(s, ps))
        return;
    if (cmd->nargs == 0) {
        /* RFC 1734's listing form, which older clients still send. */
        pop3_reply(s, "+OK Mechanisms follow");
        pop3_reply(s, "PLAIN");
        pop3_reply(s, "LOGIN");
        pop3_reply(s, "SCRAM-SHA-256");
        pop3_reply(s, ".");
        return;
    }
    enum yb_sasl_mech mech;
    if (yb_sasl_mech_parse(cmd->arg[0], &mech) != 0) {
        pop3_reply(s, "-ERR Unrecognized authentication mechanism");
        pop3_bad_command(s, ps);
        return;
    }
    if (start_sasl(ps, mech) != 0) {
        pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication failure");
        return;
    }
    ps->user[0] = '\0';
    /* With the initial response of RFC 5034 4, or without. */
    auth_step(s, ps, cmd->nargs == 2 ? cmd->arg[1] : yb_slice_make("", 0), cmd->nargs == 2);
}

void pop3_auth_continue(struct yb_session *s, struct pop3_session *ps, struct yb_slice line)
{
    if (line.len == 1 && line.p[0] == '*') {
        yb_sasl_free(&ps->sasl);
        pop3_set_state(ps, POP3_ST_AUTHORIZATION);
        pop3_reply(s, "-ERR Authentication cancelled");
        return;
    }
    auth_step(s, ps, line, true);
}
