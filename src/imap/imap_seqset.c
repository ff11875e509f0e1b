/*
 * imap_seqset.c - sequence sets: strict parse, resolve "*", sort and merge,
 * iterate in time proportional to the mailbox.
 */
#include "imap_seqset.h"
#include "pal_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void imap_seqset_init(struct imap_seqset *s)
{
    memset(s, 0, sizeof(*s));
}

void imap_seqset_free(struct imap_seqset *s)
{
    free(s->r);
    imap_seqset_init(s);
}

static int push(struct imap_seqset *s, uint64_t lo, uint64_t hi)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        struct imap_range *r;
        if (s->cap >= YB_IMAP_LIMIT_SEQ_RANGES)
            return YB_ELIMIT;
        if (ncap > YB_IMAP_LIMIT_SEQ_RANGES)
            ncap = YB_IMAP_LIMIT_SEQ_RANGES;
        r = realloc(s->r, ncap * sizeof(*r));
        if (r == NULL)
            return YB_ENOMEM;
        s->r = r;
        s->cap = ncap;
    }
    s->r[s->n].lo = lo;
    s->r[s->n].hi = hi;
    s->n++;
    return 0;
}

/* One seq-number at *i: nz-number or "*". */
static int number(struct yb_slice t, size_t *i, uint64_t *v_r)
{
    uint64_t v = 0;
    size_t start = *i;

    if (*i < t.len && t.p[*i] == '*') {
        (*i)++;
        *v_r = IMAP_SEQ_STAR;
        return 0;
    }
    if (*i >= t.len || t.p[*i] < '1' || t.p[*i] > '9')
        return YB_EPARSE;
    while (*i < t.len && t.p[*i] >= '0' && t.p[*i] <= '9') {
        v = v * 10 + (uint64_t)(t.p[*i] - '0');
        if (v > UINT32_MAX || *i - start >= 10)
            return YB_EPARSE;
        (*i)++;
    }
    *v_r = v;
    return 0;
}

int imap_seqset_parse(struct yb_slice t, struct imap_seqset *s)
{
    size_t i = 0;
    int rc;

    imap_seqset_init(s);
    if (t.len == 1 && t.p[0] == '$') {
        s->saved = true;
        return 0;
    }
    for (;;) {
        uint64_t lo, hi;
        if ((rc = number(t, &i, &lo)) < 0)
            goto fail;
        hi = lo;
        if (i < t.len && t.p[i] == ':') {
            i++;
            if ((rc = number(t, &i, &hi)) < 0)
                goto fail;
        }
        if (lo == IMAP_SEQ_STAR || hi == IMAP_SEQ_STAR)
            s->has_star = true;
        if ((rc = push(s, lo < hi ? lo : hi, lo < hi ? hi : lo)) < 0)
            goto fail;
        if (i == t.len)
            return 0;
        if (t.p[i] != ',') {
            rc = YB_EPARSE;
            goto fail;
        }
        i++;
    }
fail:
    imap_seqset_free(s);
    return rc;
}

int imap_seqset_add(struct imap_seqset *s, uint32_t lo, uint32_t hi)
{
    if (lo > hi) {
        uint32_t t = lo;
        lo = hi;
        hi = t;
    }
    /* Appending to a merged tail keeps sets built in order compact. */
    if (s->n > 0 && !s->has_star && s->r[s->n - 1].hi + 1 >= lo && s->r[s->n - 1].lo <= lo) {
        if (hi > s->r[s->n - 1].hi)
            s->r[s->n - 1].hi = hi;
        return 0;
    }
    return push(s, lo, hi);
}

