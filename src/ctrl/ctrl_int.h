/*
 * ctrl_int.h - what the CTRL server files share: the session, reply
 * helpers, the administrators and the file editor, one entry per command.
 */
#ifndef YB_CTRL_INT_H
#define YB_CTRL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ctrl_proto.h"
#include "ctrl_server.h"
#include "pal.h"
#include "yb_config.h"

/* Most domains one domain administrator may manage. */
#define CTRL_LIMIT_ADMIN_DOMAINS 64
/* Failed logins remembered (distinct client IPs). */
#define CTRL_LOGIN_TABLE 256
/* Output queued in a session before it is handed to the engine. */
#define CTRL_OUT_CHUNK (64 * 1024)
/* Most pipelined account changes made durable by one fsync (group commit). */
#define CTRL_BATCH_MAX 128

enum ctrl_state { CTRL_ST_LOGIN, CTRL_ST_READY, CTRL_ST_BODY, CTRL_ST_QUIT };

enum ctrl_role { CTRL_ROLE_ADMIN, CTRL_ROLE_DOMAIN };

/* One administrator of ctrlaccounts.tab: "name" "stored-password" "admin" | "domain" d1 d2 ... */
struct ctrl_admin {
    const char *name;
    const char *password; /* stored form; never logged or sent */
    enum ctrl_role role;
    size_t ndomains;
    const char *domain[CTRL_LIMIT_ADMIN_DOMAINS];
};

struct ctrl_session {
    enum ctrl_state state;
    struct yb_confstore *store;
    char tag[32];
    /* the logged-in administrator (copied: the snapshot may change) */
    char admin[YB_CTRL_LIMIT_NAME + 1];
    enum ctrl_role role;
    size_t ndomains;
    char *domains[CTRL_LIMIT_ADMIN_DOMAINS];
    /* cfgfileset in progress */
    char body_file[64];
    struct yb_buf body;
    /* replies not yet handed to the engine */
    struct yb_buf out;
    /* group commit: account changes appended to the journal but not yet
     * fsync'ed; their replies wait in out until ctrl_flush syncs */
    bool unsynced;
    unsigned batch;
};

/* ---- replies (ctrl_session.c) ---- */
void ctrl_ok(struct yb_session *s, struct ctrl_session *cs, const char *fmt, ...) YB_PRINTF(3, 4);
/* "-000NN text: detail" (the table's text, then the formatted detail); logged. */
void ctrl_err(struct yb_session *s, struct ctrl_session *cs, int num, const char *fmt, ...)
    YB_PRINTF(4, 5);
/* "-000NN text" without detail. */
void ctrl_error(struct yb_session *s, struct ctrl_session *cs, int num);
/* ctrl_err with detail when it is not empty, else ctrl_error. */
void ctrl_fail(struct yb_session *s, struct ctrl_session *cs, int num, const char *detail);
void ctrl_list_begin(struct yb_session *s, struct ctrl_session *cs);
/* "+00101": the client sends a dot-terminated body next. */
void ctrl_want_body(struct yb_session *s, struct ctrl_session *cs);
/* One record of quoted fields (dot-stuffed). */
void ctrl_list_record(struct yb_session *s, struct ctrl_session *cs, const struct yb_slice *f,
                      size_t n);
/* One raw line (file contents), dot-stuffed. */
void ctrl_list_line(struct yb_session *s, struct ctrl_session *cs, struct yb_slice line);
void ctrl_list_end(struct yb_session *s, struct ctrl_session *cs);
/* Sends a block of records already made with yb_ctrl_format (queue lists) as a list. */
void ctrl_list_block(struct yb_session *s, struct ctrl_session *cs, struct yb_slice block);
/*
 * Hands queued output to the engine, after making held-back account changes
 * durable (their "+00000" replies become storage errors if that fails).
 */
void ctrl_flush(struct yb_session *s, struct ctrl_session *cs);

/* True when the session may manage domain (admins: any). */
bool ctrl_may_domain(const struct ctrl_session *cs, struct yb_slice domain);
bool ctrl_is_admin(const struct ctrl_session *cs);

