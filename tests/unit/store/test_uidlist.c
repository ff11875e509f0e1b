/*
 * test_uidlist.c - a folder's UID list: UIDs that survive reopening,
 * numbering shared between two handles (two processes), compaction that
 * never reuses a UID, recovery after truncation at every byte and after a
 * corrupt line, Dovecot and Courier take-over, name limits and the folder
 * lock.
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
#include "pal_thread.h"
#include "pal_time.h"
#include "yb_test.h"
#include "yb_uidlist.h"

static char g_dir[PAL_PATH_MAX];
static char g_list[PAL_PATH_MAX];

static int setup(void **state)
{
    (void)state;
    if (yb_test_tmpdir("uidlist", g_dir, sizeof g_dir) != 0)
        return -1;
    return pal_path_join(g_list, sizeof g_list, g_dir, YB_UIDLIST_FILE) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return pal_file_remove_tree(g_dir) == 0 ? 0 : -1;
}

static struct yb_uidlist *open_list(char *err, size_t errsize)
{
    struct yb_uidlist *ul = NULL;
    assert_int_equal(yb_uidlist_open(g_dir, &ul, err, errsize), 0);
    assert_non_null(ul);
    return ul;
}

static char *read_list(size_t *len_r)
{
    char *data = NULL;
    assert_int_equal(pal_file_read_all(g_list, YB_UIDLIST_MAX_FILE, &data, len_r), 0);
    return data;
}

static void test_new_folder_assign_and_reopen(void **state)
{
    (void)state;
    char err[256];
    struct yb_uidlist *ul = open_list(err, sizeof err);
    assert_string_equal(err, "");
    uint32_t v = yb_uidlist_validity(ul);
    assert_true(v > 0);
    assert_int_equal(yb_uidlist_next(ul), 1);
    assert_true(pal_file_exists(g_list));

    const char *names[] = { "100.M1P1.host", "100.M2P1.host", "100.M3P1.host" };
    uint32_t first = 0;
    assert_int_equal(yb_uidlist_assign(ul, names, 3, &first), 0);
    assert_int_equal(first, 1);
    assert_int_equal(yb_uidlist_lookup(ul, "100.M2P1.host"), 2);
    /* Known names keep their UIDs; only the new one is numbered. */
    const char *again[] = { "100.M3P1.host", "100.M4P1.host", "100.M1P1.host" };
    assert_int_equal(yb_uidlist_assign(ul, again, 3, &first), 0);
    assert_int_equal(first, 4);
    assert_int_equal(yb_uidlist_count(ul), 4);
    yb_uidlist_free(&ul);

    ul = open_list(NULL, 0);
    assert_int_equal(yb_uidlist_validity(ul), v);
    assert_int_equal(yb_uidlist_next(ul), 5);
    assert_int_equal(yb_uidlist_lookup(ul, "100.M1P1.host"), 1);
    assert_int_equal(yb_uidlist_lookup(ul, "100.M4P1.host"), 4);
    assert_int_equal(yb_uidlist_lookup(ul, "nope"), 0);
    uint32_t uid;
    const char *base;
    yb_uidlist_entry(ul, 3, &uid, &base);
    assert_int_equal(uid, 4);
    assert_string_equal(base, "100.M4P1.host");
    yb_uidlist_free(&ul);
}

static void test_two_handles_share_numbering(void **state)
{
    (void)state;
    struct yb_uidlist *a = open_list(NULL, 0), *b = open_list(NULL, 0);
    const char *n1[] = { "a1", "a2" };
    const char *n2[] = { "b1" };
    const char *n3[] = { "a3", "b1" };
    assert_int_equal(yb_uidlist_assign(a, n1, 2, NULL), 0);
    uint32_t first;
    assert_int_equal(yb_uidlist_assign(b, n2, 1, &first), 0);
    assert_int_equal(first, 3); /* b read a's append before numbering */
    assert_int_equal(yb_uidlist_lookup(b, "a2"), 2);
    assert_int_equal(yb_uidlist_assign(a, n3, 2, &first), 0);
    assert_int_equal(first, 4);
    assert_int_equal(yb_uidlist_lookup(a, "b1"), 3);
    assert_int_equal(yb_uidlist_refresh(b), 0);
    assert_int_equal(yb_uidlist_lookup(b, "a3"), 4);
    assert_int_equal(yb_uidlist_count(b), 4);
    yb_uidlist_free(&a);
    yb_uidlist_free(&b);
}

