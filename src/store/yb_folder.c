/*
 * yb_folder.c - a Maildir folder in UID order (see yb_folder.h).
 *
 * Every scan that decides what exists, every rename and every unlink by
 * yubin happens under the folder lock (yb_folder_lock), so a scan never
 * misses a file because yubin was renaming it at that moment (readdir gives
 * no guarantee for entries changed while it runs). Deliveries only add files
 * to new/ and need no lock: a file added during a scan is simply seen by the
 * next one.
 */
#include "yb_folder.h"
#include "pal.h"
#include "yb_log.h"
#include "yb_maildir.h"
#include "yb_slice.h"
#include "yb_uidlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYWORDS_FILE "dovecot-keywords"
/* A directory changed this close to a scan may change again unseen within its mtime tick. */
#define RACY_NS (2LL * 1000000000LL)
/* Compact the UID list when it holds this many more entries than there are messages. */
#define COMPACT_SLACK 1000u

struct msg {
    struct yb_folder_msg pub;
    char *base; /* owns pub.base */
    char *file; /* owns pub.file */
};

struct yb_folder {
    char dir[PAL_PATH_MAX];
    struct yb_uidlist *uids;
    struct msg *m; /* UID order */
    size_t n;
    char *kw[YB_FOLDER_MAX_KEYWORDS];
    size_t nkw;
    int64_t new_mtime, cur_mtime, scanned_at; /* ns */
    bool scanned;
};

/* ---- info letters ---- */

static const struct {
    char letter;
    uint32_t flag;
} flag_letters[] = { { 'D', YB_FLAG_DRAFT },
                     { 'F', YB_FLAG_FLAGGED },
                     { 'R', YB_FLAG_ANSWERED },
                     { 'S', YB_FLAG_SEEN },
                     { 'T', YB_FLAG_DELETED } };

static uint32_t flag_of(char c)
{
    for (size_t i = 0; i < YB_ARRAY_LEN(flag_letters); i++)
        if (flag_letters[i].letter == c)
            return flag_letters[i].flag;
    return 0;
}

void yb_folder_parse_info(const char *info, uint32_t *flags_r, uint32_t *keywords_r)
{
    *flags_r = 0;
    *keywords_r = 0;
    if (info == NULL || info[0] != '2' || info[1] != ',')
        return;
    for (const char *p = info + 2; *p != '\0'; p++) {
        if (*p >= 'a' && *p <= 'z')
            *keywords_r |= 1u << (*p - 'a');
        else
            *flags_r |= flag_of(*p);
    }
}

int yb_folder_format_info(uint32_t flags, uint32_t keywords, const char *old_info, char *buf,
                          size_t size)
{
    bool want[128] = { false };
    if (old_info != NULL && old_info[0] == '2' && old_info[1] == ',')
        for (const char *p = old_info + 2; *p != '\0'; p++) {
            unsigned char c = (unsigned char)*p;
            /* Keep letters we do not manage (P, and anything else printable). */
            if (c > 0x20 && c < 0x7f && flag_of((char)c) == 0 && !(c >= 'a' && c <= 'z'))
                want[c] = true;
        }
    for (size_t i = 0; i < YB_ARRAY_LEN(flag_letters); i++)
        if (flags & flag_letters[i].flag)
            want[(unsigned char)flag_letters[i].letter] = true;
    for (unsigned i = 0; i < YB_FOLDER_MAX_KEYWORDS; i++)
        if (keywords & (1u << i))
            want['a' + i] = true;
    size_t len = 0;
    if (size < 3)
        return YB_ELIMIT;
    buf[len++] = '2';
    buf[len++] = ',';
    for (unsigned c = 0x21; c < 0x7f; c++) {
        if (!want[c])
            continue;
        if (len + 1 >= size)
            return YB_ELIMIT;
        buf[len++] = (char)c;
    }
    buf[len] = '\0';
    return (int)len;
}

/* ---- keywords (Dovecot's dovecot-keywords: "<index> <name>" per line) ---- */

