/*
 * ctrl_cmd_admin.c - cfgfileget, cfgfileset, ctrladd, ctrldel, ctrllist,
 * stats, version, reload.
 */
#include "ctrl_int.h"
#include "yb_log.h"
#include "yb_passwd.h"
#include "yb_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef YUBIN_VERSION
#define YUBIN_VERSION "0.0.0"
#endif

/* Longest configuration file name cfgfileget/cfgfileset accept. */
#define CTRL_LIMIT_CFG_NAME 63

int ctrl_cfg_name_check(struct yb_slice name)
{
    static const char suffix[] = ".tab";
    const size_t sl = sizeof(suffix) - 1;
    if (name.len <= sl || name.len > CTRL_LIMIT_CFG_NAME)
        return YB_CTRL_E_BAD_PATH;
    if (!yb_slice_eq_cstr_nocase(yb_slice_make(name.p + name.len - sl, sl), suffix))
        return YB_CTRL_E_BAD_PATH;
    /* One plain name: no separator, drive letter, parent, hidden or odd character. */
    if (name.p[0] == '.')
        return YB_CTRL_E_BAD_PATH;
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = name.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return YB_CTRL_E_BAD_PATH;
        if (c == '.' && i + 1 < name.len && name.p[i + 1] == '.')
            return YB_CTRL_E_BAD_PATH;
    }
    return 0;
}

/*
 * Checks the name argument and builds its path and canonical name (a known
 * file in its own spelling: "MailUsers.TAB" is mailusers.tab on a file
 * system that ignores case, and must be checked as that). 0 or the error
 * already answered.
 */
static int cfg_path(struct yb_session *s, struct ctrl_session *cs, struct yb_slice name, char *path,
                    size_t size, char *canon, size_t canon_size)
{
    if (ctrl_cfg_name_check(name) != 0) {
        ctrl_error(s, cs, YB_CTRL_E_BAD_PATH);
        return YB_CTRL_E_BAD_PATH;
    }
    const char *n = (const char *)name.p;
    for (unsigned i = 0; i < YB_CF__COUNT; i++) {
        if (yb_slice_eq_cstr_nocase(name, yb_conf_file_name((enum yb_conf_file_id)i)))
            n = yb_conf_file_name((enum yb_conf_file_id)i);
    }
    snprintf(canon, canon_size, "%s", n); /* fits: names are at most CTRL_LIMIT_CFG_NAME */
    if (pal_path_join(path, size, yb_confstore_root(cs->store), n) != 0) {
        ctrl_err(s, cs, YB_CTRL_E_STORAGE, "path too long");
        return YB_CTRL_E_STORAGE;
    }
    return 0;
}

/*
 * Relay passwords (the fifth field of the smarthost file, QueueSmarthostFile)
 * never leave the server: cfgfileget shows each as "*", and a "*" sent back
 * with cfgfileset keeps the password on file for the same domain, host and
 * user. The masked listing is the canonical form (comments are not kept).
 */
#define CTRL_SECRET_FIELD 4
#define CTRL_SECRET_MASK  "*"

static bool holds_secrets(struct ctrl_session *cs, const char *canon)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    bool yes = yb_slice_eq_cstr_nocase(
        yb_slice_cstr(canon), yb_vars_str(yb_config_vars(cfg), YB_VAR_QueueSmarthostFile));
    yb_config_unref(&cfg);
    return yes;
}

/*
 * Writes tab's records to out with each non-empty secret replaced: by the
 * mask (old == NULL), or, where the new record says "*", by the secret of
 * the old record with the same domain, host and user (YB_ENOTFOUND if none).
 */
