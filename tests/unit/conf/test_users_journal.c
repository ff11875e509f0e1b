/*
 * test_users_journal.c - mailusers.journal: views that see only their own
 * entries while the journal grows, records checked before any is applied,
 * the store reading appended lines (whole lines only, one byte at a time),
 * compaction, and a replaced journal read whole.
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
#include "yb_config.h"
#include "yb_log.h"
#include "yb_test.h"

#define PW1 "{SCRAM-SHA-256}4096,AAAAAAAAAAAAAAAAAAAAAA==,x,y"

static struct yb_tab *parse(const char *text)
{
    struct yb_tab *tab = NULL;
    struct yb_tab_error err;
    if (yb_tab_parse(text, strlen(text), &tab, &err) != 0)
        fail_msg("%u:%u: %s", err.line, err.column, err.msg);
    return tab;
}

/* The base points into its tab: the caller frees both (the base first). */
static struct yb_users *base_of(const char *text, struct yb_tab **tab_r)
{
    struct yb_users *us = NULL;
    struct yb_tab_error err;
    *tab_r = parse(text);
    assert_int_equal(yb_users_load(*tab_r, &us, &err, NULL, NULL), 0);
    return us;
}

static void apply(struct yb_users_journal *j, const char *text, int want)
{
    struct yb_tab *tab = parse(text);
    struct yb_tab_error err;
    int rc = yb_users_journal_apply(j, tab, 0, &err);
    if (rc != want)
        fail_msg("apply: %d (%s), want %d", rc, err.msg, want);
    yb_tab_free(&tab);
}

static const char *pw_of(const struct yb_users *v, const char *name)
{
    const struct yb_user *u = yb_users_find(v, YB_SLICE_LIT("example.com"), yb_slice_cstr(name));
    return u != NULL ? (const char *)u->password.p : NULL;
}

static size_t listed(const struct yb_users *v, char *names, size_t size)
{
    size_t n = 0, used = 0;
    names[0] = '\0';
    for (size_t i = 0; i < yb_users_count(v); i++) {
        const struct yb_user *u = yb_users_at(v, i);
        if (u == NULL)
            continue;
        int k = snprintf(names + used, size - used, "%s%.*s", n ? "," : "", (int)u->name.len,
                         (const char *)u->name.p);
        assert_true(k > 0 && (size_t)k < size - used);
        used += (size_t)k;
        n++;
    }
    return n;
}

static void test_views_see_only_their_entries(void **state)
{
    (void)state;
    char names[256];
    struct yb_tab *tab = NULL;
    struct yb_users *base = base_of("\"example.com\"\t\"alice\"\t\"a1\"\t1\t\"alice\"\t\"U\"\n"
                                    "\"example.com\"\t\"bob\"\t\"b1\"\t2\t\"bob\"\t\"U\"\n",
                                    &tab);
    struct yb_users_journal *j = NULL;
    struct yb_users *v1 = NULL, *v2 = NULL;
    assert_int_equal(yb_users_journal_new(16, &j), 0);
    apply(j, "\"+\"\t\"example.com\"\t\"carol\"\t\"c1\"\t7\t\"carol\"\t\"U\"\n", 0);
    assert_int_equal(yb_users_view_new(base, j, yb_users_journal_count(j), &v1), 0);
    apply(j,
          "\"-\"\t\"Example.COM\"\t\"ALICE\"\n"
          "\"+\"\t\"example.com\"\t\"bob\"\t\"b2\"\t2\t\"bob\"\t\"U\"\n"
          "\"+\"\t\"example.com\"\t\"carol\"\t\"c2\"\t7\t\"carol\"\t\"U\"\n",
          0);
    assert_int_equal(yb_users_view_new(base, j, yb_users_journal_count(j), &v2), 0);
    /* the older view does not see what came after it */
    assert_string_equal(pw_of(v1, "alice"), "a1");
    assert_string_equal(pw_of(v1, "bob"), "b1");
    assert_string_equal(pw_of(v1, "carol"), "c1");
    assert_int_equal(listed(v1, names, sizeof(names)), 3);
    assert_string_equal(names, "alice,bob,carol");
    /* the newer one sees the removal and the newest versions, listed once */
    assert_null(pw_of(v2, "alice"));
    assert_string_equal(pw_of(v2, "bob"), "b2");
    assert_string_equal(pw_of(v2, "carol"), "c2");
    assert_int_equal(listed(v2, names, sizeof(names)), 2);
    assert_string_equal(names, "bob,carol");
    assert_int_equal(yb_users_max_id(v1), 7);
    assert_int_equal(yb_users_max_id(v2), 7);
    assert_null(yb_users_find_id(v2, 1)); /* alice was removed */
    assert_string_equal((const char *)yb_users_find_id(v2, 7)->password.p, "c2");
    assert_string_equal((const char *)yb_users_find_id(v1, 1)->password.p, "a1");
    yb_users_free(&v1);
    yb_users_free(&v2);
    yb_users_journal_unref(&j); /* the views held it until now */
    yb_users_free(&base);
    yb_tab_free(&tab);
}

