/*
 * yb_folder.h - one Maildir folder as IMAP and POP3 see it: messages in UID
 * order with their flags, and the changes since the last look.
 *
 * The Maildir is the truth. Flags live in the file names exactly as Dovecot
 * and Courier write them ("<base>:2,<letters>", ';' instead of ':' on
 * Windows): D Draft, F Flagged, R Answered, S Seen, T Deleted; lowercase
 * letters are keywords, 'a' being the first line of the folder's
 * `dovecot-keywords` file ("0 $Forwarded"), so a folder moves between
 * Dovecot and yubin with its flags and keywords. Other letters are kept as
 * they are. UIDs come from the folder's yubin-uidlist (yb_uidlist.h); a
 * message's identity is its base name, which survives the move from new/ to
 * cur/ and every flag change.
 *
 * Changing flags renames the file; expunging unlinks it; both are atomic in
 * the file system, so a crash leaves either the old or the new state. If
 * another process renamed or removed the file first, the operation reports
 * YB_ENOENT and the next yb_folder_sync() shows what happened.
 *
 * A yb_folder is used by one thread at a time (the IMAP layer shares one per
 * folder behind its own lock).
 */
#ifndef YB_FOLDER_H
#define YB_FOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* System flags (IMAP). */
enum {
    YB_FLAG_ANSWERED = 1u << 0, /* R */
    YB_FLAG_FLAGGED = 1u << 1,  /* F */
    YB_FLAG_DELETED = 1u << 2,  /* T */
    YB_FLAG_SEEN = 1u << 3,     /* S */
    YB_FLAG_DRAFT = 1u << 4     /* D */
};

/* Keywords per folder: Maildir has 26 lowercase letters for them. */
#define YB_FOLDER_MAX_KEYWORDS 26
/* Longest keyword (an IMAP atom). */
#define YB_FOLDER_MAX_KEYWORD_LEN 128
/* Most messages a folder may hold (a scan refuses more with YB_ELIMIT). */
#define YB_FOLDER_MAX_MESSAGES 4000000u
/* Longest Maildir file name handled. */
#define YB_FOLDER_MAX_NAME 255

struct yb_folder_msg {
    uint32_t uid;
    uint32_t flags;    /* YB_FLAG_* */
    uint32_t keywords; /* bit i = keyword i of the folder */
    bool in_new;       /* still in new/ (never seen by a client: \Recent) */
    uint64_t size;     /* bytes (S= in the name, else the file's size) */
    int64_t mtime;     /* the file's modification time (IMAP INTERNALDATE), seconds */
    const char *base;  /* base name (valid while the message is in the folder) */
    const char *file;  /* current file name in new/ or cur/ */
};

/* What changed since the previous yb_folder_open/yb_folder_sync. */
struct yb_folder_changes {
    uint32_t *expunged; /* UIDs that disappeared, ascending */
    size_t nexpunged;
    uint32_t *changed; /* UIDs whose flags or keywords changed, ascending */
    size_t nchanged;
    size_t nnew; /* messages with UIDs above the previous highest */
};

struct yb_folder;

/*
 * Opens the Maildir folder at dir (which holds new/ cur/ tmp/, created if
 * missing), gives UIDs to every message, and reads the keyword names.
 */
int yb_folder_open(const char *dir, struct yb_folder **f_r);
void yb_folder_close(struct yb_folder **f);

/*
 * Looks at the directories again. When neither new/ nor cur/ changed since
 * the last scan (and that scan was not within the file system's timestamp
 * granularity of a change) this is two stat calls. ch (may be NULL) gets the
 * changes; free it with yb_folder_changes_free.
 */
int yb_folder_sync(struct yb_folder *f, struct yb_folder_changes *ch);
void yb_folder_changes_free(struct yb_folder_changes *ch);

uint32_t yb_folder_uidvalidity(const struct yb_folder *f);
uint32_t yb_folder_uidnext(const struct yb_folder *f);
size_t yb_folder_count(const struct yb_folder *f);
/* The message with sequence number seq (1-based), in UID order. */
const struct yb_folder_msg *yb_folder_msg(const struct yb_folder *f, size_t seq);
/* The sequence number of uid, or 0. */
size_t yb_folder_seq_of(const struct yb_folder *f, uint32_t uid);
/* The full path of a message's file (for reading it). */
int yb_folder_msg_path(const struct yb_folder *f, const struct yb_folder_msg *m, char *buf,
                       size_t size);

/* Keyword names known to the folder (index = bit in yb_folder_msg.keywords). */
size_t yb_folder_keyword_count(const struct yb_folder *f);
const char *yb_folder_keyword(const struct yb_folder *f, size_t i);
/*
 * The index of a keyword (case-insensitive, as IMAP compares flags), adding
 * it to dovecot-keywords when create is set. YB_ELIMIT when the folder
 * already has 26; YB_ENOENT when unknown and !create; YB_EINVAL for a name
 * that is not an IMAP atom or starts with a backslash.
 */
int yb_folder_keyword_index(struct yb_folder *f, const char *name, bool create, size_t *index_r);

/*
 * Sets a message's flags and keywords (the complete new set) by renaming
 * its file into cur/ with the new info part. Also used to move a message
 * from new/ to cur/ (same flags). Unknown letters in the old name are kept.
 */
int yb_folder_set_flags(struct yb_folder *f, uint32_t uid, uint32_t flags, uint32_t keywords);

/* Removes a message's file (EXPUNGE). It leaves the list at the next sync. */
int yb_folder_expunge(struct yb_folder *f, uint32_t uid);

/* Parses a Maildir info part ("2,FRS" without the separator) into flags and keyword bits. */
void yb_folder_parse_info(const char *info, uint32_t *flags_r, uint32_t *keywords_r);
/*
 * Writes "2," + letters for flags/keywords, keeping the other letters of
 * old_info (may be NULL) in ASCII order. Returns the length or YB_ELIMIT.
 */
int yb_folder_format_info(uint32_t flags, uint32_t keywords, const char *old_info, char *buf,
                          size_t size);

#endif
