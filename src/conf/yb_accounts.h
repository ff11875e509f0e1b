/*
 * yb_accounts.h - typed views of the account files (DESIGN.md section 2):
 * domains.tab, aliasdomain.tab, mailusers.tab, aliases.tab, smtprelay.tab,
 * and the resolver that turns a recipient address into mailboxes and
 * external addresses.
 *
 * Each view is built from one parsed tab file when the file is (re)loaded,
 * is immutable afterwards, and points into the strings of that yb_tab: the
 * tab must outlive the view (the configuration snapshot part holds both and
 * frees the view first). Every record error is reported with its line and
 * the column of the offending field, and nothing is built.
 *
 * Case rules. Domains are matched case-insensitively in ASCII; non-ASCII
 * bytes of IDN U-labels are compared as written (no Unicode case folding or
 * NFC: write U-labels in their canonical lower-case NFC form). Local parts
 * are also matched case-insensitively in ASCII, although RFC 5321 allows a
 * server to distinguish them: mail administrators expect Alice@ and alice@
 * to be one account, and distinguishing them invites spoofing. External
 * addresses are passed on with their local part exactly as written.
 *
 * Lookups never allocate: accounts, aliases, domains and alias domains are
 * found through hash tables over case-folded ASCII (O(1)); a wildcard alias
 * domain costs one probe per label of the query; wildcard aliases are tried
 * in order of specificity within their domain; smtprelay.tab is scanned
 * linearly (a handful of networks).
 */
#ifndef YB_ACCOUNTS_H
#define YB_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pal_socket.h"
#include "yb_slice.h"
#include "yb_tab.h"

/* RFC 5321 4.5.3.1: a local part holds at most 64 octets, a domain 255. */
#define YB_LIMIT_LOCAL_PART 64
#define YB_LIMIT_DOMAIN     255
#define YB_LIMIT_LABEL      63
/* Longest mailbox-dir field of mailusers.tab. */
#define YB_LIMIT_MAILBOX_DIR 255
/* Most alias expansions along one path from the queried address. */
#define YB_LIMIT_ALIAS_DEPTH 16
/* Most alias targets visited while resolving one address (the query itself not counted). */
#define YB_LIMIT_ALIAS_TARGETS 1000

/* Receives a warning about a record (line, column of the field) that was loaded anyway. */
typedef void (*yb_acct_warn_fn)(void *arg, unsigned line, unsigned column, const char *msg);

/* ---- syntax ---- */

/*
 * Checks a domain name: dot-separated labels of 1-63 octets, 255 octets in
 * all, each label letters, digits and hyphens (not first or last), or a
 * UTF-8 U-label (any non-ASCII character; hyphens as for LDH). No trailing
 * dot, no empty label. Returns 0, or YB_EPARSE / YB_ELIMIT / YB_EUTF8 with
 * why in msg (may be NULL).
 */
int yb_domain_check(struct yb_slice domain, char *msg, size_t msgsize);

/*
 * Checks a local part: an RFC 5321 dot-atom (atext and single inner dots)
 * where any UTF-8 non-ASCII character also counts as atext (RFC 6531), 1-64
 * octets. Quoted-string local parts are refused. Returns as yb_domain_check.
 */
int yb_local_part_check(struct yb_slice local, char *msg, size_t msgsize);

/* ---- domains.tab: "domain" ---- */

struct yb_domains;

/*
 * Builds the local domains from a parsed domains.tab (tab may be NULL: no
 * domains). A bad domain or a duplicate (case-insensitively) is an error
 * naming the first line. Returns 0 or the error (also in *err_r).
 */
int yb_domains_load(const struct yb_tab *tab, struct yb_domains **domains_r,
                    struct yb_tab_error *err_r, yb_acct_warn_fn warn, void *warn_arg);
void yb_domains_free(struct yb_domains **domains);

size_t yb_domains_count(const struct yb_domains *domains);

/* The domain as written in domains.tab when domain is local, else NULL. */
const char *yb_domains_find(const struct yb_domains *domains, struct yb_slice domain);

static inline bool yb_domains_has(const struct yb_domains *domains, struct yb_slice domain)
{
    return yb_domains_find(domains, domain) != NULL;
}

/* ---- aliasdomain.tab: "alias-domain" TAB "real-domain" ---- */

struct yb_aliasdomains;

