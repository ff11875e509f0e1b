/*
 * test_config.c - configuration snapshots: loading a root, noticing
 * external edits, a bad edit keeping the old snapshot, sessions holding an
 * old snapshot across a swap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pal.h"
#include "yb_config.h"
#include "yb_log.h"
#include "yb_test.h"

struct fixture {
    char root[PAL_PATH_MAX];
    struct yb_confstore *store;
    char err[YB_CONF_ERR_MAX];
};

static int setup(void **state)
{
    static struct fixture fx;
    memset(&fx, 0, sizeof(fx));
    if (yb_test_tmpdir("config", fx.root, sizeof(fx.root)) != 0)
        return -1;
    yb_log_configure(NULL, false, YB_LOG_ERROR); /* keep warnings off the test output */
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    yb_confstore_close(&fx->store);
    pal_file_remove_tree(fx->root);
    return 0;
}

/* Replaces a file the way an editor or yubinctl does: atomically. */
static void put(struct fixture *fx, const char *name, const char *text)
{
    char path[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(path, sizeof(path), fx->root, name), 0);
    assert_int_equal(pal_file_replace(path, text, strlen(text)), 0);
}

static void test_empty_root_uses_defaults(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(yb_confstore_open(fx->root, &fx->store, fx->err, sizeof(fx->err)), 0);
    struct yb_config *cfg = yb_confstore_get(fx->store);
    assert_int_equal(yb_config_generation(cfg), 1);
    assert_false(yb_config_has_file(cfg, YB_CF_SERVER));
    assert_int_equal(yb_config_tab(cfg, YB_CF_MAILUSERS)->nrec, 0);
    assert_int_equal(yb_vars_num(yb_config_vars(cfg), YB_VAR_ConfigCheckInterval), 5);
    yb_config_unref(&cfg);
    assert_null(cfg);
}

static void test_missing_root_and_file_root(void **state)
{
    struct fixture *fx = *state;
    char path[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(path, sizeof(path), fx->root, "nope"), 0);
    assert_int_equal(yb_confstore_open(path, &fx->store, fx->err, sizeof(fx->err)), YB_ENOENT);
    assert_null(fx->store);
    assert_non_null(strstr(fx->err, "nope"));
    put(fx, "afile", "x");
    assert_int_equal(pal_path_join(path, sizeof(path), fx->root, "afile"), 0);
    assert_int_equal(yb_confstore_open(path, &fx->store, fx->err, sizeof(fx->err)), YB_ENOTDIR);
}

static void test_open_reports_file_line_column(void **state)
{
    struct fixture *fx = *state;
    put(fx, "server.tab", "\"RootDomain\"\t\"example.com\"\n");
    put(fx, "domains.tab", "\"example.com\"\n\"bad\x01\"\n");
    assert_int_equal(yb_confstore_open(fx->root, &fx->store, fx->err, sizeof(fx->err)), YB_EPARSE);
    assert_null(fx->store);
    assert_non_null(strstr(fx->err, "domains.tab:2:5:"));
}

static void test_edit_is_noticed_and_parts_shared(void **state)
{
    struct fixture *fx = *state;
    bool changed;
    put(fx, "server.tab", "\"RootDomain\"\t\"one.example\"\n");
    put(fx, "mailusers.tab", "\"one.example\"\t\"alice\"\t\"x\"\t1\t\"alice\"\t\"U\"\n");
    assert_int_equal(yb_confstore_open(fx->root, &fx->store, fx->err, sizeof(fx->err)), 0);
    struct yb_config *a = yb_confstore_get(fx->store);

    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)), 0);
    assert_false(changed);

    put(fx, "server.tab", "\"RootDomain\"\t\"two.example\"\n");
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)), 0);
    assert_true(changed);
    struct yb_config *b = yb_confstore_get(fx->store);
    assert_int_equal(yb_config_generation(b), 2);
    assert_string_equal(yb_vars_str(yb_config_vars(b), YB_VAR_RootDomain), "two.example");
    /* The unchanged file is the very same object in both snapshots. */
    assert_ptr_equal(yb_config_tab(a, YB_CF_MAILUSERS), yb_config_tab(b, YB_CF_MAILUSERS));
    /* The session holding the old snapshot still reads the old value. */
    assert_string_equal(yb_vars_str(yb_config_vars(a), YB_VAR_RootDomain), "one.example");
    yb_config_unref(&a);
    yb_config_unref(&b);
}

