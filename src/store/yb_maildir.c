/*
 * yb_maildir.c - unique names, delivery into one or many Maildirs, and the
 * Maildir++ quota check around it (the maildirsize reader and scanner live
 * in yb_maildir_quota.c).
 *
 * A delivery writes the message once, into tmp/ of the first destination,
 * and commits in passes so that a failure can take everything back:
 *   1. sync + close the temporary file;
 *   2. check every destination's quota (before anything becomes visible, so
 *      a refusal never shows a message that then vanishes);
 *   3. hard-link into new/ of each destination (copy into that tmp/, sync,
 *      rename where links are impossible), then sync each new/;
 *   4. append to each maildirsize, remove the temporary file.
 * A failure in 1-3 unlinks every new/ entry made so far and every temporary
 * file, so commit returns 0 only when the message is durable everywhere.
 *
 * A missing Maildir is created when an open or link first reports ENOENT,
 * so delivering into existing Maildirs (the common case) costs no stat.
 */
#include "yb_maildir.h"
#include "yb_maildir_int.h"
#include "yb_dirsync.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pal_err.h"
#include "pal_file.h"
#include "pal_process.h"
#include "pal_random.h"
#include "pal_time.h"

/* Bytes gathered before one write to the temporary file. */
#define MD_WRITE_CHUNK (64u * 1024u)
/* Attempts at a fresh temporary name when one already exists. */
#define MD_NAME_TRIES 16
/* Longest escaped host kept in a name (names must stay below NAME_MAX=255). */
#define MD_HOST_MAX 100
/* A whole base name: times, pid, counter, random, host; plus ",S=..,W=..". */
#define MD_NAME_MAX 256

struct md_dest {
    char *path;
    uint64_t quota;
    char new_path[PAL_PATH_MAX]; /* new/<name>,S=..,W=.. once linked */
    char tmp_copy[PAL_PATH_MAX]; /* the copy in this tmp/ (link fallback) */
    bool linked;
    bool has_copy;
};

struct yb_delivery {
    struct md_dest *dests;
    size_t n;
    char base[MD_NAME_MAX];      /* the unique name, without size fields */
    char tmp_path[PAL_PATH_MAX]; /* first destination's tmp/<base> */
    struct pal_file *f;
    unsigned char *chunk; /* MD_WRITE_CHUNK bytes not yet written */
    size_t chunk_len;
    uint64_t size;
    int err; /* first write error (sticky) */
    bool finished;
};

static atomic_uint_fast64_t md_counter;

/* ---- small formatting helpers (no printf for 64-bit values) ---- */

size_t yb__maildir_fmt_u64(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

/* A bounded string builder: any overflow sets ok to false. */
struct md_str {
    char *p;
    size_t len, size;
    bool ok;
};

static void str_add(struct md_str *s, const char *text, size_t len)
{
    if (!s->ok || len >= s->size - s->len) {
        s->ok = false;
        return;
    }
    memcpy(s->p + s->len, text, len);
    s->len += len;
    s->p[s->len] = '\0';
}

static void str_cstr(struct md_str *s, const char *text)
{
    str_add(s, text, strlen(text));
}

static void str_u64(struct md_str *s, uint64_t v)
{
    char buf[20];
    str_add(s, buf, yb__maildir_fmt_u64(buf, v));
}

static int join3(char *buf, const char *a, const char *b, const char *c)
{
    struct md_str s = { buf, 0, PAL_PATH_MAX, true };
    buf[0] = '\0';
    str_cstr(&s, a);
    str_add(&s, "/", 1);
    str_cstr(&s, b);
    str_add(&s, "/", 1);
    str_cstr(&s, c);
    return s.ok ? 0 : YB_ENAMETOOLONG;
}

/* ---- names ---- */

/*
 * Appends host with '/', ':' and ';' escaped as \057, \072, \073 (the header's
 * contract; Courier and Dovecot escape the first two). Also escaped, so that
 * our own ",S=" parse and every file system accept the name: '\\', ',', and
 * bytes outside printable ASCII. Truncated at MD_HOST_MAX bytes.
 */
static void add_host(struct md_str *s, const char *host)
{
    size_t used = 0;
    for (const unsigned char *h = (const unsigned char *)host; *h != '\0'; h++) {
        unsigned c = *h;
        bool esc = c == '/' || c == ':' || c == ';' || c == '\\' || c == ',' || c <= 0x20 ||
                   c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '|' || c == '?' ||
                   c == '*';
        size_t need = esc ? 4 : 1;
        if (used + need > MD_HOST_MAX)
            break;
        if (esc) {
            char e[4] = { '\\', (char)('0' + (c >> 6)), (char)('0' + ((c >> 3) & 7)),
                          (char)('0' + (c & 7)) };
            str_add(s, e, 4);
        } else {
            char ch = (char)c;
            str_add(s, &ch, 1);
        }
        used += need;
    }
    if (used == 0)
        str_cstr(s, "localhost");
}

/* <secs>.M<usecs>P<pid>Q<counter>R<hex>.<host> into buf (MD_NAME_MAX bytes). */
static int make_base(char *buf, const char *host)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[8];
    char rhex[sizeof rnd * 2];
    int rc = pal_random_bytes(rnd, sizeof rnd);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < sizeof rnd; i++) {
        rhex[2 * i] = hex[rnd[i] >> 4];
        rhex[2 * i + 1] = hex[rnd[i] & 15];
    }
    int64_t now = pal_time_now_ns();
    uint64_t ns = now > 0 ? (uint64_t)now : 0;
    uint64_t q = atomic_fetch_add(&md_counter, 1) + 1;

    struct md_str s = { buf, 0, MD_NAME_MAX, true };
    buf[0] = '\0';
    str_u64(&s, ns / 1000000000u);
    str_cstr(&s, ".M");
    str_u64(&s, ns % 1000000000u / 1000u);
    str_cstr(&s, "P");
    str_u64(&s, pal_proc_id());
    str_cstr(&s, "Q");
    str_u64(&s, q);
    str_cstr(&s, "R");
    str_add(&s, rhex, sizeof rhex);
    str_cstr(&s, ".");
    add_host(&s, host);
    return s.ok ? 0 : YB_ENAMETOOLONG;
}

