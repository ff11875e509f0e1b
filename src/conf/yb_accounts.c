/*
 * yb_accounts.c - name syntax, the shared hash index, and the views of
 * domains.tab, aliasdomain.tab and mailusers.tab.
 */
#include "yb_accounts.h"
#include "yb_accounts_int.h"
#include "pal.h"
#include "yb_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the index ---- */

/* More entries than this do not fit the 32-bit slot numbers at load 1/2. */
#define IX_MAX_ENTRIES (1u << 30)

int yb__ix_init(struct yb__ix *ix, size_t n)
{
    size_t slots = 8;
    ix->mask = 0;
    ix->slot = NULL;
    if (n > IX_MAX_ENTRIES)
        return YB_ELIMIT;
    while (slots < 2 * n)
        slots *= 2;
    ix->slot = calloc(slots, sizeof(*ix->slot));
    if (ix->slot == NULL)
        return YB_ENOMEM;
    ix->mask = (uint32_t)(slots - 1);
    return 0;
}

void yb__ix_free(struct yb__ix *ix)
{
    free(ix->slot);
    ix->slot = NULL;
    ix->mask = 0;
}

void yb__ix_put(struct yb__ix *ix, uint32_t hash, uint32_t id)
{
    uint32_t pos = hash & ix->mask;
    while (ix->slot[pos].id1 != 0)
        pos = (pos + 1) & ix->mask;
    ix->slot[pos].hash = hash;
    ix->slot[pos].id1 = id + 1;
}

int yb__check_nfields(const struct yb_tab_rec *rec, unsigned n, const char *what,
                      struct yb_tab_error *err_r)
{
    if (rec->nfields == n)
        return 0;
    return yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[0],
                            "expected %u field%s (%s), found %u", n, n == 1 ? "" : "s", what,
                            rec->nfields);
}

/* ---- syntax ---- */

static int msgf(char *msg, size_t size, int code, const char *fmt, ...) YB_PRINTF(4, 5);
static int msgf(char *msg, size_t size, int code, const char *fmt, ...)
{
    if (msg == NULL || size == 0)
        return code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    return code; /* a truncated message is still a message */
}

/* A byte for a message: itself when printable ASCII, else \xNN. */
static const char *show_byte(unsigned char c, char buf[8])
{
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, 8, "%c", c);
    else
        snprintf(buf, 8, "\\x%02X", (unsigned)c);
    return buf;
}

static bool is_ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

int yb_domain_check(struct yb_slice d, char *msg, size_t msgsize)
{
    char b[8];
    size_t bad;
    if (d.len == 0)
        return msgf(msg, msgsize, YB_EPARSE, "empty domain");
    if (d.len > YB_LIMIT_DOMAIN)
        return msgf(msg, msgsize, YB_ELIMIT, "domain is %u octets; the most is %u", (unsigned)d.len,
                    YB_LIMIT_DOMAIN);
    if (yb_slice_has_nul(d))
        return msgf(msg, msgsize, YB_EPARSE, "NUL in domain");
    if (!yb_utf8_valid(d.p, d.len, &bad))
        return msgf(msg, msgsize, YB_EUTF8, "invalid UTF-8 in domain at octet %u",
                    (unsigned)bad + 1);
    if (d.p[d.len - 1] == '.')
        return msgf(msg, msgsize, YB_EPARSE, "domain ends with a dot");
    unsigned label = 1;
    for (size_t start = 0; start <= d.len; label++) {
        size_t end = start;
        while (end < d.len && d.p[end] != '.')
            end++;
        size_t n = end - start;
        if (n == 0)
            return msgf(msg, msgsize, YB_EPARSE, "empty label %u in domain", label);
        if (n > YB_LIMIT_LABEL)
            return msgf(msg, msgsize, YB_ELIMIT, "label %u is %u octets; the most is %u", label,
                        (unsigned)n, YB_LIMIT_LABEL);
        if (d.p[start] == '-' || d.p[end - 1] == '-')
            return msgf(msg, msgsize, YB_EPARSE, "label %u %s with a hyphen", label,
                        d.p[start] == '-' ? "starts" : "ends");
        for (size_t i = start; i < end; i++) {
            if (d.p[i] < 0x80 && !is_ldh(d.p[i]))
                return msgf(msg, msgsize, YB_EPARSE,
                            "'%s' is not allowed in a domain (letters, digits, hyphens)",
                            show_byte(d.p[i], b));
        }
        start = end + 1;
    }
    return 0;
}

