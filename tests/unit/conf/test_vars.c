/*
 * test_vars.c - server.tab variables: every type at its limits, loading,
 * warnings and errors with their positions.
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
#include "yb_log.h"
#include "yb_vars.h"

struct parse_case {
    enum yb_var_type type;
    int64_t min, max;
    const char *text;
    int rc;
    int64_t num; /* expected when rc == 0 (listen: address count) */
};

static const struct parse_case parse_cases[] = {
    { YB_VT_INT, 0, 100, "0", 0, 0 },
    { YB_VT_INT, 0, 100, "100", 0, 100 },
    { YB_VT_INT, 0, 100, "101", YB_EPARSE, 0 },
    { YB_VT_INT, -5, 5, "-5", 0, -5 },
    { YB_VT_INT, -5, 5, "-6", YB_EPARSE, 0 },
    { YB_VT_INT, 0, 100, "", YB_EPARSE, 0 },
    { YB_VT_INT, 0, 100, "12a", YB_EPARSE, 0 },
    { YB_VT_INT, 0, 100, "1K", YB_EPARSE, 0 },
    { YB_VT_INT, 0, INT64_MAX, "9223372036854775807", 0, INT64_MAX },
    { YB_VT_INT, 0, INT64_MAX, "9223372036854775808", YB_EPARSE, 0 },
    { YB_VT_INT, 0, 100, " 5", YB_EPARSE, 0 },
    { YB_VT_BOOL, 0, 0, "yes", 0, 1 },
    { YB_VT_BOOL, 0, 0, "ON", 0, 1 },
    { YB_VT_BOOL, 0, 0, "1", 0, 1 },
    { YB_VT_BOOL, 0, 0, "False", 0, 0 },
    { YB_VT_BOOL, 0, 0, "off", 0, 0 },
    { YB_VT_BOOL, 0, 0, "", YB_EPARSE, 0 },
    { YB_VT_BOOL, 0, 0, "2", YB_EPARSE, 0 },
    { YB_VT_SIZE, 0, INT64_MAX, "512", 0, 512 },
    { YB_VT_SIZE, 0, INT64_MAX, "512K", 0, 512 * 1024 },
    { YB_VT_SIZE, 0, INT64_MAX, "20m", 0, 20 * 1024 * 1024 },
    { YB_VT_SIZE, 0, INT64_MAX, "2G", 0, 2LL * 1024 * 1024 * 1024 },
    { YB_VT_SIZE, 0, INT64_MAX, "2T", YB_EPARSE, 0 },
    { YB_VT_SIZE, 0, INT64_MAX, "2KB", YB_EPARSE, 0 },
    { YB_VT_SIZE, 0, 1024, "1K", 0, 1024 },
    { YB_VT_SIZE, 0, 1023, "1K", YB_EPARSE, 0 },
    { YB_VT_SIZE, 0, INT64_MAX, "99999999999G", YB_EPARSE, 0 },
    { YB_VT_DURATION, 1, 3600, "30", 0, 30 },
    { YB_VT_DURATION, 1, 3600, "30s", 0, 30 },
    { YB_VT_DURATION, 1, 3600, "5m", 0, 300 },
    { YB_VT_DURATION, 1, 3600, "1h", 0, 3600 },
    { YB_VT_DURATION, 1, 3600, "2h", YB_EPARSE, 0 },
    { YB_VT_DURATION, 1, 3600, "0", YB_EPARSE, 0 },
    { YB_VT_DURATION, 0, 864000, "5d", 0, 432000 },
    { YB_VT_DURATION, 1, 3600, "5x", YB_EPARSE, 0 },
    { YB_VT_LOGLEVEL, 0, 0, "debug", 0, YB_LOG_DEBUG },
    { YB_VT_LOGLEVEL, 0, 0, "WARN", 0, YB_LOG_WARN },
    { YB_VT_LOGLEVEL, 0, 0, "loud", YB_EPARSE, 0 },
    { YB_VT_LISTEN, 0, 0, "", 0, 0 },
    { YB_VT_LISTEN, 0, 0, "127.0.0.1:25", 0, 1 },
    { YB_VT_LISTEN, 0, 0, "127.0.0.1:25, [::1]:25", 0, 2 },
    { YB_VT_LISTEN, 0, 0, "0.0.0.0:0 [::]:0,127.0.0.2:2525", 0, 3 },
    { YB_VT_LISTEN, 0, 0, "localhost:25", YB_EPARSE, 0 },
    { YB_VT_LISTEN, 0, 0, "127.0.0.1", YB_EPARSE, 0 },
    { YB_VT_LISTEN, 0, 0, "127.0.0.1:65536", YB_EPARSE, 0 },
    { YB_VT_LISTEN, 0, 0, "::1:25", YB_EPARSE, 0 },
    { YB_VT_STRING, 0, 0, "", 0, 0 },
    { YB_VT_STRING, 0, 0, "mail.example.com", 0, 0 },
};