/* dir/new/<base>,S=<size>,W=<size> */
static int make_new_path(char *buf, const char *dir, const char *base, uint64_t size)
{
    struct md_str s = { buf, 0, PAL_PATH_MAX, true };
    buf[0] = '\0';
    str_cstr(&s, dir);
    str_cstr(&s, "/new/");
    str_cstr(&s, base);
    str_cstr(&s, ",S=");
    str_u64(&s, size);
    str_cstr(&s, ",W=");
    str_u64(&s, size);
    return s.ok ? 0 : YB_ENAMETOOLONG;
}

/* ---- creating Maildirs ---- */

int yb_maildir_create(const char *path)
{
    static const char *const subs[] = { "tmp", "new", "cur" };
    char sub[PAL_PATH_MAX];
    if (path == NULL || *path == '\0')
        return YB_EINVAL;
    for (size_t i = 0; i < 3; i++) {
        int rc = pal_path_join(sub, sizeof sub, path, subs[i]);
        if (rc != 0)
            return rc;
        /* The common case - it exists - costs one stat. */
        struct pal_stat st;
        rc = pal_fs_stat(sub, &st);
        if (rc == YB_ENOENT) {
            rc = pal_fs_mkdir(sub);
            if (rc == YB_ENOENT)
                rc = pal_file_mkdirs(sub);
            if (rc == YB_EEXIST) /* a concurrent creator */
                rc = pal_fs_stat(sub, &st);
            else if (rc == 0)
                st.type = PAL_FT_DIR;
        }
        if (rc == 0 && st.type != PAL_FT_DIR)
            rc = YB_ENOTDIR;
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- delivery ---- */

static int open_tmp(struct yb_delivery *d, const char *host)
{
    int rc = YB_EEXIST;
    bool created = false;
    for (int tries = 0; tries < MD_NAME_TRIES && rc == YB_EEXIST; tries++) {
        rc = make_base(d->base, host);
        if (rc == 0)
            rc = join3(d->tmp_path, d->dests[0].path, "tmp", d->base);
        if (rc == 0)
            rc = pal_fs_open(d->tmp_path, PAL_O_WRONLY | PAL_O_CREAT | PAL_O_EXCL, 0600, &d->f);
        if (rc == YB_ENOENT && !created) {
            /* Created on first use: the common case costs no extra call. */
            created = true;
            rc = yb_maildir_create(d->dests[0].path);
            if (rc == 0)
                rc = YB_EEXIST; /* i.e. try again */
        }
    }
    if (rc != 0)
        d->tmp_path[0] = '\0';
    return rc;
}

int yb_delivery_begin(const struct yb_maildir_dest *dests, size_t n, const char *host,
                      struct yb_delivery **d_r)
{
    char hostbuf[256];
    int rc;
    *d_r = NULL;
    if (dests == NULL || n == 0 || n > YB_MAILDIR_MAX_DESTS)
        return YB_EINVAL;
    if (host == NULL) {
        if (pal_hostname(hostbuf, sizeof hostbuf) != 0)
            hostbuf[0] = '\0';
        host = hostbuf;
    }
    struct yb_delivery *d = calloc(1, sizeof *d);
    if (d == NULL)
        return YB_ENOMEM;
    d->dests = calloc(n, sizeof *d->dests);
    d->chunk = malloc(MD_WRITE_CHUNK);
    if (d->dests == NULL || d->chunk == NULL) {
        rc = YB_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (dests[i].path == NULL || dests[i].path[0] == '\0') {
            rc = YB_EINVAL;
            goto fail;
        }
        /* The same Maildir twice gets the message once (a second link would
         * collide). */
        bool dup = false;
        for (size_t j = 0; j < d->n && !dup; j++)
            dup = strcmp(d->dests[j].path, dests[i].path) == 0;
        if (dup)
            continue;
        size_t len = strlen(dests[i].path);
        struct md_dest *md = &d->dests[d->n++];
        md->path = malloc(len + 1);
        if (md->path == NULL) {
            rc = YB_ENOMEM;
            goto fail;
        }
        memcpy(md->path, dests[i].path, len + 1);
        md->quota = dests[i].quota_bytes;
    }
    rc = open_tmp(d, host);
    if (rc != 0)
        goto fail;
    *d_r = d;
    return 0;
fail:
    yb_delivery_free(&d);
    return rc;
}

static int flush_chunk(struct yb_delivery *d)
{
    if (d->chunk_len == 0)
        return 0;
    int rc = pal_file_write_all(d->f, d->chunk, d->chunk_len);
    d->chunk_len = 0;
    return rc;
}

int yb_delivery_write(struct yb_delivery *d, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (d->finished)
        return YB_EINVAL;
    if (d->err != 0)
        return d->err;
    if (len > UINT64_MAX - d->size)
        return d->err = YB_ELIMIT;
    d->size += len;
    while (len > 0) {
        size_t room = MD_WRITE_CHUNK - d->chunk_len;
        size_t take = len < room ? len : room;
        memcpy(d->chunk + d->chunk_len, p, take);
        d->chunk_len += take;
        p += take;
        len -= take;
        if (d->chunk_len == MD_WRITE_CHUNK) {
            int rc = flush_chunk(d);
            if (rc != 0)
                return d->err = rc;
        }
    }
    return 0;
}

uint64_t yb_delivery_size(const struct yb_delivery *d)
{
    return d->size;
}

/* Copies the committed temporary file into dest's tmp/ and syncs the copy. */
static int copy_into(struct yb_delivery *d, struct md_dest *md)
{
    struct pal_file *in = NULL, *out = NULL;
    /* Its own name: in the first destination tmp/<base> is the source itself. */
    char name[MD_NAME_MAX + 8];
    struct md_str s = { name, 0, sizeof name, true };
    name[0] = '\0';
    str_cstr(&s, d->base);
    str_cstr(&s, ".copy");
    int rc = s.ok ? join3(md->tmp_copy, md->path, "tmp", name) : YB_ENAMETOOLONG;
    if (rc != 0)
        return rc;
    rc = pal_fs_open(d->tmp_path, PAL_O_RDONLY, 0, &in);
    if (rc != 0)
        return rc;
    rc = pal_fs_open(md->tmp_copy, PAL_O_WRONLY | PAL_O_CREAT | PAL_O_EXCL, 0600, &out);
    if (rc == YB_ENOENT) {
        rc = yb_maildir_create(md->path);
        if (rc == 0)
            rc = pal_fs_open(md->tmp_copy, PAL_O_WRONLY | PAL_O_CREAT | PAL_O_EXCL, 0600, &out);
    }
    if (rc != 0)
        goto done;
    md->has_copy = true;
    uint64_t copied = 0;
    for (;;) {
        size_t got = 0;
        rc = pal_fs_read(in, d->chunk, MD_WRITE_CHUNK, &got);
        if (rc != 0 || got == 0)
            break;
        rc = pal_file_write_all(out, d->chunk, got);
        if (rc != 0)
            break;
        copied += got;
    }
    if (rc == 0 && copied != d->size)
        rc = YB_EIO; /* the source changed under us */
    if (rc == 0)
        rc = pal_fs_sync(out);
done:
    if (out != NULL) {
        int crc = pal_fs_close(&out);
        if (rc == 0)
            rc = crc;
    }
    pal_fs_close(&in);
    return rc;
}

/*
 * Makes the message visible in md's new/. A single destination takes the
 * temporary file by rename (one directory operation instead of link and
 * unlink: on busy servers directory updates are what costs); several get
 * hard links, else synced copies.
 */
static int place(struct yb_delivery *d, struct md_dest *md)
{
    int rc = make_new_path(md->new_path, md->path, d->base, d->size);
    if (rc != 0)
        return rc;
    if (d->n == 1) {
        /* rename would replace; names are unique, but never clobber a message. */
        if (pal_file_exists(md->new_path))
            return YB_EEXIST;
        rc = pal_fs_rename(d->tmp_path, md->new_path);
        if (rc == 0) {
            md->linked = true;
            d->tmp_path[0] = '\0'; /* the temporary is the message now */
        }
        return rc;
    }
    rc = pal_fs_link(d->tmp_path, md->new_path);
    if (rc == YB_ENOENT) {
        /* A Maildir seen for the first time. */
        rc = yb_maildir_create(md->path);
        if (rc == 0)
            rc = pal_fs_link(d->tmp_path, md->new_path);
    }
    if (rc == YB_ENOTSUP || rc == YB_EXDEV) {
        rc = copy_into(d, md);
        if (rc == 0) {
            /* rename would replace; names are unique, but never clobber a message. */
            if (pal_file_exists(md->new_path))
                rc = YB_EEXIST;
            else
                rc = pal_fs_rename(md->tmp_copy, md->new_path);
        }
        if (rc == 0)
            md->has_copy = false;
    }
    if (rc == 0)
        md->linked = true;
    return rc;
}

/* Counts the new message in maildirsize (see yb_maildir_quota_add). */
static void account(const struct md_dest *md, uint64_t size)
{
    (void)yb_maildir_quota_add(md->path, (int64_t)size, 1);
}

/* Takes back everything placed by this delivery (best effort). */
static void roll_back(struct yb_delivery *d)
{
    for (size_t i = 0; i < d->n; i++) {
        struct md_dest *md = &d->dests[i];
        if (md->linked) {
            pal_fs_unlink(md->new_path);
            md->linked = false;
        }
        if (md->has_copy) {
            pal_fs_unlink(md->tmp_copy);
            md->has_copy = false;
        }
    }
}

static int check_quotas(struct yb_delivery *d)
{
    for (size_t i = 0; i < d->n; i++) {
        struct md_dest *md = &d->dests[i];
        uint64_t bytes = 0, count = 0;
        if (md->quota == 0)
            continue;
        int rc = yb_maildir_usage(md->path, md->quota, &bytes, &count);
        if (rc != 0)
            return rc;
        if (bytes > md->quota || d->size > md->quota - bytes)
            return YB_ELIMIT; /* over quota: told apart from a full disk */
    }
    return 0;
}

int yb_delivery_commit(struct yb_delivery *d)
{
    char dir[PAL_PATH_MAX];
    if (d->finished)
        return YB_EINVAL;
    d->finished = true;
    int rc = d->err;
    if (rc == 0)
        rc = flush_chunk(d);
    if (rc == 0)
        rc = pal_fs_sync(d->f);
    int crc = pal_fs_close(&d->f);
    if (rc == 0)
        rc = crc;
    if (rc == 0)
        rc = check_quotas(d);
    for (size_t i = 0; rc == 0 && i < d->n; i++)
        rc = place(d, &d->dests[i]);
    for (size_t i = 0; rc == 0 && i < d->n; i++) {
        rc = pal_path_join(dir, sizeof dir, d->dests[i].path, "new");
        if (rc == 0)
            rc = yb_dirsync(dir);
    }
    if (rc != 0) {
        roll_back(d);
        if (d->tmp_path[0] != '\0')
            pal_fs_unlink(d->tmp_path);
        d->tmp_path[0] = '\0';
        return rc;
    }
    for (size_t i = 0; i < d->n; i++)
        account(&d->dests[i], d->size);
    /* Durable already; a leftover temporary is only litter (tmp/ is cleaned by
     * readers). */
    if (d->tmp_path[0] != '\0')
        pal_fs_unlink(d->tmp_path);
    d->tmp_path[0] = '\0';
    return 0;
}

void yb_delivery_free(struct yb_delivery **dp)
{
    struct yb_delivery *d = *dp;
    if (d == NULL)
        return;
    *dp = NULL;
    pal_fs_close(&d->f);
    if (d->tmp_path[0] != '\0')
        pal_fs_unlink(d->tmp_path);
    for (size_t i = 0; i < d->n; i++)
        free(d->dests[i].path);
    free(d->dests);
    free(d->chunk);
    free(d);
}