static bool is_atext(unsigned char c)
{
    if (c >= 0x80)
        return true; /* UTF-8 (validated as a whole), RFC 6531 */
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

int yb_local_part_check(struct yb_slice l, char *msg, size_t msgsize)
{
    char b[8];
    size_t bad;
    if (l.len == 0)
        return msgf(msg, msgsize, YB_EPARSE, "empty local part");
    if (l.len > YB_LIMIT_LOCAL_PART)
        return msgf(msg, msgsize, YB_ELIMIT, "local part is %u octets; the most is %u",
                    (unsigned)l.len, YB_LIMIT_LOCAL_PART);
    if (yb_slice_has_nul(l))
        return msgf(msg, msgsize, YB_EPARSE, "NUL in local part");
    if (!yb_utf8_valid(l.p, l.len, &bad))
        return msgf(msg, msgsize, YB_EUTF8, "invalid UTF-8 in local part at octet %u",
                    (unsigned)bad + 1);
    for (size_t i = 0; i < l.len; i++) {
        unsigned char c = l.p[i];
        if (c == '.') {
            if (i == 0 || i + 1 == l.len || l.p[i + 1] == '.')
                return msgf(msg, msgsize, YB_EPARSE,
                            "a dot may not start or end a local part or follow another");
        } else if (!is_atext(c)) {
            return msgf(msg, msgsize, YB_EPARSE, "'%s' is not allowed in a local part",
                        show_byte(c, b));
        }
    }
    return 0;
}

/* ---- domains.tab ---- */

struct dom_ent {
    struct yb_slice name;
    unsigned line;
};

struct yb_domains {
    size_t n;
    struct dom_ent *e;
    struct yb__ix ix;
};

static long domains_lookup(const struct yb_domains *ds, struct yb_slice d)
{
    struct yb__ix_it it;
    for (long i = yb__ix_first(&ds->ix, yb__hash_fold(YB__HASH_INIT, d), &it); i >= 0;
         i = yb__ix_next(&ds->ix, &it)) {
        if (yb_slice_eq_nocase(ds->e[i].name, d))
            return i;
    }
    return -1;
}

int yb_domains_load(const struct yb_tab *tab, struct yb_domains **domains_r,
                    struct yb_tab_error *err_r, yb_acct_warn_fn warn, void *warn_arg)
{
    char msg[YB_TAB_ERRMSG_MAX];
    size_t nrec = tab != NULL ? tab->nrec : 0;
    int rc;
    (void)warn;
    (void)warn_arg;
    memset(err_r, 0, sizeof(*err_r));
    *domains_r = NULL;
    struct yb_domains *ds = calloc(1, sizeof(*ds));
    if (ds == NULL || (nrec > 0 && (ds->e = calloc(nrec, sizeof(*ds->e))) == NULL) ||
        (rc = yb__ix_init(&ds->ix, nrec)) != 0) {
        yb_domains_free(&ds);
        return yb_tab_error_set(err_r, YB_ENOMEM, 0, 0, "out of memory");
    }
    for (size_t r = 0; r < nrec; r++) {
        const struct yb_tab_rec *rec = &tab->rec[r];
        if ((rc = yb__check_nfields(rec, 1, "domain", err_r)) != 0)
            goto fail;
        struct yb_slice d = yb__field(rec, 0);
        if ((rc = yb_domain_check(d, msg, sizeof(msg))) != 0) {
            yb_tab_error_set(err_r, rc, rec->line, rec->column[0], "%s", msg);
            goto fail;
        }
        long dup = domains_lookup(ds, d);
        if (dup >= 0) {
            rc = yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[0],
                                  "duplicate domain '%s' (first on line %u)", rec->field[0],
                                  ds->e[dup].line);
            goto fail;
        }
        ds->e[ds->n] = (struct dom_ent){ d, rec->line };
        yb__ix_put(&ds->ix, yb__hash_fold(YB__HASH_INIT, d), (uint32_t)ds->n);
        ds->n++;
    }
    *domains_r = ds;
    return 0;
fail:
    yb_domains_free(&ds);
    return rc;
}

void yb_domains_free(struct yb_domains **domains)
{
    if (*domains == NULL)
        return;
    yb__ix_free(&(*domains)->ix);
    free((*domains)->e);
    free(*domains);
    *domains = NULL;
}

size_t yb_domains_count(const struct yb_domains *domains)
{
    return domains->n;
}

const char *yb_domains_find(const struct yb_domains *domains, struct yb_slice domain)
{
    long i = domains_lookup(domains, domain);
    return i >= 0 ? (const char *)domains->e[i].name.p : NULL;
}

/* ---- aliasdomain.tab ---- */

