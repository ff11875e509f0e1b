/*
 * test_file.c - files, directories, locks, the atomic helpers and fault
 * injection through struct pal_fs_ops.
 *
 * Every test gets a fresh directory (setup) which teardown removes; teardown
 * also restores the default fs ops, so a failed fault-injection test cannot
 * leak its table into the next test.
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
#include "yb_test.h"

static char g_dir[PAL_PATH_MAX];

static int setup_dir(void **state)
{
    (void)state;
    pal_fs_set_ops(NULL);
    return yb_test_tmpdir("file", g_dir, sizeof g_dir) == 0 ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    pal_fs_set_ops(NULL);
    int rc = pal_file_remove_tree(g_dir);
    return rc == 0 && !pal_file_exists(g_dir) ? 0 : -1;
}

/* g_dir/name into buf (PAL_PATH_MAX bytes). */
static const char *P(char *buf, const char *name)
{
    assert_int_equal(pal_path_join(buf, PAL_PATH_MAX, g_dir, name), 0);
    return buf;
}

static void put_file(const char *path, const char *text)
{
    struct pal_file *f = NULL;
    assert_int_equal(pal_fs_open(path, PAL_O_WRONLY | PAL_O_CREAT | PAL_O_TRUNC, 0644, &f), 0);
    assert_int_equal(pal_file_write_all(f, text, strlen(text)), 0);
    assert_int_equal(pal_fs_close(&f), 0);
    assert_null(f);
}

static void assert_file_is(const char *path, const void *want, size_t len)
{
    char *data = NULL;
    size_t got = 0;
    assert_int_equal(pal_file_read_all(path, len + 16, &data, &got), 0);
    assert_int_equal(got, len);
    assert_memory_equal(data, want, len);
    free(data);
}

/* Lists dir; fails unless its entries are exactly names[0..n). */
static void assert_dir_is(const char *dir, const char *const *names, size_t n)
{
    struct pal_dir *d = NULL;
    bool seen[16] = { false };
    size_t count = 0;
    assert_true(n <= 16);
    assert_int_equal(pal_fs_dir_open(dir, &d), 0);
    for (int guard = 0; guard < 1000; guard++) {
        struct pal_dirent ent = { .name = "sentinel" };
        assert_int_equal(pal_fs_dir_next(d, &ent), 0);
        if (!ent.name)
            break;
        if (strcmp(ent.name, ".") == 0 || strcmp(ent.name, "..") == 0)
            fail_msg("dir listing returned \"%s\"", ent.name);
        size_t i = 0;
        while (i < n && strcmp(ent.name, names[i]) != 0)
            i++;
        if (i == n)
            fail_msg("unexpected entry \"%s\" in %s", ent.name, dir);
        if (seen[i])
            fail_msg("entry \"%s\" listed twice", ent.name);
        seen[i] = true;
        count++;
    }
    pal_fs_dir_close(&d);
    assert_null(d);
    for (size_t i = 0; i < n; i++)
        if (!seen[i])
            fail_msg("entry \"%s\" missing from listing", names[i]);
    assert_int_equal(count, n);
}

/* ---- plain file operations ---- */

static void test_create_exclusive(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    struct pal_file *f = NULL, *g = NULL;
    unsigned fl = PAL_O_WRONLY | PAL_O_CREAT | PAL_O_EXCL;
    assert_int_equal(pal_fs_open(P(p, "x"), fl, 0600, &f), 0);
    assert_non_null(f);
    assert_int_equal(pal_fs_open(p, fl, 0600, &g), YB_EEXIST);
    assert_int_equal(pal_fs_close(&f), 0);
    assert_int_equal(pal_fs_open(p, fl, 0600, &g), YB_EEXIST);
    assert_int_equal(pal_fs_open(p, PAL_O_WRONLY | PAL_O_CREAT, 0600, &g), 0);
    assert_int_equal(pal_fs_close(&g), 0);
    /* Opening a missing file without CREAT. */
    assert_int_equal(pal_fs_open(P(p, "missing"), PAL_O_RDONLY, 0, &f), YB_ENOENT);
}

