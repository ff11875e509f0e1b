/*
 * test_folder.c - a Maildir folder in UID order: messages found in new/ and
 * cur/, flags and keywords read from and written to file names the way
 * Dovecot does, changes seen by a second handle (another process), expunge,
 * a Dovecot-written folder opened with its UIDs and keywords, and the limits
 * on names and keywords.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal_err.h"
#include "pal_file.h"
#include "yb_folder.h"
#include "yb_test.h"

static char g_dir[PAL_PATH_MAX];

static int setup(void **state)
{
    (void)state;
    return yb_test_tmpdir("folder", g_dir, sizeof g_dir) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return pal_file_remove_tree(g_dir) == 0 ? 0 : -1;
}

static void put(const char *sub, const char *name, const char *text)
{
    char d[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(d, sizeof d, g_dir, sub), 0);
    assert_int_equal(pal_file_mkdirs(d), 0);
    assert_int_equal(yb_test_write_in(d, name, text), 0);
}

static bool exists_in(const char *sub, const char *name)
{
    char d[PAL_PATH_MAX], p[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(d, sizeof d, g_dir, sub), 0);
    assert_int_equal(pal_path_join(p, sizeof p, d, name), 0);
    return pal_file_exists(p);
}

static struct yb_folder *open_folder(void)
{
    struct yb_folder *f = NULL;
    assert_int_equal(yb_folder_open(g_dir, &f), 0);
    assert_non_null(f);
    return f;
}

/* "base" + the platform's separator + info. */
static const char *named(const char *base, const char *info)
{
    static char buf[2][300];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s%c%s", base, pal_maildir_info_sep(), info);
    return buf[k];
}

static void test_empty_folder_is_created(void **state)
{
    (void)state;
    struct yb_folder *f = open_folder();
    assert_int_equal(yb_folder_count(f), 0);
    assert_true(yb_folder_uidvalidity(f) > 0);
    assert_int_equal(yb_folder_uidnext(f), 1);
    char p[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(p, sizeof p, g_dir, "tmp"), 0);
    assert_true(pal_file_exists(p));
    yb_folder_close(&f);
}

static void test_messages_in_new_and_cur(void **state)
{
    (void)state;
    put("new", "1700000002.M2P9.host,S=5", "hello");
    put("new", "1700000001.M1P9.host", "hi there");
    put("cur", named("1700000000.M0P9.host", "2,RS"), "old one");
    struct yb_folder *f = open_folder();
    assert_int_equal(yb_folder_count(f), 3);
    /* UIDs follow the names, which begin with the delivery time. */
    const struct yb_folder_msg *m1 = yb_folder_msg(f, 1), *m2 = yb_folder_msg(f, 2),
                               *m3 = yb_folder_msg(f, 3);
    assert_string_equal(m1->base, "1700000000.M0P9.host");
    assert_int_equal(m1->uid, 1);
    assert_false(m1->in_new);
    assert_int_equal(m1->flags, YB_FLAG_ANSWERED | YB_FLAG_SEEN);
    assert_int_equal(m1->size, 7);
    assert_string_equal(m2->base, "1700000001.M1P9.host");
    assert_true(m2->in_new);
    assert_int_equal(m2->flags, 0);
    assert_int_equal(m2->size, 8);
    assert_int_equal(m3->size, 5); /* S= in the name */
    assert_int_equal(m3->uid, 3);
    assert_null(yb_folder_msg(f, 4));
    assert_null(yb_folder_msg(f, 0));
    assert_int_equal(yb_folder_seq_of(f, 2), 2);
    assert_int_equal(yb_folder_seq_of(f, 9), 0);
    yb_folder_close(&f);
}

static void test_uids_follow_delivery_time_within_a_second(void **state)
{
    (void)state;
    /* Microseconds are not zero-padded: by name, M100 sorts before M99. */
    put("new", "1700000000.M100P9.host", "second");
    put("new", "1700000000.M99P9.host", "first");
    put("new", "1699999999.M5P9.host", "earlier second");
    struct yb_folder *f = open_folder();
    assert_string_equal(yb_folder_msg(f, 1)->base, "1699999999.M5P9.host");
    assert_string_equal(yb_folder_msg(f, 2)->base, "1700000000.M99P9.host");
    assert_string_equal(yb_folder_msg(f, 3)->base, "1700000000.M100P9.host");
    assert_int_equal(yb_folder_msg(f, 3)->uid, 3);
    yb_folder_close(&f);
}

