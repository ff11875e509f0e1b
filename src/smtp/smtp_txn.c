/*
 * smtp_txn.c - the mail transaction: MAIL, RCPT, DATA, BDAT, and making the
 * message durable (Maildir for local recipients, the spool for the others)
 * before the 250.
 */
#include "smtp_int.h"
#include "pal.h"
#include "yb_log.h"
#include "yb_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of headers we prepend (Return-Path, Received). */
#define SMTP_TRACE_MAX 2048

void smtp_txn_reset(struct smtp_txn *t)
{
    yb_delivery_free(&t->delivery);
    yb_spool_free(&t->spool);
    for (size_t i = 0; i < t->nremote; i++) {
        free(t->remote[i].addr);
        free(t->remote[i].notify);
        free(t->remote[i].orcpt);
        free(t->remote[i].last_error);
    }
    struct smtp_local_rcpt *local = t->local;
    struct yb_env_rcpt *remote = t->remote;
    size_t lcap = t->local_cap, rcap = t->remote_cap;
    memset(t, 0, sizeof(*t));
    t->local = local;
    t->remote = remote;
    t->local_cap = lcap;
    t->remote_cap = rcap;
}

static bool in_mail(struct yb_session *s, struct smtp_session *ss)
{
    if (ss->state != SMTP_ST_MAIL) {
        smtp_reply(s, "503 5.5.1 Need MAIL command");
        smtp_bad_command(s, ss);
        return false;
    }
    return true;
}

