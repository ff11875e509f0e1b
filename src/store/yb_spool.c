/*
 * yb_spool.c - the outbound queue on disk: unique ids, the two-file commit
 * (message, then envelope) and the envelope's tab format.
 *
 * Every file operation goes through the PAL's injectable table, so each
 * failure path of the commit is unit-tested: whatever fails, queue/<id> only
 * appears once the message and the envelope are both on stable storage.
 */
#include "yb_spool.h"
#include "pal.h"
#include "yb_buf.h"
#include "yb_hash.h"
#include "yb_tab.h"

#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The message is written through a buffer of this size. */
#define SPOOL_WRITE_BUF (64 * 1024)
/* Attempts at a fresh id when tmp/<id>.msg already exists. */
#define SPOOL_ID_TRIES 8

/* ---- ids ---- */

/*
 * An id is "<secs>P<pid>C<counter>R<random>H<host hash>": lower-case hex
 * fields between upper-case letters, so it is unambiguous, a safe file name
 * everywhere and still unique on case-insensitive file systems. The time,
 * pid and counter make it unique within a host; the random part and the
 * host hash make a clash between hosts sharing the root (same second, same
 * pid, same counter) a 2^-32 event that the EXCL open in tmp/ still catches.
 * At most 16 + 4 * (1 + 8) = 52 characters.
 */
static _Atomic uint32_t id_counter;
static pal_once host_once = PAL_ONCE_INIT;
static uint32_t host_hash;

static void host_hash_init(void)
{
    char name[256];
    if (pal_hostname(name, sizeof name) != 0)
        memcpy(name, "localhost", sizeof "localhost");
    host_hash = yb_hash_bytes(YB_HASH_INIT, name, strlen(name));
}

/* Appends v in lower-case hex (at least one digit) to s at *pos. */
static void put_hex(char *s, size_t *pos, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = digits[v & 15u];
        v >>= 4;
    } while (v != 0);
    while (n > 0)
        s[(*pos)++] = tmp[--n];
}

static int make_id(char id_r[YB_SPOOL_ID_MAX + 1])
{
    unsigned char rnd[4];
    int rc = pal_random_bytes(rnd, sizeof rnd);
    if (rc != 0)
        return rc;
    pal_once_run(&host_once, host_hash_init);
    uint32_t r = (uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 | (uint32_t)rnd[2] << 8 | rnd[3];
    int64_t now = pal_time_now();
    size_t pos = 0;
    put_hex(id_r, &pos, now < 0 ? 0 : (uint64_t)now);
    id_r[pos++] = 'P';
    put_hex(id_r, &pos, (uint32_t)pal_proc_id());
    id_r[pos++] = 'C';
    put_hex(id_r, &pos, atomic_fetch_add(&id_counter, 1u));
    id_r[pos++] = 'R';
    put_hex(id_r, &pos, r);
    id_r[pos++] = 'H';
    put_hex(id_r, &pos, host_hash);
    id_r[pos] = '\0';
    return 0;
}

/* strlen, but stops looking after max bytes. */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0')
        n++;
    return n;
}

