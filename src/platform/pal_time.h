/*
 * pal_time.h - clocks and RFC 5322 dates.
 */
#ifndef YB_PAL_TIME_H
#define YB_PAL_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in milliseconds / nanoseconds from an arbitrary origin. */
uint64_t pal_time_mono_ms(void);
uint64_t pal_time_mono_ns(void);

/* Wall clock: seconds / milliseconds / nanoseconds since the Unix epoch (UTC). */
int64_t pal_time_now(void);
int64_t pal_time_now_ms(void);
int64_t pal_time_now_ns(void);

/*
 * Local time zone offset east of UTC, in minutes, in force at unix time t
 * (includes daylight saving time).
 */
int pal_time_local_offset_min(int64_t t);

/* Longest RFC 5322 date pal_time_rfc5322 writes, with the NUL. */
#define PAL_RFC5322_DATE_MAX 40

/*
 * Formats unix time t as an RFC 5322 date-time ("Mon, 23 Nov 2026 14:08:28
 * +0100") using the given offset in minutes east of UTC. Returns YB_ERANGE if
 * buf is too small, YB_EINVAL for an offset beyond +-99:59.
 */
int pal_time_rfc5322(int64_t t, int offset_min, char *buf, size_t size);

/* Broken-down UTC (proleptic Gregorian) for t; month 1-12, wday 0 = Sunday. */
struct pal_civil {
    int64_t year;
    int month, day, hour, min, sec, wday;
};
void pal_time_to_civil(int64_t t, struct pal_civil *c_r);
/* Inverse of pal_time_to_civil (fields must be in range; wday is ignored). */
int64_t pal_time_from_civil(const struct pal_civil *c);

#endif
