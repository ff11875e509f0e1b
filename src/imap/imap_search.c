/*
 * imap_search.c - SEARCH programs from parsed arguments.
 */
#include "imap_search.h"
#include "pal_charset.h"
#include "pal_err.h"
#include "yb_utf8.h"

#include <stdlib.h>
#include <string.h>

#define CHARSET_MAX 64

struct ctx {
    const struct imap_parser *p;
    struct imap_search *s;
    bool convert;
    char charset[CHARSET_MAX];
};

static int fail(struct imap_search *s, int rc, const char *text)
{
    if (s->err_text == NULL)
        s->err_text = text;
    return rc;
}

static int new_key(struct ctx *c, enum imap_skey type, uint32_t parent, uint32_t *idx_r)
{
    struct imap_search *s = c->s;
    struct imap_search_key *k;
    uint32_t idx;

    if (s->nkeys > YB_IMAP_LIMIT_SEARCH_KEYS)
        return fail(s, YB_ELIMIT, "[LIMIT] Too many search keys");
    if (s->nkeys == s->cap) {
        uint32_t ncap = s->cap ? s->cap * 2 : 16;
        if (ncap > YB_IMAP_LIMIT_SEARCH_KEYS + 1)
            ncap = YB_IMAP_LIMIT_SEARCH_KEYS + 1;
        k = realloc(s->keys, ncap * sizeof(*k));
        if (k == NULL)
            return YB_ENOMEM;
        s->keys = k;
        s->cap = ncap;
    }
    idx = s->nkeys++;
    k = &s->keys[idx];
    memset(k, 0, sizeof(*k));
    k->type = (uint8_t)type;
    if (idx > 0) {
        struct imap_search_key *par = &s->keys[parent];
        if (par->child == 0) {
            par->child = idx;
        } else {
            uint32_t x = par->child;
            while (s->keys[x].next != 0)
                x = s->keys[x].next;
            s->keys[x].next = idx;
        }
        par->nchildren++;
    }
    *idx_r = idx;
    return 0;
}

/* A string argument, converted to UTF-8 when a CHARSET asks for it. */
static int string_arg(struct ctx *c, const struct imap_arg *a, uint32_t key, int which)
{
    struct imap_search *s = c->s;
    struct yb_slice v;
    size_t cap, got = 0, off;
    int rc;

    if (!imap_arg_is_astring(a))
        return fail(s, YB_EPARSE, "Search string expected");
    v = imap_arg_value(c->p, a);
    if (!c->convert) {
        if (!yb_utf8_valid(v.p, v.len, NULL))
            return fail(s, YB_EILSEQ, "[BADCHARSET (UTF-8)] Search string is not UTF-8");
        if (which == 1)
            s->keys[key].s1 = v;
        else
            s->keys[key].s2 = v;
        return 0;
    }
    cap = v.len * 4 + 16;
    off = s->text.len;
    if ((rc = yb_buf_reserve(&s->text, cap)) < 0)
        return fail(s, rc, "[LIMIT] Search strings too long");
    rc = pal_charset_convert("UTF-8", c->charset, v.p, v.len, s->text.p + off, cap, &got);
    if (rc < 0)
        return fail(s, rc == YB_ENOTSUP ? YB_ENOTSUP : YB_EILSEQ,
                    "Search string is not valid in its charset");
    s->text.len = off + got;
    s->text.p[s->text.len] = '\0';
    /* An offset now; a pointer once the text no longer moves (the end of the parse). */
    if (which == 1) {
        s->keys[key].s1 = yb_slice_make(NULL, got);
        s->keys[key].s1_off = off;
    } else {
        s->keys[key].s2 = yb_slice_make(NULL, got);
        s->keys[key].s2_off = off;
    }
    s->keys[key].conv |= (uint8_t)which;
    return 0;
}

static int number_arg(struct ctx *c, const struct imap_arg *a, bool nz, uint64_t *v_r)
{
    struct yb_slice v;
    uint64_t n = 0;

    if (a == NULL || a->type != IMAP_ARG_ATOM)
        return fail(c->s, YB_EPARSE, "Number expected");
    v = imap_arg_value(c->p, a);
    if (v.len == 0 || v.len > 19 || (v.len > 1 && v.p[0] == '0'))
        return fail(c->s, YB_EPARSE, "Invalid number");
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return fail(c->s, YB_EPARSE, "Invalid number");
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    if (n > (uint64_t)INT64_MAX || (nz && n == 0))
        return fail(c->s, YB_EPARSE, "Invalid number");
    *v_r = n;
    return 0;
}

