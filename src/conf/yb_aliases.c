/*
 * yb_aliases.c - the view of aliases.tab and the recipient resolver.
 */
#include "yb_accounts.h"
#include "yb_accounts_int.h"
#include "pal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_GROUP UINT32_MAX

/* The wildcard aliases of one domain: a list of group heads, most specific first. */
struct wild_dom {
    struct yb_slice domain;
    uint32_t first;
};

struct yb_aliases {
    size_t n;
    struct yb_alias *a;
    uint32_t *next_group; /* for group heads of wildcards: the next head in the domain */
    struct yb__ix group;  /* (domain, alias as written) -> first record of the alias */
    size_t nwild;
    struct wild_dom *wild;
    struct yb__ix wild_ix; /* domain -> its wild_dom */
};

static uint32_t alias_hash(struct yb_slice domain, struct yb_slice alias)
{
    return yb__hash_fold(yb__hash_sep(yb__hash_fold(YB__HASH_INIT, alias)), domain);
}

static long group_lookup(const struct yb_aliases *as, struct yb_slice domain, struct yb_slice alias)
{
    struct yb__ix_it it;
    for (long i = yb__ix_first(&as->group, alias_hash(domain, alias), &it); i >= 0;
         i = yb__ix_next(&as->group, &it)) {
        if (yb_slice_eq_nocase(as->a[i].alias, alias) &&
            yb_slice_eq_nocase(as->a[i].domain, domain))
            return i;
    }
    return -1;
}

static long wild_lookup(const struct yb_aliases *as, struct yb_slice domain)
{
    struct yb__ix_it it;
    for (long i = yb__ix_first(&as->wild_ix, yb__hash_fold(YB__HASH_INIT, domain), &it); i >= 0;
         i = yb__ix_next(&as->wild_ix, &it)) {
        if (yb_slice_eq_nocase(as->wild[i].domain, domain))
            return i;
    }
    return -1;
}

/* Links head h into its domain's wildcard list after every head at least as specific. */
static void wild_insert(struct yb_aliases *as, uint32_t h)
{
    struct yb_alias *a = &as->a[h];
    long w = wild_lookup(as, a->domain);
    if (w < 0) {
        w = (long)as->nwild++;
        as->wild[w] = (struct wild_dom){ a->domain, h };
        as->next_group[h] = NO_GROUP;
        yb__ix_put(&as->wild_ix, yb__hash_fold(YB__HASH_INIT, a->domain), (uint32_t)w);
        return;
    }
    uint32_t *link = &as->wild[w].first;
    while (*link != NO_GROUP && as->a[*link].literal >= a->literal)
        link = &as->next_group[*link];
    as->next_group[h] = *link;
    *link = h;
}

/* Splits and checks the target field. */
static int parse_target(const struct yb_tab_rec *rec, struct yb_alias *a,
                        struct yb_tab_error *err_r)
{
    char msg[YB_TAB_ERRMSG_MAX];
    struct yb_slice t = yb__field(rec, 2);
    const unsigned char *at = NULL;
    int rc;
    for (size_t i = t.len; i > 0; i--) {
        if (t.p[i - 1] == '@') {
            at = t.p + i - 1;
            break;
        }
    }
    a->target_local = at != NULL ? yb_slice_make(t.p, (size_t)(at - t.p)) : t;
    a->target_domain = at != NULL ? yb_slice_make(at + 1, t.len - (size_t)(at - t.p) - 1)
                                  : yb_slice_make(t.p + t.len, 0);
    if ((rc = yb_local_part_check(a->target_local, msg, sizeof(msg))) != 0)
        return yb_tab_error_set(err_r, rc, rec->line, rec->column[2], "target: %s", msg);
    if (memchr(a->target_local.p, '*', a->target_local.len) != NULL)
        return yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[2],
                                "target: a target cannot hold a wildcard");
    if (at != NULL && (rc = yb_domain_check(a->target_domain, msg, sizeof(msg))) != 0)
        return yb_tab_error_set(err_r, rc, rec->line, rec->column[2], "target domain: %s", msg);
    return 0;
}

