/*
 * mime_parse.h - the streaming MIME structure parser (RFC 2045, 2046, 5322),
 * below the protocols so that IMAP (BODYSTRUCTURE, BODY[n], BINARY, SEARCH),
 * and later filters and DKIM share one reading of a message.
 *
 * What it promises:
 * - It is fed a message in chunks of any size, split anywhere, and gives the
 *   same result however the message is cut. It never holds more than one
 *   part's header block (YB_MIME_LIMIT_HEADER) and a line-start window of
 *   YB_MIME_LIMIT_BOUNDARY bytes: bodies stream through.
 * - Callbacks (all optional) see each header field (raw, folded), the start
 *   of each part after its header, each leaf's body bytes (still
 *   transfer-encoded: mime_decode.h decodes them), and each part's end.
 * - It builds the part tree with what IMAP needs: for each part, the offsets
 *   and sizes of its header and body, the body's line count, its kind
 *   (leaf, multipart, message/rfc822) and the unfolded values of the fields
 *   BODYSTRUCTURE and ENVELOPE use. Offsets are those of the bytes fed.
 * - Broken mail is read the way mail clients read it: a multipart whose
 *   closing delimiter is missing ends where an enclosing boundary or the
 *   message ends (flag MIME_PF_NO_END); a boundary line inside a header
 *   block ends that part; a header not ended by a blank line ends at the end
 *   of the message; a boundary is recognised by its "--boundary" prefix.
 *   8-bit header bytes are kept as they are.
 * - Limits: nesting depth (multipart and message/rfc822 levels), part count,
 *   header block size, boundary length, and the total bytes of stored field
 *   values. Past a limit the parser goes on and the message is still read:
 *   deeper parts stay inside their parent's body, parts past the count stay
 *   in their multipart's own body, and MIME_MF_LIMITED says so.
 */
#ifndef YB_MIME_PARSE_H
#define YB_MIME_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "yb_buf.h"
#include "yb_slice.h"

#define YB_MIME_LIMIT_DEPTH    32            /* nested multipart / message levels */
#define YB_MIME_LIMIT_PARTS    1024          /* parts in one message, the root included */
#define YB_MIME_LIMIT_HEADER   (256 * 1024)  /* one header block */
#define YB_MIME_LIMIT_BOUNDARY 200           /* RFC 2046 says 70; mail in the wild goes further */
#define YB_MIME_LIMIT_FIELDS   (1024 * 1024) /* stored field values, all parts together */

struct mime_limits {
    unsigned depth, parts;
    size_t header, fields;
};
void mime_limits_default(struct mime_limits *l);

/* The fields kept per part (first occurrence). */
enum mime_field {
    MIME_F_CONTENT_TYPE,
    MIME_F_CTE,
    MIME_F_ID,
    MIME_F_DESCRIPTION,
    MIME_F_DISPOSITION,
    MIME_F_LANGUAGE,
    MIME_F_LOCATION,
    MIME_F_MD5,
    MIME_F_DATE,
    MIME_F_SUBJECT,
    MIME_F_FROM,
    MIME_F_SENDER,
    MIME_F_REPLY_TO,
    MIME_F_TO,
    MIME_F_CC,
    MIME_F_BCC,
    MIME_F_IN_REPLY_TO,
    MIME_F_MESSAGE_ID,
    MIME_F_COUNT
};

enum mime_kind { MIME_LEAF, MIME_MULTIPART, MIME_MESSAGE };

enum {
    MIME_PF_NO_END = 1u << 0,    /* a multipart without its closing delimiter */
    MIME_PF_HDR_TRUNC = 1u << 1, /* the header block passed the limit; fields past it are lost */
    MIME_PF_NO_BLANK = 1u << 2,  /* the header was not ended by a blank line */
    MIME_PF_DIGEST = 1u << 3,    /* multipart/digest: children default to message/rfc822 */
    MIME_PF_CLOSED = 1u << 4     /* a multipart whose closing delimiter was seen */
};

enum {
    MIME_MF_LIMITED = 1u << 0 /* a depth, part or field limit was reached */
};

#define MIME_NONE UINT32_MAX

