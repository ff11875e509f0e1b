/*
 * yb_uidlist.c - per-folder UID list (see yb_uidlist.h for the format and
 * the guarantees).
 */
#include "yb_uidlist.h"
#include "pal.h"
#include "yb_hash.h"
#include "yb_log.h"
#include "yb_maildir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAGIC "yubin-uidlist 1 "

struct uid_entry {
    uint32_t uid;
    char *name;
};

struct yb_uidlist {
    char path[PAL_PATH_MAX]; /* dir/yubin-uidlist */
    uint32_t validity, next;
    struct uid_entry *e;
    size_t n, cap;
    size_t *hash; /* index + 1 into e, 0 = empty; hcap slots (power of two) */
    size_t hcap;
    uint64_t file_id, good_len; /* the file we read, and how much of it is whole lines */
    bool needs_rewrite;         /* a bad line or a foreign import: rewrite, don't append */
};

struct yb_folder_lock {
    struct pal_file *f;
};

/* ---- names ---- */

static bool name_ok(const char *s, size_t len)
{
    if (len == 0 || len > YB_UIDLIST_MAX_NAME)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
            return false;
    }
    return true;
}

/* ---- the in-memory table ---- */

static size_t *hash_slot(const struct yb_uidlist *ul, const char *name, size_t len)
{
    size_t mask = ul->hcap - 1;
    for (size_t i = yb_hash_bytes(YB_HASH_INIT, name, len) & mask;; i = (i + 1) & mask) {
        size_t *slot = &ul->hash[i];
        if (*slot == 0)
            return slot;
        const char *have = ul->e[*slot - 1].name;
        if (strncmp(have, name, len) == 0 && have[len] == '\0')
            return slot;
    }
}

static int rehash(struct yb_uidlist *ul, size_t want)
{
    size_t cap = 64;
    while (cap < want * 2)
        cap *= 2;
    size_t *h = calloc(cap, sizeof(*h));
    if (h == NULL)
        return YB_ENOMEM;
    free(ul->hash);
    ul->hash = h;
    ul->hcap = cap;
    for (size_t i = 0; i < ul->n; i++)
        *hash_slot(ul, ul->e[i].name, strlen(ul->e[i].name)) = i + 1;
    return 0;
}

static void clear_entries(struct yb_uidlist *ul)
{
    for (size_t i = 0; i < ul->n; i++)
        free(ul->e[i].name);
    ul->n = 0;
    if (ul->hash != NULL)
        memset(ul->hash, 0, ul->hcap * sizeof(*ul->hash));
}

/* Adds uid -> name. UIDs must arrive in increasing order; a name seen twice keeps its first UID. */
static int add_entry(struct yb_uidlist *ul, uint32_t uid, const char *name, size_t len)
{
    if ((ul->n + 1) * 2 > ul->hcap) {
        int rc = rehash(ul, ul->n + 1);
        if (rc != 0)
            return rc;
    }
    size_t *slot = hash_slot(ul, name, len);
    if (*slot != 0)
        return 0;
    if (ul->n == ul->cap) {
        size_t cap = ul->cap ? ul->cap * 2 : 256;
        struct uid_entry *e = realloc(ul->e, cap * sizeof(*e));
        if (e == NULL)
            return YB_ENOMEM;
        ul->e = e;
        ul->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return YB_ENOMEM;
    memcpy(copy, name, len);
    copy[len] = '\0';
    ul->e[ul->n] = (struct uid_entry){ uid, copy };
    *slot = ++ul->n;
    if (uid >= ul->next)
        ul->next = uid + 1;
    return 0;
}

/* ---- parsing ---- */

static bool parse_u32(const char **pp, const char *end, uint32_t *v_r)
{
    const char *p = *pp;
    uint64_t v = 0;
    if (p >= end || *p < '0' || *p > '9')
        return false;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return false;
        p++;
    }
    *pp = p;
    *v_r = (uint32_t)v;
    return true;
}

enum list_format { FMT_YUBIN, FMT_V1, FMT_DOVECOT3 };

