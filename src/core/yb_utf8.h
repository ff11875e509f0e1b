/*
 * yb_utf8.h - UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF).
 */
#ifndef YB_UTF8_H
#define YB_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Returns true when p[0..len) is valid UTF-8. On false, *bad_r (if not NULL)
 * gets the offset of the first byte of the first invalid sequence.
 */
bool yb_utf8_valid(const void *p, size_t len, size_t *bad_r);

/*
 * Length in bytes of the valid UTF-8 sequence starting at p (1-4), or 0 if
 * p[0..avail) does not start with one. Returns 0 also when the sequence is
 * cut off by avail.
 */
size_t yb_utf8_seq_len(const unsigned char *p, size_t avail);

#endif
