/*
 * test_service.c - pidfiles, dropping privileges, and the calls each
 * platform does not have.
 *
 * Runs natively and under wine. The platform is told apart at run time:
 * pal_service_remove() is YB_ENOTSUP exactly where there is no service
 * manager. Daemon mode and the service life cycle need real processes;
 * they are exercised by tests/service/ (test_daemon.sh, test_service_wine.sh).
 *
 * A "live" pid is our own (pal_pidfile_write refuses it like any running
 * process); a "dead" one is DEAD_PID, far above any pid a kernel hands out
 * (Linux caps pids at 2^22; Windows pids are small multiples of 4).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal_err.h"
#include "pal_file.h"
#include "pal_process.h"
#include "pal_service.h"
#include "yb_test.h"

#define DEAD_PID "2000000000"

static char g_dir[PAL_PATH_MAX];
static char g_pidfile[PAL_PATH_MAX];
static char g_ourpid[32]; /* our pid as a pidfile holds it: "1234\n" */
static bool g_windows;

static int setup_dir(void **state)
{
    (void)state;
    if (yb_test_tmpdir("service", g_dir, sizeof g_dir) != 0)
        return -1;
    if (pal_path_join(g_pidfile, sizeof g_pidfile, g_dir, "test.pid") != 0)
        return -1;
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    pal_file_remove_tree(g_dir);
    return 0;
}

static void write_pidfile_text(const char *text)
{
    assert_int_equal(yb_test_write_file(g_pidfile, text, strlen(text)), 0);
}

/* The pidfile's content (the caller frees it), or NULL when it does not exist. */
static char *read_pidfile_text(void)
{
    char *data = NULL;
    size_t len = 0;
    if (!pal_file_exists(g_pidfile))
        return NULL;
    assert_int_equal(pal_file_read_all(g_pidfile, 4096, &data, &len), 0);
    return data;
}

static void assert_pidfile_is(const char *want)
{
    char *got = read_pidfile_text();
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* ---- pidfile ---- */

static void test_pidfile_fresh(void **state)
{
    (void)state;
    char err[PAL_SERVICE_ERR_MAX] = "untouched";
    assert_false(pal_file_exists(g_pidfile));
    assert_int_equal(pal_pidfile_write(g_pidfile, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_pidfile_is(g_ourpid);
}

/* A pidfile naming a running process is refused, and the file is left alone. */
static void test_pidfile_refuses_live(void **state)
{
    (void)state;
    char err[PAL_SERVICE_ERR_MAX];
    char want[96];
    assert_int_equal(pal_pidfile_write(g_pidfile, err, sizeof err), 0);
    /* Twice: the second finds the first, which names a live process (us). */
    assert_int_equal(pal_pidfile_write(g_pidfile, err, sizeof err), YB_EBUSY);
    snprintf(want, sizeof want, "already running as pid %lu", (unsigned long)pal_proc_id());
    print_message("message: %s\n", err);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, g_pidfile));
    assert_pidfile_is(g_ourpid);

    /* Same with a file written by someone else, without a newline. */
    char bare[32];
    snprintf(bare, sizeof bare, "%lu", (unsigned long)pal_proc_id());
    write_pidfile_text(bare);
    assert_int_equal(pal_pidfile_write(g_pidfile, err, sizeof err), YB_EBUSY);
    assert_non_null(strstr(err, want));
    assert_pidfile_is(bare);
}

static void test_pidfile_replaces_dead(void **state)
{
    (void)state;
    char err[PAL_SERVICE_ERR_MAX];
    write_pidfile_text(DEAD_PID "\n");
    assert_int_equal(pal_pidfile_write(g_pidfile, err, sizeof err), 0);
    assert_pidfile_is(g_ourpid);
}

/* Garbage is replaced, however it looks (an empty file after a short settle time). */
static void test_pidfile_replaces_garbage(void **state)
{
    (void)state;
    static const char *const garbage[] = {
        "",
        "\n",
        "hello\n",
        "12abc\n",
        "-5\n",
        "0\n",
        "+42\n",
        " 42\n",
        "4 2\n",
        "1e3\n",
        "0x10\n",
        "99999999999999999999\n",
        "2147483648\n",
        "42\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
    };
    char err[PAL_SERVICE_ERR_MAX];
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        print_message("garbage #%d\n", (int)i);
        write_pidfile_text(garbage[i]);
        assert_int_equal(pal_pidfile_write(g_pidfile, err, sizeof err), 0);
        assert_pidfile_is(g_ourpid);
        assert_int_equal(pal_fs_unlink(g_pidfile), 0);
    }
    /* A NUL inside is garbage too. */
    assert_int_equal(yb_test_write_file(g_pidfile, "4\0002\n", 4), 0);
    assert_int_equal(pal_pidfile_write(g_pidfile, err, sizeof err), 0);
    assert_pidfile_is(g_ourpid);
}

static void test_pidfile_remove_only_ours(void **state)
{
    (void)state;
    char err[PAL_SERVICE_ERR_MAX];

    /* Someone else's (dead or not, it is not ours to remove). */
    write_pidfile_text(DEAD_PID "\n");
    pal_pidfile_remove(g_pidfile);
    assert_pidfile_is(DEAD_PID "\n");

    write_pidfile_text("garbage\n");
    pal_pidfile_remove(g_pidfile);
    assert_pidfile_is("garbage\n");

    /* Ours. */
    assert_int_equal(pal_fs_unlink(g_pidfile), 0);
    assert_int_equal(pal_pidfile_write(g_pidfile, err, sizeof err), 0);
    pal_pidfile_remove(g_pidfile);
    assert_false(pal_file_exists(g_pidfile));

    /* Nothing there: nothing happens. */
    pal_pidfile_remove(g_pidfile);
    assert_false(pal_file_exists(g_pidfile));
}