/*
 * The alias is an exact domain or "*.suffix", which matches every domain
 * with one or more labels in front of suffix (a.suffix, a.b.suffix; not
 * suffix itself). Only syntax is checked: whether the real domain is in
 * domains.tab is answered by the resolver ("not local" when it is not).
 * Duplicate aliases and an alias equal to its real domain are errors.
 */
int yb_aliasdomains_load(const struct yb_tab *tab, struct yb_aliasdomains **ad_r,
                         struct yb_tab_error *err_r, yb_acct_warn_fn warn, void *warn_arg);
void yb_aliasdomains_free(struct yb_aliasdomains **ad);

size_t yb_aliasdomains_count(const struct yb_aliasdomains *ad);

/*
 * The real domain (NUL-terminated, as written) that domain is an alias of,
 * or NULL. An exact alias wins over wildcards; among wildcards the longest
 * suffix wins. O(labels of domain).
 */
const char *yb_aliasdomains_find(const struct yb_aliasdomains *ad, struct yb_slice domain);

/* ---- mailusers.tab: "domain" "user" "stored-password" id "mailbox-dir" "type" ---- */

enum yb_user_type {
    YB_USER_MAILBOX = 'U', /* an account with a mailbox */
    YB_USER_LIST = 'M'     /* an XMail mailing list */
};

/*
 * One account. Every slice's p is also NUL-terminated and points into the
 * tab. password is the stored form, opaque here: never log it. dir is
 * relative to ROOT/domains/<domain>/ (checked: not empty, not absolute, no
 * "." or ".." component, no ':').
 */
struct yb_user {
    struct yb_slice domain, name, password, dir;
    uint32_t id;
    enum yb_user_type type;
    unsigned line;
};

struct yb_users;

/*
 * Builds the accounts. Exactly six fields; the type is U or M (either
 * case); id is a decimal 0-4294967295, unique in the file; (domain, user)
 * is unique ASCII-case-insensitively. The domain need not be in
 * domains.tab (the files load independently).
 */
int yb_users_load(const struct yb_tab *tab, struct yb_users **users_r, struct yb_tab_error *err_r,
                  yb_acct_warn_fn warn, void *warn_arg);
void yb_users_free(struct yb_users **users);

size_t yb_users_count(const struct yb_users *users);

/*
 * The i-th account (i < count), for listings: file order, then journal
 * order. In a view with a journal (below) an index whose account the
 * journal changed or removed gives NULL: skip it; the changed account
 * appears at a later index.
 */
const struct yb_user *yb_users_at(const struct yb_users *users, size_t i);

/* The largest id in use (0 when none): a new account takes the next one. */
uint32_t yb_users_max_id(const struct yb_users *users);

/* The account name@domain, or NULL. Case-insensitive in ASCII. */
const struct yb_user *yb_users_find(const struct yb_users *users, struct yb_slice domain,
                                    struct yb_slice name);

/*
 * The Maildir of account u under the data root: ROOT/domains/<domain>/<dir>/Maildir,
 * into buf. Returns 0 or YB_ENAMETOOLONG when it does not fit size.
 */
int yb_user_maildir(const char *root, const struct yb_user *u, char *buf, size_t size);

/* An account's directory from its domain and mailbox path: ROOT/domains/<domain>/<dir>. */
int yb_account_dir(const char *root, struct yb_slice domain, struct yb_slice dir, char *buf,
                   size_t size);

/* The account with this id, or NULL. */
const struct yb_user *yb_users_find_id(const struct yb_users *users, uint32_t id);

/*
 * ---- mailusers.journal: account changes since mailusers.tab was written ----
 *
 * So that adding one account to a hundred thousand does not rewrite and
 * re-read mailusers.tab, changes are appended (and fsync'ed) to
 * ROOT/mailusers.journal, one tab record each:
 *
 *   "+" "domain" "user" "stored-password" id "mailbox-dir" "type"   add or replace
 *   "-" "domain" "user"                                             remove
 *
 * Readers apply the journal over mailusers.tab, reading only what was
 * appended since their last check; the writer folds it into mailusers.tab
 * now and then (compaction). Records are idempotent (the last one for an
 * account wins), so a crash between writing the compacted mailusers.tab and
 * emptying the journal changes nothing.
 *
 * The in-memory journal is append-only and shared by consecutive
 * snapshots: each view sees its first limit entries only. Entries are
 * appended by one thread at a time while views read concurrently.
 */
#define YB_USERS_JOURNAL "mailusers.journal"

struct yb_users_journal;

/* An empty journal with room for cap entries. YB_ENOMEM, YB_ELIMIT. */
int yb_users_journal_new(size_t cap, struct yb_users_journal **j_r);

