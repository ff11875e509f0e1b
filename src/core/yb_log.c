/*
 * yb_log.c - logging to stderr and per-service files.
 */
#include "yb_log.h"
#include "pal.h"
#include "yb_buf.h"
#include "yb_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MAX_FILES   16
#define LOG_SERVICE_MAX 32
#define LOG_RECORD_MAX  (YB_LIMIT_LOG_MESSAGE * 4 + 128) /* escaping may quadruple */

struct log_file {
    char service[LOG_SERVICE_MAX];
    struct pal_file *f;
};

static struct {
    pal_mutex lock;
    char dir[PAL_PATH_MAX];
    bool have_dir;
    bool to_stderr;
    enum yb_log_level level;
    struct log_file files[LOG_MAX_FILES];
    void (*hook)(void *, enum yb_log_level, const char *);
    void *hook_arg;
} g_log = {.to_stderr = true, .level = YB_LOG_INFO};

static pal_once g_log_once = PAL_ONCE_INIT;

static void log_init(void)
{
    if (pal_mutex_init(&g_log.lock) != 0)
        abort();
}

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int yb_log_level_parse(const char *name, enum yb_log_level *level_r)
{
    for (int i = 0; i < 4; i++) {
        if (yb_slice_eq_cstr_nocase(yb_slice_cstr(name), level_names[i])) {
            *level_r = (enum yb_log_level)i;
            return 0;
        }
    }
    if (yb_slice_eq_cstr_nocase(yb_slice_cstr(name), "warning")) {
        *level_r = YB_LOG_WARN;
        return 0;
    }
    return YB_EPARSE;
}

static void close_files_locked(void)
{
    for (int i = 0; i < LOG_MAX_FILES; i++) {
        if (g_log.files[i].f != NULL)
            pal_fs_close(&g_log.files[i].f);
        g_log.files[i].service[0] = '\0';
    }
}

int yb_log_configure(const char *logdir, bool to_stderr, enum yb_log_level level)
{
    pal_once_run(&g_log_once, log_init);
    int rc = 0;
    if (logdir != NULL) {
        rc = pal_file_mkdirs(logdir);
        if (rc == 0 && strlen(logdir) >= sizeof(g_log.dir))
            rc = YB_ENAMETOOLONG;
    }
    pal_mutex_lock(&g_log.lock);
    close_files_locked();
    g_log.have_dir = logdir != NULL && rc == 0;
    if (g_log.have_dir)
        memcpy(g_log.dir, logdir, strlen(logdir) + 1);
    g_log.to_stderr = to_stderr || !g_log.have_dir;
    g_log.level = level;
    pal_mutex_unlock(&g_log.lock);
    return rc;
}

void yb_log_close(void)
{
    pal_once_run(&g_log_once, log_init);
    pal_mutex_lock(&g_log.lock);
    close_files_locked();
    g_log.have_dir = false;
    g_log.to_stderr = true;
    pal_mutex_unlock(&g_log.lock);
}

void yb_log_set_hook(void (*fn)(void *arg, enum yb_log_level level, const char *record), void *arg)
{
    pal_once_run(&g_log_once, log_init);
    pal_mutex_lock(&g_log.lock);
    g_log.hook = fn;
    g_log.hook_arg = arg;
    pal_mutex_unlock(&g_log.lock);
}

/* Appends s to b with control characters, invalid UTF-8 and '\\' escaped. */
static void append_escaped(struct yb_buf *b, const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c == '\\') {
            yb_buf_append(b, "\\\\", 2);
            i++;
        } else if (c == '\t') {
            yb_buf_append(b, "\\t", 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            yb_buf_printf(b, "\\x%02X", c);
            i++;
        } else if (c < 0x80) {
            yb_buf_append_byte(b, c);
            i++;
        } else {
            size_t n = yb_utf8_seq_len(s + i, len - i);
            if (n == 0) {
                yb_buf_printf(b, "\\x%02X", c);
                i++;
            } else {
                yb_buf_append(b, s + i, n);
                i += n;
            }
        }
    }
}

/* Service names become file names: keep [A-Za-z0-9_-] only. */
static void safe_service(const char *service, char *out)
{
    size_t j = 0;
    for (size_t i = 0; service[i] != '\0' && j + 1 < LOG_SERVICE_MAX; i++) {
        char c = service[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_')
            out[j++] = c;
    }
    if (j == 0)
        out[j++] = '_';
    out[j] = '\0';
}

static struct pal_file *file_for_locked(const char *service)
{
    int free_slot = -1;
    for (int i = 0; i < LOG_MAX_FILES; i++) {
        if (g_log.files[i].f != NULL && strcmp(g_log.files[i].service, service) == 0)
            return g_log.files[i].f;
        if (g_log.files[i].f == NULL && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0)
        return NULL;
    char name[LOG_SERVICE_MAX + 8], path[PAL_PATH_MAX];
    snprintf(name, sizeof(name), "%s.log", service);
    if (pal_path_join(path, sizeof(path), g_log.dir, name) != 0)
        return NULL;
    struct log_file *lf = &g_log.files[free_slot];
    if (pal_fs_open(path, PAL_O_WRONLY | PAL_O_CREAT | PAL_O_APPEND, 0640, &lf->f) != 0)
        return NULL;
    memcpy(lf->service, service, strlen(service) + 1);
    return lf->f;
}

void yb_logv(enum yb_log_level level, const char *service, const char *fmt, va_list ap)
{
    pal_once_run(&g_log_once, log_init);
    if (level > g_log.level && g_log.hook == NULL)
        return;
    char msg[YB_LIMIT_LOG_MESSAGE + 1];
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t mlen = n < 0 ? 0 : (size_t)n;
    bool cut = mlen > YB_LIMIT_LOG_MESSAGE;
    if (cut)
        mlen = YB_LIMIT_LOG_MESSAGE;

    char svc[LOG_SERVICE_MAX];
    safe_service(service != NULL ? service : "yubind", svc);

    struct pal_civil c;
    int64_t now_ms = pal_time_now_ms();
    pal_time_to_civil(now_ms / 1000, &c);
    struct yb_buf rec;
    yb_buf_init(&rec, LOG_RECORD_MAX);
    yb_buf_printf(&rec, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ\t%s\t%s\t", (long long)c.year,
                  c.month, c.day, c.hour, c.min, c.sec, (int)(now_ms % 1000), level_names[level],
                  svc);
    append_escaped(&rec, (const unsigned char *)msg, mlen);
    if (cut)
        yb_buf_append_cstr(&rec, "...");

    pal_mutex_lock(&g_log.lock);
    if (g_log.hook != NULL && rec.p != NULL)
        g_log.hook(g_log.hook_arg, level, (const char *)rec.p);
    if (level <= g_log.level && rec.p != NULL) {
        yb_buf_append_byte(&rec, '\n');
        if (g_log.to_stderr) {
            fwrite(rec.p, 1, rec.len, stderr);
            fflush(stderr);
        }
        if (g_log.have_dir) {
            struct pal_file *f = file_for_locked(svc);
            if (f != NULL)
                pal_file_write_all(f, rec.p, rec.len);
        }
    }
    pal_mutex_unlock(&g_log.lock);
    yb_buf_free(&rec);
}

void yb_log(enum yb_log_level level, const char *service, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    yb_logv(level, service, fmt, ap);
    va_end(ap);
}