/* Parses one record line (without LF) of the given format into uid + base name. */
static bool parse_record(const char *p, const char *end, enum list_format fmt, uint32_t *uid_r,
                         const char **name_r, size_t *len_r)
{
    if (!parse_u32(&p, end, uid_r) || *uid_r == 0 || p >= end || *p != ' ')
        return false;
    p++;
    if (fmt == FMT_DOVECOT3) {
        /* Extension fields ("W1234 S1200 ...") until " :" starts the file name. */
        while (p < end && *p != ':') {
            const char *sp = memchr(p, ' ', (size_t)(end - p));
            if (sp == NULL)
                return false;
            p = sp + 1;
        }
    }
    if (fmt != FMT_V1) {
        if (p >= end || *p != ':')
            return false;
        p++;
    }
    /* Imported lists may carry the flags part; identity is the base name. */
    char tmp[YB_UIDLIST_MAX_NAME + 1];
    size_t len = (size_t)(end - p);
    if (len > YB_UIDLIST_MAX_NAME || memchr(p, '\0', len) != NULL)
        return false;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    len = yb_maildir_base_len(tmp);
    if (!name_ok(p, len))
        return false;
    *name_r = p;
    *len_r = len;
    return true;
}

/*
 * Parses records from data[0..len) (starting after the header) into ul.
 * *good_r gets the length of the whole lines (a torn last line is left
 * out). A whole line that does not parse, or whose UID does not ascend, is
 * skipped and counted in *bad_r: its message gets a new UID later, and the
 * next UID is moved past the one the bad line may have held (UIDs are
 * handed out consecutively, so one per bad line is enough).
 */
static int parse_records(struct yb_uidlist *ul, const char *data, size_t len, size_t start,
                         enum list_format fmt, size_t *good_r, unsigned *bad_r)
{
    size_t off = start;
    *bad_r = 0;
    uint32_t last = 0;
    if (ul->n > 0)
        last = ul->e[ul->n - 1].uid;
    while (off < len) {
        const char *lf = memchr(data + off, '\n', len - off);
        if (lf == NULL)
            break; /* a torn last line: ignored, overwritten by the next append */
        const char *end = lf;
        if (end > data + off && end[-1] == '\r')
            end--;
        uint32_t uid;
        const char *name;
        size_t nlen;
        const char *line = data + off;
        off = (size_t)(lf - data) + 1;
        if (!parse_record(line, end, fmt, &uid, &name, &nlen) || uid <= last) {
            (*bad_r)++;
            continue;
        }
        int rc = add_entry(ul, uid, name, nlen);
        if (rc != 0)
            return rc;
        last = uid;
    }
    if (*bad_r > 0 && ul->next <= UINT32_MAX - *bad_r)
        ul->next += *bad_r;
    *good_r = off;
    return 0;
}

/* Parses the first line: returns its length including LF, or 0 when it is not a header. */
static size_t parse_header(const char *data, size_t len, enum list_format fmt, uint32_t *valid_r,
                           uint32_t *next_r)
{
    const char *lf = memchr(data, '\n', len);
    if (lf == NULL)
        return 0;
    const char *p = data, *end = lf;
    uint32_t v = 0, n = 0;
    if (fmt == FMT_YUBIN) {
        size_t m = strlen(HEADER_MAGIC);
        if ((size_t)(end - p) < m || memcmp(p, HEADER_MAGIC, m) != 0)
            return 0;
        p += m;
        if (*p++ != 'V' || !parse_u32(&p, end, &v) || p >= end || *p++ != ' ' || *p++ != 'N' ||
            !parse_u32(&p, end, &n))
            return 0;
    } else if (fmt == FMT_V1) {
        if (end - p < 2 || memcmp(p, "1 ", 2) != 0)
            return 0;
        p += 2;
        if (!parse_u32(&p, end, &v) || p >= end || *p++ != ' ' || !parse_u32(&p, end, &n))
            return 0;
    } else {
        if (end - p < 2 || memcmp(p, "3 ", 2) != 0)
            return 0;
        p += 2;
        while (p < end) {
            char key = *p++;
            uint32_t val = 0;
            const char *q = p;
            if ((key == 'V' || key == 'N') && parse_u32(&q, end, &val))
                *(key == 'V' ? &v : &n) = val;
            const char *sp = memchr(p, ' ', (size_t)(end - p));
            p = sp != NULL ? sp + 1 : end;
        }
    }
    if (v == 0)
        return 0;
    *valid_r = v;
    *next_r = n;
    return (size_t)(lf - data) + 1;
}

/* ---- files ---- */