static bool keep_odd(void *ctx, const char *base)
{
    (void)ctx;
    return (base[strlen(base) - 1] - '0') % 2 == 1;
}

static void test_compaction_never_reuses_uids(void **state)
{
    (void)state;
    struct yb_uidlist *a = open_list(NULL, 0), *b = open_list(NULL, 0);
    const char *names[] = { "m1", "m2", "m3", "m4" };
    assert_int_equal(yb_uidlist_assign(a, names, 4, NULL), 0);
    assert_int_equal(yb_uidlist_compact(a, keep_odd, NULL), 0); /* m2 and m4 expunged */
    assert_int_equal(yb_uidlist_count(a), 2);
    assert_int_equal(yb_uidlist_next(a), 5);
    /* The other handle notices the replaced file and reads it anew. */
    assert_int_equal(yb_uidlist_refresh(b), 0);
    assert_int_equal(yb_uidlist_count(b), 2);
    assert_int_equal(yb_uidlist_lookup(b, "m3"), 3);
    assert_int_equal(yb_uidlist_lookup(b, "m4"), 0);
    const char *more[] = { "m5" };
    uint32_t first;
    assert_int_equal(yb_uidlist_assign(b, more, 1, &first), 0);
    assert_int_equal(first, 5); /* not 4: an expunged UID is never handed out again */
    yb_uidlist_free(&a);
    yb_uidlist_free(&b);
    a = open_list(NULL, 0);
    assert_int_equal(yb_uidlist_next(a), 6);
    yb_uidlist_free(&a);
}

/* Builds a list with 5 entries and returns its bytes. */
static char *five_entry_file(uint32_t *validity_r, size_t *len_r)
{
    struct yb_uidlist *ul = open_list(NULL, 0);
    const char *names[] = { "n1", "n2", "n3", "n4", "n5" };
    assert_int_equal(yb_uidlist_assign(ul, names, 5, NULL), 0);
    *validity_r = yb_uidlist_validity(ul);
    yb_uidlist_free(&ul);
    return read_list(len_r);
}

static void test_truncation_at_every_byte(void **state)
{
    (void)state;
    uint32_t v;
    size_t len;
    char *full = five_entry_file(&v, &len);
    size_t header = (size_t)(strchr(full, '\n') - full) + 1;
    for (size_t cut = 0; cut <= len; cut++) {
        assert_int_equal(yb_test_write_file(g_list, full, cut), 0);
        char err[256];
        struct yb_uidlist *ul = open_list(err, sizeof err);
        if (cut < header) {
            /* No header: the UIDs cannot be trusted; a new UIDVALIDITY says so. */
            assert_int_not_equal(yb_uidlist_validity(ul), v);
            assert_int_equal(yb_uidlist_count(ul), 0);
        } else {
            assert_int_equal(yb_uidlist_validity(ul), v);
            /* Exactly the whole lines before the cut survive, with their UIDs. */
            size_t whole = 0;
            for (size_t i = header; i < cut; i++)
                whole += full[i] == '\n';
            assert_int_equal(yb_uidlist_count(ul), whole);
            for (size_t i = 0; i < whole; i++) {
                char name[8];
                snprintf(name, sizeof name, "n%u", (unsigned)(i + 1));
                assert_int_equal(yb_uidlist_lookup(ul, name), i + 1);
            }
            /* The next append overwrites a torn tail and the file parses whole again. */
            const char *names[] = { "n1", "n2", "n3", "n4", "n5", "n6" };
            assert_int_equal(yb_uidlist_assign(ul, names, 6, NULL), 0);
            yb_uidlist_free(&ul);
            ul = open_list(err, sizeof err);
            assert_string_equal(err, "");
            assert_int_equal(yb_uidlist_count(ul), 6);
            assert_int_equal(yb_uidlist_lookup(ul, "n1"), 1);
            assert_int_equal(yb_uidlist_lookup(ul, "n6"), 6);
        }
        yb_uidlist_free(&ul);
    }
    free(full);
}

