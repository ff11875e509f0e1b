/*
 * yb_config.c - configuration snapshots and reload.
 */
#include "yb_config.h"
#include "pal.h"
#include "yb_log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const file_names[YB_CF__COUNT] = {
    "server.tab",  "domains.tab",   "aliasdomain.tab",  "mailusers.tab",
    "aliases.tab", "smtprelay.tab", "ctrlaccounts.tab",
};

/* How often a file that keeps changing while we read it is re-read. */
#define CONF_READ_RETRIES 5

/* What identifies one state of a file on disk. */
struct file_sig {
    bool exists;
    uint64_t size, file_id, dev_id;
    int64_t mtime_ns;
};

struct conf_part {
    atomic_long refs;
    struct file_sig sig;
    struct yb_tab *tab;
    struct yb_vars *vars; /* server.tab only */
    /* The typed view of an account file (one of these, by file): */
    struct yb_domains *domains;
    struct yb_aliasdomains *aliasdomains;
    struct yb_users *users;
    struct yb_aliases *aliases;
    struct yb_relay *relay;
};

struct yb_config {
    atomic_long refs;
    uint64_t generation;
    struct conf_part *part[YB_CF__COUNT];
    /* users: mailusers.tab with the journal's first journal_limit entries
     * over it; the view holds the reference to journal */
    const struct yb_users_journal *journal;
    size_t journal_limit;
    struct yb_users *users;
};

/* What the store has read of mailusers.journal (only the check thread touches it). */
struct journal_state {
    struct yb_users_journal *j; /* NULL: no journal file */
    struct file_sig sig;        /* the file state read */
    uint64_t offset;            /* bytes applied: whole lines only */
    unsigned lines;             /* lines applied */
    /* The header line of the file read (empty if it has none): a journal
     * removed and created again may get the same file id, never the same header. */
    char header[YB_USERS_JOURNAL_HEADER_LEN + 1];
    bool has_failed;
    struct file_sig failed;
};

struct yb_confstore {
    pal_mutex lock;
    pal_mutex check_lock; /* one check at a time: the reload timer, SIGHUP, CTRL writes */
    char root[PAL_PATH_MAX];
    struct yb_config *current;
    struct file_sig failed[YB_CF__COUNT]; /* last state that failed to parse */
    bool has_failed[YB_CF__COUNT];
    uint64_t generation;
    struct journal_state js;
};

static const struct yb_tab empty_tab = { 0, NULL, NULL, 0 };

const char *yb_conf_file_name(enum yb_conf_file_id id)
{
    return (unsigned)id < YB_CF__COUNT ? file_names[id] : "?";
}

const struct yb_vars *yb_config_vars(const struct yb_config *cfg)
{
    return cfg->part[YB_CF_SERVER]->vars;
}

const struct yb_tab *yb_config_tab(const struct yb_config *cfg, enum yb_conf_file_id id)
{
    const struct yb_tab *t = cfg->part[id]->tab;
    return t != NULL ? t : &empty_tab;
}

const struct yb_domains *yb_config_domains(const struct yb_config *cfg)
{
    return cfg->part[YB_CF_DOMAINS]->domains;
}

const struct yb_aliasdomains *yb_config_aliasdomains(const struct yb_config *cfg)
{
    return cfg->part[YB_CF_ALIASDOMAIN]->aliasdomains;
}

const struct yb_users *yb_config_users(const struct yb_config *cfg)
{
    return cfg->users;
}

const struct yb_aliases *yb_config_aliases(const struct yb_config *cfg)
{
    return cfg->part[YB_CF_ALIASES]->aliases;
}

const struct yb_relay *yb_config_relay(const struct yb_config *cfg)
{
    return cfg->part[YB_CF_SMTPRELAY]->relay;
}

