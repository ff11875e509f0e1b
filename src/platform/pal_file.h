/*
 * pal_file.h - files and directories with UTF-8 paths.
 *
 * Every primitive goes through a table of function pointers (struct
 * pal_fs_ops) so tests can inject faults - ENOSPC, EIO, short writes, a crash
 * between two steps - on every platform without linker tricks (the SQLite
 * VFS idea). Production code calls the pal_fs_* wrappers below, which
 * dispatch through the current table. The helpers at the end (write_all,
 * atomic replace, mkdir -p ...) are written once, over the table, so an
 * injected fault reaches them too.
 *
 * Paths are UTF-8 with '/' as separator on every platform (Windows also
 * accepts '\\'); the Windows implementation converts to UTF-16 and uses the
 * wide-character API.
 */
#ifndef YB_PAL_FILE_H
#define YB_PAL_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct pal_file;
struct pal_dir;

/* Open flags for pal_fs_open. */
enum {
    PAL_O_RDONLY = 0,
    PAL_O_WRONLY = 1u << 0,
    PAL_O_RDWR = 1u << 1,
    PAL_O_CREAT = 1u << 2,
    PAL_O_EXCL = 1u << 3, /* with CREAT: fail with YB_EEXIST if it exists */
    PAL_O_TRUNC = 1u << 4,
    PAL_O_APPEND = 1u << 5
};

enum pal_ftype { PAL_FT_UNKNOWN = 0, PAL_FT_FILE, PAL_FT_DIR, PAL_FT_OTHER };

struct pal_stat {
    uint64_t size;
    int64_t mtime_ns; /* modification time, ns since the Unix epoch */
    uint64_t file_id; /* inode (POSIX) or file index (Windows); changes on replace */
    uint64_t dev_id;  /* device / volume serial */
    uint32_t nlink;   /* hard link count */
    enum pal_ftype type;
};

struct pal_dirent {
    const char *name;    /* UTF-8; valid until the next dir_next or dir_close */
    enum pal_ftype type; /* PAL_FT_UNKNOWN when the OS does not say */
};

/* Lock modes for pal_fs_lock. */
enum {
    PAL_LOCK_SH = 1u << 0, /* shared */
    PAL_LOCK_EX = 1u << 1, /* exclusive */
    PAL_LOCK_NB = 1u << 2  /* do not wait: YB_EBUSY if held elsewhere */
};

/*
 * The injectable table. All functions return 0 or a YB_E* code. Handles are
 * allocated by open/dir_open and freed by close/dir_close, which also NULL
 * the caller's pointer.
 */
struct pal_fs_ops {
    int (*open)(const char *path, unsigned flags, unsigned mode, struct pal_file **file_r);
    /* *got_r = 0 at end of file. */
    int (*read)(struct pal_file *f, void *buf, size_t len, size_t *got_r);
    int (*pread)(struct pal_file *f, void *buf, size_t len, uint64_t off, size_t *got_r);
    /* May write fewer bytes than asked (*put_r); never 0 without an error. */
    int (*write)(struct pal_file *f, const void *buf, size_t len, size_t *put_r);
    int (*seek)(struct pal_file *f, uint64_t off);
    int (*truncate)(struct pal_file *f, uint64_t size);
    int (*sync)(struct pal_file *f); /* data and metadata to stable storage */
    int (*fstat)(struct pal_file *f, struct pal_stat *st_r);
    /*
     * Advisory whole-file lock that works on shared file systems and is freed
     * when the holder process dies (OFD/fcntl locks on POSIX, LockFileEx on
     * Windows). Locks are per open handle.
     */
    int (*lock)(struct pal_file *f, unsigned mode);
    int (*unlock)(struct pal_file *f);
    int (*close)(struct pal_file **f);
    int (*stat)(const char *path, struct pal_stat *st_r);
    /* Atomically replaces `to` if it exists (MoveFileEx with write-through on Windows). */
    int (*rename)(const char *from, const char *to);
    /* Hard link; YB_EEXIST if to exists; YB_ENOTSUP where the fs has none. */
    int (*link)(const char *from, const char *to);
    int (*unlink)(const char *path);
    int (*mkdir)(const char *path); /* YB_EEXIST if it exists */
    int (*rmdir)(const char *path);
    /* Makes a directory's entries durable; 0 without effect where the OS has no such thing. */
    int (*sync_dir)(const char *path);
    /* Lists entries, without "." and "..". */
    int (*dir_open)(const char *path, struct pal_dir **dir_r);
    /* Sets ent_r->name to NULL at the end. */
    int (*dir_next)(struct pal_dir *d, struct pal_dirent *ent_r);
    void (*dir_close)(struct pal_dir **d);
};

