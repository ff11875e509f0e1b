/*
 * mime_decode.h - streaming Content-Transfer-Encoding decoders (RFC 2045):
 * base64 and quoted-printable, fed chunks of any size, split anywhere.
 *
 * What they promise: the output of a stream is the same however it is cut
 * into chunks. They are lenient the way mail needs: base64 skips characters
 * outside its alphabet and stops at padding; quoted-printable keeps a '='
 * that starts no valid escape as written, accepts lower-case hex, removes
 * soft line breaks ("=" + optional trailing whitespace + line end) and the
 * whitespace that ends a line (RFC 2045 6.7 rule 3). Anything odd is counted
 * in `bad` so a caller can tell.
 *
 * Memory: a few bytes of state each, plus quoted-printable's held trailing
 * whitespace, bounded by YB_MIME_LIMIT_QP_HOLD (a longer run is emitted).
 * Output goes to a yb_buf, whose maximum bounds it (YB_ELIMIT).
 */
#ifndef YB_MIME_DECODE_H
#define YB_MIME_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "yb_buf.h"

#define YB_MIME_LIMIT_QP_HOLD 128

struct mime_b64 {
    uint32_t bits;
    unsigned n;   /* characters in bits (0..3) */
    bool done;    /* padding seen: the rest is ignored */
    uint64_t bad; /* characters skipped that were not whitespace */
};

void mime_b64_init(struct mime_b64 *st);
int mime_b64_decode(struct mime_b64 *st, const void *in, size_t len, struct yb_buf *out);
/* Emits what unpadded trailing characters hold. */
int mime_b64_finish(struct mime_b64 *st, struct yb_buf *out);

struct mime_qp {
    unsigned state;     /* 0 text, 1 after '=', 2 after '=' and a hex digit, 3 soft break */
    unsigned char hex1; /* the first digit in state 2 */
    bool cr;            /* a CR is held (it may start a line end) */
    size_t nws;         /* held whitespace */
    unsigned char ws[YB_MIME_LIMIT_QP_HOLD];
    uint64_t bad;
};

void mime_qp_init(struct mime_qp *st);
int mime_qp_decode(struct mime_qp *st, const void *in, size_t len, struct yb_buf *out);
int mime_qp_finish(struct mime_qp *st, struct yb_buf *out);

/* The encodings a part can have. */
enum mime_cte {
    MIME_CTE_7BIT, /* also 8bit, binary and unknown ones: identity */
    MIME_CTE_BASE64,
    MIME_CTE_QP
};

/* Maps a Content-Transfer-Encoding value (any case, with spaces) to enum mime_cte. */
enum mime_cte mime_cte_from_name(const void *name, size_t len);

/* One decoder for any encoding. */
struct mime_decoder {
    enum mime_cte cte;
    union {
        struct mime_b64 b64;
        struct mime_qp qp;
    } u;
};

void mime_decoder_init(struct mime_decoder *d, enum mime_cte cte);
int mime_decoder_feed(struct mime_decoder *d, const void *in, size_t len, struct yb_buf *out);
int mime_decoder_finish(struct mime_decoder *d, struct yb_buf *out);

#endif
