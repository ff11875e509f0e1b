/*
 * win32/pal_thread.c - threads and locks over the Vista+ primitives.
 *
 * Mutexes and read-write locks are SRWLOCKs, condition variables are
 * CONDITION_VARIABLEs: none needs a destructor or can fail to initialise,
 * and all-zero bytes are their initial state (SRWLOCK_INIT and
 * CONDITION_VARIABLE_INIT are both {0}). pal_once is an INIT_ONCE, whose
 * static initialiser is also all zeros, so PAL_ONCE_INIT works unchanged.
 */
#include "pal_thread.h"
#include "pal_time.h"
#include "pal_win32.h"

#include <process.h>
#include <stdlib.h>

_Static_assert(sizeof(SRWLOCK) <= sizeof(((pal_mutex *)0)->opaque), "SRWLOCK fits pal_mutex");
_Static_assert(_Alignof(SRWLOCK) <= 16, "SRWLOCK alignment");
_Static_assert(sizeof(SRWLOCK) <= sizeof(((pal_rwlock *)0)->opaque), "SRWLOCK fits pal_rwlock");
_Static_assert(sizeof(CONDITION_VARIABLE) <= sizeof(((pal_cond *)0)->opaque),
               "CONDITION_VARIABLE fits pal_cond");
_Static_assert(_Alignof(CONDITION_VARIABLE) <= 16, "CONDITION_VARIABLE alignment");
_Static_assert(sizeof(INIT_ONCE) <= sizeof(((pal_once *)0)->opaque), "INIT_ONCE fits pal_once");
_Static_assert(_Alignof(INIT_ONCE) <= 8, "INIT_ONCE alignment");

#define MUTEX(m)  ((SRWLOCK *)(void *)(m)->opaque)
#define RWLOCK(l) ((SRWLOCK *)(void *)(l)->opaque)
#define COND(c)   ((CONDITION_VARIABLE *)(void *)(c)->opaque)
#define ONCE(o)   ((INIT_ONCE *)(void *)(o)->opaque)

/* ---- threads ---- */

struct pal_thread {
    HANDLE handle;
    void (*fn)(void *arg);
    void *arg;
};

/*
 * _beginthreadex rather than CreateThread so the C runtime sets up its
 * per-thread state (errno, strtok buffers...) for the new thread.
 */
static unsigned __stdcall thread_main(void *p)
{
    struct pal_thread *t = p;
    t->fn(t->arg);
    return 0;
}

int pal_thread_start(struct pal_thread **thread_r, void (*fn)(void *arg), void *arg)
{
    struct pal_thread *t;
    uintptr_t h;

    if (thread_r == NULL || fn == NULL)
        return YB_EINVAL;
    *thread_r = NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return YB_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    h = _beginthreadex(NULL, 0, thread_main, t, 0, NULL);
    if (h == 0) {
        /*
         * The CRT reports only EAGAIN (no more threads) or EINVAL; both mean
         * the OS refused, which the contract calls YB_EAGAIN.
         */
        free(t);
        return YB_EAGAIN;
    }
    t->handle = (HANDLE)h;
    *thread_r = t;
    return 0;
}

int pal_thread_join(struct pal_thread **thread)
{
    struct pal_thread *t;
    int err = 0;

    if (thread == NULL || *thread == NULL)
        return YB_EINVAL;
    t = *thread;
    if (WaitForSingleObject(t->handle, INFINITE) == WAIT_FAILED)
        err = pal__err_last_win32();
    CloseHandle(t->handle);
    free(t);
    *thread = NULL;
    return err;
}

uint64_t pal_thread_id(void)
{
    return (uint64_t)GetCurrentThreadId();
}

unsigned pal_cpu_count(void)
{
    /* Counts every processor group, unlike GetSystemInfo (64 at most). */
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    if (n == 0) {
        SYSTEM_INFO si;
        GetSystemInfo(&si);
        n = si.dwNumberOfProcessors;
    }
    return n > 0 ? (unsigned)n : 1u;
}

/*
 * Sleep() may return up to one timer tick early when ms is below the clock
 * resolution; the contract is "at least ms", so sleep again for the rest.
 */
void pal_sleep_ms(unsigned ms)
{
    uint64_t end = pal_time_mono_ns() + (uint64_t)ms * 1000000u;
    uint64_t now;

    Sleep(ms);
    while ((now = pal_time_mono_ns()) < end) {
        uint64_t left = (end - now + 999999u) / 1000000u;
        Sleep(left > 0 ? (DWORD)left : 1);
    }
}

/* ---- mutex ---- */

int pal_mutex_init(pal_mutex *m)
{
    InitializeSRWLock(MUTEX(m));
    return 0;
}

/* SRW locks own no kernel object, so there is nothing to release. */
void pal_mutex_destroy(pal_mutex *m)
{
}

void pal_mutex_lock(pal_mutex *m)
{
    AcquireSRWLockExclusive(MUTEX(m));
}

void pal_mutex_unlock(pal_mutex *m)
{
    ReleaseSRWLockExclusive(MUTEX(m));
}

