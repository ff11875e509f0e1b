/*
 * yb_ctrl_queue.c - the CTRL queue commands (queuelist, queueflush, etrn,
 * frozlist, frozsubmit, frozdel, frozgetlog, frozgetmsg) on the outbound
 * queue of this process and its ROOT/spool.
 */
#include "yb_ctrl_queue.h"
#include "ctrl_proto.h"
#include "ctrl_server.h"
#include "pal.h"
#include "yb_spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    struct yb_queue *q;
    char root[PAL_PATH_MAX];
} g;

static int not_found(int rc)
{
    return rc == YB_ENOENT ? YB_ENOTFOUND : rc;
}

static const char *where_name(enum yb_queue_dir w)
{
    return w == YB_QDIR_FROZEN ? "frozen" : w == YB_QDIR_ACTIVE ? "active" : "queued";
}

/* One record per message: id, where, arrival, next attempt, sender, recipients, waiting, error. */
static int list_in(enum yb_queue_dir where, struct yb_buf *out, size_t *n_r)
{
    struct yb_queue_entry *e = NULL;
    size_t n = 0;
    int rc = yb_queue_list(g.root, where, &e, &n);
    for (size_t i = 0; rc == 0 && out != NULL && i < n; i++) {
        char arrival[24], next[24], nrcpt[12], nwait[12];
        snprintf(arrival, sizeof(arrival), "%lld", (long long)e[i].arrival);
        snprintf(next, sizeof(next), "%lld", (long long)e[i].next_attempt);
        snprintf(nrcpt, sizeof(nrcpt), "%u", e[i].nrcpt);
        snprintf(nwait, sizeof(nwait), "%u", e[i].nwaiting);
        struct yb_slice f[] = { yb_slice_cstr(e[i].id),       yb_slice_cstr(where_name(where)),
                                yb_slice_cstr(arrival),       yb_slice_cstr(next),
                                yb_slice_cstr(e[i].from),     yb_slice_cstr(nrcpt),
                                yb_slice_cstr(nwait),         yb_slice_cstr(e[i].last_error) };
        rc = yb_ctrl_format(out, f, YB_ARRAY_LEN(f));
        if (rc == YB_EINVAL) {
            /* A field CTRL cannot carry (a control character in a remote error): drop it. */
            f[7] = yb_slice_cstr("(unprintable)");
            rc = yb_ctrl_format(out, f, YB_ARRAY_LEN(f));
        }
    }
    if (n_r != NULL)
        *n_r = n;
    free(e);
    return rc;
}

static int q_list(void *arg, struct yb_buf *out)
{
    (void)arg;
    int rc = list_in(YB_QDIR_QUEUE, out, NULL);
    return rc != 0 ? rc : list_in(YB_QDIR_ACTIVE, out, NULL);
}

static int q_flush(void *arg, size_t *n_r)
{
    (void)arg;
    int rc = list_in(YB_QDIR_QUEUE, NULL, n_r);
    if (rc == 0)
        yb_queue_flush(g.q, NULL);
    return rc;
}

static bool same_domain(const char *addr, const char *domain)
{
    const char *at = strrchr(addr, '@');
    return at != NULL && yb_slice_eq_cstr_nocase(yb_slice_cstr(at + 1), domain);
}

/* ETRN: how many queued messages wait for the domain, then deliver them now. */
static int q_etrn(void *arg, const char *domain, size_t *n_r)
{
    (void)arg;
    struct yb_queue_entry *e = NULL;
    size_t n = 0, hits = 0;
    int rc = yb_queue_list(g.root, YB_QDIR_QUEUE, &e, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct yb_envelope env;
        char err[256];
        memset(&env, 0, sizeof(env));
        if (yb_spool_read_envelope(g.root, e[i].id, &env, err, sizeof(err)) != 0)
            continue; /* delivered or claimed meanwhile */
        for (size_t k = 0; k < env.nrcpt; k++) {
            enum yb_rcpt_state st = env.rcpt[k].state;
            if ((st == YB_RCPT_PENDING || st == YB_RCPT_DEFERRED) &&
                same_domain(env.rcpt[k].addr, domain)) {
                hits++;
                break;
            }
        }
        yb_envelope_clear(&env);
    }
    free(e);
    if (rc == 0) {
        yb_queue_flush(g.q, domain);
        *n_r = hits;
    }
    return rc;
}

static int q_frozen_list(void *arg, struct yb_buf *out)
{
    (void)arg;
    return list_in(YB_QDIR_FROZEN, out, NULL);
}

static int q_frozen_submit(void *arg, const char *id)
{
    (void)arg;
    int rc = not_found(yb_queue_thaw(g.root, id));
    if (rc == 0)
        yb_queue_flush(g.q, NULL);
    return rc;
}

static int q_frozen_delete(void *arg, const char *id)
{
    (void)arg;
    return not_found(yb_queue_delete_frozen(g.root, id));
}

static int append_raw(struct yb_buf *out, int rc, char *data, size_t len)
{
    if (rc == 0)
        rc = yb_buf_append(out, data, len);
    free(data);
    return not_found(rc);
}

static int q_frozen_log(void *arg, const char *id, struct yb_buf *out)
{
    (void)arg;
    char *text = NULL;
    size_t len = 0;
    int rc = yb_queue_read_log(g.root, id, &text, &len);
    return append_raw(out, rc, text, len);
}

static int q_frozen_msg(void *arg, const char *id, struct yb_buf *out)
{
    (void)arg;
    char *data = NULL;
    size_t len = 0;
    int rc = yb_queue_read_message(g.root, id, YB_CTRL_LIMIT_BODY, &data, &len);
    return append_raw(out, rc, data, len);
}

static const struct yb_ctrl_queue_ops ops = {
    .list = q_list,
    .flush = q_flush,
    .etrn = q_etrn,
    .frozen_list = q_frozen_list,
    .frozen_submit = q_frozen_submit,
    .frozen_delete = q_frozen_delete,
    .frozen_log = q_frozen_log,
    .frozen_msg = q_frozen_msg,
};

void yb_ctrl_queue_install(struct yb_queue *q, const char *root)
{
    if (q == NULL) {
        yb_ctrl_set_queue_ops(NULL);
        g.q = NULL;
        return;
    }
    g.q = q;
    snprintf(g.root, sizeof(g.root), "%s", root);
    yb_ctrl_set_queue_ops(&ops);
}
