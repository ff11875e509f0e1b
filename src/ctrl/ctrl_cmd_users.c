/*
 * ctrl_cmd_users.c - useradd, userdel, userpasswd, userlist, userstat,
 * uservars, uservarsset (XMail's names and argument order).
 */
#include "ctrl_int.h"
#include "yb_lastlogin.h"
#include "yb_log.h"
#include "yb_maildir.h"
#include "yb_passwd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest user variable name (user.tab). */
#define CTRL_LIMIT_VAR_NAME 64
/* XMail's way to delete a user variable with uservarsset. */
#define CTRL_VAR_DELETE ".|rm"

int ctrl_account_dir(struct ctrl_session *cs, struct yb_slice domain, struct yb_slice dir,
                     char *buf, size_t size)
{
    return yb_account_dir(yb_confstore_root(cs->store), domain, dir, buf, size);
}

/*
 * Checks a domain argument: syntax, permission, and (local) that it is in
 * domains.tab. Returns 0 or the error already answered. *as_written_r gets
 * the domain as domains.tab writes it when local.
 */
int ctrl_check_domain(struct yb_session *s, struct ctrl_session *cs, const struct yb_config *cfg,
                      struct yb_slice domain, bool local, const char **as_written_r)
{
    char why[128];
    if (yb_domain_check(domain, why, sizeof(why)) != 0) {
        ctrl_err(s, cs, YB_CTRL_E_BAD_DOMAIN, "%s", why);
        return YB_CTRL_E_BAD_DOMAIN;
    }
    if (!ctrl_may_domain(cs, domain)) {
        ctrl_err(s, cs, YB_CTRL_E_DENIED, "not an administrator of %.*s", (int)domain.len,
                 (const char *)domain.p);
        return YB_CTRL_E_DENIED;
    }
    if (local) {
        const char *w = yb_domains_find(yb_config_domains(cfg), domain);
        if (w == NULL) {
            ctrl_err(s, cs, YB_CTRL_E_NO_DOMAIN, "%.*s", (int)domain.len, (const char *)domain.p);
            return YB_CTRL_E_NO_DOMAIN;
        }
        if (as_written_r != NULL)
            *as_written_r = w;
    }
    return 0;
}

/* The journal is folded into mailusers.tab when it holds more entries than
 * this, or than half the accounts in mailusers.tab: amortised O(1) per change. */
#define CTRL_COMPACT_MIN 4096

enum user_op { USER_ADD, USER_DEL, USER_PASSWD };

struct user_edit {
    enum user_op op;
    struct yb_slice domain, name;
    char stored[YB_PASSWD_STORED_MAX];
    char type[2];
    char dir[YB_LIMIT_MAILBOX_DIR + 1]; /* ADD: the new one; DEL: the removed one */
};

/*
 * Makes one account change: under the locks, picks up what other processes
 * appended, checks the change against the current accounts, appends one
 * journal record and reloads, so the next session sees it. The record is
 * fsync'ed by ctrl_flush before the reply leaves, so "+00000" still means
 * it is on stable storage; pipelined changes share that fsync. Returns 0 or
 * a CTRL error number.
 */
