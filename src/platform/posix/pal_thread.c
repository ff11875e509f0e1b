/*
 * pal_thread.c - threads and synchronisation over pthreads.
 */
#include "pal_thread.h"
#include "pal_err.h"
#include "pal_posix.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(pal_mutex), "pal_mutex too small");
_Static_assert(sizeof(pthread_cond_t) <= sizeof(pal_cond), "pal_cond too small");
_Static_assert(sizeof(pthread_rwlock_t) <= sizeof(pal_rwlock), "pal_rwlock too small");
_Static_assert(sizeof(_Atomic int) <= sizeof(pal_once), "pal_once too small");
_Static_assert(sizeof(pthread_key_t) <= sizeof(uintptr_t), "pal_tss too small");

#define MTX(m) ((pthread_mutex_t *)(void *)(m)->opaque)
#define CND(c) ((pthread_cond_t *)(void *)(c)->opaque)
#define RWL(l) ((pthread_rwlock_t *)(void *)(l)->opaque)

struct pal_thread {
    pthread_t tid;
    void (*fn)(void *);
    void *arg;
};

static void *thread_main(void *p)
{
    struct pal_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

int pal_thread_start(struct pal_thread **thread_r, void (*fn)(void *arg), void *arg)
{
    struct pal_thread *t = malloc(sizeof(*t));
    if (t == NULL)
        return YB_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    int rc = pthread_create(&t->tid, NULL, thread_main, t);
    if (rc != 0) {
        free(t);
        return pal__err_from_errno(rc);
    }
    *thread_r = t;
    return 0;
}

int pal_thread_join(struct pal_thread **thread)
{
    if (*thread == NULL)
        return YB_EINVAL;
    int rc = pthread_join((*thread)->tid, NULL);
    if (rc != 0)
        return pal__err_from_errno(rc);
    free(*thread);
    *thread = NULL;
    return 0;
}

uint64_t pal_thread_id(void)
{
    static _Atomic uint64_t next_id = 1;
    static _Thread_local uint64_t my_id;
    if (my_id == 0)
        my_id = next_id++;
    return my_id;
}

unsigned pal_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

void pal_sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int pal_mutex_init(pal_mutex *m)
{
    int rc = pthread_mutex_init(MTX(m), NULL);
    return rc == 0 ? 0 : pal__err_from_errno(rc);
}

void pal_mutex_destroy(pal_mutex *m)
{
    pthread_mutex_destroy(MTX(m));
}

void pal_mutex_lock(pal_mutex *m)
{
    if (pthread_mutex_lock(MTX(m)) != 0)
        abort(); /* only on a corrupt or uninitialised mutex */
}

void pal_mutex_unlock(pal_mutex *m)
{
    pthread_mutex_unlock(MTX(m));
}

bool pal_mutex_trylock(pal_mutex *m)
{
    return pthread_mutex_trylock(MTX(m)) == 0;
}

int pal_cond_init(pal_cond *c)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0)
        return pal__err_from_errno(rc);
#if defined(CLOCK_MONOTONIC) && !defined(__APPLE__)
    /* Timed waits must not jump when the wall clock is set. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
#endif
    rc = pthread_cond_init(CND(c), &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? 0 : pal__err_from_errno(rc);
}

void pal_cond_destroy(pal_cond *c)
{
    pthread_cond_destroy(CND(c));
}

void pal_cond_wait(pal_cond *c, pal_mutex *m)
{
    pthread_cond_wait(CND(c), MTX(m));
}

int pal_cond_timedwait(pal_cond *c, pal_mutex *m, unsigned timeout_ms)
{
    struct timespec ts;
#if defined(CLOCK_MONOTONIC) && !defined(__APPLE__)
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    clock_gettime(CLOCK_REALTIME, &ts);
#endif
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc = pthread_cond_timedwait(CND(c), MTX(m), &ts);
    return rc == ETIMEDOUT ? YB_ETIMEDOUT : 0;
}

void pal_cond_signal(pal_cond *c)
{
    pthread_cond_signal(CND(c));
}

void pal_cond_broadcast(pal_cond *c)
{
    pthread_cond_broadcast(CND(c));
}

int pal_rwlock_init(pal_rwlock *l)
{
    int rc = pthread_rwlock_init(RWL(l), NULL);
    return rc == 0 ? 0 : pal__err_from_errno(rc);
}

void pal_rwlock_destroy(pal_rwlock *l)
{
    pthread_rwlock_destroy(RWL(l));
}

void pal_rwlock_rdlock(pal_rwlock *l)
{
    if (pthread_rwlock_rdlock(RWL(l)) != 0)
        abort();
}

void pal_rwlock_rdunlock(pal_rwlock *l)
{
    pthread_rwlock_unlock(RWL(l));
}

void pal_rwlock_wrlock(pal_rwlock *l)
{
    if (pthread_rwlock_wrlock(RWL(l)) != 0)
        abort();
}

void pal_rwlock_wrunlock(pal_rwlock *l)
{
    pthread_rwlock_unlock(RWL(l));
}

void pal_once_run(pal_once *once, void (*fn)(void))
{
    /*
     * A three-state flag rather than pthread_once: PTHREAD_ONCE_INIT is not
     * all-zero everywhere (macOS), and PAL_ONCE_INIT must be.
     */
    _Atomic int *st = (_Atomic int *)(void *)once->opaque;
    int expect = 0;
    if (atomic_load_explicit(st, memory_order_acquire) == 2)
        return;
    if (atomic_compare_exchange_strong(st, &expect, 1)) {
        fn();
        atomic_store_explicit(st, 2, memory_order_release);
        return;
    }
    while (atomic_load_explicit(st, memory_order_acquire) != 2)
        sched_yield();
}

int pal_tss_create(pal_tss *tss_r, void (*destructor)(void *value))
{
    pthread_key_t key;
    int rc = pthread_key_create(&key, destructor);
    if (rc != 0)
        return pal__err_from_errno(rc);
    tss_r->key = (uintptr_t)key;
    return 0;
}

void pal_tss_delete(pal_tss tss)
{
    pthread_key_delete((pthread_key_t)tss.key);
}

void *pal_tss_get(pal_tss tss)
{
    return pthread_getspecific((pthread_key_t)tss.key);
}

int pal_tss_set(pal_tss tss, void *value)
{
    int rc = pthread_setspecific((pthread_key_t)tss.key, value);
    return rc == 0 ? 0 : pal__err_from_errno(rc);
}
