/*
 * yb_maildir_quota.c - Maildir++ quota: reading maildirsize, and
 * recomputing it by scanning the Maildir when it cannot be trusted.
 *
 * maildirsize is a header line "<bytes>S[,<messages>C]" followed by lines
 * "<bytes> <messages>" (negative for removals) that are summed. Following
 * the Maildir++ rules, it is recomputed when it is missing, unparsable,
 * larger than 5120 bytes, written for another quota, or says the Maildir is
 * over quota and is older than 15 minutes (so a stale file cannot refuse
 * mail forever). The recomputed file replaces the old one atomically.
 *
 * Deviations from Courier/Dovecot, on purpose:
 *  - only the byte limit (S) is enforced; a C (message count) limit in the
 *    header is accepted but ignored, and the rewritten header carries S only;
 *  - every Maildir++ folder (".name/") counts, Trash included (Dovecot's
 *    default; Courier lets the administrator leave Trash out);
 *  - a maildirsize whose last line lacks its newline (a torn append) is
 *    treated as damaged and recomputed rather than partially trusted;
 *  - with no quota (0) the file is read if present but never created.
 */
#include "yb_maildir.h"
#include "yb_maildir_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pal_err.h"
#include "pal_file.h"
#include "pal_time.h"

/* Maildir++: a maildirsize past this size is recomputed. */
#define MD_SIZE_FILE_MAX 5120
/* Maildir++: an over-quota maildirsize older than this is recomputed. */
#define MD_STALE_NS (15 * 60 * INT64_C(1000000000))

/* ---- parsing maildirsize ---- */

static bool parse_u64(const char **pp, const char *end, uint64_t *v_r)
{
    const char *p = *pp;
    uint64_t v = 0;
    if (p == end || *p < '0' || *p > '9')
        return false;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        unsigned dig = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - dig) / 10)
            return false;
        v = v * 10 + dig;
    }
    *v_r = v;
    *pp = p;
    return true;
}

/* An optionally negative decimal into *v_r (|v| < 2^63). */
static bool parse_i64(const char **pp, const char *end, int64_t *v_r)
{
    bool neg = *pp < end && **pp == '-';
    uint64_t u;
    if (neg)
        (*pp)++;
    if (!parse_u64(pp, end, &u) || u > (uint64_t)INT64_MAX)
        return false;
    *v_r = neg ? -(int64_t)u : (int64_t)u;
    return true;
}

static bool add_i64(int64_t *sum, int64_t v)
{
    if ((v > 0 && *sum > INT64_MAX - v) || (v < 0 && *sum < INT64_MIN - v))
        return false;
    *sum += v;
    return true;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/*
 * Parses a whole maildirsize. *limit_r is the S limit of the header (0 when
 * it has none). False when anything is malformed or the sums are negative.
 */
static bool parse_size_file(const char *data, size_t len, uint64_t *limit_r, uint64_t *bytes_r,
                            uint64_t *count_r)
{
    const char *p = data, *end = data + len;
    const char *nl = memchr(p, '\n', len);
    uint64_t limit = 0;
    if (nl == NULL)
        return false;
    /* Header: comma-separated <n>S / <n>C fields. */
    const char *hend = nl;
    if (hend > p && hend[-1] == '\r')
        hend--;
    while (p < hend) {
        uint64_t v;
        if (!parse_u64(&p, hend, &v) || p == hend)
            return false;
        if (*p == 'S')
            limit = v;
        else if (*p != 'C')
            return false;
        p++;
        if (p < hend && *p++ != ',')
            return false;
    }
    p = nl + 1;
    int64_t bytes = 0, count = 0;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            return false; /* torn last line */
        const char *lend = nl;
        if (lend > p && lend[-1] == '\r')
            lend--;
        p = skip_blanks(p, lend);
        if (p < lend) {
            int64_t b, c;
            if (!parse_i64(&p, lend, &b))
                return false;
            p = skip_blanks(p, lend);
            if (!parse_i64(&p, lend, &c) || skip_blanks(p, lend) != lend)
                return false;
            if (!add_i64(&bytes, b) || !add_i64(&count, c))
                return false;
        }
        p = nl + 1;
    }
    if (bytes < 0 || count < 0)
        return false;
    *limit_r = limit;
    *bytes_r = (uint64_t)bytes;
    *count_r = (uint64_t)count;
    return true;
}

/* ---- scanning ---- */

