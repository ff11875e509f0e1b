/*
 * yb_vars.h - server.tab: the typed table of server variables.
 *
 * server.tab holds "Name"<TAB>"Value" records (XMail's format). Each name
 * yubin knows has a type, a default and a validator; loading produces an
 * immutable struct yb_vars. Unknown names are reported as warnings (XMail
 * installations carry many we do not use) and ignored; a value that does
 * not validate is an error with file:line:column, and nothing is loaded.
 *
 * Types and their text forms:
 *   string    any UTF-8 text
 *   int       decimal integer within the variable's range
 *   bool      1/0, yes/no, true/false, on/off
 *   size      integer bytes with optional K, M, G suffix (powers of 1024)
 *   duration  integer seconds with optional s, m, h, d suffix
 *   listen    addresses "addr:port" separated by commas or spaces
 *             ("[::1]:25"; empty = the service is off)
 *   loglevel  error, warn, info, debug
 */
#ifndef YB_VARS_H
#define YB_VARS_H

#include <stdbool.h>
#include <stdint.h>
#include "pal_socket.h"
#include "yb_tab.h"

/* Most addresses one listen variable may name. */
#define YB_LIMIT_LISTEN_ADDRS 16

enum yb_var_type {
    YB_VT_STRING,
    YB_VT_INT,
    YB_VT_BOOL,
    YB_VT_SIZE,
    YB_VT_DURATION,
    YB_VT_LISTEN,
    YB_VT_LOGLEVEL
};

/*
 * X(name, type, default, min, max, description). min/max bound int, size and
 * duration values (seconds / bytes).
 */
