/*
 * imap_date.h - IMAP dates (RFC 3501 "date", for SEARCH) and date-times
 * ("date-time", for APPEND and INTERNALDATE).
 *
 * What it promises: strict readers that accept only real calendar dates (29
 * February in leap years only) and times, and a writer that gives the exact
 * form FETCH INTERNALDATE sends (" 1-Feb-1994 21:52:25 -0800", the day
 * space-padded). One lenience, because clients send it: a date-time whose
 * day is a single digit without the leading space. Times are Unix seconds
 * (UTC) plus the zone the client wrote, which INTERNALDATE gives back.
 */
#ifndef YB_IMAP_DATE_H
#define YB_IMAP_DATE_H

#include <stddef.h>
#include <stdint.h>
#include "yb_slice.h"

struct imap_date {
    uint16_t year;
    uint8_t month, day; /* 1-based */
};

/* "1-Feb-1994" / "01-Feb-1994". YB_EPARSE when it is not a real date. */
int imap_date_parse(struct yb_slice text, struct imap_date *d);

/* The Unix time of 00:00:00 UTC on d. */
int64_t imap_date_to_time(const struct imap_date *d);

/*
 * " 1-Feb-1994 21:52:25 -0800" (without the DQUOTEs) into Unix time *t_r and
 * the zone in minutes east of UTC *zone_r. YB_EPARSE for anything else.
 */
int imap_datetime_parse(struct yb_slice text, int64_t *t_r, int *zone_r);

/* Bytes imap_datetime_format writes, with the NUL. */
#define IMAP_DATETIME_MAX 27

/*
 * Writes t as seen in zone (minutes east of UTC, within +-99:59) in the
 * INTERNALDATE form. YB_ERANGE when buf is too small, YB_EINVAL for a zone
 * or a year outside 1..9999.
 */
int imap_datetime_format(int64_t t, int zone, char *buf, size_t size);

#endif
