/*
 * pal_file.c - the default file-operation table on POSIX.
 */
#include "pal_file.h"
#include "pal_err.h"
#include "pal_posix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

struct pal_file {
    int fd;
};

struct pal_dir {
    DIR *d;
};

static int px_open(const char *path, unsigned flags, unsigned mode, struct pal_file **file_r)
{
    int of = O_CLOEXEC;
    if (flags & PAL_O_RDWR)
        of |= O_RDWR;
    else if (flags & PAL_O_WRONLY)
        of |= O_WRONLY;
    else
        of |= O_RDONLY;
    if (flags & PAL_O_CREAT)
        of |= O_CREAT;
    if (flags & PAL_O_EXCL)
        of |= O_EXCL;
    if (flags & PAL_O_TRUNC)
        of |= O_TRUNC;
    if (flags & PAL_O_APPEND)
        of |= O_APPEND;
    struct pal_file *f = malloc(sizeof(*f));
    if (f == NULL)
        return YB_ENOMEM;
    do {
        f->fd = open(path, of, (mode_t)(mode ? mode : 0600));
    } while (f->fd < 0 && errno == EINTR);
    if (f->fd < 0) {
        int rc = pal__err_from_errno(errno);
        free(f);
        return rc;
    }
    *file_r = f;
    return 0;
}

static int px_read(struct pal_file *f, void *buf, size_t len, size_t *got_r)
{
    for (;;) {
        ssize_t n = read(f->fd, buf, len);
        if (n >= 0) {
            *got_r = (size_t)n;
            return 0;
        }
        if (errno != EINTR)
            return pal__err_from_errno(errno);
    }
}

static int px_pread(struct pal_file *f, void *buf, size_t len, uint64_t off, size_t *got_r)
{
    for (;;) {
        ssize_t n = pread(f->fd, buf, len, (off_t)off);
        if (n >= 0) {
            *got_r = (size_t)n;
            return 0;
        }
        if (errno != EINTR)
            return pal__err_from_errno(errno);
    }
}

static int px_write(struct pal_file *f, const void *buf, size_t len, size_t *put_r)
{
    for (;;) {
        ssize_t n = write(f->fd, buf, len);
        if (n >= 0) {
            *put_r = (size_t)n;
            return 0;
        }
        if (errno != EINTR)
            return pal__err_from_errno(errno);
    }
}

static int px_seek(struct pal_file *f, uint64_t off)
{
    if (lseek(f->fd, (off_t)off, SEEK_SET) < 0)
        return pal__err_from_errno(errno);
    return 0;
}

static int px_truncate(struct pal_file *f, uint64_t size)
{
    if (ftruncate(f->fd, (off_t)size) != 0)
        return pal__err_from_errno(errno);
    return 0;
}

static int px_sync(struct pal_file *f)
{
#if defined(__APPLE__) && defined(F_FULLFSYNC)
    /* fsync on macOS does not flush the drive's cache. */
    if (fcntl(f->fd, F_FULLFSYNC) == 0)
        return 0;
#endif
    while (fsync(f->fd) != 0) {
        if (errno != EINTR)
            return pal__err_from_errno(errno);
    }
    return 0;
}

static void fill_stat(const struct stat *st, struct pal_stat *r)
{
    r->size = (uint64_t)st->st_size;
#if defined(__APPLE__)
    r->mtime_ns = (int64_t)st->st_mtimespec.tv_sec * 1000000000 + st->st_mtimespec.tv_nsec;
#else
    r->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
#endif
    r->file_id = (uint64_t)st->st_ino;
    r->dev_id = (uint64_t)st->st_dev;
    r->nlink = (uint32_t)st->st_nlink;
    r->type = S_ISREG(st->st_mode) ? PAL_FT_FILE : S_ISDIR(st->st_mode) ? PAL_FT_DIR : PAL_FT_OTHER;
}

static int px_fstat(struct pal_file *f, struct pal_stat *st_r)
{
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return pal__err_from_errno(errno);
    fill_stat(&st, st_r);
    return 0;
}

static int px_lock(struct pal_file *f, unsigned mode)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = (mode & PAL_LOCK_EX) ? F_WRLCK : F_RDLCK;
    fl.l_whence = SEEK_SET;
#ifdef YB_HAVE_OFD_LOCKS
    /* Open-file-description locks: per handle, so two threads conflict too. */
    int cmd = (mode & PAL_LOCK_NB) ? F_OFD_SETLK : F_OFD_SETLKW;
#else
    int cmd = (mode & PAL_LOCK_NB) ? F_SETLK : F_SETLKW;
#endif
    while (fcntl(f->fd, cmd, &fl) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EACCES)
            return YB_EBUSY;
        return pal__err_from_errno(errno);
    }
    return 0;
}

