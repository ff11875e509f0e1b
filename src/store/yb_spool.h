/*
 * yb_spool.h - the outbound queue on disk (ROOT/spool), shared by several
 * yubind processes on one file system.
 *
 *   spool/tmp/         files being written (never read by a queue runner)
 *   spool/msg/<id>     the message (CRLF line endings), immutable once committed
 *   spool/queue/<id>   the envelope: its presence there means "committed, ready"
 *
 * A message is committed by writing both files into tmp/, fsync'ing them,
 * renaming the message into msg/, then the envelope into queue/, and
 * fsync'ing the directories; a crash at any point leaves either nothing
 * visible in queue/ or a complete pair. Queue runners (the outbound issue)
 * claim an envelope by renaming it elsewhere, which is atomic even across
 * processes and hosts sharing the root.
 *
 * The envelope is a versioned tab file (tabs/FORMAT.md grammar):
 *   "version"  "1"
 *   "id"       "<id>"
 *   "arrival"  "<unix seconds>"
 *   "from"     "<reverse-path without brackets, empty for <>>"
 *   "ret"      "FULL"|"HDRS"|""        (DSN)
 *   "envid"    "<xtext-decoded ENVID>"  (DSN)
 *   "smtputf8" "0"|"1"
 *   "body"     "7BIT"|"8BITMIME"|"BINARYMIME"
 *   "client"   "<ip>"   "helo" "<name>"   "auth" "<user or empty>"
 *   "next"     "<unix seconds>"  (earliest next delivery attempt; 0 = now)
 *   "warned"   "0"|"1"            (a delay DSN was sent)
 *   "rcpt"     "<address>" "<state>" "<notify>" "<orcpt>" "<attempts>" "<last error>"
 *   "end"      "<number of rcpt records>"
 * with "version" first, one "rcpt" record per recipient and "end" last (so
 * an envelope cut at a line boundary is recognised as incomplete); state is "pending", "sent",
 * "failed" or "deferred". Unknown record names are ignored on read (newer
 * minor versions); a version greater than the one this build knows is
 * refused with YB_ENOTSUP and a clear message. After a successful parse no
 * string is NULL (missing optional records read as "", body as "7BIT").
 * Errors in errbuf read "line:column: why"; yb_spool_read_envelope prefixes
 * the path and checks that the id inside matches the file name.
 */
#ifndef YB_SPOOL_H
#define YB_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define YB_SPOOL_VERSION 1
/* Longest queue id (hex time + counter + random + host hash). */
#define YB_SPOOL_ID_MAX 64
/* Most recipients one envelope holds. */
#define YB_SPOOL_MAX_RCPTS 10000
/* Largest envelope file read. */
#define YB_LIMIT_ENVELOPE (4u * 1024 * 1024)

enum yb_rcpt_state { YB_RCPT_PENDING, YB_RCPT_SENT, YB_RCPT_FAILED, YB_RCPT_DEFERRED };

struct yb_env_rcpt {
    char *addr; /* local@domain */
    enum yb_rcpt_state state;
    char *notify; /* "" or e.g. "SUCCESS,FAILURE" */
    char *orcpt;  /* "" or "rfc822;addr" (decoded) */
    unsigned attempts;
    char *last_error;
};

struct yb_envelope {
    unsigned version;
    char id[YB_SPOOL_ID_MAX + 1];
    int64_t arrival;
    char *from;
    char *ret, *envid, *body, *client, *helo, *auth;
    bool smtputf8;
    int64_t next_attempt; /* unix seconds; 0 = as soon as possible */
    bool warned;          /* a delay warning went out */
    size_t nrcpt;
    struct yb_env_rcpt *rcpt;
};

/* Frees the strings and the recipient array (not the struct itself). */
void yb_envelope_clear(struct yb_envelope *env);

/* Serialises / parses an envelope (tab format). Parse errors say line:column in errbuf. */
int yb_envelope_format(const struct yb_envelope *env, char **text_r, size_t *len_r);
int yb_envelope_parse(const void *text, size_t len, struct yb_envelope *env_r, char *errbuf,
                      size_t errsize);

struct yb_spool_msg;

/*
 * Starts a message in ROOT/spool/tmp (creating the spool directories). The
 * id is generated unique across processes and hosts and returned in id_r.
 */
int yb_spool_begin(const char *root, char id_r[YB_SPOOL_ID_MAX + 1], struct yb_spool_msg **m_r);
int yb_spool_write(struct yb_spool_msg *m, const void *data, size_t len);
/*
 * Commits: env->id is set to the message's id (the caller sets arrival);
 * returns 0 only when message and envelope are on stable storage and the
 * envelope is in queue/. A failed commit is final: what it created is
 * removed, and only yb_spool_free remains to be called.
 */
int yb_spool_commit(struct yb_spool_msg *m, struct yb_envelope *env);
/*
 * Told of every commit in this process (the queue runners wake up for it).
 * committed runs on the committing thread after the envelope is durable;
 * it must not block. The hook must outlive its registration; NULL removes it.
 */
struct yb_spool_hook {
    void (*committed)(void *arg, const char *id);
    void (*flush)(void *arg, const char *domain); /* ETRN: deliver what waits for domain */
    void *arg;
};
void yb_spool_set_hook(const struct yb_spool_hook *hook);

/* Passes an ETRN to the hook; YB_ENOTSUP when no queue runs in this process. */
int yb_spool_request_flush(const char *domain);

/* Frees; an uncommitted message leaves nothing behind. */
void yb_spool_free(struct yb_spool_msg **m);

/* Reads ROOT/spool/queue/<id> (for the queue runner and the tests). */
int yb_spool_read_envelope(const char *root, const char *id, struct yb_envelope *env_r,
                           char *errbuf, size_t errsize);

/*
 * The same for ROOT/spool/<dir>/<id>, dir being one of the queue's
 * directories ("queue", "active", "frozen").
 */
int yb_spool_read_envelope_in(const char *root, const char *dir, const char *id,
                              struct yb_envelope *env_r, char *errbuf, size_t errsize);

#endif
