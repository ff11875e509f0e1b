/*
 * imap_mutf7.h - mailbox names: modified UTF-7 (RFC 3501 5.1.3) <-> UTF-8,
 * and the rules a name must follow to become a Maildir++ folder.
 *
 * A direct codec rather than iconv, on purpose: glibc's "UTF-7-IMAP" exists
 * only since glibc 2.36, GNU libiconv and the Win32 code pages have no such
 * charset at all, and none of them refuses the non-canonical spellings RFC
 * 3501 forbids (a base64 run that encodes printable ASCII, two adjacent runs,
 * padding bits that are not zero). Those spellings are how two different
 * wire names end up as one folder, so the codec must be strict, and it must
 * behave the same on every platform. The codec is about 150 lines and has no
 * state beyond one name.
 *
 * Limits: a name is at most YB_IMAP_LIMIT_MAILBOX bytes in either form, with
 * at most YB_IMAP_LIMIT_MAILBOX_LEVELS hierarchy levels.
 */
#ifndef YB_IMAP_MUTF7_H
#define YB_IMAP_MUTF7_H

#include <stdbool.h>
#include <stddef.h>
#include "yb_slice.h"

/* Bytes of a mailbox name, in modified UTF-7 or in UTF-8 (Maildir++ puts it in one file name). */
#define YB_IMAP_LIMIT_MAILBOX 255
/* Hierarchy levels of one name ("a/b/c" has 3). */
#define YB_IMAP_LIMIT_MAILBOX_LEVELS 16

/*
 * Decodes a modified UTF-7 name to UTF-8 into out (outcap bytes; NUL added
 * when room remains). Returns 0; YB_EILSEQ for anything RFC 3501 does not
 * allow (a byte outside 0x20..0x7E, '&' not closed by '-', a bad base64
 * character, a run that encodes printable ASCII, two runs in a row, nonzero
 * padding bits, an unpaired surrogate, an empty run other than "&-");
 * YB_ELIMIT past YB_IMAP_LIMIT_MAILBOX; YB_ERANGE when out is too small.
 */
int imap_mutf7_to_utf8(struct yb_slice in, char *out, size_t outcap, size_t *len_r);

/*
 * Encodes a UTF-8 name as modified UTF-7 (the one canonical spelling).
 * YB_EILSEQ for invalid UTF-8 or a NUL, YB_ELIMIT / YB_ERANGE as above.
 */
int imap_utf8_to_mutf7(struct yb_slice in, char *out, size_t outcap, size_t *len_r);

/* Why imap_mailbox_check refused a name: each maps to a clear NO text. */
enum imap_mailbox_error {
    IMAP_MBOX_OK = 0,
    IMAP_MBOX_EMPTY,     /* "" or an empty level ("a//b", "a/") */
    IMAP_MBOX_TOO_LONG,  /* YB_IMAP_LIMIT_MAILBOX or _LEVELS */
    IMAP_MBOX_BAD_UTF8,  /* not UTF-8 */
    IMAP_MBOX_LEADING,   /* starts with '/' or '~' */
    IMAP_MBOX_DOTS,      /* ".." (a path escape) */
    IMAP_MBOX_DOT,       /* '.' in a level: Maildir++ uses it as its own separator */
    IMAP_MBOX_CONTROL,   /* a control character (C0, DEL, C1) */
    IMAP_MBOX_RESERVED,  /* '%' '*' (LIST wildcards) or \ : ? " < > | (not portable file names) */
    IMAP_MBOX_BAD_MUTF7, /* not valid (canonical) modified UTF-7 */
};

/*
 * Checks a UTF-8 mailbox name, levels separated by '/', against the rules a
 * Maildir++ store needs. Returns IMAP_MBOX_OK or the first reason found.
 */
enum imap_mailbox_error imap_mailbox_check(struct yb_slice utf8);

/*
 * A mailbox name as a client sent it, made the UTF-8 name the store uses:
 * modified UTF-7 is decoded unless utf8_accept (RFC 6855: after ENABLE
 * UTF8=ACCEPT names travel as UTF-8), "INBOX" in any case becomes "INBOX"
 * (RFC 3501 5.1), and the result must pass imap_mailbox_check. out needs
 * YB_IMAP_LIMIT_MAILBOX + 1 bytes; it is NUL-terminated.
 */
enum imap_mailbox_error imap_mailbox_from_wire(struct yb_slice wire, bool utf8_accept, char *out,
                                               size_t outcap, size_t *len_r);

/* A short English reason for a NO ("Mailbox name contains '.'"). */
const char *imap_mailbox_error_text(enum imap_mailbox_error e);

#endif
