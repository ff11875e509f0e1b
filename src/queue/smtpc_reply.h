/*
 * smtpc_reply.h - the SMTP client's pure parsers: server replies and the
 * DATA transparency (dot-stuffing) encoder.
 *
 * Replies (RFC 5321 4.2): one or more lines "ddd-text" ending with
 * "ddd text" (or a bare "ddd"), every line with the same code, CRLF ended.
 * A hostile server gets nowhere: a line longer than SMTPC_LIMIT_REPLY_LINE,
 * more than SMTPC_LIMIT_REPLY_LINES lines, a NUL, a code that is not
 * [2-5][0-5][0-9], codes that change inside one reply, or a separator other
 * than space or hyphen make the reply malformed (the caller treats it as a
 * temporary failure of the connection). A bare LF is accepted as a line end
 * (servers exist that send it); any other control byte or invalid UTF-8 in
 * the text is replaced with '?' so the text can go into logs and bounces.
 */
#ifndef YB_SMTPC_REPLY_H
#define YB_SMTPC_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest reply line, without its CRLF (RFC 5321 4.5.3.1.5 says 512 with it). */
#define SMTPC_LIMIT_REPLY_LINE 2048
/* Most lines in one reply (an EHLO answer has about 15). */
#define SMTPC_LIMIT_REPLY_LINES 100
/* Room for the reply's text: every line's text, '\n'-separated. */
#define SMTPC_REPLY_TEXT_MAX (SMTPC_LIMIT_REPLY_LINE * 4)

enum smtpc_parse_status { SMTPC_REPLY_MORE = 0, SMTPC_REPLY_DONE = 1, SMTPC_REPLY_BAD = -1 };

struct smtpc_reply {
    unsigned code;                       /* 200..559 */
    unsigned nlines;                     /* lines in the reply */
    size_t len;                          /* bytes of text */
    char text[SMTPC_REPLY_TEXT_MAX + 1]; /* lines' text (after "ddd "), '\n'-joined, NUL-ended;
                                          * cut (not refused) beyond the room */
    const char *why;                     /* SMTPC_REPLY_BAD: what was wrong (static) */
};

struct smtpc_rparser {
    unsigned state;
    unsigned line_len;
    unsigned char line[SMTPC_LIMIT_REPLY_LINE + 1];
    struct smtpc_reply reply;
};

void smtpc_rparser_init(struct smtpc_rparser *p);

/*
 * Feeds bytes. Sets *used_r to the bytes consumed (a completed reply stops
 * consuming: the rest belongs to the next reply) and returns MORE, DONE
 * (p->reply holds it; call smtpc_rparser_init before the next one) or BAD
 * (p->reply.why says why; the parser stays BAD).
 */
enum smtpc_parse_status smtpc_rparser_feed(struct smtpc_rparser *p, const void *data, size_t len,
                                           size_t *used_r);

/*
 * The enhanced status code at the start of the text ("5.1.1"), copied into
 * buf; "" when the text does not start with one of the reply's class.
 */
void smtpc_reply_enhanced(const struct smtpc_reply *r, char *buf, size_t size);

/* ---- DATA transparency ---- */

/* Encoder state: at the start of a line, and whether the last byte was CR. */
struct smtpc_dot {
    bool bol;
    bool cr;
};

void smtpc_dot_init(struct smtpc_dot *d);

/*
 * Encodes message bytes for DATA: every line ends with CRLF on the wire
 * whatever the stored line ends (CRLF, bare LF or bare CR), and a line
 * starting with '.' gets another. out must hold 3 * len bytes (a bare CR
 * or LF grows to two bytes; '.' at line start to two). Returns bytes
 * written to out.
 */
size_t smtpc_dot_encode(struct smtpc_dot *d, const unsigned char *in, size_t len,
                        unsigned char *out);

/*
 * The end of the data: a CRLF if the last line was not ended, then ".CRLF".
 * out must hold 5 bytes. Returns bytes written.
 */
size_t smtpc_dot_finish(struct smtpc_dot *d, unsigned char *out);

#endif
