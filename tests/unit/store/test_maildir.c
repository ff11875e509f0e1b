/*
 * test_maildir.c - Maildir delivery: unique names, one and many
 * destinations, Maildir++ quota and maildirsize, and every failure path
 * driven through injected file operations.
 *
 * Each test gets a fresh directory; teardown restores the default fs ops so
 * a failed fault-injection test cannot leak its table into the next one.
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
#include "pal_compiler.h"
#include "pal_file.h"
#include "yb_maildir.h"
#include "yb_test.h"

static char g_dir[PAL_PATH_MAX];

/* ---- fault injection ---- */

static struct pal_fs_ops g_ops;
static int g_write_err;    /* every write fails with this */
static size_t g_write_max; /* short writes: at most this many bytes per call */
static int g_sync_err;     /* sync call number g_sync_fail_at fails with this */
static int g_sync_fail_at; /* 1-based; 0: every call */
static int g_sync_calls;
static bool g_sync_noop;   /* sync and sync_dir succeed without syncing (speed) */
static int g_link_err;     /* link call number g_link_fail_at fails with this */
static int g_link_fail_at; /* 1-based; 0: every call */
static int g_link_calls;
static int g_syncdir_err; /* sync_dir call number g_syncdir_fail_at fails */
static int g_syncdir_fail_at;
static int g_syncdir_calls;
static int g_dir_opens;   /* dir_open calls */
static int g_open_eexist; /* opens that found the name taken */

static bool hits(int calls, int at)
{
    return at == 0 || calls == at;
}

static int f_write(struct pal_file *f, const void *buf, size_t len, size_t *put_r)
{
    if (g_write_err != 0)
        return g_write_err;
    if (g_write_max != 0 && len > g_write_max)
        len = g_write_max;
    return pal_fs_default_ops()->write(f, buf, len, put_r);
}

static int f_sync(struct pal_file *f)
{
    g_sync_calls++;
    if (g_sync_err != 0 && hits(g_sync_calls, g_sync_fail_at))
        return g_sync_err;
    if (g_sync_noop)
        return 0;
    return pal_fs_default_ops()->sync(f);
}

static int f_link(const char *from, const char *to)
{
    g_link_calls++;
    if (g_link_err != 0 && hits(g_link_calls, g_link_fail_at))
        return g_link_err;
    return pal_fs_default_ops()->link(from, to);
}

static int f_sync_dir(const char *path)
{
    g_syncdir_calls++;
    if (g_syncdir_err != 0 && hits(g_syncdir_calls, g_syncdir_fail_at))
        return g_syncdir_err;
    if (g_sync_noop)
        return 0;
    return pal_fs_default_ops()->sync_dir(path);
}

static int f_dir_open(const char *path, struct pal_dir **dir_r)
{
    g_dir_opens++;
    return pal_fs_default_ops()->dir_open(path, dir_r);
}

static int f_open(const char *path, unsigned flags, unsigned mode, struct pal_file **file_r)
{
    int rc = pal_fs_default_ops()->open(path, flags, mode, file_r);
    if (rc == YB_EEXIST)
        g_open_eexist++;
    return rc;
}

static void faults_install(void)
{
    g_ops = *pal_fs_default_ops();
    g_ops.write = f_write;
    g_ops.sync = f_sync;
    g_ops.link = f_link;
    g_ops.sync_dir = f_sync_dir;
    g_ops.dir_open = f_dir_open;
    g_ops.open = f_open;
    pal_fs_set_ops(&g_ops);
}

static void faults_reset(void)
{
    g_write_err = 0;
    g_write_max = 0;
    g_sync_err = g_sync_fail_at = g_sync_calls = 0;
    g_sync_noop = false;
    g_link_err = g_link_fail_at = g_link_calls = 0;
    g_syncdir_err = g_syncdir_fail_at = g_syncdir_calls = 0;
    g_dir_opens = 0;
    g_open_eexist = 0;
}

static int setup_dir(void **state)
{
    (void)state;
    pal_fs_set_ops(NULL);
    faults_reset();
    return yb_test_tmpdir("maildir", g_dir, sizeof g_dir) == 0 ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    pal_fs_set_ops(NULL);
    faults_reset();
    int rc = pal_file_remove_tree(g_dir);
    return rc == 0 && !pal_file_exists(g_dir) ? 0 : -1;
}

/* ---- helpers ---- */

