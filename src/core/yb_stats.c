/*
 * yb_stats.c - process-wide counters.
 *
 * Service slots are claimed once, by name, with a compare-and-swap on the
 * slot's state, so counting never takes a lock.
 */
#include "yb_stats.h"
#include "pal.h"

#include <stdatomic.h>
#include <string.h>

enum { SLOT_FREE = 0, SLOT_CLAIMING = 1, SLOT_READY = 2 };

struct slot {
    atomic_int state;
    char name[32];
    atomic_uint_fast64_t connections, accepted;
};

static struct slot slots[YB_STATS_MAX_SERVICES];
static atomic_uint_fast64_t global[YB_STAT__GLOBAL_COUNT];
static atomic_llong started;

static const char *const global_names[YB_STAT__GLOBAL_COUNT] = { "delivered", "deferred",
                                                                 "bounced" };

static void note_start(void)
{
    long long zero = 0;
    atomic_compare_exchange_strong(&started, &zero, (long long)pal_time_now());
}

/* The slot of a service, claiming a free one the first time; the last slot is "other". */
static struct slot *slot_of(const char *service)
{
    const size_t last = YB_STATS_MAX_SERVICES - 1;
    note_start();
    for (size_t i = 0; i < last; i++) {
        struct slot *sl = &slots[i];
        int st = atomic_load(&sl->state);
        while (st == SLOT_CLAIMING) /* another thread is writing the name: a few instructions */
            st = atomic_load(&sl->state);
        if (st == SLOT_READY) {
            if (strcmp(sl->name, service) == 0)
                return sl;
            continue;
        }
        int expect = SLOT_FREE;
        if (atomic_compare_exchange_strong(&sl->state, &expect, SLOT_CLAIMING)) {
            size_t n = strlen(service);
            if (n >= sizeof(sl->name))
                n = sizeof(sl->name) - 1;
            memcpy(sl->name, service, n);
            sl->name[n] = '\0';
            atomic_store(&sl->state, SLOT_READY);
            return sl;
        }
        i--; /* lost the race for this slot: look at it again */
    }
    struct slot *other = &slots[last];
    int expect = SLOT_FREE;
    if (atomic_compare_exchange_strong(&other->state, &expect, SLOT_CLAIMING)) {
        memcpy(other->name, "other", 6);
        atomic_store(&other->state, SLOT_READY);
    }
    return other;
}

void yb_stats_start(void)
{
    note_start();
}

void yb_stats_connection(const char *service)
{
    atomic_fetch_add(&slot_of(service)->connections, 1);
}

void yb_stats_accepted(const char *service)
{
    atomic_fetch_add(&slot_of(service)->accepted, 1);
}

void yb_stats_add(enum yb_stat_global which)
{
    note_start();
    if ((unsigned)which < YB_STAT__GLOBAL_COUNT)
        atomic_fetch_add(&global[which], 1);
}

void yb_stats_read(struct yb_stats_snapshot *snap_r)
{
    memset(snap_r, 0, sizeof(*snap_r));
    note_start();
    snap_r->started = (int64_t)atomic_load(&started);
    for (size_t i = 0; i < YB_STATS_MAX_SERVICES; i++) {
        struct slot *sl = &slots[i];
        if (atomic_load(&sl->state) != SLOT_READY)
            continue;
        struct yb_stats_service *o = &snap_r->service[snap_r->nservices++];
        memcpy(o->name, sl->name, sizeof(o->name));
        o->connections = atomic_load(&sl->connections);
        o->accepted = atomic_load(&sl->accepted);
        snap_r->accepted += o->accepted;
    }
    for (size_t i = 0; i < YB_STAT__GLOBAL_COUNT; i++)
        snap_r->global[i] = atomic_load(&global[i]);
}

const char *yb_stats_global_name(enum yb_stat_global which)
{
    return (unsigned)which < YB_STAT__GLOBAL_COUNT ? global_names[which] : "?";
}
