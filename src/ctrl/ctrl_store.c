/*
 * ctrl_store.c - changing the account files: read afresh under a process
 * lock and a file lock, let the command build the new file, check that it
 * loads, replace it atomically and durably, and reload so the change is
 * visible to the next session at once.
 */
#include "ctrl_int.h"
#include "yb_log.h"
#include "yb_passwd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pal_mutex write_lock;
static pal_once write_once = PAL_ONCE_INIT;

static void write_init(void)
{
    pal_mutex_init(&write_lock);
}

int ctrl_put_record(struct yb_buf *out, const struct yb_slice *f, size_t n)
{
    int rc = yb_tab_format_record(out, f, n);
    if (rc == YB_ELIMIT)
        return YB_CTRL_E_LIMIT;
    return rc == 0 ? 0 : YB_CTRL_E_BAD_FIELD;
}

int ctrl_copy_record(struct yb_buf *out, const struct yb_tab_rec *rec)
{
    struct yb_slice f[YB_LIMIT_TAB_FIELDS];
    for (unsigned i = 0; i < rec->nfields; i++)
        f[i] = ctrl_field(rec, i);
    return ctrl_put_record(out, f, rec->nfields);
}

int ctrl_validate(const char *file, const void *data, size_t len, char *msg, size_t size)
{
    struct yb_tab *tab = NULL;
    struct yb_tab_error err;
    memset(&err, 0, sizeof(err));
    int rc = yb_tab_parse(data, len, &tab, &err);
    if (rc == 0) {
        struct yb_vars *vars = NULL;
        struct yb_domains *dom = NULL;
        struct yb_aliasdomains *ad = NULL;
        struct yb_users *users = NULL;
        struct yb_aliases *al = NULL;
        struct yb_relay *relay = NULL;
        if (strcmp(file, "server.tab") == 0)
            rc = yb_vars_load(tab, &vars, &err, NULL, NULL);
        else if (strcmp(file, "domains.tab") == 0)
            rc = yb_domains_load(tab, &dom, &err, NULL, NULL);
        else if (strcmp(file, "aliasdomain.tab") == 0)
            rc = yb_aliasdomains_load(tab, &ad, &err, NULL, NULL);
        else if (strcmp(file, "mailusers.tab") == 0)
            rc = yb_users_load(tab, &users, &err, NULL, NULL);
        else if (strcmp(file, "aliases.tab") == 0)
            rc = yb_aliases_load(tab, &al, &err, NULL, NULL);
        else if (strcmp(file, "smtprelay.tab") == 0)
            rc = yb_relay_load(tab, &relay, &err, NULL, NULL);
        else if (strcmp(file, "ctrlaccounts.tab") == 0)
            rc = ctrl_admins_check(tab, &err);
        yb_vars_free(&vars);
        yb_domains_free(&dom);
        yb_aliasdomains_free(&ad);
        yb_users_free(&users);
        yb_aliases_free(&al);
        yb_relay_free(&relay);
    }
    yb_tab_free(&tab);
    if (rc == 0)
        return 0;
    yb_tab_error_format(&err, file, msg, size);
    return YB_CTRL_E_BAD_FILE;
}

void ctrl_reload(struct ctrl_session *cs, bool force)
{
    char err[YB_CONF_ERR_MAX];
    bool changed = false;
    if (yb_confstore_check(cs->store, force, &changed, err, sizeof(err)) != 0)
        yb_log_error("config", "%s; keeping the previous configuration", err);
}

/*
 * ROOT/run/ctrl.lock, shared by every yubind on this root, is opened once and
 * kept open (the write lock guards the handle): a change then costs two
 * fcntl calls, not a path walk, an open and a close.
 */
static struct pal_file *lock_file;
static char lock_root_path[PAL_PATH_MAX];

static int open_lock(const char *root)
{
    char dir[PAL_PATH_MAX], path[PAL_PATH_MAX];
    int rc;
    if (lock_file != NULL && strcmp(lock_root_path, root) == 0)
        return 0;
    if (lock_file != NULL)
        pal_fs_close(&lock_file); /* another root (tests open several) */
    if ((rc = pal_path_join(dir, sizeof(dir), root, "run")) != 0 ||
        (rc = pal_path_join(path, sizeof(path), dir, "ctrl.lock")) != 0 ||
        (rc = pal_file_mkdirs(dir)) != 0 ||
        (rc = pal_fs_open(path, PAL_O_RDWR | PAL_O_CREAT, 0600, &lock_file)) != 0)
        return rc;
    snprintf(lock_root_path, sizeof(lock_root_path), "%s", root);
    return 0;
}

