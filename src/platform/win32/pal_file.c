/*
 * win32/pal_file.c - the default pal_fs_ops table over the wide-character
 * Win32 file API, and the UTF-8 <-> UTF-16 path helpers.
 *
 * Choices that make Windows behave like the POSIX side as far as it can:
 * - Every file is opened with FILE_SHARE_READ | FILE_SHARE_WRITE |
 *   FILE_SHARE_DELETE, so another handle (ours or another server's on the
 *   same root) can read, write, rename or delete a file we hold open.
 * - A pal_file keeps its own position and every ReadFile/WriteFile names its
 *   offset in an OVERLAPPED. So pread never moves the position (on a
 *   synchronous handle an OVERLAPPED offset would otherwise move the OS file
 *   pointer) and read/write/seek need no extra system call.
 * - PAL_O_APPEND: each write passes the offset 0xFFFFFFFF:0xFFFFFFFF, which
 *   Windows documents as "write at the current end of file" - the same as a
 *   FILE_APPEND_DATA handle and atomic against other appenders like
 *   O_APPEND, while the handle keeps the write access truncate needs.
 * - Locks are taken on one byte far beyond any real data: Windows byte-range
 *   locks are mandatory, and locking the data itself would make other
 *   handles' reads fail, where POSIX advisory locks block only other lockers.
 * - The mode argument is ignored: new files inherit the directory's ACL.
 */
#include "pal_file.h"
#include "pal_win32.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* One ReadFile/WriteFile moves at most this much (the length is a DWORD). */
#define IO_CHUNK (1u << 30)

/* Below this many UTF-16 units CreateDirectoryW works without "\\?\" (MAX_PATH - 12). */
#define SHORT_PATH_MAX 248

/* Longest name of one path component, in UTF-16 units. */
#define NAME_UNITS_MAX 255

/* The longest path the "\\?\" form allows. */
#define LONG_PATH_MAX 32767

/* The locked byte: beyond any file we write, below 2^63 for SMB servers. */
#define LOCK_OFFSET_HIGH 0x7FFFFFF0u

/* From newer SDKs: POSIX-style delete (the name goes away at once). */
#define YB_FILE_DISPOSITION_INFO_EX_CLASS        21
#define YB_FILE_DISPOSITION_FLAG_DELETE          0x1u
#define YB_FILE_DISPOSITION_FLAG_POSIX_SEMANTICS 0x2u
#define YB_FILE_DISPOSITION_FLAG_IGNORE_READONLY 0x10u

struct pal_file {
    HANDLE h;
    unsigned flags;
    uint64_t pos;
    bool locked;
};

struct pal_dir {
    HANDLE h;  /* INVALID_HANDLE_VALUE for an empty directory */
    bool have; /* fd holds an entry not yet returned */
    WIN32_FIND_DATAW fd;
    char name[MAX_PATH * 3 + 1]; /* cFileName in UTF-8: <= 3 bytes per unit */
};

/* ---- UTF-8 <-> UTF-16 ---- */