static bool keyword_ok(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > YB_FOLDER_MAX_KEYWORD_LEN || name[0] == '\\')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        /* IMAP atom-char: no CTL, SP, ( ) { % * " \ ] and no 8-bit. */
        if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
            return false;
    }
    return true;
}

static void free_keywords(struct yb_folder *f)
{
    for (size_t i = 0; i < f->nkw; i++)
        free(f->kw[i]);
    f->nkw = 0;
}

static int read_keywords(struct yb_folder *f)
{
    char path[PAL_PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    free_keywords(f);
    int rc = pal_path_join(path, sizeof(path), f->dir, KEYWORDS_FILE);
    if (rc != 0)
        return rc;
    rc = pal_file_read_all(path, 64 * 1024, &data, &len);
    if (rc == YB_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    char *p = data, *end = data + len;
    while (p < end) {
        char *lf = memchr(p, '\n', (size_t)(end - p));
        char *le = lf != NULL ? lf : end;
        *le = '\0';
        char *sp = strchr(p, ' ');
        if (sp != NULL) {
            char *q = p;
            unsigned idx = 0;
            while (q < sp && *q >= '0' && *q <= '9' && idx < 100)
                idx = idx * 10 + (unsigned)(*q++ - '0');
            char *name = sp + 1;
            size_t nl = strlen(name);
            if (nl > 0 && name[nl - 1] == '\r')
                name[--nl] = '\0';
            if (q == sp && q > p && idx < YB_FOLDER_MAX_KEYWORDS && keyword_ok(name)) {
                while (f->nkw <= idx)
                    f->kw[f->nkw++] = NULL;
                free(f->kw[idx]);
                f->kw[idx] = malloc(nl + 1);
                if (f->kw[idx] != NULL)
                    memcpy(f->kw[idx], name, nl + 1);
            }
        }
        p = le + 1;
    }
    free(data);
    return 0;
}

static int write_keywords(const struct yb_folder *f)
{
    char path[PAL_PATH_MAX];
    char buf[YB_FOLDER_MAX_KEYWORDS * (YB_FOLDER_MAX_KEYWORD_LEN + 8)];
    size_t len = 0;
    for (size_t i = 0; i < f->nkw; i++)
        if (f->kw[i] != NULL)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %s\n", (unsigned)i,
                                    f->kw[i]);
    int rc = pal_path_join(path, sizeof(path), f->dir, KEYWORDS_FILE);
    return rc != 0 ? rc : pal_file_replace(path, buf, len);
}

size_t yb_folder_keyword_count(const struct yb_folder *f)
{
    return f->nkw;
}

const char *yb_folder_keyword(const struct yb_folder *f, size_t i)
{
    return i < f->nkw && f->kw[i] != NULL ? f->kw[i] : NULL;
}

static bool find_keyword(const struct yb_folder *f, const char *name, size_t *index_r)
{
    for (size_t i = 0; i < f->nkw; i++)
        if (f->kw[i] != NULL && yb_slice_eq_cstr_nocase(yb_slice_cstr(f->kw[i]), name)) {
            *index_r = i;
            return true;
        }
    return false;
}

int yb_folder_keyword_index(struct yb_folder *f, const char *name, bool create, size_t *index_r)
{
    if (!keyword_ok(name))
        return YB_EINVAL;
    if (find_keyword(f, name, index_r))
        return 0;
    if (!create)
        return YB_ENOENT;
    struct yb_folder_lock *lk = NULL;
    int rc = yb_folder_lock(f->dir, &lk);
    if (rc != 0)
        return rc;
    rc = read_keywords(f); /* another process may have added it, or others */
    if (rc == 0 && !find_keyword(f, name, index_r)) {
        size_t slot = f->nkw;
        for (size_t i = 0; i < f->nkw; i++)
            if (f->kw[i] == NULL) {
                slot = i;
                break;
            }
        if (slot >= YB_FOLDER_MAX_KEYWORDS) {
            rc = YB_ELIMIT;
        } else {
            size_t nl = strlen(name);
            char *copy = malloc(nl + 1);
            if (copy == NULL) {
                rc = YB_ENOMEM;
            } else {
                memcpy(copy, name, nl + 1);
                if (slot == f->nkw)
                    f->nkw++;
                f->kw[slot] = copy;
                rc = write_keywords(f);
                if (rc == 0)
                    *index_r = slot;
                else
                    (void)read_keywords(f); /* back to what is on disk */
            }
        }
    }
    yb_folder_unlock(&lk);
    return rc;
}

/* ---- scanning ---- */

struct seen {
    char *file;
    size_t base_len;
    bool in_new;
    uint64_t secs, usecs; /* delivery time from the name (yb_maildir_name_time) */
};

/* Delivery order (as POP3 lists a maildrop), then base name, then cur/ before new/. */
static int cmp_seen(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    if (x->secs != y->secs)
        return x->secs < y->secs ? -1 : 1;
    if (x->usecs != y->usecs)
        return x->usecs < y->usecs ? -1 : 1;
    size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
    int c = memcmp(x->file, y->file, n);
    if (c != 0)
        return c;
    if (x->base_len != y->base_len)
        return x->base_len < y->base_len ? -1 : 1;
    return (int)x->in_new - (int)y->in_new; /* cur/ before new/ for the same base */
}

static int list_dir(const char *dir, const char *sub, bool in_new, struct seen **v, size_t *n,
                    size_t *cap)
{
    char path[PAL_PATH_MAX];
    struct pal_dir *d = NULL;
    int rc = pal_path_join(path, sizeof(path), dir, sub);
    if (rc == 0)
        rc = pal_fs_dir_open(path, &d);
    if (rc != 0)
        return rc;
    struct pal_dirent ent;
    while ((rc = pal_fs_dir_next(d, &ent)) == 0 && ent.name != NULL) {
        size_t len = strlen(ent.name);
        if (ent.name[0] == '.' || len > YB_FOLDER_MAX_NAME)
            continue;
        size_t bl = yb_maildir_base_len(ent.name);
        if (bl == 0 || bl > YB_UIDLIST_MAX_NAME)
            continue;
        if (*n >= YB_FOLDER_MAX_MESSAGES) {
            rc = YB_ELIMIT;
            break;
        }
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            struct seen *nv = realloc(*v, nc * sizeof(*nv));
            if (nv == NULL) {
                rc = YB_ENOMEM;
                break;
            }
            *v = nv;
            *cap = nc;
        }
        char *copy = malloc(len + 1);
        if (copy == NULL) {
            rc = YB_ENOMEM;
            break;
        }
        memcpy(copy, ent.name, len + 1);
        struct seen *e = &(*v)[(*n)++];
        *e = (struct seen){ copy, bl, in_new, 0, 0 };
        yb_maildir_name_time(copy, &e->secs, &e->usecs);
    }
    pal_fs_dir_close(&d);
    return rc;
}

