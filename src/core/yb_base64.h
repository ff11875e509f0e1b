/*
 * yb_base64.h - base64 (RFC 4648 section 4), for SASL, stored passwords and
 * later MIME.
 */
#ifndef YB_BASE64_H
#define YB_BASE64_H

#include <stddef.h>

/* Bytes yb_base64_encode writes for len input bytes (with padding, without a NUL). */
#define YB_BASE64_ENCODED_LEN(len) ((((len) + 2) / 3) * 4)

enum {
    YB_B64_STRICT = 0,          /* padding required, nothing but the alphabet */
    YB_B64_SKIP_SPACE = 1u << 0 /* ignore CR, LF, SP and TAB between characters (MIME) */
};

/* The value (0..63) of a character of the standard alphabet, or -1. */
int yb_base64_value(unsigned char c);

/*
 * Encodes in[0..len) into out (outcap bytes; a NUL is added if there is
 * room). *outlen_r gets the encoded length. YB_ERANGE if out is too small.
 */
int yb_base64_encode(const void *in, size_t len, char *out, size_t outcap, size_t *outlen_r);

/*
 * Decodes text[0..len) into out. Returns YB_EPARSE for a character outside
 * the alphabet, wrong padding, a length that is not a multiple of 4 (after
 * skipped spaces), or non-zero bits in the last character's unused part;
 * YB_ERANGE if out is too small.
 */
int yb_base64_decode(const char *text, size_t len, unsigned flags, void *out, size_t outcap,
                     size_t *outlen_r);

#endif
