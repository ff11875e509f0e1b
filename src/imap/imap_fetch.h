/*
 * imap_fetch.h - FETCH attribute lists (RFC 3501 6.4.5, RFC 9051 6.4.5,
 * RFC 3516 BINARY, RFC 7162 MODSEQ / CHANGEDSINCE / VANISHED) read from the
 * parser's arguments.
 *
 * What it promises: the macros ALL, FAST and FULL expanded (only alone, as
 * the grammar says), each attribute a bit, each sectioned attribute
 * (BODY[...], BODY.PEEK[...], BINARY[...], BINARY.SIZE[...]) parsed with
 * imap_section_parse, and the modifiers checked (CHANGEDSINCE takes a
 * positive 63-bit number; VANISHED only with CHANGEDSINCE). Nothing about
 * the mailbox: whether UID FETCH, CONDSTORE or QRESYNC are in force is the
 * command's to check.
 *
 * Limits: YB_IMAP_LIMIT_FETCH_SECTIONS sectioned attributes per command
 * (YB_ELIMIT past it); the sections live in one allocation of that bound.
 */
#ifndef YB_IMAP_FETCH_H
#define YB_IMAP_FETCH_H

#include <stdbool.h>
#include <stdint.h>
#include "imap_parse.h"

#define YB_IMAP_LIMIT_FETCH_SECTIONS 64

enum {
    IMAP_FA_ENVELOPE = 1u << 0,
    IMAP_FA_FLAGS = 1u << 1,
    IMAP_FA_INTERNALDATE = 1u << 2,
    IMAP_FA_RFC822 = 1u << 3,
    IMAP_FA_RFC822_HEADER = 1u << 4,
    IMAP_FA_RFC822_SIZE = 1u << 5,
    IMAP_FA_RFC822_TEXT = 1u << 6,
    IMAP_FA_BODY = 1u << 7, /* the non-extensible structure */
    IMAP_FA_BODYSTRUCTURE = 1u << 8,
    IMAP_FA_UID = 1u << 9,
    IMAP_FA_MODSEQ = 1u << 10
};

struct imap_fetch {
    unsigned atts;             /* IMAP_FA_* */
    struct imap_section *sect; /* nsect entries, in the order asked */
    unsigned nsect;
    bool changedsince, vanished;
    uint64_t modseq; /* CHANGEDSINCE's value */
    const char *err_text;
};

/*
 * Reads the arguments that follow the sequence set: first is the attribute
 * or list, and an optional modifier list may follow it. Returns 0, YB_EPARSE,
 * YB_ELIMIT, YB_ENOMEM; err_text says why. Free with imap_fetch_free always.
 */
int imap_fetch_parse(const struct imap_parser *p, const struct imap_arg *first,
                     struct imap_fetch *f);
void imap_fetch_free(struct imap_fetch *f);

#endif
