/*
 * fault_server.c - the real yubind runtime with faults injected into its file
 * operations through the PAL's replaceable table (pal_fs_set_ops), for the
 * SMTP disk-full and I/O-error integration tests. Not installed.
 *
 *   yb_fault_server -r ROOT
 *
 * While the file ROOT/fault exists, its first word picks the fault for files
 * created in a tmp/ directory (Maildir tmp/ and spool/tmp/), which is where
 * every message is written before it becomes visible:
 *   write  writes fail with "no space left on device"
 *   sync   fsync fails with an I/O error
 *   link   linking or renaming such a file into place fails with "no space"
 *   mdlink the same, only for Maildir tmp/ (the queue works)
 * Everything else (configuration, logs, ports.tab) works normally.
 */
#include "pal.h"
#include "yb_config.h"
#include "yb_log.h"
#include "yb_server.h"

#include <stdio.h>
#include <string.h>

#define FAULT_MAX_TRACKED 1024

static const struct pal_fs_ops *real;
static char fault_path[PAL_PATH_MAX];
static pal_mutex tracked_lock;
static struct pal_file *tracked[FAULT_MAX_TRACKED];

static char root[PAL_PATH_MAX];

/* True for a path inside a directory named tmp below ROOT (ROOT itself may be under /tmp). */
static bool in_tmp_dir(const char *path)
{
    size_t n = strlen(root);
    if (strncmp(path, root, n) != 0)
        return false;
    return strstr(path + n, "/tmp/") != NULL || strstr(path + n, "\\tmp\\") != NULL;
}

/* The fault now in force: "write", "sync", "link", or "" for none. */
static void current_fault(char out[16])
{
    out[0] = '\0';
    struct pal_file *f = NULL;
    if (real->open(fault_path, PAL_O_RDONLY, 0, &f) != 0)
        return;
    size_t got = 0;
    if (real->read(f, out, 15, &got) != 0)
        got = 0;
    out[got] = '\0';
    for (size_t i = 0; i < got; i++)
        if (out[i] == '\n' || out[i] == '\r' || out[i] == ' ')
            out[i] = '\0';
    real->close(&f);
}

static bool fault_is(const char *what)
{
    char now[16];
    current_fault(now);
    return strcmp(now, what) == 0;
}

static bool is_tracked(struct pal_file *f)
{
    bool yes = false;
    pal_mutex_lock(&tracked_lock);
    for (size_t i = 0; i < FAULT_MAX_TRACKED && !yes; i++)
        yes = tracked[i] == f;
    pal_mutex_unlock(&tracked_lock);
    return yes;
}

static void set_tracked(struct pal_file *from, struct pal_file *to)
{
    pal_mutex_lock(&tracked_lock);
    for (size_t i = 0; i < FAULT_MAX_TRACKED; i++) {
        if (tracked[i] == from) {
            tracked[i] = to;
            break;
        }
    }
    pal_mutex_unlock(&tracked_lock);
}

static int f_open(const char *path, unsigned flags, unsigned mode, struct pal_file **file_r)
{
    int rc = real->open(path, flags, mode, file_r);
    if (rc == 0 && (flags & PAL_O_CREAT) && in_tmp_dir(path))
        set_tracked(NULL, *file_r);
    return rc;
}

static int f_write(struct pal_file *f, const void *buf, size_t len, size_t *put_r)
{
    if (is_tracked(f) && fault_is("write"))
        return YB_ENOSPC;
    return real->write(f, buf, len, put_r);
}

static int f_sync(struct pal_file *f)
{
    if (is_tracked(f) && fault_is("sync"))
        return YB_EIO;
    return real->sync(f);
}

static int f_close(struct pal_file **f)
{
    if (*f != NULL)
        set_tracked(*f, NULL);
    return real->close(f);
}

static bool placing_fails(const char *from, const char *to)
{
    if (!in_tmp_dir(from) || in_tmp_dir(to))
        return false;
    char now[16];
    current_fault(now);
    return strcmp(now, "link") == 0 ||
           (strcmp(now, "mdlink") == 0 && strstr(from + strlen(root), "Maildir") != NULL);
}

static int f_link(const char *from, const char *to)
{
    return placing_fails(from, to) ? YB_ENOSPC : real->link(from, to);
}

static int f_rename(const char *from, const char *to)
{
    return placing_fails(from, to) ? YB_ENOSPC : real->rename(from, to);
}

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "-r") != 0) {
        fprintf(stderr, "usage: yb_fault_server -r ROOT\n");
        return 2;
    }
    if (pal_path_absolute(argv[2], root, sizeof(root)) != 0 ||
        pal_path_join(fault_path, sizeof(fault_path), root, "fault") != 0 ||
        pal_mutex_init(&tracked_lock) != 0)
        return 2;
    real = pal_fs_default_ops();
    static struct pal_fs_ops ops;
    ops = *real;
    ops.open = f_open;
    ops.write = f_write;
    ops.sync = f_sync;
    ops.close = f_close;
    ops.link = f_link;
    ops.rename = f_rename;
    pal_fs_set_ops(&ops); /* before any thread exists */

    yb_log_configure(NULL, true, YB_LOG_INFO);
    char err[YB_CONF_ERR_MAX];
    struct yb_confstore *store = NULL;
    if (yb_confstore_open(root, &store, err, sizeof(err)) != 0) {
        fprintf(stderr, "yb_fault_server: configuration error: %s\n", err);
        return 1;
    }
    int rc = yb_server_run(store, "fault-injection");
    yb_confstore_close(&store);
    yb_log_close();
    return rc;
}