static int seqset_arg(struct ctx *c, const struct imap_arg *a, uint32_t key)
{
    struct imap_search *s = c->s;
    int rc;

    if (a == NULL || a->type != IMAP_ARG_ATOM)
        return fail(s, YB_EPARSE, "Sequence set expected");
    rc = imap_seqset_parse(imap_arg_value(c->p, a), &s->keys[key].set);
    if (rc < 0)
        return fail(s, rc,
                    rc == YB_ELIMIT ? "[LIMIT] Sequence set too long" : "Invalid sequence set");
    s->ranges += s->keys[key].set.n;
    if (s->ranges > YB_IMAP_LIMIT_SEARCH_RANGES)
        return fail(s, YB_ELIMIT, "[LIMIT] Sequence sets too long");
    return 0;
}

struct simple {
    const char *word;
    enum imap_skey type;
};

static const struct simple simple_keys[] = {
    { "ALL", IMAP_SK_ALL },
    { "ANSWERED", IMAP_SK_ANSWERED },
    { "DELETED", IMAP_SK_DELETED },
    { "DRAFT", IMAP_SK_DRAFT },
    { "FLAGGED", IMAP_SK_FLAGGED },
    { "SEEN", IMAP_SK_SEEN },
    { "RECENT", IMAP_SK_RECENT },
    { "NEW", IMAP_SK_NEW },
    { "OLD", IMAP_SK_OLD },
    { "UNANSWERED", IMAP_SK_UNANSWERED },
    { "UNDELETED", IMAP_SK_UNDELETED },
    { "UNDRAFT", IMAP_SK_UNDRAFT },
    { "UNFLAGGED", IMAP_SK_UNFLAGGED },
    { "UNSEEN", IMAP_SK_UNSEEN },
};

static const struct simple header_keys[] = {
    { "BCC", IMAP_SK_HEADER },     { "CC", IMAP_SK_HEADER }, { "FROM", IMAP_SK_HEADER },
    { "SUBJECT", IMAP_SK_HEADER }, { "TO", IMAP_SK_HEADER },
};

static const struct simple date_keys[] = {
    { "BEFORE", IMAP_SK_BEFORE }, { "ON", IMAP_SK_ON },
    { "SINCE", IMAP_SK_SINCE },   { "SENTBEFORE", IMAP_SK_SENTBEFORE },
    { "SENTON", IMAP_SK_SENTON }, { "SENTSINCE", IMAP_SK_SENTSINCE },
};

static const char *const header_names[] = { "Bcc", "Cc", "From", "Subject", "To" };

static int parse_key(struct ctx *c, const struct imap_arg **cur, uint32_t parent, unsigned depth);

/* Keys from a list of arguments until it ends, as children of parent. */
static int parse_keys(struct ctx *c, const struct imap_arg *a, uint32_t parent, unsigned depth)
{
    int rc;
    if (a == NULL)
        return fail(c->s, YB_EPARSE, "Missing search key");
    while (a != NULL) {
        if ((rc = parse_key(c, &a, parent, depth)) < 0)
            return rc;
    }
    return 0;
}