void yb_config_address_book(const struct yb_config *cfg, struct yb_address_book *book_r)
{
    book_r->domains = yb_config_domains(cfg);
    book_r->aliasdomains = yb_config_aliasdomains(cfg);
    book_r->users = yb_config_users(cfg);
    book_r->aliases = yb_config_aliases(cfg);
}

size_t yb_config_record_count(const struct yb_config *cfg)
{
    size_t n = 0;
    for (unsigned i = 0; i < YB_CF__COUNT; i++)
        n += yb_config_tab(cfg, (enum yb_conf_file_id)i)->nrec;
    return n + cfg->journal_limit;
}

size_t yb_config_journal_length(const struct yb_config *cfg)
{
    return cfg->journal_limit;
}

bool yb_config_has_file(const struct yb_config *cfg, enum yb_conf_file_id id)
{
    return cfg->part[id]->sig.exists;
}

uint64_t yb_config_generation(const struct yb_config *cfg)
{
    return cfg->generation;
}

static void part_unref(struct conf_part **p)
{
    if (*p == NULL)
        return;
    if (atomic_fetch_sub(&(*p)->refs, 1) == 1) {
        /* The typed views point into the tab: free them first. */
        yb_vars_free(&(*p)->vars);
        yb_domains_free(&(*p)->domains);
        yb_aliasdomains_free(&(*p)->aliasdomains);
        yb_users_free(&(*p)->users);
        yb_aliases_free(&(*p)->aliases);
        yb_relay_free(&(*p)->relay);
        yb_tab_free(&(*p)->tab);
        free(*p);
    }
    *p = NULL;
}

struct yb_config *yb_config_ref(struct yb_config *cfg)
{
    atomic_fetch_add(&cfg->refs, 1);
    return cfg;
}

void yb_config_unref(struct yb_config **cfg)
{
    if (*cfg == NULL)
        return;
    if (atomic_fetch_sub(&(*cfg)->refs, 1) == 1) {
        yb_users_free(&(*cfg)->users); /* the view (it holds the journal): before the base */
        for (unsigned i = 0; i < YB_CF__COUNT; i++)
            part_unref(&(*cfg)->part[i]);
        free(*cfg);
    }
    *cfg = NULL;
}

static int file_path(const struct yb_confstore *s, enum yb_conf_file_id id, char *buf, size_t size)
{
    return pal_path_join(buf, size, s->root, file_names[id]);
}

