/*
 * test_poll.c - the readiness poller, run once per backend built into this
 * binary (pal_poller_backends(): epoll and poll on Linux, wsapoll on Windows).
 *
 * main() builds the test table at run time: every test below runs once per
 * backend, with the backend name as the cmocka state. Any wait that could
 * hang on a broken implementation has a rescue (a write from a helper thread)
 * or a bounded timeout, so failures are reported instead of hanging.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal_err.h"
#include "pal_poll.h"
#include "pal_random.h"
#include "pal_socket.h"
#include "pal_thread.h"
#include "pal_time.h"

#define WAIT_MS 3000
#define MAX_EV  64

static struct pal_poller *make_poller(void **state)
{
    const char *be = *state;
    struct pal_poller *p = NULL;
    assert_int_equal(pal_poller_create(be, &p), 0);
    assert_non_null(p);
    assert_string_equal(pal_poller_backend(p), be);
    return p;
}

static void make_pair(pal_sock p[2])
{
    assert_int_equal(pal_sock_pair(p), 0);
}

static void put(pal_sock s, const char *text)
{
    size_t n = 0;
    assert_int_equal(pal_sock_send(s, text, strlen(text), &n), 0);
    assert_int_equal(n, strlen(text));
}

/*
 * Waits (bounded) until a wait reports `want` among the events for udata;
 * returns that event's bits, or 0 if it never came.
 */
static unsigned wait_for(struct pal_poller *p, void *udata, unsigned want)
{
    uint64_t deadline = pal_time_mono_ms() + WAIT_MS;
    while (pal_time_mono_ms() < deadline) {
        struct pal_poll_event ev[MAX_EV];
        size_t n = 99;
        assert_int_equal(pal_poller_wait(p, ev, MAX_EV, 100, &n), 0);
        assert_true(n <= MAX_EV);
        for (size_t i = 0; i < n; i++)
            if (ev[i].udata == udata && (ev[i].events & want))
                return ev[i].events;
    }
    return 0;
}

/* One wait(timeout_ms): the event bits reported for udata (0 if none). */
static unsigned events_for(struct pal_poller *p, void *udata, int timeout_ms)
{
    struct pal_poll_event ev[MAX_EV];
    size_t n = 99;
    unsigned bits = 0;
    int hits = 0;
    assert_int_equal(pal_poller_wait(p, ev, MAX_EV, timeout_ms, &n), 0);
    assert_true(n <= MAX_EV);
    for (size_t i = 0; i < n; i++)
        if (ev[i].udata == udata) {
            bits |= ev[i].events;
            hits++;
        }
    assert_true(hits <= 1); /* never twice in one wait */
    return bits;
}

/* ---- creation ---- */

static void test_create_destroy(void **state)
{
    const char *be = *state;
    struct pal_poller *p = make_poller(state);
    pal_poller_destroy(&p);
    assert_null(p);
    const char *const *list = pal_poller_backends();
    bool listed = false;
    for (size_t i = 0; list[i] && i < 16; i++)
        listed |= strcmp(list[i], be) == 0;
    assert_true(listed);
    /* NULL picks the best, which is the first listed. */
    assert_int_equal(pal_poller_create(NULL, &p), 0);
    assert_string_equal(pal_poller_backend(p), list[0]);
    pal_poller_destroy(&p);
    assert_int_equal(pal_poller_create("no-such-backend", &p), YB_ENOTSUP);
}

/* ---- readiness ---- */

static void test_readable_after_write(void **state)
{
    struct pal_poller *p = make_poller(state);
    pal_sock s[2];
    int tag;
    make_pair(s);
    assert_int_equal(pal_poller_add(p, s[0], PAL_POLL_IN, &tag), 0);
    assert_int_equal(events_for(p, &tag, 0), 0); /* nothing yet */
    put(s[1], "hello");
    unsigned ev = wait_for(p, &tag, PAL_POLL_IN);
    assert_true(ev & PAL_POLL_IN);
    assert_false(ev & PAL_POLL_OUT); /* not asked for */
    assert_int_equal(pal_poller_del(p, s[0]), 0);
    pal_sock_close(&s[0]);
    pal_sock_close(&s[1]);
    pal_poller_destroy(&p);
}

