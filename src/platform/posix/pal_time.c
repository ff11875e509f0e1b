/*
 * pal_time.c - clocks and the local UTC offset on POSIX.
 */
#include "pal_time.h"
#include "pal_err.h"

#include <time.h>

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t pal_time_mono_ns(void)
{
    return (uint64_t)clock_ns(CLOCK_MONOTONIC);
}

uint64_t pal_time_mono_ms(void)
{
    return pal_time_mono_ns() / 1000000u;
}

int64_t pal_time_now_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

int64_t pal_time_now_ms(void)
{
    int64_t ns = pal_time_now_ns();
    return ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000);
}

int64_t pal_time_now(void)
{
    return (int64_t)time(NULL);
}

int pal_time_local_offset_min(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm lt;
    if (localtime_r(&tt, &lt) == NULL)
        return 0;
    /* tm_gmtoff is in every libc we target (glibc, musl, the BSDs, macOS). */
    return (int)(lt.tm_gmtoff / 60);
}
