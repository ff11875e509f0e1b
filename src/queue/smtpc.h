/*
 * smtpc.h - the SMTP client: one connection to a remote server, with
 * blocking I/O bounded by the time-outs of RFC 5321 4.5.3.2 (each capped
 * by the caller's max_wait_ms), opportunistic or required STARTTLS,
 * EHLO with HELO fallback, PIPELINING, SIZE, 8BITMIME, SMTPUTF8 and DSN.
 *
 * Used by one delivery thread at a time; a connection may carry several
 * transactions (smtpc_send then smtpc_reset), which is how the queue reuses
 * connections across messages.
 */
#ifndef YB_SMTPC_H
#define YB_SMTPC_H

#include "pal_socket.h"
#include "smtpc_reply.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most recipients in one transaction (RFC 5321 4.5.3.1.8 says servers take at least 100). */
#define SMTPC_MAX_RCPTS 100
/* Room for a status text kept per recipient ("550 5.1.1 no such user"). */
#define SMTPC_STATUS_MAX 400

enum smtpc_tls {
    SMTPC_TLS_NONE,    /* never STARTTLS */
    SMTPC_TLS_MAY,     /* STARTTLS when offered, any certificate; plaintext otherwise */
    SMTPC_TLS_ENCRYPT, /* STARTTLS required (fail closed), any certificate */
    SMTPC_TLS_VERIFY   /* STARTTLS required with a certificate valid for the host name */
};

struct smtpc_opts {
    const char *helo; /* our name for EHLO */
    enum smtpc_tls tls;
    unsigned connect_ms;  /* TCP connect */
    unsigned max_wait_ms; /* cap on every RFC 5321 time-out (tests make it short) */
};

/* A failure or a reply, for logs and bounces. */
struct smtpc_status {
    unsigned code;               /* the SMTP reply code, or 421/451-class for local failures */
    bool permanent;              /* 5xx */
    bool tls_failed;             /* smtpc_open: STARTTLS was tried and failed */
    char text[SMTPC_STATUS_MAX]; /* "550 5.1.1 text" or "4.4.2 connection lost: ..." */
};

/* Extensions the server offered. */
struct smtpc_ext { /* size_known: SIZE offered */
    bool esmtp, pipelining, eightbit, smtputf8, dsn, starttls, size_known, auth_plain;
    uint64_t size; /* with size_known: the SIZE limit, 0 = none announced */
};

struct smtpc_conn;

/*
 * Connects to addr, reads the greeting, says EHLO (HELO when EHLO is
 * refused) and does STARTTLS as opts->tls says. host is the server's name
 * (for SNI, verification and logs). Returns 0 with *c_r, or a negative
 * YB_E* code with st saying why: st->permanent when the server refused us
 * with 5xx in its greeting (the caller still tries the next MX).
 */
int smtpc_open(const struct pal_addr *addr, const char *host, const struct smtpc_opts *opts,
               struct smtpc_conn **c_r, struct smtpc_status *st);

/* What the server offered, and whether the session is encrypted. */
const struct smtpc_ext *smtpc_extensions(const struct smtpc_conn *c);
bool smtpc_is_tls(const struct smtpc_conn *c);
const char *smtpc_host(const struct smtpc_conn *c);

struct smtpc_msg {
    const char *from;  /* reverse-path without brackets; "" = <> */
    const char *ret;   /* DSN RET: "FULL", "HDRS" or "" */
    const char *envid; /* DSN ENVID (decoded), or "" */
    bool eightbit;     /* BODY=8BITMIME */
    bool smtputf8;
    uint64_t size;    /* bytes of the message file */
    const char *path; /* the message file */
};

struct smtpc_rcpt {
    const char *addr;
    const char *notify;         /* DSN NOTIFY or "" */
    const char *orcpt;          /* DSN ORCPT "type;addr" (decoded) or "" */
    struct smtpc_status result; /* out: 250 = delivered, 4xx deferred, 5xx failed */
};

/*
 * One transaction: MAIL, RCPT for each of n (<= SMTPC_MAX_RCPTS) recipients,
 * DATA with the message (CRLF and dot-stuffed on the wire). Each recipient's
 * result says what became of it. Returns 0 when the dialogue ended cleanly
 * (the connection may carry another transaction after smtpc_reset), or a
 * negative code when the connection failed: recipients without a final
 * result then have a 4xx one, and the connection must be closed.
 * *accepted_r is set true the moment the server has answered the final
 * "." with 2xx (the caller logs that before saving the state: the one
 * window where a crash delivers twice).
 */
int smtpc_send(struct smtpc_conn *c, const struct smtpc_msg *m, struct smtpc_rcpt *r, size_t n,
               bool *accepted_r);

/*
 * AUTH PLAIN with user and password (refused without TLS: YB_EPERM, and
 * when the server does not offer PLAIN: YB_ENOTSUP). 0 when the server said 235.
 */
int smtpc_auth_plain(struct smtpc_conn *c, const char *user, const char *password,
                     struct smtpc_status *st);

/* RSET, for the next transaction. Returns 0 when the server said 250. */
int smtpc_reset(struct smtpc_conn *c);

/* QUIT (best effort, short wait) and closes; *c becomes NULL. */
void smtpc_close(struct smtpc_conn **c, bool quit);

#endif