static int read_sig(const char *path, struct file_sig *sig)
{
    struct pal_stat st;
    memset(sig, 0, sizeof(*sig));
    int rc = pal_fs_stat(path, &st);
    if (rc == YB_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    sig->exists = true;
    sig->size = st.size;
    sig->file_id = st.file_id;
    sig->dev_id = st.dev_id;
    sig->mtime_ns = st.mtime_ns;
    return 0;
}

static bool sig_eq(const struct file_sig *a, const struct file_sig *b)
{
    return a->exists == b->exists && a->size == b->size && a->file_id == b->file_id &&
           a->dev_id == b->dev_id && a->mtime_ns == b->mtime_ns;
}

struct warn_ctx {
    const char *path;
};

static void log_warning(void *arg, unsigned line, unsigned column, const char *msg)
{
    const struct warn_ctx *w = arg;
    yb_log_warn("config", "%s:%u:%u: %s", w->path, line, column, msg);
}

/*
 * Loads one file into a new part. *sig_r gets the state that was read (also
 * on a parse error, so the store can remember which state failed).
 */
static int load_part(const struct yb_confstore *s, enum yb_conf_file_id id,
                     struct conf_part **part_r, struct file_sig *sig_r, char *errbuf,
                     size_t errsize)
{
    char path[PAL_PATH_MAX];
    struct yb_tab_error err;
    struct conf_part *part = NULL;
    int rc = file_path(s, id, path, sizeof(path));
    if (rc != 0) {
        snprintf(errbuf, errsize, "%s/%s: path too long", s->root, file_names[id]);
        return rc;
    }
    for (int attempt = 0;; attempt++) {
        struct file_sig before, after;
        struct yb_tab *tab = NULL;
        rc = read_sig(path, &before);
        if (rc == 0 && before.exists) {
            rc = yb_tab_load(path, &tab, &err);
            if (rc == YB_ENOENT) {
                /* Removed between stat and open: read the new state again. */
                rc = 0;
                continue;
            }
        }
        if (rc == 0)
            rc = read_sig(path, &after);
        *sig_r = before;
        if (rc == 0 && !sig_eq(&before, &after) && attempt < CONF_READ_RETRIES) {
            yb_tab_free(&tab); /* changed while we read it: read it again */
            continue;
        }
        if (rc != 0) {
            yb_tab_free(&tab);
            if (err.code == rc && rc != 0)
                yb_tab_error_format(&err, path, errbuf, errsize);
            else
                snprintf(errbuf, errsize, "%s: %s", path, yb_strerror(rc));
            return rc;
        }
        part = calloc(1, sizeof(*part));
        if (part == NULL) {
            yb_tab_free(&tab);
            snprintf(errbuf, errsize, "%s: out of memory", path);
            return YB_ENOMEM;
        }
        atomic_init(&part->refs, 1);
        part->sig = before;
        part->tab = tab;
        break;
    }
    struct warn_ctx w = { path };
    switch (id) {
    case YB_CF_SERVER: rc = yb_vars_load(part->tab, &part->vars, &err, log_warning, &w); break;
    case YB_CF_DOMAINS:
        rc = yb_domains_load(part->tab, &part->domains, &err, log_warning, &w);
        break;
    case YB_CF_ALIASDOMAIN:
        rc = yb_aliasdomains_load(part->tab, &part->aliasdomains, &err, log_warning, &w);
        break;
    case YB_CF_MAILUSERS: rc = yb_users_load(part->tab, &part->users, &err, log_warning, &w); break;
    case YB_CF_ALIASES:
        rc = yb_aliases_load(part->tab, &part->aliases, &err, log_warning, &w);
        break;
    case YB_CF_SMTPRELAY: rc = yb_relay_load(part->tab, &part->relay, &err, log_warning, &w); break;
    default: rc = 0; break; /* ctrlaccounts.tab: typed with CTRL */
    }
    if (rc != 0) {
        yb_tab_error_format(&err, path, errbuf, errsize);
        part_unref(&part);
        return rc;
    }
    *part_r = part;
    return 0;
}

/* Reads n bytes at off from an open file. */
static int pread_all(struct pal_file *f, char *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        size_t k = 0;
        int rc = pal_fs_pread(f, buf + got, n - got, off + got, &k);
        if (rc != 0)
            return rc;
        if (k == 0)
            return YB_EAGAIN; /* shorter than its stat said: read it again later */
        got += k;
    }
    return 0;
}

/*
 * Reads len bytes of path from off into a malloc'ed buffer (NUL-terminated),
 * and with hlen > 0 first its first hlen bytes into head (one open for both).
 */
static int read_range(const char *path, uint64_t off, size_t len, char **data_r, char *head,
                      size_t hlen)
{
    struct pal_file *f = NULL;
    char *data = malloc(len + 1);
    int rc = data == NULL ? YB_ENOMEM : pal_fs_open(path, PAL_O_RDONLY, 0, &f);
    if (rc == 0 && hlen > 0)
        rc = pread_all(f, head, hlen, 0);
    if (rc == 0)
        rc = pread_all(f, data, len, off);
    if (f != NULL)
        pal_fs_close(&f);
    if (rc != 0) {
        free(data);
        return rc;
    }
    data[len] = '\0';
    *data_r = data;
    return 0;
}

/*
 * Brings the store's journal up to date with ROOT/mailusers.journal: the
 * lines appended since the last check are applied to the shared journal;
 * a replaced, shortened or first-seen file is read whole into a new one.
 * A partial last line (being written) waits for the next check. Returns 0
 * or an error with the message in errbuf (the journal stays as it was).
 */