struct ad_ent {
    struct yb_slice alias; /* the suffix after "*." for a wildcard */
    const char *real;
    unsigned line;
    bool wildcard;
};

struct yb_aliasdomains {
    size_t n;
    struct ad_ent *e;
    struct yb__ix ix; /* keyed by alias (exact) or suffix (wildcard) */
};

static long ad_lookup(const struct yb_aliasdomains *ad, struct yb_slice d, bool wildcard)
{
    struct yb__ix_it it;
    for (long i = yb__ix_first(&ad->ix, yb__hash_fold(YB__HASH_INIT, d), &it); i >= 0;
         i = yb__ix_next(&ad->ix, &it)) {
        if (ad->e[i].wildcard == wildcard && yb_slice_eq_nocase(ad->e[i].alias, d))
            return i;
    }
    return -1;
}

int yb_aliasdomains_load(const struct yb_tab *tab, struct yb_aliasdomains **ad_r,
                         struct yb_tab_error *err_r, yb_acct_warn_fn warn, void *warn_arg)
{
    char msg[YB_TAB_ERRMSG_MAX];
    size_t nrec = tab != NULL ? tab->nrec : 0;
    int rc;
    (void)warn;
    (void)warn_arg;
    memset(err_r, 0, sizeof(*err_r));
    *ad_r = NULL;
    struct yb_aliasdomains *ad = calloc(1, sizeof(*ad));
    if (ad == NULL || (nrec > 0 && (ad->e = calloc(nrec, sizeof(*ad->e))) == NULL) ||
        (rc = yb__ix_init(&ad->ix, nrec)) != 0) {
        yb_aliasdomains_free(&ad);
        return yb_tab_error_set(err_r, YB_ENOMEM, 0, 0, "out of memory");
    }
    for (size_t r = 0; r < nrec; r++) {
        const struct yb_tab_rec *rec = &tab->rec[r];
        if ((rc = yb__check_nfields(rec, 2, "alias domain, real domain", err_r)) != 0)
            goto fail;
        struct yb_slice alias = yb__field(rec, 0), real = yb__field(rec, 1);
        bool wildcard = alias.len >= 2 && alias.p[0] == '*' && alias.p[1] == '.';
        struct yb_slice name = wildcard ? yb_slice_make(alias.p + 2, alias.len - 2) : alias;
        if ((rc = yb_domain_check(name, msg, sizeof(msg))) != 0) {
            yb_tab_error_set(err_r, rc, rec->line, rec->column[0], "alias domain: %s%s", msg,
                             memchr(alias.p, '*', alias.len) != NULL && !wildcard
                                 ? " (a wildcard is written \"*.example.com\")"
                                 : "");
            goto fail;
        }
        if ((rc = yb_domain_check(real, msg, sizeof(msg))) != 0) {
            yb_tab_error_set(err_r, rc, rec->line, rec->column[1], "real domain: %s", msg);
            goto fail;
        }
        if (!wildcard && yb_slice_eq_nocase(alias, real)) {
            rc = yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[1],
                                  "'%s' is an alias of itself", rec->field[0]);
            goto fail;
        }
        long dup = ad_lookup(ad, name, wildcard);
        if (dup >= 0) {
            rc = yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[0],
                                  "duplicate alias domain '%s' (first on line %u)", rec->field[0],
                                  ad->e[dup].line);
            goto fail;
        }
        ad->e[ad->n] = (struct ad_ent){ name, rec->field[1], rec->line, wildcard };
        yb__ix_put(&ad->ix, yb__hash_fold(YB__HASH_INIT, name), (uint32_t)ad->n);
        ad->n++;
    }
    *ad_r = ad;
    return 0;
fail:
    yb_aliasdomains_free(&ad);
    return rc;
}

void yb_aliasdomains_free(struct yb_aliasdomains **ad)
{
    if (*ad == NULL)
        return;
    yb__ix_free(&(*ad)->ix);
    free((*ad)->e);
    free(*ad);
    *ad = NULL;
}

size_t yb_aliasdomains_count(const struct yb_aliasdomains *ad)
{
    return ad->n;
}

const char *yb_aliasdomains_find(const struct yb_aliasdomains *ad, struct yb_slice domain)
{
    if (ad->n == 0)
        return NULL;
    long i = ad_lookup(ad, domain, false);
    if (i >= 0)
        return ad->e[i].real;
    /* "*.suffix" needs at least one label in front: try the suffixes after each dot. */
    for (size_t k = 0; k < domain.len; k++) {
        if (domain.p[k] != '.')
            continue;
        i = ad_lookup(ad, yb_slice_make(domain.p + k + 1, domain.len - k - 1), true);
        if (i >= 0)
            return ad->e[i].real;
    }
    return NULL;
}

