/*
 * mime_header.h - header field values: RFC 2047 encoded words decoded to
 * UTF-8, Content-Type / Content-Disposition with their parameters (RFC 2045,
 * RFC 2183) including RFC 2231 continuations and charsets.
 *
 * What it promises:
 * - mime_header_decode turns any header value into valid UTF-8: encoded
 *   words (B and Q, any charset the PAL converts, RFC 2231 "*lang" suffixes)
 *   are decoded; adjacent encoded words are joined (the whitespace between
 *   them dropped) and words in the same charset are converted together, so a
 *   character split across two words by a careless encoder survives. A word
 *   whose charset is unknown or whose bytes are invalid is kept as written.
 *   Raw 8-bit text that is valid UTF-8 is kept; other bytes become U+FFFD.
 * - mime_ctype_parse reads "type/subtype; name=value; ..." leniently (mail
 *   is often wrong): quoted or bare values, comments, RFC 2231 "name*0*=",
 *   "name*=charset'lang'%XX" merged and converted to UTF-8.
 *
 * Limits: YB_MIME_LIMIT_PARAMS parameters kept (more are ignored), at most
 * YB_MIME_LIMIT_PARAM_SECTIONS continuation sections per parameter, and the
 * output buffers' own maxima.
 */
#ifndef YB_MIME_HEADER_H
#define YB_MIME_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include "yb_buf.h"
#include "yb_slice.h"

#define YB_MIME_LIMIT_PARAMS         32
#define YB_MIME_LIMIT_PARAM_SECTIONS 64
#define YB_MIME_LIMIT_PARAM_VALUE    4096 /* bytes of one decoded parameter value */

/*
 * Appends the UTF-8 form of a header value (unfolded or not: CRLF + WSP is
 * taken as the WSP) to out. Returns 0, or YB_ELIMIT when out's maximum is
 * reached (out then holds a valid UTF-8 prefix), YB_ENOMEM.
 */
int mime_header_decode(struct yb_slice value, struct yb_buf *out);

/* Moves *i past whitespace, line ends and (nested) comments. */
void mime_skip_cfws(struct yb_slice v, size_t *i);

/* Appends value to out with each CRLF/LF that is followed by WSP removed. */
int mime_header_unfold(struct yb_slice value, struct yb_buf *out);

struct mime_param_ref {
    size_t name_off, name_len; /* the name without RFC 2231 stars, as written */
    size_t val_off, val_len;   /* the value, unquoted, merged, UTF-8 when it was extended */
    bool extended;             /* it came from RFC 2231 "name*" sections */
};

struct mime_ctype {
    struct yb_slice type, subtype; /* views into the parsed value; "" when absent */
    size_t nparams;
    struct mime_param_ref param[YB_MIME_LIMIT_PARAMS];
    struct yb_buf text; /* names and values */
};

/*
 * Parses a Content-Type value (with_subtype) or a Content-Disposition value
 * (a single token, into type). Never fails on bad syntax: what can be read
 * is kept. Returns 0 or YB_ENOMEM. Free with mime_ctype_free.
 */
int mime_ctype_parse(struct yb_slice value, bool with_subtype, struct mime_ctype *ct);
void mime_ctype_free(struct mime_ctype *ct);

/* The parameter's value (case-insensitive name), or a NULL slice when absent. */
struct yb_slice mime_ctype_param(const struct mime_ctype *ct, const char *name);
struct yb_slice mime_param_name(const struct mime_ctype *ct, size_t i);
struct yb_slice mime_param_value(const struct mime_ctype *ct, size_t i);

#endif