static int journal_update(struct yb_confstore *s, bool force, char *errbuf, size_t errsize)
{
    struct journal_state *js = &s->js;
    struct file_sig now;
    char path[PAL_PATH_MAX], *data = NULL;
    struct yb_tab *tab = NULL;
    struct yb_tab_error err;
    int rc = pal_path_join(path, sizeof(path), s->root, YB_USERS_JOURNAL);
    if (rc == 0)
        rc = read_sig(path, &now);
    if (rc != 0) {
        snprintf(errbuf, errsize, "%s/%s: %s", s->root, YB_USERS_JOURNAL, yb_strerror(rc));
        return rc;
    }
    if (!now.exists) {
        yb_users_journal_unref(&js->j);
        memset(js, 0, sizeof(*js));
        return 0;
    }
    if (!force && js->j != NULL && sig_eq(&now, &js->sig))
        return 0;
    if (!force && js->has_failed && sig_eq(&now, &js->failed))
        return 0; /* reported once already; the last good state stays */
    bool whole = force || js->j == NULL || now.file_id != js->sig.file_id ||
                 now.dev_id != js->sig.dev_id || now.size < js->offset;
    for (int attempt = 0; attempt < 2; attempt++) {
        uint64_t from = whole ? 0 : js->offset;
        if (now.size - from > YB_LIMIT_TAB_FILE) {
            snprintf(errbuf, errsize, "%s: larger than %u bytes", path, YB_LIMIT_TAB_FILE);
            rc = YB_ELIMIT;
            break;
        }
        size_t len = (size_t)(now.size - from), complete = len;
        /* Appending to the file read before: its header must still be the same. */
        char head[YB_USERS_JOURNAL_HEADER_LEN + 1];
        size_t hlen = whole ? 0 : strlen(js->header);
        if ((rc = read_range(path, from, len, &data, head, hlen)) != 0) {
            snprintf(errbuf, errsize, "%s: %s", path, yb_strerror(rc));
            break;
        }
        if (hlen > 0 && memcmp(head, js->header, hlen) != 0) {
            free(data);
            data = NULL;
            whole = true; /* removed and made again: read it from the start */
            continue;
        }
        while (complete > 0 && data[complete - 1] != '\n')
            complete--;
        char header[YB_USERS_JOURNAL_HEADER_LEN + 1] = "";
        if (whole && complete >= YB_USERS_JOURNAL_HEADER_LEN &&
            memcmp(data, YB_USERS_JOURNAL_HEADER, strlen(YB_USERS_JOURNAL_HEADER)) == 0) {
            memcpy(header, data, YB_USERS_JOURNAL_HEADER_LEN);
            header[YB_USERS_JOURNAL_HEADER_LEN] = '\0';
        }
        unsigned lines = 0;
        for (size_t i = 0; i < complete; i++)
            lines += data[i] == '\n';
        unsigned first_line = whole ? 0 : js->lines;
        if ((rc = yb_tab_parse(data, complete, &tab, &err)) != 0) {
            err.line += err.line > 0 ? first_line : 0;
            yb_tab_error_format(&err, path, errbuf, errsize);
            break;
        }
        struct yb_users_journal *j = whole ? NULL : js->j;
        if (whole) {
            size_t cap = tab->nrec * 2 > 4096 ? tab->nrec * 2 : 4096;
            if ((rc = yb_users_journal_new(cap, &j)) != 0) {
                snprintf(errbuf, errsize, "%s: %s", path, yb_strerror(rc));
                break;
            }
        }
        rc = yb_users_journal_apply(j, tab, first_line, &err);
        yb_tab_free(&tab);
        free(data);
        data = NULL;
        if (rc == YB_ELIMIT && !whole) {
            whole = true; /* full: read it all into a bigger one */
            continue;
        }
        if (rc != 0) {
            if (whole)
                yb_users_journal_unref(&j);
            yb_tab_error_format(&err, path, errbuf, errsize);
            break;
        }
        if (whole) {
            yb_users_journal_unref(&js->j);
            js->j = j;
            js->lines = 0;
            memcpy(js->header, header, sizeof(header));
        }
        js->offset = from + complete;
        js->lines += lines;
        js->sig = now;
        js->has_failed = false;
        return 0;
    }
    yb_tab_free(&tab);
    free(data);
    js->has_failed = true;
    js->failed = now;
    return rc;
}