static void test_parse_types(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct yb_var_def d = { "Test", c->type, "", c->min, c->max, "" };
        struct yb_var_value v;
        char msg[YB_TAB_ERRMSG_MAX] = "";
        int rc = yb_var_parse_def(&d, c->text, &v, msg, sizeof(msg));
        if (rc != c->rc) {
            print_error("case %u '%s': rc %s, expected %s (%s)\n", (unsigned)i, c->text,
                        yb_errname(rc), yb_errname(c->rc), msg);
            fail();
        }
        if (rc != 0) {
            assert_true(strlen(msg) > 0);
            continue;
        }
        if (c->type == YB_VT_LISTEN)
            assert_int_equal(v.listen->n, c->num);
        else
            assert_int_equal(v.num, c->num);
        assert_string_equal(v.text, c->text);
        yb_var_value_free(&v);
    }
}

static void test_listen_limit(void **state)
{
    (void)state;
    char text[2048] = "";
    size_t len = 0;
    struct yb_var_def d = { "Test", YB_VT_LISTEN, "", 0, 0, "" };
    struct yb_var_value v;
    char msg[YB_TAB_ERRMSG_MAX];
    for (int i = 0; i < YB_LIMIT_LISTEN_ADDRS; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "127.0.0.%d:25 ", i + 1);
    assert_int_equal(yb_var_parse_def(&d, text, &v, msg, sizeof(msg)), 0);
    assert_int_equal(v.listen->n, YB_LIMIT_LISTEN_ADDRS);
    char buf[PAL_ADDR_TEXT_MAX];
    assert_int_equal(pal_addr_format(&v.listen->addr[15], true, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "127.0.0.16:25");
    yb_var_value_free(&v);
    snprintf(text + len, sizeof(text) - len, "127.0.0.99:25");
    assert_int_equal(yb_var_parse_def(&d, text, &v, msg, sizeof(msg)), YB_ELIMIT);
}

static void test_value_length_limit(void **state)
{
    (void)state;
    static char text[4098];
    struct yb_var_def d = { "Test", YB_VT_STRING, "", 0, 0, "" };
    struct yb_var_value v;
    char msg[YB_TAB_ERRMSG_MAX];
    memset(text, 'a', 4096);
    text[4096] = '\0';
    assert_int_equal(yb_var_parse_def(&d, text, &v, msg, sizeof(msg)), 0);
    yb_var_value_free(&v);
    text[4096] = 'a';
    text[4097] = '\0';
    assert_int_equal(yb_var_parse_def(&d, text, &v, msg, sizeof(msg)), YB_ELIMIT);
}

static void test_every_default_parses(void **state)
{
    (void)state;
    struct yb_vars *vars = NULL;
    struct yb_tab_error err;
    assert_int_equal(yb_vars_load(NULL, &vars, &err, NULL, NULL), 0);
    assert_int_equal(yb_vars_num(vars, YB_VAR_ConfigCheckInterval), 5);
    assert_int_equal(yb_vars_num(vars, YB_VAR_LogLevel), YB_LOG_INFO);
    const struct yb_listen_list *l = yb_vars_listen(vars, YB_VAR_CtrlListen);
    assert_int_equal(l->n, 1);
    assert_int_equal(pal_addr_port(&l->addr[0]), 6017);
    assert_true(pal_addr_is_loopback(&l->addr[0])); /* CTRL is local-only by default */
    for (unsigned i = 0; i < YB_VAR__COUNT; i++) {
        assert_non_null(yb_var_def((enum yb_var_id)i));
        assert_false(vars->v[i].set_in_file);
        assert_non_null(vars->v[i].text);
    }
    yb_vars_free(&vars);
    assert_null(vars);
}

struct warnings {
    int n;
    unsigned line[8], column[8];
    char msg[8][YB_TAB_ERRMSG_MAX];
};

static void collect_warning(void *arg, unsigned line, unsigned column, const char *msg)
{
    struct warnings *w = arg;
    if (w->n < 8) {
        w->line[w->n] = line;
        w->column[w->n] = column;
        snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
    }
    w->n++;
}

static int load_text(const char *text, struct yb_vars **vars, struct yb_tab_error *err,
                     struct warnings *w)
{
    struct yb_tab *tab = NULL;
    int rc = yb_tab_parse(text, strlen(text), &tab, err);
    if (rc != 0)
        return rc;
    memset(w, 0, sizeof(*w));
    rc = yb_vars_load(tab, vars, err, collect_warning, w);
    yb_tab_free(&tab);
    return rc;
}

static void test_load_values_and_warnings(void **state)
{
    (void)state;
    struct yb_vars *vars = NULL;
    struct yb_tab_error err;
    struct warnings w;
    const char *text = "# XMail-style server.tab\n"
                       "\"RootDomain\"\t\"example.com\"\n"
                       "\"PostMaster\"\t\"root@example.com\"\n" /* XMail's, not ours */
                       "\"LogLevel\"\t\"debug\"\n"
                       "\"SmtpListen\"\t\"127.0.0.1:0,[::1]:0\"\n"
                       "\"LogLevel\"\t\"warn\"\n";
    assert_int_equal(load_text(text, &vars, &err, &w), 0);
    assert_string_equal(yb_vars_str(vars, YB_VAR_RootDomain), "example.com");
    assert_int_equal(yb_vars_num(vars, YB_VAR_LogLevel), YB_LOG_WARN); /* the last one wins */
    assert_int_equal(yb_vars_listen(vars, YB_VAR_SmtpListen)->n, 2);
    assert_true(vars->v[YB_VAR_RootDomain].set_in_file);
    assert_int_equal(vars->v[YB_VAR_RootDomain].line, 2);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.line[0], 3);
    assert_non_null(strstr(w.msg[0], "PostMaster"));
    assert_int_equal(w.line[1], 6);
    assert_non_null(strstr(w.msg[1], "line 4"));
    yb_vars_free(&vars);
}