struct mime_part {
    uint32_t parent, child, next; /* indexes; MIME_NONE when absent (the root has no parent) */
    uint32_t nchildren;
    uint16_t depth, flags;
    uint8_t kind;                 /* enum mime_kind */
    uint8_t cte;                  /* enum mime_cte */
    uint64_t hdr_off, hdr_size;   /* the header block, blank line included */
    uint64_t body_off, body_size; /* the body: for a part of a multipart, up to the CRLF
                                     that belongs to the next delimiter */
    uint64_t body_lines;          /* LFs in the body, plus one for a last line without one */
    uint64_t lfs_start;
    struct {
        uint32_t off, len; /* in the arena; off == MIME_NONE: absent */
    } f[MIME_F_COUNT];
    uint32_t bnd_off, bnd_len; /* a multipart's boundary */
};

struct mime_callbacks {
    void *ctx;
    /* Each header field as written (value after the colon, folding kept). */
    int (*header)(void *ctx, uint32_t part, struct yb_slice name, struct yb_slice value);
    int (*part_start)(void *ctx, uint32_t part);
    /* A leaf's body bytes, in order, still transfer-encoded. */
    int (*body)(void *ctx, uint32_t part, struct yb_slice data);
    int (*part_end)(void *ctx, uint32_t part);
};

struct mime_parser {
    struct mime_limits lim;
    struct mime_callbacks cb;
    struct mime_part *parts;
    uint32_t nparts, cap;
    unsigned flags; /* MIME_MF_* */
    struct yb_buf arena;
    uint32_t stack[YB_MIME_LIMIT_DEPTH + 2];
    unsigned sp; /* stack[0..sp) are open, stack[sp-1] is current */
    bool in_header, finished;
    int err;
    /* header state */
    struct yb_buf hdr;
    size_t hdr_line_start;
    bool hdr_line_stored;
    /* body state */
    unsigned char hold[2 + YB_MIME_LIMIT_BOUNDARY + 4];
    size_t nhold;
    unsigned eol;
    bool at_ls, cand, held_cr, tail;
    uint32_t tail_node;
    unsigned tail_k;
    unsigned char tail_b[2];
    uint64_t cand_pos, cand_lfs;
    bool cand_prev_nonempty;
    uint64_t cand_alive; /* stack slots whose boundary the candidate still matches */
    /* counters */
    uint64_t pos, lfs, line_start_pos, line_start_lfs, cur_line_len;
    bool last_cr, prev_nonempty;
    /* staged body output */
    unsigned char out[4096];
    size_t nout;
};

/* Starts a parse (lim NULL: defaults; cb NULL: none). No allocation yet. */
void mime_parser_init(struct mime_parser *p, const struct mime_limits *lim,
                      const struct mime_callbacks *cb);
/*
 * Feeds bytes. Returns 0, a callback's error (the parse stops: later calls
 * return it again), or YB_ENOMEM.
 */
int mime_parser_feed(struct mime_parser *p, const void *data, size_t len);
/* Ends the message: closes every open part. The tree is complete after it. */
int mime_parser_finish(struct mime_parser *p);
void mime_parser_free(struct mime_parser *p);

/* An empty part under parent (MIME_NONE for a root): no field, no child. */
void mime_part_init(struct mime_part *n, uint32_t parent);
/* Appends parts[idx] to the children of its parent (pre-order arrays). */
void mime_tree_link(struct mime_part *parts, uint32_t idx);

/* The part at index i (0 is the message), or NULL. */
const struct mime_part *mime_part_at(const struct mime_parser *p, uint32_t i);
/* A stored field's unfolded value, or a NULL slice (p == NULL) when absent. */
struct yb_slice mime_part_field(const struct mime_parser *p, const struct mime_part *part,
                                enum mime_field f);

/*
 * The part an IMAP section's numbers name (RFC 3501 6.4.5: "1.2.3"), or
 * MIME_NONE. n == 0 names the message itself. A message/rfc822 part's
 * numbers continue into the message it holds; a non-multipart message's
 * only part is "1".
 */
uint32_t mime_part_find(const struct mime_parser *p, const uint32_t *nums, size_t n);
/* The same over any part array (a cached tree, mime_struct.h). */
uint32_t mime_tree_find(const struct mime_part *parts, uint32_t nparts, const uint32_t *nums,
                        size_t n);

#endif