static int user_change(struct ctrl_session *cs, struct user_edit *e, char *detail, size_t size)
{
    struct pal_file *lock = NULL;
    struct yb_config *cfg = NULL;
    struct yb_buf rec;
    int result = ctrl_lock(cs, &lock, detail, size);
    if (result != 0)
        return result;
    yb_buf_init(&rec, YB_LIMIT_TAB_LINE + 1);
    ctrl_reload(cs, false);
    cfg = yb_confstore_get(cs->store);
    const struct yb_users *users = yb_config_users(cfg);
    const struct yb_user *cur = yb_users_find(users, e->domain, e->name);
    char id[16];
    if (e->op == USER_ADD) {
        uint32_t max = yb_users_max_id(users);
        if (cur != NULL) {
            result = YB_CTRL_E_USER_EXISTS;
            goto out;
        }
        if (max == UINT32_MAX) {
            result = YB_CTRL_E_LIMIT;
            goto out;
        }
        snprintf(id, sizeof(id), "%lu", (unsigned long)max + 1);
        struct yb_slice f[7] = { YB_SLICE_LIT("+"),        e->domain,         e->name,
                                 yb_slice_cstr(e->stored), yb_slice_cstr(id), yb_slice_cstr(e->dir),
                                 yb_slice_cstr(e->type) };
        result = ctrl_put_record(&rec, f, 7);
    } else if (cur == NULL) {
        result = YB_CTRL_E_NO_USER;
    } else if (e->op == USER_DEL) {
        snprintf(e->dir, sizeof(e->dir), "%.*s", (int)cur->dir.len, (const char *)cur->dir.p);
        struct yb_slice f[3] = { YB_SLICE_LIT("-"), cur->domain, cur->name };
        result = ctrl_put_record(&rec, f, 3);
    } else {
        char type[2] = { (char)cur->type, 0 };
        snprintf(id, sizeof(id), "%lu", (unsigned long)cur->id);
        struct yb_slice f[7] = { YB_SLICE_LIT("+"),        cur->domain,       cur->name,
                                 yb_slice_cstr(e->stored), yb_slice_cstr(id), cur->dir,
                                 yb_slice_cstr(type) };
        result = ctrl_put_record(&rec, f, 7);
    }
    if (result != 0)
        goto out;
    /* Not synced here: ctrl_flush syncs before this change's reply leaves (group commit). */
    int rc = yb_users_journal_append(yb_confstore_root(cs->store), rec.p, rec.len, false);
    if (rc != 0) {
        snprintf(detail, size, "%s: %s", YB_USERS_JOURNAL, yb_strerror(rc));
        result = YB_CTRL_E_STORAGE;
        goto out;
    }
    cs->unsynced = true;
    yb_config_unref(&cfg);
    ctrl_reload(cs, false);
    cfg = yb_confstore_get(cs->store);
    size_t jlen = yb_config_journal_length(cfg);
    size_t nbase = yb_config_tab(cfg, YB_CF_MAILUSERS)->nrec;
    if (jlen > CTRL_COMPACT_MIN && jlen > nbase / 2) {
        char why[YB_CONF_ERR_MAX];
        /* The change itself is already durable: a failed fold is only logged. */
        if (ctrl_compact_locked(cs, why, sizeof(why)) == 0)
            ctrl_reload(cs, false);
        else
            yb_log_error("ctrl", "%s: cannot fold the journal: %s", cs->tag, why);
    }
out:
    yb_config_unref(&cfg);
    yb_buf_free(&rec);
    ctrl_unlock(&lock);
    return result;
}

/* Common checks of "domain" "user"; 0 or the error already answered. */
static int user_args(struct yb_session *s, struct ctrl_session *cs, const struct yb_config *cfg,
                     const struct yb_ctrl_args *a, struct user_edit *e)
{
    char why[128];
    const char *dom = NULL;
    int rc = ctrl_check_domain(s, cs, cfg, a->f[1], true, &dom);
    if (rc != 0)
        return rc;
    if (yb_local_part_check(a->f[2], why, sizeof(why)) != 0) {
        ctrl_err(s, cs, YB_CTRL_E_BAD_NAME, "%s", why);
        return YB_CTRL_E_BAD_NAME;
    }
    e->domain = yb_slice_cstr(dom);
    e->name = a->f[2];
    return 0;
}

static void done(struct yb_session *s, struct ctrl_session *cs, int rc, const char *detail,
                 const char *what, const struct user_edit *e)
{
    if (rc != 0) {
        ctrl_fail(s, cs, rc, detail);
        return;
    }
    yb_log_info("ctrl", "%s %s: %s %.*s@%.*s", cs->tag, cs->admin, what, (int)e->name.len,
                (const char *)e->name.p, (int)e->domain.len, (const char *)e->domain.p);
    ctrl_ok(s, cs, "OK");
}