static int uidlist_text(const struct yb_uidlist *ul, char **text_r, size_t *len_r)
{
    size_t cap = 64, len = 0;
    for (size_t i = 0; i < ul->n; i++)
        cap += strlen(ul->e[i].name) + 14;
    char *t = malloc(cap);
    if (t == NULL)
        return YB_ENOMEM;
    len += (size_t)snprintf(t, cap, HEADER_MAGIC "V%u N%u\n", (unsigned)ul->validity,
                            (unsigned)ul->next);
    for (size_t i = 0; i < ul->n; i++)
        len += (size_t)snprintf(t + len, cap - len, "%u :%s\n", (unsigned)ul->e[i].uid,
                                ul->e[i].name);
    *text_r = t;
    *len_r = len;
    return 0;
}

static int rewrite(struct yb_uidlist *ul)
{
    char *text;
    size_t len;
    int rc = uidlist_text(ul, &text, &len);
    if (rc != 0)
        return rc;
    rc = pal_file_replace(ul->path, text, len);
    free(text);
    if (rc != 0)
        return rc;
    struct pal_stat st;
    rc = pal_fs_stat(ul->path, &st);
    if (rc != 0)
        return rc;
    ul->file_id = st.file_id;
    ul->good_len = len;
    ul->needs_rewrite = false;
    return 0;
}

static uint32_t fresh_validity(uint32_t old)
{
    int64_t now = pal_time_now();
    uint32_t v = now > 0 && now < (int64_t)UINT32_MAX ? (uint32_t)now : 1;
    return v > old ? v : old + 1;
}

/* Reads a foreign list (Dovecot, Courier) in dir, if any, into ul. */
static bool import_foreign(struct yb_uidlist *ul, const char *dir)
{
    static const struct {
        const char *file;
        enum list_format fmt;
    } foreign[] = { { "dovecot-uidlist", FMT_DOVECOT3 },
                    { "dovecot-uidlist", FMT_V1 },
                    { "courierimapuiddb", FMT_V1 } };
    for (size_t i = 0; i < YB_ARRAY_LEN(foreign); i++) {
        char path[PAL_PATH_MAX];
        char *data = NULL;
        size_t len = 0;
        if (pal_path_join(path, sizeof(path), dir, foreign[i].file) != 0 ||
            pal_file_read_all(path, YB_UIDLIST_MAX_FILE, &data, &len) != 0)
            continue;
        uint32_t v, n;
        size_t h = parse_header(data, len, foreign[i].fmt, &v, &n);
        size_t good;
        unsigned bad;
        if (h > 0) {
            clear_entries(ul);
            ul->validity = v;
            ul->next = n > 0 ? n : 1;
            if (parse_records(ul, data, len, h, foreign[i].fmt, &good, &bad) == 0) {
                free(data);
                yb_log_info("store", "%s: took over %s (UIDVALIDITY %u, %u messages)", dir,
                            foreign[i].file, (unsigned)v, (unsigned)ul->n);
                return true;
            }
        }
        free(data);
    }
    clear_entries(ul);
    return false;
}

/* (Re)reads the whole file. */
static int load(struct yb_uidlist *ul, const char *dir, char *errbuf, size_t errsize)
{
    char *data = NULL;
    size_t len = 0;
    clear_entries(ul);
    ul->good_len = 0;
    int rc = pal_file_read_all(ul->path, YB_UIDLIST_MAX_FILE, &data, &len);
    if (rc == YB_ENOENT) {
        if (dir != NULL && import_foreign(ul, dir)) {
            ul->needs_rewrite = true;
            return 0;
        }
        ul->validity = fresh_validity(0);
        ul->next = 1;
        ul->needs_rewrite = true;
        return 0;
    }
    if (rc != 0)
        return rc;
    struct pal_stat st;
    memset(&st, 0, sizeof(st));
    if (pal_fs_stat(ul->path, &st) == 0)
        ul->file_id = st.file_id;
    uint32_t v = 0, n = 0;
    size_t h = parse_header(data, len, FMT_YUBIN, &v, &n);
    if (h == 0) {
        free(data);
        if (errbuf != NULL)
            snprintf(errbuf, errsize, "%s: no valid header; new UIDVALIDITY", ul->path);
        /* The lost value was taken no later than the file's last change: go past that. */
        int64_t changed = st.mtime_ns / 1000000000 + 1;
        uint32_t floor = changed > 0 && changed < (int64_t)UINT32_MAX ? (uint32_t)changed : 0;
        ul->validity = fresh_validity(floor > ul->validity ? floor : ul->validity);
        ul->next = 1;
        ul->needs_rewrite = true;
        return 0;
    }
    ul->validity = v;
    ul->next = n > 0 ? n : 1;
    size_t good;
    unsigned bad;
    rc = parse_records(ul, data, len, h, FMT_YUBIN, &good, &bad);
    free(data);
    if (rc != 0)
        return rc;
    ul->good_len = good;
    if (bad > 0) {
        ul->needs_rewrite = true;
        if (errbuf != NULL)
            snprintf(errbuf, errsize, "%s: %u bad line(s) skipped; %u UIDs kept", ul->path,
                     bad, (unsigned)ul->n);
    }
    return 0;
}

