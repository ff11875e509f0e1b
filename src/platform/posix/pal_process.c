/*
 * pal_process.c - process events on POSIX via the self-pipe pattern: the
 * signal handler only write()s one byte (async-signal-safe); a dedicated
 * thread reads the pipe and calls the user's callback in a normal context.
 * pal_proc_request() writes to the same pipe, so every source looks alike.
 */
#include "pal_process.h"
#include "pal_err.h"
#include "pal_posix.h"
#include "pal_thread.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define EV_BYTE_SHUTDOWN 'S'
#define EV_BYTE_RELOAD   'R'
#define EV_BYTE_QUIT     'Q'

static int ev_pipe[2] = { -1, -1 };
static struct pal_thread *ev_thread;
static void (*ev_notify)(void *, unsigned);
static void *ev_arg;
static atomic_int ev_active;
static struct sigaction old_term, old_int, old_hup;

static void on_signal(int sig)
{
    int saved = errno;
    char b = sig == SIGHUP ? EV_BYTE_RELOAD : EV_BYTE_SHUTDOWN;
    ssize_t n = write(ev_pipe[1], &b, 1);
    (void)n; /* a full pipe already holds a pending event */
    errno = saved;
}

static void event_thread(void *arg)
{
    (void)arg;
    for (;;) {
        char b;
        ssize_t n = read(ev_pipe[0], &b, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || b == EV_BYTE_QUIT)
            return;
        ev_notify(ev_arg, b == EV_BYTE_RELOAD ? PAL_PROC_RELOAD : PAL_PROC_SHUTDOWN);
    }
}

int pal_proc_events_start(void (*notify)(void *arg, unsigned event), void *arg)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&ev_active, &expect, 1))
        return YB_EBUSY;
    if (pipe(ev_pipe) != 0) {
        atomic_store(&ev_active, 0);
        return pal__err_from_errno(errno);
    }
    pal__fd_setup(ev_pipe[0], 0);
    pal__fd_setup(ev_pipe[1], 1);
    ev_notify = notify;
    ev_arg = arg;
    int rc = pal_thread_start(&ev_thread, event_thread, NULL);
    if (rc != 0) {
        close(ev_pipe[0]);
        close(ev_pipe[1]);
        ev_pipe[0] = ev_pipe[1] = -1;
        atomic_store(&ev_active, 0);
        return rc;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGHUP, &sa, &old_hup);
    return 0;
}

void pal_proc_events_stop(void)
{
    if (!atomic_load(&ev_active))
        return;
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    char b = EV_BYTE_QUIT;
    /* The pipe is non-blocking: if it is full, the event thread is draining it. */
    for (int tries = 0; write(ev_pipe[1], &b, 1) < 0 && tries < 10000; tries++) {
        if (errno != EINTR && errno != EAGAIN)
            break;
        pal_sleep_ms(1);
    }
    pal_thread_join(&ev_thread);
    close(ev_pipe[0]);
    close(ev_pipe[1]);
    ev_pipe[0] = ev_pipe[1] = -1;
    atomic_store(&ev_active, 0);
}

int pal_proc_request(unsigned event)
{
    if (!atomic_load(&ev_active))
        return YB_EINVAL;
    if (event & PAL_PROC_RELOAD) {
        char b = EV_BYTE_RELOAD;
        if (write(ev_pipe[1], &b, 1) < 0 && errno != EAGAIN)
            return pal__err_from_errno(errno);
    }
    if (event & PAL_PROC_SHUTDOWN) {
        char b = EV_BYTE_SHUTDOWN;
        if (write(ev_pipe[1], &b, 1) < 0 && errno != EAGAIN)
            return pal__err_from_errno(errno);
    }
    return 0;
}

uint64_t pal_proc_id(void)
{
    return (uint64_t)getpid();
}

int pal_hostname(char *buf, size_t size)
{
    char name[256];
    if (gethostname(name, sizeof(name)) != 0)
        return pal__err_from_errno(errno);
    name[sizeof(name) - 1] = '\0';
    size_t n = strlen(name);
    if (n + 1 > size)
        return YB_ERANGE;
    memcpy(buf, name, n + 1);
    return 0;
}