/* Drops a reference (each view holds one); the last frees it. Sets *j to NULL. */
void yb_users_journal_unref(struct yb_users_journal **j);

/* Entries applied so far. */
size_t yb_users_journal_count(const struct yb_users_journal *j);

/*
 * Checks every record of tab, then appends them all (nothing when one is
 * bad: the error names its line plus line_offset). YB_ELIMIT when they do
 * not fit in the room left: build a bigger journal from the whole file.
 */
int yb_users_journal_apply(struct yb_users_journal *j, const struct yb_tab *tab,
                           unsigned line_offset, struct yb_tab_error *err_r);

/*
 * A view: base with the first limit entries of j (may be NULL) applied.
 * Lookups cost one journal probe plus one base probe. Free it with
 * yb_users_free before base; it holds a reference to j.
 */
int yb_users_view_new(const struct yb_users *base, struct yb_users_journal *j, size_t limit,
                      struct yb_users **view_r);

/* The first line of every journal yubin writes; the rest of the line is random. */
#define YB_USERS_JOURNAL_HEADER     "# yubin mailusers.journal "
#define YB_USERS_JOURNAL_HEADER_LEN (sizeof(YB_USERS_JOURNAL_HEADER) - 1 + 16 + 1)

/*
 * Appends records (whole tab lines made with yb_tab_format_record, "+" or
 * "-" first) to ROOT/mailusers.journal; with sync they are durable when it
 * returns, else only after a later yb_users_journal_sync (group commit). A
 * missing journal is first created with its header line and renamed into
 * place. The caller serialises writers (the CTRL lock).
 */
int yb_users_journal_append(const char *root, const void *records, size_t len, bool sync);

/*
 * Makes everything appended to the journal so far durable. A journal that
 * no longer exists was folded into mailusers.tab, which is durable: 0.
 */
int yb_users_journal_sync(const char *root);

/*
 * Folds the journal into mailusers.tab: the merged accounts replace
 * mailusers.tab atomically and durably, then the journal is removed. A
 * crash in between leaves a journal whose records are already in
 * mailusers.tab, which changes nothing. *n_r (may be NULL) gets the number
 * of accounts. The caller serialises writers. Errors in errbuf.
 */
int yb_users_compact(const char *root, size_t *n_r, char *errbuf, size_t errsize);

/* ---- aliases.tab: "domain" "alias" "target" ---- */

/*
 * One record. The alias may hold '*' wildcards, each matching any run of
 * characters (also none) of a local part; "*" alone is the domain's
 * catch-all. The target is a local part in the alias's own domain
 * (target_domain.len == 0) or a full address local@domain (local or
 * external). Records with the same domain and alias (case-insensitively)
 * form one alias with several targets, linked by next in file order.
 */
struct yb_alias {
    struct yb_slice domain, alias, target_local, target_domain;
    unsigned line;
    bool wildcard;
    unsigned literal; /* characters of the alias that are not '*' (specificity) */
    const struct yb_alias *next;
};

struct yb_aliases;

/*
 * Builds the aliases. The domain must be exact (use aliasdomain.tab for
 * wildcard domains); an identical record repeated is an error naming the
 * first line.
 */
int yb_aliases_load(const struct yb_tab *tab, struct yb_aliases **aliases_r,
                    struct yb_tab_error *err_r, yb_acct_warn_fn warn, void *warn_arg);
void yb_aliases_free(struct yb_aliases **aliases);

size_t yb_aliases_count(const struct yb_aliases *aliases);

/* The first record of the alias written exactly as local in domain (no wildcard matching), or NULL.
 */
const struct yb_alias *yb_aliases_find_exact(const struct yb_aliases *aliases,
                                             struct yb_slice domain, struct yb_slice local);

/*
 * The first record of the most specific wildcard alias of domain matching
 * local (most literal characters; on a tie the earlier line), or NULL.
 */
const struct yb_alias *yb_aliases_find_wildcard(const struct yb_aliases *aliases,
                                                struct yb_slice domain, struct yb_slice local);

/* True when pattern ('*' = any run, ASCII case-insensitive) matches s. */
bool yb_alias_pattern_match(struct yb_slice pattern, struct yb_slice s);

/* ---- resolving a recipient ---- */

/* The tables the resolver reads; yb_config_address_book() fills one from a snapshot. */
struct yb_address_book {
    const struct yb_domains *domains;
    const struct yb_aliasdomains *aliasdomains;
    const struct yb_users *users;
    const struct yb_aliases *aliases;
};