static void test_writable_right_away(void **state)
{
    struct pal_poller *p = make_poller(state);
    pal_sock s[2];
    int tag;
    make_pair(s);
    assert_int_equal(pal_poller_add(p, s[0], PAL_POLL_OUT, &tag), 0);
    unsigned ev = events_for(p, &tag, WAIT_MS);
    assert_true(ev & PAL_POLL_OUT);
    assert_false(ev & PAL_POLL_IN);
    assert_int_equal(pal_poller_del(p, s[0]), 0);
    pal_sock_close(&s[0]);
    pal_sock_close(&s[1]);
    pal_poller_destroy(&p);
}

static void test_add_twice_mod_del_unknown(void **state)
{
    struct pal_poller *p = make_poller(state);
    pal_sock s[2];
    make_pair(s);
    assert_int_equal(pal_poller_add(p, s[0], PAL_POLL_IN, NULL), 0);
    assert_int_equal(pal_poller_add(p, s[0], PAL_POLL_OUT, NULL), YB_EEXIST);
    assert_int_equal(pal_poller_mod(p, s[1], PAL_POLL_IN, NULL), YB_ENOENT);
    assert_int_equal(pal_poller_del(p, s[1]), YB_ENOENT);
    assert_int_equal(pal_poller_del(p, s[0]), 0);
    assert_int_equal(pal_poller_del(p, s[0]), YB_ENOENT);
    assert_int_equal(pal_poller_mod(p, s[0], PAL_POLL_IN, NULL), YB_ENOENT);
    pal_sock_close(&s[0]);
    pal_sock_close(&s[1]);
    pal_poller_destroy(&p);
}

