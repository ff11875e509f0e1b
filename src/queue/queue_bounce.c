/*
 * queue_bounce.c - RFC 3464 reports and their delivery (see queue_bounce.h).
 */
#include "queue_bounce.h"
#include "pal.h"
#include "yb_accounts.h"
#include "yb_log.h"
#include "yb_maildir.h"
#include "yb_spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void yb_dsn_status_code(const char *text, bool permanent, char *buf, size_t size)
{
    const char *p = text;
    if (p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
        p[3] == ' ') {
        permanent = p[0] == '5';
        p += 4;
    }
    /* class.subject.detail */
    size_t i = 0;
    if ((p[0] == '2' || p[0] == '4' || p[0] == '5') && p[1] == '.') {
        i = 2;
        size_t d = 0;
        while (p[i] >= '0' && p[i] <= '9' && d < 3) {
            i++;
            d++;
        }
        if (d > 0 && p[i] == '.') {
            i++;
            d = 0;
            while (p[i] >= '0' && p[i] <= '9' && d < 3) {
                i++;
                d++;
            }
            if (d > 0 && (p[i] == '\0' || p[i] == ' ') && i < size) {
                memcpy(buf, p, i);
                buf[i] = '\0';
                return;
            }
        }
    }
    snprintf(buf, size, "%s", permanent ? "5.0.0" : "4.0.0");
}

static int date(int64_t t, char *buf, size_t size)
{
    return pal_time_rfc5322(t, pal_time_local_offset_min(t), buf, size);
}

/* Appends the original: whole, or its header section only. */
static int append_original(struct yb_buf *out, const char *path, bool headers_only)
{
    char *data = NULL;
    size_t len = 0;
    int rc = pal_file_read_all(path, YB_DSN_MAX_ORIGINAL, &data, &len);
    if (rc == YB_ELIMIT) {
        /* Too big to return: its headers (read from the first part). */
        struct pal_file *f = NULL;
        size_t got = 0;
        headers_only = true;
        if ((data = malloc(256 * 1024)) == NULL)
            return YB_ENOMEM;
        rc = pal_fs_open(path, PAL_O_RDONLY, 0, &f);
        if (rc == 0) {
            rc = pal_fs_read(f, data, 256 * 1024, &got);
            pal_fs_close(&f);
        }
        len = got;
    }
    if (rc != 0) {
        free(data);
        return rc;
    }
    size_t n = len;
    if (headers_only) {
        for (size_t i = 0; i + 1 < len; i++) {
            if (data[i] == '\n' && (data[i + 1] == '\n' ||
                                    (data[i + 1] == '\r' && i + 2 < len && data[i + 2] == '\n'))) {
                n = i + 1;
                break;
            }
        }
    }
    rc = yb_buf_append(out, data, n);
    if (rc == 0 && (n < 2 || data[n - 1] != '\n'))
        rc = yb_buf_append_cstr(out, "\r\n");
    free(data);
    return rc;
}