static void test_corrupt_line_keeps_uids_before_it(void **state)
{
    (void)state;
    uint32_t v;
    size_t len;
    char *full = five_entry_file(&v, &len);
    char *third = strstr(full, "3 :n3\n");
    assert_non_null(third);
    third[0] = 'x'; /* "x :n3" */
    assert_int_equal(yb_test_write_file(g_list, full, len), 0);
    char err[256];
    struct yb_uidlist *ul = open_list(err, sizeof err);
    assert_non_null(strstr(err, "bad line"));
    assert_int_equal(yb_uidlist_validity(ul), v);
    assert_int_equal(yb_uidlist_count(ul), 4);
    assert_int_equal(yb_uidlist_lookup(ul, "n2"), 2);
    assert_int_equal(yb_uidlist_lookup(ul, "n3"), 0);
    assert_int_equal(yb_uidlist_lookup(ul, "n4"), 4); /* lines after it survive */
    /* The message of the bad line gets a new UID, past any it may have had. */
    const char *names[] = { "n3", "n4" };
    uint32_t first;
    assert_int_equal(yb_uidlist_assign(ul, names, 2, &first), 0);
    assert_int_equal(first, 7);
    yb_uidlist_free(&ul);
    ul = open_list(err, sizeof err);
    assert_string_equal(err, ""); /* rewritten whole */
    assert_int_equal(yb_uidlist_lookup(ul, "n3"), 7);
    assert_int_equal(yb_uidlist_lookup(ul, "n5"), 5);
    yb_uidlist_free(&ul);
    free(full);
}

static void test_nul_and_invalid_bytes_in_file(void **state)
{
    (void)state;
    uint32_t v;
    size_t len;
    char *full = five_entry_file(&v, &len);
    char *p = strstr(full, "n4");
    p[1] = '\0'; /* NUL inside a name */
    assert_int_equal(yb_test_write_file(g_list, full, len), 0);
    struct yb_uidlist *ul = open_list(NULL, 0);
    assert_int_equal(yb_uidlist_count(ul), 4); /* the line with the NUL is skipped */
    assert_int_equal(yb_uidlist_lookup(ul, "n5"), 5);
    yb_uidlist_free(&ul);
    /* Invalid UTF-8 in a name is just bytes: a Maildir name is not text. */
    const char raw[] = "yubin-uidlist 1 V77 N3\n1 :\xff\xfe\n2 :ok\n";
    assert_int_equal(yb_test_write_file(g_list, raw, sizeof raw - 1), 0);
    ul = open_list(NULL, 0);
    assert_int_equal(yb_uidlist_validity(ul), 77);
    assert_int_equal(yb_uidlist_lookup(ul, "\xff\xfe"), 1);
    assert_int_equal(yb_uidlist_lookup(ul, "ok"), 2);
    yb_uidlist_free(&ul);
    free(full);
}

static void test_name_limits(void **state)
{
    (void)state;
    char at[YB_UIDLIST_MAX_NAME + 1], over[YB_UIDLIST_MAX_NAME + 2];
    memset(at, 'a', sizeof at - 1);
    at[sizeof at - 1] = '\0';
    memset(over, 'b', sizeof over - 1);
    over[sizeof over - 1] = '\0';
    const char *names[] = { at, over, "", "with/slash", "ctl\x01", "ok" };
    struct yb_uidlist *ul = open_list(NULL, 0);
    assert_int_equal(yb_uidlist_assign(ul, names, 6, NULL), 0);
    assert_int_equal(yb_uidlist_count(ul), 2);
    assert_int_equal(yb_uidlist_lookup(ul, at), 1);
    assert_int_equal(yb_uidlist_lookup(ul, over), 0);
    assert_int_equal(yb_uidlist_lookup(ul, "ok"), 2);
    yb_uidlist_free(&ul);
    ul = open_list(NULL, 0);
    assert_int_equal(yb_uidlist_lookup(ul, at), 1);
    yb_uidlist_free(&ul);
}

