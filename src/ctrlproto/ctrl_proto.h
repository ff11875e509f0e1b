/*
 * ctrl_proto.h - the CTRL protocol's framing, shared by the server (src/ctrl)
 * and its client (ctl/yubinctl). Pure functions of bytes; no I/O.
 *
 * A command is one line of TAB-separated fields. A field is bare (no TAB,
 * no '"', no control character) or double-quoted with \" and \\ escapes (a
 * backslash before anything else is kept as it is), exactly like a tab-file
 * record (tabs/FORMAT.md), so XMail's CtrlClnt lines read unchanged. Fields
 * are UTF-8 and can never hold TAB, CR, LF, NUL or another control
 * character.
 *
 * A reply line starts with a code:
 *   +00000 text         ok
 *   +00100 text         a list follows: lines of TAB-separated quoted
 *                       fields, ended by a line holding a single ".", and
 *                       every line starting with "." gets one more "."
 *                       (dot-stuffing, as SMTP DATA)
 *   +00101 text         the server waits for a body, sent the same way
 *   -000NN text         error NN from the table below
 * Lines end in CRLF; a reader also accepts a bare LF.
 */
#ifndef YB_CTRL_PROTO_H
#define YB_CTRL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include "yb_buf.h"
#include "yb_slice.h"

/* Longest command or reply line, without its line ending. */
#define YB_CTRL_LIMIT_LINE (16 * 1024)
/* Most fields in one command or list record. */
#define YB_CTRL_LIMIT_FIELDS 64
/* Largest body (cfgfileset) or list (cfgfileget, userlist) in bytes. */
#define YB_CTRL_LIMIT_BODY (256u * 1024 * 1024)
/* Longest login name and password on the login line. */
#define YB_CTRL_LIMIT_NAME 128

#define YB_CTRL_PORT     6017
#define YB_CTRL_TLS_PORT 6018

/* The command that upgrades a plaintext session to TLS. */
#define YB_CTRL_STARTTLS "#!TLS"

/*
 * The error numbers (stable: scripts test them, yubinctl exits with them).
 * X(name, number, text)
 */
#define YB_CTRL_ERRORS(X)                                                                \
    X(SYNTAX, 1, "malformed command line")                                               \
    X(UNKNOWN_COMMAND, 2, "unknown command")                                             \
    X(ARGS, 3, "wrong number of arguments")                                              \
    X(LOGIN, 4, "login failed")                                                          \
    X(DENIED, 5, "permission denied")                                                    \
    X(TLS_REQUIRED, 6, "a password login from this address requires TLS")                \
    X(BAD_DOMAIN, 7, "invalid domain name")                                              \
    X(BAD_NAME, 8, "invalid user or alias name")                                         \
    X(BAD_FIELD, 9, "invalid field")                                                     \
    X(NO_DOMAIN, 10, "domain not found")                                                 \
    X(DOMAIN_EXISTS, 11, "domain already exists")                                        \
    X(NO_USER, 12, "user not found")                                                     \
    X(USER_EXISTS, 13, "user already exists")                                            \
    X(NO_ALIAS, 14, "alias not found")                                                   \
    X(ALIAS_EXISTS, 15, "alias already exists")                                          \
    X(DOMAIN_HAS_USERS, 16, "domain has accounts (domaindel DOMAIN purge removes them)") \
    X(BAD_PATH, 17, "not a configuration file under the data root")                      \
    X(BAD_FILE, 18, "the file does not parse; the old one stays")                        \
    X(NO_QUEUE, 19, "queue not available in this build")                                 \
    X(STORAGE, 20, "storage error")                                                      \
    X(LIMIT, 21, "a limit was exceeded")                                                 \
    X(BAD_PASSWORD, 22, "password refused")                                              \
    X(NOT_LOGGED_IN, 23, "not logged in")                                                \
    X(NO_TLS, 24, "TLS not available")                                                   \
    X(ALREADY_TLS, 25, "TLS already active")                                             \
    X(INTERNAL, 26, "internal error")                                                    \
    X(NO_ADMIN, 27, "administrator not found")                                           \
    X(ADMIN_EXISTS, 28, "administrator already exists")                                  \
    X(NO_ALIAS_DOMAIN, 29, "alias domain not found")                                     \
    X(ALIAS_DOMAIN_EXISTS, 30, "alias domain already exists")                            \
    X(BLOCKED, 31, "too many failed logins from this address; try later")                \
    X(NO_MESSAGE, 32, "message not found")                                               \
    X(NO_VAR, 33, "unknown variable")                                                    \
    X(CONNECT, 90, "cannot connect to the server")                                       \
    X(PROTOCOL, 91, "unexpected reply from the server")                                  \
    X(USAGE, 92, "usage error")