static void test_bad_record_applies_nothing(void **state)
{
    (void)state;
    struct yb_tab *tab0 = NULL;
    struct yb_users *base = base_of("", &tab0);
    struct yb_users_journal *j = NULL;
    struct yb_users *v = NULL;
    assert_int_equal(yb_users_journal_new(2, &j), 0);
    static const char *const bad[] = {
        "\"+\"\t\"example.com\"\t\"dan\"\t\"p\"\t1\t\"dan\"\t\"U\"\n\"*\"\t\"x\"\n",
        "\"+\"\t\"example.com\"\t\"dan\"\t\"p\"\t1\t\"dan\"\n",         /* 6 fields */
        "\"+\"\t\"example.com\"\t\"d an\"\t\"p\"\t1\t\"dan\"\t\"U\"\n", /* bad user */
        "\"+\"\t\"example.com\"\t\"dan\"\t\"p\"\t1\t\"../x\"\t\"U\"\n", /* escaping dir */
        "\"-\"\t\"-bad-\"\t\"dan\"\n",                                  /* bad domain */
        "\"-\"\t\"example.com\"\n",                                     /* too few */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct yb_tab *tab = parse(bad[i]);
        struct yb_tab_error err;
        if (yb_users_journal_apply(j, tab, 100, &err) == 0)
            fail_msg("case %u applied", (unsigned)i);
        assert_true(err.line > 100); /* with the offset of the chunk */
        yb_tab_free(&tab);
    }
    assert_int_equal(yb_users_journal_count(j), 0);
    /* more than the room left: nothing */
    apply(j,
          "\"+\"\t\"example.com\"\t\"a\"\t\"p\"\t1\t\"a\"\t\"U\"\n"
          "\"+\"\t\"example.com\"\t\"b\"\t\"p\"\t2\t\"b\"\t\"U\"\n"
          "\"+\"\t\"example.com\"\t\"c\"\t\"p\"\t3\t\"c\"\t\"U\"\n",
          YB_ELIMIT);
    assert_int_equal(yb_users_journal_count(j), 0);
    apply(j, "\"+\"\t\"example.com\"\t\"a\"\t\"p\"\t1\t\"a\"\t\"U\"\n", 0);
    assert_int_equal(yb_users_view_new(base, j, yb_users_journal_count(j), &v), 0);
    assert_non_null(pw_of(v, "a"));
    assert_null(pw_of(v, "dan"));
    yb_users_free(&v);
    yb_users_journal_unref(&j);
    yb_users_free(&base);
    yb_tab_free(&tab0);
}

/* ---- through the store ---- */

struct fx {
    char root[PAL_PATH_MAX], journal[PAL_PATH_MAX];
    struct yb_confstore *store;
};

static int setup(void **state)
{
    static struct fx fx;
    char err[YB_CONF_ERR_MAX];
    memset(&fx, 0, sizeof(fx));
    yb_log_configure(NULL, false, YB_LOG_ERROR);
    if (yb_test_tmpdir("journal", fx.root, sizeof(fx.root)) != 0 ||
        pal_path_join(fx.journal, sizeof(fx.journal), fx.root, YB_USERS_JOURNAL) != 0 ||
        yb_test_write_in(fx.root, "mailusers.tab",
                         "\"example.com\"\t\"alice\"\t\"a1\"\t1\t\"alice\"\t\"U\"\n") != 0)
        return -1;
    if (yb_confstore_open(fx.root, &fx.store, err, sizeof(err)) != 0)
        return -1;
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    yb_confstore_close(&fx->store);
    pal_file_remove_tree(fx->root);
    return 0;
}

