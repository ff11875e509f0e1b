/*
 * test_thread.c - threads, mutexes, condition variables, rwlocks, once, tss.
 *
 * Worker threads never call cmocka asserts (a failed assert longjmps, which is
 * only valid on the main thread); they record what they saw and the main
 * thread checks it after joining.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "pal_err.h"
#include "pal_thread.h"
#include "pal_time.h"

/* Upper bound for any wait on another thread in this file. */
#define WAIT_LIMIT_MS 5000

/* ---- start / join ---- */

struct arg_box {
    int in;
    int out;
    uint64_t tid;
};

static void arg_thread(void *arg)
{
    struct arg_box *b = arg;
    b->out = b->in * 2 + 1;
    b->tid = pal_thread_id();
}

static void test_start_join_arg(void **state)
{
    (void)state;
    struct arg_box boxes[4];
    struct pal_thread *t[4];
    for (int i = 0; i < 4; i++) {
        boxes[i] = (struct arg_box){ .in = 100 + i, .out = -1 };
        assert_int_equal(pal_thread_start(&t[i], arg_thread, &boxes[i]), 0);
        assert_non_null(t[i]);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pal_thread_join(&t[i]), 0);
        assert_null(t[i]);
        assert_int_equal(boxes[i].out, 2 * (100 + i) + 1);
    }
}

static void test_thread_id_differs(void **state)
{
    (void)state;
    uint64_t me = pal_thread_id();
    assert_true(me == pal_thread_id()); /* stable within a thread */
    struct arg_box boxes[3] = { { 0 } };
    struct pal_thread *t[3];
    /* Run them concurrently so the OS cannot reuse one id for two of them. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(pal_thread_start(&t[i], arg_thread, &boxes[i]), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pal_thread_join(&t[i]), 0);
    for (int i = 0; i < 3; i++)
        assert_true(boxes[i].tid != me);
}

static void test_cpu_count(void **state)
{
    (void)state;
    unsigned n = pal_cpu_count();
    assert_true(n >= 1);
    assert_true(n < 1u << 16);
}

/* ---- mutex ---- */

struct counter {
    pal_mutex m;
    long value;
};

static void count_thread(void *arg)
{
    struct counter *c = arg;
    for (int i = 0; i < 100000; i++) {
        pal_mutex_lock(&c->m);
        c->value++;
        pal_mutex_unlock(&c->m);
    }
}

static void test_mutex_counter(void **state)
{
    (void)state;
    struct counter c = { .value = 0 };
    assert_int_equal(pal_mutex_init(&c.m), 0);
    struct pal_thread *t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pal_thread_start(&t[i], count_thread, &c), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pal_thread_join(&t[i]), 0);
    assert_int_equal(c.value, 400000);
    pal_mutex_destroy(&c.m);
}

struct try_box {
    pal_mutex *m;
    bool taken;
};

static void trylock_thread(void *arg)
{
    struct try_box *b = arg;
    b->taken = pal_mutex_trylock(b->m);
    if (b->taken)
        pal_mutex_unlock(b->m);
}

/* trylock from another thread: fails while held, succeeds once released. */
static void test_mutex_trylock(void **state)
{
    (void)state;
    pal_mutex m;
    assert_int_equal(pal_mutex_init(&m), 0);
    struct try_box b = { .m = &m, .taken = true };
    struct pal_thread *t;

    pal_mutex_lock(&m);
    assert_int_equal(pal_thread_start(&t, trylock_thread, &b), 0);
    assert_int_equal(pal_thread_join(&t), 0);
    assert_false(b.taken);
    pal_mutex_unlock(&m);

    b.taken = false;
    assert_int_equal(pal_thread_start(&t, trylock_thread, &b), 0);
    assert_int_equal(pal_thread_join(&t), 0);
    assert_true(b.taken);

    assert_true(pal_mutex_trylock(&m));
    pal_mutex_unlock(&m);
    pal_mutex_destroy(&m);
}

/* ---- condition variables ---- */

struct cv_box {
    pal_mutex m;
    pal_cond c;
    int go;        /* set by main, under m */
    int waiting;   /* waiters inside the wait loop */
    int woke;      /* waiters that saw go */
    int timed_out; /* waiters that gave up after WAIT_LIMIT_MS */
};