/* The platform's real implementation. */
const struct pal_fs_ops *pal_fs_default_ops(void);

/*
 * Installs ops as the current table (NULL restores the default) and returns
 * the previous one. For tests; not thread-safe against concurrent file use.
 */
const struct pal_fs_ops *pal_fs_set_ops(const struct pal_fs_ops *ops);

/* The current table. */
const struct pal_fs_ops *pal_fs_ops(void);

/* Wrappers over the current table (see struct pal_fs_ops for contracts). */
int pal_fs_open(const char *path, unsigned flags, unsigned mode, struct pal_file **file_r);
int pal_fs_read(struct pal_file *f, void *buf, size_t len, size_t *got_r);
int pal_fs_pread(struct pal_file *f, void *buf, size_t len, uint64_t off, size_t *got_r);
int pal_fs_write(struct pal_file *f, const void *buf, size_t len, size_t *put_r);
int pal_fs_seek(struct pal_file *f, uint64_t off);
int pal_fs_truncate(struct pal_file *f, uint64_t size);
int pal_fs_sync(struct pal_file *f);
int pal_fs_fstat(struct pal_file *f, struct pal_stat *st_r);
int pal_fs_lock(struct pal_file *f, unsigned mode);
int pal_fs_unlock(struct pal_file *f);
int pal_fs_close(struct pal_file **f);
int pal_fs_stat(const char *path, struct pal_stat *st_r);
int pal_fs_rename(const char *from, const char *to);
int pal_fs_link(const char *from, const char *to);
int pal_fs_unlink(const char *path);
int pal_fs_mkdir(const char *path);
int pal_fs_rmdir(const char *path);
int pal_fs_sync_dir(const char *path);
int pal_fs_dir_open(const char *path, struct pal_dir **dir_r);
int pal_fs_dir_next(struct pal_dir *d, struct pal_dirent *ent_r);
void pal_fs_dir_close(struct pal_dir **d);

/* ---- helpers written once over the table (pal_file.c) ---- */

/* Writes all len bytes, looping over short writes. */
int pal_file_write_all(struct pal_file *f, const void *buf, size_t len);

/*
 * Reads a whole file into a malloc'ed buffer (*data_r, NUL-terminated for
 * convenience, *len_r without the NUL). YB_ELIMIT when it exceeds max bytes.
 * The caller frees *data_r.
 */
int pal_file_read_all(const char *path, size_t max, char **data_r, size_t *len_r);

/*
 * Replaces path with data atomically and durably: writes a unique temporary
 * file in the same directory, syncs it, renames it over path, then syncs the
 * directory. Readers see the old or the new content, never a mix; on any
 * error the temporary is removed and path is untouched.
 */
int pal_file_replace(const char *path, const void *data, size_t len);

/* Creates path and any missing parents ("mkdir -p"). An existing directory is not an error. */
int pal_file_mkdirs(const char *path);

/* Removes a directory tree (for tests and moving data aside); missing is not an error. */
int pal_file_remove_tree(const char *path);

/* True when path exists (any type). */
bool pal_file_exists(const char *path);

/*
 * Joins a and b with one '/' into buf. Returns YB_ENAMETOOLONG if it does not
 * fit (size includes the NUL).
 */
int pal_path_join(char *buf, size_t size, const char *a, const char *b);

/*
 * Writes the absolute form of path (which must exist) into buf, with the
 * platform's separators normalised to '/'. YB_ERANGE if it does not fit.
 */
int pal_path_absolute(const char *path, char *buf, size_t size);

/* Maildir's info separator for this platform: ':' on POSIX, ';' on Windows. */
char pal_maildir_info_sep(void);

/* Longest path the helpers build, in bytes with the NUL. */
#define PAL_PATH_MAX 4096

#endif