/* ---- administrators and logins (ctrl_admins.c) ---- */

/*
 * Reads record rec of ctrlaccounts.tab into *a (pointing into the tab).
 * Returns 0 or YB_EPARSE with why in msg.
 */
int ctrl_admin_parse(const struct yb_tab_rec *rec, struct ctrl_admin *a, char *msg, size_t size);

/* Checks every record of a parsed ctrlaccounts.tab (duplicates too). 0 or YB_EPARSE. */
int ctrl_admins_check(const struct yb_tab *tab, struct yb_tab_error *err_r);

/* The administrator called name, or YB_ENOTFOUND. */
int ctrl_admin_find(const struct yb_tab *tab, struct yb_slice name, struct ctrl_admin *a_r);

/*
 * The plaintext rule: a password login is allowed on TLS, or in plaintext
 * only from a loopback address.
 */
bool ctrl_login_allowed(bool tls, const struct pal_addr *peer);

/* Milliseconds to wait before answering the current failure from ip (0 = none yet). */
unsigned ctrl_login_delay_ms(const char *ip);
/* True when ip has failed too often recently and is refused without a check. */
bool ctrl_login_blocked(const char *ip, unsigned max_failures, unsigned block_s);
void ctrl_login_failed(const char *ip);
void ctrl_login_succeeded(const char *ip);

/* ---- editing tab files (ctrl_store.c) ---- */

/*
 * An edit: given the current records (read afresh under the lock), appends
 * the new file to out. Returns 0 or a CTRL error number (YB_CTRL_E_*); on
 * error the file stays as it is.
 */
typedef int (*ctrl_edit_fn)(void *arg, const struct yb_tab *cur, struct yb_buf *out);

/*
 * Replaces ROOT/<file id> with what edit makes, under the process-wide
 * write lock and the file lock ROOT/run/ctrl.lock (several yubind processes
 * may share one root): the new content must load as the file it replaces,
 * is written atomically and durably, and the configuration is reloaded
 * before returning, so new sessions see it at once. Returns 0 or a CTRL
 * error number; detail gets a message for the log and the client.
 */
int ctrl_edit_file(struct ctrl_session *cs, enum yb_conf_file_id id, ctrl_edit_fn edit, void *arg,
                   char *detail, size_t size);

/*
 * Takes the process-wide write lock and the file lock ROOT/run/ctrl.lock
 * (*lock_r is the process's open handle: pass it to ctrl_unlock only).
 * Returns 0 or YB_CTRL_E_STORAGE (detail says why; nothing is held then).
 */
int ctrl_lock(struct ctrl_session *cs, struct pal_file **lock_r, char *detail, size_t size);
void ctrl_unlock(struct pal_file **lock);

/* Folds mailusers.journal into mailusers.tab; the locks must be held. 0 or a CTRL error. */
int ctrl_compact_locked(struct ctrl_session *cs, char *detail, size_t size);

/*
 * The same for any tab file at path (a user's user.tab ...), checked as the
 * file called name, without a reload.
 */
int ctrl_edit_path(struct ctrl_session *cs, const char *path, const char *name, ctrl_edit_fn edit,
                   void *arg, char *detail, size_t size);

/*
 * Checks that data loads as the configuration file named file (server.tab,
 * mailusers.tab ... or any other *.tab: the grammar only). Returns 0 or
 * YB_CTRL_E_BAD_FILE with "line:column: why" in msg.
 */
int ctrl_validate(const char *file, const void *data, size_t len, char *msg, size_t size);

/*
 * The common edit (ctrl_edit_records as the ctrl_edit_fn): records whose
 * fields idx[0..nkey) equal key[0..nkey) (ASCII case-insensitively) match.
 * ADD fails with exists_err when one matches, else appends add[0..nadd).
 * DEL drops every match (counted in removed) and fails with missing_err
 * when there was none (0: no error).
 */
