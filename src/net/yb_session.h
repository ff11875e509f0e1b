/*
 * yb_session.h - what a protocol handler sees of a connection.
 *
 * A protocol (SMTP, POP3, IMAP, CTRL, or a test's echo) is a const table of
 * callbacks, struct yb_proto. The engine calls them on a worker thread with
 * one complete unit of input at a time: the session opening, a command line,
 * a chunk of a body or literal, a wake-up, a timeout, the close. A handler
 * answers through the functions below and returns; it never sees a socket, a
 * thread, TLS or the OS, so the concurrency model can change under it.
 *
 * At most one callback runs per session at a time, and the engine reads no
 * further input for a session until its callback has returned, so a
 * handler's per-session state needs no locking. Pipelined input is kept and
 * handed over one unit at a time, in order.
 *
 * The yb_session_* functions may only be called from inside a callback for
 * that session, except yb_engine_wake (yb_engine.h), which any thread may call.
 */
#ifndef YB_SESSION_H
#define YB_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pal_compiler.h"
#include "pal_socket.h"
#include "yb_slice.h"

struct yb_session;

/* line() flags */
enum {
    YB_LINEF_BARE_LF = 1u << 0, /* the line ended in LF without CR */
    YB_LINEF_TOO_LONG = 1u << 1 /* the line was longer than max_line and was dropped */
};

/* wake() reasons */
enum {
    YB_WAKE_EVENT = 1u << 0, /* yb_engine_wake() was called for this session */
    YB_WAKE_TIMER = 1u << 1, /* the park timeout passed */
    YB_WAKE_TLS = 1u << 2    /* a STARTTLS handshake completed */
};

/* timeout() reasons */
enum yb_timeout_kind {
    YB_TIMEOUT_IDLE,    /* no complete command within the idle timeout */
    YB_TIMEOUT_SLOW,    /* a body or literal arrived slower than the minimum rate */
    YB_TIMEOUT_SHUTDOWN /* the server is stopping */
};

/* body() end states */
enum yb_body_end {
    YB_BODY_MORE = 0, /* more chunks follow */
    YB_BODY_DONE = 1  /* this was the last chunk (it may be empty) */
};

struct yb_proto {
    const char *name; /* "smtp", "imap" ...: logs and statistics */
    size_t max_line;  /* longest command line accepted, without its CRLF */
    /*
     * A connection arrived (after the handshake on implicit-TLS listeners).
     * Set *state_r to the handler's per-session state and write the greeting.
     * Returning non-zero closes the connection at once.
     */
    int (*open)(struct yb_session *s, void **state_r);
    /* A complete command line (without CRLF). */
    void (*line)(struct yb_session *s, void *state, struct yb_slice line, unsigned flags);
    /* Body or literal data requested with yb_session_read_body/read_bytes. */
    void (*body)(struct yb_session *s, void *state, struct yb_slice chunk, enum yb_body_end end);
    /* A wake-up for a parked session (YB_WAKE_*). May be NULL if never parked. */
    void (*wake)(struct yb_session *s, void *state, unsigned why);
    /*
     * A timeout: write the protocol's goodbye (e.g. "421 4.4.2 timeout");
     * the engine closes the connection after sending it.
     */
    void (*timeout)(struct yb_session *s, void *state, enum yb_timeout_kind kind);
    /* The connection is gone (always called once, last): free state. */
    void (*close)(struct yb_session *s, void *state);
    /*
     * Sent in plaintext before closing a connection refused by a connection
     * limit (NULL = just close), e.g. "421 4.7.0 Too many connections\r\n".
     */
    const char *refuse_busy;
};

/* ---- answering ---- */

/*
 * Queues bytes for the peer, in order. Large outputs are flow-controlled:
 * the call waits while more than the session's output high-water mark is
 * unsent, so streaming a 50 MiB message uses flat memory. Returns 0, or
 * YB_ECLOSED once the peer is gone (the handler should stop producing).
 */
