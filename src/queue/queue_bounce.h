/*
 * queue_bounce.h - delivery status notifications (RFC 3464 multipart/report)
 * and their delivery.
 *
 * A DSN goes to the envelope sender with the null reverse-path, so a DSN
 * that cannot be delivered never produces another (no bounce loops): the
 * queue freezes it for the administrator instead. None is ever sent for a
 * message whose sender is null.
 */
#ifndef YB_QUEUE_BOUNCE_H
#define YB_QUEUE_BOUNCE_H

#include "yb_buf.h"
#include "yb_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest original message returned whole; a larger one is returned as its headers. */
#define YB_DSN_MAX_ORIGINAL (10u * 1024 * 1024)
/* Largest DSN built (text, report and the original). */
#define YB_LIMIT_DSN (YB_DSN_MAX_ORIGINAL + 1024u * 1024)

enum yb_dsn_action { YB_DSN_FAILED, YB_DSN_DELAYED, YB_DSN_RELAYED };

struct yb_dsn_rcpt {
    const char *addr;
    const char *orcpt;  /* "rfc822;addr" or "" */
    const char *status; /* the last result: "550 5.1.1 text", "4.4.1 text" ... */
    const char *remote; /* the remote MTA's name or "" */
    enum yb_dsn_action action;
};

struct yb_dsn {
    const char *reporting_mta; /* our name */
    const char *to;            /* the original envelope sender (not "") */
    const char *envid;         /* "" or the ENVID */
    const char *queue_id;
    int64_t arrival, now, retry_until; /* retry_until: delayed only */
    bool headers_only;                 /* RET=HDRS */
    bool eightbit;                     /* the original is 8-bit */
    const char *msg_path;              /* the original message file */
    size_t n;
    const struct yb_dsn_rcpt *r;
};

/*
 * The status code for the report: the enhanced code in text (after an
 * optional reply code), else "5.0.0" / "4.0.0" by the reply code's class
 * or permanent.
 */
void yb_dsn_status_code(const char *text, bool permanent, char *buf, size_t size);

/* Builds the DSN message (CRLF line ends) into out. */
int yb_dsn_format(const struct yb_dsn *d, struct yb_buf *out);

/*
 * Delivers a DSN: into the Maildirs of local recipients directly (through
 * the address book of cfg), into the spool (null sender) for the others.
 * Returns 0 when it is durable everywhere.
 */
int yb_dsn_send(struct yb_config *cfg, const char *root, const struct yb_dsn *d);

#endif
