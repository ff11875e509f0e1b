/*
 * service_probe.c - a minimal Windows service for
 * tests/service/test_service_wine.sh.
 *
 *   service_probe --install NAME DIR [ARG...]   install NAME, to be started as
 *                                               "service_probe --service NAME DIR ARG..."
 *   service_probe --remove NAME                 stop (if running) and delete NAME
 *   service_probe --service NAME DIR [ARG...]   what the SCM runs
 *
 * As the service it starts event delivery, reports RUNNING, writes
 * DIR/started (its pid, then each ARG on a line of its own, so the script
 * can check the command-line quoting), waits up to WAIT_LIMIT_MS for the
 * shutdown a STOP control delivers, writes DIR/stopped and returns 0
 * (4 when it was never asked to stop). Markers are replaced atomically, so
 * the script never reads half of one.
 *
 * Exit codes: 0 done, 1 usage, 2 install/remove failed (message on stderr),
 * 3 "--service" not started by the service manager, other: pal_service_run.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pal_err.h"
#include "pal_file.h"
#include "pal_process.h"
#include "pal_service.h"
#include "pal_thread.h"
#include "pal_time.h"

#define WAIT_LIMIT_MS 60000
#define MARKER_MAX    4096

struct probe {
    const char *dir;
    int nextra;
    char **extra;
};

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

static int write_marker(const char *dir, const char *name, const char *text)
{
    char path[PAL_PATH_MAX];
    int rc = pal_path_join(path, sizeof path, dir, name);
    if (rc == 0)
        rc = pal_file_replace(path, text, strlen(text));
    return rc;
}

static int service_main(void *arg)
{
    struct probe *p = arg;
    char text[MARKER_MAX];
    size_t len;
    int n;

    if (pal_mutex_init(&g_lock) != 0 || pal_cond_init(&g_cond) != 0)
        return 10;
    /* Delivery first, then RUNNING: from then on the SCM may send STOP. */
    if (pal_proc_events_start(on_event, NULL) != 0)
        return 11;
    pal_service_running();

    n = snprintf(text, sizeof text, "%lu\n", (unsigned long)pal_proc_id());
    if (n < 0 || (size_t)n >= sizeof text)
        return 12;
    len = (size_t)n;
    for (int i = 0; i < p->nextra; i++) {
        n = snprintf(text + len, sizeof text - len, "[%s]\n", p->extra[i]);
        if (n < 0 || (size_t)n >= sizeof text - len)
            return 12;
        len += (size_t)n;
    }
    if (write_marker(p->dir, "started", text) != 0)
        return 13;

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
    if (write_marker(p->dir, "stopped", asked ? "stopped\n" : "timed out\n") != 0)
        return 14;
    return asked ? 0 : 4;
}

int main(int argc, char **argv)
{
    char err[PAL_SERVICE_ERR_MAX];
    int rc;

    if (argc >= 4 && strcmp(argv[1], "--install") == 0) {
        char display[256];
        snprintf(display, sizeof display, "yubin test service %s", argv[2]);
        rc = pal_service_install(argv[2], display, (const char *const *)argv + 2,
                                 (size_t)(argc - 2), err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "service_probe: %s (%s)\n", err, yb_errname(rc));
            return 2;
        }
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--remove") == 0) {
        rc = pal_service_remove(argv[2], err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "service_probe: %s (%s)\n", err, yb_errname(rc));
            return 2;
        }
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "--service") == 0) {
        struct probe p = { argv[3], argc - 4, argv + 4 };
        rc = pal_service_run(argv[2], service_main, &p);
        if (rc == YB_ENOTCONN) {
            fprintf(stderr, "service_probe: not started by the service manager\n");
            return 3;
        }
        if (rc < 0) {
            fprintf(stderr, "service_probe: %s\n", yb_errname(rc));
            return 5;
        }
        return rc;
    }
    fprintf(stderr, "usage: service_probe --install NAME DIR [ARG...] | --remove NAME |"
                    " --service NAME DIR [ARG...]\n");
    return 1;
}
