/*
 * win32/pal_random.c - the system CSPRNG.
 *
 * BCryptGenRandom with BCRYPT_USE_SYSTEM_PREFERRED_RNG needs no algorithm
 * handle, so there is nothing to open or cache and it is safe from any
 * thread. pal_random_uniform is common (src/platform).
 */
#include "pal_random.h"
#include "pal_win32.h"

#include <bcrypt.h>

#ifndef BCRYPT_USE_SYSTEM_PREFERRED_RNG
#define BCRYPT_USE_SYSTEM_PREFERRED_RNG 0x00000002
#endif

int pal_random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;

    if (len > 0 && buf == NULL)
        return YB_EINVAL;
    while (len > 0) {
        /* The length is a ULONG: feed large requests in pieces. */
        ULONG n = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        NTSTATUS st = BCryptGenRandom(NULL, p, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
        if (!BCRYPT_SUCCESS(st))
            return YB_EIO;
        p += n;
        len -= n;
    }
    return 0;
}