/* g_dir/a[/b] into buf (PAL_PATH_MAX bytes). */
static const char *P(char *buf, const char *a, const char *b)
{
    char tmp[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(tmp, sizeof tmp, g_dir, a), 0);
    if (b == NULL) {
        memcpy(buf, tmp, strlen(tmp) + 1);
        return buf;
    }
    assert_int_equal(pal_path_join(buf, PAL_PATH_MAX, tmp, b), 0);
    return buf;
}

static size_t count_entries(const char *dir)
{
    struct pal_dir *d = NULL;
    size_t n = 0;
    assert_int_equal(pal_fs_default_ops()->dir_open(dir, &d), 0);
    for (;;) {
        struct pal_dirent ent;
        assert_int_equal(pal_fs_dir_next(d, &ent), 0);
        if (ent.name == NULL)
            break;
        n++;
    }
    pal_fs_dir_close(&d);
    return n;
}

/* The one entry of dir, copied into name (PAL_PATH_MAX). */
static void only_entry(const char *dir, char *name)
{
    struct pal_dir *d = NULL;
    size_t n = 0;
    assert_int_equal(pal_fs_default_ops()->dir_open(dir, &d), 0);
    for (;;) {
        struct pal_dirent ent;
        assert_int_equal(pal_fs_dir_next(d, &ent), 0);
        if (ent.name == NULL)
            break;
        assert_true(strlen(ent.name) < PAL_PATH_MAX);
        memcpy(name, ent.name, strlen(ent.name) + 1);
        n++;
    }
    pal_fs_dir_close(&d);
    assert_int_equal(n, 1);
}

/* Fails unless Maildir m (under g_dir) has exactly n messages in new/ and nothing in tmp/. */
static void assert_maildir(const char *m, size_t n)
{
    char p[PAL_PATH_MAX];
    assert_int_equal(count_entries(P(p, m, "new")), n);
    assert_int_equal(count_entries(P(p, m, "tmp")), 0);
    assert_int_equal(count_entries(P(p, m, "cur")), 0);
}

/* Fails if Maildir m has anything in new/ or tmp/; a Maildir not created yet passes. */
static void assert_no_message(const char *m)
{
    char p[PAL_PATH_MAX];
    if (pal_file_exists(P(p, m, NULL)))
        assert_maildir(m, 0);
}

static void assert_file_is(const char *path, const void *want, size_t len)
{
    char *data = NULL;
    size_t got = 0;
    assert_int_equal(pal_file_read_all(path, len + 16, &data, &got), 0);
    assert_int_equal(got, len);
    if (len > 0)
        assert_memory_equal(data, want, len);
    free(data);
}

/* The one message in m/new: its path and its content checked. */
static void assert_message(const char *m, const void *data, size_t len, char *path_r)
{
    char dir[PAL_PATH_MAX], name[PAL_PATH_MAX];
    only_entry(P(dir, m, "new"), name);
    assert_int_equal(pal_path_join(path_r, PAL_PATH_MAX, dir, name), 0);
    assert_file_is(path_r, data, len);
}

static uint32_t nlink_of(const char *path)
{
    struct pal_file *f = NULL;
    struct pal_stat st;
    assert_int_equal(pal_fs_open(path, PAL_O_RDONLY, 0, &f), 0);
    assert_int_equal(pal_fs_fstat(f, &st), 0);
    pal_fs_close(&f);
    return st.nlink;
}

/* Delivers len bytes of data to the Maildirs names[0..n) under g_dir; returns commit's code. */
static int deliver_q(const char *const *names, size_t n, const uint64_t *quotas, const void *data,
                     size_t len)
{
    struct yb_maildir_dest dests[8];
    char paths[8][PAL_PATH_MAX];
    struct yb_delivery *d = NULL;
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        dests[i].path = P(paths[i], names[i], NULL);
        dests[i].quota_bytes = quotas != NULL ? quotas[i] : 0;
    }
    int rc = yb_delivery_begin(dests, n, "mx.example.org", &d);
    if (rc != 0)
        return rc;
    assert_non_null(d);
    rc = yb_delivery_write(d, data, len);
    if (rc == 0)
        rc = yb_delivery_commit(d);
    yb_delivery_free(&d);
    assert_null(d);
    return rc;
}

static int deliver(const char *const *names, size_t n, const void *data, size_t len)
{
    return deliver_q(names, n, NULL, data, len);
}

static const char k_msg[] = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n";
#define K_LEN (sizeof k_msg - 1)

