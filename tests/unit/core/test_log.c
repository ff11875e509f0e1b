/*
 * test_log.c - log records: one per line, escaped, levels, per-service files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pal.h"
#include "yb_log.h"
#include "yb_test.h"

struct capture {
    int n;
    char last[8192];
};

static void hook(void *arg, enum yb_log_level level, const char *record)
{
    struct capture *c = arg;
    (void)level;
    c->n++;
    strncpy(c->last, record, sizeof(c->last) - 1);
}

static void test_control_characters_escaped(void **state)
{
    (void)state;
    struct capture c = { 0 };
    yb_log_configure(NULL, false, YB_LOG_INFO);
    yb_log_set_hook(hook, &c);
    yb_log_info("smtp", "client said %s", "HELO x\r\n250 forged\x1b[31m\tend\\ \xff");
    yb_log_set_hook(NULL, NULL);
    assert_int_equal(c.n, 1);
    assert_null(strchr(c.last, '\r'));
    assert_null(strchr(c.last, '\n'));
    assert_null(strchr(c.last, 0x1b));
    assert_non_null(strstr(c.last, "\tINFO\tsmtp\tclient said HELO x\\x0D\\x0A250 forged\\x1B[31m"
                                   "\\tend\\\\ \\xFF"));
}

static void test_long_message_cut(void **state)
{
    (void)state;
    struct capture c = { 0 };
    char *big = malloc(YB_LIMIT_LOG_MESSAGE + 100);
    assert_non_null(big);
    memset(big, 'a', YB_LIMIT_LOG_MESSAGE + 99);
    big[YB_LIMIT_LOG_MESSAGE + 99] = '\0';
    yb_log_set_hook(hook, &c);
    yb_log_info("x", "%s", big);
    yb_log_set_hook(NULL, NULL);
    free(big);
    size_t n = strlen(c.last);
    assert_true(n > YB_LIMIT_LOG_MESSAGE);
    assert_true(n < YB_LIMIT_LOG_MESSAGE + 100);
    assert_string_equal(c.last + n - 3, "...");
}

static void test_files_and_levels(void **state)
{
    (void)state;
    char dir[PAL_PATH_MAX], logs[PAL_PATH_MAX], path[PAL_PATH_MAX];
    assert_int_equal(yb_test_tmpdir("log", dir, sizeof(dir)), 0);
    assert_int_equal(pal_path_join(logs, sizeof(logs), dir, "logs"), 0);
    assert_int_equal(yb_log_configure(logs, false, YB_LOG_WARN), 0);
    yb_log_info("imap", "not written");
    yb_log_warn("imap", "written %d", 1);
    yb_log_error("../../etc/passwd", "service names cannot escape the log dir");
    yb_log_close();

    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pal_path_join(path, sizeof(path), logs, "imap.log"), 0);
    assert_int_equal(pal_file_read_all(path, 1 << 20, &data, &len), 0);
    assert_null(strstr(data, "not written"));
    assert_non_null(strstr(data, "\tWARN\timap\twritten 1\n"));
    free(data);
    assert_int_equal(pal_path_join(path, sizeof(path), logs, "etcpasswd.log"), 0);
    assert_true(pal_file_exists(path));
    pal_file_remove_tree(dir);
}

static void test_level_names(void **state)
{
    (void)state;
    enum yb_log_level l;
    assert_int_equal(yb_log_level_parse("Debug", &l), 0);
    assert_int_equal(l, YB_LOG_DEBUG);
    assert_int_equal(yb_log_level_parse("warning", &l), 0);
    assert_int_equal(l, YB_LOG_WARN);
    assert_int_equal(yb_log_level_parse("", &l), YB_EPARSE);
    assert_int_equal(yb_log_level_parse("trace", &l), YB_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_characters_escaped),
        cmocka_unit_test(test_long_message_cut),
        cmocka_unit_test(test_files_and_levels),
        cmocka_unit_test(test_level_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