static void test_write_read_seek_truncate(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX], buf[64];
    struct pal_file *f = NULL;
    size_t n = 0;
    struct pal_stat st;
    assert_int_equal(pal_fs_open(P(p, "rw"), PAL_O_RDWR | PAL_O_CREAT, 0644, &f), 0);
    assert_int_equal(pal_file_write_all(f, "hello, world", 12), 0);
    assert_int_equal(pal_fs_fstat(f, &st), 0);
    assert_int_equal(st.size, 12);
    assert_int_equal(st.type, PAL_FT_FILE);
    assert_int_equal(pal_fs_sync(f), 0);

    assert_int_equal(pal_fs_seek(f, 0), 0);
    assert_int_equal(pal_fs_read(f, buf, 5, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "hello", 5);
    /* pread neither depends on nor moves the position. */
    assert_int_equal(pal_fs_pread(f, buf, 5, 7, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(pal_fs_read(f, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, ", world", 7);
    assert_int_equal(pal_fs_read(f, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 0); /* end of file */
    assert_int_equal(pal_fs_pread(f, buf, sizeof buf, 100, &n), 0);
    assert_int_equal(n, 0);

    assert_int_equal(pal_fs_truncate(f, 5), 0);
    assert_int_equal(pal_fs_fstat(f, &st), 0);
    assert_int_equal(st.size, 5);
    /* Seek past the end then write: the gap reads as zeros. */
    assert_int_equal(pal_fs_seek(f, 8), 0);
    assert_int_equal(pal_file_write_all(f, "Z", 1), 0);
    assert_int_equal(pal_fs_pread(f, buf, sizeof buf, 0, &n), 0);
    assert_int_equal(n, 9);
    assert_memory_equal(buf, "hello\0\0\0Z", 9);
    assert_int_equal(pal_fs_close(&f), 0);
    assert_null(f);

    assert_int_equal(pal_fs_stat(p, &st), 0);
    assert_int_equal(st.size, 9);
    assert_int_equal(st.nlink, 1);
    assert_true(st.mtime_ns > 1704067200LL * 1000000000LL); /* after 2024 */
}

static void test_append_and_trunc_flags(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    struct pal_file *f = NULL;
    put_file(P(p, "a"), "one");
    assert_int_equal(pal_fs_open(p, PAL_O_WRONLY | PAL_O_APPEND, 0, &f), 0);
    assert_int_equal(pal_fs_seek(f, 0), 0); /* append writes at the end regardless */
    assert_int_equal(pal_file_write_all(f, "two", 3), 0);
    assert_int_equal(pal_fs_close(&f), 0);
    assert_file_is(p, "onetwo", 6);
    assert_int_equal(pal_fs_open(p, PAL_O_WRONLY | PAL_O_TRUNC, 0, &f), 0);
    assert_int_equal(pal_fs_close(&f), 0);
    assert_file_is(p, "", 0);
}

static void test_read_all_limits(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    static const char body[] = "line one\r\nbinary\0zero\r\n"; /* holds a NUL */
    size_t blen = sizeof body - 1;
    struct pal_file *f = NULL;
    assert_int_equal(pal_fs_open(P(p, "r"), PAL_O_WRONLY | PAL_O_CREAT, 0644, &f), 0);
    assert_int_equal(pal_file_write_all(f, body, blen), 0);
    assert_int_equal(pal_fs_close(&f), 0);

    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pal_file_read_all(p, blen, &data, &len), 0); /* at the limit */
    assert_int_equal(len, blen);
    assert_memory_equal(data, body, blen);
    assert_int_equal(data[len], '\0');
    free(data);
    data = NULL;
    assert_int_equal(pal_file_read_all(p, blen - 1, &data, &len), YB_ELIMIT);
    assert_int_equal(pal_file_read_all(p, 0, &data, &len), YB_ELIMIT);

    put_file(P(p, "empty"), "");
    data = NULL;
    len = 99;
    assert_int_equal(pal_file_read_all(p, 0, &data, &len), 0); /* 0 bytes fit in 0 */
    assert_int_equal(len, 0);
    assert_non_null(data);
    assert_int_equal(data[0], '\0');
    free(data);
    assert_int_equal(pal_file_read_all(P(p, "nope"), 100, &data, &len), YB_ENOENT);
}

/* A bigger file through the growth path; SIZE_MAX means "any size". */
static void test_read_all_big_and_unlimited(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    const size_t big = 100000;
    char *body = malloc(big);
    assert_non_null(body);
    for (size_t i = 0; i < big; i++)
        body[i] = (char)('A' + i % 23);
    struct pal_file *f = NULL;
    assert_int_equal(pal_fs_open(P(p, "big"), PAL_O_WRONLY | PAL_O_CREAT, 0644, &f), 0);
    assert_int_equal(pal_file_write_all(f, body, big), 0);
    assert_int_equal(pal_fs_close(&f), 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pal_file_read_all(p, big, &data, &len), 0);
    assert_int_equal(len, big);
    assert_memory_equal(data, body, big);
    free(data);
    assert_int_equal(pal_file_read_all(p, big - 1, &data, &len), YB_ELIMIT);
    data = NULL;
    int rc = pal_file_read_all(p, SIZE_MAX, &data, &len);
    if (rc != 0)
        fail_msg("pal_file_read_all(max = SIZE_MAX) of %u bytes gave %s", (unsigned)big,
                 yb_errname(rc));
    assert_int_equal(len, big);
    free(data);
    free(body);
}

static void test_rename_over_existing(void **state)
{
    (void)state;
    char a[PAL_PATH_MAX], b[PAL_PATH_MAX];
    put_file(P(a, "src"), "new content");
    put_file(P(b, "dst"), "old");
    assert_int_equal(pal_fs_rename(a, b), 0);
    assert_false(pal_file_exists(a));
    assert_file_is(b, "new content", 11);
    assert_int_equal(pal_fs_rename(a, b), YB_ENOENT);
}

static void test_hard_link(void **state)
{
    (void)state;
    char a[PAL_PATH_MAX], b[PAL_PATH_MAX];
    put_file(P(a, "orig"), "data");
    int rc = pal_fs_link(a, P(b, "alias"));
    if (rc == YB_ENOTSUP) {
        print_message("hard links not supported on this file system\n");
        skip();
    }
    assert_int_equal(rc, 0);
    struct pal_stat sa, sb;
    assert_int_equal(pal_fs_stat(a, &sa), 0);
    assert_int_equal(pal_fs_stat(b, &sb), 0);
    assert_int_equal(sa.nlink, 2);
    assert_int_equal(sb.nlink, 2);
    assert_true(sa.file_id == sb.file_id);
    assert_true(sa.dev_id == sb.dev_id);
    assert_int_equal(pal_fs_link(a, b), YB_EEXIST);
    assert_int_equal(pal_fs_unlink(a), 0);
    assert_int_equal(pal_fs_stat(b, &sb), 0);
    assert_int_equal(sb.nlink, 1);
    assert_file_is(b, "data", 4);
}

static void test_unlink_stat_exists(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    struct pal_stat st;
    put_file(P(p, "f"), "abc");
    assert_true(pal_file_exists(p));
    assert_true(pal_file_exists(g_dir));
    assert_int_equal(pal_fs_stat(p, &st), 0);
    assert_int_equal(st.type, PAL_FT_FILE);
    assert_int_equal(st.size, 3);
    assert_int_equal(pal_fs_stat(g_dir, &st), 0);
    assert_int_equal(st.type, PAL_FT_DIR);
    assert_int_equal(pal_fs_unlink(p), 0);
    assert_false(pal_file_exists(p));
    assert_int_equal(pal_fs_stat(p, &st), YB_ENOENT);
    assert_int_equal(pal_fs_unlink(p), YB_ENOENT);
    assert_int_equal(pal_fs_stat(P(p, "no/such/dir"), &st), YB_ENOENT);
}

static void test_mkdir_rmdir(void **state)
{
    (void)state;
    char d[PAL_PATH_MAX], f[PAL_PATH_MAX];
    assert_int_equal(pal_fs_mkdir(P(d, "sub")), 0);
    assert_int_equal(pal_fs_mkdir(d), YB_EEXIST);
    assert_int_equal(pal_path_join(f, sizeof f, d, "file"), 0);
    put_file(f, "x");
    assert_int_equal(pal_fs_rmdir(d), YB_ENOTEMPTY);
    assert_int_equal(pal_fs_unlink(f), 0);
    assert_int_equal(pal_fs_rmdir(d), 0);
    assert_false(pal_file_exists(d));
    assert_int_equal(pal_fs_rmdir(d), YB_ENOENT);
    assert_int_equal(pal_fs_sync_dir(g_dir), 0);
}

static void test_mkdirs_and_remove_tree(void **state)
{
    (void)state;
    char top[PAL_PATH_MAX], deep[PAL_PATH_MAX], f[PAL_PATH_MAX];
    P(top, "a");
    assert_int_equal(pal_path_join(deep, sizeof deep, top, "b/c/d"), 0);
    assert_int_equal(pal_file_mkdirs(deep), 0);
    assert_int_equal(pal_file_mkdirs(deep), 0); /* existing is not an error */
    struct pal_stat st;
    assert_int_equal(pal_fs_stat(deep, &st), 0);
    assert_int_equal(st.type, PAL_FT_DIR);
    assert_int_equal(pal_path_join(f, sizeof f, deep, "file"), 0);
    put_file(f, "x");
    assert_int_equal(pal_path_join(f, sizeof f, top, "b/top-file"), 0);
    put_file(f, "y");
    /* A file in the way of mkdirs is an error. */
    assert_int_equal(pal_path_join(deep, sizeof deep, f, "under-a-file"), 0);
    assert_true(pal_file_mkdirs(deep) < 0);

    assert_int_equal(pal_file_remove_tree(top), 0);
    assert_false(pal_file_exists(top));
    assert_int_equal(pal_file_remove_tree(top), 0); /* missing is not an error */
    assert_dir_is(g_dir, NULL, 0);
}

static void test_dir_iteration_utf8(void **state)
{
    (void)state;
    static const char *const names[] = { "plain.txt",      "日本語.txt", "café",
                                         "Ünïcødé-Ordner", "emoji-📬",    ".hidden" };
    const size_t n = sizeof names / sizeof names[0];
    char p[PAL_PATH_MAX];
    assert_dir_is(g_dir, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        if (i == 3)
            assert_int_equal(pal_fs_mkdir(P(p, names[i])), 0);
        else
            put_file(P(p, names[i]), names[i]);
    }
    assert_dir_is(g_dir, names, n);

    /* Types, when reported, are right; content round-trips through UTF-8 paths. */
    struct pal_dir *d = NULL;
    assert_int_equal(pal_fs_dir_open(g_dir, &d), 0);
    for (int guard = 0; guard < 100; guard++) {
        struct pal_dirent ent;
        assert_int_equal(pal_fs_dir_next(d, &ent), 0);
        if (!ent.name)
            break;
        bool is_dir = strcmp(ent.name, names[3]) == 0;
        if (ent.type != PAL_FT_UNKNOWN)
            assert_int_equal(ent.type, is_dir ? PAL_FT_DIR : PAL_FT_FILE);
    }
    pal_fs_dir_close(&d);
    assert_file_is(P(p, "日本語.txt"), "日本語.txt", strlen("日本語.txt"));
    /* A non-ASCII directory can be listed and entered. */
    char sub[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(sub, sizeof sub, P(p, "Ünïcødé-Ordner"), "ß.txt"), 0);
    put_file(sub, "inner");
    static const char *const inner[] = { "ß.txt" };
    assert_dir_is(p, inner, 1);
    assert_int_equal(pal_fs_dir_open(P(p, "missing-dir"), &d), YB_ENOENT);
}

static void test_path_join_limits(void **state)
{
    (void)state;
    char buf[16];
    assert_int_equal(pal_path_join(buf, 8, "abc", "def"), 0); /* "abc/def" + NUL = 8 */
    assert_string_equal(buf, "abc/def");
    assert_int_equal(pal_path_join(buf, 7, "abc", "def"), YB_ENAMETOOLONG);
    assert_int_equal(pal_path_join(buf, 1, "abc", "def"), YB_ENAMETOOLONG);
    assert_int_equal(pal_path_join(buf, sizeof buf, "日本", "x"), 0);
    assert_string_equal(buf, "日本/x");

    /* At PAL_PATH_MAX scale. */
    static char a[PAL_PATH_MAX], out[PAL_PATH_MAX];
    memset(a, 'a', sizeof a);
    a[PAL_PATH_MAX - 3] = '\0'; /* strlen(a) + "/" + "b" + NUL == PAL_PATH_MAX */
    assert_int_equal(pal_path_join(out, sizeof out, a, "b"), 0);
    assert_int_equal(strlen(out), PAL_PATH_MAX - 1);
    assert_int_equal(pal_path_join(out, sizeof out, a, "bc"), YB_ENAMETOOLONG);
}

static void test_maildir_info_sep(void **state)
{
    (void)state;
    char c = pal_maildir_info_sep();
    assert_true(c == ':' || c == ';');
    assert_true(c == pal_maildir_info_sep());
}

/* ---- locks ---- */

static void test_locks(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    struct pal_file *a = NULL, *b = NULL;
    put_file(P(p, "lockfile"), "x");
    assert_int_equal(pal_fs_open(p, PAL_O_RDWR, 0, &a), 0);
    assert_int_equal(pal_fs_open(p, PAL_O_RDWR, 0, &b), 0);

    assert_int_equal(pal_fs_lock(a, PAL_LOCK_EX | PAL_LOCK_NB), 0);
    assert_int_equal(pal_fs_lock(b, PAL_LOCK_EX | PAL_LOCK_NB), YB_EBUSY);
    assert_int_equal(pal_fs_lock(b, PAL_LOCK_SH | PAL_LOCK_NB), YB_EBUSY);
    assert_int_equal(pal_fs_unlock(a), 0);
    assert_int_equal(pal_fs_lock(b, PAL_LOCK_EX | PAL_LOCK_NB), 0);
    assert_int_equal(pal_fs_lock(a, PAL_LOCK_SH | PAL_LOCK_NB), YB_EBUSY);
    assert_int_equal(pal_fs_unlock(b), 0);

    assert_int_equal(pal_fs_lock(a, PAL_LOCK_SH | PAL_LOCK_NB), 0);
    assert_int_equal(pal_fs_lock(b, PAL_LOCK_SH | PAL_LOCK_NB), 0);
    assert_int_equal(pal_fs_unlock(a), 0);
    assert_int_equal(pal_fs_unlock(b), 0);

    /* Closing the holder releases its lock. */
    assert_int_equal(pal_fs_lock(a, PAL_LOCK_EX | PAL_LOCK_NB), 0);
    assert_int_equal(pal_fs_close(&a), 0);
    assert_int_equal(pal_fs_lock(b, PAL_LOCK_EX | PAL_LOCK_NB), 0);
    assert_int_equal(pal_fs_unlock(b), 0);
    assert_int_equal(pal_fs_close(&b), 0);
}

/* ---- fault injection ---- */

enum fault_mode {
    F_PASS = 0,      /* pass through, counting */
    F_SHORT = 1,     /* every write puts at most one byte */
    F_ENOSPC = 2,    /* writes fail with YB_ENOSPC once `budget` bytes were written */
    F_SYNC_EIO = 3,  /* sync fails with YB_EIO */
    F_RENAME_EIO = 4 /* rename fails with YB_EIO */
};

static struct {
    enum fault_mode mode;
    size_t budget;
    int writes, syncs, renames, sync_dirs;
    int sync_before_rename; /* syncs seen when the first rename was called */
    int renames_before_sync_dir;
    const struct pal_fs_ops *real;
} g_fault;

static int fault_write(struct pal_file *f, const void *buf, size_t len, size_t *put_r)
{
    g_fault.writes++;
    if (g_fault.mode == F_SHORT && len > 1)
        len = 1;
    if (g_fault.mode == F_ENOSPC) {
        if (g_fault.budget == 0)
            return YB_ENOSPC;
        if (len > g_fault.budget)
            len = g_fault.budget;
    }
    int rc = g_fault.real->write(f, buf, len, put_r);
    if (rc == 0 && g_fault.mode == F_ENOSPC)
        g_fault.budget -= *put_r;
    return rc;
}

static int fault_sync(struct pal_file *f)
{
    g_fault.syncs++;
    if (g_fault.mode == F_SYNC_EIO)
        return YB_EIO;
    return g_fault.real->sync(f);
}

static int fault_rename(const char *from, const char *to)
{
    if (g_fault.renames++ == 0)
        g_fault.sync_before_rename = g_fault.syncs;
    if (g_fault.mode == F_RENAME_EIO)
        return YB_EIO;
    return g_fault.real->rename(from, to);
}

static int fault_sync_dir(const char *path)
{
    if (g_fault.sync_dirs++ == 0)
        g_fault.renames_before_sync_dir = g_fault.renames;
    return g_fault.real->sync_dir(path);
}

static struct pal_fs_ops g_fault_ops;

static void install_faults(enum fault_mode mode, size_t budget)
{
    memset(&g_fault, 0, sizeof g_fault);
    g_fault.mode = mode;
    g_fault.budget = budget;
    g_fault.real = pal_fs_default_ops();
    assert_non_null(g_fault.real);
    g_fault_ops = *g_fault.real;
    g_fault_ops.write = fault_write;
    g_fault_ops.sync = fault_sync;
    g_fault_ops.rename = fault_rename;
    g_fault_ops.sync_dir = fault_sync_dir;
    const struct pal_fs_ops *prev = pal_fs_set_ops(&g_fault_ops);
    assert_ptr_equal(prev, pal_fs_default_ops());
    assert_ptr_equal(pal_fs_ops(), &g_fault_ops);
}

static void test_set_ops_restore(void **state)
{
    (void)state;
    const struct pal_fs_ops *def = pal_fs_default_ops();
    assert_ptr_equal(pal_fs_ops(), def);
    install_faults(F_PASS, 0);
    assert_ptr_equal(pal_fs_set_ops(NULL), &g_fault_ops);
    assert_ptr_equal(pal_fs_ops(), def);
}

static void test_write_all_loops_short_writes(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    unsigned char data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    struct pal_file *f = NULL;
    assert_int_equal(pal_fs_open(P(p, "short"), PAL_O_WRONLY | PAL_O_CREAT, 0644, &f), 0);
    install_faults(F_SHORT, 0);
    assert_int_equal(pal_file_write_all(f, data, sizeof data), 0);
    int writes = g_fault.writes;
    pal_fs_set_ops(NULL);
    assert_int_equal(pal_fs_close(&f), 0);
    assert_int_equal(writes, (int)sizeof data);
    assert_file_is(p, data, sizeof data);
}

static void test_write_all_enospc(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    char data[1000];
    memset(data, 'q', sizeof data);
    struct pal_file *f = NULL;
    assert_int_equal(pal_fs_open(P(p, "full"), PAL_O_WRONLY | PAL_O_CREAT, 0644, &f), 0);
    install_faults(F_ENOSPC, 100);
    assert_int_equal(pal_file_write_all(f, data, sizeof data), YB_ENOSPC);
    pal_fs_set_ops(NULL);
    assert_int_equal(pal_fs_close(&f), 0);
    struct pal_stat st;
    assert_int_equal(pal_fs_stat(p, &st), 0);
    assert_int_equal(st.size, 100); /* what fit before the disk filled up */
}

static void test_replace_new_and_existing(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    static const char *const only[] = { "target.tab" };
    P(p, "target.tab");
    install_faults(F_PASS, 0);
    assert_int_equal(pal_file_replace(p, "first\n", 6), 0);
    assert_file_is(p, "first\n", 6);
    assert_dir_is(g_dir, only, 1);
    /* Durable: the temporary was synced before the rename, the dir after it. */
    assert_true(g_fault.renames >= 1);
    assert_true(g_fault.sync_before_rename >= 1);
    assert_true(g_fault.sync_dirs >= 1);
    assert_true(g_fault.renames_before_sync_dir >= 1);

    struct pal_stat before, after;
    assert_int_equal(pal_fs_stat(p, &before), 0);
    static const char big[] = "a longer second version\0with a NUL\n";
    assert_int_equal(pal_file_replace(p, big, sizeof big - 1), 0);
    assert_file_is(p, big, sizeof big - 1);
    assert_int_equal(pal_fs_stat(p, &after), 0);
    assert_true(before.file_id != after.file_id);     /* a new file, not rewritten in place */
    assert_int_equal(pal_file_replace(p, "s", 1), 0); /* shorter: no stale tail */
    assert_file_is(p, "s", 1);
    assert_int_equal(pal_file_replace(p, "", 0), 0);
    assert_file_is(p, "", 0);
    assert_dir_is(g_dir, only, 1);
}

static void replace_must_fail(enum fault_mode mode, size_t budget, int want)
{
    char p[PAL_PATH_MAX];
    static const char *const only[] = { "victim.tab" };
    static const char orig[] = "original content\n";
    char data[5000];
    memset(data, 'N', sizeof data);
    put_file(P(p, "victim.tab"), orig);
    install_faults(mode, budget);
    int rc = pal_file_replace(p, data, sizeof data);
    pal_fs_set_ops(NULL);
    if (rc != want)
        fail_msg("mode %d: pal_file_replace gave %s, want %s", (int)mode, yb_errname(rc),
                 yb_errname(want));
    assert_file_is(p, orig, sizeof orig - 1);
    assert_dir_is(g_dir, only, 1); /* no temporary left behind */
}

static void test_replace_enospc(void **state)
{
    (void)state;
    replace_must_fail(F_ENOSPC, 1000, YB_ENOSPC);
}

static void test_replace_enospc_at_once(void **state)
{
    (void)state;
    replace_must_fail(F_ENOSPC, 0, YB_ENOSPC);
}

static void test_replace_sync_eio(void **state)
{
    (void)state;
    replace_must_fail(F_SYNC_EIO, 0, YB_EIO);
}

static void test_replace_rename_fails(void **state)
{
    (void)state;
    replace_must_fail(F_RENAME_EIO, 0, YB_EIO);
}

static void test_replace_missing_dir(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    assert_int_equal(pal_file_replace(P(p, "no-such-dir/file"), "x", 1), YB_ENOENT);
    assert_dir_is(g_dir, NULL, 0);
}

/* A legal file name near the 255-byte component limit can be replaced too. */
static void test_replace_long_name(void **state)
{
    (void)state;
    char name[251], p[PAL_PATH_MAX];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    put_file(P(p, name), "old");
    const char *const only[] = { name };
    int rc = pal_file_replace(p, "new", 3);
    if (rc != 0)
        fail_msg("pal_file_replace of a %u-byte file name gave %s", (unsigned)strlen(name),
                 yb_errname(rc));
    assert_file_is(p, "new", 3);
    assert_dir_is(g_dir, only, 1);
}

static void test_replace_short_writes(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    static const char *const only[] = { "short.tab" };
    char data[700];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('a' + i % 26);
    put_file(P(p, "short.tab"), "old");
    install_faults(F_SHORT, 0);
    assert_int_equal(pal_file_replace(p, data, sizeof data), 0);
    pal_fs_set_ops(NULL);
    assert_file_is(p, data, sizeof data);
    assert_dir_is(g_dir, only, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_exclusive),
        T(test_write_read_seek_truncate),
        T(test_append_and_trunc_flags),
        T(test_read_all_limits),
        T(test_read_all_big_and_unlimited),
        T(test_rename_over_existing),
        T(test_hard_link),
        T(test_unlink_stat_exists),
        T(test_mkdir_rmdir),
        T(test_mkdirs_and_remove_tree),
        T(test_dir_iteration_utf8),
        T(test_path_join_limits),
        T(test_maildir_info_sep),
        T(test_locks),
        T(test_set_ops_restore),
        T(test_write_all_loops_short_writes),
        T(test_write_all_enospc),
        T(test_replace_new_and_existing),
        T(test_replace_enospc),
        T(test_replace_enospc_at_once),
        T(test_replace_sync_eio),
        T(test_replace_rename_fails),
        T(test_replace_missing_dir),
        T(test_replace_long_name),
        T(test_replace_short_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