int ctrl_edit_file(struct ctrl_session *cs, enum yb_conf_file_id id, ctrl_edit_fn edit, void *arg,
                   char *detail, size_t size)
{
    char path[PAL_PATH_MAX];
    if (pal_path_join(path, sizeof(path), yb_confstore_root(cs->store), yb_conf_file_name(id)) !=
        0) {
        snprintf(detail, size, "path too long");
        return YB_CTRL_E_STORAGE;
    }
    int result = ctrl_edit_path(cs, path, yb_conf_file_name(id), edit, arg, detail, size);
    if (result == 0)
        ctrl_reload(cs, false);
    return result;
}

int ctrl_lock(struct ctrl_session *cs, struct pal_file **lock_r, char *detail, size_t size)
{
    pal_once_run(&write_once, write_init);
    pal_mutex_lock(&write_lock);
    int rc = open_lock(yb_confstore_root(cs->store));
    if (rc == 0)
        rc = pal_fs_lock(lock_file, PAL_LOCK_EX);
    if (rc != 0) {
        pal_mutex_unlock(&write_lock);
        snprintf(detail, size, "run/ctrl.lock: %s", yb_strerror(rc));
        return YB_CTRL_E_STORAGE;
    }
    *lock_r = lock_file;
    return 0;
}

void ctrl_unlock(struct pal_file **lock)
{
    pal_fs_unlock(*lock);
    *lock = NULL; /* the handle stays open for the next change */
    pal_mutex_unlock(&write_lock);
}

int ctrl_compact_locked(struct ctrl_session *cs, char *detail, size_t size)
{
    size_t n = 0;
    uint64_t t0 = pal_time_mono_ms();
    int rc = yb_users_compact(yb_confstore_root(cs->store), &n, detail, size);
    if (rc != 0)
        return YB_CTRL_E_STORAGE;
    yb_log_info("ctrl", "%s: %s folded into mailusers.tab (%zu accounts, %llu ms)", cs->tag,
                YB_USERS_JOURNAL, n, (unsigned long long)(pal_time_mono_ms() - t0));
    return 0;
}

int ctrl_edit_path(struct ctrl_session *cs, const char *path, const char *name, ctrl_edit_fn edit,
                   void *arg, char *detail, size_t size)
{
    struct pal_file *lock = NULL;
    struct yb_tab *cur = NULL;
    struct yb_tab_error err;
    struct yb_buf out;
    int rc, result;
    detail[0] = '\0';
    yb_buf_init(&out, YB_LIMIT_TAB_FILE);
    if ((result = ctrl_lock(cs, &lock, detail, size)) != 0)
        return result;
    /* mailusers.tab is edited whole: fold the journal in first, so the edit
     * starts from every account and no journal record is applied on top. */
    if (strcmp(name, "mailusers.tab") == 0 && (result = ctrl_compact_locked(cs, detail, size)) != 0)
        goto out;
    rc = yb_tab_load(path, &cur, &err);
    if (rc == YB_ENOENT)
        rc = yb_tab_parse("", 0, &cur, &err);
    if (rc != 0) {
        yb_tab_error_format(&err, name, detail, size);
        result = YB_CTRL_E_BAD_FILE;
        goto out;
    }
    if ((result = edit(arg, cur, &out)) != 0)
        goto out;
    if ((result = ctrl_validate(name, out.p != NULL ? (const char *)out.p : "", out.len, detail,
                                size)) != 0)
        goto out;
    if ((rc = pal_file_replace(path, out.p != NULL ? out.p : (const unsigned char *)"", out.len)) !=
        0) {
        snprintf(detail, size, "%s: %s", name, yb_strerror(rc));
        result = YB_CTRL_E_STORAGE;
        goto out;
    }
out:
    ctrl_unlock(&lock);
    yb_tab_free(&cur);
    yb_buf_free(&out);
    return result;
}

