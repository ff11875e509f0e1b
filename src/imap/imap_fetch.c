/*
 * imap_fetch.c - FETCH attribute lists and modifiers.
 */
#include "imap_fetch.h"
#include "pal_err.h"

#include <stdlib.h>
#include <string.h>

static int fail(struct imap_fetch *f, int rc, const char *text)
{
    if (f->err_text == NULL)
        f->err_text = text;
    return rc;
}

struct word {
    const char *name;
    unsigned bits;
};

static const struct word atts[] = {
    { "ENVELOPE", IMAP_FA_ENVELOPE },
    { "FLAGS", IMAP_FA_FLAGS },
    { "INTERNALDATE", IMAP_FA_INTERNALDATE },
    { "RFC822", IMAP_FA_RFC822 },
    { "RFC822.HEADER", IMAP_FA_RFC822_HEADER },
    { "RFC822.SIZE", IMAP_FA_RFC822_SIZE },
    { "RFC822.TEXT", IMAP_FA_RFC822_TEXT },
    { "BODY", IMAP_FA_BODY },
    { "BODYSTRUCTURE", IMAP_FA_BODYSTRUCTURE },
    { "UID", IMAP_FA_UID },
    { "MODSEQ", IMAP_FA_MODSEQ },
};

static const struct word macros[] = {
    { "ALL", IMAP_FA_FLAGS | IMAP_FA_INTERNALDATE | IMAP_FA_RFC822_SIZE | IMAP_FA_ENVELOPE },
    { "FAST", IMAP_FA_FLAGS | IMAP_FA_INTERNALDATE | IMAP_FA_RFC822_SIZE },
    { "FULL", IMAP_FA_FLAGS | IMAP_FA_INTERNALDATE | IMAP_FA_RFC822_SIZE | IMAP_FA_ENVELOPE |
                  IMAP_FA_BODY },
};

static int one_att(const struct imap_parser *p, const struct imap_arg *a, struct imap_fetch *f)
{
    struct yb_slice w;
    int rc;

    if (a->type != IMAP_ARG_ATOM)
        return fail(f, YB_EPARSE, "Invalid fetch attribute");
    w = imap_arg_value(p, a);
    for (size_t i = 0; i < sizeof(atts) / sizeof(atts[0]); i++) {
        if (yb_slice_eq_cstr_nocase(w, atts[i].name)) {
            f->atts |= atts[i].bits;
            return 0;
        }
    }
    if (f->nsect >= YB_IMAP_LIMIT_FETCH_SECTIONS)
        return fail(f, YB_ELIMIT, "[LIMIT] Too many sections in one FETCH");
    if (f->sect == NULL) {
        f->sect = malloc(YB_IMAP_LIMIT_FETCH_SECTIONS * sizeof(*f->sect));
        if (f->sect == NULL)
            return YB_ENOMEM;
    }
    rc = imap_section_parse(w, &f->sect[f->nsect]);
    if (rc == YB_ENOTFOUND)
        return fail(f, YB_EPARSE, "Unknown fetch attribute");
    if (rc < 0)
        return fail(f, rc, "Invalid section");
    f->nsect++;
    return 0;
}

static int number(const struct imap_parser *p, const struct imap_arg *a, uint64_t *v_r)
{
    struct yb_slice w;
    uint64_t v = 0;

    if (a == NULL || a->type != IMAP_ARG_ATOM)
        return YB_EPARSE;
    w = imap_arg_value(p, a);
    if (w.len == 0 || w.len > 19 || w.p[0] == '0')
        return YB_EPARSE;
    for (size_t i = 0; i < w.len; i++) {
        if (w.p[i] < '0' || w.p[i] > '9')
            return YB_EPARSE;
        v = v * 10 + (uint64_t)(w.p[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return YB_EPARSE;
    *v_r = v;
    return 0;
}

static int modifiers(const struct imap_parser *p, const struct imap_arg *list, struct imap_fetch *f)
{
    const struct imap_arg *m = imap_arg_nth(p, list, 0);

    if (list->type != IMAP_ARG_LIST || m == NULL)
        return fail(f, YB_EPARSE, "Invalid fetch modifiers");
    for (; m != NULL; m = imap_arg_next(p, m)) {
        if (imap_arg_is_word(p, m, "CHANGEDSINCE") && !f->changedsince) {
            m = imap_arg_next(p, m);
            if (number(p, m, &f->modseq) < 0)
                return fail(f, YB_EPARSE, "CHANGEDSINCE needs a positive number");
            f->changedsince = true;
        } else if (imap_arg_is_word(p, m, "VANISHED") && !f->vanished) {
            f->vanished = true;
        } else {
            return fail(f, YB_EPARSE, "Unknown or repeated fetch modifier");
        }
    }
    if (f->vanished && !f->changedsince)
        return fail(f, YB_EPARSE, "VANISHED needs CHANGEDSINCE");
    return 0;
}

int imap_fetch_parse(const struct imap_parser *p, const struct imap_arg *first,
                     struct imap_fetch *f)
{
    const struct imap_arg *mods;
    int rc;

    memset(f, 0, sizeof(*f));
    if (first == NULL)
        return fail(f, YB_EPARSE, "Missing fetch attributes");
    mods = imap_arg_next(p, first);
    if (mods != NULL && imap_arg_next(p, mods) != NULL)
        return fail(f, YB_EPARSE, "Unexpected arguments after the fetch modifiers");
    if (first->type == IMAP_ARG_LIST) {
        const struct imap_arg *a = imap_arg_nth(p, first, 0);
        if (a == NULL)
            return fail(f, YB_EPARSE, "Empty fetch attribute list");
        for (; a != NULL; a = imap_arg_next(p, a)) {
            if ((rc = one_att(p, a, f)) < 0)
                return rc;
        }
    } else {
        bool macro = false;
        for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
            if (imap_arg_is_word(p, first, macros[i].name)) {
                f->atts = macros[i].bits;
                macro = true;
            }
        }
        if (!macro && (rc = one_att(p, first, f)) < 0)
            return rc;
    }
    return mods != NULL ? modifiers(p, mods, f) : 0;
}

void imap_fetch_free(struct imap_fetch *f)
{
    free(f->sect);
    memset(f, 0, sizeof(*f));
}
