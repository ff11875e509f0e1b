/*
 * pop3_int.h - what the POP3 files share: the session state, the reply
 * helpers and one entry per command.
 */
#ifndef YB_POP3_INT_H
#define YB_POP3_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "pop3_maildrop.h"
#include "pop3_parse.h"
#include "pop3_server.h"
#include "yb_config.h"
#include "yb_sasl.h"

/* Session states (RFC 1939 3); every change goes through pop3_set_state, which logs it. */
enum pop3_state {
    POP3_ST_AUTHORIZATION, /* before login */
    POP3_ST_SASL,          /* inside an AUTH exchange */
    POP3_ST_TRANSACTION,   /* logged in, maildrop locked */
    POP3_ST_DONE           /* QUIT answered (UPDATE done) or the session is ending */
};

struct pop3_session {
    enum pop3_state state;
    struct yb_confstore *store;
    struct yb_config *cfg;              /* the snapshot this session started with */
    char user[YB_LIMIT_SASL_USER + 1];  /* from USER; "" until then */
    char login[YB_LIMIT_SASL_USER + 1]; /* the account (user@domain) once logged in */
    struct yb_sasl *sasl;
    uint64_t auth_started_ms; /* when the PASS or last AUTH step arrived */
    struct pop3_maildrop *md;
    unsigned bad_commands, auth_failures;
    char tag[32];
};

/* ---- pop3_session.c ---- */
/* Writes one reply line, adding CRLF. */
void pop3_reply(struct yb_session *s, const char *fmt, ...) YB_PRINTF(2, 3);
/* Counts a client error; after Pop3MaxBadCommands says goodbye and closes. True if closed. */
bool pop3_bad_command(struct yb_session *s, struct pop3_session *ps);
void pop3_set_state(struct pop3_session *ps, enum pop3_state st);
int64_t pop3_var(const struct pop3_session *ps, enum yb_var_id id);
/* True when passwords may be sent now: on TLS, or Pop3AllowPlaintextAuth. */
bool pop3_auth_allowed(struct yb_session *s, const struct pop3_session *ps);

/* ---- pop3_auth.c: the AUTHORIZATION state ---- */
void pop3_cmd_user(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd);
void pop3_cmd_pass(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd);
void pop3_cmd_auth(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd);
void pop3_auth_continue(struct yb_session *s, struct pop3_session *ps, struct yb_slice line);

/* ---- pop3_cmd.c: the TRANSACTION and UPDATE states ---- */
void pop3_cmd_stat(struct yb_session *s, struct pop3_session *ps);
void pop3_cmd_list(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd,
                   bool uidl);
void pop3_cmd_retr(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd);
void pop3_cmd_dele(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd);
void pop3_cmd_rset(struct yb_session *s, struct pop3_session *ps);
void pop3_cmd_quit(struct yb_session *s, struct pop3_session *ps);

#endif
