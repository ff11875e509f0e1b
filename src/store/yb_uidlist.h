/*
 * yb_uidlist.h - the UIDs of one Maildir folder, durable and shared.
 *
 * IMAP needs what a Maildir cannot hold: a number per message that never
 * changes (UID), the folder's UIDVALIDITY and the next UID. They live in one
 * small text file per folder, `yubin-uidlist`, next to cur/ new/ tmp/:
 *
 *     yubin-uidlist 1 V<uidvalidity> N<uidnext>
 *     <uid> :<base name>
 *     ...
 *
 * A message is known by its base name: the file name before the info
 * separator (":2," or ";2," on Windows), which stays the same when a client
 * moves it from new/ to cur/ or changes its flags. POP3's UIDL is the same
 * base name, so the two protocols agree on identity.
 *
 * Durability and sharing: new UIDs are appended (one write, then fsync)
 * under the folder lock (yb_folder_lock), so several processes or hosts
 * sharing the root never hand out one UID twice; a reader picks up other
 * processes' appends incrementally. Expunged entries are dropped by
 * compaction, which rewrites the file atomically (pal_file_replace). A torn
 * last line (a crash during an append) is ignored and overwritten; a line
 * that does not parse ends the usable part (it and everything after it are
 * given new UIDs), but the UIDs before it survive. A missing or unreadable
 * header starts a new UIDVALIDITY, as RFC 3501 requires when UIDs cannot be
 * kept.
 *
 * Migration: when a folder has no yubin-uidlist but Dovecot's
 * `dovecot-uidlist` (versions 1 and 3) or Courier's `courierimapuiddb`, its
 * UIDVALIDITY, next UID and UIDs are taken over, so clients of a migrated
 * server do not download everything again.
 *
 * Not thread-safe: one yb_uidlist per user at a time (the IMAP store keeps
 * one per open folder behind its own lock).
 */
#ifndef YB_UIDLIST_H
#define YB_UIDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define YB_UIDLIST_FILE "yubin-uidlist"
#define YB_UIDLIST_LOCK "yubin.lock"
/* Longest base name kept (longer Maildir names are not given UIDs). */
#define YB_UIDLIST_MAX_NAME 255
/* Largest uidlist file read (about 4 million messages). */
#define YB_UIDLIST_MAX_FILE (256u * 1024u * 1024u)
/* Longest wait for the folder lock held by another process. */
#define YB_FOLDER_LOCK_WAIT_MS 30000u

struct yb_uidlist;
struct yb_folder_lock;

/*
 * Takes the folder's exclusive lock (a lock on dir/yubin.lock that works on
 * shared file systems and is freed when the holder dies). Waits up to
 * YB_FOLDER_LOCK_WAIT_MS; YB_EBUSY after that.
 */
int yb_folder_lock(const char *dir, struct yb_folder_lock **lock_r);
void yb_folder_unlock(struct yb_folder_lock **lock);

/*
 * Reads dir's UID list (importing Dovecot's or Courier's when there is none
 * yet, or starting a new one with a fresh UIDVALIDITY) and writes it back
 * when it was new, imported or repaired, so the file exists afterwards. Call
 * with the folder lock held. errbuf (may be NULL) says what was repaired, if
 * anything ("" otherwise).
 */
int yb_uidlist_open(const char *dir, struct yb_uidlist **ul_r, char *errbuf, size_t errsize);
void yb_uidlist_free(struct yb_uidlist **ul);

/* Reads what other processes appended since (or a compacted file anew). */
int yb_uidlist_refresh(struct yb_uidlist *ul);

uint32_t yb_uidlist_validity(const struct yb_uidlist *ul);
uint32_t yb_uidlist_next(const struct yb_uidlist *ul);
size_t yb_uidlist_count(const struct yb_uidlist *ul);

/* The UID of a base name, or 0. */
uint32_t yb_uidlist_lookup(const struct yb_uidlist *ul, const char *base);

/* The i-th entry in UID order (i < count); *base_r stays valid until the next change. */
void yb_uidlist_entry(const struct yb_uidlist *ul, size_t i, uint32_t *uid_r, const char **base_r);

/*
 * Gives the names that have no UID yet consecutive new UIDs, in the order
 * given, and makes them durable (append + fsync) before returning. Names
 * that already have one keep it. Call with the folder lock held.
 * *first_r (may be NULL) gets the first new UID (0 if none was needed).
 */
int yb_uidlist_assign(struct yb_uidlist *ul, const char *const *bases, size_t n,
                      uint32_t *first_r);

/*
 * Drops every entry whose name keep() rejects (expunged messages) and
 * rewrites the file atomically. UIDVALIDITY and the next UID are kept.
 * Call with the folder lock held.
 */
int yb_uidlist_compact(struct yb_uidlist *ul, bool (*keep)(void *ctx, const char *base),
                       void *ctx);

#endif
