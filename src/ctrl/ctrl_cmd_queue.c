/*
 * ctrl_cmd_queue.c - queuelist, queueflush, etrn, frozlist, frozsubmit,
 * frozdel, frozgetlog, frozgetmsg over the table yubind installs.
 */
#include "ctrl_int.h"
#include "yb_log.h"

#include <stdatomic.h>
#include <stdio.h>

static _Atomic(const struct yb_ctrl_queue_ops *) queue_ops;

void yb_ctrl_set_queue_ops(const struct yb_ctrl_queue_ops *ops)
{
    atomic_store(&queue_ops, ops);
}

static const struct yb_ctrl_queue_ops *ops_or_error(struct yb_session *s, struct ctrl_session *cs,
                                                    bool have)
{
    const struct yb_ctrl_queue_ops *q = atomic_load(&queue_ops);
    if (q == NULL || !have) {
        ctrl_error(s, cs, YB_CTRL_E_NO_QUEUE);
        return NULL;
    }
    return q;
}

#define QUEUE(member) (atomic_load(&queue_ops) != NULL && atomic_load(&queue_ops)->member != NULL)

static void answer_rc(struct yb_session *s, struct ctrl_session *cs, int rc, const char *what)
{
    if (rc == YB_ENOTFOUND)
        ctrl_error(s, cs, YB_CTRL_E_NO_MESSAGE);
    else if (rc != 0)
        ctrl_err(s, cs, YB_CTRL_E_STORAGE, "%s: %s", what, yb_strerror(rc));
}

/* A list the queue fills (records or raw lines), then sends. */
static void send_list(struct yb_session *s, struct ctrl_session *cs,
                      int (*fn)(void *arg, struct yb_buf *out), void *arg, const char *what)
{
    struct yb_buf out;
    yb_buf_init(&out, YB_CTRL_LIMIT_BODY);
    int rc = fn(arg, &out);
    if (rc != 0)
        answer_rc(s, cs, rc, what);
    else
        ctrl_list_block(s, cs, yb_buf_slice(&out));
    yb_buf_free(&out);
}

struct id_call {
    int (*fn)(void *arg, const char *id, struct yb_buf *out);
    void *arg;
    const char *id;
};

static int call_with_id(void *arg, struct yb_buf *out)
{
    const struct id_call *c = arg;
    return c->fn(c->arg, c->id, out);
}

void ctrl_cmd_queuelist(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    (void)a;
    const struct yb_ctrl_queue_ops *q = ops_or_error(s, cs, QUEUE(list));
    if (q != NULL)
        send_list(s, cs, q->list, q->arg, "queuelist");
}

void ctrl_cmd_queueflush(struct yb_session *s, struct ctrl_session *cs,
                         const struct yb_ctrl_args *a)
{
    (void)a;
    const struct yb_ctrl_queue_ops *q = ops_or_error(s, cs, QUEUE(flush));
    size_t n = 0;
    if (q == NULL)
        return;
    int rc = q->flush(q->arg, &n);
    if (rc != 0) {
        answer_rc(s, cs, rc, "queueflush");
        return;
    }
    yb_log_info("ctrl", "%s %s: queueflush (%zu messages)", cs->tag, cs->admin, n);
    ctrl_ok(s, cs, "%zu messages scheduled", n);
}

void ctrl_cmd_etrn(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    const struct yb_ctrl_queue_ops *q = ops_or_error(s, cs, QUEUE(etrn));
    size_t total = 0;
    if (q == NULL)
        return;
    for (size_t i = 1; i < a->n; i++) {
        char why[128];
        if (yb_domain_check(a->f[i], why, sizeof(why)) != 0) {
            ctrl_err(s, cs, YB_CTRL_E_BAD_DOMAIN, "%s", why);
            return;
        }
    }
    for (size_t i = 1; i < a->n; i++) {
        size_t n = 0;
        int rc = q->etrn(q->arg, (const char *)a->f[i].p, &n);
        if (rc != 0) {
            answer_rc(s, cs, rc, "etrn");
            return;
        }
        total += n;
    }
    yb_log_info("ctrl", "%s %s: etrn (%zu messages)", cs->tag, cs->admin, total);
    ctrl_ok(s, cs, "%zu messages scheduled", total);
}

void ctrl_cmd_frozlist(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    (void)a;
    const struct yb_ctrl_queue_ops *q = ops_or_error(s, cs, QUEUE(frozen_list));
    if (q != NULL)
        send_list(s, cs, q->frozen_list, q->arg, "frozlist");
}

static void frozen_action(struct yb_session *s, struct ctrl_session *cs,
                          const struct yb_ctrl_args *a, bool submit)
{
    const struct yb_ctrl_queue_ops *q =
        ops_or_error(s, cs, submit ? QUEUE(frozen_submit) : QUEUE(frozen_delete));
    if (q == NULL)
        return;
    const char *id = (const char *)a->f[1].p;
    int rc = submit ? q->frozen_submit(q->arg, id) : q->frozen_delete(q->arg, id);
    if (rc != 0) {
        answer_rc(s, cs, rc, submit ? "frozsubmit" : "frozdel");
        return;
    }
    yb_log_info("ctrl", "%s %s: %s %s", cs->tag, cs->admin, submit ? "frozsubmit" : "frozdel", id);
    ctrl_ok(s, cs, "OK");
}

void ctrl_cmd_frozsubmit(struct yb_session *s, struct ctrl_session *cs,
                         const struct yb_ctrl_args *a)
{
    frozen_action(s, cs, a, true);
}

void ctrl_cmd_frozdel(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    frozen_action(s, cs, a, false);
}

static void frozen_get(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a,
                       bool log)
{
    const struct yb_ctrl_queue_ops *q =
        ops_or_error(s, cs, log ? QUEUE(frozen_log) : QUEUE(frozen_msg));
    if (q == NULL)
        return;
    struct id_call c = { log ? q->frozen_log : q->frozen_msg, q->arg, (const char *)a->f[1].p };
    send_list(s, cs, call_with_id, &c, log ? "frozgetlog" : "frozgetmsg");
}

void ctrl_cmd_frozgetlog(struct yb_session *s, struct ctrl_session *cs,
                         const struct yb_ctrl_args *a)
{
    frozen_get(s, cs, a, true);
}

void ctrl_cmd_frozgetmsg(struct yb_session *s, struct ctrl_session *cs,
                         const struct yb_ctrl_args *a)
{
    frozen_get(s, cs, a, false);
}