static void free_msgs(struct msg *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].base);
        free(m[i].file);
    }
    free(m);
}

static bool keep_present(void *ctx, const char *base)
{
    const struct yb_folder *f = ctx;
    uint32_t uid = yb_uidlist_lookup(f->uids, base);
    return uid != 0 && yb_folder_seq_of(f, uid) != 0;
}

static int stat_dirs(const struct yb_folder *f, int64_t *new_r, int64_t *cur_r)
{
    char path[PAL_PATH_MAX];
    struct pal_stat st;
    int rc = pal_path_join(path, sizeof(path), f->dir, "new");
    if (rc == 0)
        rc = pal_fs_stat(path, &st);
    if (rc != 0)
        return rc;
    *new_r = st.mtime_ns;
    rc = pal_path_join(path, sizeof(path), f->dir, "cur");
    if (rc == 0)
        rc = pal_fs_stat(path, &st);
    if (rc != 0)
        return rc;
    *cur_r = st.mtime_ns;
    return 0;
}

static int cmp_uid(const void *a, const void *b)
{
    const struct msg *x = a, *y = b;
    return x->pub.uid < y->pub.uid ? -1 : x->pub.uid > y->pub.uid;
}

/* Fills in size and mtime of a message not known before. */
static void describe(const struct yb_folder *f, struct msg *m)
{
    char path[PAL_PATH_MAX];
    struct pal_stat st;
    uint64_t size = 0;
    bool named = yb_maildir_name_field(m->file, strlen(m->base), 'S', &size);
    m->pub.size = 0;
    m->pub.mtime = 0;
    if (yb_folder_msg_path(f, &m->pub, path, sizeof(path)) == 0 && pal_fs_stat(path, &st) == 0) {
        m->pub.size = st.size;
        m->pub.mtime = st.mtime_ns / 1000000000;
    }
    if (named)
        m->pub.size = size;
}