static int px_unlock(struct pal_file *f)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
#ifdef YB_HAVE_OFD_LOCKS
    int cmd = F_OFD_SETLK;
#else
    int cmd = F_SETLK;
#endif
    if (fcntl(f->fd, cmd, &fl) != 0)
        return pal__err_from_errno(errno);
    return 0;
}

static int px_close(struct pal_file **f)
{
    int rc = 0;
    /* close() may report a deferred write error (NFS); do not retry on EINTR. */
    if (close((*f)->fd) != 0 && errno != EINTR)
        rc = pal__err_from_errno(errno);
    free(*f);
    *f = NULL;
    return rc;
}

static int px_stat(const char *path, struct pal_stat *st_r)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return pal__err_from_errno(errno);
    fill_stat(&st, st_r);
    return 0;
}

static int px_rename(const char *from, const char *to)
{
    if (rename(from, to) != 0)
        return pal__err_from_errno(errno);
    return 0;
}

static int px_link(const char *from, const char *to)
{
    if (link(from, to) != 0) {
        if (errno == EPERM || errno == EOPNOTSUPP)
            return YB_ENOTSUP; /* file systems without hard links */
        return pal__err_from_errno(errno);
    }
    return 0;
}

static int px_unlink(const char *path)
{
    if (unlink(path) != 0)
        return pal__err_from_errno(errno);
    return 0;
}

static int px_mkdir(const char *path)
{
    if (mkdir(path, 0700) != 0)
        return pal__err_from_errno(errno);
    return 0;
}

static int px_rmdir(const char *path)
{
    if (rmdir(path) != 0)
        return pal__err_from_errno(errno == EEXIST ? ENOTEMPTY : errno);
    return 0;
}

static int px_sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    if (fd < 0)
        return pal__err_from_errno(errno);
    int rc = 0;
    if (fsync(fd) != 0 && errno != EINVAL && errno != EBADF)
        rc = pal__err_from_errno(errno); /* EINVAL: the fs cannot sync directories */
    close(fd);
    return rc;
}

static int px_dir_open(const char *path, struct pal_dir **dir_r)
{
    struct pal_dir *d = malloc(sizeof(*d));
    if (d == NULL)
        return YB_ENOMEM;
    d->d = opendir(path);
    if (d->d == NULL) {
        int rc = pal__err_from_errno(errno);
        free(d);
        return rc;
    }
    *dir_r = d;
    return 0;
}

static int px_dir_next(struct pal_dir *d, struct pal_dirent *ent_r)
{
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d->d);
        if (e == NULL) {
            ent_r->name = NULL;
            ent_r->type = PAL_FT_UNKNOWN;
            return errno == 0 ? 0 : pal__err_from_errno(errno);
        }
        if (e->d_name[0] == '.' &&
            (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
            continue;
        ent_r->name = e->d_name;
#ifdef DT_DIR
        ent_r->type = e->d_type == DT_DIR       ? PAL_FT_DIR
                      : e->d_type == DT_REG     ? PAL_FT_FILE
                      : e->d_type == DT_UNKNOWN ? PAL_FT_UNKNOWN
                                                : PAL_FT_OTHER;
#else
        ent_r->type = PAL_FT_UNKNOWN;
#endif
        return 0;
    }
}

static void px_dir_close(struct pal_dir **d)
{
    closedir((*d)->d);
    free(*d);
    *d = NULL;
}

static const struct pal_fs_ops posix_ops = {
    .open = px_open,
    .read = px_read,
    .pread = px_pread,
    .write = px_write,
    .seek = px_seek,
    .truncate = px_truncate,
    .sync = px_sync,
    .fstat = px_fstat,
    .lock = px_lock,
    .unlock = px_unlock,
    .close = px_close,
    .stat = px_stat,
    .rename = px_rename,
    .link = px_link,
    .unlink = px_unlink,
    .mkdir = px_mkdir,
    .rmdir = px_rmdir,
    .sync_dir = px_sync_dir,
    .dir_open = px_dir_open,
    .dir_next = px_dir_next,
    .dir_close = px_dir_close,
};

const struct pal_fs_ops *pal_fs_default_ops(void)
{
    return &posix_ops;
}

char pal_maildir_info_sep(void)
{
    return ':';
}

int pal_path_absolute(const char *path, char *buf, size_t size)
{
    char *abs = realpath(path, NULL);
    if (abs == NULL)
        return pal__err_from_errno(errno);
    size_t n = strlen(abs);
    int rc = 0;
    if (n + 1 > size)
        rc = YB_ERANGE;
    else
        memcpy(buf, abs, n + 1);
    free(abs);
    return rc;
}
