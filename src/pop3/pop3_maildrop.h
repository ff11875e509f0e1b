/*
 * pop3_maildrop.h - a Maildir as a POP3 maildrop (RFC 1939): locked for the
 * session, listed once at login, messages deleted only in the UPDATE state.
 *
 * The lock is the PAL's whole-file lock (OFD lock on POSIX, LockFileEx on
 * Windows) on "pop3.lock" inside the Maildir: it works on a shared file
 * system, it is per open handle (a second session in the same process is
 * refused too), and the OS frees it when the holder dies. The lock file is
 * never removed (removing a lock file while another process opens it would
 * let two sessions in).
 *
 * The listing is new/ and cur/ (never tmp/), in delivery order: by the time
 * at the start of Maildir names ("<secs>.M<usecs>...", compared as numbers,
 * since the microseconds are not zero-padded), then by base name. A message's unique-id (UIDL) derives from
 * its base name - the file name without the info suffix (":2,S", with the
 * PAL's separator) - so it does not change when IMAP moves the file from
 * new/ to cur/ or changes its flags, across sessions and restarts. RFC 1939
 * allows 1-70 characters 0x21-0x7E: a base name that qualifies is the UIDL
 * itself, any other becomes "H" and 40 hex digits of its SHA-256.
 *
 * A message's size is its size with CRLF line endings (Dovecot's W= field
 * in the name, else S=, which yubin writes with CRLF; a name without either
 * is measured by reading it once at login).
 */
#ifndef YB_POP3_MAILDROP_H
#define YB_POP3_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pal_file.h"

/* RFC 1939 7: a unique-id is 1 to 70 characters. */
#define YB_POP3_UIDL_MAX 70
/* Most messages one maildrop lists (more are left for the next session). */
#define YB_POP3_LIMIT_MESSAGES 1000000u
/* The lock file inside the Maildir. */
#define YB_POP3_LOCK_FILE "pop3.lock"

struct pop3_msg {
    char *name;         /* "new/<file>" or "cur/<file>", relative to the Maildir */
    size_t base_len;    /* bytes of the base name (after the "new/" or "cur/") */
    uint64_t size;      /* octets as sent (CRLF line endings), for STAT and LIST */
    uint64_t file_size; /* octets on disk (S=), for the quota */
    char uidl[YB_POP3_UIDL_MAX + 1];
    uint64_t when_s, when_us; /* delivery time from "<secs>.M<usecs>..." (0: none) */
    bool deleted;
};

struct pop3_maildrop {
    char path[PAL_PATH_MAX];
    struct pal_file *lock;
    struct pop3_msg *msgs;
    size_t n;
    size_t ndeleted;
    uint64_t total;         /* size of every listed message */
    uint64_t deleted_bytes; /* size of those marked deleted */
};

/*
 * Locks and lists the Maildir at path (creating it when it does not exist
 * yet, so a new account can log in). YB_EBUSY when another session holds
 * the lock; another error when it cannot be read. *md_r is NULL on error.
 */
int pop3_maildrop_open(const char *path, struct pop3_maildrop **md_r);

/*
 * Opens message i (0-based) for reading. A message IMAP moved between new/
 * and cur/ or re-flagged since the listing is found by its base name (and
 * its name updated). YB_ENOENT when it is gone.
 */
int pop3_maildrop_open_msg(struct pop3_maildrop *md, size_t i, struct pal_file **f_r);

/*
 * The UPDATE state: removes every message marked deleted, then records the
 * change in maildirsize. A message already gone counts as removed. Returns
 * 0, or the first error (the other deletions are still attempted);
 * *removed_r is the number of messages removed.
 */
int pop3_maildrop_commit(struct pop3_maildrop *md, size_t *removed_r);

/* Unlocks and frees; sets *md to NULL. Deletion marks are forgotten. */
void pop3_maildrop_close(struct pop3_maildrop **md);

/* Computes a UIDL from a base name (exposed for the unit tests). */
void pop3_uidl_from_base(const char *base, size_t len, char out[YB_POP3_UIDL_MAX + 1]);

#endif
