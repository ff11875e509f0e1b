/*
 * test_pop3_maildrop.c - the maildrop: the session lock (a second open is
 * refused, also in the same process, and freed by close), the listing
 * (new/ and cur/, delivery order, sizes from W=/S= or measured), UIDLs that survive
 * a move from new/ to cur/ and a flag change, the RFC 1939 UIDL limits at
 * 70 and 71 characters, and the UPDATE state (files removed, maildirsize
 * updated, nothing removed without commit).
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
#include "pop3_maildrop.h"
#include "yb_maildir.h"
#include "yb_test.h"

static char md_path[PAL_PATH_MAX];

static void put(const char *sub, const char *name, const char *text)
{
    char dir[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(dir, sizeof dir, md_path, sub), 0);
    assert_int_equal(yb_test_write_in(dir, name, text), 0);
}

static void setup_maildrop(const char *test)
{
    char tmp[PAL_PATH_MAX];
    assert_int_equal(yb_test_tmpdir(test, tmp, sizeof tmp), 0);
    assert_int_equal(pal_path_join(md_path, sizeof md_path, tmp, "Maildir"), 0);
    assert_int_equal(yb_maildir_create(md_path), 0);
}

static void test_lock_and_listing(void **state)
{
    (void)state;
    char cur_name[128];
    setup_maildrop("pop3-listing");
    /* Out of name order on purpose; one stored with bare LF and no size fields. */
    put("new", "1700000002.M2P9.host,S=12,W=12", "B: 2\r\n\r\nb\r\n");
    put("new", "1700000001.M1P9.host", "A: 1\n\na\n");
    snprintf(cur_name, sizeof cur_name, "1700000003.M3P9.host,S=3,W=3%c2,S",
             pal_maildir_info_sep());
    put("cur", cur_name, "c\r\n");
    put("new", ".hidden", "not a message");
    /* The same second: microseconds are not zero-padded, so 99999 comes before 100000. */
    put("new", "1700000004.M100000P9.host,S=3,W=3", "e\r\n");
    put("new", "1700000004.M99999P9.host,S=3,W=3", "d\r\n");

    struct pop3_maildrop *md = NULL, *second = NULL;
    assert_int_equal(pop3_maildrop_open(md_path, &md), 0);
    assert_int_equal(md->n, 5);
    assert_string_equal(md->msgs[0].uidl, "1700000001.M1P9.host");
    assert_int_equal(md->msgs[0].size, 11); /* 8 bytes, three LFs become CRLF */
    assert_int_equal(md->msgs[0].file_size, 8);
    assert_string_equal(md->msgs[1].uidl, "1700000002.M2P9.host,S=12,W=12");
    assert_int_equal(md->msgs[1].size, 12);
    assert_string_equal(md->msgs[2].uidl, "1700000003.M3P9.host,S=3,W=3");
    assert_string_equal(md->msgs[3].uidl, "1700000004.M99999P9.host,S=3,W=3");
    assert_string_equal(md->msgs[4].uidl, "1700000004.M100000P9.host,S=3,W=3");
    assert_int_equal(md->total, 32);

    /* RFC 1939: one session per maildrop; the lock is per handle, so this process too. */
    assert_int_equal(pop3_maildrop_open(md_path, &second), YB_EBUSY);
    assert_null(second);
    pop3_maildrop_close(&md);
    assert_null(md);
    assert_int_equal(pop3_maildrop_open(md_path, &second), 0);
    pop3_maildrop_close(&second);
}

/* IMAP moves a message to cur/ and flags it during the session: RETR still finds it. */
static void test_moved_message(void **state)
{
    (void)state;
    char from[PAL_PATH_MAX], to[PAL_PATH_MAX], name[128];
    setup_maildrop("pop3-moved");
    put("new", "1700000001.M1P9.host,S=3,W=3", "m\r\n");
    struct pop3_maildrop *md = NULL;
    assert_int_equal(pop3_maildrop_open(md_path, &md), 0);
    char uidl[YB_POP3_UIDL_MAX + 1];
    memcpy(uidl, md->msgs[0].uidl, sizeof uidl);

    snprintf(name, sizeof name, "cur/1700000001.M1P9.host,S=3,W=3%c2,RS", pal_maildir_info_sep());
    assert_int_equal(pal_path_join(from, sizeof from, md_path, "new/1700000001.M1P9.host,S=3,W=3"),
                     0);
    assert_int_equal(pal_path_join(to, sizeof to, md_path, name), 0);
    assert_int_equal(pal_fs_rename(from, to), 0);

    struct pal_file *f = NULL;
    char buf[8];
    size_t got = 0;
    assert_int_equal(pop3_maildrop_open_msg(md, 0, &f), 0);
    assert_int_equal(pal_fs_read(f, buf, sizeof buf, &got), 0);
    assert_int_equal(got, 3);
    pal_fs_close(&f);
    pop3_maildrop_close(&md);

    /* A later session lists it under the same UIDL. */
    assert_int_equal(pop3_maildrop_open(md_path, &md), 0);
    assert_int_equal(md->n, 1);
    assert_string_equal(md->msgs[0].uidl, uidl);
    /* Gone altogether (expunged elsewhere): ENOENT. */
    assert_int_equal(pal_fs_unlink(to), 0);
    assert_int_equal(pop3_maildrop_open_msg(md, 0, &f), YB_ENOENT);
    pop3_maildrop_close(&md);
}