/* The scan proper; called with the folder lock held. */
static int scan_locked(struct yb_folder *f, struct yb_folder_changes *ch)
{
    struct seen *v = NULL;
    size_t n = 0, cap = 0;
    int64_t started = pal_time_now_ns();
    int64_t new_m = 0, cur_m = 0;
    int rc = stat_dirs(f, &new_m, &cur_m);
    if (rc == 0)
        rc = yb_uidlist_refresh(f->uids);
    if (rc == 0)
        rc = list_dir(f->dir, "cur", false, &v, &n, &cap);
    if (rc == 0)
        rc = list_dir(f->dir, "new", true, &v, &n, &cap);
    if (rc != 0)
        goto out;
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_seen);
    /* One entry per base name (a copied Maildir may have one in both new/ and cur/). */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && v[w - 1].base_len == v[i].base_len &&
            memcmp(v[w - 1].file, v[i].file, v[i].base_len) == 0) {
            free(v[i].file);
            continue;
        }
        v[w++] = v[i];
    }
    n = w;

    /* UIDs for names the list does not know yet, in delivery order. */
    const char **unknown = malloc((n ? n : 1) * sizeof(*unknown));
    char **bases = calloc(n ? n : 1, sizeof(*bases));
    size_t nu = 0;
    if (unknown == NULL || bases == NULL) {
        free(unknown);
        free(bases);
        rc = YB_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        bases[i] = malloc(v[i].base_len + 1);
        if (bases[i] == NULL) {
            rc = YB_ENOMEM;
            break;
        }
        memcpy(bases[i], v[i].file, v[i].base_len);
        bases[i][v[i].base_len] = '\0';
        if (yb_uidlist_lookup(f->uids, bases[i]) == 0)
            unknown[nu++] = bases[i];
    }
    if (rc == 0 && nu > 0)
        rc = yb_uidlist_assign(f->uids, unknown, nu, NULL);
    free(unknown);

    struct msg *m = NULL;
    if (rc == 0) {
        m = calloc(n ? n : 1, sizeof(*m));
        if (m == NULL)
            rc = YB_ENOMEM;
    }
    size_t nm = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint32_t uid = yb_uidlist_lookup(f->uids, bases[i]);
        if (uid == 0)
            continue; /* a name the list refuses (too long, control characters) */
        struct msg *x = &m[nm++];
        x->base = bases[i];
        bases[i] = NULL;
        x->file = v[i].file;
        v[i].file = NULL;
        x->pub.base = x->base;
        x->pub.file = x->file;
        x->pub.uid = uid;
        x->pub.in_new = v[i].in_new;
        const char *info = x->file + v[i].base_len;
        yb_folder_parse_info(*info != '\0' ? info + 1 : NULL, &x->pub.flags, &x->pub.keywords);
    }
    for (size_t i = 0; i < n; i++)
        free(bases[i]);
    free(bases);
    if (rc != 0) {
        free_msgs(m, nm);
        goto out;
    }
    if (nm > 1)
        qsort(m, nm, sizeof(*m), cmp_uid);

    /* Compare with what we had: expunged, changed, new. Both lists are in UID order. */
    uint32_t old_max = f->n > 0 ? f->m[f->n - 1].pub.uid : 0;
    struct yb_folder_changes c = { 0 };
    if (ch != NULL) {
        c.expunged = malloc((f->n ? f->n : 1) * sizeof(uint32_t));
        c.changed = malloc((nm ? nm : 1) * sizeof(uint32_t));
        if (c.expunged == NULL || c.changed == NULL) {
            free(c.expunged);
            free(c.changed);
            free_msgs(m, nm);
            rc = YB_ENOMEM;
            goto out;
        }
    }
    size_t i = 0, j = 0;
    while (i < f->n || j < nm) {
        if (j == nm || (i < f->n && f->m[i].pub.uid < m[j].pub.uid)) {
            if (ch != NULL)
                c.expunged[c.nexpunged++] = f->m[i].pub.uid;
            i++;
        } else if (i == f->n || m[j].pub.uid < f->m[i].pub.uid) {
            describe(f, &m[j]);
            if (m[j].pub.uid > old_max || !f->scanned)
                c.nnew++;
            j++;
        } else {
            m[j].pub.size = f->m[i].pub.size;
            m[j].pub.mtime = f->m[i].pub.mtime;
            if (ch != NULL && (m[j].pub.flags != f->m[i].pub.flags ||
                               m[j].pub.keywords != f->m[i].pub.keywords))
                c.changed[c.nchanged++] = m[j].pub.uid;
            i++;
            j++;
        }
    }
    free_msgs(f->m, f->n);
    f->m = m;
    f->n = nm;
    if (ch != NULL)
        *ch = c;
    f->new_mtime = new_m;
    f->cur_mtime = cur_m;
    f->scanned_at = started;
    f->scanned = true;
    /* Drop expunged UIDs from the list once they pile up (never a UID in use). */
    if (yb_uidlist_count(f->uids) > nm + COMPACT_SLACK) {
        int crc = yb_uidlist_compact(f->uids, keep_present, f);
        if (crc != 0)
            yb_log_warn("store", "%s: compacting the UID list failed: %s", f->dir,
                        yb_strerror(crc));
    }
