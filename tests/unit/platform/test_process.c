/*
 * test_process.c - process life-cycle events, process id, host name.
 *
 * No real signals are sent: the suite runs on Windows too. Events are raised
 * with pal_proc_request(), which the contract says behaves as if the OS sent
 * them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "pal_err.h"
#include "pal_process.h"
#include "pal_thread.h"
#include "pal_time.h"

#define WAIT_LIMIT_MS 5000
#define MAX_EVENTS    16

struct recorder {
    pal_mutex m;
    pal_cond c;
    unsigned events[MAX_EVENTS];
    uint64_t tids[MAX_EVENTS];
    void *args[MAX_EVENTS];
    int n;
};

static struct recorder g_rec;

static void on_event(void *arg, unsigned event)
{
    struct recorder *r = &g_rec;
    pal_mutex_lock(&r->m); /* the callback may lock: it is not a signal handler */
    if (r->n < MAX_EVENTS) {
        r->events[r->n] = event;
        r->tids[r->n] = pal_thread_id();
        r->args[r->n] = arg;
        r->n++;
    }
    pal_cond_broadcast(&r->c);
    pal_mutex_unlock(&r->m);
}

/* Waits (bounded) until at least n events were recorded; returns how many were. */
static int wait_events(int n)
{
    uint64_t deadline = pal_time_mono_ms() + WAIT_LIMIT_MS;
    pal_mutex_lock(&g_rec.m);
    while (g_rec.n < n) {
        uint64_t now = pal_time_mono_ms();
        if (now >= deadline)
            break;
        pal_cond_timedwait(&g_rec.c, &g_rec.m, (unsigned)(deadline - now));
    }
    int got = g_rec.n;
    pal_mutex_unlock(&g_rec.m);
    return got;
}

static int setup_rec(void **state)
{
    (void)state;
    memset(&g_rec, 0, sizeof g_rec);
    if (pal_mutex_init(&g_rec.m) != 0 || pal_cond_init(&g_rec.c) != 0)
        return -1;
    return 0;
}

static int teardown_rec(void **state)
{
    (void)state;
    pal_cond_destroy(&g_rec.c);
    pal_mutex_destroy(&g_rec.m);
    return 0;
}

static int g_cookie;

static void test_events_in_order(void **state)
{
    (void)state;
    assert_int_equal(pal_proc_events_start(on_event, &g_cookie), 0);

    assert_int_equal(pal_proc_request(PAL_PROC_RELOAD), 0);
    int got = wait_events(1);
    assert_int_equal(pal_proc_request(PAL_PROC_SHUTDOWN), 0);
    if (got >= 1)
        got = wait_events(2);
    pal_proc_events_stop();

    assert_int_equal(got, 2);
    assert_int_equal(g_rec.events[0], PAL_PROC_RELOAD);
    assert_int_equal(g_rec.events[1], PAL_PROC_SHUTDOWN);
    assert_ptr_equal(g_rec.args[0], &g_cookie);
    assert_ptr_equal(g_rec.args[1], &g_cookie);
    /* Delivered on the event thread, not on the caller's. */
    assert_true(g_rec.tids[0] != pal_thread_id());
    assert_true(g_rec.tids[1] != pal_thread_id());
}

/* Requests raised back to back (without waiting in between) all arrive, each
 * as the event that was raised; the first one still comes first. */
static void test_events_back_to_back(void **state)
{
    (void)state;
    assert_int_equal(pal_proc_events_start(on_event, NULL), 0);
    assert_int_equal(pal_proc_request(PAL_PROC_RELOAD), 0);
    assert_int_equal(pal_proc_request(PAL_PROC_SHUTDOWN), 0);
    /* Two pending requests of different kinds may be coalesced into one
     * callback with both bits; they must not be lost. */
    unsigned seen = 0;
    int n = 0;
    uint64_t deadline = pal_time_mono_ms() + WAIT_LIMIT_MS;
    while (seen != (PAL_PROC_RELOAD | PAL_PROC_SHUTDOWN) && pal_time_mono_ms() < deadline) {
        n = wait_events(n + 1);
        pal_mutex_lock(&g_rec.m);
        for (int i = 0; i < n && i < MAX_EVENTS; i++)
            seen |= g_rec.events[i];
        pal_mutex_unlock(&g_rec.m);
    }
    pal_proc_events_stop();
    assert_int_equal(seen, PAL_PROC_RELOAD | PAL_PROC_SHUTDOWN);
    assert_true(g_rec.n >= 1);
    assert_true((g_rec.events[0] & PAL_PROC_RELOAD) != 0);
    for (int i = 0; i < g_rec.n; i++)
        assert_null(g_rec.args[i]);
}