static void check(struct fx *fx)
{
    char err[YB_CONF_ERR_MAX];
    bool changed;
    if (yb_confstore_check(fx->store, false, &changed, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

static const char *now_pw(struct fx *fx, const char *name, char *buf, size_t size)
{
    struct yb_config *cfg = yb_confstore_get(fx->store);
    const char *pw = pw_of(yb_config_users(cfg), name);
    if (pw != NULL)
        snprintf(buf, size, "%s", pw);
    yb_config_unref(&cfg);
    return pw != NULL ? buf : NULL;
}

static void append_raw(struct fx *fx, const char *bytes, size_t len)
{
    struct pal_file *f = NULL;
    assert_int_equal(pal_fs_open(fx->journal, PAL_O_WRONLY | PAL_O_APPEND, 0600, &f), 0);
    assert_int_equal(pal_file_write_all(f, bytes, len), 0);
    assert_int_equal(pal_fs_close(&f), 0);
}

static void test_store_reads_appended_whole_lines(void **state)
{
    struct fx *fx = *state;
    char buf[64];
    static const char rec[] = "\"+\"\t\"example.com\"\t\"bob\"\t\"b1\"\t2\t\"bob\"\t\"U\"\n";
    assert_int_equal(yb_users_journal_append(fx->root, rec, strlen(rec), true), 0);
    check(fx);
    assert_string_equal(now_pw(fx, "bob", buf, sizeof(buf)), "b1");
    assert_string_equal(now_pw(fx, "alice", buf, sizeof(buf)), "a1");
    /* a record arriving one byte at a time: never an error, visible once whole */
    static const char rec2[] = "\"+\"\t\"example.com\"\t\"alice\"\t\"a2\"\t1\t\"alice\"\t\"U\"\n";
    for (size_t i = 0; i < strlen(rec2); i++) {
        append_raw(fx, rec2 + i, 1);
        check(fx);
        const char *want = i + 1 == strlen(rec2) ? "a2" : "a1";
        if (strcmp(now_pw(fx, "alice", buf, sizeof(buf)), want) != 0)
            fail_msg("after %u bytes: %s", (unsigned)(i + 1), buf);
    }
    /* a bad record keeps the last good accounts, and the error is reported */
    append_raw(fx, "\"?\"\n", 4);
    char err[YB_CONF_ERR_MAX];
    bool changed;
    assert_int_not_equal(yb_confstore_check(fx->store, false, &changed, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "mailusers.journal:4:"));
    assert_string_equal(now_pw(fx, "alice", buf, sizeof(buf)), "a2");
}

static void test_compaction_and_a_replaced_journal(void **state)
{
    struct fx *fx = *state;
    char buf[64], err[256], *data = NULL;
    size_t n = 0, len = 0;
    static const char recs[] = "\"+\"\t\"example.com\"\t\"bob\"\t\"b1\"\t2\t\"bob\"\t\"U\"\n"
                               "\"-\"\t\"example.com\"\t\"alice\"\n"
                               "\"+\"\t\"example.com\"\t\"carol\"\t\"c1\"\t3\t\"carol\"\t\"U\"\n";
    assert_int_equal(yb_users_journal_append(fx->root, recs, strlen(recs), false), 0);
    assert_int_equal(yb_users_journal_sync(fx->root), 0);
    check(fx);
    assert_int_equal(yb_users_compact(fx->root, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_false(pal_file_exists(fx->journal));
    char path[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(path, sizeof(path), fx->root, "mailusers.tab"), 0);
    assert_int_equal(pal_file_read_all(path, 1 << 20, &data, &len), 0);
    assert_null(strstr(data, "alice"));
    assert_non_null(strstr(data, "\"carol\"\t\"c1\"\t\"3\""));
    free(data);
    check(fx);
    assert_null(now_pw(fx, "alice", buf, sizeof(buf)));
    assert_string_equal(now_pw(fx, "carol", buf, sizeof(buf)), "c1");
    /* a journal written anew (another header) is read whole, not from the old offset */
    static const char r2[] = "\"+\"\t\"example.com\"\t\"dave\"\t\"d1\"\t4\t\"dave\"\t\"U\"\n";
    assert_int_equal(yb_users_journal_append(fx->root, r2, strlen(r2), true), 0);
    check(fx);
    assert_string_equal(now_pw(fx, "dave", buf, sizeof(buf)), "d1");
    assert_int_equal(
        yb_test_write_in(fx->root, YB_USERS_JOURNAL,
                         "# yubin mailusers.journal 0000000000000000\n"
                         "\"+\"\t\"example.com\"\t\"erin\"\t\"e1\"\t5\t\"erin\"\t\"U\"\n"
                         "\"+\"\t\"example.com\"\t\"fred\"\t\"f1\"\t6\t\"fred\"\t\"U\"\n"),
        0);
    check(fx);
    assert_null(now_pw(fx, "dave", buf, sizeof(buf))); /* the old journal's entry is gone */
    assert_string_equal(now_pw(fx, "erin", buf, sizeof(buf)), "e1");
    assert_string_equal(now_pw(fx, "fred", buf, sizeof(buf)), "f1");
    /* compaction with nothing to fold changes nothing */
    assert_int_equal(pal_fs_unlink(fx->journal), 0);
    assert_int_equal(yb_users_compact(fx->root, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_views_see_only_their_entries),
        cmocka_unit_test(test_bad_record_applies_nothing),
        cmocka_unit_test_setup_teardown(test_store_reads_appended_whole_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_and_a_replaced_journal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
