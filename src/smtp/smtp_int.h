/*
 * smtp_int.h - what the SMTP files share: the session and transaction
 * state, the reply helpers, and one entry per command.
 */
#ifndef YB_SMTP_INT_H
#define YB_SMTP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "pal.h"
#include "smtp_parse.h"
#include "smtp_server.h"
#include "yb_accounts.h"
#include "yb_config.h"
#include "yb_maildir.h"
#include "yb_sasl.h"
#include "yb_spool.h"

/* An address as text: decoded local part, '@', domain, NUL. */
#define SMTP_ADDR_MAX (YB_SMTP_LIMIT_LOCAL * 2 + 1 + 1 + YB_SMTP_LIMIT_DOMAIN + 1)

enum smtp_mode { SMTP_MODE_MX, SMTP_MODE_SUBMISSION, SMTP_MODE_SMTPS };

/* Session states; every change goes through smtp_set_state, which logs it at debug level. */
enum smtp_state {
    SMTP_ST_PREGREET, /* MX greeting delay: the client must not talk yet */
    SMTP_ST_GREETED, /* before HELO/EHLO */
    SMTP_ST_READY,   /* after HELO/EHLO, no transaction */
    SMTP_ST_MAIL,    /* MAIL accepted, collecting RCPT */
    SMTP_ST_DATA,    /* reading a DATA body */
    SMTP_ST_BDAT,    /* reading BDAT chunks */
    SMTP_ST_AUTH,    /* inside an AUTH exchange */
    SMTP_ST_QUIT
};

/* One local recipient: a Maildir. */
struct smtp_local_rcpt {
    char maildir[PAL_PATH_MAX];
    char addr[SMTP_ADDR_MAX];
};

/* The mail transaction (MAIL .. end of DATA), kept apart from the session. */
struct smtp_txn {
    char from[SMTP_ADDR_MAX];
    bool null_sender, smtputf8, body_8bit;
    uint64_t declared_size;
    char ret[8];
    char envid[101];
    size_t nrcpt;                  /* accepted RCPT commands */
    struct smtp_local_rcpt *local; /* unique local mailboxes */
    size_t nlocal, local_cap;
    struct yb_env_rcpt *remote; /* recipients for the queue */
    size_t nremote, remote_cap;
    /* while the body arrives */
    struct yb_delivery *delivery;
    struct yb_spool_msg *spool;
    char spool_id[YB_SPOOL_ID_MAX + 1];
    uint64_t body_bytes;
    int write_error; /* first storage error while writing */
    bool bdat_last;
};

struct smtp_session {
    enum smtp_mode mode;
    enum smtp_state state;
    struct yb_confstore *store;
    struct yb_config *cfg; /* the snapshot this session started with */
    char helo[256];
    bool esmtp;
    char auth_user[YB_LIMIT_SASL_USER + 1]; /* "" until AUTH succeeded */
    struct yb_sasl *sasl;
    unsigned bad_commands, auth_failures;
    char server_name[256];
    char session_tag[32];
    struct smtp_txn txn;
    struct yb_resolution *res; /* resolver working space (allocated once) */
};

/* ---- replies (smtp_session.c) ---- */
void smtp_reply(struct yb_session *s, const char *fmt, ...) YB_PRINTF(2, 3);
/* Counts a client error; after SmtpMaxBadCommands says 421 and closes. Returns true if closed. */
bool smtp_bad_command(struct yb_session *s, struct smtp_session *ss);
void smtp_set_state(struct smtp_session *ss, enum smtp_state st);
int64_t smtp_var(const struct smtp_session *ss, enum yb_var_id id);
bool smtp_tls_required_for_auth(struct yb_session *s, const struct smtp_session *ss);

/* ---- the MX greeting delay (smtp_pregreet.c) ---- */
/* True when this address waited for a greeting recently and need not wait again. */
bool smtp_pregreet_passed(const struct pal_addr *peer);
void smtp_pregreet_remember(const struct pal_addr *peer);

/* ---- commands ---- */
void smtp_cmd_auth(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg);
void smtp_auth_continue(struct yb_session *s, struct smtp_session *ss, struct yb_slice line);
void smtp_cmd_mail(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg);
void smtp_cmd_rcpt(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg);
void smtp_cmd_data(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg);
void smtp_cmd_bdat(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg);
/* ETRN (RFC 1985): asks the queue runners to deliver what waits for a domain. */
void smtp_cmd_etrn(struct yb_session *s, struct smtp_session *ss, struct yb_slice arg);
void smtp_body(struct yb_session *s, struct smtp_session *ss, struct yb_slice chunk,
               enum yb_body_end end);
void smtp_txn_reset(struct smtp_txn *t);

#endif