static bool same_target(const struct yb_alias *x, const struct yb_alias *y, struct yb_slice domain)
{
    struct yb_slice dx = x->target_domain.len > 0 ? x->target_domain : domain;
    struct yb_slice dy = y->target_domain.len > 0 ? y->target_domain : domain;
    /* Local parts as written: external ones are passed on so (and deduplicated so). */
    return yb_slice_eq(x->target_local, y->target_local) && yb_slice_eq_nocase(dx, dy);
}

int yb_aliases_load(const struct yb_tab *tab, struct yb_aliases **aliases_r,
                    struct yb_tab_error *err_r, yb_acct_warn_fn warn, void *warn_arg)
{
    char msg[YB_TAB_ERRMSG_MAX];
    size_t nrec = tab != NULL ? tab->nrec : 0;
    uint32_t *tail = NULL; /* for group heads: the last record of the group */
    int rc;
    (void)warn;
    (void)warn_arg;
    memset(err_r, 0, sizeof(*err_r));
    *aliases_r = NULL;
    struct yb_aliases *as = calloc(1, sizeof(*as));
    if (as == NULL ||
        (nrec > 0 && ((as->a = calloc(nrec, sizeof(*as->a))) == NULL ||
                      (as->next_group = calloc(nrec, sizeof(*as->next_group))) == NULL ||
                      (as->wild = calloc(nrec, sizeof(*as->wild))) == NULL ||
                      (tail = calloc(nrec, sizeof(*tail))) == NULL)) ||
        yb__ix_init(&as->group, nrec) != 0 || yb__ix_init(&as->wild_ix, nrec) != 0) {
        rc = yb_tab_error_set(err_r, YB_ENOMEM, 0, 0, "out of memory");
        goto fail;
    }
    for (size_t r = 0; r < nrec; r++) {
        const struct yb_tab_rec *rec = &tab->rec[r];
        struct yb_alias *a = &as->a[as->n];
        if ((rc = yb__check_nfields(rec, 3, "domain, alias, target", err_r)) != 0)
            goto fail;
        a->domain = yb__field(rec, 0);
        a->alias = yb__field(rec, 1);
        a->line = rec->line;
        if ((rc = yb_domain_check(a->domain, msg, sizeof(msg))) != 0) {
            bool star = memchr(a->domain.p, '*', a->domain.len) != NULL;
            yb_tab_error_set(err_r, rc, rec->line, rec->column[0], "%s%s", msg,
                             star ? " (wildcard domains go in aliasdomain.tab)" : "");
            goto fail;
        }
        if ((rc = yb_local_part_check(a->alias, msg, sizeof(msg))) != 0) {
            yb_tab_error_set(err_r, rc, rec->line, rec->column[1], "alias: %s", msg);
            goto fail;
        }
        if ((rc = parse_target(rec, a, err_r)) != 0)
            goto fail;
        for (size_t i = 0; i < a->alias.len; i++)
            a->literal += a->alias.p[i] != '*';
        a->wildcard = a->literal != a->alias.len;
        uint32_t id = (uint32_t)as->n;
        long head = group_lookup(as, a->domain, a->alias);
        if (head >= 0) {
            for (const struct yb_alias *o = &as->a[head]; o != NULL; o = o->next) {
                if (same_target(o, a, a->domain)) {
                    rc = yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[2],
                                          "duplicate alias target (first on line %u)", o->line);
                    goto fail;
                }
            }
            as->a[tail[head]].next = a;
            tail[head] = id;
        } else {
            tail[id] = id;
            yb__ix_put(&as->group, alias_hash(a->domain, a->alias), id);
            if (a->wildcard)
                wild_insert(as, id);
        }
        as->n++;
    }
    free(tail);
    *aliases_r = as;
    return 0;
fail:
    free(tail);
    yb_aliases_free(&as);
    return rc;
}

