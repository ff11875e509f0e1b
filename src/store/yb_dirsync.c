/*
 * yb_dirsync.c - group commit for directory syncs (see yb_dirsync.h).
 *
 * A small fixed table of directories being synced, under one lock. Each
 * caller takes a generation number after its own change; a sync records the
 * newest generation it covers when it starts; a caller is done when a sync
 * that covers its generation has succeeded. A failed sync advances nothing:
 * the next waiter runs its own. A directory whose slot is taken by another
 * busy directory is synced directly, uncoalesced.
 */
#include "yb_dirsync.h"
#include "pal.h"
#include "yb_hash.h"

#include <string.h>

#define YB_DIRSYNC_SLOTS 64

struct dirsync_slot {
    char path[PAL_PATH_MAX];
    uint64_t requested; /* last generation handed out */
    uint64_t done;      /* every generation up to this one is durable */
    unsigned users;     /* callers inside yb_dirsync for this path */
    bool syncing;
};

static struct dirsync_slot slots[YB_DIRSYNC_SLOTS];
static pal_mutex lock;
static pal_cond changed;
static pal_once once = PAL_ONCE_INIT;
static bool usable;

static void init(void)
{
    usable = pal_mutex_init(&lock) == 0 && pal_cond_init(&changed) == 0;
}

static size_t slot_of(const char *path)
{
    return yb_hash_bytes(YB_HASH_INIT, path, strlen(path)) % YB_DIRSYNC_SLOTS;
}

int yb_dirsync(const char *path)
{
    size_t n = strlen(path);
    pal_once_run(&once, init);
    if (!usable || n >= PAL_PATH_MAX)
        return pal_fs_sync_dir(path);
    struct dirsync_slot *sl = &slots[slot_of(path)];
    pal_mutex_lock(&lock);
    if (strcmp(sl->path, path) != 0) {
        if (sl->users > 0) {
            pal_mutex_unlock(&lock); /* another directory owns the slot now */
            return pal_fs_sync_dir(path);
        }
        memcpy(sl->path, path, n + 1);
        sl->requested = sl->done = 0;
    }
    sl->users++;
    uint64_t mine = ++sl->requested;
    int rc = 0;
    while (sl->done < mine) {
        if (sl->syncing) {
            pal_cond_wait(&changed, &lock);
            continue;
        }
        sl->syncing = true;
        uint64_t covers = sl->requested;
        pal_mutex_unlock(&lock);
        rc = pal_fs_sync_dir(path);
        pal_mutex_lock(&lock);
        sl->syncing = false;
        if (rc == 0 && covers > sl->done)
            sl->done = covers;
        pal_cond_broadcast(&changed);
        if (rc != 0)
            break; /* ours failed; a waiter will try its own */
    }
    sl->users--;
    pal_mutex_unlock(&lock);
    return rc;
}