static void test_set_flags_renames_into_cur_and_survives_reopen(void **state)
{
    (void)state;
    put("new", "1700000001.M1P9.host", "x");
    struct yb_folder *f = open_folder();
    uint32_t uid = yb_folder_msg(f, 1)->uid;
    assert_int_equal(yb_folder_set_flags(f, uid, YB_FLAG_SEEN | YB_FLAG_FLAGGED, 0), 0);
    assert_false(exists_in("new", "1700000001.M1P9.host"));
    assert_true(exists_in("cur", named("1700000001.M1P9.host", "2,FS")));
    assert_false(yb_folder_msg(f, 1)->in_new);
    assert_int_equal(yb_folder_set_flags(f, 999, 0, 0), YB_ENOENT);
    yb_folder_close(&f);
    f = open_folder();
    assert_int_equal(yb_folder_count(f), 1);
    assert_int_equal(yb_folder_msg(f, 1)->uid, uid);
    assert_int_equal(yb_folder_msg(f, 1)->flags, YB_FLAG_SEEN | YB_FLAG_FLAGGED);
    yb_folder_close(&f);
}

static void test_second_handle_sees_changes(void **state)
{
    (void)state;
    put("new", "1700000001.M1P9.host", "a");
    put("new", "1700000002.M2P9.host", "b");
    put("new", "1700000003.M3P9.host", "c");
    struct yb_folder *a = open_folder(), *b = open_folder();
    struct yb_folder_changes ch;
    assert_int_equal(yb_folder_set_flags(a, 2, YB_FLAG_DELETED, 0), 0);
    assert_int_equal(yb_folder_expunge(a, 3), 0);
    put("new", "1700000004.M4P9.host", "d");
    assert_int_equal(yb_folder_sync(b, &ch), 0);
    assert_int_equal(ch.nexpunged, 1);
    assert_int_equal(ch.expunged[0], 3);
    assert_int_equal(ch.nchanged, 1);
    assert_int_equal(ch.changed[0], 2);
    assert_int_equal(ch.nnew, 1);
    yb_folder_changes_free(&ch);
    assert_int_equal(yb_folder_count(b), 3);
    assert_int_equal(yb_folder_msg(b, 3)->uid, 4); /* UID 3 is never reused */
    assert_int_equal(yb_folder_msg(b, 2)->flags, YB_FLAG_DELETED);
    /* Nothing more happened: an empty change set. */
    assert_int_equal(yb_folder_sync(b, &ch), 0);
    assert_int_equal(ch.nexpunged + ch.nchanged + ch.nnew, 0);
    yb_folder_changes_free(&ch);
    /* The first handle learns of the expunge and the delivery too. */
    assert_int_equal(yb_folder_sync(a, &ch), 0);
    assert_int_equal(ch.nexpunged, 1);
    assert_int_equal(ch.nnew, 1);
    yb_folder_changes_free(&ch);
    yb_folder_close(&a);
    yb_folder_close(&b);
}