/* ---- mailusers.tab ---- */

uint32_t yb__user_hash(struct yb_slice domain, struct yb_slice name)
{
    return yb__hash_fold(yb__hash_sep(yb__hash_fold(YB__HASH_INIT, name)), domain);
}

static long users_lookup(const struct yb_users *us, struct yb_slice domain, struct yb_slice name)
{
    struct yb__ix_it it;
    for (long i = yb__ix_first(&us->by_name, yb__user_hash(domain, name), &it); i >= 0;
         i = yb__ix_next(&us->by_name, &it)) {
        if (yb_slice_eq_nocase(us->u[i].name, name) && yb_slice_eq_nocase(us->u[i].domain, domain))
            return i;
    }
    return -1;
}

static long users_lookup_id(const struct yb_users *us, uint32_t id)
{
    struct yb__ix_it it;
    for (long i = yb__ix_first(&us->by_id, yb__hash_u32(id), &it); i >= 0;
         i = yb__ix_next(&us->by_id, &it)) {
        if (us->u[i].id == id)
            return i;
    }
    return -1;
}

static int parse_id(struct yb_slice s, uint32_t *id_r)
{
    uint64_t v = 0;
    if (s.len == 0 || s.len > 10)
        return YB_EPARSE;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return YB_EPARSE;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    if (v > UINT32_MAX)
        return YB_ERANGE;
    *id_r = (uint32_t)v;
    return 0;
}

/*
 * The mailbox directory is joined under ROOT/domains/<domain>/ by the store:
 * it must not be able to leave that directory on either platform.
 */
static int check_dir(struct yb_slice d, char *msg, size_t msgsize)
{
    if (d.len == 0)
        return msgf(msg, msgsize, YB_EPARSE, "empty mailbox directory");
    if (d.len > YB_LIMIT_MAILBOX_DIR)
        return msgf(msg, msgsize, YB_ELIMIT, "mailbox directory is %u octets; the most is %u",
                    (unsigned)d.len, YB_LIMIT_MAILBOX_DIR);
    if (d.p[0] == '/' || d.p[0] == '\\')
        return msgf(msg, msgsize, YB_EPARSE, "mailbox directory must be relative");
    if (memchr(d.p, ':', d.len) != NULL)
        return msgf(msg, msgsize, YB_EPARSE, "':' is not allowed in a mailbox directory");
    for (size_t start = 0; start <= d.len;) {
        size_t end = start;
        while (end < d.len && d.p[end] != '/' && d.p[end] != '\\')
            end++;
        size_t n = end - start;
        if ((n == 1 || n == 2) && memcmp(d.p + start, "..", n) == 0)
            return msgf(msg, msgsize, YB_EPARSE,
                        "'.' and '..' are not allowed in a mailbox directory");
        start = end + 1;
    }
    return 0;
}

int yb__user_parse(const struct yb_tab_rec *rec, unsigned first, struct yb_user *u,
                   struct yb_tab_error *err_r)
{
    char msg[YB_TAB_ERRMSG_MAX];
    const unsigned *col = rec->column + first;
    int rc;
    u->domain = yb__field(rec, first);
    u->name = yb__field(rec, first + 1);
    u->password = yb__field(rec, first + 2);
    u->dir = yb__field(rec, first + 4);
    u->line = rec->line;
    if ((rc = yb_domain_check(u->domain, msg, sizeof(msg))) != 0)
        return yb_tab_error_set(err_r, rc, rec->line, col[0], "%s", msg);
    if ((rc = yb_local_part_check(u->name, msg, sizeof(msg))) != 0)
        return yb_tab_error_set(err_r, rc, rec->line, col[1], "user: %s", msg);
    if (parse_id(yb__field(rec, first + 3), &u->id) != 0)
        return yb_tab_error_set(err_r, YB_EPARSE, rec->line, col[3],
                                "id '%.16s' is not a decimal number 0-4294967295",
                                rec->field[first + 3]);
    if ((rc = check_dir(u->dir, msg, sizeof(msg))) != 0)
        return yb_tab_error_set(err_r, rc, rec->line, col[4], "%s", msg);
    const char *t = rec->field[first + 5];
    if ((t[0] == 'U' || t[0] == 'u') && t[1] == '\0')
        u->type = YB_USER_MAILBOX;
    else if ((t[0] == 'M' || t[0] == 'm') && t[1] == '\0')
        u->type = YB_USER_LIST;
    else
        return yb_tab_error_set(err_r, YB_EPARSE, rec->line, col[5],
                                "type '%.16s' is neither U (user) nor M (mailing list)", t);
    return 0;
}