static void test_take_over_dovecot_v3(void **state)
{
    (void)state;
    assert_int_equal(yb_test_write_in(g_dir, "dovecot-uidlist",
                                      "3 V1234567 N41 G0123456789abcdef0123456789abcdef\n"
                                      "7 W2100 S2048 :1700000000.M1P2.old:2,S\n"
                                      "40 :1700000001.M2P2.old\n"),
                     0);
    struct yb_uidlist *ul = open_list(NULL, 0);
    assert_int_equal(yb_uidlist_validity(ul), 1234567);
    assert_int_equal(yb_uidlist_next(ul), 41);
    assert_int_equal(yb_uidlist_lookup(ul, "1700000000.M1P2.old"), 7);
    assert_int_equal(yb_uidlist_lookup(ul, "1700000001.M2P2.old"), 40);
    const char *n[] = { "new1" };
    uint32_t first;
    assert_int_equal(yb_uidlist_assign(ul, n, 1, &first), 0);
    assert_int_equal(first, 41);
    yb_uidlist_free(&ul);
    /* From now on our own list is read; Dovecot's is left as it was. */
    ul = open_list(NULL, 0);
    assert_int_equal(yb_uidlist_validity(ul), 1234567);
    assert_int_equal(yb_uidlist_lookup(ul, "new1"), 41);
    yb_uidlist_free(&ul);
}

static void test_take_over_courier_and_dovecot_v1(void **state)
{
    (void)state;
    assert_int_equal(yb_test_write_in(g_dir, "courierimapuiddb",
                                      "1 99 12\n3 1600000000.a.host:2,RS\n11 1600000001.b.host\n"),
                     0);
    struct yb_uidlist *ul = open_list(NULL, 0);
    assert_int_equal(yb_uidlist_validity(ul), 99);
    assert_int_equal(yb_uidlist_next(ul), 12);
    assert_int_equal(yb_uidlist_lookup(ul, "1600000000.a.host"), 3);
    assert_int_equal(yb_uidlist_lookup(ul, "1600000001.b.host"), 11);
    yb_uidlist_free(&ul);
}

static void test_foreign_garbage_starts_fresh(void **state)
{
    (void)state;
    assert_int_equal(yb_test_write_in(g_dir, "dovecot-uidlist", "9 what is this\n"), 0);
    struct yb_uidlist *ul = open_list(NULL, 0);
    assert_int_equal(yb_uidlist_count(ul), 0);
    assert_int_equal(yb_uidlist_next(ul), 1);
    assert_true(yb_uidlist_validity(ul) > 1000000000u); /* a fresh, time-based value */
    yb_uidlist_free(&ul);
}

struct locker {
    bool got;
    uint64_t waited_ms;
};

static void lock_thread(void *arg)
{
    struct locker *l = arg;
    struct yb_folder_lock *lk = NULL;
    uint64_t t0 = pal_time_mono_ms();
    l->got = yb_folder_lock(g_dir, &lk) == 0;
    l->waited_ms = pal_time_mono_ms() - t0;
    yb_folder_unlock(&lk);
}

static void test_folder_lock_excludes_and_is_released(void **state)
{
    (void)state;
    struct yb_folder_lock *a = NULL;
    assert_int_equal(yb_folder_lock(g_dir, &a), 0);
    struct locker l = { false, 0 };
    struct pal_thread *t = NULL;
    assert_int_equal(pal_thread_start(&t, lock_thread, &l), 0);
    pal_sleep_ms(200);
    yb_folder_unlock(&a);
    assert_int_equal(pal_thread_join(&t), 0);
    assert_true(l.got);
    assert_true(l.waited_ms >= 150); /* it had to wait for the holder */
    /* Free again for the next taker. */
    assert_int_equal(yb_folder_lock(g_dir, &a), 0);
    yb_folder_unlock(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_folder_assign_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles_share_numbering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_never_reuses_uids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation_at_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_line_keeps_uids_before_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_and_invalid_bytes_in_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_over_dovecot_v3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_over_courier_and_dovecot_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_garbage_starts_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_lock_excludes_and_is_released, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