int yb_dsn_format(const struct yb_dsn *d, struct yb_buf *out)
{
    char now[64], arrival[64], until[64], boundary[80];
    unsigned char rnd[8];
    bool any_failed = false, any_delayed = false;
    int rc = 0;
    for (size_t i = 0; i < d->n; i++) {
        any_failed |= d->r[i].action == YB_DSN_FAILED;
        any_delayed |= d->r[i].action == YB_DSN_DELAYED;
    }
    if (date(d->now, now, sizeof now) != 0 || date(d->arrival, arrival, sizeof arrival) != 0)
        return YB_EINVAL;
    until[0] = '\0';
    if (any_delayed && date(d->retry_until, until, sizeof until) != 0)
        return YB_EINVAL;
    if (pal_random_bytes(rnd, sizeof rnd) != 0)
        memset(rnd, 0, sizeof rnd);
    snprintf(boundary, sizeof boundary, "%s/%02x%02x%02x%02x%02x%02x%02x%02x/%s", d->queue_id,
             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], d->reporting_mta);
    const char *subject = any_failed    ? "Undelivered Mail Returned to Sender"
                          : any_delayed ? "Delayed Mail (still being retried)"
                                        : "Successful Mail Delivery Report";
    rc |=
        yb_buf_printf(out,
                      "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
                      "To: <%s>\r\n"
                      "Subject: %s\r\n"
                      "Date: %s\r\n"
                      "Message-ID: <%s.dsn.%02x%02x%02x%02x@%s>\r\n"
                      "Auto-Submitted: auto-replied\r\n"
                      "MIME-Version: 1.0\r\n"
                      "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                      "\tboundary=\"%s\"\r\n"
                      "%s"
                      "\r\n"
                      "This is a MIME-encapsulated message.\r\n\r\n"
                      "--%s\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: 8bit\r\n\r\n"
                      "This is the mail system at %s.\r\n\r\n",
                      d->reporting_mta, d->to, subject, now, d->queue_id, rnd[0], rnd[1], rnd[2],
                      rnd[3], d->reporting_mta, boundary,
                      d->eightbit && !d->headers_only ? "Content-Transfer-Encoding: 8bit\r\n" : "",
                      boundary, d->reporting_mta);
    if (any_failed)
        rc |= yb_buf_printf(out, "Your message could not be delivered to one or more "
                                 "recipients. It is attached below.\r\n\r\n");
    if (any_delayed)
        rc |=
            yb_buf_printf(out,
                          "Your message has not been delivered yet to one or more recipients. "
                          "Delivery will be retried until %s; you need not send it again.\r\n\r\n",
                          until);
    for (size_t i = 0; i < d->n; i++) {
        const struct yb_dsn_rcpt *r = &d->r[i];
        rc |= yb_buf_printf(out, "<%s>: %s\r\n", r->addr,
                            r->action == YB_DSN_FAILED    ? "delivery failed"
                            : r->action == YB_DSN_DELAYED ? "delivery delayed"
                                                          : "relayed to a server without DSN");
        if (r->status[0] != '\0')
            rc |= yb_buf_printf(out, "    %s\r\n", r->status);
    }
    rc |= yb_buf_printf(out,
                        "\r\n--%s\r\n"
                        "Content-Type: message/delivery-status\r\n\r\n"
                        "Reporting-MTA: dns; %s\r\n",
                        boundary, d->reporting_mta);
    if (d->envid[0] != '\0')
        rc |= yb_buf_printf(out, "Original-Envelope-Id: %s\r\n", d->envid);
    rc |= yb_buf_printf(out, "X-Yubin-Queue-ID: %s\r\nArrival-Date: %s\r\n", d->queue_id, arrival);
    for (size_t i = 0; i < d->n; i++) {
        const struct yb_dsn_rcpt *r = &d->r[i];
        char code[16];
        bool perm = r->action == YB_DSN_FAILED;
        yb_dsn_status_code(r->status, perm, code, sizeof code);
        if (r->action == YB_DSN_RELAYED)
            snprintf(code, sizeof code, "2.0.0");
        rc |= yb_buf_printf(out, "\r\nFinal-Recipient: rfc822; %s\r\n", r->addr);
        if (r->orcpt[0] != '\0') {
            const char *semi = strchr(r->orcpt, ';');
            rc |= yb_buf_printf(
                out, "Original-Recipient: %.*s; %s\r\n", semi != NULL ? (int)(semi - r->orcpt) : 6,
                semi != NULL ? r->orcpt : "rfc822", semi != NULL ? semi + 1 : r->orcpt);
        }
        rc |= yb_buf_printf(out, "Action: %s\r\nStatus: %s\r\n",
                            r->action == YB_DSN_FAILED    ? "failed"
                            : r->action == YB_DSN_DELAYED ? "delayed"
                                                          : "relayed",
                            code);
        if (r->remote[0] != '\0')
            rc |= yb_buf_printf(out, "Remote-MTA: dns; %s\r\n", r->remote);
        const char *s = r->status;
        if (s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
            s[2] <= '9' && s[3] == ' ')
            rc |= yb_buf_printf(out, "Diagnostic-Code: smtp; %s\r\n", s);
        if (r->action == YB_DSN_DELAYED)
            rc |= yb_buf_printf(out, "Will-Retry-Until: %s\r\n", until);
    }
    rc |= yb_buf_printf(out, "\r\n--%s\r\nContent-Type: %s\r\n", boundary,
                        d->headers_only ? "text/rfc822-headers" : "message/rfc822");
    if (d->eightbit && !d->headers_only)
        rc |= yb_buf_printf(out, "Content-Transfer-Encoding: 8bit\r\n");
    rc |= yb_buf_printf(out, "\r\n");
    if (rc != 0)
        return YB_ELIMIT;
    if ((rc = append_original(out, d->msg_path, d->headers_only)) != 0)
        return rc;
    return yb_buf_printf(out, "\r\n--%s--\r\n", boundary);
}