int yb_users_load(const struct yb_tab *tab, struct yb_users **users_r, struct yb_tab_error *err_r,
                  yb_acct_warn_fn warn, void *warn_arg)
{
    size_t nrec = tab != NULL ? tab->nrec : 0;
    int rc;
    (void)warn;
    (void)warn_arg;
    memset(err_r, 0, sizeof(*err_r));
    *users_r = NULL;
    struct yb_users *us = calloc(1, sizeof(*us));
    if (us == NULL || (nrec > 0 && (us->u = calloc(nrec, sizeof(*us->u))) == NULL) ||
        yb__ix_init(&us->by_name, nrec) != 0 || yb__ix_init(&us->by_id, nrec) != 0) {
        yb_users_free(&us);
        return yb_tab_error_set(err_r, YB_ENOMEM, 0, 0, "out of memory");
    }
    for (size_t r = 0; r < nrec; r++) {
        const struct yb_tab_rec *rec = &tab->rec[r];
        struct yb_user *u = &us->u[us->n];
        if ((rc = yb__check_nfields(rec, 6, "domain, user, password, id, mailbox-dir, type",
                                    err_r)) != 0 ||
            (rc = yb__user_parse(rec, 0, u, err_r)) != 0)
            goto fail;
        long dup = users_lookup(us, u->domain, u->name);
        if (dup >= 0) {
            rc = yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[1],
                                  "duplicate account %s@%s (first on line %u)", rec->field[1],
                                  rec->field[0], us->u[dup].line);
            goto fail;
        }
        if ((dup = users_lookup_id(us, u->id)) >= 0) {
            rc = yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[3],
                                  "duplicate id %s (first on line %u)", rec->field[3],
                                  us->u[dup].line);
            goto fail;
        }
        yb__ix_put(&us->by_name, yb__user_hash(u->domain, u->name), (uint32_t)us->n);
        yb__ix_put(&us->by_id, yb__hash_u32(u->id), (uint32_t)us->n);
        if (u->id > us->max_id)
            us->max_id = u->id;
        us->n++;
    }
    *users_r = us;
    return 0;
fail:
    yb_users_free(&us);
    return rc;
}

void yb_users_free(struct yb_users **users)
{
    if (*users == NULL)
        return;
    if ((*users)->base != NULL) {
        yb__users_view_free(*users);
        *users = NULL;
        return;
    }
    yb__ix_free(&(*users)->by_name);
    yb__ix_free(&(*users)->by_id);
    free((*users)->u);
    free(*users);
    *users = NULL;
}

size_t yb_users_count(const struct yb_users *users)
{
    return users->base != NULL ? yb__users_view_count(users) : users->n;
}

const struct yb_user *yb_users_at(const struct yb_users *users, size_t i)
{
    if (users->base != NULL)
        return yb__users_view_at(users, i);
    return i < users->n ? &users->u[i] : NULL;
}

const struct yb_user *yb_users_find(const struct yb_users *users, struct yb_slice domain,
                                    struct yb_slice name)
{
    if (users->base != NULL)
        return yb__users_view_find(users, domain, name);
    long i = users_lookup(users, domain, name);
    return i >= 0 ? &users->u[i] : NULL;
}

const struct yb_user *yb_users_find_id(const struct yb_users *users, uint32_t id)
{
    if (users->base != NULL)
        return yb__users_view_find_id(users, id);
    long i = users_lookup_id(users, id);
    return i >= 0 ? &users->u[i] : NULL;
}

int yb_account_dir(const char *root, struct yb_slice domain, struct yb_slice dir, char *buf,
                   size_t size)
{
    int n = snprintf(buf, size, "%s/domains/%.*s/%.*s", root, (int)domain.len,
                     (const char *)domain.p, (int)dir.len, (const char *)dir.p);
    return n < 0 || (size_t)n >= size ? YB_ENAMETOOLONG : 0;
}

int yb_user_maildir(const char *root, const struct yb_user *u, char *buf, size_t size)
{
    char dir[PAL_PATH_MAX];
    int rc = yb_account_dir(root, u->domain, u->dir, dir, sizeof(dir));
    return rc != 0 ? rc : pal_path_join(buf, size, dir, "Maildir");
}

uint32_t yb_users_max_id(const struct yb_users *users)
{
    return users->base != NULL ? yb__users_view_max_id(users) : users->max_id;
}
