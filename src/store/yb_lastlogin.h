/*
 * yb_lastlogin.h - when an account last logged in (CTRL userstat).
 *
 * One small file per account, ROOT/domains/<domain>/<dir>/lastlogin, holding
 * the unix time in decimal. It is rewritten at most once per
 * YB_LASTLOGIN_GRANULARITY seconds per account (a stat on every login, a
 * write once a minute), without fsync: a crash may lose the last minute's
 * stamp, never mail. A damaged or empty file reads as "never".
 */
#ifndef YB_LASTLOGIN_H
#define YB_LASTLOGIN_H

#include <stdint.h>

#define YB_LASTLOGIN_GRANULARITY 60

/* Records a login at time now in account_dir (created if missing). 0 or a YB_E* code. */
int yb_lastlogin_note(const char *account_dir, int64_t now);

struct yb_user;
/* yb_lastlogin_note for account u under root (SMTP AUTH, POP3, IMAP logins); failures are logged. */
void yb_lastlogin_note_user(const char *root, const struct yb_user *u, const char *service);

/* The last recorded login, or YB_ENOENT when there is none. */
int yb_lastlogin_read(const char *account_dir, int64_t *when_r);

#endif
