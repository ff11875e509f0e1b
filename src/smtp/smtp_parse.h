/*
 * smtp_parse.h - pure parsers for SMTP command lines and paths (RFC 5321,
 * RFC 6531 SMTPUTF8, RFC 3461 DSN parameters). No I/O, no state: a line in,
 * a result or a precise error out. Every size has a named limit.
 */
#ifndef YB_SMTP_PARSE_H
#define YB_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "yb_slice.h"

/* RFC 5321 4.5.3.1 */
#define YB_SMTP_LIMIT_LINE      510   /* command line without CRLF (512 with it) */
#define YB_SMTP_LIMIT_LOCAL     64    /* local part, octets */
#define YB_SMTP_LIMIT_DOMAIN    255   /* domain, octets */
#define YB_SMTP_LIMIT_PATH      256   /* path including < and > */
#define YB_SMTP_LIMIT_AUTH_LINE 12288 /* AUTH lines (RFC 4954) */
#define YB_SMTP_MAX_PARAMS      16    /* ESMTP parameters on one MAIL or RCPT */

enum smtp_verb {
    SMTP_UNKNOWN = 0,
    SMTP_HELO,
    SMTP_EHLO,
    SMTP_MAIL,
    SMTP_RCPT,
    SMTP_DATA,
    SMTP_BDAT,
    SMTP_RSET,
    SMTP_NOOP,
    SMTP_QUIT,
    SMTP_VRFY,
    SMTP_EXPN,
    SMTP_HELP,
    SMTP_STARTTLS,
    SMTP_AUTH,
    SMTP_ETRN
};

struct smtp_cmd {
    enum smtp_verb verb;
    struct yb_slice arg; /* what follows the verb and one space ("" if none) */
};

/*
 * Splits a command line into verb and argument. The verb is matched
 * case-insensitively; "MAIL FROM:" and "RCPT TO:" are recognised with the
 * colon (arg then starts after it, spaces skipped). Returns 0, or YB_EPARSE
 * for an empty line or a verb we do not know (verb = SMTP_UNKNOWN); MAIL or
 * RCPT without FROM:/TO: is YB_EPARSE with the verb set and an empty arg, so
 * the session can answer 501 rather than 500.
 */
int smtp_parse_command(struct yb_slice line, struct smtp_cmd *cmd_r);

/* A parsed path (reverse-path or forward-path). */
struct smtp_path {
    bool null_path;                          /* "<>" */
    bool postmaster;                         /* RCPT TO:<Postmaster> without a domain */
    bool utf8;                               /* non-ASCII in local part or domain */
    bool domain_literal;                     /* "[192.0.2.1]" or "[IPv6:...]" */
    bool had_source_route;                   /* "<@a,@b:user@c>": the route was dropped */
    char local[YB_SMTP_LIMIT_LOCAL * 2 + 1]; /* decoded (quotes removed), NUL-terminated */
    size_t local_len;
    char domain[YB_SMTP_LIMIT_DOMAIN + 1]; /* as written; literal with brackets */
};

struct smtp_param {
    struct yb_slice key;   /* e.g. "SIZE" (case kept; compare case-insensitively) */
    struct yb_slice value; /* "" when the parameter has no value */
    bool has_value;
};

struct smtp_params {
    size_t n;
    struct smtp_param p[YB_SMTP_MAX_PARAMS];
};

/* Why a path or its parameters were refused (maps to an SMTP reply). */
enum smtp_path_error {
    SMTP_PATH_OK = 0,
    SMTP_PATH_SYNTAX,     /* 501 5.5.4 / 553 5.1.3 */
    SMTP_PATH_TOO_LONG,   /* 501 5.5.4 path, local part or domain over its limit */
    SMTP_PATH_NEEDS_UTF8, /* 553 5.6.7 non-ASCII without SMTPUTF8 */
    SMTP_PATH_PARAMS      /* 555 5.5.4 malformed or too many parameters */
};

/*
 * Parses the argument of MAIL FROM: or RCPT TO: (after the colon): a path in
 * angle brackets, then space-separated ESMTP parameters. utf8_allowed says
 * whether non-ASCII is permitted (on MAIL, an SMTPUTF8 parameter on the same
 * line permits it too; for RCPT, pass whether the transaction declared it).
 * A 255-octet domain cannot fit a 256-octet path: the longest usable is 252. Percent-hacks and '!' are kept in the local
 * part verbatim (they never make an address relayable: the domain decides).
 * A source route is stripped (had_source_route). "<>" is accepted only when
 * is_mail is true; "<Postmaster>" only when it is false.
 */
enum smtp_path_error smtp_parse_path(struct yb_slice arg, bool is_mail, bool utf8_allowed,
                                     struct smtp_path *path_r, struct smtp_params *params_r);

/* True when the parameter key (case-insensitive) is among params. */
bool smtp_params_has(const struct smtp_params *params, const char *key);

/* The parameter named key (case-insensitive), or NULL. */
const struct smtp_param *smtp_params_get(const struct smtp_params *params, const char *key);

/*
 * Decodes xtext (RFC 3461: "+XX" hex escapes; lower-case hex accepted) into
 * out, NUL-terminated (so out needs the decoded length + 1). YB_EPARSE for
 * bad escapes or characters outside xchar, YB_ERANGE if out is too small.
 */
int smtp_xtext_decode(struct yb_slice in, char *out, size_t outsize, size_t *len_r);

/* Encodes bytes as xtext into out (NUL-terminated). YB_ERANGE if it does not fit. */
int smtp_xtext_encode(struct yb_slice in, char *out, size_t outsize);

/*
 * Checks a domain as given to HELO/EHLO: a domain name or an address
 * literal. Returns 0 or YB_EPARSE / YB_ELIMIT.
 */
int smtp_check_helo(struct yb_slice arg);

/* Parses a decimal SIZE or BDAT size without overflow. YB_EPARSE / YB_ERANGE. */
int smtp_parse_u64(struct yb_slice s, uint64_t *v_r);

#endif