int pal__path_to_wide(const char *path, size_t extra, wchar_t **wpath_r)
{
    size_t n;
    int wlen, i, comp;
    wchar_t *w = NULL, *full = NULL, *out;
    DWORD flen;
    bool unc;

    *wpath_r = NULL;
    if (path == NULL)
        return YB_EINVAL;
    n = strlen(path);
    /* POSIX says ENOENT for "", and so do we. */
    if (n == 0)
        return YB_ENOENT;
    if (n > LONG_PATH_MAX * 3 || extra > 64)
        return YB_ENAMETOOLONG;
    wlen = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, (int)n, NULL, 0);
    if (wlen <= 0)
        return YB_EUTF8;
    w = malloc(((size_t)wlen + extra + 1) * sizeof(wchar_t));
    if (w == NULL)
        return YB_ENOMEM;
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, (int)n, w, wlen);
    w[wlen] = L'\0';
    for (i = 0, comp = 0; i < wlen; i++) {
        if (w[i] == L'/')
            w[i] = L'\\';
        comp = w[i] == L'\\' ? 0 : comp + 1;
        /*
         * NTFS and ReFS allow 255 UTF-16 units per name; Windows reports a
         * longer one as "path not found" or "invalid name", POSIX as
         * ENAMETOOLONG, which is the one callers can act on.
         */
        if (comp > NAME_UNITS_MAX) {
            free(w);
            return YB_ENAMETOOLONG;
        }
    }
    if ((size_t)wlen + extra < SHORT_PATH_MAX || wcsncmp(w, L"\\\\?\\", 4) == 0) {
        *wpath_r = w;
        return 0;
    }
    /*
     * Long path: "\\?\" turns off all Win32 normalisation, so the path must
     * be made absolute and cleaned of "." and ".." first.
     */
    flen = GetFullPathNameW(w, 0, NULL, NULL);
    if (flen == 0 || flen > LONG_PATH_MAX) {
        free(w);
        return flen == 0 ? pal__err_last_win32() : YB_ENAMETOOLONG;
    }
    full = malloc((size_t)flen * sizeof(wchar_t));
    if (full == NULL) {
        free(w);
        return YB_ENOMEM;
    }
    flen = GetFullPathNameW(w, flen, full, NULL);
    free(w);
    if (flen == 0) {
        free(full);
        return pal__err_last_win32();
    }
    unc = full[0] == L'\\' && full[1] == L'\\';
    /* "\\server\share" becomes "\\?\UNC\server\share". */
    out = malloc(((size_t)flen + 8 + extra + 1) * sizeof(wchar_t));
    if (out == NULL) {
        free(full);
        return YB_ENOMEM;
    }
    if (unc) {
        memcpy(out, L"\\\\?\\UNC", 7 * sizeof(wchar_t));
        memcpy(out + 7, full + 1, (size_t)flen * sizeof(wchar_t)); /* keeps one '\' and the NUL */
    } else {
        memcpy(out, L"\\\\?\\", 4 * sizeof(wchar_t));
        memcpy(out + 4, full, ((size_t)flen + 1) * sizeof(wchar_t));
    }
    free(full);
    *wpath_r = out;
    return 0;
}

int pal__wide_to_utf8(const wchar_t *w, int wlen, char *buf, size_t size)
{
    int need, got;

    if (size == 0)
        return YB_ERANGE;
    if (wlen == 0) {
        buf[0] = '\0';
        return 0;
    }
    need = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, wlen, NULL, 0, NULL, NULL);
    if (need <= 0)
        return YB_EILSEQ;
    /* With wlen < 0 the count includes the NUL; otherwise add room for it. */
    if ((size_t)need + (wlen < 0 ? 0u : 1u) > size || size > INT_MAX + (size_t)0)
        return YB_ERANGE;
    got = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, wlen, buf, (int)size, NULL, NULL);
    if (got <= 0)
        return YB_EILSEQ;
    if (wlen >= 0)
        buf[got] = '\0';
    return 0;
}

/* ---- helpers ---- */

static int64_t filetime_ns(const FILETIME *ft)
{
    return pal__filetime_to_unix_ns(ft);
}

static enum pal_ftype attr_type(DWORD attrs)
{
    if (attrs & FILE_ATTRIBUTE_DIRECTORY)
        return PAL_FT_DIR;
    if (attrs & (FILE_ATTRIBUTE_DEVICE | FILE_ATTRIBUTE_REPARSE_POINT))
        return PAL_FT_OTHER;
    return PAL_FT_FILE;
}

