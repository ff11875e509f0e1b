/*
 * test_dirsync.c - group commit of directory syncs: concurrent callers for
 * one directory share syncs, every caller returns only after a sync that
 * began after its call, and a failed sync is reported to its caller while
 * the others still get a real one.
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
#include "pal_file.h"
#include "pal_thread.h"
#include "yb_dirsync.h"

#define THREADS   8
#define ROUNDS    20
#define SYNC_MS   5

static atomic_uint syncs_started, syncs_ok;
static atomic_uint fail_next; /* fail this many syncs with YB_EIO */
static atomic_uint in_sync;   /* syncs running at once (must stay <= 1 per directory) */
static atomic_uint overlap;
static atomic_uint last_ok_start; /* 1 + the start number of the newest successful sync */

static int slow_sync_dir(const char *path)
{
    (void)path;
    unsigned me = atomic_fetch_add(&syncs_started, 1);
    if (atomic_fetch_add(&in_sync, 1) != 0)
        atomic_fetch_add(&overlap, 1);
    pal_sleep_ms(SYNC_MS);
    atomic_fetch_sub(&in_sync, 1);
    unsigned f = atomic_load(&fail_next);
    if (f > 0 && atomic_compare_exchange_strong(&fail_next, &f, f - 1))
        return YB_EIO;
    atomic_fetch_add(&syncs_ok, 1);
    unsigned cur = atomic_load(&last_ok_start);
    while (cur < me + 1 && !atomic_compare_exchange_weak(&last_ok_start, &cur, me + 1))
        ;
    return 0;
}

static struct pal_fs_ops ops;

static int setup(void **state)
{
    (void)state;
    ops = *pal_fs_default_ops();
    ops.sync_dir = slow_sync_dir;
    pal_fs_set_ops(&ops);
    atomic_store(&syncs_started, 0);
    atomic_store(&syncs_ok, 0);
    atomic_store(&fail_next, 0);
    atomic_store(&overlap, 0);
    atomic_store(&last_ok_start, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pal_fs_set_ops(NULL);
    return 0;
}

struct worker {
    const char *dir;
    unsigned ok, failed;
    bool stale; /* returned before any sync started after its call */
};

static void worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        unsigned before = atomic_load(&syncs_started);
        int rc = yb_dirsync(w->dir);
        if (rc == 0) {
            w->ok++;
            /* A sync that started after our call began must have succeeded. */
            if (atomic_load(&last_ok_start) <= before)
                w->stale = true;
        } else {
            w->failed++;
        }
    }
}

static void run_threads(struct worker *w, const char *const *dirs, size_t ndirs)
{
    struct pal_thread *t[THREADS];
    for (size_t i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].dir = dirs[i % ndirs];
        assert_int_equal(pal_thread_start(&t[i], worker_main, &w[i]), 0);
    }
    for (size_t i = 0; i < THREADS; i++)
        assert_int_equal(pal_thread_join(&t[i]), 0);
}

static void test_single_caller_syncs_each_time(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(yb_dirsync("/x/one/new"), 0);
    assert_int_equal(atomic_load(&syncs_started), 5);
}

static void test_concurrent_callers_share_syncs(void **state)
{
    (void)state;
    struct worker w[THREADS];
    const char *dirs[] = { "/x/shared/new" };
    run_threads(w, dirs, 1);
    unsigned total = 0;
    for (size_t i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].failed, 0);
        assert_false(w[i].stale);
        total += w[i].ok;
    }
    assert_int_equal(total, THREADS * ROUNDS);
    unsigned started = atomic_load(&syncs_started);
    print_message("%u callers, %u directory syncs\n", total, started);
    assert_true(started < total);      /* shared */
    assert_int_equal(atomic_load(&overlap), 0); /* one at a time per directory */
}

static void test_failure_reaches_its_caller_only(void **state)
{
    (void)state;
    atomic_store(&fail_next, 3);
    struct worker w[THREADS];
    const char *dirs[] = { "/x/failing/new" };
    run_threads(w, dirs, 1);
    unsigned ok = 0, failed = 0;
    for (size_t i = 0; i < THREADS; i++) {
        ok += w[i].ok;
        failed += w[i].failed;
    }
    assert_int_equal(ok + failed, THREADS * ROUNDS);
    assert_int_equal(failed, 3); /* one caller per failed sync */
}

static void test_different_directories_are_independent(void **state)
{
    (void)state;
    struct worker w[THREADS];
    const char *dirs[] = { "/x/a/new", "/x/b/new" };
    run_threads(w, dirs, 2);
    for (size_t i = 0; i < THREADS; i++)
        assert_int_equal(w[i].ok, ROUNDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_caller_syncs_each_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_callers_share_syncs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_reaches_its_caller_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_different_directories_are_independent, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
