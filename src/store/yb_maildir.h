/*
 * yb_maildir.h - delivery into Maildirs (and Maildir++ quota), the way
 * Dovecot and Courier read them.
 *
 * A message is written once into tmp/ of the first destination under a
 * unique name, fsync'ed, then hard-linked into new/ of every destination
 * (copied where the file system has no hard links or the destinations are on
 * different devices), each new/ directory fsync'ed; only then is delivery
 * complete. Any failure removes what this delivery put in place, so no
 * partial or unannounced file is ever visible in new/. All file operations
 * go through the PAL's injectable table, so disk-full and I/O errors are
 * unit-tested.
 *
 * Names follow the Maildir convention with Dovecot's size fields:
 *   <secs>.M<usecs>P<pid>Q<counter>R<random hex>.<host>,S=<size>,W=<size>
 * with '/' and ':' in the host escaped as \057 and \072 (and ';' as \073),
 * where size is the byte size of the file and W the size with CRLF line
 * endings (the file is stored with CRLF, so both are equal). The escaped
 * host keeps a backslash, which Windows cannot have in a file name: there a
 * host name with '/', ':' or ';' fails delivery (ordinary names are fine).
 *
 * Maildirs are created when first delivered to; a destination given twice
 * gets one copy; the destination array is copied. With quota 0, an existing
 * maildirsize is kept up to date but none is created.
 */
#ifndef YB_MAILDIR_H
#define YB_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most Maildirs one delivery writes to. */
#define YB_MAILDIR_MAX_DESTS 1000

struct yb_maildir_dest {
    const char *path;     /* the Maildir (contains tmp/ new/ cur/); created if missing */
    uint64_t quota_bytes; /* 0: no quota */
};

/* ---- reading names (yb_maildir_name.c) ---- */

/*
 * The base name of a Maildir file name: everything before the info separator
 * ("name:2,FS" -> "name"; ':' and ';' are both recognised). Returns its length.
 */
size_t yb_maildir_base_len(const char *filename);

/*
 * The value of ",<key>=<digits>" among the fields of the base name
 * name[0..base_len) (",S=" bytes on disk, ",W=" bytes with CRLF); false when
 * absent or not a number (at most 19 digits, followed by ',' or the end).
 */
bool yb_maildir_name_field(const char *name, size_t base_len, char key, uint64_t *v_r);

/*
 * The delivery time of a name "<secs>.M<usecs>..." (the Maildir convention;
 * usecs are not zero-padded, so name order is not delivery order within a
 * second). Zeros when the name does not start that way.
 */
void yb_maildir_name_time(const char *name, uint64_t *secs_r, uint64_t *usecs_r);

/* Creates path/{tmp,new,cur} if missing (mode 0700). */
int yb_maildir_create(const char *path);

/*
 * Maildir++ quota (the maildirsize file): the bytes and messages in use,
 * read from maildirsize and recomputed by scanning new/ and cur/ (using the
 * S= size in names, stat otherwise) only when the file is missing, damaged
 * or has grown past 5120 bytes. Never scans on every delivery.
 */
int yb_maildir_usage(const char *path, uint64_t quota_bytes, uint64_t *bytes_r, uint64_t *count_r);

/*
 * Records bytes and messages added to the Maildir at path (negative:
 * removed, e.g. by POP3 DELE or IMAP EXPUNGE) as one "<bytes> <count>" line
 * appended to its maildirsize, where that file exists (it is created only
 * by yb_maildir_usage, i.e. when a quota applies). A failed append removes
 * the file, so the next reader recomputes instead of trusting a count that
 * misses this change. Returns 0 (also when there is no maildirsize) or the
 * error of the append.
 */
int yb_maildir_quota_add(const char *path, int64_t bytes, int64_t count);

struct yb_delivery;

/*
 * Starts a delivery to n destinations; host is the local host name for the
 * unique name. The temporary file is created in the first destination.
 */
int yb_delivery_begin(const struct yb_maildir_dest *dests, size_t n, const char *host,
                      struct yb_delivery **d_r);

/* Appends message bytes (already with CRLF line endings). */
int yb_delivery_write(struct yb_delivery *d, const void *data, size_t len);

/*
 * Makes the message durable in every destination: returns 0 only when it is
 * in new/ of all of them and on stable storage. YB_ELIMIT when a quota would
 * be exceeded, YB_ENOSPC when the disk is full (nothing stays delivered in
 * either case), another error for I/O failures. The delivery is finished
 * either way; free it.
 */
int yb_delivery_commit(struct yb_delivery *d);

/* Message bytes written so far. */
uint64_t yb_delivery_size(const struct yb_delivery *d);

/* Frees the delivery; an uncommitted one has its temporary file removed. */
void yb_delivery_free(struct yb_delivery **d);

#endif