static bool parse_digits(const char **pp, uint64_t *v_r)
{
    const char *p = *pp;
    uint64_t v = 0;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (uint64_t)(*p++ - '0');
    *pp = p;
    *v_r = v;
    return true;
}

static bool eat(const char **pp, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*pp, lit, n) != 0)
        return false;
    *pp += n;
    return true;
}

/*
 * Parses <secs>.M<usecs>P<pid>Q<n>R<hex>.<host>,S=<s>,W=<w>; true when the
 * name has that shape, the host is host and S = W.
 */
static bool parse_name(const char *name, const char *host, uint64_t *size_r)
{
    const char *p = name;
    uint64_t v, s, w;
    if (!parse_digits(&p, &v) || !eat(&p, ".M") || !parse_digits(&p, &v) || v >= 1000000)
        return false;
    if (!eat(&p, "P") || !parse_digits(&p, &v) || !eat(&p, "Q") || !parse_digits(&p, &v))
        return false;
    if (!eat(&p, "R"))
        return false;
    size_t hex = 0;
    while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
        p++, hex++;
    if (hex != 16 || !eat(&p, ".") || !eat(&p, host))
        return false;
    if (!eat(&p, ",S=") || !parse_digits(&p, &s) || !eat(&p, ",W=") || !parse_digits(&p, &w))
        return false;
    *size_r = s;
    return *p == '\0' && s == w;
}

/* ---- creating ---- */

static void test_create(void **state)
{
    (void)state;
    char p[PAL_PATH_MAX];
    struct pal_stat st;
    assert_int_equal(yb_maildir_create(P(p, "a/b/Maildir", NULL)), 0);
    assert_int_equal(yb_maildir_create(p), 0); /* again: fine */
    const char *subs[] = { "a/b/Maildir/tmp", "a/b/Maildir/new", "a/b/Maildir/cur" };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(pal_fs_stat(P(p, subs[i], NULL), &st), 0);
        assert_int_equal(st.type, PAL_FT_DIR);
    }
    /* new/ taken by a file */
    assert_int_equal(yb_maildir_create(P(p, "bad", NULL)), 0);
    assert_int_equal(pal_fs_rmdir(P(p, "bad", "new")), 0);
    assert_int_equal(yb_test_write_file(p, "x", 1), 0);
    assert_int_equal(yb_maildir_create(P(p, "bad", NULL)), YB_ENOTDIR);
    assert_int_equal(yb_maildir_create(""), YB_EINVAL);
}

static void test_begin_invalid(void **state)
{
    (void)state;
    struct yb_delivery *d = (struct yb_delivery *)&d;
    struct yb_maildir_dest dest = { NULL, 0 };
    assert_int_equal(yb_delivery_begin(&dest, 0, "h", &d), YB_EINVAL);
    assert_null(d);
    assert_int_equal(yb_delivery_begin(&dest, 1, "h", &d), YB_EINVAL);
    assert_int_equal(yb_delivery_begin(&dest, YB_MAILDIR_MAX_DESTS + 1, "h", &d), YB_EINVAL);
    yb_delivery_free(&d); /* NULL: nothing */
}

/* ---- delivery ---- */

static void test_deliver_one(void **state)
{
    (void)state;
    char path[PAL_PATH_MAX];
    const char *m[] = { "Maildir" };
    struct pal_stat st;
    uint64_t size = 0;
    assert_int_equal(deliver(m, 1, k_msg, K_LEN), 0);
    assert_maildir("Maildir", 1);
    assert_message("Maildir", k_msg, K_LEN, path);
    const char *name = strrchr(path, '/') + 1;
    assert_true(parse_name(name, "mx.example.org", &size));
    assert_int_equal(pal_fs_stat(path, &st), 0);
    assert_int_equal(size, st.size);
    assert_int_equal(size, K_LEN);
    /* no quota: no maildirsize */
    assert_false(pal_file_exists(P(path, "Maildir", "maildirsize")));
}

static void test_deliver_three(void **state)
{
    (void)state;
    char path[3][PAL_PATH_MAX];
    const char *m[] = { "u1/Maildir", "u2/Maildir", "u3/Maildir" };
    assert_int_equal(deliver(m, 3, k_msg, K_LEN), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_maildir(m[i], 1);
        assert_message(m[i], k_msg, K_LEN, path[i]);
        /* One file, three names (where the file system has hard links). */
        uint32_t nl = nlink_of(path[i]);
        if (nl != 1)
            assert_int_equal(nl, 3);
    }
    /* the same name everywhere */
    assert_string_equal(strrchr(path[0], '/'), strrchr(path[1], '/'));
    assert_string_equal(strrchr(path[0], '/'), strrchr(path[2], '/'));
}