enum yb_resolve_status {
    YB_RESOLVE_OK = 0,      /* res->n >= 1 recipients */
    YB_RESOLVE_NO_USER,     /* local domain, nobody by that name (550 5.1.1) */
    YB_RESOLVE_LOOP,        /* an alias chain comes back to an address on it (5.4.6) */
    YB_RESOLVE_TOO_DEEP,    /* more than YB_LIMIT_ALIAS_DEPTH expansions on one path */
    YB_RESOLVE_TOO_MANY,    /* more than YB_LIMIT_ALIAS_TARGETS targets visited */
    YB_RESOLVE_BAD_ADDRESS, /* not local@domain, or over the length limits */
};

struct yb_rcpt {
    const struct yb_user *user; /* a local account, or NULL: an external address */
    struct yb_slice local, domain;
};

/*
 * The answer for one address, and the resolver's working space: large
 * (~40 KiB), so a session allocates one and reuses it. Slices point into
 * the address book's tabs or into the queried address; they are valid while
 * both are.
 */
struct yb_resolution {
    size_t n;
    struct yb_rcpt rcpt[YB_LIMIT_ALIAS_TARGETS];
    /* Local targets of aliases that name no one: skipped (an alias to a
     * deleted account does not bounce the others); count and the first one,
     * for the log. */
    size_t ndangling;
    struct yb_slice dangling_local, dangling_domain;
    /* For LOOP / TOO_DEEP: the address at which it was noticed. */
    struct yb_slice where_local, where_domain;
    /* private */
    size_t visited, depth;
    struct yb_slice chain_local[YB_LIMIT_ALIAS_DEPTH], chain_domain[YB_LIMIT_ALIAS_DEPTH];
};

/*
 * Resolves address (local@domain, split at the last '@'; the SMTP layer
 * has already removed quoting and source routes) into res.
 *
 * A domain is local when it is in domains.tab, or is an alias domain whose
 * real domain is in domains.tab (one step: alias domains do not chain). An
 * address in a non-local domain is one external recipient. In a local
 * domain D the local part L is looked up in this order:
 *   1. an exact alias L in D: each target is resolved in turn;
 *   2. the account L@D;
 *   3. the most specific wildcard alias of D matching L (the catch-all "*"
 *      last), so a catch-all never swallows a real account;
 *   4. otherwise NO_USER.
 * A target that names the very alias being expanded ("alice" -> "alice",
 * "alice@backup.example") means the account of that name (step 2 only),
 * as in Postfix; any other return to an address on the current chain is a
 * LOOP. Recipients are deduplicated. Targets in local domains that name no
 * one are skipped and counted in ndangling; if nothing remains the answer is
 * NO_USER. LOOP, TOO_DEEP and TOO_MANY fail the whole address.
 */
enum yb_resolve_status yb_resolve(const struct yb_address_book *book, struct yb_slice address,
                                  struct yb_resolution *res);

/* The same with the address already split. */
enum yb_resolve_status yb_resolve_parts(const struct yb_address_book *book, struct yb_slice local,
                                        struct yb_slice domain, struct yb_resolution *res);

/* "ok", "no such user", ... */
const char *yb_resolve_status_text(enum yb_resolve_status st);

/* ---- smtprelay.tab: "network/prefix" or XMail's "ip" TAB "netmask" ---- */

struct yb_relay;

/*
 * Builds the relay networks: "192.0.2.0/24", "2001:db8::/32", a bare
 * address (a /32 or /128), or two fields "192.0.2.0" "255.255.255.0" (a
 * contiguous dotted mask, or a prefix length). IPv4-mapped IPv6 networks
 * (::ffff:0:0/96 and longer) are stored as IPv4. Host bits set below the
 * prefix ("10.1.2.3/8") are masked off with a warning; a prefix out of
 * range, a non-contiguous mask, a zone ("%eth0") or garbage is an error.
 */
int yb_relay_load(const struct yb_tab *tab, struct yb_relay **relay_r, struct yb_tab_error *err_r,
                  yb_acct_warn_fn warn, void *warn_arg);
void yb_relay_free(struct yb_relay **relay);

size_t yb_relay_count(const struct yb_relay *relay);

/* True when peer is inside a listed network; IPv4-mapped IPv6 peers match IPv4 networks. */
bool yb_relay_allowed(const struct yb_relay *relay, const struct pal_addr *peer);

#endif
