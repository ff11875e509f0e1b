/*
 * yb_hash.h - FNV-1a, the one hash for in-memory tables (slots, buckets,
 * indexes). Never persisted except where a caller says so; not for
 * anything an attacker must not predict.
 */
#ifndef YB_HASH_H
#define YB_HASH_H

#include <stddef.h>
#include <stdint.h>

#define YB_HASH_INIT  2166136261u /* FNV-1a offset basis */
#define YB_HASH_PRIME 16777619u

/* Continues hash h over n bytes at p (start with YB_HASH_INIT). */
static inline uint32_t yb_hash_bytes(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * YB_HASH_PRIME;
    return h;
}

#endif