static void test_load_errors_have_positions(void **state)
{
    (void)state;
    struct yb_vars *vars = NULL;
    struct yb_tab_error err;
    struct warnings w;
    assert_int_equal(
        load_text("\"RootDomain\"\t\"a\"\n\"ConfigCheckInterval\"\t\"never\"\n", &vars, &err, &w),
        YB_EPARSE);
    assert_null(vars);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 23);
    assert_non_null(strstr(err.msg, "ConfigCheckInterval"));

    assert_int_equal(load_text("\"LogLevel\"\n", &vars, &err, &w), YB_EPARSE);
    assert_int_equal(err.line, 1);
    assert_non_null(strstr(err.msg, "2 fields"));
    assert_int_equal(load_text("\"LogLevel\"\t\"info\"\t\"x\"\n", &vars, &err, &w), YB_EPARSE);
    assert_null(vars);
}


/* tabs/server.tab documents every variable with its real default. */
static void test_shipped_server_tab_lists_every_default(void **state)
{
    (void)state;
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pal_file_read_all(YB_SOURCE_DIR "/tabs/server.tab", 1 << 20, &data, &len), 0);
    for (unsigned i = 0; i < YB_VAR__COUNT; i++) {
        const struct yb_var_def *d = yb_var_def((enum yb_var_id)i);
        char line[256];
        snprintf(line, sizeof(line), "\n#\"%s\"\t\"%s\"\n", d->name, d->def);
        if (strstr(data, line) == NULL) {
            print_error("tabs/server.tab lacks the line #\"%s\"<TAB>\"%s\"\n", d->name, d->def);
            free(data);
            fail();
        }
    }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_types),
        cmocka_unit_test(test_listen_limit),
        cmocka_unit_test(test_value_length_limit),
        cmocka_unit_test(test_every_default_parses),
        cmocka_unit_test(test_load_values_and_warnings),
        cmocka_unit_test(test_load_errors_have_positions),
        cmocka_unit_test(test_shipped_server_tab_lists_every_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
