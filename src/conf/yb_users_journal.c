/*
 * yb_users_journal.c - the in-memory journal of account changes and the
 * views that apply it over mailusers.tab (yb_accounts.h).
 *
 * The journal is append-only. Each entry is one version of one account
 * (or its removal); the index maps an account's key to its newest entry
 * and every entry links to the version before it. A view with limit L
 * follows that chain back to the newest entry below L, so a reader never
 * sees an entry appended after its snapshot was made. The writer fills an
 * entry completely before publishing it with a release store of the index
 * slot; readers load slots with acquire. Strings are copied into blocks
 * that never move.
 */
#include "yb_accounts_int.h"
#include "pal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Strings of journal entries live in blocks of this size (larger strings get their own). */
#define UJ_BLOCK 65536
/* The most entries one journal holds (the writer compacts long before). */
#define UJ_MAX_ENTRIES (1u << 26)

struct uj_entry {
    struct yb_user u;
    bool removed;
    uint32_t prev1;  /* the previous version of this account + 1; 0: none */
    uint32_t max_id; /* the largest account id in entries 0..this one */
};

struct uj_slot {
    uint32_t hash;
    _Atomic uint32_t head1; /* newest entry of this key + 1; 0: empty slot */
};

struct uj_block {
    struct uj_block *next;
    size_t used, size;
    char data[];
};

struct yb_users_journal {
    atomic_long refs;
    size_t cap, n;
    struct uj_entry *e;
    uint32_t mask;
    struct uj_slot *slot;
    struct uj_block *blocks;
};

int yb_users_journal_new(size_t cap, struct yb_users_journal **j_r)
{
    *j_r = NULL;
    if (cap == 0)
        cap = 1;
    if (cap > UJ_MAX_ENTRIES)
        return YB_ELIMIT;
    size_t slots = 8;
    while (slots < 2 * cap)
        slots *= 2;
    struct yb_users_journal *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return YB_ENOMEM;
    j->e = calloc(cap, sizeof(*j->e));
    j->slot = calloc(slots, sizeof(*j->slot));
    if (j->e == NULL || j->slot == NULL) {
        free(j->e);
        free(j->slot);
        free(j);
        return YB_ENOMEM;
    }
    atomic_init(&j->refs, 1);
    j->cap = cap;
    j->mask = (uint32_t)(slots - 1);
    *j_r = j;
    return 0;
}

void yb_users_journal_unref(struct yb_users_journal **j)
{
    if (*j == NULL)
        return;
    if (atomic_fetch_sub(&(*j)->refs, 1) == 1) {
        struct uj_block *b = (*j)->blocks;
        while (b != NULL) {
            struct uj_block *next = b->next;
            free(b);
            b = next;
        }
        free((*j)->e);
        free((*j)->slot);
        free(*j);
    }
    *j = NULL;
}

size_t yb_users_journal_count(const struct yb_users_journal *j)
{
    return j->n;
}

/* A NUL-terminated copy of s in the journal's string blocks. */
static int copy_str(struct yb_users_journal *j, struct yb_slice s, struct yb_slice *out)
{
    struct uj_block *b = j->blocks;
    if (b == NULL || b->size - b->used < s.len + 1) {
        size_t size = s.len + 1 > UJ_BLOCK ? s.len + 1 : UJ_BLOCK;
        b = malloc(sizeof(*b) + size);
        if (b == NULL)
            return YB_ENOMEM;
        b->used = 0;
        b->size = size;
        b->next = j->blocks;
        j->blocks = b;
    }
    char *p = b->data + b->used;
    if (s.len > 0)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    b->used += s.len + 1;
    *out = yb_slice_make(p, s.len);
    return 0;
}

/* The slot of a key: holding it, or the empty one where it would go. */
static struct uj_slot *slot_of(const struct yb_users_journal *j, uint32_t hash,
                               struct yb_slice domain, struct yb_slice name)
{
    for (uint32_t pos = hash & j->mask;; pos = (pos + 1) & j->mask) {
        struct uj_slot *sl = &j->slot[pos];
        uint32_t head1 = atomic_load_explicit(&sl->head1, memory_order_acquire);
        if (head1 == 0)
            return sl;
        if (sl->hash != hash)
            continue;
        const struct yb_user *u = &j->e[head1 - 1].u;
        if (yb_slice_eq_nocase(u->name, name) && yb_slice_eq_nocase(u->domain, domain))
            return sl;
    }
}

/* Checks one journal record; *u_r gets the account (removed: domain and name only). */
static int check_record(const struct yb_tab_rec *rec, struct yb_user *u_r, bool *removed_r,
                        struct yb_tab_error *err_r)
{
    char msg[YB_TAB_ERRMSG_MAX];
    int rc;
    memset(u_r, 0, sizeof(*u_r));
    if (rec->nfields >= 1 && strcmp(rec->field[0], "+") == 0) {
        *removed_r = false;
        if ((rc = yb__check_nfields(rec, 7, "+, domain, user, password, id, mailbox-dir, type",
                                    err_r)) != 0)
            return rc;
        return yb__user_parse(rec, 1, u_r, err_r);
    }
    if (rec->nfields >= 1 && strcmp(rec->field[0], "-") == 0) {
        *removed_r = true;
        if ((rc = yb__check_nfields(rec, 3, "-, domain, user", err_r)) != 0)
            return rc;
        u_r->domain = yb__field(rec, 1);
        u_r->name = yb__field(rec, 2);
        u_r->line = rec->line;
        if ((rc = yb_domain_check(u_r->domain, msg, sizeof(msg))) != 0)
            return yb_tab_error_set(err_r, rc, rec->line, rec->column[1], "%s", msg);
        if ((rc = yb_local_part_check(u_r->name, msg, sizeof(msg))) != 0)
            return yb_tab_error_set(err_r, rc, rec->line, rec->column[2], "user: %s", msg);
        return 0;
    }
    return yb_tab_error_set(err_r, YB_EPARSE, rec->line, 1,
                            "a journal record starts with \"+\" (add) or \"-\" (remove)");
}

