/*
 * pal_random.h - random bytes from the operating system's CSPRNG
 * (getrandom/getentropy or /dev/urandom on POSIX, BCryptGenRandom on Windows).
 */
#ifndef YB_PAL_RANDOM_H
#define YB_PAL_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with len unpredictable bytes. Returns 0 or YB_EIO; never partial. */
int pal_random_bytes(void *buf, size_t len);

/* A uniformly distributed number in [0, bound) (bound > 0), without modulo bias. */
int pal_random_uniform(uint32_t bound, uint32_t *value_r);

#endif