int yb_session_write(struct yb_session *s, const void *data, size_t len);
int yb_session_write_slice(struct yb_session *s, struct yb_slice data);
int yb_session_printf(struct yb_session *s, const char *fmt, ...) YB_PRINTF(2, 3);

/* Longest line yb_session_reply writes, CRLF included; a longer one is cut (still ending in CRLF). */
#define YB_SESSION_REPLY_MAX 1024
/*
 * Writes one protocol line - the formatted text and CRLF - in one write:
 * for replies, which are the server's own text (a cut one stays a line).
 */
int yb_session_reply(struct yb_session *s, const char *fmt, ...) YB_PRINTF(2, 3);
int yb_session_vreply(struct yb_session *s, const char *fmt, va_list ap) YB_PRINTF(2, 0);

/* ---- what to read next (default: command lines) ---- */

/*
 * After this callback, the next input is an SMTP DATA body: dot-unstuffed,
 * ended only by CRLF.CRLF, delivered through body() in chunks, at most
 * max_bytes of message (larger: the rest is read and dropped, and the last
 * body() reports it through yb_session_body_info).
 */
void yb_session_read_body_dot(struct yb_session *s, uint64_t max_bytes);

/* After this callback, the next n bytes (BDAT chunk, IMAP literal) go to body(). */
void yb_session_read_bytes(struct yb_session *s, uint64_t n);

struct yb_body_info {
    uint64_t bytes; /* message bytes seen (including any dropped past the limit) */
    bool truncated; /* more than max_bytes arrived; the excess was not delivered */
    uint64_t bare_cr, bare_lf, nul_bytes;
    size_t longest_line; /* without CRLF */
};

/* Statistics of the body being read (valid in body(), final when end is DONE). */
void yb_session_body_info(struct yb_session *s, struct yb_body_info *info_r);

/* ---- session control ---- */

/*
 * After this callback's output has been sent, start TLS as the server
 * (STARTTLS, STLS, #!TLS). Any input that arrived after the command is
 * discarded, never interpreted (STARTTLS command injection). When the
 * handshake completes, wake() is called with YB_WAKE_TLS. Returns
 * YB_ENOTSUP when the listener has no certificate, YB_EINVAL if already TLS.
 */
int yb_session_start_tls(struct yb_session *s);

/*
 * Parks the session (IMAP IDLE): input lines are still delivered through
 * line(), and wake() is called on yb_engine_wake() or after timeout_ms
 * (YB_WAKE_TIMER). The idle timeout does not apply while parked. A line() or
 * wake() callback ends the parking unless it parks again.
 */
void yb_session_park(struct yb_session *s, unsigned timeout_ms);

/* Closes the connection once the output queued so far has been sent. */
void yb_session_close(struct yb_session *s);

/*
 * True, inside line(), when another complete command line has already
 * arrived after the one being handled (pipelined input). A handler may then
 * hold its reply back and make several commands durable with one write
 * (group commit); it must answer them all once this turns false.
 */
bool yb_session_line_pending(const struct yb_session *s);

/* ---- facts about the connection ---- */

const struct pal_addr *yb_session_peer(const struct yb_session *s);
const struct pal_addr *yb_session_local(const struct yb_session *s);
/* The peer's IP as text (no port). */
const char *yb_session_peer_ip(const struct yb_session *s);
/* The server.tab variable of the listener ("SmtpListen"). */
const char *yb_session_service(const struct yb_session *s);
bool yb_session_is_tls(const struct yb_session *s);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" or "" without TLS. */
const char *yb_session_tls_desc(const struct yb_session *s);
/* A number unique for this engine's lifetime (for logs and yb_engine_wake). */
uint64_t yb_session_id(const struct yb_session *s);
/* The engine-wide user pointer given to yb_engine_create (e.g. the config store). */
void *yb_session_app(const struct yb_session *s);

#endif