int yb_uidlist_open(const char *dir, struct yb_uidlist **ul_r, char *errbuf, size_t errsize)
{
    *ul_r = NULL;
    if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    struct yb_uidlist *ul = calloc(1, sizeof(*ul));
    if (ul == NULL)
        return YB_ENOMEM;
    int rc = pal_path_join(ul->path, sizeof(ul->path), dir, YB_UIDLIST_FILE);
    if (rc == 0)
        rc = rehash(ul, 32);
    if (rc == 0)
        rc = load(ul, dir, errbuf, errsize);
    if (rc == 0 && ul->needs_rewrite)
        rc = rewrite(ul); /* new, imported or repaired: the file exists from now on */
    if (rc != 0) {
        yb_uidlist_free(&ul);
        return rc;
    }
    *ul_r = ul;
    return 0;
}

void yb_uidlist_free(struct yb_uidlist **ulp)
{
    struct yb_uidlist *ul = *ulp;
    if (ul == NULL)
        return;
    *ulp = NULL;
    clear_entries(ul);
    free(ul->e);
    free(ul->hash);
    free(ul);
}

int yb_uidlist_refresh(struct yb_uidlist *ul)
{
    struct pal_stat st;
    int rc = pal_fs_stat(ul->path, &st);
    if (rc == YB_ENOENT)
        return ul->needs_rewrite ? 0 : load(ul, NULL, NULL, 0);
    if (rc != 0)
        return rc;
    if (st.file_id != ul->file_id || st.size < ul->good_len)
        return load(ul, NULL, NULL, 0); /* compacted (replaced) or cut: read anew */
    if (st.size == ul->good_len || ul->needs_rewrite)
        return 0;
    /* Appended by another process: read the new tail only. */
    struct pal_file *f = NULL;
    rc = pal_fs_open(ul->path, PAL_O_RDONLY, 0, &f);
    if (rc != 0)
        return rc;
    size_t want = (size_t)(st.size - ul->good_len);
    char *buf = malloc(want);
    size_t got = 0;
    rc = buf == NULL ? YB_ENOMEM : 0;
    while (rc == 0 && got < want) {
        size_t n = 0;
        rc = pal_fs_pread(f, buf + got, want - got, ul->good_len + got, &n);
        if (rc == 0 && n == 0)
            break;
        got += n;
    }
    pal_fs_close(&f);
    if (rc == 0) {
        size_t good;
        unsigned bad;
        rc = parse_records(ul, buf, got, 0, FMT_YUBIN, &good, &bad);
        ul->good_len += good;
        if (bad > 0)
            ul->needs_rewrite = true;
    }
    free(buf);
    return rc;
}

uint32_t yb_uidlist_validity(const struct yb_uidlist *ul)
{
    return ul->validity;
}

uint32_t yb_uidlist_next(const struct yb_uidlist *ul)
{
    return ul->next;
}

size_t yb_uidlist_count(const struct yb_uidlist *ul)
{
    return ul->n;
}

uint32_t yb_uidlist_lookup(const struct yb_uidlist *ul, const char *base)
{
    size_t *slot = hash_slot(ul, base, strlen(base));
    return *slot != 0 ? ul->e[*slot - 1].uid : 0;
}

void yb_uidlist_entry(const struct yb_uidlist *ul, size_t i, uint32_t *uid_r, const char **base_r)
{
    *uid_r = ul->e[i].uid;
    *base_r = ul->e[i].name;
}