bool pal_mutex_trylock(pal_mutex *m)
{
    return TryAcquireSRWLockExclusive(MUTEX(m)) != 0;
}

/* ---- condition variable ---- */

int pal_cond_init(pal_cond *c)
{
    InitializeConditionVariable(COND(c));
    return 0;
}

void pal_cond_destroy(pal_cond *c)
{
}

void pal_cond_wait(pal_cond *c, pal_mutex *m)
{
    SleepConditionVariableSRW(COND(c), MUTEX(m), INFINITE, 0);
}

int pal_cond_timedwait(pal_cond *c, pal_mutex *m, unsigned timeout_ms)
{
    /* INFINITE is 0xFFFFFFFF: a finite wait must stay below it. */
    DWORD ms = timeout_ms >= INFINITE ? INFINITE - 1 : (DWORD)timeout_ms;

    if (SleepConditionVariableSRW(COND(c), MUTEX(m), ms, 0))
        return 0;
    return GetLastError() == ERROR_TIMEOUT ? YB_ETIMEDOUT : pal__err_last_win32();
}

void pal_cond_signal(pal_cond *c)
{
    WakeConditionVariable(COND(c));
}

void pal_cond_broadcast(pal_cond *c)
{
    WakeAllConditionVariable(COND(c));
}

/* ---- read-write lock ---- */

int pal_rwlock_init(pal_rwlock *l)
{
    InitializeSRWLock(RWLOCK(l));
    return 0;
}

void pal_rwlock_destroy(pal_rwlock *l)
{
}

void pal_rwlock_rdlock(pal_rwlock *l)
{
    AcquireSRWLockShared(RWLOCK(l));
}

void pal_rwlock_rdunlock(pal_rwlock *l)
{
    ReleaseSRWLockShared(RWLOCK(l));
}

void pal_rwlock_wrlock(pal_rwlock *l)
{
    AcquireSRWLockExclusive(RWLOCK(l));
}

void pal_rwlock_wrunlock(pal_rwlock *l)
{
    ReleaseSRWLockExclusive(RWLOCK(l));
}

/* ---- once ---- */

/* A function pointer may not travel through a void *; a struct pointer may. */
struct once_call {
    void (*fn)(void);
};

static BOOL CALLBACK once_trampoline(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    const struct once_call *call = param;
    call->fn();
    return TRUE;
}

void pal_once_run(pal_once *once, void (*fn)(void))
{
    struct once_call call = { fn };
    InitOnceExecuteOnce(ONCE(once), once_trampoline, &call, NULL);
}

/* ---- thread-specific storage ---- */

/*
 * FLS (not TLS) because only FLS runs a callback when a thread exits. The
 * callback is WINAPI and gets only the value, so each slot holds a small box
 * carrying the caller's destructor next to the value: that keeps the
 * caller's plain C destructor out of a function-pointer cast.
 */
struct tss_box {
    void (*destructor)(void *value);
    void *value;
};

/* One per key: the destructor every box of that key gets. */
struct tss_key {
    DWORD index;
    void (*destructor)(void *value);
};

static void WINAPI tss_box_free(PVOID p)
{
    struct tss_box *box = p;
    if (box == NULL)
        return;
    if (box->value != NULL && box->destructor != NULL)
        box->destructor(box->value);
    free(box);
}

int pal_tss_create(pal_tss *tss_r, void (*destructor)(void *value))
{
    struct tss_key *key;

    if (tss_r == NULL)
        return YB_EINVAL;
    key = calloc(1, sizeof(*key));
    if (key == NULL)
        return YB_ENOMEM;
    key->destructor = destructor;
    key->index = FlsAlloc(tss_box_free);
    if (key->index == FLS_OUT_OF_INDEXES) {
        free(key);
        return YB_EAGAIN;
    }
    tss_r->key = (uintptr_t)key;
    return 0;
}

/*
 * Note: FlsFree runs the callback for the calling thread's value (Windows
 * frees every fiber's slot); POSIX pthread_key_delete runs no destructor.
 * Delete a key only when no thread still uses it.
 */
void pal_tss_delete(pal_tss tss)
{
    struct tss_key *key = (struct tss_key *)tss.key;
    if (key == NULL)
        return;
    FlsFree(key->index);
    free(key);
}

void *pal_tss_get(pal_tss tss)
{
    const struct tss_key *key = (const struct tss_key *)tss.key;
    const struct tss_box *box;

    if (key == NULL)
        return NULL;
    box = FlsGetValue(key->index);
    return box != NULL ? box->value : NULL;
}

int pal_tss_set(pal_tss tss, void *value)
{
    const struct tss_key *key = (const struct tss_key *)tss.key;
    struct tss_box *box;

    if (key == NULL)
        return YB_EINVAL;
    box = FlsGetValue(key->index);
    if (box == NULL) {
        if (value == NULL)
            return 0;
        box = calloc(1, sizeof(*box));
        if (box == NULL)
            return YB_ENOMEM;
        box->destructor = key->destructor;
        if (!FlsSetValue(key->index, box)) {
            int err = pal__err_last_win32();
            free(box);
            return err;
        }
    }
    box->value = value;
    return 0;
}