#define YB_SERVER_VARS(X)                                                                          \
    X(RootDomain, YB_VT_STRING, "", 0, 0,                                                          \
      "primary mail domain of this server; empty = the host name")                                 \
    X(SmtpServerDomain, YB_VT_STRING, "", 0, 0,                                                    \
      "name in SMTP greetings and Received headers; empty = RootDomain")                           \
    X(LogLevel, YB_VT_LOGLEVEL, "info", 0, 0, "lowest level written to the logs")                  \
    X(ConfigCheckInterval, YB_VT_DURATION, "5s", 1, 3600,                                          \
      "how often the tab files are checked for external edits")                                    \
    X(RunAsUser, YB_VT_STRING, "", 0, 0,                                                           \
      "POSIX: user to switch to after binding the listeners; empty = stay")                        \
    X(MaxConnections, YB_VT_INT, "20000", 1, 1000000, "connections for all services together")     \
    X(MaxConnectionsPerService, YB_VT_INT, "10000", 1, 1000000,                                    \
      "connections to one listener address of one service")                                        \
    X(MaxConnectionsPerIP, YB_VT_INT, "200", 1, 1000000,                                           \
      "connections from one client IP to one service")                                             \
    X(IdleTimeout, YB_VT_DURATION, "5m", 1, 86400, "longest wait for a complete command")          \
    X(TlsHandshakeTimeout, YB_VT_DURATION, "30s", 1, 3600, "a TLS handshake must finish within")   \
    X(MinDataRate, YB_VT_SIZE, "1K", 0, 1073741824,                                                \
      "bodies slower than this many bytes per MinDataRateWindow are cut off (0 = off)")            \
    X(MinDataRateWindow, YB_VT_DURATION, "1m", 1, 3600, "the window MinDataRate is measured over") \
    X(Workers, YB_VT_INT, "0", 0, 1024, "worker threads for commands; 0 = 2 per CPU, at least 4")  \
    X(ShutdownGrace, YB_VT_DURATION, "10s", 0, 3600,                                               \
      "running commands may finish within this on stop")                                           \
    X(MaxMessageSize, YB_VT_SIZE, "50M", 1024, 2147483647, "largest message accepted (SMTP SIZE)") \
    X(MaxMBSize, YB_VT_INT, "0", 0, 4194304, "mailbox quota per account in MiB; 0 = none")         \
    X(SmtpMaxRecipients, YB_VT_INT, "1000", 100, 100000, "recipients per message")                 \
    X(SmtpMaxTextLine, YB_VT_INT, "998", 0, 1000000,                                               \
      "longest line in a message body without CRLF; 0 = no limit")                                 \
    X(SmtpNormalizeBareLineEnds, YB_VT_BOOL, "no", 0, 0,                                           \
      "accept bare CR or LF in DATA as CRLF instead of refusing the message")                      \
    X(SmtpSenderAnyAddress, YB_VT_BOOL, "no", 0, 0,                                                \
      "let authenticated users send as any address, not only their own and aliases")               \
    X(SmtpGreetDelay, YB_VT_DURATION, "1s", 0, 60,                                                \
      "MX only: pause before the greeting; a client that talks first is refused; 0 = off")         \
    X(SmtpMaxBadCommands, YB_VT_INT, "10", 1, 1000, "errors before the session is closed")         \
    X(QueueWorkers, YB_VT_INT, "16", 0, 1000,                                                      \
      "delivery threads (read at start): most outbound connections in use; 0 = hold the queue")    \
    X(QueueMaxPerDomain, YB_VT_INT, "10", 1, 1000, "outbound connections to one domain at once")   \
    X(QueueMaxPerIP, YB_VT_INT, "20", 1, 1000, "outbound connections to one server IP at once")    \
    X(QueueRetrySchedule, YB_VT_STRING, "5m,10m,20m,40m,1h,2h,4h", 0, 0,                           \
      "waits between delivery attempts; the last repeats until QueueMaxAge")                       \
    X(QueueMaxAge, YB_VT_DURATION, "5d", 60, 3650 * 86400,                                         \
      "give up and bounce a message this long after it arrived")                                   \
    X(QueueDelayWarning, YB_VT_DURATION, "4h", 0, 3650 * 86400,                                    \
      "send a delay DSN (if NOTIFY asks) this long after arrival; 0 = never")                      \
    X(QueueScanInterval, YB_VT_DURATION, "30s", 1, 3600, "how often the queue is scanned")         \
    X(QueueClaimTimeout, YB_VT_DURATION, "30m", 1, 86400,                                          \
      "a claimed message untouched this long belongs to a dead runner and is released")            \
    X(QueueCleanupAge, YB_VT_DURATION, "1d", 60, 3650 * 86400,                                     \
      "spool/tmp files and unqueued messages older than this are removed at startup")              \
    X(QueueIdleConnection, YB_VT_DURATION, "5s", 0, 3600,                                          \
      "how long an idle outbound connection is kept for the next message")                         \
    X(QueueSmarthostFile, YB_VT_STRING, "smarthosts.tab", 0, 0,                                    \
      "relay hosts for all or some domains (file under ROOT; empty = none)")                       \
    X(DnsServers, YB_VT_STRING, "", 0, 0, "name servers ip[:port],...; empty = the system's")      \
    X(DnsTimeout, YB_VT_DURATION, "5s", 1, 60, "time-out of one DNS try")                          \
    X(SmtpClientConnectTimeout, YB_VT_DURATION, "30s", 1, 600, "outbound TCP connect time-out")    \
    X(SmtpClientMaxWait, YB_VT_DURATION, "10m", 1, 3600,                                           \
      "cap on the RFC 5321 client time-outs (5m for replies, 10m after the data)")                 \
    X(SmtpClientTls, YB_VT_STRING, "may", 0, 0,                                                    \
      "STARTTLS to MX hosts: none, may, encrypt (required) or verify (required, checked)")         \
    X(SmtpRemotePort, YB_VT_INT, "25", 1, 65535,                                                   \
      "TEST SETTING: the port of remote MX hosts; leave at 25 in production")                      \
    X(SmtpListen, YB_VT_LISTEN, "0.0.0.0:25", 0, 0, "SMTP (MX) listeners")                         \
    X(SubmissionListen, YB_VT_LISTEN, "0.0.0.0:587", 0, 0, "submission listeners (STARTTLS)")      \
    X(SmtpsListen, YB_VT_LISTEN, "0.0.0.0:465", 0, 0, "submission over implicit TLS")              \
    X(Pop3Listen, YB_VT_LISTEN, "0.0.0.0:110", 0, 0, "POP3 listeners (STLS)")                      \
    X(Pop3sListen, YB_VT_LISTEN, "0.0.0.0:995", 0, 0, "POP3 over implicit TLS")                    \
    X(Pop3DefaultDomain, YB_VT_STRING, "", 0, 0,                                                   \
      "POP3: domain of logins without @; empty = user@domain required")                            \
    X(Pop3AllowPlaintextAuth, YB_VT_BOOL, "no", 0, 0,                                              \
      "POP3: offer USER/PASS and AUTH before STLS (passwords in plaintext)")                       \
    X(Pop3IdleTimeout, YB_VT_DURATION, "10m", 600, 86400,                                          \
      "POP3: autologout timer (RFC 1939: at least 10 minutes)")                                    \
    X(Pop3MaxBadCommands, YB_VT_INT, "10", 1, 1000,                                                \
      "POP3: errors and failed logins before the session is closed")                               \
    X(ImapListen, YB_VT_LISTEN, "0.0.0.0:143", 0, 0, "IMAP listeners (STARTTLS)")                  \
    X(ImapsListen, YB_VT_LISTEN, "0.0.0.0:993", 0, 0, "IMAP over implicit TLS")                    \
    X(CtrlListen, YB_VT_LISTEN, "127.0.0.1:6017", 0, 0, "CTRL listeners")                          \
    X(CtrlsListen, YB_VT_LISTEN, "127.0.0.1:6018", 0, 0, "CTRL over implicit TLS")         \
    X(CtrlHashIterations, YB_VT_INT, "100000", 4096, 10000000,                                     \
      "PBKDF2 iterations when CTRL hashes a password sent in clear (useradd, userpasswd)")         \
    X(CtrlMaxLoginFailures, YB_VT_INT, "5", 1, 1000,                                               \
      "failed CTRL logins from one address before it is refused for CtrlLoginBlockTime")           \
    X(CtrlLoginBlockTime, YB_VT_DURATION, "10m", 1, 86400,                                         \
      "how long an address stays refused after CtrlMaxLoginFailures (and how long failures count)")

