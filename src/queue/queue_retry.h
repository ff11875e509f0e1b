/*
 * queue_retry.h - the retry schedule (server.tab QueueRetrySchedule,
 * QueueMaxAge, QueueDelayWarning).
 *
 * The schedule is a list of waits "5m,10m,1h": after the first failed
 * attempt the message waits the first, after the second the second, and
 * the last wait repeats. The last attempt happens at arrival + max age;
 * a recipient still deferred after it has failed.
 */
#ifndef YB_QUEUE_RETRY_H
#define YB_QUEUE_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/* Most waits in a schedule. */
#define YB_RETRY_MAX_STEPS 32
/* Longest single wait (30 days). */
#define YB_RETRY_MAX_WAIT (30 * 86400)

struct yb_retry {
    unsigned n;
    int64_t step[YB_RETRY_MAX_STEPS]; /* seconds */
};

/*
 * Parses "5m, 10m,1h" (durations: digits with an optional s, m, h or d).
 * Returns 0, YB_EINVAL (empty, a bad duration, 0 or over YB_RETRY_MAX_WAIT)
 * or YB_ELIMIT (more than YB_RETRY_MAX_STEPS).
 */
int yb_retry_parse(const char *text, struct yb_retry *r);

/* The built-in schedule (the server.tab default), for a bad setting. */
void yb_retry_default(struct yb_retry *r);

/*
 * After a failed attempt (attempts >= 1 made so far) at now: returns true
 * with *next_r the time of the next attempt (never after arrival +
 * max_age), or false when the message has reached its maximum age and the
 * deferred recipients fail.
 */
bool yb_retry_next(const struct yb_retry *r, int64_t arrival, unsigned attempts, int64_t now,
                   int64_t max_age, int64_t *next_r);

/* True when a delay warning is due: warn_after > 0, not yet warned, old enough. */
bool yb_retry_warn_due(int64_t arrival, int64_t now, int64_t warn_after, bool warned);

#endif