/* Delivers text into the Maildirs of local users; remote addresses are returned in remote. */
static int deliver(struct yb_config *cfg, const char *root, const char *to, const char *host,
                   struct yb_slice text, bool *remote_r)
{
    struct yb_address_book book;
    struct yb_resolution *res = malloc(sizeof *res);
    struct yb_maildir_dest *dests = NULL;
    char(*paths)[PAL_PATH_MAX] = NULL;
    struct yb_delivery *dl = NULL;
    size_t nd = 0;
    int rc = 0;
    *remote_r = false;
    if (res == NULL)
        return YB_ENOMEM;
    const char *at = strrchr(to, '@');
    struct yb_slice domain = yb_slice_cstr(at != NULL ? at + 1 : "");
    if (at == NULL || !(yb_domains_has(yb_config_domains(cfg), domain) ||
                        yb_aliasdomains_find(yb_config_aliasdomains(cfg), domain) != NULL)) {
        *remote_r = true;
        goto out;
    }
    yb_config_address_book(cfg, &book);
    enum yb_resolve_status st =
        yb_resolve_parts(&book, yb_slice_make(to, (size_t)(at - to)), domain, res);
    if (st != YB_RESOLVE_OK) {
        yb_log_warn("queue", "DSN to <%s> dropped: %s", to, yb_resolve_status_text(st));
        goto out;
    }
    dests = calloc(res->n, sizeof *dests);
    paths = calloc(res->n, sizeof *paths);
    if (dests == NULL || paths == NULL) {
        rc = YB_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < res->n; i++) {
        const struct yb_user *u = res->rcpt[i].user;
        if (u == NULL) {
            *remote_r = true; /* an alias to an outside address: the DSN goes there too */
            continue;
        }
        int n = snprintf(paths[nd], PAL_PATH_MAX, "%s/domains/%.*s/%.*s/Maildir", root,
                         (int)u->domain.len, (const char *)u->domain.p, (int)u->dir.len,
                         (const char *)u->dir.p);
        if (n < 0 || n >= PAL_PATH_MAX) {
            rc = YB_ENAMETOOLONG;
            goto out;
        }
        dests[nd].path = paths[nd];
        nd++;
    }
    if (nd > 0) {
        if ((rc = yb_delivery_begin(dests, nd, host, &dl)) != 0 ||
            (rc = yb_delivery_write(dl, text.p, text.len)) != 0 ||
            (rc = yb_delivery_commit(dl)) != 0)
            goto out;
    }
out:
    yb_delivery_free(&dl);
    free(dests);
    free(paths);
    free(res);
    return rc;
}

int yb_dsn_send(struct yb_config *cfg, const char *root, const struct yb_dsn *d)
{
    struct yb_buf out;
    struct yb_spool_msg *m = NULL;
    char id[YB_SPOOL_ID_MAX + 1];
    bool remote = false;
    int rc;
    yb_buf_init(&out, YB_LIMIT_DSN);
    if ((rc = yb_dsn_format(d, &out)) != 0)
        goto out;
    struct yb_slice text = yb_buf_slice(&out);
    if ((rc = deliver(cfg, root, d->to, d->reporting_mta, text, &remote)) != 0 || !remote)
        goto out;
    /* Remote (or an alias that leads outside): through the queue, with the null sender. */
    if ((rc = yb_spool_begin(root, id, &m)) != 0 || (rc = yb_spool_write(m, text.p, text.len)) != 0)
        goto out;
    struct yb_env_rcpt r;
    memset(&r, 0, sizeof r);
    r.addr = (char *)d->to;
    r.state = YB_RCPT_PENDING;
    r.notify = "";
    r.orcpt = "";
    r.last_error = "";
    struct yb_envelope env;
    memset(&env, 0, sizeof env);
    env.version = YB_SPOOL_VERSION;
    env.arrival = pal_time_now();
    env.from = "";
    env.ret = "";
    env.envid = "";
    env.body = d->eightbit && !d->headers_only ? "8BITMIME" : "7BIT";
    env.client = "";
    env.helo = "";
    env.auth = "";
    env.nrcpt = 1;
    env.rcpt = &r;
    rc = yb_spool_commit(m, &env);
    if (rc == 0)
        yb_log_info("queue", "DSN for %s to <%s> queued as %s", d->queue_id, d->to, id);
out:
    yb_spool_free(&m);
    yb_buf_free(&out);
    return rc;
}
