/*
 * pal_pollset.c - the poller front end (argument checks, backend choice)
 * and the registration set shared by the poll() and WSAPoll backends.
 * Platform-free: backends live in posix/ and win32/.
 */
#include "pal_poll.h"
#include "pal_internal.h"
#include "pal_err.h"

#include <stdlib.h>
#include <string.h>

#define PAL__HASH_EMPTY ((intptr_t)-1)
#define PAL__HASH_TOMB  ((intptr_t)-2)

/* ---- front end ---- */

int pal_poller_create(const char *backend, struct pal_poller **poller_r)
{
    const struct pal__poll_backend *b = pal__poll_backend_list[0];
    if (backend != NULL) {
        b = NULL;
        for (size_t i = 0; pal__poll_backend_list[i] != NULL; i++) {
            if (strcmp(pal__poll_backend_list[i]->name, backend) == 0)
                b = pal__poll_backend_list[i];
        }
        if (b == NULL)
            return YB_ENOTSUP;
    }
    struct pal_poller *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return YB_ENOMEM;
    p->backend = b;
    int rc = b->create(p);
    if (rc != 0) {
        free(p);
        return rc;
    }
    *poller_r = p;
    return 0;
}

void pal_poller_destroy(struct pal_poller **poller)
{
    if (*poller == NULL)
        return;
    (*poller)->backend->destroy(*poller);
    free(*poller);
    *poller = NULL;
}

const char *pal_poller_backend(const struct pal_poller *poller)
{
    return poller->backend->name;
}

const char *const *pal_poller_backends(void)
{
    static const char *names[8];
    if (names[0] == NULL) {
        size_t i;
        for (i = 0; i + 1 < 8 && pal__poll_backend_list[i] != NULL; i++)
            names[i] = pal__poll_backend_list[i]->name;
        names[i] = NULL;
    }
    return names;
}

static int events_valid(unsigned events)
{
    return (events & ~(unsigned)(PAL_POLL_IN | PAL_POLL_OUT)) == 0;
}

int pal_poller_add(struct pal_poller *poller, pal_sock sock, unsigned events, void *udata)
{
    if (!pal_sock_valid(sock) || !events_valid(events))
        return YB_EINVAL;
    return poller->backend->add(poller, sock, events, udata);
}

int pal_poller_mod(struct pal_poller *poller, pal_sock sock, unsigned events, void *udata)
{
    if (!pal_sock_valid(sock) || !events_valid(events))
        return YB_EINVAL;
    return poller->backend->mod(poller, sock, events, udata);
}

int pal_poller_del(struct pal_poller *poller, pal_sock sock)
{
    if (!pal_sock_valid(sock))
        return YB_EINVAL;
    return poller->backend->del(poller, sock);
}

int pal_poller_wait(struct pal_poller *poller, struct pal_poll_event *events, size_t max,
                    int timeout_ms, size_t *n_r)
{
    *n_r = 0;
    if (max == 0)
        return YB_EINVAL;
    return poller->backend->wait(poller, events, max, timeout_ms, n_r);
}

int pal_poller_wake(struct pal_poller *poller)
{
    return poller->backend->wake(poller);
}

/* ---- registration set ---- */

void pal__pollset_init(struct pal__pollset *set)
{
    memset(set, 0, sizeof(*set));
}

void pal__pollset_free(struct pal__pollset *set)
{
    free(set->handle);
    free(set->events);
    free(set->udata);
    free(set->hkey);
    free(set->hslot);
    memset(set, 0, sizeof(*set));
}

static size_t hash_handle(intptr_t h, size_t mask)
{
    /* Fibonacci hashing spreads both small fds and pointer-like SOCKETs. */
    uint64_t x = (uint64_t)h * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 32) & mask;
}

