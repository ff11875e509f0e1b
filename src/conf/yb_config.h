/*
 * yb_config.h - the configuration snapshot and the store that reloads it.
 *
 * A snapshot (struct yb_config) is immutable and reference-counted: a
 * session takes a reference when it starts and drops it when done, so a
 * reload never frees what a session is using. Each tab file is a "part" with
 * its own reference count, shared by consecutive snapshots while the file is
 * unchanged, so an edit of server.tab does not re-read mailusers.tab.
 *
 * The store notices external edits by comparing each file's size, mtime and
 * file id (an atomic replace changes the id) on every check. A reload builds
 * a new snapshot and swaps it in only if every changed file parses; a file
 * that fails leaves the old snapshot in force, and its error is reported once
 * (not again until the file changes once more).
 *
 * Loading a file also builds its typed view (server.tab: yb_vars.h; the
 * account files: yb_accounts.h); a record the view refuses fails the file
 * just like a syntax error, with file:line:column.
 */
#ifndef YB_CONFIG_H
#define YB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "yb_accounts.h"
#include "yb_tab.h"
#include "yb_vars.h"

enum yb_conf_file_id {
    YB_CF_SERVER,       /* server.tab */
    YB_CF_DOMAINS,      /* domains.tab */
    YB_CF_ALIASDOMAIN,  /* aliasdomain.tab */
    YB_CF_MAILUSERS,    /* mailusers.tab */
    YB_CF_ALIASES,      /* aliases.tab */
    YB_CF_SMTPRELAY,    /* smtprelay.tab */
    YB_CF_CTRLACCOUNTS, /* ctrlaccounts.tab */
    YB_CF__COUNT
};

/* Longest message the store writes into an error buffer. */
#define YB_CONF_ERR_MAX (PAL_PATH_MAX + 256)

struct yb_config;
struct yb_confstore;

/* "server.tab" etc. */
const char *yb_conf_file_name(enum yb_conf_file_id id);

/* The server variables of a snapshot. Never NULL. */
const struct yb_vars *yb_config_vars(const struct yb_config *cfg);

/*
 * The typed views of the account files (empty when a file does not exist).
 * Never NULL; valid while the caller holds its reference to cfg.
 */
const struct yb_domains *yb_config_domains(const struct yb_config *cfg);
const struct yb_aliasdomains *yb_config_aliasdomains(const struct yb_config *cfg);
const struct yb_users *yb_config_users(const struct yb_config *cfg);
const struct yb_aliases *yb_config_aliases(const struct yb_config *cfg);
const struct yb_relay *yb_config_relay(const struct yb_config *cfg);

/* Fills book with the snapshot's tables, for yb_resolve(). */
void yb_config_address_book(const struct yb_config *cfg, struct yb_address_book *book_r);

/* The records of one file (an empty table if the file does not exist). Never NULL. */
const struct yb_tab *yb_config_tab(const struct yb_config *cfg, enum yb_conf_file_id id);

/* True when the file existed when the snapshot was built. */
bool yb_config_has_file(const struct yb_config *cfg, enum yb_conf_file_id id);

/* Entries of mailusers.journal applied over mailusers.tab in this snapshot. */
size_t yb_config_journal_length(const struct yb_config *cfg);

/* Records in all the snapshot's tab files together (for logs and --check-config). */
size_t yb_config_record_count(const struct yb_config *cfg);

/* Counts up from 1 with every snapshot the store builds. */
uint64_t yb_config_generation(const struct yb_config *cfg);

/* Takes another reference. */
struct yb_config *yb_config_ref(struct yb_config *cfg);

/* Drops a reference and sets *cfg to NULL; the last one frees the snapshot. */
void yb_config_unref(struct yb_config **cfg);

/*
 * Loads every tab file under root into the first snapshot. Missing files are
 * empty; a root that is not a directory, or any file that does not parse, is
 * an error: *store_r stays NULL and errbuf gets "file:line:column: why".
 * Warnings (unknown server.tab variables, host bits set in smtprelay.tab
 * networks...) go to the log.
 */
int yb_confstore_open(const char *root, struct yb_confstore **store_r, char *errbuf,
                      size_t errsize);

/* The current snapshot, as a new reference the caller must unref. Thread-safe. */
struct yb_config *yb_confstore_get(struct yb_confstore *store);

/*
 * Checks every file for changes and reloads what changed. *changed_r tells
 * whether a new snapshot is now current. Returns 0, or the error of a file
 * that changed and failed to parse (message in errbuf; the old snapshot
 * stays). A failure already reported for the same file state returns 0 with
 * *changed_r false. force re-reads every file even if none looks changed.
 */
int yb_confstore_check(struct yb_confstore *store, bool force, bool *changed_r, char *errbuf,
                       size_t errsize);

/* The data root the store was opened on. */
const char *yb_confstore_root(const struct yb_confstore *store);

/* Frees the store and its current snapshot reference; sets *store to NULL. */
void yb_confstore_close(struct yb_confstore **store);

#endif
