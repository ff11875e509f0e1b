/*
 * yb_stats.h - process-wide counters for the CTRL "stats" command.
 *
 * Counters are lock-free atomics any thread may bump. Connections and
 * accepted messages are counted per service, where a service is the
 * server.tab variable of the listener ("SmtpListen", "CtrlsListen"); names
 * beyond YB_STATS_MAX_SERVICES share the last slot, "other". The queue's
 * counters (delivered, deferred, bounced) are process-wide.
 */
#ifndef YB_STATS_H
#define YB_STATS_H

#include <stddef.h>
#include <stdint.h>

#define YB_STATS_MAX_SERVICES 16

enum yb_stat_global { YB_STAT_DELIVERED, YB_STAT_DEFERRED, YB_STAT_BOUNCED, YB_STAT__GLOBAL_COUNT };

struct yb_stats_service {
    char name[32];
    uint64_t connections, accepted;
};

struct yb_stats_snapshot {
    int64_t started;  /* unix time the counters started */
    size_t nservices; /* services seen so far */
    struct yb_stats_service service[YB_STATS_MAX_SERVICES];
    uint64_t accepted; /* all services */
    uint64_t global[YB_STAT__GLOBAL_COUNT];
};

/* Starts the uptime clock (yubind at start-up; otherwise the first count does). */
void yb_stats_start(void);

/* A connection to service was accepted. */
void yb_stats_connection(const char *service);

/* A message was accepted (250 after the data) on service. */
void yb_stats_accepted(const char *service);

/* Adds one to a queue counter. */
void yb_stats_add(enum yb_stat_global which);

/* Copies the counters (each read atomically; the set is not one instant). */
void yb_stats_read(struct yb_stats_snapshot *snap_r);

/* "delivered", "deferred", "bounced". */
const char *yb_stats_global_name(enum yb_stat_global which);

#endif