void ctrl_cmd_useradd(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    struct user_edit *e = calloc(1, sizeof(*e));
    char detail[YB_CONF_ERR_MAX] = "";
    if (e == NULL) {
        ctrl_err(s, cs, YB_CTRL_E_INTERNAL, "out of memory");
        goto out;
    }
    e->op = USER_ADD;
    if (user_args(s, cs, cfg, a, e) != 0)
        goto out;
    struct yb_slice type = a->n > 4 ? a->f[4] : YB_SLICE_LIT("U");
    if (!yb_slice_eq_cstr_nocase(type, "U") && !yb_slice_eq_cstr_nocase(type, "M")) {
        ctrl_err(s, cs, YB_CTRL_E_BAD_FIELD, "the user type is U or M");
        goto out;
    }
    e->type[0] = (char)(type.p[0] & ~0x20);
    /* The mailbox directory is the name in lower case (XMail's layout). */
    if (e->name.len >= sizeof(e->dir)) {
        ctrl_error(s, cs, YB_CTRL_E_BAD_NAME);
        goto out;
    }
    for (size_t i = 0; i < e->name.len; i++) {
        unsigned char c = e->name.p[i];
        e->dir[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    int rc = ctrl_password(cs, a->f[3], e->stored, sizeof(e->stored));
    /* The Maildir is created by the first delivery (yb_maildir.h), not here:
     * four mkdirs would cost more than the rest of useradd together. */
    if (rc == 0)
        rc = user_change(cs, e, detail, sizeof(detail));
    done(s, cs, rc, detail, "useradd", e);
out:
    free(e);
    yb_config_unref(&cfg);
}

void ctrl_cmd_userdel(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    struct user_edit *e = calloc(1, sizeof(*e));
    char detail[YB_CONF_ERR_MAX] = "";
    if (e == NULL) {
        ctrl_err(s, cs, YB_CTRL_E_INTERNAL, "out of memory");
        goto out;
    }
    e->op = USER_DEL;
    if (user_args(s, cs, cfg, a, e) != 0)
        goto out;
    int rc = user_change(cs, e, detail, sizeof(detail));
    if (rc == 0 && e->dir[0] != '\0') {
        /* The mailbox is moved aside, not destroyed: ROOT/deleted/<domain>.<dir>.<time>. */
        char dom[YB_LIMIT_DOMAIN + 1];
        snprintf(dom, sizeof(dom), "%.*s", (int)e->domain.len, (const char *)e->domain.p);
        int mrc = ctrl_move_aside(cs, dom, e->dir);
        if (mrc != 0)
            yb_log_warn("ctrl", "%s: cannot move the mailbox of %s aside: %s", cs->tag, e->dir,
                        yb_strerror(mrc));
    }
    done(s, cs, rc, detail, "userdel", e);
out:
    free(e);
    yb_config_unref(&cfg);
}

void ctrl_cmd_userpasswd(struct yb_session *s, struct ctrl_session *cs,
                         const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    struct user_edit *e = calloc(1, sizeof(*e));
    char detail[YB_CONF_ERR_MAX] = "";
    if (e == NULL) {
        ctrl_err(s, cs, YB_CTRL_E_INTERNAL, "out of memory");
        goto out;
    }
    e->op = USER_PASSWD;
    if (user_args(s, cs, cfg, a, e) != 0)
        goto out;
    if (yb_users_find(yb_config_users(cfg), e->domain, e->name) == NULL) {
        ctrl_error(s, cs, YB_CTRL_E_NO_USER); /* before the slow hash */
        goto out;
    }
    int rc = ctrl_password(cs, a->f[3], e->stored, sizeof(e->stored));
    if (rc == 0)
        rc = user_change(cs, e, detail, sizeof(detail));
    done(s, cs, rc, detail, "userpasswd", e);
out:
    free(e);
    yb_config_unref(&cfg);
}

void ctrl_cmd_userlist(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    const struct yb_users *users = yb_config_users(cfg);
    if (a->n > 1 && ctrl_check_domain(s, cs, cfg, a->f[1], false, NULL) != 0)
        goto out;
    ctrl_list_begin(s, cs);
    for (size_t i = 0, n = yb_users_count(users); i < n; i++) {
        const struct yb_user *u = yb_users_at(users, i);
        if (u == NULL || !ctrl_may_domain(cs, u->domain)) /* NULL: changed later in the journal */
            continue;
        if (a->n > 1 && !yb_slice_eq_nocase(u->domain, a->f[1]))
            continue;
        if (a->n > 2 && !yb_slice_eq_nocase(u->name, a->f[2]))
            continue;
        char id[16], type[2] = { (char)u->type, 0 };
        snprintf(id, sizeof(id), "%lu", (unsigned long)u->id);
        /* XMail puts the password third; yubin never sends it (nor its hash). */
        struct yb_slice f[4] = { u->domain, u->name, yb_slice_cstr(id), yb_slice_cstr(type) };
        ctrl_list_record(s, cs, f, 4);
    }
    ctrl_list_end(s, cs);
out:
    yb_config_unref(&cfg);
}

/* The account of "domain" "user" (answered with an error when missing). */
static const struct yb_user *find_user(struct yb_session *s, struct ctrl_session *cs,
                                       const struct yb_config *cfg, const struct yb_ctrl_args *a)
{
    if (ctrl_check_domain(s, cs, cfg, a->f[1], true, NULL) != 0)
        return NULL;
    const struct yb_user *u = yb_users_find(yb_config_users(cfg), a->f[1], a->f[2]);
    if (u == NULL)
        ctrl_error(s, cs, YB_CTRL_E_NO_USER);
    return u;
}

static void stat_record(struct yb_session *s, struct ctrl_session *cs, const char *name,
                        const char *value)
{
    struct yb_slice f[2] = { yb_slice_cstr(name), yb_slice_cstr(value) };
    ctrl_list_record(s, cs, f, 2);
}

void ctrl_cmd_userstat(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    const struct yb_user *u = find_user(s, cs, cfg, a);
    char dir[PAL_PATH_MAX], md[PAL_PATH_MAX], num[32];
    if (u == NULL)
        goto out;
    if (ctrl_account_dir(cs, u->domain, u->dir, dir, sizeof(dir)) != 0 ||
        pal_path_join(md, sizeof(md), dir, "Maildir") != 0) {
        ctrl_err(s, cs, YB_CTRL_E_STORAGE, "path too long");
        goto out;
    }
    uint64_t quota = (uint64_t)yb_vars_num(yb_config_vars(cfg), YB_VAR_MaxMBSize) * 1024u * 1024u;
    uint64_t bytes = 0, count = 0;
    int rc = pal_file_exists(md) ? yb_maildir_usage(md, quota, &bytes, &count) : 0;
    if (rc != 0) {
        ctrl_err(s, cs, YB_CTRL_E_STORAGE, "%s", yb_strerror(rc));
        goto out;
    }
    ctrl_list_begin(s, cs);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)count);
    stat_record(s, cs, "messages", num);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)bytes);
    stat_record(s, cs, "bytes", num);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)quota);
    stat_record(s, cs, "quota", num);
    int64_t when = 0;
    if (yb_lastlogin_read(dir, &when) == 0)
        snprintf(num, sizeof(num), "%lld", (long long)when);
    else
        num[0] = '\0';
    stat_record(s, cs, "lastlogin", num);
    ctrl_list_end(s, cs);
