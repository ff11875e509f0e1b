/*
 * test_admin.c - the queue's administrative API on a spool built with the
 * spool's own writer: list, thaw, delete, read the log and the message;
 * ids that could name anything outside the spool are refused.
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
#include "queue_int.h"
#include "yb_test.h"

static char g_root[PAL_PATH_MAX];

static int setup(void **state)
{
    (void)state;
    return yb_test_tmpdir("qadmin", g_root, sizeof g_root) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return pal_file_remove_tree(g_root) == 0 ? 0 : -1;
}

/* Queues a message from `from` to two recipients; returns its id in id. */
static void queue_one(const char *from, char id[YB_SPOOL_ID_MAX + 1])
{
    struct yb_spool_msg *m = NULL;
    assert_int_equal(yb_spool_begin(g_root, id, &m), 0);
    const char body[] = "Subject: t\r\n\r\nhello\r\n";
    assert_int_equal(yb_spool_write(m, body, sizeof body - 1), 0);
    struct yb_env_rcpt r[2] = {
        { "a@x.test", YB_RCPT_DEFERRED, "", "", 3, "451 4.3.0 later" },
        { "b@x.test", YB_RCPT_FAILED, "", "", 1, "550 5.1.1 no" },
    };
    struct yb_envelope env = { .version = YB_SPOOL_VERSION,
                               .arrival = 1700000000,
                               .from = (char *)from,
                               .ret = "",
                               .envid = "",
                               .body = "7BIT",
                               .client = "",
                               .helo = "",
                               .auth = "",
                               .next_attempt = 1700009999,
                               .nrcpt = 2,
                               .rcpt = r };
    assert_int_equal(yb_spool_commit(m, &env), 0);
    yb_spool_free(&m);
}

static void move(const char *id, const char *from, const char *to)
{
    char a[PAL_PATH_MAX], b[PAL_PATH_MAX];
    assert_int_equal(queue_path_root(g_root, a, from, id), 0);
    assert_int_equal(queue_path_root(g_root, b, to, id), 0);
    assert_int_equal(pal_file_mkdirs(b) == 0 ? pal_fs_rmdir(b) : 0, 0);
    assert_int_equal(pal_fs_rename(a, b), 0);
}

static void test_list_thaw_delete(void **state)
{
    (void)state;
    char id1[YB_SPOOL_ID_MAX + 1], id2[YB_SPOOL_ID_MAX + 1];
    struct yb_queue_entry *e = NULL;
    size_t n = 0;
    queue_one("s@y.test", id1);
    queue_one("", id2);
    assert_int_equal(yb_queue_list(g_root, YB_QDIR_QUEUE, &e, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(e[i].nrcpt, 2);
        assert_int_equal(e[i].nwaiting, 1);
        assert_string_equal(e[i].last_error, "451 4.3.0 later");
        assert_true(e[i].next_attempt == 1700009999);
    }
    free(e);
    /* No frozen directory yet: an empty list. */
    assert_int_equal(yb_queue_list(g_root, YB_QDIR_FROZEN, &e, &n), 0);
    assert_int_equal(n, 0);
    free(e);

    /* A frozen DSN (null sender): thawing retries its failed recipient now. */
    move(id2, "queue", "frozen");
    queue_note(g_root, id2, YB_LOG_INFO, "frozen for the test");
    assert_int_equal(yb_queue_list(g_root, YB_QDIR_FROZEN, &e, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].id, id2);
    assert_string_equal(e[0].from, "");
    free(e);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(yb_queue_read_log(g_root, id2, &text, &len), 0);
    assert_non_null(strstr(text, "\tfrozen for the test\n"));
    free(text);
    assert_int_equal(yb_queue_read_message(g_root, id2, 1000, &text, &len), 0);
    assert_int_equal(len, 21);
    assert_memory_equal(text, "Subject: t\r\n\r\nhello\r\n", 21);
    free(text);
    assert_int_equal(yb_queue_read_message(g_root, id2, 20, &text, &len), YB_ELIMIT);
    assert_int_equal(yb_queue_thaw(g_root, id2), 0);
    struct yb_envelope env;
    char err[300];
    assert_int_equal(yb_spool_read_envelope(g_root, id2, &env, err, sizeof err), 0);
    assert_true(env.next_attempt == 0);
    assert_int_equal(env.rcpt[1].state, YB_RCPT_PENDING);
    assert_int_equal(env.rcpt[0].state, YB_RCPT_DEFERRED);
    yb_envelope_clear(&env);
    assert_int_equal(yb_queue_read_log(g_root, id2, &text, &len), 0);
    assert_non_null(strstr(text, "thawed by the administrator"));
    free(text);
    /* Thawing what is not frozen. */
    assert_int_equal(yb_queue_thaw(g_root, id2), YB_ENOENT);

    /* Delete: envelope, message and log go. */
    move(id1, "queue", "frozen");
    assert_int_equal(yb_queue_delete_frozen(g_root, id1), 0);
    assert_int_equal(yb_queue_read_message(g_root, id1, 1000, &text, &len), YB_ENOENT);
    assert_int_equal(yb_queue_delete_frozen(g_root, id1), YB_ENOENT);
    assert_int_equal(yb_queue_list(g_root, YB_QDIR_FROZEN, &e, &n), 0);
    assert_int_equal(n, 0);
    free(e);
}

static void test_unreadable_envelope_listed(void **state)
{
    (void)state;
    char dir[PAL_PATH_MAX], path[PAL_PATH_MAX];
    assert_int_equal(queue_path_root(g_root, dir, "frozen", NULL), 0);
    assert_int_equal(pal_file_mkdirs(dir), 0);
    assert_int_equal(queue_path_root(g_root, path, "frozen", "Bad1"), 0);
    assert_int_equal(yb_test_write_file(path, "\"version\"\t\"9\"\n", 14), 0);
    struct yb_queue_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(yb_queue_list(g_root, YB_QDIR_FROZEN, &e, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].nrcpt, 0);
    assert_non_null(strstr(e[0].last_error, "envelope version 9 is newer"));
    free(e);
    /* It cannot be thawed (it would be refused again); it can be deleted. */
    assert_int_equal(yb_queue_thaw(g_root, "Bad1"), YB_ENOTSUP);
    assert_int_equal(yb_queue_delete_frozen(g_root, "Bad1"), 0);
}

static void test_bad_ids_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "",    "../x", "a/b",
        "a.b", "a\\b", "..",
        "x y", NULL,   "0123456789012345678901234567890123456789012345678901234567890123456789"
    };
    char *text = NULL;
    size_t len = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(yb_queue_thaw(g_root, bad[i]), YB_EINVAL);
        assert_int_equal(yb_queue_delete_frozen(g_root, bad[i]), YB_EINVAL);
        assert_int_equal(yb_queue_read_log(g_root, bad[i], &text, &len), YB_EINVAL);
        assert_int_equal(yb_queue_read_message(g_root, bad[i], 10, &text, &len), YB_EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_thaw_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_envelope_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ids_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