static int rewrite_secrets(const struct yb_tab *tab, const struct yb_tab *old, struct yb_buf *out)
{
    static const unsigned key[] = { 0, 1, 3 };
    for (size_t r = 0; r < tab->nrec; r++) {
        const struct yb_tab_rec *rec = &tab->rec[r];
        struct yb_slice f[64];
        unsigned n = rec->nfields < 64 ? rec->nfields : 64;
        for (unsigned i = 0; i < n; i++)
            f[i] = yb_slice_make(rec->field[i], rec->len[i]);
        if (n > CTRL_SECRET_FIELD && f[CTRL_SECRET_FIELD].len > 0) {
            if (old == NULL) {
                f[CTRL_SECRET_FIELD] = yb_slice_cstr(CTRL_SECRET_MASK);
            } else if (yb_slice_eq(f[CTRL_SECRET_FIELD], yb_slice_cstr(CTRL_SECRET_MASK))) {
                bool found = false;
                for (size_t k = 0; k < old->nrec && !found; k++) {
                    const struct yb_tab_rec *o = &old->rec[k];
                    if (o->nfields <= CTRL_SECRET_FIELD)
                        continue;
                    found = true;
                    for (size_t j = 0; j < YB_ARRAY_LEN(key) && found; j++)
                        found = yb_slice_eq_nocase(f[key[j]], yb_slice_make(o->field[key[j]],
                                                                            o->len[key[j]]));
                    if (found)
                        f[CTRL_SECRET_FIELD] =
                            yb_slice_make(o->field[CTRL_SECRET_FIELD], o->len[CTRL_SECRET_FIELD]);
                }
                if (!found)
                    return YB_ENOTFOUND;
            }
        }
        int rc = yb_tab_format_record(out, f, n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void send_masked(struct yb_session *s, struct ctrl_session *cs, const char *data, size_t len)
{
    struct yb_tab *tab = NULL;
    struct yb_tab_error err;
    struct yb_buf out;
    yb_buf_init(&out, YB_CTRL_LIMIT_BODY);
    int rc = yb_tab_parse(data, len, &tab, &err);
    if (rc == 0)
        rc = rewrite_secrets(tab, NULL, &out);
    if (rc == 0)
        ctrl_list_block(s, cs, yb_buf_slice(&out));
    else
        ctrl_err(s, cs, YB_CTRL_E_BAD_FILE, "the file on the server does not parse");
    yb_tab_free(&tab);
    yb_buf_free(&out);
}

void ctrl_cmd_cfgfileget(struct yb_session *s, struct ctrl_session *cs,
                         const struct yb_ctrl_args *a)
{
    char path[PAL_PATH_MAX], canon[CTRL_LIMIT_CFG_NAME + 1], *data = NULL;
    size_t len = 0;
    if (cfg_path(s, cs, a->f[1], path, sizeof(path), canon, sizeof(canon)) != 0)
        return;
    if (strcmp(canon, "mailusers.tab") == 0) {
        /* Recent account changes are in the journal: fold them in so the file is whole. */
        char detail[YB_CONF_ERR_MAX];
        struct pal_file *lock = NULL;
        int crc = ctrl_lock(cs, &lock, detail, sizeof(detail));
        if (crc == 0) {
            crc = ctrl_compact_locked(cs, detail, sizeof(detail));
            ctrl_unlock(&lock);
        }
        if (crc != 0) {
            ctrl_fail(s, cs, crc, detail);
            return;
        }
        ctrl_reload(cs, false);
    }
    int rc = pal_file_read_all(path, YB_CTRL_LIMIT_BODY, &data, &len);
    if (rc == YB_ENOENT) {
        rc = 0; /* a missing file reads as empty, as the server treats it */
        len = 0;
    }
    if (rc != 0) {
        ctrl_err(s, cs, rc == YB_ELIMIT ? YB_CTRL_E_LIMIT : YB_CTRL_E_STORAGE, "%s",
                 yb_strerror(rc));
        return;
    }
    if (holds_secrets(cs, canon))
        send_masked(s, cs, data, len);
    else
        ctrl_list_block(s, cs, yb_slice_make(data, len));
    free(data);
}

void ctrl_cmd_cfgfileset(struct yb_session *s, struct ctrl_session *cs,
                         const struct yb_ctrl_args *a)
{
    char path[PAL_PATH_MAX];
    if (cfg_path(s, cs, a->f[1], path, sizeof(path), cs->body_file, sizeof(cs->body_file)) != 0)
        return;
    yb_buf_init(&cs->body, YB_CTRL_LIMIT_BODY);
    cs->state = CTRL_ST_BODY;
    yb_session_read_body_dot(s, YB_CTRL_LIMIT_BODY);
    ctrl_want_body(s, cs);
}

/* cfgfileset of the smarthost file: "*" passwords take the ones on file. */
static int edit_replace_secrets(void *arg, const struct yb_tab *cur, struct yb_buf *out)
{
    const struct yb_buf *body = arg;
    struct yb_tab *tab = NULL, *none = NULL;
    struct yb_tab_error err;
    int rc = yb_tab_parse(body->p != NULL ? (const void *)body->p : "", body->len, &tab, &err);
    if (rc != 0)
        return YB_CTRL_E_BAD_FILE;
    if (cur == NULL && yb_tab_parse("", 0, &none, &err) != 0) {
        yb_tab_free(&tab);
        return YB_CTRL_E_INTERNAL;
    }
    rc = rewrite_secrets(tab, cur != NULL ? cur : none, out);
    yb_tab_free(&tab);
    yb_tab_free(&none);
    return rc == 0 ? 0 : rc == YB_ENOTFOUND ? YB_CTRL_E_BAD_PASSWORD : YB_CTRL_E_LIMIT;
}

/* cfgfileset: the body is the whole new file (CRLF as sent; the tab grammar takes both). */
static int edit_replace(void *arg, const struct yb_tab *cur, struct yb_buf *out)
{
    (void)cur;
    const struct yb_buf *body = arg;
    return yb_buf_append(out, body->p != NULL ? body->p : (const unsigned char *)"", body->len) == 0
               ? 0
               : YB_CTRL_E_LIMIT;
}

void ctrl_cfgfileset_done(struct yb_session *s, struct ctrl_session *cs)
{
    struct yb_body_info info;
    char path[PAL_PATH_MAX], detail[YB_CONF_ERR_MAX] = "";
    yb_session_body_info(s, &info);
    if (info.truncated || info.bytes > cs->body.len) {
        ctrl_err(s, cs, YB_CTRL_E_LIMIT, "file larger than %u bytes", YB_CTRL_LIMIT_BODY);
        return;
    }
    if (pal_path_join(path, sizeof(path), yb_confstore_root(cs->store), cs->body_file) != 0) {
        ctrl_err(s, cs, YB_CTRL_E_STORAGE, "path too long");
        return;
    }
    /* The new file must load as the file it replaces; the old one stays otherwise. */
    int rc = ctrl_edit_path(cs, path, cs->body_file,
                            holds_secrets(cs, cs->body_file) ? edit_replace_secrets : edit_replace,
                            &cs->body, detail, sizeof(detail));
    if (rc != 0) {
        ctrl_fail(s, cs, rc, detail);
        return;
    }
    ctrl_reload(cs, false);
    yb_log_info("ctrl", "%s %s: cfgfileset %s (%zu bytes)", cs->tag, cs->admin, cs->body_file,
                cs->body.len);
    ctrl_ok(s, cs, "OK");
}

/* ---- administrators ---- */

void ctrl_cmd_ctrladd(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    char stored[YB_PASSWD_STORED_MAX], detail[YB_CONF_ERR_MAX] = "";
    int rc = ctrl_password(cs, a->f[2], stored, sizeof(stored));
    if (rc != 0) {
        ctrl_error(s, cs, rc);
        return;
    }
    struct ctrl_rec_edit e = { .op = CTRL_EDIT_ADD,
                               .nkey = 1,
                               .idx = { 0 },
                               .key = { a->f[1] },
                               .exists_err = YB_CTRL_E_ADMIN_EXISTS };
    /* "name" "stored-password" "admin" | "domain" "d1" ...: the file check judges the rest. */
    e.add[0] = a->f[1];
    e.add[1] = yb_slice_cstr(stored);
    for (size_t i = 3; i < a->n; i++)
        e.add[i - 1] = a->f[i];
    e.nadd = a->n - 1;
    rc = ctrl_edit_file(cs, YB_CF_CTRLACCOUNTS, ctrl_edit_records, &e, detail, sizeof(detail));
    if (rc == YB_CTRL_E_BAD_FILE)
        rc = YB_CTRL_E_BAD_FIELD;
    if (rc != 0) {
        ctrl_fail(s, cs, rc, detail);
        return;
    }
    yb_log_info("ctrl", "%s %s: ctrladd %s %s", cs->tag, cs->admin, (const char *)a->f[1].p,
                (const char *)a->f[3].p);
    ctrl_ok(s, cs, "OK");
}

void ctrl_cmd_ctrldel(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    char detail[YB_CONF_ERR_MAX] = "";
    if (yb_slice_eq(a->f[1], yb_slice_cstr(cs->admin))) {
        ctrl_err(s, cs, YB_CTRL_E_DENIED, "an administrator cannot delete itself");
        return;
    }
    struct ctrl_rec_edit e = { .op = CTRL_EDIT_DEL,
                               .nkey = 1,
                               .idx = { 0 },
                               .key = { a->f[1] },
                               .missing_err = YB_CTRL_E_NO_ADMIN };
    int rc = ctrl_edit_file(cs, YB_CF_CTRLACCOUNTS, ctrl_edit_records, &e, detail, sizeof(detail));
    if (rc != 0) {
        ctrl_fail(s, cs, rc, detail);
        return;
    }
    yb_log_info("ctrl", "%s %s: ctrldel %s", cs->tag, cs->admin, (const char *)a->f[1].p);
    ctrl_ok(s, cs, "OK");
}

void ctrl_cmd_ctrllist(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    (void)a;
    struct yb_config *cfg = yb_confstore_get(cs->store);
    const struct yb_tab *t = yb_config_tab(cfg, YB_CF_CTRLACCOUNTS);
    ctrl_list_begin(s, cs);
    for (size_t i = 0; i < t->nrec; i++) {
        const struct yb_tab_rec *r = &t->rec[i];
        struct yb_slice f[YB_LIMIT_TAB_FIELDS];
        size_t n = 0;
        /* name, role, domains: never the stored password */
        for (unsigned k = 0; k < r->nfields; k++) {
            if (k != 1)
                f[n++] = ctrl_field(r, k);
        }
        ctrl_list_record(s, cs, f, n);
    }
    ctrl_list_end(s, cs);
    yb_config_unref(&cfg);
}

/* ---- the server ---- */

static void stat3(struct yb_session *s, struct ctrl_session *cs, const char *scope,
                  const char *name, unsigned long long v)
{
    char num[32];
    snprintf(num, sizeof(num), "%llu", v);
    struct yb_slice f[3] = { yb_slice_cstr(scope), yb_slice_cstr(name), yb_slice_cstr(num) };
    ctrl_list_record(s, cs, f, 3);
}

void ctrl_cmd_stats(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    (void)a;
    struct yb_stats_snapshot st;
    yb_stats_read(&st);
    int64_t up = pal_time_now() - st.started;
    ctrl_list_begin(s, cs);
    stat3(s, cs, "server", "uptime", (unsigned long long)(up > 0 ? up : 0));
    stat3(s, cs, "server", "accepted", (unsigned long long)st.accepted);
    for (int g = 0; g < YB_STAT__GLOBAL_COUNT; g++)
        stat3(s, cs, "server", yb_stats_global_name((enum yb_stat_global)g),
              (unsigned long long)st.global[g]);
    for (size_t i = 0; i < st.nservices; i++) {
        stat3(s, cs, st.service[i].name, "connections",
              (unsigned long long)st.service[i].connections);
        stat3(s, cs, st.service[i].name, "accepted", (unsigned long long)st.service[i].accepted);
    }
    ctrl_list_end(s, cs);
}

void ctrl_cmd_version(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    (void)a;
    ctrl_ok(s, cs, "yubin %s", YUBIN_VERSION);
}

void ctrl_cmd_reload(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    (void)a;
    char err[YB_CONF_ERR_MAX];
    bool changed = false;
    int rc = yb_confstore_check(cs->store, true, &changed, err, sizeof(err));
    if (rc != 0) {
        ctrl_err(s, cs, YB_CTRL_E_BAD_FILE, "%s", err);
        return;
    }
    yb_log_info("ctrl", "%s %s: reload", cs->tag, cs->admin);
    ctrl_ok(s, cs, "configuration reloaded");
}