static int cmp_range(const void *a, const void *b)
{
    const struct imap_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

int imap_seqset_resolve(struct imap_seqset *s, uint32_t star)
{
    size_t i, k = 0;

    if (s->saved)
        return YB_EINVAL;
    for (i = 0; i < s->n; i++) {
        uint64_t lo = s->r[i].lo == IMAP_SEQ_STAR ? star : s->r[i].lo;
        uint64_t hi = s->r[i].hi == IMAP_SEQ_STAR ? star : s->r[i].hi;
        if (lo > hi) {
            uint64_t t = lo;
            lo = hi;
            hi = t;
        }
        if (hi == 0)
            continue; /* "*" of an empty mailbox */
        if (lo == 0)
            lo = 1;
        s->r[k].lo = lo;
        s->r[k].hi = hi;
        k++;
    }
    s->n = k;
    s->has_star = false;
    if (k > 1)
        qsort(s->r, k, sizeof(*s->r), cmp_range);
    k = 0;
    for (i = 0; i < s->n; i++) {
        if (k > 0 && s->r[i].lo <= s->r[k - 1].hi + 1) {
            if (s->r[i].hi > s->r[k - 1].hi)
                s->r[k - 1].hi = s->r[i].hi;
        } else {
            s->r[k++] = s->r[i];
        }
    }
    s->n = k;
    return 0;
}

bool imap_seqset_contains(const struct imap_seqset *s, uint32_t v)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].hi < v)
            lo = mid + 1;
        else if (s->r[mid].lo > v)
            hi = mid;
        else
            return true;
    }
    return false;
}

uint64_t imap_seqset_count(const struct imap_seqset *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->r[i].hi - s->r[i].lo + 1;
    return n;
}

void imap_seq_iter_init(struct imap_seq_iter *it, const struct imap_seqset *s, uint32_t count)
{
    it->s = s;
    it->ri = 0;
    it->next = s->n > 0 ? s->r[0].lo : 0;
    it->count = count;
}

bool imap_seq_iter_next(struct imap_seq_iter *it, uint32_t *seq_r)
{
    while (it->ri < it->s->n) {
        const struct imap_range *r = &it->s->r[it->ri];
        if (it->next < r->lo)
            it->next = r->lo;
        if (it->next <= r->hi && it->next <= it->count) {
            *seq_r = (uint32_t)it->next++;
            return true;
        }
        if (r->lo > it->count) {
            it->ri = it->s->n; /* sorted: nothing further exists */
            break;
        }
        it->ri++;
    }
    return false;
}

void imap_uid_iter_init(struct imap_uid_iter *it, const struct imap_seqset *s, const uint32_t *uids,
                        size_t n)
{
    it->s = s;
    it->uids = uids;
    it->n = n;
    it->ri = 0;
    it->i = 0;
}

/* First index >= from whose UID is >= v. */
static size_t lower_bound(const uint32_t *uids, size_t from, size_t n, uint64_t v)
{
    size_t lo = from, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (uids[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool imap_uid_iter_next(struct imap_uid_iter *it, size_t *index_r)
{
    while (it->ri < it->s->n && it->i < it->n) {
        const struct imap_range *r = &it->s->r[it->ri];
        if (it->uids[it->i] < r->lo)
            it->i = lower_bound(it->uids, it->i, it->n, r->lo);
        if (it->i < it->n && it->uids[it->i] <= r->hi) {
            *index_r = it->i++;
            return true;
        }
        it->ri++;
    }
    return false;
}

int imap_seqset_format(const struct imap_seqset *s, char *out, size_t outcap, size_t *len_r)
{
    size_t k = 0;

    *len_r = 0;
    if (outcap > 0)
        out[0] = '\0';
    for (size_t i = 0; i < s->n; i++) {
        char item[32];
        int w;
        if (s->r[i].lo == s->r[i].hi)
            w = snprintf(item, sizeof(item), "%s%u", i ? "," : "", (unsigned)s->r[i].lo);
        else
            w = snprintf(item, sizeof(item), "%s%u:%u", i ? "," : "", (unsigned)s->r[i].lo,
                         (unsigned)s->r[i].hi);
        if (w < 0 || (size_t)w >= sizeof(item) || k + (size_t)w >= outcap)
            return YB_ERANGE;
        memcpy(out + k, item, (size_t)w);
        k += (size_t)w;
        out[k] = '\0';
    }
    *len_r = k;
    return 0;
}
