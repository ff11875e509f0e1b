/*
 * smtp_auth.c - AUTH (RFC 4954) over the shared SASL mechanisms.
 */
#include "smtp_int.h"
#include "pal.h"
#include "yb_base64.h"
#include "yb_lastlogin.h"
#include "yb_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Delay after a failed AUTH, growing with each failure (brute-force brake). */
#define SMTP_AUTH_FAIL_DELAY_MS     1000
#define SMTP_AUTH_FAIL_DELAY_MAX_MS 5000

static unsigned char g_secret[32];
static pal_once g_secret_once = PAL_ONCE_INIT;

static void make_secret(void)
{
    if (pal_random_bytes(g_secret, sizeof(g_secret)) != 0)
        abort();
}

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
    char dir[PAL_PATH_MAX];
    if (u == NULL)
        return;
    int n = snprintf(dir, sizeof(dir), "%s/domains/%.*s/%.*s", yb_confstore_root(ss->store),
                     (int)u->domain.len, (const char *)u->domain.p, (int)u->dir.len,
                     (const char *)u->dir.p);
    if (n > 0 && (size_t)n < sizeof(dir) && yb_lastlogin_note(dir, pal_time_now()) != 0)
        yb_log_debug("smtp", "%s: cannot record the last login in %s", ss->session_tag, dir);
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

/* Runs one SASL step on decoded input and answers. */
static void auth_step(struct yb_session *s, struct smtp_session *ss, const void *in, size_t len,
                      bool have)
{
    struct yb_buf out;
    yb_buf_init(&out, YB_SASL_CHALLENGE_MAX);
    int rc = yb_sasl_step(ss->sasl, in, len, have, &out);
    if (rc == YB_SASL_CONTINUE) {
        char enc[YB_BASE64_ENCODED_LEN(YB_SASL_CHALLENGE_MAX) + 1];
        size_t n = 0;
        if (yb_base64_encode(out.p != NULL ? out.p : (const unsigned char *)"", out.len, enc,
                             sizeof(enc), &n) != 0)
            n = 0;
        enc[n] = '\0';
        smtp_reply(s, "334 %s", enc);
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
    yb_buf_free(&out);
}

/* Decodes a base64 response ("=" is an empty one) and steps. */
static void auth_response(struct yb_session *s, struct smtp_session *ss, struct yb_slice text)
{
    static _Thread_local unsigned char dec[YB_LIMIT_SASL_RESPONSE + 3];
    size_t n = 0;
    if (text.len == 1 && text.p[0] == '=') {
        auth_step(s, ss, "", 0, true);
        return;
    }
    if (yb_base64_decode((const char *)text.p, text.len, YB_B64_STRICT, dec, sizeof(dec), &n) !=
        0) {
        auth_failed(s, ss, YB_EPARSE);
        return;
    }
    auth_step(s, ss, dec, n, true);
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
    pal_once_run(&g_secret_once, make_secret);
    struct yb_sasl_lookup lk = { lookup_stored, ss, g_secret };
    if (yb_sasl_start(mech, &lk, &ss->sasl) != 0) {
        smtp_reply(s, "454 4.7.0 Temporary authentication failure");
        return;
    }
    if (sp < arg.len) {
        /* Initial response (RFC 4954 4). */
        auth_response(s, ss, yb_slice_make(arg.p + sp + 1, arg.len - sp - 1));
        return;
    }
    auth_step(s, ss, NULL, 0, false);
}

void smtp_auth_continue(struct yb_session *s, struct smtp_session *ss, struct yb_slice line)
{
    if (line.len == 1 && line.p[0] == '*') {
        yb_sasl_free(&ss->sasl);
        smtp_set_state(ss, SMTP_ST_READY);
        smtp_reply(s, "501 5.0.0 Authentication cancelled");
        return;
    }
    if (line.len == 0) {
        auth_step(s, ss, "", 0, true);
        return;
    }
    auth_response(s, ss, line);
}