static void info_to_stat(const BY_HANDLE_FILE_INFORMATION *bi, struct pal_stat *st)
{
    memset(st, 0, sizeof(*st));
    st->size = ((uint64_t)bi->nFileSizeHigh << 32) | bi->nFileSizeLow;
    st->mtime_ns = filetime_ns(&bi->ftLastWriteTime);
    st->file_id = ((uint64_t)bi->nFileIndexHigh << 32) | bi->nFileIndexLow;
    st->dev_id = bi->dwVolumeSerialNumber;
    st->nlink = bi->nNumberOfLinks;
    /* The handle was opened through any reparse point, so this is the target's type. */
    st->type = (bi->dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? PAL_FT_DIR : PAL_FT_FILE;
}

/* INVALID_FILE_ATTRIBUTES on any failure, with GetLastError() set. */
static DWORD path_attrs(const wchar_t *w)
{
    return GetFileAttributesW(w);
}

static void ov_at(OVERLAPPED *ov, uint64_t off)
{
    memset(ov, 0, sizeof(*ov));
    ov->Offset = (DWORD)off;
    ov->OffsetHigh = (DWORD)(off >> 32);
}

/* ---- file operations ---- */

static int w_open(const char *path, unsigned flags, unsigned mode, struct pal_file **file_r)
{
    wchar_t *w = NULL;
    DWORD access, disp;
    HANDLE h;
    struct pal_file *f;
    int err;

    if (file_r == NULL)
        return YB_EINVAL;
    *file_r = NULL;
    if (flags & PAL_O_RDWR)
        access = GENERIC_READ | GENERIC_WRITE;
    else if (flags & PAL_O_WRONLY)
        access = GENERIC_WRITE;
    else
        access = GENERIC_READ;
    if ((flags & (PAL_O_CREAT | PAL_O_EXCL)) == (PAL_O_CREAT | PAL_O_EXCL))
        disp = CREATE_NEW;
    else if ((flags & (PAL_O_CREAT | PAL_O_TRUNC)) == (PAL_O_CREAT | PAL_O_TRUNC))
        disp = CREATE_ALWAYS;
    else if (flags & PAL_O_CREAT)
        disp = OPEN_ALWAYS;
    else if (flags & PAL_O_TRUNC)
        disp = TRUNCATE_EXISTING;
    else
        disp = OPEN_EXISTING;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return YB_ENOMEM;
    err = pal__path_to_wide(path, 0, &w);
    if (err < 0)
        goto fail;
    /* NULL security attributes: the handle is not inherited by children. */
    h = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, disp,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD code = GetLastError(), attrs;
        err = pal__err_from_win32(code);
        /* Opening a directory without backup semantics says "access denied". */
        if (code == ERROR_ACCESS_DENIED && (attrs = path_attrs(w)) != INVALID_FILE_ATTRIBUTES &&
            (attrs & FILE_ATTRIBUTE_DIRECTORY))
            err = YB_EISDIR;
        goto fail;
    }
    free(w);
    f->h = h;
    f->flags = flags;
    *file_r = f;
    return 0;
fail:
    free(w);
    free(f);
    return err;
}

static int read_at(struct pal_file *f, void *buf, size_t len, uint64_t off, size_t *got_r)
{
    OVERLAPPED ov;
    DWORD got = 0;

    *got_r = 0;
    if (len == 0)
        return 0;
    if (off > (uint64_t)INT64_MAX)
        return YB_EINVAL;
    ov_at(&ov, off);
    if (!ReadFile(f->h, buf, len > IO_CHUNK ? IO_CHUNK : (DWORD)len, &got, &ov)) {
        /* Reading at or past the end of file with an offset fails this way. */
        if (GetLastError() == ERROR_HANDLE_EOF)
            return 0;
        return pal__err_last_win32();
    }
    *got_r = got;
    return 0;
}

static int w_read(struct pal_file *f, void *buf, size_t len, size_t *got_r)
{
    int err = read_at(f, buf, len, f->pos, got_r);
    if (err == 0)
        f->pos += *got_r;
    return err;
}

static int w_pread(struct pal_file *f, void *buf, size_t len, uint64_t off, size_t *got_r)
{
    return read_at(f, buf, len, off, got_r);
}

