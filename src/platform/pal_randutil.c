/*
 * pal_randutil.c - helpers over pal_random_bytes (platform-free).
 */
#include "pal_random.h"
#include "pal_err.h"

int pal_random_uniform(uint32_t bound, uint32_t *value_r)
{
    if (bound == 0)
        return YB_EINVAL;
    /* Reject draws from the incomplete top range so every value is equally likely. */
    uint32_t limit = UINT32_MAX - (UINT32_MAX % bound);
    for (int tries = 0; tries < 64; tries++) {
        uint32_t v;
        int rc = pal_random_bytes(&v, sizeof(v));
        if (rc != 0)
            return rc;
        if (v < limit) {
            *value_r = v % bound;
            return 0;
        }
    }
    return YB_EIO; /* 64 rejections in a row: the generator is broken */
}