/* Returns the hash position holding h, or -1. */
static long hash_lookup(const struct pal__pollset *set, intptr_t h)
{
    if (set->hcap == 0)
        return -1;
    size_t mask = set->hcap - 1;
    for (size_t i = hash_handle(h, mask), n = 0; n < set->hcap; i = (i + 1) & mask, n++) {
        if (set->hkey[i] == PAL__HASH_EMPTY)
            return -1;
        if (set->hkey[i] == h)
            return (long)i;
    }
    return -1;
}

static void hash_insert(struct pal__pollset *set, intptr_t h, uint32_t slot)
{
    size_t mask = set->hcap - 1;
    size_t i = hash_handle(h, mask);
    while (set->hkey[i] != PAL__HASH_EMPTY && set->hkey[i] != PAL__HASH_TOMB)
        i = (i + 1) & mask;
    if (set->hkey[i] == PAL__HASH_EMPTY)
        set->hused++;
    set->hkey[i] = h;
    set->hslot[i] = slot;
}

/* Rebuilds the hash with room for at least need live entries at <= 50% load. */
static int hash_rebuild(struct pal__pollset *set, size_t need)
{
    size_t cap = 16;
    while (cap < need * 2)
        cap *= 2;
    intptr_t *keys = malloc(cap * sizeof(*keys));
    uint32_t *slots = malloc(cap * sizeof(*slots));
    if (keys == NULL || slots == NULL) {
        free(keys);
        free(slots);
        return YB_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++)
        keys[i] = PAL__HASH_EMPTY;
    free(set->hkey);
    free(set->hslot);
    set->hkey = keys;
    set->hslot = slots;
    set->hcap = cap;
    set->hused = 0;
    for (size_t s = 0; s < set->n; s++)
        hash_insert(set, set->handle[s], (uint32_t)s);
    return 0;
}

long pal__pollset_find(const struct pal__pollset *set, intptr_t h)
{
    long pos = hash_lookup(set, h);
    return pos < 0 ? -1 : (long)set->hslot[pos];
}

int pal__pollset_add(struct pal__pollset *set, intptr_t h, unsigned events, void *udata)
{
    if (hash_lookup(set, h) >= 0)
        return YB_EEXIST;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        if (cap > UINT32_MAX)
            return YB_ELIMIT;
        intptr_t *hd = realloc(set->handle, cap * sizeof(*hd));
        if (hd == NULL)
            return YB_ENOMEM;
        set->handle = hd;
        unsigned *ev = realloc(set->events, cap * sizeof(*ev));
        if (ev == NULL)
            return YB_ENOMEM;
        set->events = ev;
        void **ud = realloc(set->udata, cap * sizeof(*ud));
        if (ud == NULL)
            return YB_ENOMEM;
        set->udata = ud;
        set->cap = cap;
    }
    if ((set->hused + 1) * 2 > set->hcap) {
        int rc = hash_rebuild(set, set->n + 1);
        if (rc != 0)
            return rc;
    }
    size_t slot = set->n++;
    set->handle[slot] = h;
    set->events[slot] = events;
    set->udata[slot] = udata;
    hash_insert(set, h, (uint32_t)slot);
    return 0;
}

int pal__pollset_mod(struct pal__pollset *set, intptr_t h, unsigned events, void *udata)
{
    long pos = hash_lookup(set, h);
    if (pos < 0)
        return YB_ENOENT;
    uint32_t slot = set->hslot[pos];
    set->events[slot] = events;
    set->udata[slot] = udata;
    return 0;
}

int pal__pollset_del(struct pal__pollset *set, intptr_t h)
{
    long pos = hash_lookup(set, h);
    if (pos < 0)
        return YB_ENOENT;
    uint32_t slot = set->hslot[pos];
    set->hkey[pos] = PAL__HASH_TOMB;
    size_t last = set->n - 1;
    if (slot != last) {
        /* Move the last registration into the hole and repoint its hash entry. */
        set->handle[slot] = set->handle[last];
        set->events[slot] = set->events[last];
        set->udata[slot] = set->udata[last];
        long lpos = hash_lookup(set, set->handle[slot]);
        set->hslot[lpos] = slot;
    }
    set->n--;
    return 0;
}
