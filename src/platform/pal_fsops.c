/*
 * pal_fsops.c - the injectable file-operation table, its wrappers, and the
 * helpers written once over it (platform-free).
 */
#include "pal_file.h"
#include "pal_err.h"
#include "pal_random.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic(const struct pal_fs_ops *) current_ops;

const struct pal_fs_ops *pal_fs_ops(void)
{
    const struct pal_fs_ops *ops = atomic_load(&current_ops);
    return ops != NULL ? ops : pal_fs_default_ops();
}

const struct pal_fs_ops *pal_fs_set_ops(const struct pal_fs_ops *ops)
{
    const struct pal_fs_ops *old = atomic_exchange(&current_ops, ops);
    return old != NULL ? old : pal_fs_default_ops();
}

int pal_fs_open(const char *path, unsigned flags, unsigned mode, struct pal_file **file_r)
{
    return pal_fs_ops()->open(path, flags, mode, file_r);
}
int pal_fs_read(struct pal_file *f, void *buf, size_t len, size_t *got_r)
{
    return pal_fs_ops()->read(f, buf, len, got_r);
}
int pal_fs_pread(struct pal_file *f, void *buf, size_t len, uint64_t off, size_t *got_r)
{
    return pal_fs_ops()->pread(f, buf, len, off, got_r);
}
int pal_fs_write(struct pal_file *f, const void *buf, size_t len, size_t *put_r)
{
    return pal_fs_ops()->write(f, buf, len, put_r);
}
int pal_fs_seek(struct pal_file *f, uint64_t off)
{
    return pal_fs_ops()->seek(f, off);
}
int pal_fs_truncate(struct pal_file *f, uint64_t size)
{
    return pal_fs_ops()->truncate(f, size);
}
int pal_fs_sync(struct pal_file *f)
{
    return pal_fs_ops()->sync(f);
}
int pal_fs_fstat(struct pal_file *f, struct pal_stat *st_r)
{
    return pal_fs_ops()->fstat(f, st_r);
}
int pal_fs_lock(struct pal_file *f, unsigned mode)
{
    return pal_fs_ops()->lock(f, mode);
}
int pal_fs_unlock(struct pal_file *f)
{
    return pal_fs_ops()->unlock(f);
}
int pal_fs_close(struct pal_file **f)
{
    if (*f == NULL)
        return 0;
    return pal_fs_ops()->close(f);
}
int pal_fs_stat(const char *path, struct pal_stat *st_r)
{
    return pal_fs_ops()->stat(path, st_r);
}
int pal_fs_rename(const char *from, const char *to)
{
    return pal_fs_ops()->rename(from, to);
}
int pal_fs_link(const char *from, const char *to)
{
    return pal_fs_ops()->link(from, to);
}
int pal_fs_unlink(const char *path)
{
    return pal_fs_ops()->unlink(path);
}
int pal_fs_mkdir(const char *path)
{
    return pal_fs_ops()->mkdir(path);
}
int pal_fs_rmdir(const char *path)
{
    return pal_fs_ops()->rmdir(path);
}
int pal_fs_sync_dir(const char *path)
{
    return pal_fs_ops()->sync_dir(path);
}
int pal_fs_dir_open(const char *path, struct pal_dir **dir_r)
{
    return pal_fs_ops()->dir_open(path, dir_r);
}
int pal_fs_dir_next(struct pal_dir *d, struct pal_dirent *ent_r)
{
    return pal_fs_ops()->dir_next(d, ent_r);
}
void pal_fs_dir_close(struct pal_dir **d)
{
    if (*d != NULL)
        pal_fs_ops()->dir_close(d);
}

/* ---- helpers ---- */

int pal_file_write_all(struct pal_file *f, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        size_t put = 0;
        int rc = pal_fs_write(f, p, len, &put);
        if (rc != 0)
            return rc;
        if (put == 0 || put > len)
            return YB_EIO; /* a write that makes no progress would loop forever */
        p += put;
        len -= put;
    }
    return 0;
}

int pal_file_read_all(const char *path, size_t max, char **data_r, size_t *len_r)
{
    struct pal_file *f = NULL;
    char *data = NULL;
    size_t len = 0, cap = 0;
    int rc = pal_fs_open(path, PAL_O_RDONLY, 0, &f);
    if (rc != 0)
        return rc;
    /* Room for max bytes, one read past it to detect the excess, and the NUL. */
    size_t hard = max > SIZE_MAX - 4097 ? SIZE_MAX : max + 4097;
    for (;;) {
        if (cap - len < 4096 + 1) {
            size_t ncap = cap ? (cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2) : 8192;
            if (ncap > hard)
                ncap = hard;
            if (ncap <= cap) {
                rc = YB_ELIMIT;
                goto fail;
            }
            char *nd = realloc(data, ncap);
            if (nd == NULL) {
                rc = YB_ENOMEM;
                goto fail;
            }
            data = nd;
            cap = ncap;
        }
        size_t got = 0;
        rc = pal_fs_read(f, data + len, cap - len - 1, &got);
        if (rc != 0)
            goto fail;
        if (got == 0)
            break;
        len += got;
        if (len > max) {
            rc = YB_ELIMIT;
            goto fail;
        }
    }
    pal_fs_close(&f);
    if (data == NULL) {
        data = malloc(1);
        if (data == NULL)
            return YB_ENOMEM;
    }
    data[len] = '\0';
    *data_r = data;
    *len_r = len;
    return 0;
fail:
    pal_fs_close(&f);
    free(data);
    return rc;
}

