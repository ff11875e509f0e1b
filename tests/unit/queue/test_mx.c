/*
 * test_mx.c - MX ordering (preference, randomisation among equal
 * preferences) and address literals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pal.h"
#include "queue_mx.h"

static void set(struct yb_mx_host *h, const char *name, uint16_t pref)
{
    snprintf(h->name, sizeof h->name, "%s", name);
    h->pref = pref;
}

/* Always the first candidate: a fixed order, for the sort alone. */
static uint32_t rnd_zero(void *arg, uint32_t bound)
{
    (void)arg;
    (void)bound;
    return 0;
}

/* Replays a fixed sequence. */
struct seq {
    const uint32_t *v;
    size_t n, i;
};

static uint32_t rnd_seq(void *arg, uint32_t bound)
{
    struct seq *s = arg;
    uint32_t v = s->v[s->i++ % s->n];
    assert_true(v < bound);
    return v;
}

static void test_sorted_by_preference(void **state)
{
    (void)state;
    struct yb_mx_host h[5];
    set(&h[0], "c", 30);
    set(&h[1], "a", 10);
    set(&h[2], "e", 50);
    set(&h[3], "b", 20);
    set(&h[4], "d", 40);
    yb_mx_order(h, 5, rnd_zero, NULL);
    const char *want = "abcde";
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(h[i].name[0], want[i]);
        assert_int_equal(h[i].pref, (i + 1) * 10);
    }
}

static void test_empty_and_single(void **state)
{
    (void)state;
    struct yb_mx_host h[1];
    yb_mx_order(h, 0, NULL, NULL);
    set(&h[0], "only", 7);
    yb_mx_order(h, 1, NULL, NULL);
    assert_string_equal(h[0].name, "only");
}

/* The shuffle of an equal-preference run follows the random numbers, never crosses runs. */
static void test_shuffle_within_runs(void **state)
{
    (void)state;
    struct yb_mx_host h[5];
    set(&h[0], "b1", 20);
    set(&h[1], "a1", 10);
    set(&h[2], "b2", 20);
    set(&h[3], "a2", 10);
    set(&h[4], "b3", 20);
    /* Run 10: k=2 picks 0 (swap a2 <-> a1). Run 20: k=3 picks 0, then k=2 picks 1. */
    const uint32_t v[] = { 0, 0, 1 };
    struct seq s = { v, 3, 0 };
    yb_mx_order(h, 5, rnd_seq, &s);
    assert_int_equal(h[0].pref, 10);
    assert_int_equal(h[1].pref, 10);
    assert_string_equal(h[0].name, "a2");
    assert_string_equal(h[1].name, "a1");
    assert_string_equal(h[2].name, "b3");
    assert_string_equal(h[3].name, "b2");
    assert_string_equal(h[4].name, "b1");
    assert_int_equal(s.i, 3);
}

/* With the real random source, each of three equal hosts comes first about a third of the time. */
static void test_random_spread(void **state)
{
    (void)state;
    unsigned first[3] = { 0, 0, 0 }, low_first = 0;
    const unsigned rounds = 3000;
    for (unsigned r = 0; r < rounds; r++) {
        struct yb_mx_host h[4];
        set(&h[0], "0", 10);
        set(&h[1], "1", 10);
        set(&h[2], "2", 10);
        set(&h[3], "backup", 5);
        yb_mx_order(h, 4, NULL, NULL);
        low_first += strcmp(h[0].name, "backup") == 0;
        first[h[1].name[0] - '0']++;
    }
    assert_int_equal(low_first, rounds);
    for (int i = 0; i < 3; i++) {
        /* Expected 1000; 800..1200 is more than six standard deviations. */
        if (first[i] < 800 || first[i] > 1200)
            fail_msg("host %d first %u times of %u", i, first[i], rounds);
    }
}

static void test_literals(void **state)
{
    (void)state;
    struct yb_route r;
    char text[PAL_ADDR_TEXT_MAX];
    assert_int_equal(yb_mx_route(NULL, 1000, "[127.0.0.1]", 2525, &r), YB_ROUTE_OK);
    assert_int_equal(r.n, 1);
    pal_addr_format(&r.t[0].addr, true, text, sizeof text);
    assert_string_equal(text, "127.0.0.1:2525");
    assert_int_equal(yb_mx_route(NULL, 1000, "[IPv6:::1]", 25, &r), YB_ROUTE_OK);
    assert_int_equal(pal_addr_family(&r.t[0].addr), PAL_AF_INET6);
    assert_int_equal(yb_mx_route(NULL, 1000, "[300.0.0.1]", 25, &r), YB_ROUTE_PERM);
    assert_int_equal(r.n, 0);
    assert_non_null(strstr(r.why, "5.1.2"));
    assert_int_equal(yb_mx_route(NULL, 1000, "[]", 25, &r), YB_ROUTE_PERM);
}

int main(void)
{
    pal_net_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_by_preference),
        cmocka_unit_test(test_empty_and_single),
        cmocka_unit_test(test_shuffle_within_runs),
        cmocka_unit_test(test_random_spread),
        cmocka_unit_test(test_literals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
