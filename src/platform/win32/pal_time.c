/*
 * win32/pal_time.c - clocks.
 *
 * The calendar and RFC 5322 functions are OS-free and live in
 * src/platform/pal_civil.c; only the clocks and the time zone are here.
 */
#include "pal_time.h"
#include "pal_win32.h"

/* 100 ns ticks from 1601-01-01 (FILETIME's epoch) to 1970-01-01. */
#define FILETIME_UNIX_EPOCH 116444736000000000LL
#define TICKS_PER_SEC       10000000LL

static LARGE_INTEGER qpc_freq;
static INIT_ONCE qpc_once = INIT_ONCE_STATIC_INIT;

typedef VOID(WINAPI *precise_time_fn)(LPFILETIME);
static precise_time_fn precise_time;

static BOOL CALLBACK clocks_init(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    HMODULE k32;

    /* Cannot fail on XP and later. */
    QueryPerformanceFrequency(&qpc_freq);
    /*
     * GetSystemTimePreciseAsFileTime (sub-microsecond) exists from Windows 8;
     * we target 7 too, so look it up and fall back to the tick-resolution
     * GetSystemTimeAsFileTime.
     */
    k32 = GetModuleHandleW(L"kernel32.dll");
    if (k32 != NULL) {
        FARPROC p = GetProcAddress(k32, "GetSystemTimePreciseAsFileTime");
        /* Through void (*)(void): the cast GCC accepts between function types. */
        precise_time = (precise_time_fn)(void (*)(void))p;
    }
    return TRUE;
}

static void clocks_ready(void)
{
    InitOnceExecuteOnce(&qpc_once, clocks_init, NULL, NULL);
}

uint64_t pal_time_mono_ns(void)
{
    LARGE_INTEGER c;
    uint64_t f, t;

    clocks_ready();
    QueryPerformanceCounter(&c);
    f = (uint64_t)qpc_freq.QuadPart;
    t = (uint64_t)c.QuadPart;
    /* Split so t * 1e9 cannot overflow for counters running for years. */
    return (t / f) * 1000000000u + (t % f) * 1000000000u / f;
}

uint64_t pal_time_mono_ms(void)
{
    return pal_time_mono_ns() / 1000000u;
}

int64_t pal__filetime_to_unix_ns(const FILETIME *ft)
{
    int64_t ticks = (int64_t)(((uint64_t)ft->dwHighDateTime << 32) | ft->dwLowDateTime);
    return (ticks - FILETIME_UNIX_EPOCH) * 100;
}

int64_t pal_time_now_ns(void)
{
    FILETIME ft;

    clocks_ready();
    if (precise_time != NULL)
        precise_time(&ft);
    else
        GetSystemTimeAsFileTime(&ft);
    return pal__filetime_to_unix_ns(&ft);
}

int64_t pal_time_now_ms(void)
{
    int64_t ns = pal_time_now_ns();
    /* Floor, so times before 1970 round the same way as after. */
    return ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000);
}

int64_t pal_time_now(void)
{
    int64_t ns = pal_time_now_ns();
    return ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
}

static void unix_to_filetime(int64_t t, FILETIME *ft)
{
    uint64_t ticks = (uint64_t)(t * TICKS_PER_SEC + FILETIME_UNIX_EPOCH);
    ft->dwLowDateTime = (DWORD)ticks;
    ft->dwHighDateTime = (DWORD)(ticks >> 32);
}

static int64_t filetime_ticks(const FILETIME *ft)
{
    return (int64_t)(((uint64_t)ft->dwHighDateTime << 32) | ft->dwLowDateTime);
}

/*
 * The offset is whatever SystemTimeToTzSpecificLocalTime makes of that UTC
 * instant: it applies the zone's rule for the instant's own year (standard
 * or daylight time), not the offset in force now. FILETIME covers 1601 to
 * 30827, so t is clamped into a safe part of that range first.
 */
int pal_time_local_offset_min(int64_t t)
{
    /* 1601-01-02 and 9999-12-31, in unix seconds. */
    const int64_t lo = -11644387200LL, hi = 253402214400LL;
    FILETIME ft_utc, ft_local;
    SYSTEMTIME st_utc, st_local;
    int64_t diff;

    if (t < lo)
        t = lo;
    if (t > hi)
        t = hi;
    unix_to_filetime(t, &ft_utc);
    if (!FileTimeToSystemTime(&ft_utc, &st_utc))
        return 0;
    if (!SystemTimeToTzSpecificLocalTime(NULL, &st_utc, &st_local))
        return 0;
    if (!SystemTimeToFileTime(&st_local, &ft_local))
        return 0;
    diff = filetime_ticks(&ft_local) - filetime_ticks(&ft_utc);
    /* Round to the nearest minute; zones are whole minutes. */
    diff /= TICKS_PER_SEC;
    return (int)(diff >= 0 ? (diff + 30) / 60 : -((-diff + 30) / 60));
}
