/*
 * yb_users_file.c - writing mailusers.journal and folding it into
 * mailusers.tab (yb_accounts.h).
 */
#include "yb_accounts.h"
#include "pal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Creates ROOT/mailusers.journal holding only its header line, atomically. */
static int create_journal(const char *root, const char *path)
{
    unsigned char rnd[8];
    char header[YB_USERS_JOURNAL_HEADER_LEN + 1];
    int rc = pal_random_bytes(rnd, sizeof(rnd));
    if (rc != 0)
        return rc;
    int n = snprintf(header, sizeof(header), "%s%02x%02x%02x%02x%02x%02x%02x%02x\n",
                     YB_USERS_JOURNAL_HEADER, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
                     rnd[6], rnd[7]);
    if (n < 0 || (size_t)n != YB_USERS_JOURNAL_HEADER_LEN)
        return YB_ERANGE;
    (void)root;
    return pal_file_replace(path, header, (size_t)n);
}

int yb_users_journal_sync(const char *root)
{
    char path[PAL_PATH_MAX];
    struct pal_file *f = NULL;
    int rc = pal_path_join(path, sizeof(path), root, YB_USERS_JOURNAL);
    if (rc == 0)
        rc = pal_fs_open(path, PAL_O_WRONLY, 0600, &f);
    if (rc == YB_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    rc = pal_fs_sync(f);
    int crc = pal_fs_close(&f);
    return rc != 0 ? rc : crc;
}

int yb_users_journal_append(const char *root, const void *records, size_t len, bool sync)
{
    char path[PAL_PATH_MAX];
    struct pal_file *f = NULL;
    int rc = pal_path_join(path, sizeof(path), root, YB_USERS_JOURNAL);
    if (rc != 0)
        return rc;
    if (!pal_file_exists(path) && (rc = create_journal(root, path)) != 0)
        return rc;
    if ((rc = pal_fs_open(path, PAL_O_WRONLY | PAL_O_APPEND, 0600, &f)) != 0)
        return rc;
    rc = pal_file_write_all(f, records, len);
    if (rc == 0 && sync)
        rc = pal_fs_sync(f);
    int crc = pal_fs_close(&f);
    return rc != 0 ? rc : crc;
}

/* Loads a tab file, or an empty table when it does not exist. */
static int load_or_empty(const char *path, struct yb_tab **tab_r, struct yb_tab_error *err)
{
    int rc = yb_tab_load(path, tab_r, err);
    return rc == YB_ENOENT ? yb_tab_parse("", 0, tab_r, err) : rc;
}

int yb_users_compact(const char *root, size_t *n_r, char *errbuf, size_t errsize)
{
    char base_path[PAL_PATH_MAX], jpath[PAL_PATH_MAX], *jdata = NULL;
    struct yb_tab *base_tab = NULL, *jtab = NULL;
    struct yb_users *base = NULL, *view = NULL;
    struct yb_users_journal *j = NULL;
    struct yb_tab_error err;
    struct yb_buf out;
    size_t jlen = 0, n = 0;
    int rc;
    yb_buf_init(&out, YB_LIMIT_TAB_FILE);
    errbuf[0] = '\0';
    if ((rc = pal_path_join(base_path, sizeof(base_path), root, "mailusers.tab")) != 0 ||
        (rc = pal_path_join(jpath, sizeof(jpath), root, YB_USERS_JOURNAL)) != 0) {
        snprintf(errbuf, errsize, "%s: path too long", root);
        return rc;
    }
    rc = pal_file_read_all(jpath, YB_LIMIT_TAB_FILE, &jdata, &jlen);
    if (rc == YB_ENOENT) {
        if (n_r != NULL)
            *n_r = 0;
        return 0; /* nothing to fold */
    }
    if (rc != 0) {
        snprintf(errbuf, errsize, "%s: %s", jpath, yb_strerror(rc));
        return rc;
    }
    while (jlen > 0 && jdata[jlen - 1] != '\n')
        jlen--; /* a record cut by a crash was never acknowledged */
    if ((rc = load_or_empty(base_path, &base_tab, &err)) != 0 ||
        (rc = yb_users_load(base_tab, &base, &err, NULL, NULL)) != 0) {
        yb_tab_error_format(&err, base_path, errbuf, errsize);
        goto out;
    }
    if ((rc = yb_tab_parse(jdata, jlen, &jtab, &err)) != 0 ||
        (rc = yb_users_journal_new(jtab->nrec, &j)) != 0 ||
        (rc = yb_users_journal_apply(j, jtab, 0, &err)) != 0) {
        if (err.code == rc)
            yb_tab_error_format(&err, jpath, errbuf, errsize);
        else
            snprintf(errbuf, errsize, "%s: %s", jpath, yb_strerror(rc));
        goto out;
    }
    if ((rc = yb_users_view_new(base, j, yb_users_journal_count(j), &view)) != 0)
        goto out;
    for (size_t i = 0, c = yb_users_count(view); i < c && rc == 0; i++) {
        const struct yb_user *u = yb_users_at(view, i);
        if (u == NULL)
            continue;
        char id[16], type[2] = { (char)u->type, 0 };
        snprintf(id, sizeof(id), "%lu", (unsigned long)u->id);
        struct yb_slice f[6] = { u->domain,         u->name, u->password,
                                 yb_slice_cstr(id), u->dir,  yb_slice_cstr(type) };
        rc = yb_tab_format_record(&out, f, 6);
        n++;
    }
    if (rc != 0) {
        snprintf(errbuf, errsize, "mailusers.tab: %s", yb_strerror(rc));
        goto out;
    }
    if ((rc = pal_file_replace(base_path, out.p != NULL ? out.p : (const unsigned char *)"",
                               out.len)) != 0) {
        snprintf(errbuf, errsize, "%s: %s", base_path, yb_strerror(rc));
        goto out;
    }
    /* Only now: until mailusers.tab holds the records, the journal must stay. */
    if ((rc = pal_fs_unlink(jpath)) != 0 || (rc = pal_fs_sync_dir(root)) != 0) {
        snprintf(errbuf, errsize, "%s: %s", jpath, yb_strerror(rc));
        goto out;
    }
    if (n_r != NULL)
        *n_r = n;
out:
    yb_users_free(&view);
    yb_users_journal_unref(&j);
    yb_users_free(&base);
    yb_tab_free(&jtab);
    yb_tab_free(&base_tab);
    free(jdata);
    yb_buf_free(&out);
    return rc;
}