/* The directory part of path into buf ("." when there is none). */
static int parent_dir(const char *path, char *buf, size_t size)
{
    const char *slash = NULL;
    for (const char *p = path; *p; p++) {
        if (*p == '/' || *p == '\\')
            slash = p;
    }
    if (slash == NULL)
        return snprintf(buf, size, ".") >= (int)size ? YB_ENAMETOOLONG : 0;
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/file" -> "/" */
    if (n + 1 > size)
        return YB_ENAMETOOLONG;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return 0;
}

int pal_file_replace(const char *path, const void *data, size_t len)
{
    char tmp[PAL_PATH_MAX], dir[PAL_PATH_MAX];
    unsigned char rnd[8];
    struct pal_file *f = NULL;
    int rc = pal_random_bytes(rnd, sizeof(rnd));
    if (rc != 0)
        return rc;
    rc = parent_dir(path, dir, sizeof(dir));
    if (rc != 0)
        return rc;
    /*
     * Same directory, so the rename cannot cross file systems; a short name
     * of its own (not path + suffix) so a target near the file-name length
     * limit still has a temporary. 64 random bits make it unique across
     * processes and hosts sharing the directory.
     */
    int n = snprintf(tmp, sizeof(tmp), "%s/.yb-tmp-%02x%02x%02x%02x%02x%02x%02x%02x", dir, rnd[0],
                     rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return YB_ENAMETOOLONG;
    rc = pal_fs_open(tmp, PAL_O_WRONLY | PAL_O_CREAT | PAL_O_EXCL, 0600, &f);
    if (rc != 0)
        return rc;
    rc = pal_file_write_all(f, data, len);
    if (rc == 0)
        rc = pal_fs_sync(f);
    int crc = pal_fs_close(&f);
    if (rc == 0)
        rc = crc;
    if (rc == 0)
        rc = pal_fs_rename(tmp, path);
    if (rc != 0) {
        pal_fs_unlink(tmp);
        return rc;
    }
    return pal_fs_sync_dir(dir);
}

int pal_file_mkdirs(const char *path)
{
    char buf[PAL_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0)
        return YB_EINVAL;
    if (n >= sizeof(buf))
        return YB_ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    /* Create each prefix that ends before a separator, then the whole path. */
    for (size_t i = 1; i <= n; i++) {
        if (i < n && buf[i] != '/' && buf[i] != '\\')
            continue;
        if (i < n && (buf[i - 1] == '/' || buf[i - 1] == '\\' || buf[i - 1] == ':'))
            continue; /* root, "C:", or a doubled separator */
        char save = buf[i];
        buf[i] = '\0';
        int rc = pal_fs_mkdir(buf);
        if (rc == YB_EEXIST || rc == YB_EACCES || rc == YB_EPERM) {
            /* Fine if it is already a directory (EACCES: e.g. "/home" in a sandbox). */
            struct pal_stat st;
            if (pal_fs_stat(buf, &st) == 0 && st.type == PAL_FT_DIR)
                rc = 0;
            else if (rc == YB_EEXIST)
                rc = YB_ENOTDIR;
        }
        buf[i] = save;
        if (rc != 0)
            return rc;
    }
    return 0;
}

#define PAL_REMOVE_TREE_MAX_DEPTH 64

static int remove_tree_at(char *path, size_t len, int depth)
{
    struct pal_stat st;
    int rc = pal_fs_stat(path, &st);
    if (rc == YB_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (st.type != PAL_FT_DIR)
        return pal_fs_unlink(path);
    if (depth > PAL_REMOVE_TREE_MAX_DEPTH)
        return YB_ELIMIT;
    struct pal_dir *d = NULL;
    rc = pal_fs_dir_open(path, &d);
    if (rc != 0)
        return rc;
    for (;;) {
        struct pal_dirent ent;
        rc = pal_fs_dir_next(d, &ent);
        if (rc != 0 || ent.name == NULL)
            break;
        size_t nl = strlen(ent.name);
        if (len + 1 + nl + 1 > PAL_PATH_MAX) {
            rc = YB_ENAMETOOLONG;
            break;
        }
        path[len] = '/';
        memcpy(path + len + 1, ent.name, nl + 1);
        rc = remove_tree_at(path, len + 1 + nl, depth + 1);
        path[len] = '\0';
        if (rc != 0)
            break;
    }
    pal_fs_dir_close(&d);
    if (rc != 0)
        return rc;
    return pal_fs_rmdir(path);
}

int pal_file_remove_tree(const char *path)
{
    char buf[PAL_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0)
        return YB_EINVAL;
    if (n >= sizeof(buf))
        return YB_ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    return remove_tree_at(buf, n, 0);
}

bool pal_file_exists(const char *path)
{
    struct pal_stat st;
    return pal_fs_stat(path, &st) == 0;
}

int pal_path_join(char *buf, size_t size, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int sep = la > 0 && a[la - 1] != '/' && a[la - 1] != '\\';
    if (la + (size_t)sep + lb + 1 > size)
        return YB_ENAMETOOLONG;
    memcpy(buf, a, la);
    if (sep)
        buf[la] = '/';
    memcpy(buf + la + (size_t)sep, b, lb + 1);
    return 0;
}