static int w_write(struct pal_file *f, const void *buf, size_t len, size_t *put_r)
{
    OVERLAPPED ov;
    DWORD put = 0;

    *put_r = 0;
    if (len == 0)
        return 0;
    if (f->flags & PAL_O_APPEND) {
        ov_at(&ov, 0);
        ov.Offset = 0xFFFFFFFFu;
        ov.OffsetHigh = 0xFFFFFFFFu;
    } else {
        ov_at(&ov, f->pos);
    }
    if (!WriteFile(f->h, buf, len > IO_CHUNK ? IO_CHUNK : (DWORD)len, &put, &ov))
        return pal__err_last_win32();
    if (put == 0)
        return YB_EIO;
    *put_r = put;
    if (f->flags & PAL_O_APPEND) {
        /* As with O_APPEND, the position ends up at the (new) end of file. */
        LARGE_INTEGER size;
        if (GetFileSizeEx(f->h, &size))
            f->pos = (uint64_t)size.QuadPart;
    } else {
        f->pos += put;
    }
    return 0;
}

static int w_seek(struct pal_file *f, uint64_t off)
{
    if (off > (uint64_t)INT64_MAX)
        return YB_EINVAL;
    f->pos = off;
    return 0;
}

static int w_truncate(struct pal_file *f, uint64_t size)
{
    LARGE_INTEGER li;

    if (size > (uint64_t)INT64_MAX)
        return YB_EINVAL;
    /* SetEndOfFile cuts at the OS file pointer, which our own position never uses. */
    li.QuadPart = (LONGLONG)size;
    if (!SetFilePointerEx(f->h, li, NULL, FILE_BEGIN) || !SetEndOfFile(f->h))
        return pal__err_last_win32();
    return 0;
}

static int w_sync(struct pal_file *f)
{
    if (FlushFileBuffers(f->h))
        return 0;
    /*
     * FlushFileBuffers needs write access; fsync on a read-only descriptor
     * is allowed on POSIX. A handle that cannot write has nothing of its own
     * to flush, so that is success.
     */
    if (GetLastError() == ERROR_ACCESS_DENIED && !(f->flags & (PAL_O_WRONLY | PAL_O_RDWR)))
        return 0;
    return pal__err_last_win32();
}

static int w_fstat(struct pal_file *f, struct pal_stat *st_r)
{
    BY_HANDLE_FILE_INFORMATION bi;

    if (!GetFileInformationByHandle(f->h, &bi))
        return pal__err_last_win32();
    info_to_stat(&bi, st_r);
    return 0;
}

static int w_unlock(struct pal_file *f)
{
    OVERLAPPED ov;

    if (!f->locked)
        return 0;
    ov_at(&ov, (uint64_t)LOCK_OFFSET_HIGH << 32);
    if (!UnlockFileEx(f->h, 0, 1, 0, &ov))
        return pal__err_last_win32();
    f->locked = false;
    return 0;
}

static int w_lock(struct pal_file *f, unsigned mode)
{
    OVERLAPPED ov;
    DWORD flags = 0;
    int err;

    if ((mode & PAL_LOCK_SH) == (mode & PAL_LOCK_EX) ||
        (mode & ~(unsigned)(PAL_LOCK_SH | PAL_LOCK_EX | PAL_LOCK_NB)) != 0)
        return YB_EINVAL;
    if (mode & PAL_LOCK_EX)
        flags |= LOCKFILE_EXCLUSIVE_LOCK;
    if (mode & PAL_LOCK_NB)
        flags |= LOCKFILE_FAIL_IMMEDIATELY;
    /*
     * Windows stacks locks on one handle instead of converting them, so a
     * change of mode drops the old lock first (not atomic, like flock()).
     */
    err = w_unlock(f);
    if (err < 0)
        return err;
    ov_at(&ov, (uint64_t)LOCK_OFFSET_HIGH << 32);
    if (!LockFileEx(f->h, flags, 0, 1, 0, &ov)) {
        DWORD code = GetLastError();
        if (code == ERROR_LOCK_VIOLATION || code == ERROR_IO_PENDING)
            return YB_EBUSY;
        return pal__err_from_win32(code);
    }
    f->locked = true;
    return 0;
}

