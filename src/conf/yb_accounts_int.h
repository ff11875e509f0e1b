/*
 * yb_accounts_int.h - what the account-file modules share and nothing else
 * sees: the immutable hash index over case-folded ASCII keys.
 *
 * The index maps a 32-bit hash to entry numbers of the caller's array. It is
 * filled once while a file loads and only read afterwards. Open addressing
 * with linear probing at a load factor of at most 1/2; each slot keeps the
 * full hash, so a probe compares keys only when the hashes are equal.
 */
#ifndef YB_ACCOUNTS_INT_H
#define YB_ACCOUNTS_INT_H

#include <stddef.h>
#include <stdint.h>
#include "yb_accounts.h"
#include "yb_hash.h"
#include "yb_slice.h"
#include "yb_tab.h"

#define YB__HASH_INIT YB_HASH_INIT

/* FNV-1a over the bytes of s with ASCII letters folded to lower case. */
static inline uint32_t yb__hash_fold(uint32_t h, struct yb_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        h = (h ^ c) * YB_HASH_PRIME;
    }
    return h;
}

/* A separator between the parts of a composite key ("user" NUL "domain"). */
static inline uint32_t yb__hash_sep(uint32_t h)
{
    return (h ^ 0xffu) * YB_HASH_PRIME;
}

/* A well-mixed hash of a number (the murmur3 finaliser). */
static inline uint32_t yb__hash_u32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

struct yb__ix_slot {
    uint32_t hash;
    uint32_t id1; /* entry number + 1; 0 = empty */
};

struct yb__ix {
    uint32_t mask; /* slots - 1 */
    struct yb__ix_slot *slot;
};

/* Candidates with one hash, in probe order. */
struct yb__ix_it {
    uint32_t pos, hash;
};

/* Sizes an empty index for up to n entries. YB_ENOMEM, YB_ELIMIT past 2^30 entries. */
int yb__ix_init(struct yb__ix *ix, size_t n);
void yb__ix_free(struct yb__ix *ix);

/* Adds entry id (no duplicate check: find first). The index must have room. */
void yb__ix_put(struct yb__ix *ix, uint32_t hash, uint32_t id);

/* The first / next entry whose hash equals hash: its number, or -1 at the end. */
static inline long yb__ix_next(const struct yb__ix *ix, struct yb__ix_it *it)
{
    if (ix->slot == NULL)
        return -1;
    for (;;) {
        const struct yb__ix_slot *s = &ix->slot[it->pos];
        it->pos = (it->pos + 1) & ix->mask;
        if (s->id1 == 0)
            return -1;
        if (s->hash == it->hash)
            return (long)s->id1 - 1;
    }
}

static inline long yb__ix_first(const struct yb__ix *ix, uint32_t hash, struct yb__ix_it *it)
{
    it->hash = hash;
    it->pos = hash & ix->mask;
    return yb__ix_next(ix, it);
}

/* A field of a record as a slice. */
static inline struct yb_slice yb__field(const struct yb_tab_rec *rec, unsigned i)
{
    return yb_slice_make(rec->field[i], rec->len[i]);
}

/* Checks the field count: an error at the record's first field if it is not n. */
int yb__check_nfields(const struct yb_tab_rec *rec, unsigned n, const char *what,
                      struct yb_tab_error *err_r);

/* ---- mailusers.tab and its journal (yb_accounts.c, yb_users_journal.c) ---- */

/*
 * An account table. A base (base == NULL) is loaded from mailusers.tab and
 * owns its arrays. A view (base != NULL) is the base with the first limit
 * entries of a journal applied over it; it owns nothing but a reference to
 * the journal.
 */
struct yb_users {
    size_t n;
    struct yb_user *u;
    struct yb__ix by_name, by_id;
    uint32_t max_id;
    const struct yb_users *base;
    struct yb_users_journal *journal;
    size_t limit;
};

/* The hash of an account's key (name, domain), case-folded. */
uint32_t yb__user_hash(struct yb_slice domain, struct yb_slice name);

/*
 * Reads the six account fields starting at field first of rec (domain,
 * user, password, id, mailbox-dir, type) into *u, pointing into rec.
 * Returns 0 or the error with the field's column.
 */
int yb__user_parse(const struct yb_tab_rec *rec, unsigned first, struct yb_user *u,
                   struct yb_tab_error *err_r);

size_t yb__users_view_count(const struct yb_users *view);
const struct yb_user *yb__users_view_at(const struct yb_users *view, size_t i);
const struct yb_user *yb__users_view_find(const struct yb_users *view, struct yb_slice domain,
                                          struct yb_slice name);
const struct yb_user *yb__users_view_find_id(const struct yb_users *view, uint32_t id);
uint32_t yb__users_view_max_id(const struct yb_users *view);
void yb__users_view_free(struct yb_users *view);

#endif