static void test_timeout(void **state)
{
    struct pal_poller *p = make_poller(state);
    pal_sock s[2];
    make_pair(s);
    assert_int_equal(pal_poller_add(p, s[0], PAL_POLL_IN, NULL), 0);
    struct pal_poll_event ev[4];
    size_t n = 99;
    uint64_t t0 = pal_time_mono_ms();
    assert_int_equal(pal_poller_wait(p, ev, 4, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_true(pal_time_mono_ms() - t0 < 1000);
    /* An interrupted wait may return early with 0 events: retry, bounded. */
    t0 = pal_time_mono_ms();
    uint64_t el = 0;
    for (int i = 0; i < 10 && el < 150; i++) {
        n = 99;
        assert_int_equal(pal_poller_wait(p, ev, 4, 200, &n), 0);
        assert_int_equal(n, 0);
        el = pal_time_mono_ms() - t0;
    }
    assert_true(el >= 150);
    assert_true(el < 3000);
    /* An empty poller times out too. */
    assert_int_equal(pal_poller_del(p, s[0]), 0);
    n = 99;
    assert_int_equal(pal_poller_wait(p, ev, 4, 20, &n), 0);
    assert_int_equal(n, 0);
    pal_sock_close(&s[0]);
    pal_sock_close(&s[1]);
    pal_poller_destroy(&p);
}

/* ---- wake-up ---- */

struct waker {
    struct pal_poller *p;
    pal_sock rescue;   /* written after WAIT_MS so a broken wake cannot hang the test */
    unsigned delay_ms; /* before the wake; UINT32_MAX: no wake at all */
    atomic_int done;   /* set by the main thread once its wait returned */
    int rc;
};

static void waker_thread(void *arg)
{
    struct waker *w = arg;
    if (w->delay_ms != UINT32_MAX) {
        pal_sleep_ms(w->delay_ms);
        w->rc = pal_poller_wake(w->p);
    }
    uint64_t deadline = pal_time_mono_ms() + WAIT_MS;
    while (!atomic_load(&w->done) && pal_time_mono_ms() < deadline)
        pal_sleep_ms(5);
    if (!atomic_load(&w->done)) {
        size_t n;
        (void)pal_sock_send(w->rescue, "!", 1, &n);
    }
}

/* One wait(-1) with a rescuer running; returns true if the rescue ended it. */
static bool wait_forever_once(struct pal_poller *p, struct waker *w, void *rescue_tag,
                              uint64_t *elapsed_r)
{
    struct pal_thread *t;
    assert_int_equal(pal_thread_start(&t, waker_thread, w), 0);
    struct pal_poll_event ev[4];
    size_t n = 99;
    uint64_t t0 = pal_time_mono_ms();
    int rc = pal_poller_wait(p, ev, 4, -1, &n);
    *elapsed_r = pal_time_mono_ms() - t0;
    atomic_store(&w->done, 1);
    assert_int_equal(pal_thread_join(&t), 0);
    assert_int_equal(rc, 0);
    bool rescued = false;
    for (size_t i = 0; i < n; i++)
        rescued |= ev[i].udata == rescue_tag;
    return rescued;
}

static void test_wake_from_thread(void **state)
{
    struct pal_poller *p = make_poller(state);
    pal_sock r[2];
    int rescue_tag;
    make_pair(r);
    assert_int_equal(pal_poller_add(p, r[0], PAL_POLL_IN, &rescue_tag), 0);
    struct waker w = { .p = p, .rescue = r[1], .delay_ms = 100, .rc = -999 };
    atomic_init(&w.done, 0);
    uint64_t el;
    bool rescued = wait_forever_once(p, &w, &rescue_tag, &el);
    assert_int_equal(w.rc, 0);
    if (rescued)
        fail_msg("pal_poller_wake did not unblock wait(-1)");
    assert_true(el < WAIT_MS);
    /* The wake was consumed: the next short wait times out normally. */
    assert_int_equal(events_for(p, &rescue_tag, 20), 0);
    assert_int_equal(pal_poller_del(p, r[0]), 0);
    pal_sock_close(&r[0]);
    pal_sock_close(&r[1]);
    pal_poller_destroy(&p);
}

/* A wake before the wait makes the next wait return. */
static void test_wake_before_wait(void **state)
{
    struct pal_poller *p = make_poller(state);
    pal_sock r[2];
    int rescue_tag;
    make_pair(r);
    assert_int_equal(pal_poller_add(p, r[0], PAL_POLL_IN, &rescue_tag), 0);
    assert_int_equal(pal_poller_wake(p), 0);
    assert_int_equal(pal_poller_wake(p), 0); /* twice: may coalesce */
    struct waker w = { .p = p, .rescue = r[1], .delay_ms = UINT32_MAX, .rc = 0 };
    atomic_init(&w.done, 0);
    uint64_t el;
    bool rescued = wait_forever_once(p, &w, &rescue_tag, &el);
    if (rescued || el >= WAIT_MS)
        fail_msg("a wake before pal_poller_wait did not make it return (%llu ms)",
                 (unsigned long long)el);
    assert_int_equal(pal_poller_del(p, r[0]), 0);
    pal_sock_close(&r[0]);
    pal_sock_close(&r[1]);
    pal_poller_destroy(&p);
}

/* ---- hang-up, udata, re-registration ---- */

static void test_peer_close_reported(void **state)
{
    struct pal_poller *p = make_poller(state);
    pal_sock s[2];
    int tag;
    make_pair(s);
    assert_int_equal(pal_poller_add(p, s[0], PAL_POLL_IN, &tag), 0);
    assert_int_equal(events_for(p, &tag, 0), 0);
    pal_sock_close(&s[1]);
    unsigned ev = wait_for(p, &tag, PAL_POLL_IN | PAL_POLL_HUP);
    assert_true(ev & (PAL_POLL_IN | PAL_POLL_HUP));
    char c;
    size_t n;
    assert_int_equal(pal_sock_recv(s[0], &c, 1, &n), YB_ECLOSED);
    assert_int_equal(pal_poller_del(p, s[0]), 0);
    pal_sock_close(&s[0]);
    pal_poller_destroy(&p);
}

static void test_udata_round_trip_and_mod(void **state)
{
    struct pal_poller *p = make_poller(state);
    pal_sock s[2];
    int a, b;
    make_pair(s);
    assert_int_equal(pal_poller_add(p, s[0], PAL_POLL_IN, &a), 0);
    put(s[1], "x");
    assert_true(wait_for(p, &a, PAL_POLL_IN) & PAL_POLL_IN);
    /* mod: new udata, now OUT only. */
    assert_int_equal(pal_poller_mod(p, s[0], PAL_POLL_OUT, &b), 0);
    struct pal_poll_event ev[MAX_EV];
    size_t n = 0;
    assert_int_equal(pal_poller_wait(p, ev, MAX_EV, WAIT_MS, &n), 0);
    assert_int_equal(n, 1);
    assert_ptr_equal(ev[0].udata, &b);
    assert_true(ev[0].events & PAL_POLL_OUT);
    assert_false(ev[0].events & PAL_POLL_IN);
    /* mod to 0: only ERR/HUP, so the pending byte is not reported. */
    assert_int_equal(pal_poller_mod(p, s[0], 0, &b), 0);
    assert_int_equal(events_for(p, &b, 50), 0);
    /* And back to IN with a NULL udata. */
    assert_int_equal(pal_poller_mod(p, s[0], PAL_POLL_IN, NULL), 0);
    n = 0;
    assert_int_equal(pal_poller_wait(p, ev, MAX_EV, WAIT_MS, &n), 0);
    assert_int_equal(n, 1);
    assert_null(ev[0].udata);
    assert_int_equal(pal_poller_del(p, s[0]), 0);
    pal_sock_close(&s[0]);
    pal_sock_close(&s[1]);
    pal_poller_destroy(&p);
}

static void test_del_then_readd(void **state)
{
    struct pal_poller *p = make_poller(state);
    pal_sock s[2];
    int tag, tag2;
    make_pair(s);
    assert_int_equal(pal_poller_add(p, s[0], PAL_POLL_IN, &tag), 0);
    assert_int_equal(pal_poller_del(p, s[0]), 0);
    put(s[1], "data");
    pal_sleep_ms(20);
    assert_int_equal(events_for(p, &tag, 50), 0); /* not registered */
    assert_int_equal(pal_poller_add(p, s[0], PAL_POLL_IN, &tag2), 0);
    assert_true(wait_for(p, &tag2, PAL_POLL_IN) & PAL_POLL_IN);
    assert_int_equal(events_for(p, &tag, 0), 0); /* the old udata is gone */
    assert_int_equal(pal_poller_del(p, s[0]), 0);
    pal_sock_close(&s[0]);
    pal_sock_close(&s[1]);
    pal_poller_destroy(&p);
}

static void test_level_triggered(void **state)
{
    struct pal_poller *p = make_poller(state);
    pal_sock s[2];
    int tag;
    make_pair(s);
    assert_int_equal(pal_poller_add(p, s[0], PAL_POLL_IN, &tag), 0);
    put(s[1], "ab");
    assert_true(wait_for(p, &tag, PAL_POLL_IN) & PAL_POLL_IN);
    assert_true(events_for(p, &tag, WAIT_MS) & PAL_POLL_IN); /* unread: again */
    char c;
    size_t n;
    assert_int_equal(pal_sock_recv(s[0], &c, 1, &n), 0);
    assert_true(events_for(p, &tag, WAIT_MS) & PAL_POLL_IN); /* one byte left */
    assert_int_equal(pal_sock_recv(s[0], &c, 1, &n), 0);
    assert_int_equal(c, 'b');
    assert_int_equal(events_for(p, &tag, 50), 0);
    assert_int_equal(pal_poller_del(p, s[0]), 0);
    pal_sock_close(&s[0]);
    pal_sock_close(&s[1]);
    pal_poller_destroy(&p);
}

static void test_listener_readable(void **state)
{
    struct pal_poller *p = make_poller(state);
    struct pal_addr a, bound;
    pal_sock ls, c = PAL_SOCK_INVALID, s;
    int ltag, ctag;
    assert_int_equal(pal_addr_parse("127.0.0.1:0", &a), 0);
    assert_int_equal(pal_tcp_listen(&a, 8, &ls), 0);
    assert_int_equal(pal_sock_local_addr(ls, &bound), 0);
    assert_int_equal(pal_poller_add(p, ls, PAL_POLL_IN, &ltag), 0);
    assert_int_equal(events_for(p, &ltag, 0), 0);
    /* A non-blocking connect reports OUT when it completes. */
    int rc = pal_tcp_connect(&bound, &c);
    assert_true(rc == 0 || rc == YB_EINPROGRESS);
    assert_int_equal(pal_poller_add(p, c, PAL_POLL_OUT, &ctag), 0);
    assert_true(wait_for(p, &ltag, PAL_POLL_IN) & PAL_POLL_IN);
    assert_true(wait_for(p, &ctag, PAL_POLL_OUT) & PAL_POLL_OUT);
    assert_int_equal(pal_sock_connect_result(c), 0);
    assert_int_equal(pal_tcp_accept(ls, &s, NULL), 0);
    assert_int_equal(events_for(p, &ltag, 50), 0); /* nothing more pending */
    assert_int_equal(pal_poller_del(p, ls), 0);
    assert_int_equal(pal_poller_del(p, c), 0);
    pal_sock_close(&s);
    pal_sock_close(&c);
    pal_sock_close(&ls);
    pal_poller_destroy(&p);
}

/* ---- many sockets ---- */

#define NPAIRS 500

struct slot {
    pal_sock s[2];
    bool ready;
    int seen;
};

/* One wait; checks every reported event is a ready slot, seen at most once. */
static size_t collect(struct pal_poller *p, struct slot *slots, size_t max, int timeout_ms)
{
    static struct pal_poll_event ev[NPAIRS + 8];
    for (size_t i = 0; i < NPAIRS; i++)
        slots[i].seen = 0;
    size_t n = 0;
    assert_int_equal(pal_poller_wait(p, ev, max, timeout_ms, &n), 0);
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++) {
        struct slot *sl = ev[i].udata;
        assert_true(sl >= slots && sl < slots + NPAIRS);
        if (!sl->ready)
            fail_msg("pair %d reported but nothing was written to it", (int)(sl - slots));
        assert_true(ev[i].events & PAL_POLL_IN);
        if (++sl->seen != 1)
            fail_msg("pair %d reported twice in one wait", (int)(sl - slots));
    }
    return n;
}

static void test_many_sockets(void **state)
{
    struct pal_poller *p = make_poller(state);
    struct slot *slots = calloc(NPAIRS, sizeof *slots);
    assert_non_null(slots);
    for (size_t i = 0; i < NPAIRS; i++) {
        make_pair(slots[i].s);
        assert_int_equal(pal_poller_add(p, slots[i].s[0], PAL_POLL_IN, &slots[i]), 0);
    }
    size_t nready = 0;
    for (size_t i = 0; i < NPAIRS; i++) {
        uint32_t r;
        assert_int_equal(pal_random_uniform(3, &r), 0);
        if (r == 0 || i == NPAIRS - 1) {
            slots[i].ready = true;
            nready++;
            put(slots[i].s[1], "m");
        }
    }
    /* Bytes on loopback may take a moment to show up: wait until all are. */
    size_t n = 0;
    uint64_t deadline = pal_time_mono_ms() + WAIT_MS;
    while ((n = collect(p, slots, NPAIRS + 8, 100)) < nready && pal_time_mono_ms() < deadline)
        pal_sleep_ms(10);
    assert_int_equal(n, nready);
    for (size_t i = 0; i < NPAIRS; i++)
        assert_int_equal(slots[i].seen, slots[i].ready ? 1 : 0);
    /* Level-triggered: the next wait reports the same set, exactly once each. */
    assert_int_equal(collect(p, slots, NPAIRS + 8, WAIT_MS), nready);
    /* A small max returns at most max events, each distinct. */
    assert_int_equal(collect(p, slots, 7, WAIT_MS), nready < 7 ? nready : 7);
    /* Drain half of them; only the rest stay ready. */
    size_t left = nready;
    for (size_t i = 0; i < NPAIRS; i++) {
        if (slots[i].ready && i % 2 == 0) {
            char c;
            size_t got;
            assert_int_equal(pal_sock_recv(slots[i].s[0], &c, 1, &got), 0);
            slots[i].ready = false;
            left--;
        }
    }
    assert_int_equal(collect(p, slots, NPAIRS + 8, WAIT_MS), left);
    for (size_t i = 0; i < NPAIRS; i++) {
        assert_int_equal(pal_poller_del(p, slots[i].s[0]), 0);
        pal_sock_close(&slots[i].s[0]);
        pal_sock_close(&slots[i].s[1]);
    }
    n = 99;
    struct pal_poll_event ev[4];
    assert_int_equal(pal_poller_wait(p, ev, 4, 0, &n), 0);
    assert_int_equal(n, 0);
    free(slots);
    pal_poller_destroy(&p);
}

/* ---- the per-backend table ---- */

static const struct {
    const char *name;
    CMUnitTestFunction fn;
} k_tests[] = {
    { "create_destroy", test_create_destroy },
    { "readable_after_write", test_readable_after_write },
    { "writable_right_away", test_writable_right_away },
    { "add_twice_mod_del_unknown", test_add_twice_mod_del_unknown },
    { "timeout", test_timeout },
    { "wake_from_thread", test_wake_from_thread },
    { "wake_before_wait", test_wake_before_wait },
    { "peer_close_reported", test_peer_close_reported },
    { "udata_round_trip_and_mod", test_udata_round_trip_and_mod },
    { "del_then_readd", test_del_then_readd },
    { "level_triggered", test_level_triggered },
    { "listener_readable", test_listener_readable },
    { "many_sockets", test_many_sockets },
};
#define N_TESTS      (sizeof k_tests / sizeof k_tests[0])
#define MAX_BACKENDS 4

int main(void)
{
    static struct CMUnitTest tests[N_TESTS * MAX_BACKENDS];
    static char names[N_TESTS * MAX_BACKENDS][64];
    if (pal_net_init() != 0) {
        fprintf(stderr, "pal_net_init failed\n");
        return 1;
    }
    const char *const *list = pal_poller_backends();
    size_t nt = 0, nb = 0;
    for (; list && list[nb] && nb < MAX_BACKENDS; nb++) {
        for (size_t i = 0; i < N_TESTS; i++) {
            int len = snprintf(names[nt], sizeof names[nt], "%s[%s]", k_tests[i].name, list[nb]);
            if (len < 0 || (size_t)len >= sizeof names[nt])
                return 1;
            tests[nt] = (struct CMUnitTest){ .name = names[nt],
                                             .test_func = k_tests[i].fn,
                                             .initial_state = (void *)list[nb] };
            nt++;
        }
    }
    if (nb == 0) {
        fprintf(stderr, "pal_poller_backends() lists no backend\n");
        return 1;
    }
    return _cmocka_run_group_tests("poll", tests, nt, NULL, NULL);
}