static int parse_key(struct ctx *c, const struct imap_arg **cur, uint32_t parent, unsigned depth)
{
    const struct imap_parser *p = c->p;
    const struct imap_arg *a = *cur, *n1, *n2;
    struct imap_search *s = c->s;
    struct yb_slice w;
    uint32_t k;
    size_t i;
    int rc;

    *cur = imap_arg_next(p, a);
    if (depth > YB_IMAP_LIMIT_SEARCH_DEPTH)
        return fail(s, YB_ELIMIT, "[LIMIT] Search program nested too deeply");
    if (a->type == IMAP_ARG_LIST) {
        if ((rc = new_key(c, IMAP_SK_AND, parent, &k)) < 0)
            return rc;
        return parse_keys(c, imap_arg_nth(p, a, 0), k, depth + 1);
    }
    if (a->type != IMAP_ARG_ATOM)
        return fail(s, YB_EPARSE, "Search key expected");
    w = imap_arg_value(p, a);
    if (w.len > 0 && ((w.p[0] >= '0' && w.p[0] <= '9') || w.p[0] == '*' || w.p[0] == '$')) {
        if ((rc = new_key(c, IMAP_SK_SEQSET, parent, &k)) < 0)
            return rc;
        return seqset_arg(c, a, k);
    }
    for (i = 0; i < YB_ARRAY_LEN(simple_keys); i++) {
        if (yb_slice_eq_cstr_nocase(w, simple_keys[i].word))
            return new_key(c, simple_keys[i].type, parent, &k);
    }
    n1 = *cur;
    n2 = imap_arg_next(p, n1);
    if (yb_slice_eq_cstr_nocase(w, "NOT") || yb_slice_eq_cstr_nocase(w, "OR")) {
        bool or = w.len == 2;
        if ((rc = new_key(c, or ? IMAP_SK_OR : IMAP_SK_NOT, parent, &k)) < 0)
            return rc;
        if (*cur == NULL)
            return fail(s, YB_EPARSE, "Missing search key");
        if ((rc = parse_key(c, cur, k, depth + 1)) < 0)
            return rc;
        if (! or)
            return 0;
        if (*cur == NULL)
            return fail(s, YB_EPARSE, "OR needs two search keys");
        return parse_key(c, cur, k, depth + 1);
    }
    if (n1 == NULL)
        return fail(s, YB_EPARSE, "Missing search key argument");
    *cur = n2;
    for (i = 0; i < YB_ARRAY_LEN(header_keys); i++) {
        if (yb_slice_eq_cstr_nocase(w, header_keys[i].word)) {
            if ((rc = new_key(c, IMAP_SK_HEADER, parent, &k)) < 0)
                return rc;
            s->keys[k].s1 = yb_slice_cstr(header_names[i]);
            return string_arg(c, n1, k, 2);
        }
    }
    for (i = 0; i < YB_ARRAY_LEN(date_keys); i++) {
        if (yb_slice_eq_cstr_nocase(w, date_keys[i].word)) {
            if ((rc = new_key(c, date_keys[i].type, parent, &k)) < 0)
                return rc;
            if ((n1->type != IMAP_ARG_ATOM && n1->type != IMAP_ARG_QUOTED) ||
                imap_date_parse(imap_arg_value(p, n1), &s->keys[k].date) < 0)
                return fail(s, YB_EPARSE, "Invalid date");
            return 0;
        }
    }
    if (yb_slice_eq_cstr_nocase(w, "KEYWORD") || yb_slice_eq_cstr_nocase(w, "UNKEYWORD")) {
        if ((rc = new_key(c, w.len == 7 ? IMAP_SK_KEYWORD : IMAP_SK_UNKEYWORD, parent, &k)) < 0)
            return rc;
        if (n1->type != IMAP_ARG_ATOM)
            return fail(s, YB_EPARSE, "Keyword expected");
        s->keys[k].s1 = imap_arg_value(p, n1);
        return 0;
    }
    if (yb_slice_eq_cstr_nocase(w, "BODY") || yb_slice_eq_cstr_nocase(w, "TEXT")) {
        if ((rc = new_key(c, w.p[0] == 'B' || w.p[0] == 'b' ? IMAP_SK_BODY : IMAP_SK_TEXT, parent,
                          &k)) < 0)
            return rc;
        return string_arg(c, n1, k, 1);
    }
    if (yb_slice_eq_cstr_nocase(w, "HEADER")) {
        if ((rc = new_key(c, IMAP_SK_HEADER, parent, &k)) < 0)
            return rc;
        if (n2 == NULL)
            return fail(s, YB_EPARSE, "HEADER needs a field name and a string");
        *cur = imap_arg_next(p, n2);
        if (!imap_arg_is_astring(n1) || imap_arg_value(p, n1).len == 0)
            return fail(s, YB_EPARSE, "Header field name expected");
        s->keys[k].s1 = imap_arg_value(p, n1);
        return string_arg(c, n2, k, 2);
    }
    if (yb_slice_eq_cstr_nocase(w, "LARGER") || yb_slice_eq_cstr_nocase(w, "SMALLER") ||
        yb_slice_eq_cstr_nocase(w, "OLDER") || yb_slice_eq_cstr_nocase(w, "YOUNGER")) {
        enum imap_skey t = (w.p[0] | 0x20) == 'l'   ? IMAP_SK_LARGER
                           : (w.p[0] | 0x20) == 's' ? IMAP_SK_SMALLER
                           : (w.p[0] | 0x20) == 'o' ? IMAP_SK_OLDER
                                                    : IMAP_SK_YOUNGER;
        if ((rc = new_key(c, t, parent, &k)) < 0)
            return rc;
        return number_arg(c, n1, t == IMAP_SK_OLDER || t == IMAP_SK_YOUNGER, &s->keys[k].num);
    }
    if (yb_slice_eq_cstr_nocase(w, "UID")) {
        if ((rc = new_key(c, IMAP_SK_UID, parent, &k)) < 0)
            return rc;
        return seqset_arg(c, n1, k);
    }
    if (yb_slice_eq_cstr_nocase(w, "MODSEQ")) {
        if ((rc = new_key(c, IMAP_SK_MODSEQ, parent, &k)) < 0)
            return rc;
        if (n1->type == IMAP_ARG_QUOTED) {
            /* entry-name entry-type-req, then the value */
            if (n2 == NULL || n2->type != IMAP_ARG_ATOM || imap_arg_next(p, n2) == NULL)
                return fail(s, YB_EPARSE, "Invalid MODSEQ");
            s->keys[k].s1 = imap_arg_value(p, n1);
            s->keys[k].s2 = imap_arg_value(p, n2);
            n1 = imap_arg_next(p, n2);
            *cur = imap_arg_next(p, n1);
        }
        return number_arg(c, n1, false, &s->keys[k].num);
    }
    return fail(s, YB_EPARSE, "Unknown search key");
}