enum yb_ctrl_err {
    YB_CTRL_OK = 0,
#define YB_CTRL_ERR_ENUM(name, num, text) YB_CTRL_E_##name = num,
    YB_CTRL_ERRORS(YB_CTRL_ERR_ENUM)
#undef YB_CTRL_ERR_ENUM
};

/* The text of an error number ("domain not found"), or "unknown error". Never NULL. */
const char *yb_ctrl_err_text(int num);

/* ---- commands ---- */

struct yb_ctrl_args {
    size_t n;
    struct yb_slice f[YB_CTRL_LIMIT_FIELDS]; /* each also NUL-terminated, pointing into store */
    char store[YB_CTRL_LIMIT_LINE + YB_CTRL_LIMIT_FIELDS];
};

/*
 * Splits a command line (without its line ending) into fields. Returns 0,
 * YB_EPARSE (bad quoting, a control character, empty line), YB_EUTF8, or
 * YB_ELIMIT (longer than YB_CTRL_LIMIT_LINE, more than YB_CTRL_LIMIT_FIELDS).
 * On error a->n is 0.
 */
int yb_ctrl_split(struct yb_slice line, struct yb_ctrl_args *a);

/* True when s could be sent as a field: UTF-8 and no control character. */
bool yb_ctrl_field_ok(struct yb_slice s);

/*
 * Appends the fields, each quoted, TAB-separated, with CRLF. YB_EINVAL if a
 * field fails yb_ctrl_field_ok (out unchanged), YB_ELIMIT past out's max.
 */
int yb_ctrl_format(struct yb_buf *out, const struct yb_slice *f, size_t n);

/* ---- lists and bodies ---- */

/* Appends one line of a list or body (without its ending), dot-stuffed, with CRLF. */
int yb_ctrl_stuff_line(struct yb_buf *out, struct yb_slice line);

/* The line that ends a list or body. */
#define YB_CTRL_END ".\r\n"

/*
 * Reads one received list or body line: true at the end marker ".";
 * otherwise *content_r is the line with its stuffing dot removed.
 */
bool yb_ctrl_unstuff(struct yb_slice line, struct yb_slice *content_r);

/* ---- replies ---- */

enum yb_ctrl_reply_kind { YB_CTRL_R_OK, YB_CTRL_R_LIST, YB_CTRL_R_BODY, YB_CTRL_R_ERROR };

struct yb_ctrl_reply {
    enum yb_ctrl_reply_kind kind;
    int code;             /* the error number for YB_CTRL_R_ERROR, else 0 */
    struct yb_slice text; /* after the code and one space */
};

/* Parses a reply line. YB_EPARSE for anything but "+00000", "+00100", "+00101", "-NNNNN". */
int yb_ctrl_parse_reply(struct yb_slice line, struct yb_ctrl_reply *r);

/* ---- a resumable line reader (the client's input) ---- */

#define YB_CTRL_READ_CHUNK (64 * 1024)

struct yb_ctrl_lines {
    struct yb_buf buf;
    size_t consumed; /* bytes of buf handed out by the last next() */
    size_t max_line;
};

/* A reader for lines of at most max_line bytes (without the ending). */
void yb_ctrl_lines_init(struct yb_ctrl_lines *lr, size_t max_line);
void yb_ctrl_lines_free(struct yb_ctrl_lines *lr);

/*
 * Adds received bytes: call it after next() said YB_EAGAIN, with at most
 * YB_CTRL_READ_CHUNK bytes (there is always room for that then). YB_ELIMIT
 * otherwise.
 */
int yb_ctrl_lines_feed(struct yb_ctrl_lines *lr, const void *data, size_t len);

/*
 * The next complete line without CRLF or LF, valid until the next call.
 * Returns 0, YB_EAGAIN when no complete line is buffered, YB_ELIMIT for a
 * line longer than max_line.
 */
int yb_ctrl_lines_next(struct yb_ctrl_lines *lr, struct yb_slice *line_r);

#endif