static bool id_valid(const char *id, size_t len)
{
    if (len == 0 || len > YB_SPOOL_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

/* ---- paths ---- */

/* ROOT/spool/<sub>[/<id><suffix>] into buf (PAL_PATH_MAX bytes). */
static int spool_path(char *buf, const char *root, const char *sub, const char *id,
                      const char *suffix)
{
    char dir[PAL_PATH_MAX], name[YB_SPOOL_ID_MAX + 8];
    int rc = pal_path_join(dir, sizeof dir, root, "spool");
    if (rc != 0)
        return rc;
    if (id == NULL)
        return pal_path_join(buf, PAL_PATH_MAX, dir, sub);
    char sdir[PAL_PATH_MAX];
    if ((rc = pal_path_join(sdir, sizeof sdir, dir, sub)) != 0)
        return rc;
    int n = snprintf(name, sizeof name, "%s%s", id, suffix);
    if (n < 0 || (size_t)n >= sizeof name)
        return YB_ENAMETOOLONG;
    return pal_path_join(buf, PAL_PATH_MAX, sdir, name);
}

/* ---- the message ---- */

enum msg_state { MSG_OPEN, MSG_COMMITTED, MSG_FAILED };

struct yb_spool_msg {
    enum msg_state state;
    int err; /* sticky error of a failed write */
    struct pal_file *f;
    char id[YB_SPOOL_ID_MAX + 1];
    char tmp_msg[PAL_PATH_MAX]; /* spool/tmp/<id>.msg */
    char root[PAL_PATH_MAX];
    size_t blen;
    unsigned char buf[SPOOL_WRITE_BUF];
};

int yb_spool_begin(const char *root, char id_r[YB_SPOOL_ID_MAX + 1], struct yb_spool_msg **m_r)
{
    static const char *const subs[] = { "tmp", "msg", "queue" };
    char path[PAL_PATH_MAX];
    int rc;
    *m_r = NULL;
    if (root == NULL || strlen(root) >= PAL_PATH_MAX)
        return YB_EINVAL;
    for (size_t i = 0; i < YB_ARRAY_LEN(subs); i++) {
        if ((rc = spool_path(path, root, subs[i], NULL, NULL)) != 0 ||
            (rc = pal_file_mkdirs(path)) != 0)
            return rc;
    }
    struct yb_spool_msg *m = calloc(1, sizeof *m);
    if (m == NULL)
        return YB_ENOMEM;
    memcpy(m->root, root, strlen(root) + 1);
    for (int tries = 0;; tries++) {
        if ((rc = make_id(m->id)) != 0 ||
            (rc = spool_path(m->tmp_msg, root, "tmp", m->id, ".msg")) != 0)
            goto fail;
        rc = pal_fs_open(m->tmp_msg, PAL_O_WRONLY | PAL_O_CREAT | PAL_O_EXCL, 0600, &m->f);
        if (rc == 0)
            break;
        if (rc != YB_EEXIST || tries + 1 >= SPOOL_ID_TRIES)
            goto fail;
    }
    m->state = MSG_OPEN;
    memcpy(id_r, m->id, sizeof m->id);
    *m_r = m;
    return 0;
fail:
    free(m);
    return rc;
}

static int flush_buf(struct yb_spool_msg *m)
{
    if (m->blen == 0)
        return 0;
    int rc = pal_file_write_all(m->f, m->buf, m->blen);
    m->blen = 0;
    return rc;
}

int yb_spool_write(struct yb_spool_msg *m, const void *data, size_t len)
{
    if (m == NULL || (len > 0 && data == NULL))
        return YB_EINVAL;
    if (m->state != MSG_OPEN)
        return m->err != 0 ? m->err : YB_EINVAL;
    if (m->err != 0)
        return m->err;
    if (len == 0)
        return 0;
    const unsigned char *p = data;
    int rc = 0;
    if (len <= sizeof m->buf - m->blen) {
        memcpy(m->buf + m->blen, p, len);
        m->blen += len;
        return 0;
    }
    /* Fill the buffer up, flush it, then write big pieces directly. */
    size_t room = sizeof m->buf - m->blen;
    memcpy(m->buf + m->blen, p, room);
    m->blen += room;
    p += room;
    len -= room;
    if ((rc = flush_buf(m)) != 0)
        goto fail;
    if (len >= sizeof m->buf) {
        size_t direct = len - len % sizeof m->buf;
        if ((rc = pal_file_write_all(m->f, p, direct)) != 0)
            goto fail;
        p += direct;
        len -= direct;
    }
    memcpy(m->buf, p, len);
    m->blen = len;
    return 0;
fail:
    m->err = rc;
    return rc;
}

/* Removes path if it exists; cleanup after a failure, so errors are moot. */
static void remove_quietly(const char *path)
{
    (void)pal_fs_unlink(path);
}

/* Writes text to path (created exclusively), synced and closed. */
static int write_synced(const char *path, const void *text, size_t len, bool *created_r)
{
    struct pal_file *f = NULL;
    int rc = pal_fs_open(path, PAL_O_WRONLY | PAL_O_CREAT | PAL_O_EXCL, 0600, &f);
    if (rc != 0)
        return rc;
    *created_r = true;
    if ((rc = pal_file_write_all(f, text, len)) == 0)
        rc = pal_fs_sync(f);
    int crc = pal_fs_close(&f);
    return rc != 0 ? rc : crc;
}

static _Atomic(const struct yb_spool_hook *) commit_hook;

void yb_spool_set_hook(const struct yb_spool_hook *hook)
{
    atomic_store(&commit_hook, hook);
}

int yb_spool_request_flush(const char *domain)
{
    const struct yb_spool_hook *h = atomic_load(&commit_hook);
    if (h == NULL || h->flush == NULL)
        return YB_ENOTSUP;
    h->flush(h->arg, domain);
    return 0;
}

int yb_spool_commit(struct yb_spool_msg *m, struct yb_envelope *env)
{
    char tmp_env[PAL_PATH_MAX], msg_path[PAL_PATH_MAX], msg_dir[PAL_PATH_MAX];
    char queue_path[PAL_PATH_MAX], queue_dir[PAL_PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    bool env_created = false, msg_moved = false, env_moved = false;
    int rc;

    if (m == NULL || env == NULL)
        return YB_EINVAL;
    if (m->state != MSG_OPEN)
        return m->err != 0 ? m->err : YB_EINVAL;
    if ((rc = m->err) != 0)
        goto fail;
    memcpy(env->id, m->id, sizeof env->id);
    if ((rc = spool_path(tmp_env, m->root, "tmp", m->id, ".env")) != 0 ||
        (rc = spool_path(msg_path, m->root, "msg", m->id, "")) != 0 ||
        (rc = spool_path(msg_dir, m->root, "msg", NULL, NULL)) != 0 ||
        (rc = spool_path(queue_path, m->root, "queue", m->id, "")) != 0 ||
        (rc = spool_path(queue_dir, m->root, "queue", NULL, NULL)) != 0)
        goto fail;
    /* Format first: an envelope that cannot be written costs no I/O. */
    if ((rc = yb_envelope_format(env, &text, &len)) != 0)
        goto fail;

    /* The message: rest of the buffer, then stable storage. */
    if ((rc = flush_buf(m)) != 0 || (rc = pal_fs_sync(m->f)) != 0)
        goto fail;
    rc = pal_fs_close(&m->f);
    m->f = NULL;
    if (rc != 0)
        goto fail;

    if ((rc = write_synced(tmp_env, text, len, &env_created)) != 0)
        goto fail;

    if ((rc = pal_fs_rename(m->tmp_msg, msg_path)) != 0)
        goto fail;
    msg_moved = true;
    if ((rc = pal_fs_sync_dir(msg_dir)) != 0)
        goto fail;
    if ((rc = pal_fs_rename(tmp_env, queue_path)) != 0)
        goto fail;
    env_moved = true;
    env_created = false;
    if ((rc = pal_fs_sync_dir(queue_dir)) != 0)
        goto fail;

    free(text);
    m->state = MSG_COMMITTED;
    const struct yb_spool_hook *h = atomic_load(&commit_hook);
    if (h != NULL)
        h->committed(h->arg, m->id);
    return 0;

fail:
    free(text);
    if (m->f != NULL)
        (void)pal_fs_close(&m->f);
    m->f = NULL;
    if (env_moved) {
        /*
         * The envelope is visible but not known to be durable. Withdraw it;
         * if it is already gone a queue runner has claimed it, and the
         * message must then stay for that runner (the client, told of the
         * failure, may send again: a duplicate rather than a loss).
         */
        if (pal_fs_unlink(queue_path) != 0)
            msg_moved = false;
    }
    if (env_created)
        remove_quietly(tmp_env);
    if (msg_moved)
        remove_quietly(msg_path);
    else if (!env_moved)
        remove_quietly(m->tmp_msg);
    m->state = MSG_FAILED;
    m->err = rc;
    return rc;
}

void yb_spool_free(struct yb_spool_msg **m)
{
    if (m == NULL || *m == NULL)
        return;
    struct yb_spool_msg *msg = *m;
    if (msg->f != NULL)
        (void)pal_fs_close(&msg->f);
    if (msg->state == MSG_OPEN)
        remove_quietly(msg->tmp_msg);
    free(msg);
    *m = NULL;
}

/* ---- the envelope ---- */

static const char *const rcpt_states[] = {
    [YB_RCPT_PENDING] = "pending",
    [YB_RCPT_SENT] = "sent",
    [YB_RCPT_FAILED] = "failed",
    [YB_RCPT_DEFERRED] = "deferred",
};

static bool one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

static const char *const ret_values[] = { "", "FULL", "HDRS" };
static const char *const body_values[] = { "7BIT", "8BITMIME", "BINARYMIME" };

void yb_envelope_clear(struct yb_envelope *env)
{
    if (env == NULL)
        return;
    free(env->from);
    free(env->ret);
    free(env->envid);
    free(env->body);
    free(env->client);
    free(env->helo);
    free(env->auth);
    for (size_t i = 0; i < env->nrcpt && env->rcpt != NULL; i++) {
        free(env->rcpt[i].addr);
        free(env->rcpt[i].notify);
        free(env->rcpt[i].orcpt);
        free(env->rcpt[i].last_error);
    }
    free(env->rcpt);
    memset(env, 0, sizeof *env);
}

static struct yb_slice str_or_empty(const char *s)
{
    return yb_slice_cstr(s != NULL ? s : "");
}

/* One record; a line the reader could not take back is YB_ELIMIT. */
static int put_record(struct yb_buf *out, const struct yb_slice *fields, size_t n)
{
    size_t start = out->len;
    int rc = yb_tab_format_record(out, fields, n);
    if (rc == 0 && out->len - start - 1 > YB_LIMIT_TAB_LINE)
        rc = YB_ELIMIT;
    return rc;
}

int yb_envelope_format(const struct yb_envelope *env, char **text_r, size_t *len_r)
{
    struct yb_buf out;
    char num[32], num2[32];
    int rc = 0;
    *text_r = NULL;
    *len_r = 0;
    if (env == NULL || !id_valid(env->id, bounded_len(env->id, sizeof env->id)) ||
        env->arrival < 0 || env->nrcpt == 0 || env->rcpt == NULL)
        return YB_EINVAL;
    if (env->nrcpt > YB_SPOOL_MAX_RCPTS)
        return YB_ELIMIT;
    if (!one_of(env->ret != NULL ? env->ret : "", ret_values, YB_ARRAY_LEN(ret_values)) ||
        (env->body != NULL && !one_of(env->body, body_values, YB_ARRAY_LEN(body_values))))
        return YB_EINVAL;

    yb_buf_init(&out, YB_LIMIT_ENVELOPE);
    snprintf(num, sizeof num, "%u", (unsigned)YB_SPOOL_VERSION);
    snprintf(num2, sizeof num2, "%lld", (long long)env->arrival);
    const struct yb_slice head[][2] = {
        { YB_SLICE_LIT("version"), yb_slice_cstr(num) },
        { YB_SLICE_LIT("id"), yb_slice_cstr(env->id) },
        { YB_SLICE_LIT("arrival"), yb_slice_cstr(num2) },
        { YB_SLICE_LIT("from"), str_or_empty(env->from) },
        { YB_SLICE_LIT("ret"), str_or_empty(env->ret) },
        { YB_SLICE_LIT("envid"), str_or_empty(env->envid) },
        { YB_SLICE_LIT("smtputf8"), yb_slice_cstr(env->smtputf8 ? "1" : "0") },
        { YB_SLICE_LIT("body"), yb_slice_cstr(env->body != NULL ? env->body : "7BIT") },
        { YB_SLICE_LIT("client"), str_or_empty(env->client) },
        { YB_SLICE_LIT("helo"), str_or_empty(env->helo) },
        { YB_SLICE_LIT("auth"), str_or_empty(env->auth) },
    };
    char next[32];
    snprintf(next, sizeof next, "%lld", (long long)(env->next_attempt > 0 ? env->next_attempt : 0));
    const struct yb_slice sched[][2] = {
        { YB_SLICE_LIT("next"), yb_slice_cstr(next) },
        { YB_SLICE_LIT("warned"), yb_slice_cstr(env->warned ? "1" : "0") },
    };
    for (size_t i = 0; i < YB_ARRAY_LEN(head); i++)
        if ((rc = put_record(&out, head[i], 2)) != 0)
            goto fail;
    for (size_t i = 0; i < YB_ARRAY_LEN(sched); i++)
        if ((rc = put_record(&out, sched[i], 2)) != 0)
            goto fail;
    for (size_t i = 0; i < env->nrcpt; i++) {
        const struct yb_env_rcpt *r = &env->rcpt[i];
        if (r->addr == NULL || r->addr[0] == '\0' || (unsigned)r->state >= 4u) {
            rc = YB_EINVAL;
            goto fail;
        }
        snprintf(num, sizeof num, "%u", r->attempts);
        const struct yb_slice f[7] = { YB_SLICE_LIT("rcpt"),
                                       yb_slice_cstr(r->addr),
                                       yb_slice_cstr(rcpt_states[r->state]),
                                       str_or_empty(r->notify),
                                       str_or_empty(r->orcpt),
                                       yb_slice_cstr(num),
                                       str_or_empty(r->last_error) };
        if ((rc = put_record(&out, f, 7)) != 0)
            goto fail;
    }
    /* The last record: a file cut at a line boundary is refused, not read short. */
    snprintf(num, sizeof num, "%u", (unsigned)env->nrcpt);
    const struct yb_slice end[2] = { YB_SLICE_LIT("end"), yb_slice_cstr(num) };
    if ((rc = put_record(&out, end, 2)) != 0)
        goto fail;
    *text_r = (char *)yb_buf_steal(&out, len_r);
    return 0;
fail:
    yb_buf_free(&out);
    return rc;
}

/* ---- the reader ---- */

enum {
    R_VERSION,
    R_ID,
    R_ARRIVAL,
    R_FROM,
    R_RET,
    R_ENVID,
    R_SMTPUTF8,
    R_BODY,
    R_CLIENT,
    R_HELO,
    R_AUTH,
    R_NEXT,
    R_WARNED,
    R_RCPT,
    R_END,
    R_UNKNOWN
};

static const struct {
    const char *name;
    unsigned nfields;
} known_records[] = {
    [R_VERSION] = { "version", 2 },   [R_ID] = { "id", 2 },     [R_ARRIVAL] = { "arrival", 2 },
    [R_FROM] = { "from", 2 },         [R_RET] = { "ret", 2 },   [R_ENVID] = { "envid", 2 },
    [R_SMTPUTF8] = { "smtputf8", 2 }, [R_BODY] = { "body", 2 }, [R_CLIENT] = { "client", 2 },
    [R_HELO] = { "helo", 2 },         [R_AUTH] = { "auth", 2 }, [R_NEXT] = { "next", 2 },
    [R_WARNED] = { "warned", 2 },     [R_RCPT] = { "rcpt", 7 }, [R_END] = { "end", 2 },
};

static int record_kind(const char *name)
{
    for (int i = 0; i < R_UNKNOWN; i++)
        if (strcmp(name, known_records[i].name) == 0)
            return i;
    return R_UNKNOWN;
}

/* Decimal digits only, at most max. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *v_r)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *v_r = v;
    return true;
}

static char *dup_field(const struct yb_tab_rec *rec, unsigned i)
{
    char *s = malloc((size_t)rec->len[i] + 1);
    if (s != NULL)
        memcpy(s, rec->field[i], (size_t)rec->len[i] + 1);
    return s;
}

/* Copies err into errbuf as "line:column: message" ("file:" first when file is set). */
static void put_error(const struct yb_tab_error *err, const char *file, char *errbuf,
                      size_t errsize)
{
    if (errbuf == NULL || errsize == 0)
        return;
    if (file != NULL) {
        yb_tab_error_format(err, file, errbuf, errsize);
        return;
    }
    int n = err->line > 0 ? snprintf(errbuf, errsize, "%u:%u: %s", err->line, err->column, err->msg)
                          : snprintf(errbuf, errsize, "%s", err->msg);
    if (n < 0)
        errbuf[0] = '\0';
}

/* Line and column of byte offset off in text. */
static void position_of(const unsigned char *text, size_t off, unsigned *line_r, unsigned *col_r)
{
    unsigned line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    *line_r = line;
    *col_r = col;
}

static int take_string(char **dst, const struct yb_tab_rec *rec)
{
    free(*dst);
    *dst = dup_field(rec, 1);
    return *dst != NULL ? 0 : YB_ENOMEM;
}

/*
 * The reader behind both public entry points: fills *err on failure. With
 * want_id set, the envelope must carry that id (it was read from that file).
 */
static int parse_envelope(const void *text, size_t len, const char *want_id,
                          struct yb_envelope *env_r, struct yb_tab_error *err)
{
    struct yb_envelope env;
    struct yb_tab *tab = NULL;
    struct yb_tab_error terr;
    bool seen[R_UNKNOWN] = { false };
    size_t cap = 0;
    unsigned line = 0, col = 0;
    int rc;

    memset(&env, 0, sizeof env);
    memset(env_r, 0, sizeof *env_r);
    memset(err, 0, sizeof *err);
    if (text == NULL && len > 0)
        return yb_tab_error_set(err, YB_EINVAL, 0, 0, "no envelope text");
    if (len > YB_LIMIT_ENVELOPE) {
        position_of(text, YB_LIMIT_ENVELOPE, &line, &col);
        return yb_tab_error_set(err, YB_ELIMIT, line, col,
                                "envelope larger than the limit of %u bytes",
                                (unsigned)YB_LIMIT_ENVELOPE);
    }
    rc = yb_tab_parse(text, len, &tab, &terr);
    if (rc != 0) {
        *err = terr;
        return rc;
    }

    for (size_t i = 0; i < tab->nrec; i++) {
        const struct yb_tab_rec *rec = &tab->rec[i];
        int kind = record_kind(rec->field[0]);
        line = rec->line;
        col = rec->column[0];
        if (i == 0 && kind != R_VERSION) {
            rc =
                yb_tab_error_set(err, YB_EPARSE, line, col,
                                 "the first record must be \"version\", not \"%s\"", rec->field[0]);
            goto fail;
        }
        if (seen[R_END]) {
            rc = yb_tab_error_set(err, YB_EPARSE, line, col, "record \"%s\" after \"end\"",
                                  rec->field[0]);
            goto fail;
        }
        if (kind == R_UNKNOWN)
            continue; /* a newer minor version's record */
        if (rec->nfields != known_records[kind].nfields) {
            rc = yb_tab_error_set(err, YB_EPARSE, line, col,
                                  "\"%s\" record has %u fields, expected %u", rec->field[0],
                                  rec->nfields, known_records[kind].nfields);
            goto fail;
        }
        if (kind != R_RCPT && seen[kind]) {
            rc = yb_tab_error_set(err, YB_EPARSE, line, col, "duplicate \"%s\" record",
                                  rec->field[0]);
            goto fail;
        }
        seen[kind] = true;
        const char *v = rec->field[1];
        unsigned vcol = rec->column[1];
        uint64_t n = 0;
        rc = 0;
        switch (kind) {
        case R_VERSION:
            if (!parse_uint(v, UINT_MAX, &n) || n == 0) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol, "invalid envelope version \"%s\"",
                                      v);
                goto fail;
            }
            if (n > YB_SPOOL_VERSION) {
                rc = yb_tab_error_set(err, YB_ENOTSUP, line, vcol,
                                      "envelope version %s is newer than this build reads (%u)", v,
                                      (unsigned)YB_SPOOL_VERSION);
                goto fail;
            }
            env.version = (unsigned)n;
            break;
        case R_ID:
            if (!id_valid(v, rec->len[1])) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol,
                                      "invalid queue id (1 to %u letters and digits)",
                                      (unsigned)YB_SPOOL_ID_MAX);
                goto fail;
            }
            if (want_id != NULL && strcmp(v, want_id) != 0) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol,
                                      "id \"%s\" does not match the file name", v);
                goto fail;
            }
            memcpy(env.id, v, (size_t)rec->len[1] + 1);
            break;
        case R_ARRIVAL:
            if (!parse_uint(v, INT64_MAX, &n)) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol, "invalid arrival time \"%s\"", v);
                goto fail;
            }
            env.arrival = (int64_t)n;
            break;
        case R_FROM: rc = take_string(&env.from, rec); break;
        case R_RET:
            if (!one_of(v, ret_values, YB_ARRAY_LEN(ret_values))) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol,
                                      "ret must be FULL, HDRS or empty, not \"%s\"", v);
                goto fail;
            }
            rc = take_string(&env.ret, rec);
            break;
        case R_ENVID: rc = take_string(&env.envid, rec); break;
        case R_SMTPUTF8:
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol,
                                      "smtputf8 must be 0 or 1, not \"%s\"", v);
                goto fail;
            }
            env.smtputf8 = v[0] == '1';
            break;
        case R_BODY:
            if (!one_of(v, body_values, YB_ARRAY_LEN(body_values))) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol,
                                      "body must be 7BIT, 8BITMIME or BINARYMIME, not \"%s\"", v);
                goto fail;
            }
            rc = take_string(&env.body, rec);
            break;
        case R_CLIENT: rc = take_string(&env.client, rec); break;
        case R_HELO: rc = take_string(&env.helo, rec); break;
        case R_AUTH: rc = take_string(&env.auth, rec); break;
        case R_NEXT:
            if (!parse_uint(v, INT64_MAX, &n)) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol, "invalid next attempt \"%s\"", v);
                goto fail;
            }
            env.next_attempt = (int64_t)n;
            break;
        case R_WARNED:
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol,
                                      "warned must be 0 or 1, not \"%s\"", v);
                goto fail;
            }
            env.warned = v[0] == '1';
            break;
        case R_RCPT: {
            if (env.nrcpt >= YB_SPOOL_MAX_RCPTS) {
                rc = yb_tab_error_set(err, YB_ELIMIT, line, col, "more than %u recipients",
                                      (unsigned)YB_SPOOL_MAX_RCPTS);
                goto fail;
            }
            if (rec->len[1] == 0) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol, "empty recipient address");
                goto fail;
            }
            size_t st = 0;
            while (st < YB_ARRAY_LEN(rcpt_states) && strcmp(rec->field[2], rcpt_states[st]) != 0)
                st++;
            if (st == YB_ARRAY_LEN(rcpt_states)) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, rec->column[2],
                                      "recipient state must be pending, sent, failed or deferred, "
                                      "not \"%s\"",
                                      rec->field[2]);
                goto fail;
            }
            if (!parse_uint(rec->field[5], UINT_MAX, &n)) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, rec->column[5],
                                      "invalid attempt count \"%s\"", rec->field[5]);
                goto fail;
            }
            if (env.nrcpt == cap) {
                size_t ncap = cap == 0 ? 8 : cap * 2;
                if (ncap > YB_SPOOL_MAX_RCPTS)
                    ncap = YB_SPOOL_MAX_RCPTS;
                struct yb_env_rcpt *nr = realloc(env.rcpt, ncap * sizeof *nr);
                if (nr == NULL) {
                    rc = YB_ENOMEM;
                    break;
                }
                env.rcpt = nr;
                cap = ncap;
            }
            struct yb_env_rcpt *r = &env.rcpt[env.nrcpt];
            memset(r, 0, sizeof *r);
            env.nrcpt++; /* counted now so a failure below frees what was taken */
            r->state = (enum yb_rcpt_state)st;
            r->attempts = (unsigned)n;
            r->addr = dup_field(rec, 1);
            r->notify = dup_field(rec, 3);
            r->orcpt = dup_field(rec, 4);
            r->last_error = dup_field(rec, 6);
            if (!r->addr || !r->notify || !r->orcpt || !r->last_error)
                rc = YB_ENOMEM;
            break;
        }
        case R_END:
            if (!parse_uint(v, SIZE_MAX, &n) || n != env.nrcpt) {
                rc = yb_tab_error_set(err, YB_EPARSE, line, vcol,
                                      "\"end\" says %s recipients, the envelope has %u", v,
                                      (unsigned)env.nrcpt);
                goto fail;
            }
            break;
        default: break;
        }
        if (rc != 0) {
            rc = yb_tab_error_set(err, rc, line, col, "out of memory");
            goto fail;
        }
    }

    /* What every envelope must say, reported at the end of the file. */
    position_of(text, len, &line, &col);
    static const int mandatory[] = { R_VERSION, R_ID, R_FROM, R_RCPT, R_END };
    for (size_t i = 0; i < YB_ARRAY_LEN(mandatory); i++) {
        if (!seen[mandatory[i]]) {
            if (mandatory[i] == R_END)
                rc = yb_tab_error_set(err, YB_EPARSE, line, col,
                                      "no \"end\" record: the envelope is truncated");
            else
                rc = yb_tab_error_set(err, YB_EPARSE, line, col, "missing \"%s\" record",
                                      known_records[mandatory[i]].name);
            goto fail;
        }
    }
    /* Records the writer always emits may be absent in hand-made files. */
    char **defaults[] = { &env.ret, &env.envid, &env.body, &env.client, &env.helo, &env.auth };
    for (size_t i = 0; i < YB_ARRAY_LEN(defaults); i++) {
        if (*defaults[i] == NULL) {
            const char *d = defaults[i] == &env.body ? "7BIT" : "";
            size_t dl = strlen(d) + 1;
            if ((*defaults[i] = malloc(dl)) == NULL) {
                rc = yb_tab_error_set(err, YB_ENOMEM, 0, 0, "out of memory");
                goto fail;
            }
            memcpy(*defaults[i], d, dl);
        }
    }
    yb_tab_free(&tab);
    *env_r = env;
    return 0;
