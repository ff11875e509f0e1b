/*
 * pal_civil.c - calendar arithmetic and RFC 5322 dates (platform-free).
 *
 * Days-from-civil conversion over the proleptic Gregorian calendar using
 * 400-year eras, valid for any 64-bit time a mail server will meet. Only the
 * local UTC offset needs the OS (pal_time_local_offset_min in posix/ win32/).
 */
#include "pal_time.h"
#include "pal_err.h"

#include <stdio.h>

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                                  /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void pal_time_to_civil(int64_t t, struct pal_civil *c)
{
    int64_t days = floor_div(t, 86400);
    int64_t secs = t - days * 86400;
    c->hour = (int)(secs / 3600);
    c->min = (int)(secs / 60 % 60);
    c->sec = (int)(secs % 60);
    /* 1970-01-01 was a Thursday (4). */
    int64_t wd = (days + 4) % 7;
    c->wday = (int)(wd < 0 ? wd + 7 : wd);

    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->year = yoe + era * 400 + (c->month <= 2);
}

int64_t pal_time_from_civil(const struct pal_civil *c)
{
    return days_from_civil(c->year, c->month, c->day) * 86400 + c->hour * 3600 + c->min * 60 +
           c->sec;
}

int pal_time_rfc5322(int64_t t, int offset_min, char *buf, size_t size)
{
    static const char wdays[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    if (offset_min < -(99 * 60 + 59) || offset_min > 99 * 60 + 59)
        return YB_EINVAL;
    struct pal_civil c;
    pal_time_to_civil(t + (int64_t)offset_min * 60, &c);
    if (c.year < 0 || c.year > 9999)
        return YB_EINVAL;
    int off = offset_min < 0 ? -offset_min : offset_min;
    int n = snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d %c%02d%02d", wdays[c.wday], c.day,
                     months[c.month - 1], (int)c.year, c.hour, c.min, c.sec,
                     offset_min < 0 ? '-' : '+', off / 60, off % 60);
    if (n < 0 || (size_t)n >= size)
        return YB_ERANGE;
    return 0;
}