static int parse_return(struct ctx *c, const struct imap_arg *list)
{
    struct imap_search *s = c->s;

    s->esearch = true;
    if (list == NULL || list->type != IMAP_ARG_LIST)
        return fail(s, YB_EPARSE, "RETURN needs a list");
    for (const struct imap_arg *o = imap_arg_nth(c->p, list, 0); o != NULL;
         o = imap_arg_next(c->p, o)) {
        static const char *const names[] = { "MIN", "MAX", "ALL", "COUNT", "SAVE" };
        size_t i;
        for (i = 0; i < YB_ARRAY_LEN(names); i++) {
            if (imap_arg_is_word(c->p, o, names[i]))
                break;
        }
        if (i == YB_ARRAY_LEN(names))
            return fail(s, YB_EPARSE, "Unknown RETURN option");
        s->ret |= 1u << i;
    }
    if (s->ret == 0)
        s->ret = IMAP_SRET_ALL; /* RFC 4731: RETURN () is RETURN (ALL) */
    return 0;
}

int imap_search_parse(const struct imap_parser *p, const struct imap_arg *args,
                      struct imap_search *s)
{
    struct ctx c;
    const struct imap_arg *a = imap_arg_nth(p, args, 0);
    uint32_t root;
    int rc;

    memset(s, 0, sizeof(*s));
    yb_buf_init(&s->text, YB_IMAP_LIMIT_COMMAND * 4);
    s->charset = yb_slice_make("", 0);
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.s = s;
    if ((rc = new_key(&c, IMAP_SK_AND, 0, &root)) < 0)
        return rc;
    if (a != NULL && imap_arg_is_word(p, a, "RETURN")) {
        if ((rc = parse_return(&c, imap_arg_next(p, a))) < 0)
            return rc;
        a = imap_arg_next(p, imap_arg_next(p, a));
    }
    if (a != NULL && imap_arg_is_word(p, a, "CHARSET")) {
        const struct imap_arg *cs = imap_arg_next(p, a);
        if (!imap_arg_is_astring(cs))
            return fail(s, YB_EPARSE, "CHARSET needs a name");
        s->charset = imap_arg_value(p, cs);
        if (s->charset.len == 0 || s->charset.len >= sizeof(c.charset))
            return fail(s, YB_ENOTSUP, "[BADCHARSET (UTF-8)] Unknown charset");
        memcpy(c.charset, s->charset.p, s->charset.len);
        c.charset[s->charset.len] = '\0';
        c.convert = !yb_slice_eq_cstr_nocase(s->charset, "UTF-8") &&
                    !yb_slice_eq_cstr_nocase(s->charset, "US-ASCII");
        if (c.convert && !pal_charset_supported(c.charset))
            return fail(s, YB_ENOTSUP, "[BADCHARSET (UTF-8)] Unknown charset");
        a = imap_arg_next(p, cs);
    }
    if ((rc = parse_keys(&c, a, root, 1)) < 0)
        return rc;
    /* The converted strings no longer move: turn their offsets into pointers. */
    for (uint32_t k = 0; k < s->nkeys; k++) {
        struct imap_search_key *key = &s->keys[k];
        if (key->conv & 1)
            key->s1.p = s->text.p + key->s1_off;
        if (key->conv & 2)
            key->s2.p = s->text.p + key->s2_off;
    }
    return 0;
}

void imap_search_free(struct imap_search *s)
{
    for (uint32_t k = 0; k < s->nkeys; k++)
        imap_seqset_free(&s->keys[k].set);
    free(s->keys);
    yb_buf_free(&s->text);
    memset(s, 0, sizeof(*s));
}
