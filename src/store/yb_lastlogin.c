/*
 * yb_lastlogin.c - the per-account last-login stamp.
 */
#include "yb_lastlogin.h"
#include "pal.h"
#include "yb_accounts.h"
#include "yb_log.h"

#include <stdio.h>
#include <stdlib.h>

#define STAMP_MAX 24

static int stamp_path(const char *account_dir, char *buf, size_t size)
{
    return pal_path_join(buf, size, account_dir, "lastlogin");
}

int yb_lastlogin_read(const char *account_dir, int64_t *when_r)
{
    char path[PAL_PATH_MAX], *data = NULL;
    size_t len = 0;
    int rc = stamp_path(account_dir, path, sizeof(path));
    if (rc == 0)
        rc = pal_file_read_all(path, STAMP_MAX, &data, &len);
    if (rc != 0)
        return rc == YB_ELIMIT ? YB_ENOENT : rc;
    int64_t v = 0;
    size_t i = 0;
    for (; i < len && data[i] >= '0' && data[i] <= '9' && i < 18; i++)
        v = v * 10 + (data[i] - '0');
    bool ok = i > 0 && (i == len || data[i] == '\n');
    free(data);
    if (!ok)
        return YB_ENOENT;
    *when_r = v;
    return 0;
}

int yb_lastlogin_note(const char *account_dir, int64_t now)
{
    char path[PAL_PATH_MAX], text[STAMP_MAX];
    int64_t prev = 0;
    int rc = stamp_path(account_dir, path, sizeof(path));
    if (rc != 0)
        return rc;
    if (yb_lastlogin_read(account_dir, &prev) == 0 && now >= prev &&
        now - prev < YB_LASTLOGIN_GRANULARITY)
        return 0;
    int n = snprintf(text, sizeof(text), "%lld\n", (long long)now);
    if (n < 0 || (size_t)n >= sizeof(text))
        return YB_ERANGE;
    if ((rc = pal_file_mkdirs(account_dir)) != 0)
        return rc;
    struct pal_file *f = NULL;
    if ((rc = pal_fs_open(path, PAL_O_WRONLY | PAL_O_CREAT | PAL_O_TRUNC, 0600, &f)) != 0)
        return rc;
    rc = pal_file_write_all(f, text, (size_t)n);
    int rc2 = pal_fs_close(&f);
    return rc != 0 ? rc : rc2;
}

void yb_lastlogin_note_user(const char *root, const struct yb_user *u, const char *service)
{
    char dir[PAL_PATH_MAX];
    if (u == NULL || yb_account_dir(root, u->domain, u->dir, dir, sizeof(dir)) != 0)
        return;
    if (yb_lastlogin_note(dir, pal_time_now()) != 0)
        yb_log_debug(service, "cannot record the last login in %s", dir);
}