/*
 * Builds a snapshot reusing parts of old (may be NULL) whose files are
 * unchanged. Every changed file is read even after one fails, so the caller
 * learns whether anything else changed: a failure already reported for the
 * same file state is reported again (rc) only in that case, else YB_EAGAIN.
 */
static int build_snapshot(struct yb_confstore *s, const struct yb_config *old, bool force,
                          struct yb_config **cfg_r, bool *changed_r, char *errbuf, size_t errsize)
{
    struct yb_config *cfg = calloc(1, sizeof(*cfg));
    int first_rc = 0;
    bool all_known = true, other_change = false;
    *changed_r = false;
    if (cfg == NULL)
        return YB_ENOMEM;
    atomic_init(&cfg->refs, 1);
    for (unsigned i = 0; i < YB_CF__COUNT; i++) {
        char path[PAL_PATH_MAX], tmp_err[YB_CONF_ERR_MAX];
        struct file_sig now, read_state;
        bool known_broken = false;
        int rc;
        if (old != NULL && !force) {
            if ((rc = file_path(s, (enum yb_conf_file_id)i, path, sizeof(path))) != 0 ||
                (rc = read_sig(path, &now)) != 0) {
                snprintf(errbuf, errsize, "%s/%s: %s", s->root, file_names[i], yb_strerror(rc));
                yb_config_unref(&cfg);
                return rc;
            }
            if (sig_eq(&now, &old->part[i]->sig)) {
                cfg->part[i] = old->part[i];
                atomic_fetch_add(&cfg->part[i]->refs, 1);
                continue;
            }
            known_broken = s->has_failed[i] && sig_eq(&now, &s->failed[i]);
        }
        if (old != NULL && i == YB_CF_SERVER && old->part[i]->sig.exists &&
            file_path(s, YB_CF_SERVER, path, sizeof(path)) == 0 && read_sig(path, &now) == 0) {
            if (!now.exists) {
                /* A vanished server.tab (a deleted or unmounted root) must not turn a
                 * running server into one with the defaults on public ports. */
                snprintf(first_rc == 0 ? errbuf : tmp_err, first_rc == 0 ? errsize : sizeof(tmp_err),
                         "%s: gone", path);
                s->failed[i] = now;
                s->has_failed[i] = true;
                if (first_rc == 0)
                    first_rc = YB_ENOENT;
                all_known = all_known && known_broken;
                continue;
            }
        }
        rc = load_part(s, (enum yb_conf_file_id)i, &cfg->part[i], &read_state,
                       first_rc == 0 ? errbuf : tmp_err, first_rc == 0 ? errsize : sizeof(tmp_err));
        if (rc != 0) {
            s->failed[i] = read_state;
            s->has_failed[i] = true;
            if (first_rc == 0)
                first_rc = rc;
            all_known = all_known && known_broken;
            continue;
        }
        s->has_failed[i] = false;
        other_change = true;
    }
    if (first_rc != 0) {
        yb_config_unref(&cfg);
        return all_known && !other_change ? YB_EAGAIN : first_rc;
    }
    int rc = journal_update(s, force, errbuf, errsize);
    if (rc != 0) {
        yb_config_unref(&cfg);
        return rc;
    }
    cfg->journal = s->js.j;
    cfg->journal_limit = s->js.j != NULL ? yb_users_journal_count(s->js.j) : 0;
    /* The old snapshot's view holds its journal, so equal pointers mean the same journal. */
    if (old == NULL || old->journal != cfg->journal || old->journal_limit != cfg->journal_limit)
        other_change = true;
    rc = yb_users_view_new(cfg->part[YB_CF_MAILUSERS]->users, s->js.j, cfg->journal_limit,
                           &cfg->users);
    if (rc != 0) {
        snprintf(errbuf, errsize, "%s: out of memory", YB_USERS_JOURNAL);
        yb_config_unref(&cfg);
        return rc;
    }
    *changed_r = other_change;
    *cfg_r = cfg;
    return 0;
}

