/*
 * win32/pal_process.c - shutdown/reload events, process id, host name.
 *
 * Every source of events feeds one small queue under an SRW lock: the
 * console control handler (which Windows runs on a thread it creates for
 * the purpose), pal_proc_request() from code and tests, and - later - the
 * service control handler, which only has to call pal_proc_request(). A
 * dedicated event thread sleeps on a condition variable, takes the queue
 * and calls notify(arg, event) outside the lock, so the callback runs in an
 * ordinary thread and may lock, allocate and log.
 *
 * Windows has no reload signal; PAL_PROC_RELOAD arrives only through
 * pal_proc_request() (from the service's paramchange control, CTRL...).
 */
#include "pal_process.h"
#include "pal_thread.h"
#include "pal_win32.h"

#include <stdbool.h>
#include <string.h>
#include <stdlib.h>

/* Pending events in arrival order; a kind already queued is not queued twice. */
#define QUEUE_MAX 2

static SRWLOCK ev_lock = SRWLOCK_INIT;
static CONDITION_VARIABLE ev_cond = CONDITION_VARIABLE_INIT;
static bool ev_active; /* between a successful start and the end of stop */
static bool ev_quit;   /* stop asked the event thread to leave */
static unsigned ev_queue[QUEUE_MAX];
static size_t ev_queued;
static void (*ev_notify)(void *arg, unsigned event);
static void *ev_arg;
static struct pal_thread *ev_thread;
static DWORD ev_thread_tid;

static void event_thread(void *unused)
{
    unsigned batch[QUEUE_MAX];
    size_t n, i;

    AcquireSRWLockExclusive(&ev_lock);
    ev_thread_tid = GetCurrentThreadId();
    for (;;) {
        while (ev_queued == 0 && !ev_quit)
            SleepConditionVariableSRW(&ev_cond, &ev_lock, INFINITE, 0);
        if (ev_quit)
            break;
        n = ev_queued;
        memcpy(batch, ev_queue, n * sizeof(batch[0]));
        ev_queued = 0;
        ReleaseSRWLockExclusive(&ev_lock);
        for (i = 0; i < n; i++)
            ev_notify(ev_arg, batch[i]);
        AcquireSRWLockExclusive(&ev_lock);
    }
    ReleaseSRWLockExclusive(&ev_lock);
}

/* Queues one event kind; the caller holds ev_lock. */
static void enqueue_locked(unsigned event)
{
    size_t i;

    for (i = 0; i < ev_queued; i++) {
        if (ev_queue[i] == event)
            return;
    }
    if (ev_queued < QUEUE_MAX)
        ev_queue[ev_queued++] = event;
    WakeConditionVariable(&ev_cond);
}

/*
 * Runs on a thread the system creates. Ctrl-C and Ctrl-Break come from the
 * console, CTRL_CLOSE when its window closes, CTRL_SHUTDOWN when Windows
 * shuts down (services only). For CLOSE and SHUTDOWN the process is killed
 * as soon as this handler returns, so it waits until the server has
 * stopped event delivery (its last act of shutting down) or the system's
 * own deadline (about 5 s for CLOSE, 20 s for SHUTDOWN) ends the process.
 *
 * CTRL_LOGOFF_EVENT is deliberately ignored: Windows sends it only to
 * services, whenever any user logs off, and a service must keep running
 * then (interactive console programs are simply terminated at logoff).
 */
static BOOL WINAPI console_handler(DWORD type)
{
    bool wait_exit;

    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT: wait_exit = false; break;
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT: wait_exit = true; break;
    default: return FALSE;
    }
    AcquireSRWLockExclusive(&ev_lock);
    if (!ev_active) {
        ReleaseSRWLockExclusive(&ev_lock);
        return FALSE; /* let the default handler end the process */
    }
    enqueue_locked(PAL_PROC_SHUTDOWN);
    while (wait_exit && ev_active)
        SleepConditionVariableSRW(&ev_cond, &ev_lock, INFINITE, 0);
    ReleaseSRWLockExclusive(&ev_lock);
    return TRUE;
}