fail:
    yb_tab_free(&tab);
    yb_envelope_clear(&env);
    return rc;
}

int yb_envelope_parse(const void *text, size_t len, struct yb_envelope *env_r, char *errbuf,
                      size_t errsize)
{
    struct yb_tab_error err;
    int rc = parse_envelope(text, len, NULL, env_r, &err);
    if (rc != 0)
        put_error(&err, NULL, errbuf, errsize);
    else if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    return rc;
}

int yb_spool_read_envelope(const char *root, const char *id, struct yb_envelope *env_r,
                           char *errbuf, size_t errsize)
{
    return yb_spool_read_envelope_in(root, "queue", id, env_r, errbuf, errsize);
}

int yb_spool_read_envelope_in(const char *root, const char *dir, const char *id,
                              struct yb_envelope *env_r, char *errbuf, size_t errsize)
{
    char path[PAL_PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    struct yb_tab_error err;
    int rc;
    memset(env_r, 0, sizeof *env_r);
    memset(&err, 0, sizeof err);
    if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    /* Letters and digits only: no separator, no "..", nothing outside queue/. */
    if (root == NULL || id == NULL || !id_valid(id, bounded_len(id, YB_SPOOL_ID_MAX + 1))) {
        yb_tab_error_set(&err, YB_EINVAL, 0, 0, "invalid queue id (1 to %u letters and digits)",
                         (unsigned)YB_SPOOL_ID_MAX);
        put_error(&err, NULL, errbuf, errsize);
        return err.code;
    }
    if ((rc = spool_path(path, root, dir, id, "")) != 0) {
        yb_tab_error_set(&err, rc, 0, 0, "spool path too long");
        put_error(&err, NULL, errbuf, errsize);
        return rc;
    }
    rc = pal_file_read_all(path, YB_LIMIT_ENVELOPE, &data, &len);
    if (rc == YB_ELIMIT)
        yb_tab_error_set(&err, rc, 0, 0, "envelope larger than the limit of %u bytes",
                         (unsigned)YB_LIMIT_ENVELOPE);
    else if (rc != 0)
        yb_tab_error_set(&err, rc, 0, 0, "cannot read: %s", yb_strerror(rc));
    else
        rc = parse_envelope(data, len, id, env_r, &err);
    free(data);
    if (rc != 0)
        put_error(&err, path, errbuf, errsize);
    return rc;
}
