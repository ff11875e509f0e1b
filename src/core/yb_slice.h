/*
 * yb_slice.h - read-only byte views. Data that came off the wire or out of a
 * file is a slice (pointer + length), never a C string: it may hold NULs.
 */
#ifndef YB_SLICE_H
#define YB_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct yb_slice {
    const unsigned char *p;
    size_t len;
};

#define YB_SLICE_LIT(s) ((struct yb_slice){(const unsigned char *)(s), sizeof(s) - 1})

static inline struct yb_slice yb_slice_make(const void *p, size_t len)
{
    return (struct yb_slice){(const unsigned char *)p, len};
}

static inline struct yb_slice yb_slice_cstr(const char *s)
{
    return (struct yb_slice){(const unsigned char *)s, strlen(s)};
}

static inline bool yb_slice_eq(struct yb_slice a, struct yb_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ASCII case-insensitive equality (protocol keywords, domain names). */
bool yb_slice_eq_nocase(struct yb_slice a, struct yb_slice b);

/* True when s equals the C string lit, ASCII case-insensitively. */
bool yb_slice_eq_cstr_nocase(struct yb_slice s, const char *lit);

/* True when the slice contains a NUL byte. */
static inline bool yb_slice_has_nul(struct yb_slice s)
{
    return s.len > 0 && memchr(s.p, 0, s.len) != NULL;
}

#endif