int yb_uidlist_assign(struct yb_uidlist *ul, const char *const *bases, size_t n,
                      uint32_t *first_r)
{
    if (first_r != NULL)
        *first_r = 0;
    int rc = yb_uidlist_refresh(ul); /* another process may have appended */
    if (rc != 0)
        return rc;
    size_t old_n = ul->n;
    uint32_t first = ul->next;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(bases[i]);
        if (!name_ok(bases[i], len) || yb_uidlist_lookup(ul, bases[i]) != 0)
            continue;
        if (ul->next == UINT32_MAX)
            return YB_ELIMIT; /* RFC 3501: a new UIDVALIDITY would be needed */
        rc = add_entry(ul, ul->next, bases[i], len);
        if (rc != 0)
            return rc;
    }
    if (ul->n == old_n)
        return 0;
    if (ul->needs_rewrite) {
        rc = rewrite(ul);
    } else {
        /* One appended block of lines, after cutting a torn tail a dead writer left. */
        size_t cap = 0, len = 0;
        for (size_t i = old_n; i < ul->n; i++)
            cap += strlen(ul->e[i].name) + 14;
        char *text = malloc(cap + 1);
        if (text == NULL)
            return YB_ENOMEM;
        for (size_t i = old_n; i < ul->n; i++)
            len += (size_t)snprintf(text + len, cap + 1 - len, "%u :%s\n",
                                    (unsigned)ul->e[i].uid, ul->e[i].name);
        struct pal_file *f = NULL;
        rc = pal_fs_open(ul->path, PAL_O_WRONLY, 0, &f);
        if (rc == 0)
            rc = pal_fs_truncate(f, ul->good_len);
        if (rc == 0)
            rc = pal_fs_seek(f, ul->good_len);
        if (rc == 0)
            rc = pal_file_write_all(f, text, len);
        if (rc == 0)
            rc = pal_fs_sync(f);
        int crc = pal_fs_close(&f);
        if (rc == 0)
            rc = crc;
        free(text);
        if (rc == 0)
            ul->good_len += len;
    }
    if (rc != 0) {
        /* Not durable: forget the new UIDs (the next assign hands them out again). */
        while (ul->n > old_n) {
            ul->n--;
            free(ul->e[ul->n].name);
        }
        ul->next = first;
        rehash(ul, ul->n);
        return rc;
    }
    if (first_r != NULL)
        *first_r = first;
    return 0;
}

int yb_uidlist_compact(struct yb_uidlist *ul, bool (*keep)(void *ctx, const char *base),
                       void *ctx)
{
    int rc = yb_uidlist_refresh(ul);
    if (rc != 0)
        return rc;
    size_t w = 0;
    for (size_t i = 0; i < ul->n; i++) {
        if (keep(ctx, ul->e[i].name))
            ul->e[w++] = ul->e[i];
        else
            free(ul->e[i].name);
    }
    ul->n = w;
    rc = rehash(ul, ul->n);
    if (rc == 0)
        rc = rewrite(ul);
    return rc;
}

/* ---- the folder lock ---- */

int yb_folder_lock(const char *dir, struct yb_folder_lock **lock_r)
{
    *lock_r = NULL;
    char path[PAL_PATH_MAX];
    int rc = pal_path_join(path, sizeof(path), dir, YB_UIDLIST_LOCK);
    if (rc != 0)
        return rc;
    struct yb_folder_lock *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return YB_ENOMEM;
    rc = pal_fs_open(path, PAL_O_RDWR | PAL_O_CREAT, 0600, &l->f);
    uint64_t deadline = pal_time_mono_ms() + YB_FOLDER_LOCK_WAIT_MS;
    unsigned pause = 1;
    while (rc == 0) {
        rc = pal_fs_lock(l->f, PAL_LOCK_EX | PAL_LOCK_NB);
        if (rc != YB_EBUSY)
            break;
        if (pal_time_mono_ms() >= deadline)
            break;
        pal_sleep_ms(pause);
        rc = 0;
        if (pause < 50)
            pause *= 2;
    }
    if (rc != 0) {
        pal_fs_close(&l->f);
        free(l);
        return rc;
    }
    *lock_r = l;
    return 0;
}

void yb_folder_unlock(struct yb_folder_lock **lp)
{
    struct yb_folder_lock *l = *lp;
    if (l == NULL)
        return;
    *lp = NULL;
    pal_fs_unlock(l->f);
    pal_fs_close(&l->f);
    free(l);
}