enum yb_var_id {
#define YB_VAR_ENUM(name, type, def, min, max, desc) YB_VAR_##name,
    YB_SERVER_VARS(YB_VAR_ENUM)
#undef YB_VAR_ENUM
        YB_VAR__COUNT
};

struct yb_listen_list {
    unsigned n;
    struct pal_addr addr[YB_LIMIT_LISTEN_ADDRS];
};

struct yb_var_value {
    bool set_in_file;              /* false: the default */
    unsigned line;                 /* where it was set, for messages */
    char *text;                    /* the value as written (or the default) */
    int64_t num;                   /* int, bool (0/1), size (bytes), duration (s), loglevel */
    struct yb_listen_list *listen; /* listen only */
};

struct yb_vars {
    struct yb_var_value v[YB_VAR__COUNT];
};

struct yb_var_def {
    const char *name;
    enum yb_var_type type;
    const char *def;
    int64_t min, max;
    const char *desc;
};

/* The definition of a variable, or NULL for an id out of range. */
const struct yb_var_def *yb_var_def(enum yb_var_id id);

/* Looks a name up (case-sensitive, as XMail). Returns 0 or YB_ENOTFOUND. */
int yb_var_lookup(const char *name, enum yb_var_id *id_r);

/*
 * Parses value text for variable id into *v (allocating text/listen). On
 * failure returns YB_EPARSE/YB_ELIMIT/YB_EINVAL and writes why into msg.
 */
int yb_var_parse(enum yb_var_id id, const char *text, struct yb_var_value *v, char *msg,
                 size_t msgsize);

/* The same for any definition (tests use it to reach every type). */
int yb_var_parse_def(const struct yb_var_def *d, const char *text, struct yb_var_value *v,
                     char *msg, size_t msgsize);

/* Frees what yb_var_parse allocated in *v. */
void yb_var_value_free(struct yb_var_value *v);

/*
 * Builds the variables from a parsed server.tab (tab may be NULL: all
 * defaults). Warnings (unknown names, duplicates) are passed to warn with
 * their position. On error nothing is returned and *err_r says where.
 */
int yb_vars_load(const struct yb_tab *tab, struct yb_vars **vars_r, struct yb_tab_error *err_r,
                 void (*warn)(void *arg, unsigned line, unsigned column, const char *msg),
                 void *warn_arg);

void yb_vars_free(struct yb_vars **vars);

static inline int64_t yb_vars_num(const struct yb_vars *vars, enum yb_var_id id)
{
    return vars->v[id].num;
}

static inline const char *yb_vars_str(const struct yb_vars *vars, enum yb_var_id id)
{
    return vars->v[id].text;
}

static inline const struct yb_listen_list *yb_vars_listen(const struct yb_vars *vars,
                                                          enum yb_var_id id)
{
    return vars->v[id].listen;
}

#endif