static void cv_waiter(void *arg)
{
    struct cv_box *b = arg;
    uint64_t deadline = pal_time_mono_ms() + WAIT_LIMIT_MS;
    pal_mutex_lock(&b->m);
    b->waiting++;
    pal_cond_broadcast(&b->c); /* tell main we are here (main waits on the same cv) */
    while (!b->go) {
        uint64_t now = pal_time_mono_ms();
        if (now >= deadline) {
            b->timed_out++;
            break;
        }
        pal_cond_timedwait(&b->c, &b->m, (unsigned)(deadline - now));
    }
    if (b->go) {
        b->woke++;
        b->go--; /* signal mode: consume one token (broadcast sets go high) */
    }
    pal_mutex_unlock(&b->m);
}

static void cv_run(int nwaiters, bool broadcast)
{
    struct cv_box b;
    memset(&b, 0, sizeof b);
    assert_int_equal(pal_mutex_init(&b.m), 0);
    assert_int_equal(pal_cond_init(&b.c), 0);
    struct pal_thread *t[4];
    for (int i = 0; i < nwaiters; i++)
        assert_int_equal(pal_thread_start(&t[i], cv_waiter, &b), 0);

    uint64_t deadline = pal_time_mono_ms() + WAIT_LIMIT_MS;
    pal_mutex_lock(&b.m);
    while (b.waiting < nwaiters && pal_time_mono_ms() < deadline)
        pal_cond_timedwait(&b.c, &b.m, 50);
    int waiting = b.waiting;
    if (broadcast) {
        b.go = nwaiters;
        pal_cond_broadcast(&b.c);
    } else {
        for (int i = 0; i < nwaiters; i++) {
            b.go++;
            pal_cond_signal(&b.c);
        }
    }
    pal_mutex_unlock(&b.m);

    for (int i = 0; i < nwaiters; i++)
        assert_int_equal(pal_thread_join(&t[i]), 0);
    assert_int_equal(waiting, nwaiters);
    assert_int_equal(b.woke, nwaiters);
    assert_int_equal(b.timed_out, 0);
    pal_cond_destroy(&b.c);
    pal_mutex_destroy(&b.m);
}

static void test_cond_signal(void **state)
{
    (void)state;
    cv_run(1, false);
    cv_run(3, false);
}

static void test_cond_broadcast(void **state)
{
    (void)state;
    cv_run(4, true);
}

static void test_cond_timedwait_timeout(void **state)
{
    (void)state;
    pal_mutex m;
    pal_cond c;
    assert_int_equal(pal_mutex_init(&m), 0);
    assert_int_equal(pal_cond_init(&c), 0);
    pal_mutex_lock(&m);
    int rc = 0;
    uint64_t t0 = pal_time_mono_ms();
    /* Spurious wake-ups are allowed: retry, bounded. */
    for (int i = 0; i < 20 && rc == 0; i++)
        rc = pal_cond_timedwait(&c, &m, 60);
    uint64_t el = pal_time_mono_ms() - t0;
    assert_int_equal(rc, YB_ETIMEDOUT);
    assert_true(el >= 50);
    assert_true(el < 5000);
    /* The mutex is held again on return: another thread cannot take it. */
    struct try_box b = { .m = &m, .taken = true };
    struct pal_thread *t;
    assert_int_equal(pal_thread_start(&t, trylock_thread, &b), 0);
    assert_int_equal(pal_thread_join(&t), 0);
    assert_false(b.taken);
    /* Zero timeout: returns promptly with a timeout. */
    t0 = pal_time_mono_ms();
    rc = pal_cond_timedwait(&c, &m, 0);
    assert_true(rc == YB_ETIMEDOUT || rc == 0);
    assert_true(pal_time_mono_ms() - t0 < 1000);
    pal_mutex_unlock(&m);
    pal_cond_destroy(&c);
    pal_mutex_destroy(&m);
}

/* ---- rwlock ---- */

struct rw_box {
    pal_rwlock l;
    atomic_int readers_in;  /* readers currently holding the lock */
    atomic_int writers_in;  /* writers currently holding the lock */
    atomic_int max_readers; /* most readers seen together */
    atomic_int violations;  /* a writer saw anyone else inside, or a reader saw a writer */
    atomic_int met;         /* readers that saw the others arrive */
    int nreaders;
};

