/*
 * imap_date.c - RFC 3501 dates and date-times.
 */
#include "imap_date.h"
#include "pal_err.h"
#include "pal_time.h"

#include <stdbool.h>
#include <stdio.h>

static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static bool digits(const unsigned char *p, size_t n, unsigned *v_r)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *v_r = v;
    return true;
}

static bool real_date(unsigned year, unsigned month, unsigned day)
{
    static const unsigned char mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= mdays[month - 1] &&
           !(month == 2 && day == 29 && !leap);
}

/* "d-Mon-yyyy" at the start of t, day of width dw (1 or 2, a leading space allowed). */
static int date_part(struct yb_slice t, size_t dw, struct imap_date *d)
{
    unsigned day, year, m;
    const unsigned char *p = t.p;

    if (t.len < dw + 9 || p[dw] != '-' || p[dw + 4] != '-')
        return YB_EPARSE;
    if (dw == 2 && p[0] == ' ') {
        if (!digits(p + 1, 1, &day))
            return YB_EPARSE;
    } else if (!digits(p, dw, &day)) {
        return YB_EPARSE;
    }
    for (m = 0; m < 12; m++) {
        if (yb_slice_eq_cstr_nocase(yb_slice_make(p + dw + 1, 3), months[m]))
            break;
    }
    if (m == 12 || !digits(p + dw + 5, 4, &year) || !real_date(year, m + 1, day))
        return YB_EPARSE;
    d->year = (uint16_t)year;
    d->month = (uint8_t)(m + 1);
    d->day = (uint8_t)day;
    return 0;
}

int imap_date_parse(struct yb_slice t, struct imap_date *d)
{
    size_t dw = t.len == 10 ? 1 : 2;
    if ((t.len != 10 && t.len != 11) || t.p[0] == ' ')
        return YB_EPARSE;
    return date_part(t, dw, d);
}

int64_t imap_date_to_time(const struct imap_date *d)
{
    struct pal_civil c = { d->year, d->month, d->day, 0, 0, 0, 0 };
    return pal_time_from_civil(&c);
}

int imap_datetime_parse(struct yb_slice t, int64_t *t_r, int *zone_r)
{
    struct imap_date d;
    size_t dw = t.len == 25 ? 1 : 2, i;
    unsigned hh, mm, ss, zh, zm;
    struct pal_civil c;
    int zone;

    if (t.len != 25 && t.len != 26)
        return YB_EPARSE;
    if (date_part(t, dw, &d) < 0)
        return YB_EPARSE;
    i = dw + 9; /* " hh:mm:ss +zzzz" */
    if (t.p[i] != ' ' || t.p[i + 3] != ':' || t.p[i + 6] != ':' || t.p[i + 9] != ' ' ||
        (t.p[i + 10] != '+' && t.p[i + 10] != '-') || !digits(t.p + i + 1, 2, &hh) ||
        !digits(t.p + i + 4, 2, &mm) || !digits(t.p + i + 7, 2, &ss) ||
        !digits(t.p + i + 11, 2, &zh) || !digits(t.p + i + 13, 2, &zm))
        return YB_EPARSE;
    if (hh > 23 || mm > 59 || ss > 60 || zm > 59)
        return YB_EPARSE;
    zone = (int)(zh * 60 + zm) * (t.p[i + 10] == '-' ? -1 : 1);
    c = (struct pal_civil){ d.year, d.month, d.day, (int)hh, (int)mm, ss == 60 ? 59 : (int)ss, 0 };
    *t_r = pal_time_from_civil(&c) - (int64_t)zone * 60;
    *zone_r = zone;
    return 0;
}

int imap_datetime_format(int64_t t, int zone, char *buf, size_t size)
{
    struct pal_civil c;
    int n;

    if (zone < -(99 * 60 + 59) || zone > 99 * 60 + 59)
        return YB_EINVAL;
    pal_time_to_civil(t + (int64_t)zone * 60, &c);
    if (c.year < 1 || c.year > 9999)
        return YB_EINVAL;
    n = snprintf(buf, size, "%2d-%s-%04d %02d:%02d:%02d %c%02d%02d", c.day, months[c.month - 1],
                 (int)c.year, c.hour, c.min, c.sec, zone < 0 ? '-' : '+',
                 (zone < 0 ? -zone : zone) / 60, (zone < 0 ? -zone : zone) % 60);
    if (n < 0 || (size_t)n >= size)
        return YB_ERANGE;
    return 0;
}