out:
    yb_config_unref(&cfg);
}

static int user_tab_path(struct ctrl_session *cs, const struct yb_user *u, char *buf, size_t size)
{
    char dir[PAL_PATH_MAX];
    int rc = ctrl_account_dir(cs, u->domain, u->dir, dir, sizeof(dir));
    return rc == 0 ? pal_path_join(buf, size, dir, "user.tab") : rc;
}

void ctrl_cmd_uservars(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    const struct yb_user *u = find_user(s, cs, cfg, a);
    char path[PAL_PATH_MAX];
    struct yb_tab *tab = NULL;
    struct yb_tab_error err;
    if (u == NULL)
        goto out;
    int rc = user_tab_path(cs, u, path, sizeof(path));
    if (rc == 0) {
        rc = yb_tab_load(path, &tab, &err);
        if (rc == YB_ENOENT)
            rc = yb_tab_parse("", 0, &tab, &err);
    }
    if (rc != 0) {
        ctrl_err(s, cs, YB_CTRL_E_STORAGE, "user.tab: %s", yb_strerror(rc));
        goto out;
    }
    ctrl_list_begin(s, cs);
    for (size_t i = 0; i < tab->nrec; i++) {
        if (tab->rec[i].nfields == 2) {
            struct yb_slice f[2] = { ctrl_field(&tab->rec[i], 0), ctrl_field(&tab->rec[i], 1) };
            ctrl_list_record(s, cs, f, 2);
        }
    }
    ctrl_list_end(s, cs);
out:
    yb_tab_free(&tab);
    yb_config_unref(&cfg);
}