/* After stop, delivery can be started again (only one may be active at a time). */
static void test_events_restart(void **state)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        int before = g_rec.n;
        assert_int_equal(pal_proc_events_start(on_event, &g_cookie), 0);
        assert_int_equal(pal_proc_request(PAL_PROC_SHUTDOWN), 0);
        int got = wait_events(before + 1);
        pal_proc_events_stop();
        assert_int_equal(got, before + 1);
        assert_int_equal(g_rec.events[before], PAL_PROC_SHUTDOWN);
    }
}

/* Stop without any request returns promptly (the event thread is joined). */
static void test_events_stop_idle(void **state)
{
    (void)state;
    uint64_t t0 = pal_time_mono_ms();
    assert_int_equal(pal_proc_events_start(on_event, NULL), 0);
    pal_proc_events_stop();
    assert_true(pal_time_mono_ms() - t0 < WAIT_LIMIT_MS);
    assert_int_equal(g_rec.n, 0);
}

struct requester {
    unsigned event;
    int rc;
};

static void request_thread(void *arg)
{
    struct requester *q = arg;
    q->rc = pal_proc_request(q->event);
}

/* pal_proc_request is thread-safe: a request from another thread arrives. */
static void test_request_from_other_thread(void **state)
{
    (void)state;
    assert_int_equal(pal_proc_events_start(on_event, NULL), 0);
    struct requester q = { .event = PAL_PROC_RELOAD, .rc = -999 };
    struct pal_thread *t;
    assert_int_equal(pal_thread_start(&t, request_thread, &q), 0);
    assert_int_equal(pal_thread_join(&t), 0);
    int got = wait_events(1);
    pal_proc_events_stop();
    assert_int_equal(q.rc, 0);
    assert_int_equal(got, 1);
    assert_int_equal(g_rec.events[0], PAL_PROC_RELOAD);
}

static void test_proc_id(void **state)
{
    (void)state;
    uint64_t id = pal_proc_id();
    assert_true(id != 0);
    assert_true(id == pal_proc_id());
}

static void test_hostname(void **state)
{
    (void)state;
    char buf[256];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(pal_hostname(buf, sizeof buf), 0);
    const char *nul = memchr(buf, '\0', sizeof buf);
    assert_non_null(nul);
    size_t len = (size_t)(nul - buf);
    assert_true(len > 0);
    for (size_t i = 0; i < len; i++)
        assert_true((unsigned char)buf[i] > ' ' && (unsigned char)buf[i] != 0x7f);

    /* Exactly fitting works; one byte less is YB_ERANGE. */
    char exact[256];
    assert_int_equal(pal_hostname(exact, len + 1), 0);
    assert_string_equal(exact, buf);
    assert_int_equal(pal_hostname(exact, len), YB_ERANGE);
    char tiny[2];
    if (len >= 2)
        assert_int_equal(pal_hostname(tiny, sizeof tiny), YB_ERANGE);
    assert_int_equal(pal_hostname(tiny, 1), YB_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_events_in_order, setup_rec, teardown_rec),
        cmocka_unit_test_setup_teardown(test_events_back_to_back, setup_rec, teardown_rec),
        cmocka_unit_test_setup_teardown(test_events_restart, setup_rec, teardown_rec),
        cmocka_unit_test_setup_teardown(test_events_stop_idle, setup_rec, teardown_rec),
        cmocka_unit_test_setup_teardown(test_request_from_other_thread, setup_rec, teardown_rec),
        cmocka_unit_test(test_proc_id),
        cmocka_unit_test(test_hostname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
