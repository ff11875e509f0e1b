/*
 * smtp_auth.c - AUTH (RFC 4954) over the shared SASL mechanisms.
 */
#include "smtp_int.h"
#include "pal.h"
#include "yb_lastlogin.h"
#include "yb_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Delay after a failed AUTH, growing with each failure (brute-force brake). */
#define SMTP_AUTH_FAIL_DELAY_MS     1000
#define SMTP_AUTH_FAIL_DELAY_MAX_MS 5000

/* Login names are user@domain; the lookup copies the stored password form. */
static int lookup_stored(void *arg, const char *user, char *buf, size_t size)
{
    const struct smtp_session *ss = arg;
    const char *at = strrchr(user, '@');
    if (at == NULL || at == user || at[1] == '\0')
        return YB_ENOTFOUND;
    const struct yb_user *u = yb_users_find(yb_config_users(ss->cfg), yb_slice_cstr(at + 1),
                                            yb_slice_make(user, (size_t)(at - user)));
    if (u == NULL || u->password.len + 1 > size)
        return YB_ENOTFOUND;
    memcpy(buf, u->password.p, u->password.len);
    buf[u->password.len] = '\0';
    return 0;
}

/* Stamps the account's last login (CTRL userstat); cheap: a stat, a write once a minute. */
static void note_login(const struct smtp_session *ss)
{
    const char *at = strrchr(ss->auth_user, '@');
    if (at == NULL)
        return;
    const struct yb_user *u =
        yb_users_find(yb_config_users(ss->cfg), yb_slice_cstr(at + 1),
                      yb_slice_make(ss->auth_user, (size_t)(at - ss->auth_user)));
    yb_lastlogin_note_user(yb_confstore_root(ss->store), u, "smtp");
}

static void auth_failed(struct yb_session *s, struct smtp_session *ss, int rc)
{
    yb_sasl_free(&ss->sasl);
    smtp_set_state(ss, SMTP_ST_READY);
    if (rc == YB_EPARSE || rc == YB_ELIMIT) {
        smtp_reply(s, "501 5.5.2 Malformed authentication data");
        smtp_bad_command(s, ss);
        return;
    }
    ss->auth_failures++;
    unsigned ms = ss->auth_failures * SMTP_AUTH_FAIL_DELAY_MS;
    pal_sleep_ms(ms < SMTP_AUTH_FAIL_DELAY_MAX_MS ? ms : SMTP_AUTH_FAIL_DELAY_MAX_MS);
    yb_log_info("smtp", "%s %s: authentication failed", ss->session_tag, yb_session_peer_ip(s));
    smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
    smtp_bad_command(s, ss);
}

/* Runs one SASL step on the client's base64 text and answers. */
static void auth_step(struct yb_session *s, struct smtp_session *ss, struct yb_slice text,
                      bool have)
{
    char challenge[YB_SASL_CHALLENGE_TEXT_MAX];
    int rc = yb_sasl_step_text(ss->sasl, text, have, challenge);
    if (rc == YB_SASL_CONTINUE) {
        smtp_reply(s, "334 %s", challenge);
        smtp_set_state(ss, SMTP_ST_AUTH);
    } else if (rc == YB_SASL_DONE) {
        snprintf(ss->auth_user, sizeof(ss->auth_user), "%s", yb_sasl_user(ss->sasl));
        yb_sasl_free(&ss->sasl);
        smtp_set_state(ss, SMTP_ST_READY);
        yb_log_info("smtp", "%s %s: authenticated as %s", ss->session_tag, yb_session_peer_ip(s),
                    ss->auth_user);
        note_login(ss);
        smtp_reply(s, "235 2.7.0 Authentication successful");
    } else {
        auth_failed(s, ss, rc);
    }
}

void smtp_cmd_auth(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg)
{
    if (smtp_tls_required_for_auth(s, ss)) {
        smtp_reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
        smtp_bad_command(s, ss);
        return;
    }
    if (ss->auth_user[0] != '\0') {
        smtp_reply(s, "503 5.5.1 Already authenticated");
        return;
    }
    if (ss->state == SMTP_ST_MAIL) {
        smtp_reply(s, "503 5.5.1 AUTH not allowed during a mail transaction");
        return;
    }
    size_t sp = 0;
    while (sp < arg.len && arg.p[sp] != ' ')
        sp++;
    enum yb_sasl_mech mech;
    if (yb_sasl_mech_parse(yb_slice_make(arg.p, sp), &mech) != 0) {
        smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
        smtp_bad_command(s, ss);
        return;
    }
    struct yb_sasl_lookup lk = { lookup_stored, ss, yb_sasl_process_secret() };
    if (yb_sasl_start(mech, &lk, &ss->sasl) != 0) {
        smtp_reply(s, "454 4.7.0 Temporary authentication failure");
        return;
    }
    if (sp < arg.len) {
        /* Initial response (RFC 4954 4). */
        auth_step(s, ss, yb_slice_make(arg.p + sp + 1, arg.len - sp - 1), true);
        return;
    }
    auth_step(s, ss, yb_slice_make("", 0), false);
}

void smtp_auth_continue(struct yb_session *s, struct smtp_session *ss, struct yb_slice line)
{
    if (line.len == 1 && line.p[0] == '*') {
        yb_sasl_free(&ss->sasl);
        smtp_set_state(ss, SMTP_ST_READY);
        smtp_reply(s, "501 5.0.0 Authentication cancelled");
        return;
    }
    auth_step(s, ss, line, true);
}