static void test_pidfile_bad_paths(void **state)
{
    (void)state;
    char err[PAL_SERVICE_ERR_MAX];
    char path[PAL_PATH_MAX];

    assert_int_equal(pal_pidfile_write("", err, sizeof err), YB_EINVAL);
    assert_true(err[0] != '\0');
    /* A directory that does not exist: the error names the file. */
    assert_int_equal(pal_path_join(path, sizeof path, g_dir, "no/such/dir.pid"), 0);
    int rc = pal_pidfile_write(path, err, sizeof err);
    print_message("message: %s\n", err);
    assert_int_equal(rc, YB_ENOENT);
    assert_non_null(strstr(err, "dir.pid"));
    /* No error buffer at all is fine. */
    assert_int_equal(pal_pidfile_write(path, NULL, 0), YB_ENOENT);
}

/* ---- the platform's own calls ---- */

static void test_drop_privileges(void **state)
{
    (void)state;
    char err[PAL_SERVICE_ERR_MAX];
    const char *unknown = "yubin-no-such-user-x9";

    int rc = pal_drop_privileges(unknown, err, sizeof err);
    print_message("message: %s\n", err);
    if (g_windows) {
        assert_int_equal(rc, YB_ENOTSUP);
        assert_int_equal(pal_drop_privileges("Administrator", err, sizeof err), YB_ENOTSUP);
        return;
    }
    assert_int_equal(rc, YB_ENOTFOUND);
    assert_non_null(strstr(err, "unknown user"));
    assert_non_null(strstr(err, unknown));
    assert_int_equal(pal_drop_privileges("", err, sizeof err), YB_EINVAL);

    /*
     * To ourselves: a no-op. The login name comes from the environment; in
     * containers, where it is often unset, we are usually root, so "root"
     * is tried - and YB_EPERM then only means we are someone else.
     */
    const char *self = getenv("USER");
    if (self == NULL || self[0] == '\0')
        self = getenv("LOGNAME");
    bool guessed = self == NULL || self[0] == '\0';
    if (guessed)
        self = "root";
    rc = pal_drop_privileges(self, err, sizeof err);
    print_message("drop to '%s': %d %s\n", self, rc, err);
    if (guessed && rc == YB_EPERM)
        skip();
    assert_int_equal(rc, 0);
    /* Still ourselves: a second time is the same no-op. */
    assert_int_equal(pal_drop_privileges(self, err, sizeof err), 0);
}

static void test_daemonize(void **state)
{
    (void)state;
    char err[PAL_SERVICE_ERR_MAX];
    if (g_windows) {
        assert_int_equal(pal_daemonize(g_pidfile, err, sizeof err), YB_ENOTSUP);
        assert_true(err[0] != '\0');
        return;
    }
    /* Refused before any fork: the daemon changes to "/", a relative name would move. */
    assert_int_equal(pal_daemonize("relative.pid", err, sizeof err), YB_EINVAL);
    print_message("message: %s\n", err);
    assert_non_null(strstr(err, "absolute"));
}

static int dummy_main(void *arg)
{
    (void)arg;
    return 42;
}

static void test_service_calls(void **state)
{
    (void)state;
    char err[PAL_SERVICE_ERR_MAX];
    const char *args[] = { "-r", "C:\\yubin root" };

    pal_service_running(); /* outside a service: a no-op on every platform */
    if (!g_windows) {
        assert_int_equal(pal_service_install("yubin-test", "yubin test", args, 2, err, sizeof err),
                         YB_ENOTSUP);
        assert_int_equal(pal_service_remove("yubin-test", err, sizeof err), YB_ENOTSUP);
        assert_int_equal(pal_service_run("yubin-test", dummy_main, NULL), YB_ENOTSUP);
        return;
    }
    /*
     * (Run by hand, pal_service_run is YB_ENOTCONN: checked by
     * tests/service/test_service_wine.sh, since wine takes 10 s to say so.)
     */
    assert_int_equal(pal_service_run("", dummy_main, NULL), YB_EINVAL);
    assert_int_equal(pal_service_run("yubin-test", NULL, NULL), YB_EINVAL);
    int rc = pal_service_remove("yubin-no-such-service-x9", err, sizeof err);
    print_message("message: %s\n", err);
    assert_int_equal(rc, YB_ENOTFOUND);
    assert_non_null(strstr(err, "yubin-no-such-service-x9"));
    assert_int_equal(pal_service_install("", NULL, NULL, 0, err, sizeof err), YB_EINVAL);
}

int main(void)
{
    char err[PAL_SERVICE_ERR_MAX];
    g_windows = pal_service_remove("yubin-probe-platform", err, sizeof err) != YB_ENOTSUP;
    snprintf(g_ourpid, sizeof g_ourpid, "%lu\n", (unsigned long)pal_proc_id());
    print_message("platform: %s\n", g_windows ? "windows" : "posix");

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pidfile_fresh, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_pidfile_refuses_live, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_pidfile_replaces_dead, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_pidfile_replaces_garbage, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_pidfile_remove_only_ours, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_pidfile_bad_paths, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_daemonize, setup_dir, teardown_dir),
        cmocka_unit_test(test_service_calls),
        /* Last: if it ever did drop anything, no test after it is affected. */
        cmocka_unit_test(test_drop_privileges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