static void path_error(struct yb_session *s, struct smtp_session *ss, enum smtp_path_error e)
{
    switch (e) {
    case SMTP_PATH_TOO_LONG: smtp_reply(s, "501 5.5.4 Address too long"); break;
    case SMTP_PATH_NEEDS_UTF8:
        smtp_reply(s, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
        break;
    case SMTP_PATH_PARAMS: smtp_reply(s, "555 5.5.4 Unsupported or malformed parameters"); break;
    default: smtp_reply(s, "501 5.1.7 Bad address syntax"); break;
    }
    smtp_bad_command(s, ss);
}

/* The session's resolver working space (~40 KiB), allocated on first use; NULL if out of memory. */
static struct yb_resolution *resolution(struct smtp_session *ss)
{
    if (ss->res == NULL)
        ss->res = malloc(sizeof(*ss->res));
    return ss->res;
}

static void format_addr(const struct smtp_path *p, char *out, size_t size)
{
    snprintf(out, size, "%s@%s", p->local, p->domain);
}

/* May the authenticated user send as from? Its own address or one that resolves to it. */
static bool sender_allowed(struct smtp_session *ss, const struct smtp_path *p)
{
    if (ss->auth_user[0] == '\0' || p->null_path ||
        yb_vars_num(yb_config_vars(ss->cfg), YB_VAR_SmtpSenderAnyAddress))
        return true;
    char addr[SMTP_ADDR_MAX];
    format_addr(p, addr, sizeof(addr));
    if (yb_slice_eq_nocase(yb_slice_cstr(addr), yb_slice_cstr(ss->auth_user)))
        return true;
    const char *at = strrchr(ss->auth_user, '@');
    struct yb_address_book book;
    yb_config_address_book(ss->cfg, &book);
    if (resolution(ss) == NULL)
        return false;
    if (at == NULL || yb_resolve(&book, yb_slice_cstr(addr), ss->res) != YB_RESOLVE_OK)
        return false;
    for (size_t i = 0; i < ss->res->n; i++) {
        const struct yb_user *u = ss->res->rcpt[i].user;
        if (u != NULL && yb_slice_eq_nocase(u->domain, yb_slice_cstr(at + 1)) &&
            yb_slice_eq_nocase(u->name, yb_slice_make(ss->auth_user, (size_t)(at - ss->auth_user))))
            return true;
    }
    return false;
}

void smtp_cmd_mail(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg)
{
    if (ss->state != SMTP_ST_READY) {
        smtp_reply(s, "503 5.5.1 %s",
                   ss->state == SMTP_ST_MAIL ? "Nested MAIL command" : "Bad sequence of commands");
        smtp_bad_command(s, ss);
        return;
    }
    if (ss->mode != SMTP_MODE_MX && ss->auth_user[0] == '\0') {
        smtp_reply(s, "530 5.7.0 Authentication required");
        return;
    }
    struct smtp_path path;
    struct smtp_params params;
    enum smtp_path_error e = smtp_parse_path(arg, true, true, &path, &params);
    if (e != SMTP_PATH_OK) {
        path_error(s, ss, e);
        return;
    }
    struct smtp_txn *t = &ss->txn;
    smtp_txn_reset(t);
    t->smtputf8 = smtp_params_has(&params, "SMTPUTF8");
    if (path.utf8 && !t->smtputf8) {
        path_error(s, ss, SMTP_PATH_NEEDS_UTF8);
        return;
    }
    const struct smtp_param *size = smtp_params_get(&params, "SIZE");
    if (size != NULL && (!size->has_value || smtp_parse_u64(size->value, &t->declared_size) != 0)) {
        path_error(s, ss, SMTP_PATH_PARAMS);
        return;
    }
    if (t->declared_size > (uint64_t)smtp_var(ss, YB_VAR_MaxMessageSize)) {
        smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
        return;
    }
    const struct smtp_param *body = smtp_params_get(&params, "BODY");
    if (body != NULL) {
        if (yb_slice_eq_cstr_nocase(body->value, "8BITMIME") ||
            yb_slice_eq_cstr_nocase(body->value, "BINARYMIME"))
            t->body_8bit = true;
        else if (!yb_slice_eq_cstr_nocase(body->value, "7BIT")) {
            path_error(s, ss, SMTP_PATH_PARAMS);
            return;
        }
    }
    const struct smtp_param *ret = smtp_params_get(&params, "RET");
    if (ret != NULL) {
        if (!yb_slice_eq_cstr_nocase(ret->value, "FULL") &&
            !yb_slice_eq_cstr_nocase(ret->value, "HDRS")) {
            path_error(s, ss, SMTP_PATH_PARAMS);
            return;
        }
        snprintf(t->ret, sizeof(t->ret), "%.*s", (int)ret->value.len, (const char *)ret->value.p);
    }
    const struct smtp_param *envid = smtp_params_get(&params, "ENVID");
    size_t n;
    if (envid != NULL && smtp_xtext_decode(envid->value, t->envid, sizeof(t->envid), &n) != 0) {
        path_error(s, ss, SMTP_PATH_PARAMS);
        return;
    }
    if (!sender_allowed(ss, &path)) {
        smtp_reply(s, "553 5.7.1 Sender address not owned by user %s", ss->auth_user);
        return;
    }
    t->null_sender = path.null_path;
    if (!path.null_path)
        format_addr(&path, t->from, sizeof(t->from));
    smtp_set_state(ss, SMTP_ST_MAIL);
    smtp_reply(s, "250 2.1.0 Ok");
}

static bool domain_is_local(struct smtp_session *ss, const char *domain)
{
    struct yb_slice d = yb_slice_cstr(domain);
    return yb_domains_has(yb_config_domains(ss->cfg), d) ||
           yb_aliasdomains_find(yb_config_aliasdomains(ss->cfg), d) != NULL;
}

static bool relay_allowed(struct yb_session *s, struct smtp_session *ss)
{
    return ss->auth_user[0] != '\0' ||
           yb_relay_allowed(yb_config_relay(ss->cfg), yb_session_peer(s));
}

void smtp_cmd_etrn(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg)
{
    char domain[256];
    const unsigned char *p = arg.p;
    size_t n = arg.len;
    if (n > 0 && p[0] == '@') {
        p++;
        n--;
    }
    if (ss->state != SMTP_ST_READY) {
        smtp_reply(s, "503 5.5.1 ETRN not allowed during a mail transaction");
        return;
    }
    if (!relay_allowed(s, ss)) {
        smtp_reply(s, "458 4.7.1 ETRN is for clients allowed to relay");
        return;
    }
    bool ok = n > 0 && n < sizeof(domain);
    for (size_t i = 0; ok && i < n; i++)
        ok = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
             (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '.';
    if (!ok) {
        smtp_reply(s, "501 5.5.4 Syntax: ETRN domain");
        return;
    }
    memcpy(domain, p, n);
    domain[n] = '\0';
    if (yb_spool_request_flush(domain) != 0) {
        smtp_reply(s, "458 4.5.0 Unable to queue messages for node %s", domain);
        return;
    }
    smtp_reply(s, "250 2.0.0 Queuing for node %s started", domain);
}

static int add_local(struct smtp_session *ss, const struct yb_user *u, struct yb_slice local,
                     struct yb_slice domain)
{
    struct smtp_txn *t = &ss->txn;
    char path[PAL_PATH_MAX];
    int rc = yb_user_maildir(yb_confstore_root(ss->store), u, path, sizeof(path));
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < t->nlocal; i++) {
        if (strcmp(t->local[i].maildir, path) == 0)
            return 0; /* one copy per mailbox */
    }
    if (t->nlocal == t->local_cap) {
        size_t cap = t->local_cap ? t->local_cap * 2 : 8;
        struct smtp_local_rcpt *nl = realloc(t->local, cap * sizeof(*nl));
        if (nl == NULL)
            return YB_ENOMEM;
        t->local = nl;
        t->local_cap = cap;
    }
    struct smtp_local_rcpt *r = &t->local[t->nlocal];
    memcpy(r->maildir, path, strlen(path) + 1);
    snprintf(r->addr, sizeof(r->addr), "%.*s@%.*s", (int)local.len, (const char *)local.p,
             (int)domain.len, (const char *)domain.p);
    t->nlocal++;
    return 0;
}

static char *dup_slice(struct yb_slice s)
{
    char *p = malloc(s.len + 1);
    if (p != NULL) {
        memcpy(p, s.p, s.len);
        p[s.len] = '\0';
    }
    return p;
}

static int add_remote(struct smtp_txn *t, struct yb_slice local, struct yb_slice domain,
                      const struct smtp_params *params)
{
    if (t->nremote == t->remote_cap) {
        size_t cap = t->remote_cap ? t->remote_cap * 2 : 8;
        struct yb_env_rcpt *nr = realloc(t->remote, cap * sizeof(*nr));
        if (nr == NULL)
            return YB_ENOMEM;
        t->remote = nr;
        t->remote_cap = cap;
    }
    struct yb_env_rcpt *r = &t->remote[t->nremote];
    memset(r, 0, sizeof(*r));
    char addr[SMTP_ADDR_MAX];
    snprintf(addr, sizeof(addr), "%.*s@%.*s", (int)local.len, (const char *)local.p,
             (int)domain.len, (const char *)domain.p);
    for (size_t i = 0; i < t->nremote; i++) {
        if (strcmp(t->remote[i].addr, addr) == 0)
            return 0;
    }
    const struct smtp_param *notify = params ? smtp_params_get(params, "NOTIFY") : NULL;
    const struct smtp_param *orcpt = params ? smtp_params_get(params, "ORCPT") : NULL;
    char orcpt_dec[YB_SMTP_LIMIT_PATH * 2 + 16] = "";
    size_t n;
    if (orcpt != NULL && smtp_xtext_decode(orcpt->value, orcpt_dec, sizeof(orcpt_dec), &n) != 0)
        orcpt_dec[0] = '\0';
    r->addr = dup_slice(yb_slice_cstr(addr));
    r->notify = dup_slice(notify != NULL ? notify->value : yb_slice_cstr(""));
    r->orcpt = dup_slice(yb_slice_cstr(orcpt_dec));
    r->last_error = dup_slice(yb_slice_cstr(""));
    r->state = YB_RCPT_PENDING;
    if (r->addr == NULL || r->notify == NULL || r->orcpt == NULL || r->last_error == NULL) {
        free(r->addr);
        free(r->notify);
        free(r->orcpt);
        free(r->last_error);
        return YB_ENOMEM;
    }
    t->nremote++;
    return 0;
}

void smtp_cmd_rcpt(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg)
{
    if (!in_mail(s, ss))
        return;
    struct smtp_txn *t = &ss->txn;
    if (t->nrcpt >= (size_t)smtp_var(ss, YB_VAR_SmtpMaxRecipients)) {
        smtp_reply(s, "452 4.5.3 Too many recipients");
        return;
    }
    struct smtp_path path;
    struct smtp_params params;
    enum smtp_path_error e = smtp_parse_path(arg, false, t->smtputf8, &path, &params);
    if (e != SMTP_PATH_OK) {
        path_error(s, ss, e);
        return;
    }
    if (path.postmaster) {
        /* RFC 5321 4.5.1: <Postmaster> is the postmaster of this server's domain. */
        const char *rd = yb_vars_str(yb_config_vars(ss->cfg), YB_VAR_RootDomain);
        snprintf(path.local, sizeof(path.local), "postmaster");
        snprintf(path.domain, sizeof(path.domain), "%s", rd[0] ? rd : ss->server_name);
    }
    bool local_domain = !path.domain_literal && domain_is_local(ss, path.domain);
    if (!local_domain && !relay_allowed(s, ss)) {
        smtp_reply(s, "554 5.7.1 <%s@%s>: Relay access denied", path.local, path.domain);
        return;
    }
    if (!local_domain) {
        if (add_remote(t, yb_slice_cstr(path.local), yb_slice_cstr(path.domain), &params) != 0) {
            smtp_reply(s, "451 4.3.0 Temporary failure");
            return;
        }
        t->nrcpt++;
        smtp_reply(s, "250 2.1.5 Ok");
        return;
    }
    struct yb_address_book book;
    yb_config_address_book(ss->cfg, &book);
    if (resolution(ss) == NULL) {
        smtp_reply(s, "451 4.3.0 Temporary failure");
        return;
    }
    enum yb_resolve_status st =
        yb_resolve_parts(&book, yb_slice_cstr(path.local), yb_slice_cstr(path.domain), ss->res);
    switch (st) {
    case YB_RESOLVE_OK: break;
    case YB_RESOLVE_NO_USER:
        smtp_reply(s, "550 5.1.1 <%s@%s>: Recipient address rejected: User unknown", path.local,
                   path.domain);
        return;
    case YB_RESOLVE_BAD_ADDRESS: smtp_reply(s, "553 5.1.3 Bad recipient address syntax"); return;
    default:
        smtp_reply(s, "550 5.4.6 <%s@%s>: %s", path.local, path.domain, yb_resolve_status_text(st));
        return;
    }
    uint64_t quota = (uint64_t)smtp_var(ss, YB_VAR_MaxMBSize) * 1024 * 1024;
    for (size_t i = 0; i < ss->res->n; i++) {
        const struct yb_rcpt *r = &ss->res->rcpt[i];
        int rc = r->user != NULL ? add_local(ss, r->user, r->local, r->domain)
                                 : add_remote(t, r->local, r->domain, &params);
        if (rc != 0) {
            smtp_reply(s, "451 4.3.0 Temporary failure");
            return;
        }
        if (r->user != NULL && quota > 0) {
            uint64_t used = 0, count = 0;
            if (yb_maildir_usage(t->local[t->nlocal - 1].maildir, quota, &used, &count) == 0 &&
                used >= quota) {
                t->nlocal--;
                smtp_reply(s, "452 4.2.2 <%s@%s>: Mailbox full", path.local, path.domain);
                return;
            }
        }
    }
    t->nrcpt++;
    smtp_reply(s, "250 2.1.5 Ok");
}

/* Writes bytes to every open store of the transaction. */
static void txn_write(struct smtp_txn *t, const void *p, size_t len, bool local_only)
{
    int rc = 0;
    if (t->delivery != NULL && (rc = yb_delivery_write(t->delivery, p, len)) != 0 &&
        t->write_error == 0)
        t->write_error = rc;
    if (!local_only && t->spool != NULL && (rc = yb_spool_write(t->spool, p, len)) != 0 &&
        t->write_error == 0)
        t->write_error = rc;
}

/* Opens the stores and writes the trace headers. Returns false (and replies) on failure. */
static bool begin_message(struct yb_session *s, struct smtp_session *ss)
{
    struct smtp_txn *t = &ss->txn;
    char host[256], id[YB_SPOOL_ID_MAX + 1];
    int rc = 0;
    if (pal_hostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "%s", ss->server_name);
    if (t->nremote > 0)
        rc = yb_spool_begin(yb_confstore_root(ss->store), t->spool_id, &t->spool);
    if (rc == 0 && t->nlocal > 0) {
        uint64_t quota = (uint64_t)smtp_var(ss, YB_VAR_MaxMBSize) * 1024 * 1024;
        struct yb_maildir_dest *d = calloc(t->nlocal, sizeof(*d));
        if (d == NULL) {
            rc = YB_ENOMEM;
        } else {
            for (size_t i = 0; i < t->nlocal; i++) {
                d[i].path = t->local[i].maildir;
                d[i].quota_bytes = quota;
            }
            rc = yb_delivery_begin(d, t->nlocal, host, &t->delivery);
            free(d);
        }
    }
    if (rc != 0) {
        yb_log_error("smtp", "%s: cannot store a message: %s", ss->session_tag, yb_strerror(rc));
        smtp_reply(s, "451 4.3.0 Local error in processing");
        smtp_txn_reset(t);
        smtp_set_state(ss, SMTP_ST_READY);
        return false;
    }
    if (t->spool_id[0] != '\0')
        snprintf(id, sizeof(id), "%s", t->spool_id);
    else
        snprintf(id, sizeof(id), "%s.%llx", ss->session_tag, (unsigned long long)pal_time_now_ms());
    char date[PAL_RFC5322_DATE_MAX], trace[SMTP_TRACE_MAX];
    int64_t now = pal_time_now();
    pal_time_rfc5322(now, pal_time_local_offset_min(now), date, sizeof(date));
    /* RFC 3848 protocol names: ESMTP, ESMTPS (TLS), ESMTPA/ESMTPSA (AUTH). */
    const char *with = ss->auth_user[0]
                           ? (yb_session_is_tls(s) ? "ESMTPSA" : "ESMTPA")
                           : (yb_session_is_tls(s) ? "ESMTPS" : (ss->esmtp ? "ESMTP" : "SMTP"));
    char for_clause[SMTP_ADDR_MAX + 16] = "";
    if (t->nrcpt == 1)
        snprintf(for_clause, sizeof(for_clause), "\r\n\tfor <%s>",
                 t->nlocal == 1 ? t->local[0].addr : (t->nremote == 1 ? t->remote[0].addr : ""));
    if (t->nlocal > 0) {
        int n = snprintf(trace, sizeof(trace), "Return-Path: <%s>\r\n", t->from);
        if (n > 0 && (size_t)n < sizeof(trace))
            txn_write(t, trace, (size_t)n, true);
    }
    int n = snprintf(trace, sizeof(trace),
                     "Received: from %s ([%s])\r\n\tby %s (yubin) with %s id %s%s;\r\n\t%s\r\n",
                     ss->helo, yb_session_peer_ip(s), ss->server_name, with, id, for_clause, date);
    if (n > 0 && (size_t)n < sizeof(trace)) {
        /* The Received line goes to both; Return-Path only to local mailboxes. */
        if (t->delivery != NULL)
            yb_delivery_write(t->delivery, trace, (size_t)n);
        if (t->spool != NULL)
            yb_spool_write(t->spool, trace, (size_t)n);
    }
    return true;
}

void smtp_cmd_data(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg)
{
    if (!in_mail(s, ss))
        return;
    if (arg.len != 0) {
        smtp_reply(s, "501 5.5.4 Syntax: DATA");
        return;
    }
    if (ss->txn.nrcpt == 0) {
        smtp_reply(s, "503 5.5.1 No valid recipients");
        return;
    }
    if (!begin_message(s, ss))
        return;
    smtp_set_state(ss, SMTP_ST_DATA);
    smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
    /* Read a little past the limit so a too-big message is recognised as such. */
    yb_session_read_body_dot(s, (uint64_t)smtp_var(ss, YB_VAR_MaxMessageSize) + 1);
}

void smtp_cmd_bdat(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg)
{
    struct smtp_txn *t = &ss->txn;
    if (ss->state != SMTP_ST_MAIL && ss->state != SMTP_ST_BDAT) {
        smtp_reply(s, "503 5.5.1 Need MAIL command");
        smtp_bad_command(s, ss);
        return;
    }
    size_t sp = 0;
    while (sp < arg.len && arg.p[sp] != ' ')
        sp++;
    uint64_t n;
    struct yb_slice rest = yb_slice_make(arg.p + sp, arg.len - sp);
    while (rest.len > 0 && rest.p[0] == ' ')
        rest = yb_slice_make(rest.p + 1, rest.len - 1);
    if (smtp_parse_u64(yb_slice_make(arg.p, sp), &n) != 0 ||
        (rest.len > 0 && !yb_slice_eq_cstr_nocase(rest, "LAST"))) {
        smtp_reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
        smtp_bad_command(s, ss);
        return;
    }
    if (t->nrcpt == 0) {
        /* RFC 3030: the chunk must still be read; it is then refused. */
        smtp_reply(s, "503 5.5.1 No valid recipients");
        return;
    }
    if (ss->state == SMTP_ST_MAIL && !begin_message(s, ss))
        return;
    t->bdat_last = rest.len > 0;
    smtp_set_state(ss, SMTP_ST_BDAT);
    yb_session_read_bytes(s, n);
}

/* Makes the message durable everywhere and answers. */
static void finish_message(struct yb_session *s, struct smtp_session *ss, bool dot)
{
    struct smtp_txn *t = &ss->txn;
    struct yb_body_info bi;
    yb_session_body_info(s, &bi);
    uint64_t max = (uint64_t)smtp_var(ss, YB_VAR_MaxMessageSize);
    uint64_t max_line = (uint64_t)smtp_var(ss, YB_VAR_SmtpMaxTextLine);
    const char *result = NULL;
    int code = 0;
    if (t->body_bytes > max || (dot && bi.truncated)) {
        smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
        result = "too big";
    } else if (dot && (bi.bare_cr > 0 || bi.bare_lf > 0) &&
               !yb_vars_num(yb_config_vars(ss->cfg), YB_VAR_SmtpNormalizeBareLineEnds)) {
        smtp_reply(s, "550 5.5.2 Message contains bare CR or LF; use CRLF line endings");
        result = "bare line ends";
    } else if (dot && max_line > 0 && bi.longest_line > max_line) {
        smtp_reply(s, "550 5.5.2 Message has lines longer than %llu characters",
                   (unsigned long long)max_line);
        result = "line too long";
    } else if (t->write_error != 0) {
        code = t->write_error;
    } else {
        /*
         * Local Maildirs first: quota and disk errors are likeliest there and
         * roll back cleanly, before anything is queued for remote recipients
         * (which could not be taken back). If queueing then fails, the
         * client's retry delivers the local copies once more: a duplicate,
         * logged, never a loss.
         */
        if (t->delivery != NULL)
            code = yb_delivery_commit(t->delivery);
        if (code == 0 && t->spool != NULL) {
            struct yb_envelope env;
            memset(&env, 0, sizeof(env));
            env.version = YB_SPOOL_VERSION;
            env.arrival = pal_time_now();
            env.from = t->from;
            env.ret = t->ret;
            env.envid = t->envid;
            env.body = t->body_8bit ? "8BITMIME" : "7BIT";
            env.client = (char *)yb_session_peer_ip(s);
            env.helo = ss->helo;
            env.auth = ss->auth_user;
            env.smtputf8 = t->smtputf8;
            env.nrcpt = t->nremote;
            env.rcpt = t->remote;
            code = yb_spool_commit(t->spool, &env);
            if (code != 0 && t->delivery != NULL)
                yb_log_warn("smtp", "%s: delivered locally but queueing failed: the client's "
                            "retry will deliver the local copies again", ss->session_tag);
        }
        if (code == 0) {
            yb_stats_accepted(yb_session_service(s));
            smtp_reply(s, "250 2.0.0 Ok: queued as %s",
                       t->spool_id[0] ? t->spool_id : ss->session_tag);
            result = "accepted";
        }
    }
    if (code != 0) {
        if (code == YB_ELIMIT) {
            smtp_reply(s, "552 5.2.2 Mailbox full");
            result = "over quota";
        } else if (code == YB_ENOSPC) {
            smtp_reply(s, "452 4.3.1 Insufficient system storage or mailbox full");
            result = "no space";
        } else {
            smtp_reply(s, "451 4.3.0 Local error in processing");
            result = "storage error";
        }
        yb_log_error("smtp", "%s: storing the message failed: %s", ss->session_tag,
                     yb_strerror(code));
    }
    /* One line per transaction. */
    yb_log_info("smtp",
                "%s client=%s tls=%s auth=%s from=<%s> rcpts=%u local=%u remote=%u size=%llu "
                "id=%s result=%s",
                ss->session_tag, yb_session_peer_ip(s), yb_session_is_tls(s) ? "yes" : "no",
                ss->auth_user[0] ? ss->auth_user : "-", t->from, (unsigned)t->nrcpt,
                (unsigned)t->nlocal, (unsigned)t->nremote, (unsigned long long)t->body_bytes,
                t->spool_id[0] ? t->spool_id : "-", result);
    smtp_txn_reset(t);
    smtp_set_state(ss, SMTP_ST_READY);
}

void smtp_body(struct yb_session *s, struct smtp_session *ss, struct yb_slice chunk,
               enum yb_body_end end)
{
    struct smtp_txn *t = &ss->txn;
    t->body_bytes += chunk.len;
    if (chunk.len > 0 && t->body_bytes <= (uint64_t)smtp_var(ss, YB_VAR_MaxMessageSize))
        txn_write(t, chunk.p, chunk.len, false);
    if (end != YB_BODY_DONE)
        return;
    if (ss->state == SMTP_ST_DATA) {
        finish_message(s, ss, true);
        return;
    }
    if (t->bdat_last) {
        finish_message(s, ss, false);
        return;
    }
    smtp_reply(s, "250 2.0.0 %llu bytes received", (unsigned long long)chunk.len);
}
