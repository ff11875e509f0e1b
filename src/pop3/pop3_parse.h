/*
 * pop3_parse.h - POP3 command lines (RFC 1939, RFC 2449, RFC 2595, RFC 5034).
 *
 * A pure function of one line (without its CRLF, as the engine's line
 * scanner delivers it): the keyword and its arguments, checked for arity
 * and number syntax, or why the line is refused. Nothing is allocated; the
 * argument slices point into the line.
 */
#ifndef YB_POP3_PARSE_H
#define YB_POP3_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "yb_slice.h"

/* RFC 2449 4: a command line is at most 255 octets including its CRLF. */
#define YB_POP3_LIMIT_LINE 253
/* RFC 5034 4: a client response in an AUTH exchange may be much longer (base64 text). */
#define YB_POP3_LIMIT_AUTH_LINE 12288
/* Decimal digits in a message number or a TOP line count (fits 32 bits). */
#define YB_POP3_LIMIT_NUMBER_DIGITS 10
/* Most arguments of any command (TOP msg n, AUTH mech response). */
#define YB_POP3_MAX_ARGS 2

enum pop3_verb {
    POP3_USER,
    POP3_PASS,
    POP3_STAT,
    POP3_LIST,
    POP3_RETR,
    POP3_DELE,
    POP3_NOOP,
    POP3_RSET,
    POP3_QUIT,
    POP3_TOP,
    POP3_UIDL,
    POP3_CAPA,
    POP3_STLS,
    POP3_AUTH,
    POP3_APOP /* recognised so it can be refused by name: it needs reversible passwords */
};

struct pop3_cmd {
    enum pop3_verb verb;
    unsigned nargs;
    /*
     * Arguments as written. PASS has one argument: the rest of the line
     * after "PASS ", spaces included (RFC 1939 7 allows them).
     */
    struct yb_slice arg[YB_POP3_MAX_ARGS];
    /* The numeric arguments of LIST, UIDL, RETR, DELE and TOP, in order. */
    uint32_t num[YB_POP3_MAX_ARGS];
};

/*
 * Parses line (no CRLF). Returns 0 and fills *cmd_r, or:
 *   YB_ELIMIT  longer than YB_POP3_LIMIT_LINE
 *   YB_EUTF8   not valid UTF-8
 *   YB_EPARSE  a NUL or other control character, an empty line, a bad
 *              separator, the wrong number of arguments, a bad number
 *   YB_ENOTSUP an unknown keyword
 * Keywords are case-insensitive; arguments are separated by one space.
 * Message numbers are 1..4294967295 and TOP's line count 0..4294967295,
 * written as plain decimal digits.
 */
int pop3_parse_command(struct yb_slice line, struct pop3_cmd *cmd_r);

/* "USER", "PASS" ... for logs. */
const char *pop3_verb_name(enum pop3_verb verb);

#endif