enum ctrl_edit_op { CTRL_EDIT_ADD, CTRL_EDIT_DEL };
struct ctrl_rec_edit {
    enum ctrl_edit_op op;
    size_t nkey;
    unsigned idx[3];
    struct yb_slice key[3];
    size_t nadd;
    struct yb_slice add[YB_CTRL_LIMIT_FIELDS];
    int exists_err, missing_err;
    size_t removed;
};
int ctrl_edit_records(void *arg, const struct yb_tab *cur, struct yb_buf *out);

/* Appends rec unchanged (quoted) to out. */
int ctrl_copy_record(struct yb_buf *out, const struct yb_tab_rec *rec);

/* Appends a record of n fields; returns 0 or a CTRL error number. */
int ctrl_put_record(struct yb_buf *out, const struct yb_slice *f, size_t n);

/* Forces a reload of changed files now. */
void ctrl_reload(struct ctrl_session *cs, bool force);

/*
 * Moves ROOT/domains/<domain>[/<dir>] to ROOT/deleted/<domain>[.<dir>].<unix time>
 * (nothing to move is not an error).
 */
int ctrl_move_aside(struct ctrl_session *cs, const char *domain, const char *dir);

/* A field of a record as a slice. */
static inline struct yb_slice ctrl_field(const struct yb_tab_rec *rec, unsigned i)
{
    return yb_slice_make(rec->field[i], rec->len[i]);
}

/* ---- commands ---- */
typedef void ctrl_cmd_fn(struct yb_session *s, struct ctrl_session *cs,
                         const struct yb_ctrl_args *a);

/* ctrl_cmd_users.c */
/* ROOT/domains/<domain>/<dir> into buf. */
int ctrl_account_dir(struct ctrl_session *cs, struct yb_slice domain, struct yb_slice dir,
                     char *buf, size_t size);
/*
 * Checks a domain argument: syntax, this administrator's permission, and
 * when local is set that it is in domains.tab (*as_written_r: as written
 * there). Returns 0, or the error number after answering it.
 */
int ctrl_check_domain(struct yb_session *s, struct ctrl_session *cs, const struct yb_config *cfg,
                      struct yb_slice domain, bool local, const char **as_written_r);
ctrl_cmd_fn ctrl_cmd_useradd, ctrl_cmd_userdel, ctrl_cmd_userpasswd, ctrl_cmd_userlist,
    ctrl_cmd_userstat, ctrl_cmd_uservars, ctrl_cmd_uservarsset;
/* ctrl_cmd_domains.c */
ctrl_cmd_fn ctrl_cmd_domainadd, ctrl_cmd_domaindel, ctrl_cmd_domainlist, ctrl_cmd_aliasadd,
    ctrl_cmd_aliasdel, ctrl_cmd_aliaslist, ctrl_cmd_aliasdomainadd, ctrl_cmd_aliasdomaindel,
    ctrl_cmd_aliasdomainlist;
/* ctrl_cmd_admin.c */
ctrl_cmd_fn ctrl_cmd_cfgfileget, ctrl_cmd_cfgfileset, ctrl_cmd_ctrladd, ctrl_cmd_ctrldel,
    ctrl_cmd_ctrllist, ctrl_cmd_stats, ctrl_cmd_version, ctrl_cmd_reload;
/* ctrl_cmd_queue.c */
ctrl_cmd_fn ctrl_cmd_queuelist, ctrl_cmd_queueflush, ctrl_cmd_etrn, ctrl_cmd_frozlist,
    ctrl_cmd_frozsubmit, ctrl_cmd_frozdel, ctrl_cmd_frozgetlog, ctrl_cmd_frozgetmsg;

/* The cfgfileset body has arrived (ctrl_cmd_admin.c). */
void ctrl_cfgfileset_done(struct yb_session *s, struct ctrl_session *cs);

/*
 * Checks a configuration file name for cfgfileget/cfgfileset: a plain
 * "*.tab" name directly under ROOT (no directory part, no "..", no drive
 * letter, no absolute path). Returns 0 or YB_CTRL_E_BAD_PATH.
 */
int ctrl_cfg_name_check(struct yb_slice name);

/* A stored password from what the administrator sent: a {SCRAM-SHA-256} form as is, else hashed. */
int ctrl_password(struct ctrl_session *cs, struct yb_slice given, char *out, size_t size);

#endif