static void rw_concurrent_reader(void *arg)
{
    struct rw_box *b = arg;
    pal_rwlock_rdlock(&b->l);
    atomic_fetch_add(&b->readers_in, 1); /* never decremented: counts arrivals */
    /* Wait (bounded) until every reader got the lock while we still hold it. */
    uint64_t deadline = pal_time_mono_ms() + 2000;
    while (atomic_load(&b->readers_in) < b->nreaders && pal_time_mono_ms() < deadline)
        pal_sleep_ms(1);
    if (atomic_load(&b->readers_in) == b->nreaders)
        atomic_fetch_add(&b->met, 1);
    pal_rwlock_rdunlock(&b->l);
}

static void test_rwlock_readers_concurrent(void **state)
{
    (void)state;
    struct rw_box b;
    memset(&b, 0, sizeof b);
    b.nreaders = 3;
    assert_int_equal(pal_rwlock_init(&b.l), 0);
    struct pal_thread *t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pal_thread_start(&t[i], rw_concurrent_reader, &b), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pal_thread_join(&t[i]), 0);
    assert_int_equal(atomic_load(&b.met), 3);
    pal_rwlock_destroy(&b.l);
}

static void rw_mixed_thread(void *arg)
{
    struct rw_box *b = arg;
    for (int i = 0; i < 2000; i++) {
        if (i % 4 == 0) {
            pal_rwlock_wrlock(&b->l);
            int w = atomic_fetch_add(&b->writers_in, 1);
            if (w != 0 || atomic_load(&b->readers_in) != 0)
                atomic_fetch_add(&b->violations, 1);
            atomic_fetch_sub(&b->writers_in, 1);
            pal_rwlock_wrunlock(&b->l);
        } else {
            pal_rwlock_rdlock(&b->l);
            int r = atomic_fetch_add(&b->readers_in, 1) + 1;
            int m = atomic_load(&b->max_readers);
            while (r > m && !atomic_compare_exchange_weak(&b->max_readers, &m, r))
                ;
            if (atomic_load(&b->writers_in) != 0)
                atomic_fetch_add(&b->violations, 1);
            atomic_fetch_sub(&b->readers_in, 1);
            pal_rwlock_rdunlock(&b->l);
        }
    }
}

static void test_rwlock_writer_exclusive(void **state)
{
    (void)state;
    struct rw_box b;
    memset(&b, 0, sizeof b);
    assert_int_equal(pal_rwlock_init(&b.l), 0);
    struct pal_thread *t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pal_thread_start(&t[i], rw_mixed_thread, &b), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pal_thread_join(&t[i]), 0);
    assert_int_equal(atomic_load(&b.violations), 0);
    pal_rwlock_destroy(&b.l);
}

struct rw_try {
    pal_rwlock *l;
    atomic_int stage; /* 1: wrlock taken by the thread */
};

static void rw_writer_blocks(void *arg)
{
    struct rw_try *r = arg;
    pal_rwlock_wrlock(r->l);
    atomic_store(&r->stage, 1);
    pal_rwlock_wrunlock(r->l);
}

/* A writer waits while a reader holds the lock, and gets it after release. */
static void test_rwlock_writer_waits_for_reader(void **state)
{
    (void)state;
    pal_rwlock l;
    assert_int_equal(pal_rwlock_init(&l), 0);
    struct rw_try r = { .l = &l };
    atomic_init(&r.stage, 0);
    pal_rwlock_rdlock(&l);
    struct pal_thread *t;
    assert_int_equal(pal_thread_start(&t, rw_writer_blocks, &r), 0);
    pal_sleep_ms(100);
    int during = atomic_load(&r.stage);
    pal_rwlock_rdunlock(&l);
    assert_int_equal(pal_thread_join(&t), 0);
    assert_int_equal(during, 0);
    assert_int_equal(atomic_load(&r.stage), 1);
    pal_rwlock_destroy(&l);
}

/* ---- once ---- */

static atomic_int g_once_calls;
static atomic_int g_once_done;
static pal_once g_once = PAL_ONCE_INIT;

static void once_fn(void)
{
    atomic_fetch_add(&g_once_calls, 1);
    pal_sleep_ms(20); /* give the others time to pile up behind it */
    atomic_store(&g_once_done, 1);
}

