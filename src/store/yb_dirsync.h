/*
 * yb_dirsync.h - directory syncs shared by concurrent writers (group commit).
 *
 * Making a new name durable costs a directory fsync. When several threads
 * place files into the same directory at once (one Maildir's new/ under a
 * burst of deliveries), one fsync that starts after all their renames covers
 * them all. yb_dirsync returns only after a sync of path that began after
 * the call completed successfully, so its guarantee is exactly that of
 * pal_fs_sync_dir; it just lets the callers that arrive while a sync runs
 * share the next one instead of queueing one each.
 */
#ifndef YB_DIRSYNC_H
#define YB_DIRSYNC_H

/* Like pal_fs_sync_dir(path), coalesced with concurrent callers for the same path. */
int yb_dirsync(const char *path);

#endif
