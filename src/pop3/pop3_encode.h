/*
 * pop3_encode.h - a stored message as POP3 sends it (RFC 1939 3): every
 * line ended by CRLF whatever the stored form (bare LF becomes CRLF; a bare
 * CR is passed on as data), a line starting with '.' gets one more '.', and
 * the multi-line response ends with ".\r\n" (after a CRLF that the encoder
 * adds if the message's last line had none).
 *
 * A pure, resumable state machine: it takes the message in chunks of any
 * size (a byte at a time gives the same output) and writes into the
 * caller's buffer, so RETR of a 50 MiB message uses two small buffers.
 * For TOP it stops after the header, the blank line and n body lines.
 */
#ifndef YB_POP3_ENCODE_H
#define YB_POP3_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output bytes one input byte can produce at most (LF -> CRLF, '.' -> ".."). */
#define YB_POP3_ENCODE_EXPANSION 2
/* Bytes pop3_encode_finish may write: CRLF and ".\r\n". */
#define YB_POP3_ENCODE_FINISH_MAX 5

struct pop3_encoder {
    bool line_start;   /* the next byte starts a line */
    bool cr_pending;   /* a CR was read and not yet written (it may be a CRLF's) */
    bool top;          /* stop after the header and top_lines body lines */
    bool in_header;    /* TOP: the blank line has not been seen */
    bool done;         /* TOP: everything wanted has been written */
    uint32_t top_left; /* TOP: body lines still to write */
    uint64_t octets;   /* message bytes written, without stuffing dots or the terminator */
};

/* Starts a RETR (top false) or a TOP of top_lines body lines. */
void pop3_encoder_init(struct pop3_encoder *e, bool top, uint32_t top_lines);

/*
 * Encodes from in[0..len) into out[0..outcap). Returns the bytes written;
 * *used_r is the input consumed, which is less than len when out is full
 * (call again with the rest) or, for TOP, when the wanted part is complete
 * (pop3_encoder_done; the rest of the message is not needed). An outcap of
 * at least YB_POP3_ENCODE_EXPANSION bytes always makes progress.
 */
size_t pop3_encode(struct pop3_encoder *e, const unsigned char *in, size_t len, unsigned char *out,
                   size_t outcap, size_t *used_r);

/* True when a TOP has written all it wants. */
bool pop3_encoder_done(const struct pop3_encoder *e);

/*
 * Ends the response: a CRLF if the last line was unterminated, then the
 * ".\r\n" terminator (terminator false: only the CRLF, to measure a size).
 * out needs YB_POP3_ENCODE_FINISH_MAX bytes. Returns the bytes written.
 */
size_t pop3_encode_finish(struct pop3_encoder *e, unsigned char *out, bool terminator);

#endif