static void test_bad_edit_keeps_old_snapshot(void **state)
{
    struct fixture *fx = *state;
    bool changed;
    put(fx, "server.tab", "\"LogLevel\"\t\"info\"\n");
    assert_int_equal(yb_confstore_open(fx->root, &fx->store, fx->err, sizeof(fx->err)), 0);

    put(fx, "server.tab", "\"LogLevel\"\t\"info\"\n\"LogLevel\t\"debug\"\n");
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)),
                     YB_EPARSE);
    assert_false(changed);
    assert_non_null(strstr(fx->err, "server.tab:2:"));
    struct yb_config *cfg = yb_confstore_get(fx->store);
    assert_int_equal(yb_config_generation(cfg), 1);
    assert_int_equal(yb_vars_num(yb_config_vars(cfg), YB_VAR_LogLevel), YB_LOG_INFO);
    yb_config_unref(&cfg);

    /* The same broken state is reported once, not on every check. */
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)), 0);
    assert_false(changed);

    /* A valid value that does not validate is refused the same way. */
    put(fx, "server.tab", "\"LogLevel\"\t\"loud\"\n");
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)),
                     YB_EPARSE);

    /* While server.tab stays broken, an edit elsewhere reports it again and waits. */
    put(fx, "domains.tab", "\"example.com\"\n");
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)),
                     YB_EPARSE);
    assert_false(changed);
    cfg = yb_confstore_get(fx->store);
    assert_int_equal(yb_config_tab(cfg, YB_CF_DOMAINS)->nrec, 0);
    yb_config_unref(&cfg);

    /* Fixing the file brings both edits in, in one new snapshot. */
    put(fx, "server.tab", "\"LogLevel\"\t\"debug\"\n");
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)), 0);
    assert_true(changed);
    cfg = yb_confstore_get(fx->store);
    assert_int_equal(yb_config_generation(cfg), 2);
    assert_int_equal(yb_vars_num(yb_config_vars(cfg), YB_VAR_LogLevel), YB_LOG_DEBUG);
    assert_int_equal(yb_config_tab(cfg, YB_CF_DOMAINS)->nrec, 1);
    yb_config_unref(&cfg);
}

static void test_removed_file_becomes_empty(void **state)
{
    struct fixture *fx = *state;
    bool changed;
    char path[PAL_PATH_MAX];
    put(fx, "aliases.tab", "\"example.com\"\t\"info\"\t\"alice\"\n");
    assert_int_equal(yb_confstore_open(fx->root, &fx->store, fx->err, sizeof(fx->err)), 0);
    assert_int_equal(pal_path_join(path, sizeof(path), fx->root, "aliases.tab"), 0);
    assert_int_equal(pal_fs_unlink(path), 0);
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)), 0);
    assert_true(changed);
    struct yb_config *cfg = yb_confstore_get(fx->store);
    assert_false(yb_config_has_file(cfg, YB_CF_ALIASES));
    assert_int_equal(yb_config_tab(cfg, YB_CF_ALIASES)->nrec, 0);
    yb_config_unref(&cfg);
}

static void test_in_place_edit_same_size_is_noticed(void **state)
{
    struct fixture *fx = *state;
    bool changed;
    char path[PAL_PATH_MAX];
    put(fx, "domains.tab", "\"aaaa.example\"\n");
    assert_int_equal(yb_confstore_open(fx->root, &fx->store, fx->err, sizeof(fx->err)), 0);
    /* An in-place rewrite keeps inode and size; only the mtime tells. */
    pal_sleep_ms(20);
    assert_int_equal(pal_path_join(path, sizeof(path), fx->root, "domains.tab"), 0);
    assert_int_equal(yb_test_write_file(path, "\"bbbb.example\"\n", 15), 0);
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)), 0);
    assert_true(changed);
    struct yb_config *cfg = yb_confstore_get(fx->store);
    assert_string_equal(yb_config_tab(cfg, YB_CF_DOMAINS)->rec[0].field[0], "bbbb.example");
    yb_config_unref(&cfg);
}

static void test_force_reload_rereads(void **state)
{
    struct fixture *fx = *state;
    bool changed;
    assert_int_equal(yb_confstore_open(fx->root, &fx->store, fx->err, sizeof(fx->err)), 0);
    assert_int_equal(yb_confstore_check(fx->store, true, &changed, fx->err, sizeof(fx->err)), 0);
    assert_true(changed);
    struct yb_config *cfg = yb_confstore_get(fx->store);
    assert_int_equal(yb_config_generation(cfg), 2);
    yb_config_unref(&cfg);
}

/* Readers take and drop references while the main thread swaps snapshots. */
struct reader_arg {
    struct yb_confstore *store;
    int iterations;
    int bad;
};

static void reader(void *p)
{
    struct reader_arg *a = p;
    for (int i = 0; i < a->iterations; i++) {
        struct yb_config *cfg = yb_confstore_get(a->store);
        const char *rd = yb_vars_str(yb_config_vars(cfg), YB_VAR_RootDomain);
        if (strncmp(rd, "gen", 3) != 0)
            a->bad++;
        yb_config_unref(&cfg);
    }
}

static void test_concurrent_readers_during_reloads(void **state)
{
    struct fixture *fx = *state;
    bool changed;
    put(fx, "server.tab", "\"RootDomain\"\t\"gen0\"\n");
    assert_int_equal(yb_confstore_open(fx->root, &fx->store, fx->err, sizeof(fx->err)), 0);
    struct reader_arg args[3];
    struct pal_thread *th[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (struct reader_arg){ fx->store, 20000, 0 };
        assert_int_equal(pal_thread_start(&th[i], reader, &args[i]), 0);
    }
    for (int g = 1; g <= 30; g++) {
        char text[64];
        snprintf(text, sizeof(text), "\"RootDomain\"\t\"gen%d\"\n", g);
        put(fx, "server.tab", text);
        assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)),
                         0);
        assert_true(changed);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pal_thread_join(&th[i]), 0);
        assert_int_equal(args[i].bad, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_root_uses_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_root_and_file_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_reports_file_line_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_is_noticed_and_parts_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_edit_keeps_old_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_file_becomes_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_place_edit_same_size_is_noticed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_force_reload_rereads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers_during_reloads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