static int w_close(struct pal_file **fp)
{
    struct pal_file *f;
    int err = 0;

    if (fp == NULL || *fp == NULL)
        return 0;
    f = *fp;
    /* Closing the handle releases its locks anyway; unlock to say so explicitly. */
    w_unlock(f);
    if (!CloseHandle(f->h))
        err = pal__err_last_win32();
    free(f);
    *fp = NULL;
    return err;
}

static int w_stat(const char *path, struct pal_stat *st_r)
{
    wchar_t *w = NULL;
    HANDLE h;
    BY_HANDLE_FILE_INFORMATION bi;
    WIN32_FILE_ATTRIBUTE_DATA ad;
    int err;

    if (st_r == NULL)
        return YB_EINVAL;
    err = pal__path_to_wide(path, 0, &w);
    if (err < 0)
        return err;
    /*
     * No access rights beyond attributes, so even a file another process
     * opened without sharing can be inspected; backup semantics so that
     * directories open too.
     */
    h = CreateFileW(w, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h != INVALID_HANDLE_VALUE) {
        if (GetFileInformationByHandle(h, &bi))
            info_to_stat(&bi, st_r);
        else
            err = pal__err_last_win32();
        CloseHandle(h);
        free(w);
        return err;
    }
    /* Some files (the page file...) refuse even that; the directory entry still answers. */
    err = pal__err_last_win32();
    if (err == YB_EACCES && GetFileAttributesExW(w, GetFileExInfoStandard, &ad)) {
        memset(st_r, 0, sizeof(*st_r));
        st_r->size = ((uint64_t)ad.nFileSizeHigh << 32) | ad.nFileSizeLow;
        st_r->mtime_ns = filetime_ns(&ad.ftLastWriteTime);
        st_r->nlink = 1;
        st_r->type = attr_type(ad.dwFileAttributes);
        err = 0;
    }
    free(w);
    return err;
}