/* Adds the messages of new/ or cur/; a missing directory adds nothing. */
static int scan_dir(const char *dir, uint64_t *bytes, uint64_t *count)
{
    char path[PAL_PATH_MAX];
    struct pal_dir *d = NULL;
    int rc = pal_fs_dir_open(dir, &d);
    if (rc == YB_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    for (;;) {
        struct pal_dirent ent;
        rc = pal_fs_dir_next(d, &ent);
        if (rc != 0 || ent.name == NULL)
            break;
        uint64_t size = 0;
        if (ent.name[0] == '.' || ent.type == PAL_FT_DIR || ent.type == PAL_FT_OTHER)
            continue;
        const char *info = strchr(ent.name, pal_maildir_info_sep());
        size_t base_len = info != NULL ? (size_t)(info - ent.name) : strlen(ent.name);
        if (!yb_maildir_name_field(ent.name, base_len, 'S', &size)) {
            struct pal_stat st;
            rc = pal_path_join(path, sizeof path, dir, ent.name);
            if (rc != 0)
                break;
            rc = pal_fs_stat(path, &st);
            if (rc == YB_ENOENT) {
                rc = 0; /* moved or expunged while we looked */
                continue;
            }
            if (rc != 0)
                break;
            if (st.type != PAL_FT_FILE)
                continue;
            size = st.size;
        }
        *bytes += size;
        *count += 1;
    }
    pal_fs_dir_close(&d);
    return rc;
}

/* new/ and cur/ of path. */
static int scan_folder(const char *path, uint64_t *bytes, uint64_t *count)
{
    char dir[PAL_PATH_MAX];
    int rc = pal_path_join(dir, sizeof dir, path, "new");
    if (rc == 0)
        rc = scan_dir(dir, bytes, count);
    if (rc == 0)
        rc = pal_path_join(dir, sizeof dir, path, "cur");
    if (rc == 0)
        rc = scan_dir(dir, bytes, count);
    return rc;
}

/* The Maildir and each of its Maildir++ folders (".name/" directories). */
static int scan_maildir(const char *path, uint64_t *bytes_r, uint64_t *count_r)
{
    char sub[PAL_PATH_MAX];
    struct pal_dir *d = NULL;
    uint64_t bytes = 0, count = 0;
    int rc = scan_folder(path, &bytes, &count);
    if (rc != 0)
        return rc;
    rc = pal_fs_dir_open(path, &d);
    if (rc == YB_ENOENT) {
        *bytes_r = *count_r = 0; /* not created yet: empty */
        return 0;
    }
    if (rc != 0)
        return rc;
    for (;;) {
        struct pal_dirent ent;
        rc = pal_fs_dir_next(d, &ent);
        if (rc != 0 || ent.name == NULL)
            break;
        if (ent.name[0] != '.' || ent.type == PAL_FT_FILE || ent.type == PAL_FT_OTHER)
            continue;
        rc = pal_path_join(sub, sizeof sub, path, ent.name);
        if (rc != 0)
            break;
        if (ent.type == PAL_FT_UNKNOWN) {
            struct pal_stat st;
            if (pal_fs_stat(sub, &st) != 0 || st.type != PAL_FT_DIR)
                continue;
        }
        rc = scan_folder(sub, &bytes, &count);
        if (rc != 0)
            break;
    }
    pal_fs_dir_close(&d);
    if (rc == 0) {
        *bytes_r = bytes;
        *count_r = count;
    }
    return rc;
}

/* ---- the public entry ---- */

/* True when an over-quota maildirsize is old enough to distrust. */
static bool stale(const char *file)
{
    struct pal_stat st;
    if (pal_fs_stat(file, &st) != 0)
        return true;
    return pal_time_now_ns() - st.mtime_ns > MD_STALE_NS;
}

int yb_maildir_usage(const char *path, uint64_t quota_bytes, uint64_t *bytes_r, uint64_t *count_r)
{
    char file[PAL_PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    uint64_t limit = 0, bytes = 0, count = 0;
    *bytes_r = 0;
    *count_r = 0;
    int rc = pal_path_join(file, sizeof file, path, "maildirsize");
    if (rc != 0)
        return rc;
    rc = pal_file_read_all(file, MD_SIZE_FILE_MAX, &data, &len);
    if (rc != 0 && rc != YB_ENOENT && rc != YB_ELIMIT)
        return rc;
    bool exists = rc != YB_ENOENT;
    if (rc == 0) {
        bool ok = parse_size_file(data, len, &limit, &bytes, &count);
        free(data);
        if (ok && quota_bytes != 0 && limit != quota_bytes)
            ok = false; /* the quota changed: the header must follow it */
        if (ok && quota_bytes != 0 && bytes > quota_bytes && stale(file))
            ok = false;
        if (ok) {
            *bytes_r = bytes;
            *count_r = count;
            return 0;
        }
    }
    rc = scan_maildir(path, &bytes, &count);
    if (rc != 0)
        return rc;
    if (quota_bytes != 0 || exists) {
        /* "<quota>S\n<bytes> <count>\n" */
        char text[80];
        size_t n = yb__maildir_fmt_u64(text, quota_bytes);
        text[n++] = 'S';
        text[n++] = '\n';
        n += yb__maildir_fmt_u64(text + n, bytes);
        text[n++] = ' ';
        n += yb__maildir_fmt_u64(text + n, count);
        text[n++] = '\n';
        /* A cache: failing to rewrite it does not make the numbers wrong. */
        (void)pal_file_replace(file, text, n);
    }
    *bytes_r = bytes;
    *count_r = count;
    return 0;
}

/* Writes v in decimal, with a '-' when negative; returns the length. */
static size_t fmt_i64(char *buf, int64_t v)
{
    if (v >= 0)
        return yb__maildir_fmt_u64(buf, (uint64_t)v);
    buf[0] = '-';
    return 1 + yb__maildir_fmt_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
}

int yb_maildir_quota_add(const char *path, int64_t bytes, int64_t count)
{
    char file[PAL_PATH_MAX], line[48];
    struct pal_file *f = NULL;
    int rc = pal_path_join(file, sizeof file, path, "maildirsize");
    if (rc != 0)
        return rc;
    rc = pal_fs_open(file, PAL_O_WRONLY | PAL_O_APPEND, 0, &f);
    if (rc == YB_ENOENT)
        return 0;
    if (rc == 0) {
        size_t n = fmt_i64(line, bytes);
        line[n++] = ' ';
        n += fmt_i64(line + n, count);
        line[n++] = '\n';
        /* One write call: O_APPEND keeps concurrent appenders' lines whole. */
        rc = pal_file_write_all(f, line, n);
        if (rc == 0)
            rc = pal_fs_sync(f);
        int crc = pal_fs_close(&f);
        if (rc == 0)
            rc = crc;
    }
    if (rc != 0)
        pal_fs_unlink(file);
    return rc;
}