int ctrl_move_aside(struct ctrl_session *cs, const char *domain, const char *dir)
{
    const char *root = yb_confstore_root(cs->store);
    char from[PAL_PATH_MAX], to[PAL_PATH_MAX], deleted[PAL_PATH_MAX];
    int n1 = dir != NULL ? snprintf(from, sizeof(from), "%s/domains/%s/%s", root, domain, dir)
                         : snprintf(from, sizeof(from), "%s/domains/%s", root, domain);
    int n2 = snprintf(deleted, sizeof(deleted), "%s/deleted", root);
    int n3 = dir != NULL ? snprintf(to, sizeof(to), "%s/%s.%s.%lld", deleted, domain, dir,
                                    (long long)pal_time_now())
                         : snprintf(to, sizeof(to), "%s/%s.%lld", deleted, domain,
                                    (long long)pal_time_now());
    if (n1 < 0 || n2 < 0 || n3 < 0 || (size_t)n1 >= sizeof(from) || (size_t)n2 >= sizeof(deleted) ||
        (size_t)n3 >= sizeof(to))
        return YB_ENAMETOOLONG;
    if (!pal_file_exists(from))
        return 0;
    int rc = pal_file_mkdirs(deleted);
    for (int i = 1; rc == 0 && pal_file_exists(to) && i < 100; i++) {
        /* The same name twice in one second: add a counter. */
        size_t len = strlen(to);
        int n = snprintf(to + len, sizeof(to) - len, "-%d", i);
        if (n < 0 || (size_t)n >= sizeof(to) - len)
            return YB_ENAMETOOLONG;
    }
    if (rc == 0)
        rc = pal_fs_rename(from, to);
    if (rc == 0)
        yb_log_info("ctrl", "%s %s: moved %s aside to %s", cs->tag, cs->admin, from, to);
    return rc;
}

int ctrl_password(struct ctrl_session *cs, struct yb_slice given, char *out, size_t size)
{
    struct yb_scram_keys keys;
    if (given.len == 0 || given.len > YB_LIMIT_PASSWORD)
        return YB_CTRL_E_BAD_PASSWORD;
    if (given.len > strlen(YB_PASSWD_SCHEME) &&
        memcmp(given.p, YB_PASSWD_SCHEME, strlen(YB_PASSWD_SCHEME)) == 0) {
        /* Already hashed (e.g. by yubind --hash-password): stored as it is. */
        if (given.len >= size || yb_passwd_parse((const char *)given.p, &keys) != 0)
            return YB_CTRL_E_BAD_PASSWORD;
        memcpy(out, given.p, given.len + 1);
        return 0;
    }
    struct yb_config *cfg = yb_confstore_get(cs->store);
    unsigned iter = (unsigned)yb_vars_num(yb_config_vars(cfg), YB_VAR_CtrlHashIterations);
    yb_config_unref(&cfg);
    return yb_passwd_hash(given.p, given.len, iter, out, size) == 0 ? 0 : YB_CTRL_E_BAD_PASSWORD;
}

static bool rec_matches(const struct ctrl_rec_edit *e, const struct yb_tab_rec *r)
{
    for (size_t k = 0; k < e->nkey; k++) {
        if (e->idx[k] >= r->nfields || !yb_slice_eq_nocase(ctrl_field(r, e->idx[k]), e->key[k]))
            return false;
    }
    return true;
}

int ctrl_edit_records(void *arg, const struct yb_tab *cur, struct yb_buf *out)
{
    struct ctrl_rec_edit *e = arg;
    int rc;
    e->removed = 0;
    for (size_t i = 0; i < cur->nrec; i++) {
        const struct yb_tab_rec *r = &cur->rec[i];
        if (rec_matches(e, r)) {
            if (e->op == CTRL_EDIT_ADD)
                return e->exists_err;
            e->removed++;
            continue;
        }
        if ((rc = ctrl_copy_record(out, r)) != 0)
            return rc;
    }
    if (e->op == CTRL_EDIT_ADD)
        return ctrl_put_record(out, e->add, e->nadd);
    return e->removed > 0 || e->missing_err == 0 ? 0 : e->missing_err;
}
