/*
 * mime_struct.h - what IMAP FETCH sends about a message's structure, built
 * from a finished mime_parser: ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501
 * 7.4.2, RFC 9051 7.5.2), and a compact cache form of all three plus the
 * part table, so that a store can answer FETCH ENVELOPE/BODYSTRUCTURE and
 * locate BODY[1.2] without reading the message again.
 *
 * What it promises:
 * - Strings are written as IMAP quoted strings when every byte is printable
 *   ASCII, otherwise as literals ({n}CRLF...), so 8-bit headers travel
 *   exactly as they are; absent values are NIL.
 * - Addresses (RFC 5322 address lists with groups, route addresses, quoted
 *   local parts, comments) become IMAP address lists; a mailbox without a
 *   domain gets the host ".MISSING-HOST-NAME." as UW imapd and Dovecot send.
 *   Display names are sent as written (encoded words stay encoded: the
 *   client decodes them).
 * - Parameters from RFC 2231 sections are sent merged; one whose value is
 *   not ASCII is sent as name*="utf-8''%XX..." so clients can decode it.
 * - A multipart that has no part (all broken) is given one empty text/plain
 *   part, since IMAP's grammar requires one.
 *
 * Limits: the output buffer's maximum (YB_ELIMIT), YB_MIME_LIMIT_ADDRESSES
 * addresses per header field (more are dropped).
 */
#ifndef YB_MIME_STRUCT_H
#define YB_MIME_STRUCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mime_parse.h"
#include "yb_buf.h"

#define YB_MIME_LIMIT_ADDRESSES 1000

/* Appends s as an IMAP string (quoted or literal), or NIL when s.p is NULL. */
int mime_imap_nstring(struct yb_buf *out, struct yb_slice s);

/* Appends an address list header value as an IMAP address list, or NIL. */
int mime_imap_addresses(struct yb_buf *out, struct yb_slice value);

/* ENVELOPE of the message whose header is part idx (0, or a message/rfc822's child). */
int mime_envelope_write(const struct mime_parser *p, uint32_t idx, struct yb_buf *out);

/* BODYSTRUCTURE (extensible) or BODY (extensible false) of part idx (0: the message). */
int mime_body_write(const struct mime_parser *p, uint32_t idx, bool extensible, struct yb_buf *out);

/* ---- the cache form ---- */

/*
 * Serialises the part table, the ENVELOPE, the BODY and the BODYSTRUCTURE of
 * a finished parse into out (a versioned, little-endian, self-checking blob).
 */
int mime_cache_write(const struct mime_parser *p, struct yb_buf *out);

struct mime_cached {
    struct mime_part *parts; /* malloc'ed; child/next links rebuilt */
    uint32_t nparts;
    struct yb_slice envelope, body, bodystructure; /* views into the blob */
};

/*
 * Reads a blob written by mime_cache_write. Returns 0, YB_EPARSE for a blob
 * that is truncated, of another version or inconsistent (the caller then
 * parses the message again), YB_ENOMEM. The views point into blob.
 */
int mime_cache_read(const void *blob, size_t len, struct mime_cached *c);
void mime_cached_free(struct mime_cached *c);

#endif