static void test_keywords_in_names_and_dovecot_keywords(void **state)
{
    (void)state;
    put("new", "1700000001.M1P9.host", "a");
    struct yb_folder *f = open_folder();
    size_t fw, junk, again;
    assert_int_equal(yb_folder_keyword_index(f, "$Junk", false, &junk), YB_ENOENT);
    assert_int_equal(yb_folder_keyword_index(f, "$Forwarded", true, &fw), 0);
    assert_int_equal(yb_folder_keyword_index(f, "$Junk", true, &junk), 0);
    assert_int_equal(fw, 0);
    assert_int_equal(junk, 1);
    assert_int_equal(yb_folder_keyword_index(f, "$junk", false, &again), 0); /* any case */
    assert_int_equal(again, 1);
    assert_int_equal(yb_folder_set_flags(f, 1, YB_FLAG_SEEN, (1u << fw) | (1u << junk)), 0);
    assert_true(exists_in("cur", named("1700000001.M1P9.host", "2,Sab")));
    char p[PAL_PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pal_path_join(p, sizeof p, g_dir, "dovecot-keywords"), 0);
    assert_int_equal(pal_file_read_all(p, 4096, &data, &len), 0);
    assert_string_equal(data, "0 $Forwarded\n1 $Junk\n");
    free(data);
    /* Invalid keyword names: empty, a system flag, space, 8-bit, too long. */
    char longname[YB_FOLDER_MAX_KEYWORD_LEN + 2];
    memset(longname, 'k', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *bad[] = { "", "\\Seen", "two words", "caf\xc3\xa9", "par(en", longname };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(yb_folder_keyword_index(f, bad[i], true, &again), YB_EINVAL);
    longname[YB_FOLDER_MAX_KEYWORD_LEN] = '\0'; /* at the limit */
    assert_int_equal(yb_folder_keyword_index(f, longname, true, &again), 0);
    /* 26 keywords at most (the letters a-z). */
    int rc = 0;
    for (int i = 0; i < 30 && rc == 0; i++) {
        char name[16];
        snprintf(name, sizeof name, "k%d", i);
        rc = yb_folder_keyword_index(f, name, true, &again);
    }
    assert_int_equal(rc, YB_ELIMIT);
    assert_int_equal(yb_folder_keyword_count(f), YB_FOLDER_MAX_KEYWORDS);
    yb_folder_close(&f);
    f = open_folder();
    assert_int_equal(yb_folder_msg(f, 1)->keywords, 3u);
    assert_string_equal(yb_folder_keyword(f, 1), "$Junk");
    yb_folder_close(&f);
}

static void test_folder_written_by_dovecot(void **state)
{
    (void)state;
    put("cur", named("1690000000.M5P1.mx,S=4,W=4", "2,FSb"), "abcd");
    put("cur", named("1690000001.M6P1.mx", "2,PT"), "efgh");
    put(".", "dovecot-keywords", "0 $Forwarded\n1 NonJunk\n");
    put(".", "dovecot-uidlist",
        "3 V1690000000 N20 G00112233445566778899aabbccddeeff\n"
        "12 :1690000000.M5P1.mx,S=4,W=4\n"
        "15 W4 :1690000001.M6P1.mx\n");
    struct yb_folder *f = open_folder();
    assert_int_equal(yb_folder_uidvalidity(f), 1690000000u);
    assert_int_equal(yb_folder_uidnext(f), 20);
    assert_int_equal(yb_folder_count(f), 2);
    const struct yb_folder_msg *m = yb_folder_msg(f, 1);
    assert_int_equal(m->uid, 12);
    assert_int_equal(m->flags, YB_FLAG_FLAGGED | YB_FLAG_SEEN);
    assert_int_equal(m->keywords, 2u);
    assert_string_equal(yb_folder_keyword(f, 1), "NonJunk");
    m = yb_folder_msg(f, 2);
    assert_int_equal(m->uid, 15);
    assert_int_equal(m->flags, YB_FLAG_DELETED);
    /* Changing flags keeps the letter we do not manage (P). */
    assert_int_equal(yb_folder_set_flags(f, 15, YB_FLAG_SEEN, 0), 0);
    assert_true(exists_in("cur", named("1690000001.M6P1.mx", "2,PS")));
    yb_folder_close(&f);
}

static void test_info_format_and_parse(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(yb_folder_format_info(YB_FLAG_SEEN | YB_FLAG_DRAFT | YB_FLAG_ANSWERED, 5,
                                           "2,PFz", buf, sizeof buf),
                     8);
    assert_string_equal(buf, "2,DPRSac"); /* F and z dropped, P kept, ASCII order */
    assert_int_equal(yb_folder_format_info(0, 0, NULL, buf, sizeof buf), 2);
    assert_string_equal(buf, "2,");
    assert_int_equal(yb_folder_format_info(YB_FLAG_SEEN, 0, NULL, buf, 3), YB_ELIMIT);
    uint32_t fl, kw;
    yb_folder_parse_info("2,DFRSTaz", &fl, &kw);
    assert_int_equal(fl, YB_FLAG_DRAFT | YB_FLAG_FLAGGED | YB_FLAG_ANSWERED | YB_FLAG_SEEN |
                             YB_FLAG_DELETED);
    assert_int_equal(kw, 1u | (1u << 25));
    yb_folder_parse_info("1,whatever", &fl, &kw); /* experimental info: no flags */
    assert_int_equal(fl | kw, 0);
    yb_folder_parse_info("", &fl, &kw);
    assert_int_equal(fl | kw, 0);
}

static void test_odd_names(void **state)
{
    (void)state;
    put("new", ".hidden", "x");
    put("new", named("", "2,S"), "no base name");
    put("new", "1700000001.M1P9.host", "in new");
    put("cur", named("1700000001.M1P9.host", "2,S"), "same base in cur");
    struct yb_folder *f = open_folder();
    assert_int_equal(yb_folder_count(f), 1); /* one message per base; odd names ignored */
    assert_false(yb_folder_msg(f, 1)->in_new);
    yb_folder_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_folder_is_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages_in_new_and_cur, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uids_follow_delivery_time_within_a_second, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_set_flags_renames_into_cur_and_survives_reopen,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_handle_sees_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keywords_in_names_and_dovecot_keywords, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_folder_written_by_dovecot, setup, teardown),
        cmocka_unit_test(test_info_format_and_parse),
        cmocka_unit_test_setup_teardown(test_odd_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
