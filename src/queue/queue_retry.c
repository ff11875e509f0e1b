/*
 * queue_retry.c - the retry schedule (see queue_retry.h).
 */
#include "queue_retry.h"
#include "pal_err.h"

#include <string.h>

#define DEFAULT_SCHEDULE "5m,10m,20m,40m,1h,2h,4h"

int yb_retry_parse(const char *text, struct yb_retry *r)
{
    const char *p = text;
    memset(r, 0, sizeof *r);
    if (text == NULL)
        return YB_EINVAL;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        int64_t v = 0;
        const char *start = p;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            if (v > YB_RETRY_MAX_WAIT)
                return YB_EINVAL;
            p++;
        }
        if (p == start)
            return YB_EINVAL;
        int64_t unit = 1;
        switch (*p) {
        case 's':
        case 'S': p++; break;
        case 'm':
        case 'M':
            unit = 60;
            p++;
            break;
        case 'h':
        case 'H':
            unit = 3600;
            p++;
            break;
        case 'd':
        case 'D':
            unit = 86400;
            p++;
            break;
        default: break;
        }
        v *= unit;
        if (v == 0 || v > YB_RETRY_MAX_WAIT)
            return YB_EINVAL;
        if (r->n == YB_RETRY_MAX_STEPS)
            return YB_ELIMIT;
        r->step[r->n++] = v;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return 0;
        if (*p != ',')
            return YB_EINVAL;
        p++;
    }
}

void yb_retry_default(struct yb_retry *r)
{
    (void)yb_retry_parse(DEFAULT_SCHEDULE, r);
}

bool yb_retry_next(const struct yb_retry *r, int64_t arrival, unsigned attempts, int64_t now,
                   int64_t max_age, int64_t *next_r)
{
    int64_t give_up = arrival + max_age;
    if (now >= give_up || r->n == 0)
        return false;
    unsigned k = attempts == 0 ? 0 : attempts - 1;
    if (k >= r->n)
        k = r->n - 1;
    int64_t next = now + r->step[k];
    *next_r = next < give_up ? next : give_up;
    return true;
}

bool yb_retry_warn_due(int64_t arrival, int64_t now, int64_t warn_after, bool warned)
{
    return warn_after > 0 && !warned && now - arrival >= warn_after;
}