struct once_box {
    int saw_done; /* once_fn had finished when pal_once_run returned */
};

static void once_thread(void *arg)
{
    struct once_box *b = arg;
    pal_once_run(&g_once, once_fn);
    b->saw_done = atomic_load(&g_once_done);
}

static void test_once_eight_threads(void **state)
{
    (void)state;
    struct once_box boxes[8];
    struct pal_thread *t[8];
    memset(boxes, 0, sizeof boxes);
    for (int i = 0; i < 8; i++)
        assert_int_equal(pal_thread_start(&t[i], once_thread, &boxes[i]), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(pal_thread_join(&t[i]), 0);
    assert_int_equal(atomic_load(&g_once_calls), 1);
    for (int i = 0; i < 8; i++)
        assert_int_equal(boxes[i].saw_done, 1);
    pal_once_run(&g_once, once_fn);
    assert_int_equal(atomic_load(&g_once_calls), 1);
}

/* ---- thread-specific storage ---- */

static atomic_int g_tss_destroyed;
static atomic_int g_tss_destroyed_sum;

static void tss_dtor(void *value)
{
    atomic_fetch_add(&g_tss_destroyed, 1);
    atomic_fetch_add(&g_tss_destroyed_sum, *(int *)value);
}

struct tss_box {
    pal_tss key;
    int value;
    bool initially_null;
    bool set_ok;
    bool read_back;
    bool null_case; /* leave the value NULL: no destructor call expected */
};

static void tss_thread(void *arg)
{
    struct tss_box *b = arg;
    b->initially_null = pal_tss_get(b->key) == NULL;
    if (b->null_case) {
        b->set_ok = pal_tss_set(b->key, NULL) == 0;
        b->read_back = pal_tss_get(b->key) == NULL;
        return;
    }
    b->set_ok = pal_tss_set(b->key, &b->value) == 0;
    pal_sleep_ms(10); /* overlap with the other threads */
    b->read_back = pal_tss_get(b->key) == &b->value;
}

static void test_tss_per_thread_and_destructor(void **state)
{
    (void)state;
    pal_tss key;
    atomic_store(&g_tss_destroyed, 0);
    atomic_store(&g_tss_destroyed_sum, 0);
    assert_int_equal(pal_tss_create(&key, tss_dtor), 0);

    int main_value = 1000;
    assert_null(pal_tss_get(key));
    assert_int_equal(pal_tss_set(key, &main_value), 0);

    struct tss_box boxes[5];
    struct pal_thread *t[5];
    for (int i = 0; i < 5; i++) {
        boxes[i] = (struct tss_box){ .key = key, .value = 1 << i, .null_case = i == 4 };
        assert_int_equal(pal_thread_start(&t[i], tss_thread, &boxes[i]), 0);
    }
    for (int i = 0; i < 5; i++)
        assert_int_equal(pal_thread_join(&t[i]), 0);
    for (int i = 0; i < 5; i++) {
        assert_true(boxes[i].initially_null);
        assert_true(boxes[i].set_ok);
        assert_true(boxes[i].read_back);
    }
    /* Destructor ran once per exiting thread with a non-NULL value, with that value. */
    assert_int_equal(atomic_load(&g_tss_destroyed), 4);
    assert_int_equal(atomic_load(&g_tss_destroyed_sum), 1 + 2 + 4 + 8);
    /* The main thread's value is its own. */
    assert_ptr_equal(pal_tss_get(key), &main_value);
    assert_int_equal(pal_tss_set(key, NULL), 0);
    pal_tss_delete(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_join_arg),
        cmocka_unit_test(test_thread_id_differs),
        cmocka_unit_test(test_cpu_count),
        cmocka_unit_test(test_mutex_counter),
        cmocka_unit_test(test_mutex_trylock),
        cmocka_unit_test(test_cond_signal),
        cmocka_unit_test(test_cond_broadcast),
        cmocka_unit_test(test_cond_timedwait_timeout),
        cmocka_unit_test(test_rwlock_readers_concurrent),
        cmocka_unit_test(test_rwlock_writer_exclusive),
        cmocka_unit_test(test_rwlock_writer_waits_for_reader),
        cmocka_unit_test(test_once_eight_threads),
        cmocka_unit_test(test_tss_per_thread_and_destructor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
