/*
 * imap_search.h - SEARCH programs (RFC 3501 6.4.4, RFC 9051 6.4.4) read from
 * the parser's arguments into a tree of keys, with the ESEARCH RETURN
 * options (RFC 4731), SEARCHRES "$" and SAVE (RFC 5182), CONDSTORE's MODSEQ
 * (RFC 7162) and WITHIN's OLDER/YOUNGER (RFC 5032).
 *
 * What it promises:
 * - A pure reading of the arguments: no mailbox, no store. Sequence sets are
 *   parsed (imap_seqset.h) but not resolved; dates are checked (a real day of
 *   a real month); numbers are range-checked.
 * - With CHARSET other than UTF-8 / US-ASCII, every string is converted to
 *   UTF-8 through the PAL (so SEARCH CHARSET ISO-8859-1 or ISO-2022-JP
 *   works); an unknown charset is YB_ENOTSUP, which the command answers with
 *   NO [BADCHARSET]; bytes invalid in the charset (or, without one, strings that are not
 *   UTF-8) are YB_EILSEQ.
 * - Limits: YB_IMAP_LIMIT_SEARCH_KEYS keys, YB_IMAP_LIMIT_SEARCH_DEPTH levels
 *   of NOT / OR / parentheses, YB_IMAP_LIMIT_SEARCH_RANGES sequence ranges
 *   over all the sets of one program; each is YB_ELIMIT at N+1.
 */
#ifndef YB_IMAP_SEARCH_H
#define YB_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap_date.h"
#include "imap_parse.h"
#include "imap_seqset.h"
#include "yb_buf.h"

#define YB_IMAP_LIMIT_SEARCH_KEYS   1024
#define YB_IMAP_LIMIT_SEARCH_DEPTH  32
#define YB_IMAP_LIMIT_SEARCH_RANGES 65536

enum imap_skey {
    IMAP_SK_AND, /* children: all must match (the program itself, and "( ... )") */
    IMAP_SK_OR,  /* two children */
    IMAP_SK_NOT, /* one child */
    IMAP_SK_ALL,
    IMAP_SK_ANSWERED,
    IMAP_SK_DELETED,
    IMAP_SK_DRAFT,
    IMAP_SK_FLAGGED,
    IMAP_SK_SEEN,
    IMAP_SK_RECENT,
    IMAP_SK_NEW,     /* RECENT UNSEEN */
    IMAP_SK_OLD,     /* NOT RECENT */
    IMAP_SK_KEYWORD, /* s1: the keyword */
    IMAP_SK_UNANSWERED,
    IMAP_SK_UNDELETED,
    IMAP_SK_UNDRAFT,
    IMAP_SK_UNFLAGGED,
    IMAP_SK_UNSEEN,
    IMAP_SK_UNKEYWORD,
    IMAP_SK_HEADER, /* s1: field name, s2: text (BCC, CC, FROM, SUBJECT, TO are HEADER too) */
    IMAP_SK_BODY,   /* s1 */
    IMAP_SK_TEXT,   /* s1 */
    IMAP_SK_BEFORE, /* date: internal date */
    IMAP_SK_ON,
    IMAP_SK_SINCE,
    IMAP_SK_SENTBEFORE, /* date: the Date: header */
    IMAP_SK_SENTON,
    IMAP_SK_SENTSINCE,
    IMAP_SK_LARGER, /* num */
    IMAP_SK_SMALLER,
    IMAP_SK_OLDER,   /* num seconds (WITHIN) */
    IMAP_SK_YOUNGER, /* num seconds */
    IMAP_SK_SEQSET,  /* set (set.saved: "$") */
    IMAP_SK_UID,     /* set */
    IMAP_SK_MODSEQ   /* num; s1/s2: the optional entry name and type */
};

struct imap_search_key {
    uint8_t type;         /* enum imap_skey */
    uint32_t child, next; /* indexes; 0 = none (key 0 is the root AND) */
    uint32_t nchildren;
    struct yb_slice s1, s2; /* views into the parser or the program's own text */
    uint64_t num;
    struct imap_date date;
    struct imap_seqset set;
    uint8_t conv;          /* internal: s1 (1) / s2 (2) were converted into the text */
    size_t s1_off, s2_off; /* internal */
};

enum {
    IMAP_SRET_MIN = 1u << 0,
    IMAP_SRET_MAX = 1u << 1,
    IMAP_SRET_ALL = 1u << 2,
    IMAP_SRET_COUNT = 1u << 3,
    IMAP_SRET_SAVE = 1u << 4
};

struct imap_search {
    struct imap_search_key *keys; /* keys[0] is the root AND */
    uint32_t nkeys, cap;
    bool esearch;            /* RETURN (...) was given: answer with ESEARCH */
    unsigned ret;            /* IMAP_SRET_*; RETURN () means ALL */
    struct yb_slice charset; /* "" when not given */
    struct yb_buf text;      /* converted strings */
    size_t ranges;
    const char *err_text; /* after an error: what to put in the BAD/NO */
};

/*
 * Reads a SEARCH program from the argument list `args` starting at its
 * first child (the arguments after SEARCH / UID SEARCH). Returns 0;
 * YB_EPARSE for bad syntax (BAD), YB_ENOTSUP for an unknown charset
 * (NO [BADCHARSET]), YB_EILSEQ for strings invalid in it, YB_ELIMIT for a
 * limit, YB_ENOMEM. Free with imap_search_free in every case.
 */
int imap_search_parse(const struct imap_parser *p, const struct imap_arg *args,
                      struct imap_search *s);
void imap_search_free(struct imap_search *s);

#endif