int pal_proc_events_start(void (*notify)(void *arg, unsigned event), void *arg)
{
    int err;

    if (notify == NULL)
        return YB_EINVAL;
    AcquireSRWLockExclusive(&ev_lock);
    if (ev_active) {
        ReleaseSRWLockExclusive(&ev_lock);
        return YB_EBUSY;
    }
    ev_active = true;
    ev_quit = false;
    ev_queued = 0;
    ev_notify = notify;
    ev_arg = arg;
    ReleaseSRWLockExclusive(&ev_lock);

    err = pal_thread_start(&ev_thread, event_thread, NULL);
    if (err < 0)
        goto fail;
    /* Works without a console too (then it simply never fires). */
    if (!SetConsoleCtrlHandler(console_handler, TRUE)) {
        err = pal__err_last_win32();
        AcquireSRWLockExclusive(&ev_lock);
        ev_quit = true;
        WakeAllConditionVariable(&ev_cond);
        ReleaseSRWLockExclusive(&ev_lock);
        pal_thread_join(&ev_thread);
        goto fail;
    }
    return 0;
fail:
    AcquireSRWLockExclusive(&ev_lock);
    ev_active = false;
    ReleaseSRWLockExclusive(&ev_lock);
    return err;
}

void pal_proc_events_stop(void)
{
    bool self;

    AcquireSRWLockExclusive(&ev_lock);
    if (!ev_active || ev_quit) {
        ReleaseSRWLockExclusive(&ev_lock);
        return;
    }
    ev_quit = true;
    WakeAllConditionVariable(&ev_cond);
    ReleaseSRWLockExclusive(&ev_lock);

    SetConsoleCtrlHandler(console_handler, FALSE);
    AcquireSRWLockShared(&ev_lock);
    self = ev_thread_tid == GetCurrentThreadId();
    ReleaseSRWLockShared(&ev_lock);
    if (self) {
        /*
         * Called from inside notify: the event thread cannot join itself.
         * It leaves as soon as the callback returns; just let it go.
         * (pal_thread_join would wait for ourselves, so the handle is
         * leaked deliberately - this happens once per process at most.)
         */
        ev_thread = NULL;
    } else {
        pal_thread_join(&ev_thread);
    }
    AcquireSRWLockExclusive(&ev_lock);
    ev_thread_tid = 0;
    ev_active = false;
    ev_queued = 0;
    ev_notify = NULL;
    ev_arg = NULL;
    /* Releases console handlers waiting for the end of delivery. */
    WakeAllConditionVariable(&ev_cond);
    ReleaseSRWLockExclusive(&ev_lock);
}

int pal_proc_request(unsigned event)
{
    if (event == 0 || (event & ~(unsigned)(PAL_PROC_SHUTDOWN | PAL_PROC_RELOAD)) != 0)
        return YB_EINVAL;
    AcquireSRWLockExclusive(&ev_lock);
    if (!ev_active || ev_quit) {
        ReleaseSRWLockExclusive(&ev_lock);
        return YB_EINVAL;
    }
    /* Both at once: reload first, as the POSIX side does. */
    if (event & PAL_PROC_RELOAD)
        enqueue_locked(PAL_PROC_RELOAD);
    if (event & PAL_PROC_SHUTDOWN)
        enqueue_locked(PAL_PROC_SHUTDOWN);
    ReleaseSRWLockExclusive(&ev_lock);
    return 0;
}

uint64_t pal_proc_id(void)
{
    return (uint64_t)GetCurrentProcessId();
}

/*
 * The DNS name ("host.example.org") when the machine has a primary DNS
 * suffix, else the DNS host name, else the NetBIOS name.
 */
int pal_hostname(char *buf, size_t size)
{
    static const COMPUTER_NAME_FORMAT formats[] = { ComputerNameDnsFullyQualified,
                                                    ComputerNameDnsHostname, ComputerNameNetBIOS };
    wchar_t name[256];
    size_t i;
    int err = YB_ENOTFOUND;

    if (buf == NULL || size == 0)
        return buf == NULL ? YB_EINVAL : YB_ERANGE;
    for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        DWORD n = (DWORD)(sizeof(name) / sizeof(name[0]));
        if (!GetComputerNameExW(formats[i], name, &n)) {
            err = pal__err_last_win32();
            continue;
        }
        if (n == 0)
            continue;
        return pal__wide_to_utf8(name, (int)n, buf, size);
    }
    return err;
}
