/*
 * pal_thread.h - threads, mutexes, condition variables, read-write locks,
 * one-time initialisation and thread-specific storage.
 *
 * The lock types are plain structs with opaque, suitably aligned storage so
 * they can be embedded in other structs without including an OS header; the
 * implementation checks at compile time that the OS object fits. None of the
 * lock functions can fail once init succeeded, so lock/unlock return void.
 *
 * Plain thread-local variables use C11 _Thread_local; pal_tss is for values
 * that need a destructor at thread exit.
 */
#ifndef YB_PAL_THREAD_H
#define YB_PAL_THREAD_H

#include <stdbool.h>
#include <stdint.h>

struct pal_thread;

typedef struct pal_mutex {
    _Alignas(16) unsigned char opaque[64];
} pal_mutex;

typedef struct pal_cond {
    _Alignas(16) unsigned char opaque[64];
} pal_cond;

typedef struct pal_rwlock {
    _Alignas(16) unsigned char opaque[64];
} pal_rwlock;

/* Zero-initialised storage is the initial state on both platforms. */
typedef struct pal_once {
    _Alignas(8) unsigned char opaque[8];
} pal_once;
#define PAL_ONCE_INIT \
    {                 \
        {             \
            0         \
        }             \
    }

/*
 * Starts a thread running fn(arg). *thread_r must later be joined. Returns
 * YB_ENOMEM or YB_EAGAIN when the OS refuses.
 */
int pal_thread_start(struct pal_thread **thread_r, void (*fn)(void *arg), void *arg);

/* Waits for *thread to finish, frees it and sets *thread to NULL. */
int pal_thread_join(struct pal_thread **thread);

/* A number identifying the calling thread, for logs. */
uint64_t pal_thread_id(void);

/* Number of online CPUs (at least 1). */
unsigned pal_cpu_count(void);

/* Sleeps at least ms milliseconds. */
void pal_sleep_ms(unsigned ms);

int pal_mutex_init(pal_mutex *m);
void pal_mutex_destroy(pal_mutex *m);
void pal_mutex_lock(pal_mutex *m);
void pal_mutex_unlock(pal_mutex *m);
/* Returns true when the lock was taken. */
bool pal_mutex_trylock(pal_mutex *m);

int pal_cond_init(pal_cond *c);
void pal_cond_destroy(pal_cond *c);
/* m must be held; it is held again on return. */
void pal_cond_wait(pal_cond *c, pal_mutex *m);
/* Returns 0 when signalled (or spuriously woken), YB_ETIMEDOUT after timeout_ms. */
int pal_cond_timedwait(pal_cond *c, pal_mutex *m, unsigned timeout_ms);
void pal_cond_signal(pal_cond *c);
void pal_cond_broadcast(pal_cond *c);

int pal_rwlock_init(pal_rwlock *l);
void pal_rwlock_destroy(pal_rwlock *l);
void pal_rwlock_rdlock(pal_rwlock *l);
void pal_rwlock_rdunlock(pal_rwlock *l);
void pal_rwlock_wrlock(pal_rwlock *l);
void pal_rwlock_wrunlock(pal_rwlock *l);

/* Runs fn exactly once for this pal_once, however many threads call it. */
void pal_once_run(pal_once *once, void (*fn)(void));

/* Thread-specific storage with a destructor run at thread exit (non-NULL values). */
typedef struct pal_tss {
    uintptr_t key;
} pal_tss;
int pal_tss_create(pal_tss *tss_r, void (*destructor)(void *value));
/* Deletes the key. Only when no thread holds a value: whether the destructor
 * runs for the caller's value differs between platforms. */
void pal_tss_delete(pal_tss tss);
void *pal_tss_get(pal_tss tss);
int pal_tss_set(pal_tss tss, void *value);

#endif
