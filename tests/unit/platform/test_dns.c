/*
 * test_dns.c - pal_dns: the server override list (limits, refusals) and the
 * argument checks of pal_dns_query. Answers from a real name server are
 * tested end to end by tests/integration/test_queue.py (POSIX).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pal.h"
#include "pal_internal.h"

static void test_server_list(void **state)
{
    (void)state;
    struct pal__dns_server s[PAL_DNS_MAX_SERVERS];
    size_t n = 0;
    assert_int_equal(pal__dns_parse_servers("127.0.0.1:5353", s, 3, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(s[0].ip, "127.0.0.1");
    assert_int_equal(s[0].port, 5353);
    assert_int_equal(pal__dns_parse_servers("192.0.2.1, 192.0.2.2:65535,192.0.2.3:1", s, 3, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(s[0].port, 53);
    assert_string_equal(s[1].ip, "192.0.2.2");
    assert_int_equal(s[1].port, 65535);
    assert_int_equal(s[2].port, 1);
    /* One more than max. */
    assert_int_equal(pal__dns_parse_servers("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4", s, 3, &n),
                     YB_ELIMIT);
    const char *bad[] = {
        "",           ",",          "1.1.1.1,",
        "1.1.1.1:",   "1.1.1.1:0",  "1.1.1.1:65536",
        "1.1.1.1:5x", "1.1.1.1:-1", "an-address-longer-than-the-room-for-one-address-in-the-list"
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (pal__dns_parse_servers(bad[i], s, 3, &n) != YB_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
    }
}

static void test_query_arguments(void **state)
{
    (void)state;
    struct pal_dns_answer *a = malloc(sizeof *a);
    char name[PAL_DNS_NAME_MAX + 1];
    assert_non_null(a);
    assert_int_equal(pal_dns_query(NULL, "", PAL_DNS_MX, 1000, a), YB_EINVAL);
    assert_int_equal(pal_dns_query(NULL, NULL, PAL_DNS_MX, 1000, a), YB_EINVAL);
    memset(name, 'a', PAL_DNS_NAME_MAX);
    name[PAL_DNS_NAME_MAX] = '\0';
    assert_int_equal(pal_dns_query(NULL, name, PAL_DNS_MX, 1000, a), YB_EINVAL);
    /* A server that is not an address: refused before anything is sent. */
    int rc = pal_dns_query("not-an-ip", "example.test", PAL_DNS_A, 1000, a);
    assert_true(rc == YB_EINVAL || rc == YB_ENOTSUP);
    assert_int_equal(a->n, 0);
    free(a);
}

int main(void)
{
    pal_net_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_list),
        cmocka_unit_test(test_query_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