static int w_rename(const char *from, const char *to)
{
    wchar_t *wf = NULL, *wt = NULL;
    int err;

    err = pal__path_to_wide(from, 0, &wf);
    if (err == 0)
        err = pal__path_to_wide(to, 0, &wt);
    /*
     * MOVEFILE_WRITE_THROUGH returns only once the rename is on disk: that
     * is the durability POSIX code gets from fsync'ing the directory.
     */
    if (err == 0 && !MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        err = pal__err_last_win32();
    free(wf);
    free(wt);
    return err;
}

static int w_link(const char *from, const char *to)
{
    wchar_t *wf = NULL, *wt = NULL;
    int err;

    err = pal__path_to_wide(from, 0, &wf);
    if (err == 0)
        err = pal__path_to_wide(to, 0, &wt);
    if (err == 0 && !CreateHardLinkW(wt, wf, NULL)) {
        DWORD code = GetLastError();
        /* FAT and some network file systems have no hard links. */
        if (code == ERROR_INVALID_FUNCTION || code == ERROR_NOT_SUPPORTED)
            err = YB_ENOTSUP;
        else
            err = pal__err_from_win32(code);
    }
    free(wf);
    free(wt);
    return err;
}

/*
 * Deletes with POSIX semantics where the system has them (Windows 10 1709+,
 * NTFS): the name disappears at once even while other handles keep the file
 * open, as unlink() does. Elsewhere the classic delete leaves the name
 * visible ("delete pending") until the last handle closes. Returns 1 when
 * the caller should fall back to DeleteFileW.
 */
static int delete_posix(const wchar_t *w)
{
    struct {
        ULONG Flags;
    } info = { YB_FILE_DISPOSITION_FLAG_DELETE | YB_FILE_DISPOSITION_FLAG_POSIX_SEMANTICS |
               YB_FILE_DISPOSITION_FLAG_IGNORE_READONLY };
    HANDLE h;
    BOOL ok;

    h = CreateFileW(w, DELETE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return 1;
    ok = SetFileInformationByHandle(h, (FILE_INFO_BY_HANDLE_CLASS)YB_FILE_DISPOSITION_INFO_EX_CLASS,
                                    &info, sizeof(info));
    CloseHandle(h);
    return ok ? 0 : 1;
}

static int w_unlink(const char *path)
{
    wchar_t *w = NULL;
    DWORD attrs;
    int err;

    err = pal__path_to_wide(path, 0, &w);
    if (err < 0)
        return err;
    attrs = path_attrs(w);
    if (attrs == INVALID_FILE_ATTRIBUTES) {
        err = pal__err_last_win32();
        goto done;
    }
    if (attrs & FILE_ATTRIBUTE_DIRECTORY) {
        err = YB_EISDIR;
        goto done;
    }
    if (delete_posix(w) == 0)
        goto done;
    /* POSIX removes read-only files when the directory is writable. */
    if (attrs & FILE_ATTRIBUTE_READONLY)
        SetFileAttributesW(w, attrs & ~(DWORD)FILE_ATTRIBUTE_READONLY);
    if (!DeleteFileW(w))
        err = pal__err_last_win32();
done:
    free(w);
    return err;
}

static int w_mkdir(const char *path)
{
    wchar_t *w = NULL;
    int err = pal__path_to_wide(path, 0, &w);

    if (err == 0 && !CreateDirectoryW(w, NULL))
        err = pal__err_last_win32();
    free(w);
    return err;
}

static int w_rmdir(const char *path)
{
    wchar_t *w = NULL;
    int err = pal__path_to_wide(path, 0, &w);

    if (err == 0 && !RemoveDirectoryW(w)) {
        DWORD attrs;
        err = pal__err_last_win32();
        if (err == YB_EINVAL && (attrs = path_attrs(w)) != INVALID_FILE_ATTRIBUTES &&
            !(attrs & FILE_ATTRIBUTE_DIRECTORY))
            err = YB_ENOTDIR;
    }
    free(w);
    return err;
}

/*
 * NTFS has no directory fsync (FlushFileBuffers on a directory handle needs
 * write access and is not documented to make entries durable). Durability
 * of the one directory change we care about, rename into place, comes from
 * MOVEFILE_WRITE_THROUGH in w_rename. So this only checks that the
 * directory exists, to fail where POSIX would.
 */
static int w_sync_dir(const char *path)
{
    wchar_t *w = NULL;
    DWORD attrs;
    int err = pal__path_to_wide(path, 0, &w);

    if (err < 0)
        return err;
    attrs = path_attrs(w);
    if (attrs == INVALID_FILE_ATTRIBUTES)
        err = pal__err_last_win32();
    else if (!(attrs & FILE_ATTRIBUTE_DIRECTORY))
        err = YB_ENOTDIR;
    free(w);
    return err;
}

/* ---- directories ---- */

static int w_dir_open(const char *path, struct pal_dir **dir_r)
{
    struct pal_dir *d = NULL;
    wchar_t *w = NULL;
    DWORD attrs;
    size_t len;
    int err;

    if (dir_r == NULL)
        return YB_EINVAL;
    *dir_r = NULL;
    err = pal__path_to_wide(path, 2, &w);
    if (err < 0)
        return err;
    attrs = path_attrs(w);
    if (attrs == INVALID_FILE_ATTRIBUTES) {
        err = pal__err_last_win32();
        goto fail;
    }
    if (!(attrs & FILE_ATTRIBUTE_DIRECTORY)) {
        err = YB_ENOTDIR;
        goto fail;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        err = YB_ENOMEM;
        goto fail;
    }
    /* pal__path_to_wide reserved the two units for "\*". */
    len = wcslen(w);
    if (len > 0 && w[len - 1] != L'\\')
        w[len++] = L'\\';
    w[len++] = L'*';
    w[len] = L'\0';
    d->h = FindFirstFileExW(w, FindExInfoBasic, &d->fd, FindExSearchNameMatch, NULL,
                            FIND_FIRST_EX_LARGE_FETCH);
    if (d->h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_INVALID_PARAMETER)
        /* Before Windows 7 neither the basic level nor large fetch existed. */
        d->h = FindFirstFileExW(w, FindExInfoStandard, &d->fd, FindExSearchNameMatch, NULL, 0);
    if (d->h == INVALID_HANDLE_VALUE) {
        DWORD code = GetLastError();
        /* No match at all: an empty root directory (others have "." and ".."). */
        if (code != ERROR_FILE_NOT_FOUND && code != ERROR_NO_MORE_FILES) {
            err = pal__err_from_win32(code);
            goto fail;
        }
    } else {
        d->have = true;
    }
    free(w);
    *dir_r = d;
    return 0;
fail:
    free(d);
    free(w);
    return err;
}

static int w_dir_next(struct pal_dir *d, struct pal_dirent *ent_r)
{
    int err;

    ent_r->name = NULL;
    ent_r->type = PAL_FT_UNKNOWN;
    for (;;) {
        const wchar_t *n;
        if (!d->have) {
            if (d->h == INVALID_HANDLE_VALUE)
                return 0;
            if (!FindNextFileW(d->h, &d->fd)) {
                if (GetLastError() == ERROR_NO_MORE_FILES)
                    return 0;
                return pal__err_last_win32();
            }
        }
        d->have = false;
        n = d->fd.cFileName;
        if (n[0] == L'.' && (n[1] == L'\0' || (n[1] == L'.' && n[2] == L'\0')))
            continue;
        err = pal__wide_to_utf8(n, -1, d->name, sizeof(d->name));
        if (err < 0)
            return err;
        ent_r->name = d->name;
        ent_r->type = attr_type(d->fd.dwFileAttributes);
        return 0;
    }
}

static void w_dir_close(struct pal_dir **dp)
{
    if (dp == NULL || *dp == NULL)
        return;
    if ((*dp)->h != INVALID_HANDLE_VALUE)
        FindClose((*dp)->h);
    free(*dp);
    *dp = NULL;
}

static const struct pal_fs_ops win32_fs_ops = {
    .open = w_open,
    .read = w_read,
    .pread = w_pread,
    .write = w_write,
    .seek = w_seek,
    .truncate = w_truncate,
    .sync = w_sync,
    .fstat = w_fstat,
    .lock = w_lock,
    .unlock = w_unlock,
    .close = w_close,
    .stat = w_stat,
    .rename = w_rename,
    .link = w_link,
    .unlink = w_unlink,
    .mkdir = w_mkdir,
    .rmdir = w_rmdir,
    .sync_dir = w_sync_dir,
    .dir_open = w_dir_open,
    .dir_next = w_dir_next,
    .dir_close = w_dir_close,
};

const struct pal_fs_ops *pal_fs_default_ops(void)
{
    return &win32_fs_ops;
}

/* ':' cannot appear in an NTFS file name (it introduces a stream name). */
char pal_maildir_info_sep(void)
{
    return ';';
}

int pal_path_absolute(const char *path, char *buf, size_t size)
{
    wchar_t *wpath = NULL;
    int rc = pal__path_to_wide(path, 0, &wpath);
    if (rc != 0)
        return rc;
    DWORD n = GetFullPathNameW(wpath, 0, NULL, NULL);
    wchar_t *full = n > 0 ? malloc((size_t)n * sizeof(wchar_t)) : NULL;
    if (full == NULL) {
        free(wpath);
        return n == 0 ? pal__err_last_win32() : YB_ENOMEM;
    }
    DWORD got = GetFullPathNameW(wpath, n, full, NULL);
    free(wpath);
    if (got == 0 || got >= n) {
        free(full);
        return got == 0 ? pal__err_last_win32() : YB_ERANGE;
    }
    /* Drop the \\?\ long-path prefix if the conversion added one. */
    const wchar_t *start = full;
    if (wcsncmp(start, L"\\\\?\\", 4) == 0)
        start += 4;
    rc = pal__wide_to_utf8(start, -1, buf, size);
    free(full);
    if (rc != 0)
        return rc;
    for (char *p = buf; *p; p++) {
        if (*p == '\\')
            *p = '/';
    }
    /* Like realpath: the path must exist. */
    struct pal_stat st;
    return pal_fs_stat(buf, &st);
}