int yb_confstore_open(const char *root, struct yb_confstore **store_r, char *errbuf, size_t errsize)
{
    struct pal_stat st;
    bool changed;
    *store_r = NULL;
    int rc = pal_fs_stat(root, &st);
    if (rc == 0 && st.type != PAL_FT_DIR)
        rc = YB_ENOTDIR;
    if (rc != 0) {
        snprintf(errbuf, errsize, "%s: data root unusable: %s", root, yb_strerror(rc));
        return rc;
    }
    struct yb_confstore *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return YB_ENOMEM;
    size_t n = strlen(root);
    if (n >= sizeof(s->root)) {
        free(s);
        snprintf(errbuf, errsize, "data root path too long");
        return YB_ENAMETOOLONG;
    }
    memcpy(s->root, root, n + 1);
    if ((rc = pal_mutex_init(&s->lock)) != 0) {
        free(s);
        return rc;
    }
    if ((rc = pal_mutex_init(&s->check_lock)) != 0) {
        pal_mutex_destroy(&s->lock);
        free(s);
        return rc;
    }
    rc = build_snapshot(s, NULL, true, &s->current, &changed, errbuf, errsize);
    if (rc != 0) {
        pal_mutex_destroy(&s->check_lock);
        pal_mutex_destroy(&s->lock);
        free(s);
        return rc;
    }
    s->current->generation = ++s->generation;
    *store_r = s;
    return 0;
}

struct yb_config *yb_confstore_get(struct yb_confstore *store)
{
    pal_mutex_lock(&store->lock);
    struct yb_config *cfg = yb_config_ref(store->current);
    pal_mutex_unlock(&store->lock);
    return cfg;
}

int yb_confstore_check(struct yb_confstore *store, bool force, bool *changed_r, char *errbuf,
                       size_t errsize)
{
    *changed_r = false;
    /* check_lock serialises checks (the timer, the reload event, and CTRL
     * sessions that make their own edits visible at once); lock only guards
     * the swap against concurrent readers. */
    pal_mutex_lock(&store->check_lock);
    struct yb_config *old = yb_confstore_get(store), *cfg = NULL;
    int rc = build_snapshot(store, old, force, &cfg, changed_r, errbuf, errsize);
    if (rc == YB_EAGAIN)
        rc = 0;
    if (rc == 0 && *changed_r) {
        pal_mutex_lock(&store->lock);
        cfg->generation = ++store->generation;
        struct yb_config *prev = store->current;
        store->current = cfg;
        cfg = NULL;
        pal_mutex_unlock(&store->lock);
        yb_config_unref(&prev);
    }
    pal_mutex_unlock(&store->check_lock);
    yb_config_unref(&cfg);
    yb_config_unref(&old);
    return rc;
}

const char *yb_confstore_root(const struct yb_confstore *store)
{
    return store->root;
}

void yb_confstore_close(struct yb_confstore **store)
{
    if (*store == NULL)
        return;
    yb_config_unref(&(*store)->current);
    yb_users_journal_unref(&(*store)->js.j);
    pal_mutex_destroy(&(*store)->check_lock);
    pal_mutex_destroy(&(*store)->lock);
    free(*store);
    *store = NULL;
}