int yb_users_journal_apply(struct yb_users_journal *j, const struct yb_tab *tab,
                           unsigned line_offset, struct yb_tab_error *err_r)
{
    struct yb_user u;
    bool removed;
    int rc;
    memset(err_r, 0, sizeof(*err_r));
    /* Everything is checked before anything is published. */
    for (size_t i = 0; i < tab->nrec; i++) {
        if ((rc = check_record(&tab->rec[i], &u, &removed, err_r)) != 0) {
            err_r->line += err_r->line > 0 ? line_offset : 0;
            return rc;
        }
    }
    if (tab->nrec > j->cap - j->n)
        return yb_tab_error_set(err_r, YB_ELIMIT, 0, 0, "journal full");
    for (size_t i = 0; i < tab->nrec; i++) {
        check_record(&tab->rec[i], &u, &removed, err_r); /* checked above */
        struct uj_entry *e = &j->e[j->n];
        memset(e, 0, sizeof(*e));
        if ((rc = copy_str(j, u.domain, &e->u.domain)) != 0 ||
            (rc = copy_str(j, u.name, &e->u.name)) != 0 ||
            (rc = copy_str(j, u.password, &e->u.password)) != 0 ||
            (rc = copy_str(j, u.dir, &e->u.dir)) != 0)
            return yb_tab_error_set(err_r, rc, 0, 0, "out of memory");
        e->u.id = u.id;
        e->u.type = u.type;
        e->u.line = u.line + line_offset;
        e->removed = removed;
        uint32_t prev_max = j->n > 0 ? j->e[j->n - 1].max_id : 0;
        e->max_id = !removed && u.id > prev_max ? u.id : prev_max;
        uint32_t hash = yb__user_hash(u.domain, u.name);
        struct uj_slot *sl = slot_of(j, hash, u.domain, u.name);
        e->prev1 = atomic_load_explicit(&sl->head1, memory_order_relaxed);
        if (e->prev1 == 0)
            sl->hash = hash; /* a new key: the slot is not visible until head1 is set */
        j->n++;
        atomic_store_explicit(&sl->head1, (uint32_t)j->n, memory_order_release);
    }
    return 0;
}

/* ---- views ---- */

int yb_users_view_new(const struct yb_users *base, struct yb_users_journal *j, size_t limit,
                      struct yb_users **view_r)
{
    struct yb_users *v = calloc(1, sizeof(*v));
    *view_r = NULL;
    if (v == NULL)
        return YB_ENOMEM;
    v->base = base;
    if (j != NULL && limit > 0) {
        atomic_fetch_add(&j->refs, 1);
        v->journal = j;
        v->limit = limit < j->n ? limit : j->n;
    }
    *view_r = v;
    return 0;
}

void yb__users_view_free(struct yb_users *view)
{
    yb_users_journal_unref(&view->journal);
    free(view);
}

/*
 * The newest journal entry of the account visible to the view, or NULL when
 * the journal does not mention it (then the base decides).
 */
static const struct uj_entry *newest(const struct yb_users *view, struct yb_slice domain,
                                     struct yb_slice name)
{
    const struct yb_users_journal *j = view->journal;
    if (j == NULL)
        return NULL;
    const struct uj_slot *sl = slot_of(j, yb__user_hash(domain, name), domain, name);
    uint32_t i1 = atomic_load_explicit(&((struct uj_slot *)sl)->head1, memory_order_acquire);
    while (i1 > view->limit)
        i1 = j->e[i1 - 1].prev1;
    return i1 > 0 ? &j->e[i1 - 1] : NULL;
}

const struct yb_user *yb__users_view_find(const struct yb_users *view, struct yb_slice domain,
                                          struct yb_slice name)
{
    const struct uj_entry *e = newest(view, domain, name);
    if (e != NULL)
        return e->removed ? NULL : &e->u;
    return yb_users_find(view->base, domain, name);
}

size_t yb__users_view_count(const struct yb_users *view)
{
    return yb_users_count(view->base) + view->limit;
}

const struct yb_user *yb__users_view_at(const struct yb_users *view, size_t i)
{
    size_t nbase = yb_users_count(view->base);
    if (i < nbase) {
        const struct yb_user *u = yb_users_at(view->base, i);
        return newest(view, u->domain, u->name) == NULL ? u : NULL;
    }
    i -= nbase;
    if (i >= view->limit)
        return NULL;
    const struct uj_entry *e = &view->journal->e[i];
    /* listed once: at its newest version, unless that removes it */
    return !e->removed && newest(view, e->u.domain, e->u.name) == e ? &e->u : NULL;
}

const struct yb_user *yb__users_view_find_id(const struct yb_users *view, uint32_t id)
{
    /* Ids are looked up rarely (never on a hot path): the journal is scanned. */
    for (size_t i = view->limit; i > 0; i--) {
        const struct uj_entry *e = &view->journal->e[i - 1];
        if (!e->removed && e->u.id == id && newest(view, e->u.domain, e->u.name) == e)
            return &e->u;
    }
    const struct yb_user *u = yb_users_find_id(view->base, id);
    return u != NULL && newest(view, u->domain, u->name) == NULL ? u : NULL;
}

uint32_t yb__users_view_max_id(const struct yb_users *view)
{
    uint32_t m = yb_users_max_id(view->base);
    if (view->limit > 0 && view->journal->e[view->limit - 1].max_id > m)
        m = view->journal->e[view->limit - 1].max_id;
    return m;
}
