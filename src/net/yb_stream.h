/*
 * yb_stream.h - pure, resumable decoders for what arrives on a connection:
 * command lines, and SMTP DATA bodies. No I/O: they take bytes and say
 * "need more", a result, or what was wrong; every size has a named limit.
 * Fed whole or one byte at a time, they give the same results.
 */
#ifndef YB_STREAM_H
#define YB_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "yb_slice.h"

/* ---- command lines ---- */

enum yb_line_result {
    YB_LINE_NEED_MORE = 0, /* no complete line yet; *consumed_r bytes may still be eaten */
    YB_LINE_OK = 1,        /* *line_r holds a line (without its CRLF or LF) */
    YB_LINE_TOO_LONG = 2   /* a line longer than max ended; it was discarded whole */
};

struct yb_line_scanner {
    size_t max;      /* longest line accepted, without its line ending */
    bool discarding; /* inside an over-long line: eating bytes up to its LF */
    size_t scanned;  /* bytes of the pending line already searched for LF */
};

/* Sets the limit (e.g. 510 for SMTP's 512 octets including CRLF). */
void yb_line_scanner_init(struct yb_line_scanner *ls, size_t max);

/*
 * Looks for the next line in data[0..len) (the unconsumed input; pass the
 * same bytes again, plus new ones, after NEED_MORE). A line ends at LF; a CR
 * right before the LF is not part of it and *bare_lf_r says whether it was
 * missing. A line is never split: once more than max bytes arrive without
 * an LF, the scanner consumes (discards) everything up to and including the
 * next LF, keeping no more than it has to, and then reports TOO_LONG once.
 * *consumed_r is how many bytes of data the caller must drop.
 *
 * A line is known to be too long once max+1 bytes have arrived without an
 * LF and the last is not a CR (it could be the CR of CRLF), or max+2 bytes
 * without an LF; so the caller never holds more than max+2 bytes of a
 * pending line. *line_r is set only for OK (empty otherwise), and
 * *bare_lf_r is meaningful only for OK.
 */
enum yb_line_result yb_line_next(struct yb_line_scanner *ls, const unsigned char *data, size_t len,
                                 struct yb_slice *line_r, size_t *consumed_r, bool *bare_lf_r);

/* ---- SMTP DATA (RFC 5321 4.1.1.4, 4.5.2) ---- */

/*
 * Decodes a DATA body: removes dot-stuffing, ends only at CRLF "." CRLF, and
 * writes the message with CRLF line endings. A bare LF or bare CR is never a
 * line ending for the terminator (so "\n.\n", "\r.\r", "\r\n.\n" do not end
 * the message: SMTP smuggling); each is counted, and written out as CRLF, so
 * the caller can refuse the message (550 5.5.2) or accept the normalised
 * form, by policy.
 *
 * RFC 5321 read literally: a line starts only after a real CRLF (or at the
 * start of the body). A dot there is the end when CRLF follows, else a
 * stuffing dot that is removed - also when a bare CR or LF follows it
 * ("
.
" gives "

"). After a bare CR or LF nothing is unstuffed
 * ("
.
" gives "
.
"). line_len and longest_line are measured on
 * the output, where every bare CR or LF ended a line.
 */
struct yb_dot_decoder {
    int state;
    uint64_t out_total;  /* message bytes produced so far */
    uint64_t bare_cr;    /* CR not followed by LF */
    uint64_t bare_lf;    /* LF not preceded by CR */
    uint64_t nul_bytes;  /* NUL octets in the message */
    size_t line_len;     /* current line, without CRLF */
    size_t longest_line; /* longest line seen, without CRLF (RFC 5321: 998) */
    bool done;           /* the terminator was seen */
};

void yb_dot_decoder_init(struct yb_dot_decoder *d);

/*
 * Decodes from in[0..inlen) into out[0..outcap). Stops when the terminator
 * is seen (d->done; bytes after it are not consumed: with PIPELINING they
 * are the next command), when out is full, or when in is used up. Sets
 * *consumed_r and *produced_r. outcap >= 2 guarantees progress. Never fails.
 */
void yb_dot_decode(struct yb_dot_decoder *d, const unsigned char *in, size_t inlen,
                   size_t *consumed_r, unsigned char *out, size_t outcap, size_t *produced_r);

#endif