struct vars_edit {
    const struct yb_ctrl_args *a; /* pairs from field 3 on */
};

static bool var_name_ok(struct yb_slice n)
{
    if (n.len == 0 || n.len > CTRL_LIMIT_VAR_NAME)
        return false;
    for (size_t i = 0; i < n.len; i++) {
        unsigned char c = n.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static int edit_vars(void *arg, const struct yb_tab *cur, struct yb_buf *out)
{
    const struct vars_edit *e = arg;
    const struct yb_ctrl_args *a = e->a;
    int rc;
    /* Existing variables not named in the command stay, in their order. */
    for (size_t i = 0; i < cur->nrec; i++) {
        const struct yb_tab_rec *r = &cur->rec[i];
        bool named = false;
        for (size_t k = 3; k + 1 < a->n; k += 2)
            named = named || (r->nfields >= 1 && yb_slice_eq(ctrl_field(r, 0), a->f[k]));
        if (!named && (rc = ctrl_copy_record(out, r)) != 0)
            return rc;
    }
    for (size_t k = 3; k + 1 < a->n; k += 2) {
        if (yb_slice_eq(a->f[k + 1], YB_SLICE_LIT(CTRL_VAR_DELETE)))
            continue;
        if ((rc = ctrl_put_record(out, &a->f[k], 2)) != 0)
            return rc;
    }
    return 0;
}

void ctrl_cmd_uservarsset(struct yb_session *s, struct ctrl_session *cs,
                          const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    const struct yb_user *u = find_user(s, cs, cfg, a);
    char path[PAL_PATH_MAX], detail[YB_CONF_ERR_MAX] = "";
    if (u == NULL)
        goto out;
    if ((a->n - 3) % 2 != 0) {
        ctrl_err(s, cs, YB_CTRL_E_ARGS, "variables come in name/value pairs");
        goto out;
    }
    for (size_t k = 3; k < a->n; k += 2) {
        if (!var_name_ok(a->f[k])) {
            ctrl_err(s, cs, YB_CTRL_E_BAD_FIELD, "variable names are 1-%d of A-Z a-z 0-9 - _ .",
                     CTRL_LIMIT_VAR_NAME);
            goto out;
        }
    }
    struct vars_edit e = { a };
    int rc = user_tab_path(cs, u, path, sizeof(path));
    if (rc == 0) {
        char dir[PAL_PATH_MAX];
        if (ctrl_account_dir(cs, u->domain, u->dir, dir, sizeof(dir)) == 0)
            pal_file_mkdirs(dir); /* a failure shows in the write below */
        rc = ctrl_edit_path(cs, path, "user.tab", edit_vars, &e, detail, sizeof(detail));
    } else {
        rc = YB_CTRL_E_STORAGE;
    }
    if (rc != 0) {
        ctrl_fail(s, cs, rc, detail);
        goto out;
    }
    yb_log_info("ctrl", "%s %s: uservarsset %.*s@%.*s", cs->tag, cs->admin, (int)u->name.len,
                (const char *)u->name.p, (int)u->domain.len, (const char *)u->domain.p);
    ctrl_ok(s, cs, "OK");
out:
    yb_config_unref(&cfg);
}