static void test_uidl_limits(void **state)
{
    (void)state;
    char base[80], out[YB_POP3_UIDL_MAX + 1], again[YB_POP3_UIDL_MAX + 1];
    memset(base, 'a', sizeof base);
    pop3_uidl_from_base(base, 70, out); /* the limit: kept as it is */
    assert_int_equal(strlen(out), 70);
    assert_memory_equal(out, base, 70);
    pop3_uidl_from_base(base, 71, out); /* one more: hashed */
    assert_int_equal(strlen(out), 41);
    assert_int_equal(out[0], 'H');
    pop3_uidl_from_base(base, 71, again);
    assert_string_equal(out, again); /* stable */
    pop3_uidl_from_base(base, 72, again);
    assert_string_not_equal(out, again);
    pop3_uidl_from_base("a b", 3, out); /* a space is outside 0x21-0x7E */
    assert_int_equal(out[0], 'H');
    pop3_uidl_from_base("a\\057b", 6, out); /* Maildir's escaped host: printable */
    assert_string_equal(out, "a\\057b");
    pop3_uidl_from_base("\xc3\xa4", 2, out); /* UTF-8: hashed */
    assert_int_equal(out[0], 'H');
    for (size_t i = 1; i < 41; i++)
        assert_true((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f'));
}

static void test_commit(void **state)
{
    (void)state;
    setup_maildrop("pop3-commit");
    put("new", "1700000001.M1P9.host,S=3,W=3", "1\r\n");
    put("new", "1700000002.M2P9.host,S=4,W=4", "22\r\n");
    put("new", "1700000003.M3P9.host,S=5,W=5", "333\r\n");
    uint64_t bytes = 0, count = 0;
    assert_int_equal(yb_maildir_usage(md_path, 1000000, &bytes, &count), 0); /* makes maildirsize */
    assert_int_equal(bytes, 12);
    assert_int_equal(count, 3);

    /* Marked but not committed (a dropped connection): nothing is removed. */
    struct pop3_maildrop *md = NULL;
    assert_int_equal(pop3_maildrop_open(md_path, &md), 0);
    md->msgs[0].deleted = md->msgs[2].deleted = true;
    pop3_maildrop_close(&md);
    assert_int_equal(pop3_maildrop_open(md_path, &md), 0);
    assert_int_equal(md->n, 3);

    md->msgs[0].deleted = md->msgs[2].deleted = true;
    md->ndeleted = 2;
    size_t removed = 0;
    assert_int_equal(pop3_maildrop_commit(md, &removed), 0);
    assert_int_equal(removed, 2);
    pop3_maildrop_close(&md);
    assert_int_equal(pop3_maildrop_open(md_path, &md), 0);
    assert_int_equal(md->n, 1);
    assert_string_equal(md->msgs[0].uidl, "1700000002.M2P9.host,S=4,W=4");
    pop3_maildrop_close(&md);
    assert_int_equal(yb_maildir_usage(md_path, 1000000, &bytes, &count), 0);
    assert_int_equal(bytes, 4);
    assert_int_equal(count, 1);
    char file[PAL_PATH_MAX], *data = NULL;
    size_t len = 0;
    assert_int_equal(pal_path_join(file, sizeof file, md_path, "maildirsize"), 0);
    assert_int_equal(pal_file_read_all(file, 4096, &data, &len), 0);
    assert_non_null(strstr(data, "\n-8 -2\n")); /* appended, not recomputed */
    free(data);
}

/* A new account logs in before anything was delivered: the Maildir is made. */
static void test_missing_maildir(void **state)
{
    (void)state;
    char tmp[PAL_PATH_MAX];
    assert_int_equal(yb_test_tmpdir("pop3-missing", tmp, sizeof tmp), 0);
    assert_int_equal(pal_path_join(md_path, sizeof md_path, tmp, "new-user/Maildir"), 0);
    struct pop3_maildrop *md = NULL;
    assert_int_equal(pop3_maildrop_open(md_path, &md), 0);
    assert_int_equal(md->n, 0);
    pop3_maildrop_close(&md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_and_listing), cmocka_unit_test(test_moved_message),
        cmocka_unit_test(test_uidl_limits),      cmocka_unit_test(test_commit),
        cmocka_unit_test(test_missing_maildir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
