/*
 * pop3_maildrop.c - locking, listing and the UPDATE state of a maildrop.
 */
#include "pop3_maildrop.h"
#include "pal_err.h"
#include "pop3_encode.h"
#include "yb_maildir.h"

#include <openssl/evp.h>

#include <stdlib.h>
#include <string.h>

/* Bytes read at a time when a message has to be measured. */
#define MD_MEASURE_CHUNK 16384
/* Hex digits of the SHA-256 in a hashed UIDL (160 bits). */
#define MD_UIDL_HASH_HEX 40

static char info_sep(void)
{
    return pal_maildir_info_sep();
}

void pop3_uidl_from_base(const char *base, size_t len, char out[YB_POP3_UIDL_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    bool plain = len > 0 && len <= YB_POP3_UIDL_MAX;
    for (size_t i = 0; plain && i < len; i++) {
        unsigned char c = (unsigned char)base[i];
        plain = c >= 0x21 && c <= 0x7e;
    }
    if (plain) {
        memcpy(out, base, len);
        out[len] = '\0';
        return;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(base, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof(md))
        memset(md, 0, sizeof(md)); /* cannot happen with OpenSSL's built-in SHA-256 */
    out[0] = 'H';
    for (size_t i = 0; i < MD_UIDL_HASH_HEX / 2; i++) {
        out[1 + 2 * i] = hex[md[i] >> 4];
        out[2 + 2 * i] = hex[md[i] & 15];
    }
    out[1 + MD_UIDL_HASH_HEX] = '\0';
}

/* Size with CRLF line endings and the bytes on disk, reading the file when the name lacks them. */
static int measure(const char *path, struct pop3_msg *m)
{
    const char *base = m->name + 4;
    uint64_t w = 0, s = 0;
    bool has_w = yb_maildir_name_field(base, m->base_len, 'W', &w);
    bool has_s = yb_maildir_name_field(base, m->base_len, 'S', &s);
    if (has_w && has_s) {
        m->size = w;
        m->file_size = s;
        return 0;
    }
    struct pal_file *f = NULL;
    int rc = pal_fs_open(path, PAL_O_RDONLY, 0, &f);
    if (rc != 0)
        return rc;
    struct pal_stat st;
    rc = pal_fs_fstat(f, &st);
    if (rc == 0 && st.type != PAL_FT_FILE)
        rc = YB_ENOENT;
    m->file_size = has_s ? s : st.size;
    if (rc == 0 && has_w) {
        m->size = w;
    } else if (rc == 0) {
        static _Thread_local unsigned char in[MD_MEASURE_CHUNK],
            out[MD_MEASURE_CHUNK * YB_POP3_ENCODE_EXPANSION + YB_POP3_ENCODE_FINISH_MAX];
        struct pop3_encoder e;
        pop3_encoder_init(&e, false, 0);
        for (;;) {
            size_t got = 0, used = 0;
            rc = pal_fs_read(f, in, sizeof(in), &got);
            if (rc != 0 || got == 0)
                break;
            pop3_encode(&e, in, got, out, sizeof(out), &used);
        }
        pop3_encode_finish(&e, out, false);
        m->size = e.octets;
    }
    pal_fs_close(&f);
    return rc;
}

static int add_dir(struct pop3_maildrop *md, const char *sub, size_t *cap)
{
    char dir[PAL_PATH_MAX], path[PAL_PATH_MAX];
    struct pal_dir *d = NULL;
    int rc = pal_path_join(dir, sizeof dir, md->path, sub);
    if (rc != 0)
        return rc;
    rc = pal_fs_dir_open(dir, &d);
    if (rc == YB_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    for (;;) {
        struct pal_dirent ent;
        rc = pal_fs_dir_next(d, &ent);
        if (rc != 0 || ent.name == NULL)
            break;
        if (ent.name[0] == '.' || ent.type == PAL_FT_DIR || ent.type == PAL_FT_OTHER)
            continue;
        if (md->n == YB_POP3_LIMIT_MESSAGES)
            break; /* the rest waits for a later session */
        if (md->n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 64;
            struct pop3_msg *nm = realloc(md->msgs, ncap * sizeof(*nm));
            if (nm == NULL) {
                rc = YB_ENOMEM;
                break;
            }
            md->msgs = nm;
            *cap = ncap;
        }
        size_t len = strlen(ent.name);
        struct pop3_msg *m = &md->msgs[md->n];
        memset(m, 0, sizeof(*m));
        m->name = malloc(len + 5);
        if (m->name == NULL) {
            rc = YB_ENOMEM;
            break;
        }
        memcpy(m->name, sub, 3);
        m->name[3] = '/';
        memcpy(m->name + 4, ent.name, len + 1);
        const char *sep = strchr(ent.name, info_sep());
        m->base_len = sep != NULL ? (size_t)(sep - ent.name) : len;
        rc = pal_path_join(path, sizeof path, dir, ent.name);
        if (rc == 0)
            rc = measure(path, m);
        if (rc == YB_ENOENT) {
            free(m->name); /* moved or removed while we looked, or not a file */
            rc = 0;
            continue;
        }
        if (rc != 0) {
            free(m->name);
            break;
        }
        pop3_uidl_from_base(m->name + 4, m->base_len, m->uidl);
        yb_maildir_name_time(m->name + 4, &m->when_s, &m->when_us);
        md->total += m->size;
        md->n++;
    }
    pal_fs_dir_close(&d);
    return rc;
}

static int by_delivery(const void *a, const void *b)
{
    const struct pop3_msg *x = a, *y = b;
    if (x->when_s != y->when_s)
        return x->when_s < y->when_s ? -1 : 1;
    if (x->when_us != y->when_us)
        return x->when_us < y->when_us ? -1 : 1;
    size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
    int c = memcmp(x->name + 4, y->name + 4, n);
    if (c != 0)
        return c;
    return x->base_len < y->base_len ? -1 : x->base_len > y->base_len;
}

static int take_lock(struct pop3_maildrop *md)
{
    char path[PAL_PATH_MAX];
    int rc = pal_path_join(path, sizeof path, md->path, YB_POP3_LOCK_FILE);
    if (rc != 0)
        return rc;
    rc = pal_fs_open(path, PAL_O_RDWR | PAL_O_CREAT, 0600, &md->lock);
    if (rc == YB_ENOENT) {
        rc = yb_maildir_create(md->path); /* a new account: nothing delivered yet */
        if (rc == 0)
            rc = pal_fs_open(path, PAL_O_RDWR | PAL_O_CREAT, 0600, &md->lock);
    }
    if (rc != 0)
        return rc;
    rc = pal_fs_lock(md->lock, PAL_LOCK_EX | PAL_LOCK_NB);
    if (rc != 0)
        pal_fs_close(&md->lock);
    return rc;
}

int pop3_maildrop_open(const char *path, struct pop3_maildrop **md_r)
{
    *md_r = NULL;
    struct pop3_maildrop *md = calloc(1, sizeof(*md));
    if (md == NULL)
        return YB_ENOMEM;
    size_t len = strlen(path), cap = 0;
    int rc = len < sizeof(md->path) ? 0 : YB_ENAMETOOLONG;
    if (rc == 0) {
        memcpy(md->path, path, len + 1);
        rc = take_lock(md);
    }
    if (rc == 0)
        rc = add_dir(md, "new", &cap);
    if (rc == 0)
        rc = add_dir(md, "cur", &cap);
    if (rc != 0) {
        pop3_maildrop_close(&md);
        return rc;
    }
    if (md->n > 1)
        qsort(md->msgs, md->n, sizeof(md->msgs[0]), by_delivery);
    *md_r = md;
    return 0;
}

/* Finds message m under its base name in new/ or cur/ and updates m->name. */
static int relocate(struct pop3_maildrop *md, struct pop3_msg *m)
{
    static const char *const subs[] = { "cur", "new" };
    char dir[PAL_PATH_MAX];
    const char *base = m->name + 4;
    for (size_t k = 0; k < 2; k++) {
        struct pal_dir *d = NULL;
        if (pal_path_join(dir, sizeof dir, md->path, subs[k]) != 0 || pal_fs_dir_open(dir, &d) != 0)
            continue;
        for (;;) {
            struct pal_dirent ent;
            if (pal_fs_dir_next(d, &ent) != 0 || ent.name == NULL)
                break;
            if (strncmp(ent.name, base, m->base_len) != 0 ||
                (ent.name[m->base_len] != '\0' && ent.name[m->base_len] != info_sep()))
                continue;
            size_t len = strlen(ent.name);
            char *name = malloc(len + 5);
            if (name == NULL) {
                pal_fs_dir_close(&d);
                return YB_ENOMEM;
            }
            memcpy(name, subs[k], 3);
            name[3] = '/';
            memcpy(name + 4, ent.name, len + 1);
            free(m->name);
            m->name = name;
            pal_fs_dir_close(&d);
            return 0;
        }
        pal_fs_dir_close(&d);
    }
    return YB_ENOENT;
}

int pop3_maildrop_open_msg(struct pop3_maildrop *md, size_t i, struct pal_file **f_r)
{
    char path[PAL_PATH_MAX];
    struct pop3_msg *m = &md->msgs[i];
    int rc = pal_path_join(path, sizeof path, md->path, m->name);
    if (rc == 0)
        rc = pal_fs_open(path, PAL_O_RDONLY, 0, f_r);
    if (rc == YB_ENOENT && (rc = relocate(md, m)) == 0) {
        rc = pal_path_join(path, sizeof path, md->path, m->name);
        if (rc == 0)
            rc = pal_fs_open(path, PAL_O_RDONLY, 0, f_r);
    }
    return rc;
}

int pop3_maildrop_commit(struct pop3_maildrop *md, size_t *removed_r)
{
    char path[PAL_PATH_MAX];
    int first = 0;
    int64_t bytes = 0, count = 0;
    bool dirs[2] = { false, false };
    *removed_r = 0;
    for (size_t i = 0; i < md->n; i++) {
        struct pop3_msg *m = &md->msgs[i];
        if (!m->deleted)
            continue;
        int rc = pal_path_join(path, sizeof path, md->path, m->name);
        if (rc == 0)
            rc = pal_fs_unlink(path);
        if (rc == YB_ENOENT && relocate(md, m) == 0) {
            rc = pal_path_join(path, sizeof path, md->path, m->name);
            if (rc == 0)
                rc = pal_fs_unlink(path);
        }
        if (rc == 0) {
            bytes += (int64_t)m->file_size;
            count++;
            dirs[m->name[0] == 'c'] = true;
        }
        if (rc == 0 || rc == YB_ENOENT) {
            (*removed_r)++; /* already gone (IMAP expunged it): what was asked holds */
            continue;
        }
        if (first == 0)
            first = rc;
    }
    /* The removals are durable before the client hears +OK. */
    for (size_t k = 0; k < 2; k++) {
        if (!dirs[k])
            continue;
        int rc = pal_path_join(path, sizeof path, md->path, k ? "cur" : "new");
        if (rc == 0)
            rc = pal_fs_sync_dir(path);
        if (rc != 0 && first == 0)
            first = rc;
    }
    /* A failed append removes maildirsize, so the next reader recounts: not an error here. */
    if (count > 0)
        (void)yb_maildir_quota_add(md->path, -bytes, -count);
    return first;
}

void pop3_maildrop_close(struct pop3_maildrop **mdp)
{
    struct pop3_maildrop *md = *mdp;
    if (md == NULL)
        return;
    for (size_t i = 0; i < md->n; i++)
        free(md->msgs[i].name);
    free(md->msgs);
    if (md->lock != NULL) {
        pal_fs_unlock(md->lock);
        pal_fs_close(&md->lock);
    }
    free(md);
    *mdp = NULL;
}