void yb_aliases_free(struct yb_aliases **aliases)
{
    struct yb_aliases *as = *aliases;
    if (as == NULL)
        return;
    yb__ix_free(&as->group);
    yb__ix_free(&as->wild_ix);
    free(as->a);
    free(as->next_group);
    free(as->wild);
    free(as);
    *aliases = NULL;
}

size_t yb_aliases_count(const struct yb_aliases *aliases)
{
    return aliases->n;
}

const struct yb_alias *yb_aliases_find_exact(const struct yb_aliases *aliases,
                                             struct yb_slice domain, struct yb_slice local)
{
    long i = group_lookup(aliases, domain, local);
    /* A wildcard's pattern text is not an exact alias ("*" is not the address "*"). */
    return i >= 0 && !aliases->a[i].wildcard ? &aliases->a[i] : NULL;
}

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

bool yb_alias_pattern_match(struct yb_slice pat, struct yb_slice s)
{
    /* Greedy with backtracking to the last '*': O(len(pat) * len(s)) at worst. */
    size_t p = 0, i = 0, star = SIZE_MAX, mark = 0;
    while (i < s.len) {
        if (p < pat.len && pat.p[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < pat.len && fold(pat.p[p]) == fold(s.p[i])) {
            p++;
            i++;
        } else if (star != SIZE_MAX) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pat.len && pat.p[p] == '*')
        p++;
    return p == pat.len;
}

const struct yb_alias *yb_aliases_find_wildcard(const struct yb_aliases *aliases,
                                                struct yb_slice domain, struct yb_slice local)
{
    long w = wild_lookup(aliases, domain);
    if (w < 0)
        return NULL;
    for (uint32_t h = aliases->wild[w].first; h != NO_GROUP; h = aliases->next_group[h]) {
        if (yb_alias_pattern_match(aliases->a[h].alias, local))
            return &aliases->a[h];
    }
    return NULL;
}

/* ---- the resolver ---- */

const char *yb_resolve_status_text(enum yb_resolve_status st)
{
    switch (st) {
    case YB_RESOLVE_OK: return "ok";
    case YB_RESOLVE_NO_USER: return "no such user";
    case YB_RESOLVE_LOOP: return "alias loop";
    case YB_RESOLVE_TOO_DEEP: return "aliases nested too deeply";
    case YB_RESOLVE_TOO_MANY: return "alias expands to too many addresses";
    case YB_RESOLVE_BAD_ADDRESS: return "malformed address";
    }
    return "?";
}

/* The local domain an address's domain stands for (as written in domains.tab), or NULL. */
static const char *local_domain(const struct yb_address_book *book, struct yb_slice domain)
{
    const char *d = yb_domains_find(book->domains, domain);
    if (d != NULL)
        return d;
    const char *real = yb_aliasdomains_find(book->aliasdomains, domain);
    return real != NULL ? yb_domains_find(book->domains, yb_slice_cstr(real)) : NULL;
}

static enum yb_resolve_status add_rcpt(struct yb_resolution *res, const struct yb_user *user,
                                       struct yb_slice local, struct yb_slice domain)
{
    for (size_t i = 0; i < res->n; i++) {
        const struct yb_rcpt *r = &res->rcpt[i];
        if (user != NULL ? r->user == user
                         : r->user == NULL && yb_slice_eq(r->local, local) &&
                               yb_slice_eq_nocase(r->domain, domain))
            return YB_RESOLVE_OK;
    }
    if (res->n == YB_LIMIT_ALIAS_TARGETS)
        return YB_RESOLVE_TOO_MANY;
    res->rcpt[res->n++] = (struct yb_rcpt){ user, local, domain };
    return YB_RESOLVE_OK;
}

static enum yb_resolve_status fail_at(struct yb_resolution *res, enum yb_resolve_status st,
                                      struct yb_slice local, struct yb_slice domain)
{
    res->where_local = local;
    res->where_domain = domain;
    return st;
}

static enum yb_resolve_status resolve_one(const struct yb_address_book *book,
                                          struct yb_resolution *res, struct yb_slice local,
                                          struct yb_slice domain);

static enum yb_resolve_status expand(const struct yb_address_book *book, struct yb_resolution *res,
                                     const struct yb_alias *alias, struct yb_slice local,
                                     struct yb_slice domain)
{
    if (res->depth >= YB_LIMIT_ALIAS_DEPTH)
        return fail_at(res, YB_RESOLVE_TOO_DEEP, local, domain);
    res->chain_local[res->depth] = local;
    res->chain_domain[res->depth] = domain;
    res->depth++;
    for (const struct yb_alias *t = alias; t != NULL; t = t->next) {
        if (++res->visited > YB_LIMIT_ALIAS_TARGETS)
            return fail_at(res, YB_RESOLVE_TOO_MANY, local, domain);
        struct yb_slice td = t->target_domain.len > 0 ? t->target_domain : domain;
        enum yb_resolve_status st = resolve_one(book, res, t->target_local, td);
        if (st == YB_RESOLVE_NO_USER) {
            if (res->ndangling++ == 0) {
                res->dangling_local = t->target_local;
                res->dangling_domain = td;
            }
        } else if (st != YB_RESOLVE_OK) {
            return st;
        }
    }
    res->depth--;
    return YB_RESOLVE_OK;
}

static enum yb_resolve_status resolve_one(const struct yb_address_book *book,
                                          struct yb_resolution *res, struct yb_slice local,
                                          struct yb_slice domain)
{
    const char *dname = local_domain(book, domain);
    if (dname == NULL)
        return add_rcpt(res, NULL, local, domain);
    struct yb_slice d = yb_slice_cstr(dname);
    const struct yb_user *user;
    for (size_t i = 0; i < res->depth; i++) {
        if (!yb_slice_eq_nocase(res->chain_local[i], local) ||
            !yb_slice_eq_nocase(res->chain_domain[i], d))
            continue;
        /* "alice" -> "alice", ...: the alias names the account behind it. */
        if (i + 1 == res->depth && (user = yb_users_find(book->users, d, local)) != NULL)
            return add_rcpt(res, user, user->name, user->domain);
        return fail_at(res, YB_RESOLVE_LOOP, local, d);
    }
    const struct yb_alias *alias = yb_aliases_find_exact(book->aliases, d, local);
    if (alias != NULL)
        return expand(book, res, alias, local, d);
    if ((user = yb_users_find(book->users, d, local)) != NULL)
        return add_rcpt(res, user, user->name, user->domain);
    if ((alias = yb_aliases_find_wildcard(book->aliases, d, local)) != NULL)
        return expand(book, res, alias, local, d);
    return YB_RESOLVE_NO_USER;
}

enum yb_resolve_status yb_resolve_parts(const struct yb_address_book *book, struct yb_slice local,
                                        struct yb_slice domain, struct yb_resolution *res)
{
    res->n = 0;
    res->ndangling = 0;
    res->visited = 0;
    res->depth = 0;
    res->dangling_local = res->dangling_domain = yb_slice_make("", 0);
    res->where_local = res->where_domain = yb_slice_make("", 0);
    if (local.len == 0 || local.len > YB_LIMIT_LOCAL_PART || yb_slice_has_nul(local) ||
        yb_domain_check(domain, NULL, 0) != 0)
        return YB_RESOLVE_BAD_ADDRESS;
    enum yb_resolve_status st = resolve_one(book, res, local, domain);
    if (st == YB_RESOLVE_OK && res->n == 0)
        st = YB_RESOLVE_NO_USER;
    if (st != YB_RESOLVE_OK)
        res->n = 0;
    return st;
}

enum yb_resolve_status yb_resolve(const struct yb_address_book *book, struct yb_slice address,
                                  struct yb_resolution *res)
{
    for (size_t i = address.len; i > 0; i--) {
        if (address.p[i - 1] == '@')
            return yb_resolve_parts(book, yb_slice_make(address.p, i - 1),
                                    yb_slice_make(address.p + i, address.len - i), res);
    }
    res->n = 0;
    return YB_RESOLVE_BAD_ADDRESS;
}
