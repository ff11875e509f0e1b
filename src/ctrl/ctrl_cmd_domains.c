/*
 * ctrl_cmd_domains.c - domainadd, domaindel, domainlist, aliasadd,
 * aliasdel, aliaslist, aliasdomainadd, aliasdomaindel, aliasdomainlist.
 */
#include "ctrl_int.h"
#include "yb_log.h"

#include <stdio.h>
#include <string.h>

/* The word that lets domaindel remove a domain's accounts (moved aside, not destroyed). */
#define CTRL_PURGE "purge"

static void answer(struct yb_session *s, struct ctrl_session *cs, int rc, const char *detail,
                   const char *what, const struct yb_ctrl_args *a)
{
    if (rc != 0) {
        ctrl_fail(s, cs, rc, detail);
        return;
    }
    char args[512] = "";
    size_t used = 0;
    for (size_t i = 1; i < a->n && used < sizeof(args); i++) {
        int n = snprintf(args + used, sizeof(args) - used, " %s", (const char *)a->f[i].p);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    yb_log_info("ctrl", "%s %s: %s%s", cs->tag, cs->admin, what, args);
    ctrl_ok(s, cs, "OK");
}

void ctrl_cmd_domainadd(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    char detail[YB_CONF_ERR_MAX] = "", path[PAL_PATH_MAX];
    if (ctrl_check_domain(s, cs, cfg, a->f[1], false, NULL) != 0)
        goto out;
    struct ctrl_rec_edit e = { .op = CTRL_EDIT_ADD,
                               .nkey = 1,
                               .idx = { 0 },
                               .key = { a->f[1] },
                               .nadd = 1,
                               .add = { a->f[1] },
                               .exists_err = YB_CTRL_E_DOMAIN_EXISTS };
    int rc = ctrl_edit_file(cs, YB_CF_DOMAINS, ctrl_edit_records, &e, detail, sizeof(detail));
    if (rc == 0 && ctrl_account_dir(cs, a->f[1], YB_SLICE_LIT(""), path, sizeof(path)) == 0)
        pal_file_mkdirs(path); /* delivery creates what is missing later anyway */
    answer(s, cs, rc, detail, "domainadd", a);
out:
    yb_config_unref(&cfg);
}

static size_t users_in(const struct yb_config *cfg, struct yb_slice domain)
{
    const struct yb_users *users = yb_config_users(cfg);
    size_t n = 0;
    for (size_t i = 0, c = yb_users_count(users); i < c; i++) {
        const struct yb_user *u = yb_users_at(users, i);
        n += u != NULL && yb_slice_eq_nocase(u->domain, domain); /* NULL: changed later */
    }
    return n;
}

void ctrl_cmd_domaindel(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    char detail[YB_CONF_ERR_MAX] = "", dom[YB_LIMIT_DOMAIN + 1];
    const char *written = NULL;
    if (ctrl_check_domain(s, cs, cfg, a->f[1], true, &written) != 0)
        goto out;
    bool purge = a->n > 2 && yb_slice_eq_cstr_nocase(a->f[2], CTRL_PURGE);
    if (a->n > 2 && !purge) {
        ctrl_err(s, cs, YB_CTRL_E_BAD_FIELD, "the only option is \"%s\"", CTRL_PURGE);
        goto out;
    }
    size_t n = users_in(cfg, a->f[1]);
    if (n > 0 && !purge) {
        ctrl_err(s, cs, YB_CTRL_E_DOMAIN_HAS_USERS, "%zu accounts", n);
        goto out;
    }
    snprintf(dom, sizeof(dom), "%s", written);
    /* domains.tab first: from then on nothing is delivered to the domain. */
    struct ctrl_rec_edit e = { .op = CTRL_EDIT_DEL,
                               .nkey = 1,
                               .idx = { 0 },
                               .key = { a->f[1] },
                               .missing_err = YB_CTRL_E_NO_DOMAIN };
    int rc = ctrl_edit_file(cs, YB_CF_DOMAINS, ctrl_edit_records, &e, detail, sizeof(detail));
    if (rc == 0) {
        e.missing_err = 0;
        rc = ctrl_edit_file(cs, YB_CF_MAILUSERS, ctrl_edit_records, &e, detail, sizeof(detail));
    }
    if (rc == 0)
        rc = ctrl_edit_file(cs, YB_CF_ALIASES, ctrl_edit_records, &e, detail, sizeof(detail));
    if (rc == 0) {
        e.idx[0] = 1; /* alias domains pointing at it */
        rc = ctrl_edit_file(cs, YB_CF_ALIASDOMAIN, ctrl_edit_records, &e, detail, sizeof(detail));
    }
    if (rc == 0) {
        int mrc = ctrl_move_aside(cs, dom, NULL);
        if (mrc != 0) {
            snprintf(detail, sizeof(detail), "domain removed, but its mailboxes stay in place: %s",
                     yb_strerror(mrc));
            rc = YB_CTRL_E_STORAGE;
        }
    }
    answer(s, cs, rc, detail, "domaindel", a);
out:
    yb_config_unref(&cfg);
}

void ctrl_cmd_domainlist(struct yb_session *s, struct ctrl_session *cs,
                         const struct yb_ctrl_args *a)
{
    (void)a;
    struct yb_config *cfg = yb_confstore_get(cs->store);
    const struct yb_tab *t = yb_config_tab(cfg, YB_CF_DOMAINS);
    ctrl_list_begin(s, cs);
    for (size_t i = 0; i < t->nrec; i++) {
        struct yb_slice d = ctrl_field(&t->rec[i], 0);
        if (ctrl_may_domain(cs, d))
            ctrl_list_record(s, cs, &d, 1);
    }
    ctrl_list_end(s, cs);
    yb_config_unref(&cfg);
}

/* An alias or target: a local part, '*' wildcards allowed in the alias. */
static bool alias_text_ok(struct yb_slice t)
{
    return t.len > 0 && t.len <= YB_LIMIT_LOCAL_PART * 2 + 1 + YB_LIMIT_DOMAIN &&
           yb_ctrl_field_ok(t);
}

void ctrl_cmd_aliasadd(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    char detail[YB_CONF_ERR_MAX] = "";
    if (ctrl_check_domain(s, cs, cfg, a->f[1], true, NULL) != 0)
        goto out;
    if (!alias_text_ok(a->f[2]) || !alias_text_ok(a->f[3])) {
        ctrl_error(s, cs, YB_CTRL_E_BAD_NAME);
        goto out;
    }
    /* The same alias may have several targets; the same record twice is refused. */
    struct ctrl_rec_edit e = { .op = CTRL_EDIT_ADD,
                               .nkey = 3,
                               .idx = { 0, 1, 2 },
                               .key = { a->f[1], a->f[2], a->f[3] },
                               .nadd = 3,
                               .add = { a->f[1], a->f[2], a->f[3] },
                               .exists_err = YB_CTRL_E_ALIAS_EXISTS };
    /* The file check (yb_aliases_load) judges the alias and target syntax. */
    int rc = ctrl_edit_file(cs, YB_CF_ALIASES, ctrl_edit_records, &e, detail, sizeof(detail));
    if (rc == YB_CTRL_E_BAD_FILE)
        rc = YB_CTRL_E_BAD_NAME;
    answer(s, cs, rc, detail, "aliasadd", a);
out:
    yb_config_unref(&cfg);
}

void ctrl_cmd_aliasdel(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    char detail[YB_CONF_ERR_MAX] = "";
    if (ctrl_check_domain(s, cs, cfg, a->f[1], false, NULL) != 0)
        goto out;
    struct ctrl_rec_edit e = { .op = CTRL_EDIT_DEL,
                               .nkey = a->n - 1,
                               .idx = { 0, 1, 2 },
                               .key = { a->f[1], a->f[2], a->n > 3 ? a->f[3] : a->f[2] },
                               .missing_err = YB_CTRL_E_NO_ALIAS };
    int rc = ctrl_edit_file(cs, YB_CF_ALIASES, ctrl_edit_records, &e, detail, sizeof(detail));
    answer(s, cs, rc, detail, "aliasdel", a);
out:
    yb_config_unref(&cfg);
}

void ctrl_cmd_aliaslist(struct yb_session *s, struct ctrl_session *cs, const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    const struct yb_tab *t = yb_config_tab(cfg, YB_CF_ALIASES);
    if (a->n > 1 && ctrl_check_domain(s, cs, cfg, a->f[1], false, NULL) != 0)
        goto out;
    ctrl_list_begin(s, cs);
    for (size_t i = 0; i < t->nrec; i++) {
        const struct yb_tab_rec *r = &t->rec[i];
        bool show = r->nfields == 3 && ctrl_may_domain(cs, ctrl_field(r, 0));
        for (size_t k = 1; show && k < a->n; k++)
            show = yb_slice_eq_nocase(ctrl_field(r, (unsigned)k - 1), a->f[k]);
        if (show) {
            struct yb_slice f[3] = { ctrl_field(r, 0), ctrl_field(r, 1), ctrl_field(r, 2) };
            ctrl_list_record(s, cs, f, 3);
        }
    }
    ctrl_list_end(s, cs);
out:
    yb_config_unref(&cfg);
}

void ctrl_cmd_aliasdomainadd(struct yb_session *s, struct ctrl_session *cs,
                             const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    char detail[YB_CONF_ERR_MAX] = "";
    /* XMail's order: the real domain, then the alias. */
    if (ctrl_check_domain(s, cs, cfg, a->f[1], true, NULL) != 0)
        goto out;
    struct yb_slice alias = a->f[2];
    struct yb_slice bare = alias.len > 2 && alias.p[0] == '*' && alias.p[1] == '.'
                               ? yb_slice_make(alias.p + 2, alias.len - 2)
                               : alias;
    char why[128];
    if (yb_domain_check(bare, why, sizeof(why)) != 0) {
        ctrl_err(s, cs, YB_CTRL_E_BAD_DOMAIN, "%s", why);
        goto out;
    }
    /* A domain administrator may only add names of its own domains: an alias
     * domain makes this server accept mail for a new name. */
    if (!ctrl_may_domain(cs, bare)) {
        ctrl_err(s, cs, YB_CTRL_E_DENIED, "not an administrator of %s", (const char *)bare.p);
        goto out;
    }
    if (yb_domains_has(yb_config_domains(cfg), alias)) {
        ctrl_err(s, cs, YB_CTRL_E_DOMAIN_EXISTS, "%s is a local domain", (const char *)alias.p);
        goto out;
    }
    struct ctrl_rec_edit e = { .op = CTRL_EDIT_ADD,
                               .nkey = 1,
                               .idx = { 0 },
                               .key = { alias },
                               .nadd = 2,
                               .add = { alias, a->f[1] },
                               .exists_err = YB_CTRL_E_ALIAS_DOMAIN_EXISTS };
    int rc = ctrl_edit_file(cs, YB_CF_ALIASDOMAIN, ctrl_edit_records, &e, detail, sizeof(detail));
    answer(s, cs, rc, detail, "aliasdomainadd", a);
out:
    yb_config_unref(&cfg);
}

void ctrl_cmd_aliasdomaindel(struct yb_session *s, struct ctrl_session *cs,
                             const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    char detail[YB_CONF_ERR_MAX] = "";
    const struct yb_tab *t = yb_config_tab(cfg, YB_CF_ALIASDOMAIN);
    /* The exact record (a wildcard alias is deleted by its own "*.x" name). */
    const char *real = NULL;
    for (size_t i = 0; i < t->nrec && real == NULL; i++) {
        if (t->rec[i].nfields == 2 && yb_slice_eq_nocase(ctrl_field(&t->rec[i], 0), a->f[1]))
            real = t->rec[i].field[1];
    }
    if (real == NULL) {
        ctrl_error(s, cs, YB_CTRL_E_NO_ALIAS_DOMAIN);
        goto out;
    }
    if (!ctrl_may_domain(cs, yb_slice_cstr(real))) {
        ctrl_err(s, cs, YB_CTRL_E_DENIED, "not an administrator of %s", real);
        goto out;
    }
    struct ctrl_rec_edit e = { .op = CTRL_EDIT_DEL,
                               .nkey = 1,
                               .idx = { 0 },
                               .key = { a->f[1] },
                               .missing_err = YB_CTRL_E_NO_ALIAS_DOMAIN };
    int rc = ctrl_edit_file(cs, YB_CF_ALIASDOMAIN, ctrl_edit_records, &e, detail, sizeof(detail));
    answer(s, cs, rc, detail, "aliasdomaindel", a);
out:
    yb_config_unref(&cfg);
}

void ctrl_cmd_aliasdomainlist(struct yb_session *s, struct ctrl_session *cs,
                              const struct yb_ctrl_args *a)
{
    struct yb_config *cfg = yb_confstore_get(cs->store);
    const struct yb_tab *t = yb_config_tab(cfg, YB_CF_ALIASDOMAIN);
    ctrl_list_begin(s, cs);
    for (size_t i = 0; i < t->nrec; i++) {
        const struct yb_tab_rec *r = &t->rec[i];
        if (r->nfields != 2 || !ctrl_may_domain(cs, ctrl_field(r, 1)))
            continue;
        if (a->n > 1 && !yb_slice_eq_nocase(ctrl_field(r, 1), a->f[1]))
            continue;
        /* Listed as XMail does: the real domain, then the alias. */
        struct yb_slice f[2] = { ctrl_field(r, 1), ctrl_field(r, 0) };
        ctrl_list_record(s, cs, f, 2);
    }
    ctrl_list_end(s, cs);
    yb_config_unref(&cfg);
}