out:
    for (size_t k = 0; k < n; k++)
        free(v[k].file);
    free(v);
    return rc;
}

int yb_folder_sync(struct yb_folder *f, struct yb_folder_changes *ch)
{
    if (ch != NULL)
        memset(ch, 0, sizeof(*ch));
    int64_t new_m, cur_m;
    int rc = stat_dirs(f, &new_m, &cur_m);
    if (rc != 0)
        return rc;
    bool racy = f->new_mtime >= f->scanned_at - RACY_NS || f->cur_mtime >= f->scanned_at - RACY_NS;
    if (f->scanned && !racy && new_m == f->new_mtime && cur_m == f->cur_mtime)
        return 0;
    struct yb_folder_lock *lk = NULL;
    rc = yb_folder_lock(f->dir, &lk);
    if (rc != 0)
        return rc;
    rc = scan_locked(f, ch);
    yb_folder_unlock(&lk);
    return rc;
}

void yb_folder_changes_free(struct yb_folder_changes *ch)
{
    free(ch->expunged);
    free(ch->changed);
    memset(ch, 0, sizeof(*ch));
}

int yb_folder_open(const char *dir, struct yb_folder **f_r)
{
    *f_r = NULL;
    struct yb_folder *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return YB_ENOMEM;
    size_t dl = strlen(dir);
    int rc = dl < sizeof(f->dir) ? 0 : YB_ELIMIT;
    if (rc == 0) {
        memcpy(f->dir, dir, dl + 1);
        rc = yb_maildir_create(dir);
    }
    struct yb_folder_lock *lk = NULL;
    if (rc == 0)
        rc = yb_folder_lock(dir, &lk);
    if (rc == 0) {
        char why[256];
        rc = yb_uidlist_open(dir, &f->uids, why, sizeof(why));
        if (rc == 0 && why[0] != '\0')
            yb_log_warn("store", "%s", why);
    }
    if (rc == 0)
        rc = read_keywords(f);
    if (rc == 0)
        rc = scan_locked(f, NULL);
    yb_folder_unlock(&lk);
    if (rc != 0) {
        yb_folder_close(&f);
        return rc;
    }
    *f_r = f;
    return 0;
}