static void test_duplicate_dest(void **state)
{
    (void)state;
    char path[PAL_PATH_MAX];
    const char *m[] = { "Maildir", "other", "Maildir" };
    assert_int_equal(deliver(m, 3, k_msg, K_LEN), 0);
    assert_message("Maildir", k_msg, K_LEN, path);
    assert_message("other", k_msg, K_LEN, path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of dir's entries appended to names[*n...] (malloc'ed). */
static void collect_names(const char *dir, char **names, size_t max, size_t *n)
{
    struct pal_dir *d = NULL;
    assert_int_equal(pal_fs_default_ops()->dir_open(dir, &d), 0);
    for (;;) {
        struct pal_dirent ent;
        assert_int_equal(pal_fs_dir_next(d, &ent), 0);
        if (ent.name == NULL)
            break;
        assert_true(*n < max);
        size_t len = strlen(ent.name) + 1;
        names[*n] = malloc(len);
        assert_non_null(names[*n]);
        memcpy(names[*n], ent.name, len);
        (*n)++;
    }
    pal_fs_dir_close(&d);
}

/*
 * 10,000 deliveries, spread over ten Maildirs so no directory grows large
 * (wine looks names up case-insensitively, scanning the directory), then
 * all names compared: none repeats, none needed a second try.
 */
static void test_unique_names(void **state)
{
    (void)state;
    enum { N = 10000, DIRS = 10 };
    static const char *const m[DIRS] = {
        "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"
    };
    char p[PAL_PATH_MAX];
    char **names = calloc(N, sizeof *names);
    size_t n = 0;
    assert_non_null(names);
    faults_install();
    g_sync_noop = true; /* 10,000 fsyncs would only measure the disk */
    for (int i = 0; i < N; i++) {
        int rc = deliver(&m[i % DIRS], 1, "x", 1);
        if (rc != 0)
            fail_msg("delivery %d: %s", i, yb_errname(rc));
    }
    assert_int_equal(g_open_eexist, 0);
    for (size_t i = 0; i < DIRS; i++) {
        assert_int_equal(count_entries(P(p, m[i], "tmp")), 0);
        collect_names(P(p, m[i], "new"), names, N, &n);
    }
    assert_int_equal(n, N);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        uint64_t size = 0;
        assert_true(parse_name(names[i], "mx.example.org", &size));
        assert_int_equal(size, 1);
        if (i > 0 && strcmp(names[i - 1], names[i]) == 0)
            fail_msg("name used twice: %s", names[i]);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void test_name_parses(void **state)
{
    (void)state;
    const char *m[] = { "Maildir" };
    char dir[PAL_PATH_MAX], name[PAL_PATH_MAX], path[PAL_PATH_MAX];
    struct pal_stat st;
    static const size_t sizes[] = { 0, 1, 999, 70000 };
    unsigned char *buf = calloc(70000, 1);
    assert_non_null(buf);
    for (size_t i = 0; i < YB_ARRAY_LEN(sizes); i++) {
        uint64_t size = 0;
        assert_int_equal(pal_file_remove_tree(P(dir, "Maildir", NULL)), 0);
        assert_int_equal(deliver(m, 1, buf, sizes[i]), 0);
        only_entry(P(dir, "Maildir", "new"), name);
        assert_true(parse_name(name, "mx.example.org", &size));
        assert_int_equal(pal_path_join(path, sizeof path, dir, name), 0);
        assert_int_equal(pal_fs_stat(path, &st), 0);
        assert_int_equal(st.size, sizes[i]);
        assert_int_equal(size, sizes[i]);
    }
    free(buf);
}

static void test_host_escaped(void **state)
{
    (void)state;
    char dir[PAL_PATH_MAX], name[PAL_PATH_MAX];
    struct yb_maildir_dest dest = { P(dir, "Maildir", NULL), 0 };
    struct yb_delivery *d = NULL;
    uint64_t size;
    /* A NULL host: the machine's name. */
    assert_int_equal(yb_delivery_begin(&dest, 1, NULL, &d), 0);
    assert_int_equal(yb_delivery_commit(d), 0);
    yb_delivery_free(&d);
    assert_int_equal(count_entries(P(dir, "Maildir", "new")), 1);
    assert_int_equal(pal_file_remove_tree(P(dir, "Maildir", NULL)), 0);
    /*
     * '/', ':' and ';' escaped as \057 \072 \073. The escape holds a '\\',
     * a path separator on Windows, so this runs where ':' is the info
     * separator (POSIX) only.
     */
    if (pal_maildir_info_sep() != ':')
        return;
    dest.path = P(dir, "Maildir", NULL);
    assert_int_equal(yb_delivery_begin(&dest, 1, "a/b:c;d,e", &d), 0);
    assert_int_equal(yb_delivery_write(d, "hi", 2), 0);
    assert_int_equal(yb_delivery_commit(d), 0);
    yb_delivery_free(&d);
    only_entry(P(dir, "Maildir", "new"), name);
    assert_true(parse_name(name, "a\\057b\\072c\\073d\\054e", &size));
    assert_int_equal(size, 2);
}

static void test_empty_message(void **state)
{
    (void)state;
    char path[PAL_PATH_MAX];
    const char *m[] = { "a", "b" };
    struct yb_maildir_dest dests[2] = { { P(path, "a", NULL), 0 }, { NULL, 0 } };
    char pb[PAL_PATH_MAX];
    dests[1].path = P(pb, "b", NULL);
    struct yb_delivery *d = NULL;
    assert_int_equal(yb_delivery_begin(dests, 2, "h", &d), 0);
    assert_int_equal(yb_delivery_size(d), 0);
    assert_int_equal(yb_delivery_commit(d), 0);
    assert_int_equal(yb_delivery_commit(d), YB_EINVAL); /* finished */
    yb_delivery_free(&d);
    for (size_t i = 0; i < 2; i++) {
        assert_maildir(m[i], 1);
        assert_message(m[i], "", 0, path);
        assert_non_null(strstr(path, ",S=0,W=0"));
    }
}

static unsigned char *pattern(size_t len)
{
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(i * 131u + i / 251u);
    return buf;
}

static void test_one_mib(void **state)
{
    (void)state;
    const size_t len = 1024 * 1024;
    unsigned char *buf = pattern(len);
    char dir[2][PAL_PATH_MAX], path[PAL_PATH_MAX];
    struct yb_maildir_dest dests[2] = { { P(dir[0], "a", NULL), 0 }, { P(dir[1], "b", NULL), 0 } };
    struct yb_delivery *d = NULL;
    assert_int_equal(yb_delivery_begin(dests, 2, "h", &d), 0);
    /* Odd pieces so chunk boundaries fall mid-write. */
    for (size_t off = 0; off < len;) {
        size_t n = len - off < 1000 ? len - off : 1000;
        assert_int_equal(yb_delivery_write(d, buf + off, n), 0);
        off += n;
    }
    assert_int_equal(yb_delivery_size(d), len);
    assert_int_equal(yb_delivery_commit(d), 0);
    yb_delivery_free(&d);
    assert_maildir("a", 1);
    assert_maildir("b", 1);
    assert_message("a", buf, len, path);
    assert_non_null(strstr(path, ",S=1048576,W=1048576"));
    assert_message("b", buf, len, path);
    free(buf);
}

static void test_free_uncommitted(void **state)
{
    (void)state;
    char dir[PAL_PATH_MAX];
    struct yb_maildir_dest dest = { P(dir, "Maildir", NULL), 0 };
    struct yb_delivery *d = NULL;
    assert_int_equal(yb_delivery_begin(&dest, 1, "h", &d), 0);
    assert_int_equal(yb_delivery_write(d, k_msg, K_LEN), 0);
    assert_int_equal(count_entries(P(dir, "Maildir", "tmp")), 1);
    yb_delivery_free(&d);
    assert_null(d);
    assert_maildir("Maildir", 0);
}

/* ---- quota ---- */

static void test_quota_limit(void **state)
{
    (void)state;
    const char *m[] = { "Maildir" };
    uint64_t q[] = { 100 }, bytes = 0, count = 0;
    char p[PAL_PATH_MAX];
    unsigned char buf[100];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(deliver_q(m, 1, q, buf, 60), 0);
    assert_int_equal(deliver_q(m, 1, q, buf, 40), 0); /* exactly at the limit */
    assert_int_equal(yb_maildir_usage(P(p, "Maildir", NULL), 100, &bytes, &count), 0);
    assert_int_equal(bytes, 100);
    assert_int_equal(count, 2);
    assert_int_equal(deliver_q(m, 1, q, buf, 1), YB_ELIMIT); /* one byte over */
    assert_maildir("Maildir", 2);
    assert_int_equal(deliver_q(m, 1, q, buf, 0), 0); /* nothing more still fits */
    assert_maildir("Maildir", 3);

    /* Over in the second destination: nowhere. */
    const char *m3[] = { "free", "Maildir", "free2" };
    uint64_t q3[] = { 0, 100, 1000 };
    assert_int_equal(deliver_q(m3, 3, q3, buf, 1), YB_ELIMIT);
    assert_maildir("free", 0);
    assert_no_message("free2");
    assert_maildir("Maildir", 3);
    /* A fresh Maildir with a quota smaller than the message. */
    const char *m4[] = { "tiny" };
    uint64_t q4[] = { 99 };
    assert_int_equal(deliver_q(m4, 1, q4, buf, 100), YB_ELIMIT);
    assert_maildir("tiny", 0);
}

static void test_maildirsize(void **state)
{
    (void)state;
    const char *m[] = { "Maildir" };
    uint64_t q[] = { 1000 }, bytes = 0, count = 0;
    char md[PAL_PATH_MAX], msz[PAL_PATH_MAX];
    P(md, "Maildir", NULL);
    P(msz, "Maildir", "maildirsize");
    faults_install();

    assert_int_equal(deliver_q(m, 1, q, "0123456789", 10), 0);
    assert_file_is(msz, "1000S\n0 0\n10 1\n", 15);
    g_dir_opens = 0;
    assert_int_equal(deliver_q(m, 1, q, "01234567890123456789", 20), 0);
    assert_file_is(msz, "1000S\n0 0\n10 1\n20 1\n", 20);
    assert_int_equal(yb_maildir_usage(md, 1000, &bytes, &count), 0);
    assert_int_equal(bytes, 30);
    assert_int_equal(count, 2);
    assert_int_equal(g_dir_opens, 0); /* valid: never scanned */

    /* Deleted: recomputed (one scan) and rewritten. */
    assert_int_equal(pal_fs_unlink(msz), 0);
    assert_int_equal(yb_maildir_usage(md, 1000, &bytes, &count), 0);
    assert_int_equal(bytes, 30);
    assert_int_equal(count, 2);
    assert_true(g_dir_opens > 0);
    assert_file_is(msz, "1000S\n30 2\n", 11);

    /* Messages without S= (stat'ed), in cur/ and in a Maildir++ folder. */
    char p[PAL_PATH_MAX];
    char info[32];
    snprintf(info, sizeof info, "plain%c2,S", pal_maildir_info_sep());
    assert_int_equal(yb_test_write_in(P(p, "Maildir", "cur"), info, "1234567"), 0);
    assert_int_equal(yb_maildir_create(P(p, "Maildir", ".Sent")), 0);
    snprintf(info, sizeof info, "x,S=5%c2,S", pal_maildir_info_sep());
    assert_int_equal(yb_test_write_in(P(p, "Maildir", ".Sent/cur"), info, "12"), 0);
    assert_int_equal(yb_test_write_in(P(p, "Maildir", "cur"), ".hidden", "123"), 0);

    static const char *const damaged[] = {
        "garbage",               /* no newline */
        "",                      /* empty */
        "1000S\n10 1\nzz\n",     /* bad line */
        "1000S\n10 1\n5",        /* torn append */
        "1000S\n10 1\n-20 -1\n", /* negative total */
        "999S\n30 2\n",          /* another quota */
        "1000X\n30 2\n",         /* bad header */
    };
    for (size_t i = 0; i < YB_ARRAY_LEN(damaged); i++) {
        assert_int_equal(yb_test_write_file(msz, damaged[i], strlen(damaged[i])), 0);
        g_dir_opens = 0;
        assert_int_equal(yb_maildir_usage(md, 1000, &bytes, &count), 0);
        assert_int_equal(bytes, 42);
        assert_int_equal(count, 4);
        assert_true(g_dir_opens > 0);
        assert_file_is(msz, "1000S\n42 4\n", 11);
    }

    /* Tolerated: C limits, blanks, CRLF, removals. */
    static const char ok[] = "1000S,50C\r\n  40   3\n\n5 2\r\n-3 -1\n";
    assert_int_equal(yb_test_write_file(msz, ok, strlen(ok)), 0);
    g_dir_opens = 0;
    assert_int_equal(yb_maildir_usage(md, 1000, &bytes, &count), 0);
    assert_int_equal(bytes, 42);
    assert_int_equal(count, 4);
    assert_int_equal(g_dir_opens, 0);

    /* Past 5120 bytes: recomputed. */
    size_t big = 6 + 2000 * 4;
    char *text = malloc(big + 1);
    assert_non_null(text);
    memcpy(text, "1000S\n", 6);
    for (size_t i = 0; i < 2000; i++)
        memcpy(text + 6 + 4 * i, i < 42 ? "1 0\n" : "0 0\n", 4);
    assert_int_equal(yb_test_write_file(msz, text, big), 0);
    free(text);
    g_dir_opens = 0;
    assert_int_equal(yb_maildir_usage(md, 1000, &bytes, &count), 0);
    assert_int_equal(bytes, 42);
    assert_int_equal(count, 4);
    assert_true(g_dir_opens > 0);
    assert_file_is(msz, "1000S\n42 4\n", 11);

    /* A fresh file that says "over quota" is trusted (no scan). */
    assert_int_equal(yb_test_write_file(msz, "1000S\n2000 1\n", 13), 0);
    g_dir_opens = 0;
    assert_int_equal(yb_maildir_usage(md, 1000, &bytes, &count), 0);
    assert_int_equal(bytes, 2000);
    assert_int_equal(g_dir_opens, 0);
    assert_int_equal(deliver_q(m, 1, q, "x", 1), YB_ELIMIT);

    /* No quota: read if present, never created. */
    assert_int_equal(pal_fs_unlink(msz), 0);
    assert_int_equal(yb_maildir_usage(md, 0, &bytes, &count), 0);
    assert_int_equal(bytes, 42);
    assert_false(pal_file_exists(msz));
}

/* ---- failures: nothing visible anywhere, no temporary left ---- */

static const char *const k_three[] = { "a", "b", "c" };

static void assert_nowhere(void)
{
    for (size_t i = 0; i < 3; i++)
        assert_no_message(k_three[i]);
}

static void test_fault_write_enospc(void **state)
{
    (void)state;
    size_t len = 200 * 1024; /* fails inside write */
    unsigned char *buf = pattern(len);
    faults_install();
    g_write_err = YB_ENOSPC;
    assert_int_equal(deliver(k_three, 3, buf, len), YB_ENOSPC);
    assert_nowhere();
    /* A small message fails at commit's flush. */
    assert_int_equal(deliver(k_three, 3, buf, 10), YB_ENOSPC);
    assert_nowhere();
    free(buf);
}

static void test_fault_sync_eio(void **state)
{
    (void)state;
    faults_install();
    g_sync_err = YB_EIO;
    assert_int_equal(deliver(k_three, 3, k_msg, K_LEN), YB_EIO);
    assert_nowhere();
}

static void test_fault_second_link(void **state)
{
    (void)state;
    faults_install();
    g_link_err = YB_EIO;
    g_link_fail_at = 2;
    assert_int_equal(deliver(k_three, 3, k_msg, K_LEN), YB_EIO);
    assert_int_equal(g_link_calls, 2);
    assert_nowhere();
    /* Third: two were visible and are taken back. */
    faults_reset();
    g_link_err = YB_ENOSPC;
    g_link_fail_at = 3;
    assert_int_equal(deliver(k_three, 3, k_msg, K_LEN), YB_ENOSPC);
    assert_nowhere();
}

static void test_fault_sync_dir(void **state)
{
    (void)state;
    faults_install();
    g_syncdir_err = YB_EIO;
    g_syncdir_fail_at = 3;
    assert_int_equal(deliver(k_three, 3, k_msg, K_LEN), YB_EIO);
    assert_nowhere();
}

static void test_short_writes(void **state)
{
    (void)state;
    size_t len = 100 * 1024 + 3;
    unsigned char *buf = pattern(len);
    char path[PAL_PATH_MAX];
    faults_install();
    g_write_max = 7;
    assert_int_equal(deliver(k_three, 3, buf, len), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_maildir(k_three[i], 1);
        assert_message(k_three[i], buf, len, path);
    }
    free(buf);
}

static void test_copy_fallback(void **state)
{
    (void)state;
    char path[PAL_PATH_MAX];
    size_t len = 150 * 1024;
    unsigned char *buf = pattern(len);
    faults_install();
    g_link_err = YB_ENOTSUP; /* no hard links at all */
    assert_int_equal(deliver(k_three, 3, buf, len), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_maildir(k_three[i], 1);
        assert_message(k_three[i], buf, len, path);
        assert_int_equal(nlink_of(path), 1);
    }
    free(buf);
}

static void test_copy_fallback_exdev(void **state)
{
    (void)state;
    char path[PAL_PATH_MAX];
    faults_install();
    g_link_err = YB_EXDEV; /* only b is on another device */
    g_link_fail_at = 2;
    assert_int_equal(deliver(k_three, 3, k_msg, K_LEN), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_maildir(k_three[i], 1);
        assert_message(k_three[i], k_msg, K_LEN, path);
        uint32_t nl = nlink_of(path);
        if (i == 1)
            assert_int_equal(nl, 1);
        else if (nl != 1)
            assert_int_equal(nl, 2);
    }
}

static void test_copy_fallback_fails(void **state)
{
    (void)state;
    faults_install();
    g_link_err = YB_ENOTSUP;
    g_sync_err = YB_EIO; /* 1: the temporary, 2: a's copy, 3: b's copy */
    g_sync_fail_at = 3;
    assert_int_equal(deliver(k_three, 3, k_msg, K_LEN), YB_EIO);
    assert_nowhere();
}

/* Reading names back: base name, ",S="/",W=" fields (limits), delivery time. */
static void test_name_reading(void **state)
{
    (void)state;
    assert_int_equal(yb_maildir_base_len("123.M4P5.host:2,FS"), 13);
    assert_int_equal(yb_maildir_base_len("123.M4P5.host;2,S"), 13);
    assert_int_equal(yb_maildir_base_len("123.M4P5.host"), 13);
    assert_int_equal(yb_maildir_base_len(""), 0);

    static const char n[] = "1700000000.M12P3.host,S=4096,W=4150";
    uint64_t v = 0;
    assert_true(yb_maildir_name_field(n, sizeof n - 1, 'S', &v));
    assert_int_equal(v, 4096);
    assert_true(yb_maildir_name_field(n, sizeof n - 1, 'W', &v));
    assert_int_equal(v, 4150);
    assert_false(yb_maildir_name_field(n, sizeof n - 1, 'X', &v));
    assert_false(yb_maildir_name_field(n, 24, 'S', &v)); /* outside the base: not seen */
    assert_false(yb_maildir_name_field("", 0, 'S', &v));
    assert_false(yb_maildir_name_field("a,S=", 4, 'S', &v));    /* no digits */
    assert_false(yb_maildir_name_field("a,S=12x", 7, 'S', &v)); /* not a number */
    /* 19 digits is the limit; 20 are refused. */
    assert_true(yb_maildir_name_field("a,S=9999999999999999999", 23, 'S', &v));
    assert_true(v == 9999999999999999999ull);
    assert_false(yb_maildir_name_field("a,S=10000000000000000000", 24, 'S', &v));
    static const char nul[] = "a,S=1\0002";
    assert_false(yb_maildir_name_field(nul, sizeof nul - 1, 'S', &v));
    assert_false(yb_maildir_name_field("a,S=\xff" "1", 6, 'S', &v));

    uint64_t secs, usecs;
    yb_maildir_name_time(n, &secs, &usecs);
    assert_true(secs == 1700000000u && usecs == 12);
    yb_maildir_name_time("1700000000.P3.host", &secs, &usecs);
    assert_true(secs == 1700000000u && usecs == 0);
    yb_maildir_name_time("host.1700000000", &secs, &usecs);
    assert_true(secs == 0 && usecs == 0);
    yb_maildir_name_time("", &secs, &usecs);
    assert_true(secs == 0 && usecs == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)
        T(test_create),
        T(test_begin_invalid),
        T(test_deliver_one),
        T(test_deliver_three),
        T(test_duplicate_dest),
        T(test_unique_names),
        T(test_name_parses),
        T(test_host_escaped),
        T(test_empty_message),
        T(test_one_mib),
        T(test_free_uncommitted),
        T(test_quota_limit),
        T(test_maildirsize),
        T(test_fault_write_enospc),
        T(test_fault_sync_eio),
        T(test_fault_second_link),
        T(test_fault_sync_dir),
        T(test_short_writes),
        T(test_copy_fallback),
        T(test_copy_fallback_exdev),
        T(test_copy_fallback_fails),
        cmocka_unit_test(test_name_reading),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
