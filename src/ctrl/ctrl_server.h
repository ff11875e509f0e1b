/*
 * ctrl_server.h - the CTRL protocol handlers the engine runs (DESIGN.md
 * section 4): XMail-compatible remote administration of domains, accounts,
 * aliases, configuration files and the queue. The engine's app pointer must
 * be the yb_confstore.
 *
 *   yb_ctrl_proto        plaintext (CtrlListen); "#!TLS" upgrades, and a
 *                        password login from a non-loopback peer needs it
 *   yb_ctrl_proto_tls    implicit TLS (CtrlsListen)
 */
#ifndef YB_CTRL_SERVER_H
#define YB_CTRL_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include "yb_buf.h"
#include "yb_session.h"

extern const struct yb_proto yb_ctrl_proto;
extern const struct yb_proto yb_ctrl_proto_tls;

/*
 * The queue as CTRL sees it. The outbound queue lives elsewhere; yubind
 * hands its table to yb_ctrl_set_queue_ops. Without one (or for a NULL
 * member) the commands answer YB_CTRL_E_NO_QUEUE.
 *
 * Listing functions append records to out, each made with
 * yb_ctrl_format() (quoted fields, CRLF). All return 0 or a YB_E* code;
 * YB_ENOTFOUND means "no such message" (YB_CTRL_E_NO_MESSAGE).
 */
struct yb_ctrl_queue_ops {
    /* queuelist: one record per queued message (id, sender, recipients, next try ...) */
    int (*list)(void *arg, struct yb_buf *out);
    /* queueflush: retry every deferred message now; *n_r = how many */
    int (*flush)(void *arg, size_t *n_r);
    /* etrn: retry messages for one domain now */
    int (*etrn)(void *arg, const char *domain, size_t *n_r);
    /* frozlist: one record per frozen message */
    int (*frozen_list)(void *arg, struct yb_buf *out);
    int (*frozen_submit)(void *arg, const char *id);
    int (*frozen_delete)(void *arg, const char *id);
    /* frozgetlog / frozgetmsg: the raw lines of the delivery log / message */
    int (*frozen_log)(void *arg, const char *id, struct yb_buf *out);
    int (*frozen_msg)(void *arg, const char *id, struct yb_buf *out);
    void *arg;
};

/* Installs the queue table (NULL: none). Call before the listeners start. */
void yb_ctrl_set_queue_ops(const struct yb_ctrl_queue_ops *ops);

#endif
