/*
 * test_dsn.c - RFC 3464 reports: the structure a mail client and a parser
 * rely on, RET=FULL against RET=HDRS, delayed reports, status codes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal.h"
#include "queue_bounce.h"
#include "yb_test.h"

static char g_dir[PAL_PATH_MAX], g_msg[PAL_PATH_MAX];

static const char original[] = "From: a@example.org\r\nSubject: hello\r\nMessage-ID: <m1@x>\r\n"
                               "\r\nline one of the body\r\n.dotted\r\n";

static int setup(void **state)
{
    (void)state;
    if (yb_test_tmpdir("dsn", g_dir, sizeof g_dir) != 0 ||
        pal_path_join(g_msg, sizeof g_msg, g_dir, "msg") != 0)
        return -1;
    return yb_test_write_file(g_msg, original, sizeof original - 1);
}

static int teardown(void **state)
{
    (void)state;
    return pal_file_remove_tree(g_dir) == 0 ? 0 : -1;
}

static char *build(enum yb_dsn_action action, bool headers_only, const char *envid)
{
    struct yb_dsn_rcpt r[2] = {
        { "bad@remote.test", "rfc822;Bad@Remote.test", "550 5.1.1 no such user", "mx.remote.test",
          action },
        { "two@remote.test", "", "4.4.1 cannot connect to mx.remote.test", "", action },
    };
    struct yb_dsn d = { "mail.local.test", "a@example.org", envid, "Q123", 1700000000, 1700000600,
                        1700432000,        headers_only,    false, g_msg,  2,          r };
    struct yb_buf out;
    yb_buf_init(&out, YB_LIMIT_DSN);
    assert_int_equal(yb_dsn_format(&d, &out), 0);
    assert_int_equal(yb_buf_append_byte(&out, 0), 0);
    size_t len = 0;
    return (char *)yb_buf_steal(&out, &len);
}

static void has(const char *text, const char *what)
{
    if (strstr(text, what) == NULL)
        fail_msg("missing \"%s\" in:\n%s", what, text);
}

static void test_failure_report(void **state)
{
    (void)state;
    char *t = build(YB_DSN_FAILED, false, "env-1");
    has(t, "To: <a@example.org>\r\n");
    has(t, "Subject: Undelivered Mail Returned to Sender\r\n");
    has(t, "Auto-Submitted: auto-replied\r\n");
    has(t, "Content-Type: multipart/report; report-type=delivery-status;");
    has(t, "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.local.test\r\n");
    has(t, "Original-Envelope-Id: env-1\r\n");
    has(t, "\r\nFinal-Recipient: rfc822; bad@remote.test\r\n"
           "Original-Recipient: rfc822; Bad@Remote.test\r\n"
           "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.remote.test\r\n"
           "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n");
    /* A local failure text: its own enhanced code, no Diagnostic-Code. */
    has(t, "Final-Recipient: rfc822; two@remote.test\r\nAction: failed\r\nStatus: 4.4.1\r\n\r\n");
    has(t, "Content-Type: message/rfc822\r\n\r\nFrom: a@example.org\r\n");
    has(t, "line one of the body\r\n.dotted\r\n");
    /* Every CR is followed by LF, every LF preceded by CR. */
    for (size_t i = 0; t[i] != '\0'; i++) {
        if (t[i] == '\r')
            assert_int_equal(t[i + 1], '\n');
        if (t[i] == '\n')
            assert_true(i > 0 && t[i - 1] == '\r');
    }
    /* The boundary closes the report. */
    const char *b = strstr(t, "boundary=\"");
    assert_non_null(b);
    b += 10;
    char closing[200];
    snprintf(closing, sizeof closing, "--%.*s--\r\n", (int)(strchr(b, '"') - b), b);
    assert_non_null(strstr(t, closing));
    free(t);
}

static void test_headers_only(void **state)
{
    (void)state;
    char *t = build(YB_DSN_FAILED, true, "");
    has(t, "Content-Type: text/rfc822-headers\r\n\r\nFrom: a@example.org\r\n");
    assert_null(strstr(t, "line one of the body"));
    assert_null(strstr(t, "Original-Envelope-Id"));
    free(t);
}

static void test_delayed(void **state)
{
    (void)state;
    char *t = build(YB_DSN_DELAYED, true, "");
    has(t, "Subject: Delayed Mail (still being retried)\r\n");
    has(t, "Action: delayed\r\n");
    has(t, "Will-Retry-Until: ");
    free(t);
}

static void test_status_code(void **state)
{
    (void)state;
    char b[16];
    const struct {
        const char *in;
        bool perm;
        const char *want;
    } cases[] = {
        { "550 5.1.1 no such user", false, "5.1.1" },
        { "451 4.3.2 later", true, "4.3.2" },
        { "550 no code", false, "5.0.0" },
        { "421 no code", true, "4.0.0" },
        { "5.1.10 null MX", true, "5.1.10" },
        { "4.4.1 refused", false, "4.4.1" },
        { "", true, "5.0.0" },
        { "", false, "4.0.0" },
        { "5.1.1234 long", true, "5.0.0" },
        { "550 5.1.", false, "5.0.0" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        yb_dsn_status_code(cases[i].in, cases[i].perm, b, sizeof b);
        if (strcmp(b, cases[i].want) != 0)
            fail_msg("\"%s\": got %s, want %s", cases[i].in, b, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failure_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delayed, setup, teardown),
        cmocka_unit_test(test_status_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
