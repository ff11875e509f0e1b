/*
 * daemon_probe.c - a minimal Unix daemon for tests/service/test_daemon.sh.
 *
 *   daemon_probe PIDFILE
 *
 * Detaches with pal_daemonize(PIDFILE) - so this command returns only once
 * the daemon has written PIDFILE, 0 if it did, 1 with the reason on stderr
 * if it did not - then waits up to WAIT_LIMIT_MS for SIGTERM/SIGINT
 * (delivered by pal_proc_events_start), removes its pidfile and exits.
 * An error found before forking exits 2.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pal_err.h"
#include "pal_process.h"
#include "pal_service.h"
#include "pal_thread.h"
#include "pal_time.h"

#define WAIT_LIMIT_MS 30000

static pal_mutex g_lock;
static pal_cond g_cond;
static bool g_shutdown;

static void on_event(void *arg, unsigned event)
{
    (void)arg;
    if (!(event & PAL_PROC_SHUTDOWN))
        return;
    pal_mutex_lock(&g_lock);
    g_shutdown = true;
    pal_cond_broadcast(&g_cond);
    pal_mutex_unlock(&g_lock);
}

int main(int argc, char **argv)
{
    char err[PAL_SERVICE_ERR_MAX];

    if (argc != 2) {
        fprintf(stderr, "usage: daemon_probe PIDFILE\n");
        return 2;
    }
    /* Before any thread: fork copies only the calling one. */
    int rc = pal_daemonize(argv[1], err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "daemon_probe: %s (%s)\n", err, yb_errname(rc));
        return 2;
    }
    /* The daemon: stdio is /dev/null from here on. */
    if (pal_mutex_init(&g_lock) != 0 || pal_cond_init(&g_cond) != 0 ||
        pal_proc_events_start(on_event, NULL) != 0) {
        pal_pidfile_remove(argv[1]);
        return 3;
    }
    uint64_t deadline = pal_time_mono_ms() + WAIT_LIMIT_MS;
    pal_mutex_lock(&g_lock);
    while (!g_shutdown) {
        uint64_t now = pal_time_mono_ms();
        if (now >= deadline)
            break;
        pal_cond_timedwait(&g_cond, &g_lock, (unsigned)(deadline - now));
    }
    bool asked = g_shutdown;
    pal_mutex_unlock(&g_lock);
    pal_proc_events_stop();
    pal_pidfile_remove(argv[1]);
    return asked ? 0 : 4;
}