void yb_folder_close(struct yb_folder **fp)
{
    struct yb_folder *f = *fp;
    if (f == NULL)
        return;
    *fp = NULL;
    free_msgs(f->m, f->n);
    yb_uidlist_free(&f->uids);
    free_keywords(f);
    free(f);
}

uint32_t yb_folder_uidvalidity(const struct yb_folder *f)
{
    return yb_uidlist_validity(f->uids);
}

uint32_t yb_folder_uidnext(const struct yb_folder *f)
{
    return yb_uidlist_next(f->uids);
}

size_t yb_folder_count(const struct yb_folder *f)
{
    return f->n;
}

const struct yb_folder_msg *yb_folder_msg(const struct yb_folder *f, size_t seq)
{
    return seq >= 1 && seq <= f->n ? &f->m[seq - 1].pub : NULL;
}

size_t yb_folder_seq_of(const struct yb_folder *f, uint32_t uid)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->m[mid].pub.uid < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->n && f->m[lo].pub.uid == uid ? lo + 1 : 0;
}

int yb_folder_msg_path(const struct yb_folder *f, const struct yb_folder_msg *m, char *buf,
                       size_t size)
{
    char sub[PAL_PATH_MAX];
    int rc = pal_path_join(sub, sizeof(sub), f->dir, m->in_new ? "new" : "cur");
    return rc != 0 ? rc : pal_path_join(buf, size, sub, m->file);
}

int yb_folder_set_flags(struct yb_folder *f, uint32_t uid, uint32_t flags, uint32_t keywords)
{
    size_t seq = yb_folder_seq_of(f, uid);
    if (seq == 0)
        return YB_ENOENT;
    struct msg *m = &f->m[seq - 1];
    size_t bl = strlen(m->base);
    const char *old_info = m->file[bl] != '\0' ? m->file + bl + 1 : NULL;
    char info[64], name[YB_FOLDER_MAX_NAME + 1], from[PAL_PATH_MAX], to[PAL_PATH_MAX],
        cur[PAL_PATH_MAX];
    int len = yb_folder_format_info(flags, keywords, old_info, info, sizeof(info));
    if (len < 0)
        return len;
    if (bl + 1 + (size_t)len > YB_FOLDER_MAX_NAME)
        return YB_ELIMIT;
    snprintf(name, sizeof(name), "%s%c%s", m->base, pal_maildir_info_sep(), info);
    if (!m->pub.in_new && strcmp(name, m->file) == 0)
        return 0;
    int rc = yb_folder_msg_path(f, &m->pub, from, sizeof(from));
    if (rc == 0)
        rc = pal_path_join(cur, sizeof(cur), f->dir, "cur");
    if (rc == 0)
        rc = pal_path_join(to, sizeof(to), cur, name);
    if (rc != 0)
        return rc;
    struct yb_folder_lock *lk = NULL;
    rc = yb_folder_lock(f->dir, &lk);
    if (rc != 0)
        return rc;
    rc = pal_fs_rename(from, to);
    yb_folder_unlock(&lk);
    if (rc != 0)
        return rc; /* YB_ENOENT: changed or expunged elsewhere; the next sync says how */
    size_t nl = strlen(name);
    char *copy = malloc(nl + 1);
    if (copy == NULL)
        return YB_ENOMEM; /* renamed; the next sync corrects the name */
    memcpy(copy, name, nl + 1);
    free(m->file);
    m->file = copy;
    m->pub.file = copy;
    m->pub.in_new = false;
    m->pub.flags = flags;
    m->pub.keywords = keywords;
    return 0;
}

int yb_folder_expunge(struct yb_folder *f, uint32_t uid)
{
    size_t seq = yb_folder_seq_of(f, uid);
    if (seq == 0)
        return YB_ENOENT;
    char path[PAL_PATH_MAX];
    int rc = yb_folder_msg_path(f, &f->m[seq - 1].pub, path, sizeof(path));
    if (rc != 0)
        return rc;
    struct yb_folder_lock *lk = NULL;
    rc = yb_folder_lock(f->dir, &lk);
    if (rc != 0)
        return rc;
    rc = pal_fs_unlink(path);
    yb_folder_unlock(&lk);
    return rc;
}
