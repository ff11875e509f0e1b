/*
 * queue_admin.c - the queue's administrative API (see yb_queue.h): works
 * on ROOT alone, so CTRL commands can call it in any process sharing ROOT.
 */
#include "queue_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir_name(enum yb_queue_dir where)
{
    return where == YB_QDIR_QUEUE ? "queue" : where == YB_QDIR_ACTIVE ? "active" : "frozen";
}

/* Letters and digits only: nothing outside the spool can be named. */
static bool valid_id(const char *id)
{
    size_t n = 0;
    if (id == NULL)
        return false;
    for (; id[n] != '\0'; n++) {
        char c = id[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return n > 0 && n <= YB_SPOOL_ID_MAX;
}

int yb_queue_list(const char *root, enum yb_queue_dir where, struct yb_queue_entry **e_r,
                  size_t *n_r)
{
    char dir[PAL_PATH_MAX];
    struct pal_dir *d = NULL;
    struct pal_dirent ent;
    struct yb_queue_entry *arr = NULL;
    size_t n = 0, cap = 0;
    int rc;
    *e_r = NULL;
    *n_r = 0;
    if ((rc = queue_path_root(root, dir, dir_name(where), NULL)) != 0)
        return rc;
    if ((rc = pal_fs_dir_open(dir, &d)) != 0)
        return rc == YB_ENOENT ? 0 : rc;
    while ((rc = pal_fs_dir_next(d, &ent)) == 0 && ent.name != NULL) {
        if (!valid_id(ent.name))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            struct yb_queue_entry *na = realloc(arr, nc * sizeof *na);
            if (na == NULL) {
                rc = YB_ENOMEM;
                break;
            }
            arr = na;
            cap = nc;
        }
        struct yb_queue_entry *e = &arr[n];
        memset(e, 0, sizeof *e);
        snprintf(e->id, sizeof e->id, "%s", ent.name);
        e->where = where;
        struct yb_envelope env;
        char err[600];
        int erc = yb_spool_read_envelope_in(root, dir_name(where), ent.name, &env, err, sizeof err);
        if (erc == YB_ENOENT)
            continue; /* moved meanwhile */
        n++;
        if (erc != 0) {
            snprintf(e->last_error, sizeof e->last_error, "unreadable envelope: %s", err);
            continue;
        }
        e->arrival = env.arrival;
        e->next_attempt = env.next_attempt;
        snprintf(e->from, sizeof e->from, "%s", env.from);
        e->nrcpt = (unsigned)env.nrcpt;
        for (size_t i = 0; i < env.nrcpt; i++) {
            const struct yb_env_rcpt *r = &env.rcpt[i];
            if (r->state == YB_RCPT_PENDING || r->state == YB_RCPT_DEFERRED) {
                if (e->nwaiting++ == 0)
                    snprintf(e->last_error, sizeof e->last_error, "%s", r->last_error);
            }
        }
        yb_envelope_clear(&env);
    }
    pal_fs_dir_close(&d);
    if (rc != 0) {
        free(arr);
        return rc;
    }
    *e_r = arr;
    *n_r = n;
    return 0;
}

int yb_queue_thaw(const char *root, const char *id)
{
    char from[PAL_PATH_MAX], to[PAL_PATH_MAX], err[600];
    struct yb_envelope env;
    char *text = NULL;
    size_t len = 0;
    int rc;
    if (!valid_id(id))
        return YB_EINVAL;
    if ((rc = queue_path_root(root, from, "frozen", id)) != 0 ||
        (rc = queue_path_root(root, to, "queue", id)) != 0)
        return rc;
    rc = yb_spool_read_envelope_in(root, "frozen", id, &env, err, sizeof err);
    if (rc != 0)
        return rc; /* an unreadable envelope must be repaired or deleted, not queued */
    for (size_t i = 0; i < env.nrcpt; i++) {
        /* A frozen DSN's failed recipient is tried again: that is what thawing asks. */
        if (env.rcpt[i].state == YB_RCPT_FAILED && env.from[0] == '\0')
            env.rcpt[i].state = YB_RCPT_PENDING;
    }
    env.next_attempt = 0;
    rc = yb_envelope_format(&env, &text, &len);
    yb_envelope_clear(&env);
    if (rc == 0)
        rc = pal_file_replace(from, text, len);
    free(text);
    if (rc == 0)
        rc = pal_fs_rename(from, to);
    if (rc == 0)
        queue_note(root, id, YB_LOG_INFO, "thawed by the administrator");
    return rc;
}

int yb_queue_delete_frozen(const char *root, const char *id)
{
    char path[PAL_PATH_MAX];
    int rc;
    if (!valid_id(id))
        return YB_EINVAL;
    if ((rc = queue_path_root(root, path, "frozen", id)) != 0 || (rc = pal_fs_unlink(path)) != 0)
        return rc;
    yb_log_info("queue", "%s: frozen message deleted by the administrator", id);
    if (queue_path_root(root, path, "msg", id) == 0)
        pal_fs_unlink(path);
    if (queue_path_root(root, path, "log", id) == 0)
        pal_fs_unlink(path);
    return 0;
}

int yb_queue_read_log(const char *root, const char *id, char **text_r, size_t *len_r)
{
    char path[PAL_PATH_MAX];
    int rc;
    if (!valid_id(id))
        return YB_EINVAL;
    if ((rc = queue_path_root(root, path, "log", id)) != 0)
        return rc;
    return pal_file_read_all(path, 16u * 1024 * 1024, text_r, len_r);
}

int yb_queue_read_message(const char *root, const char *id, uint64_t max, char **data_r,
                          size_t *len_r)
{
    char path[PAL_PATH_MAX];
    int rc;
    if (!valid_id(id))
        return YB_EINVAL;
    if ((rc = queue_path_root(root, path, "msg", id)) != 0)
        return rc;
    return pal_file_read_all(path, (size_t)max, data_r, len_r);
}
