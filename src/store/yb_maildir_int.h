/*
 * yb_maildir_int.h - what yb_maildir.c and yb_maildir_quota.c share.
 */
#ifndef YB_MAILDIR_INT_H
#define YB_MAILDIR_INT_H

#include <stddef.h>
#include <stdint.h>

/* Writes v in decimal at buf (at most 20 bytes, no NUL); returns the length. */
size_t yb__maildir_fmt_u64(char *buf, uint64_t v);

#endif
