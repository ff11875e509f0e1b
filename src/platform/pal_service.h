/*
 * pal_service.h - running as a Unix daemon or a Windows service.
 *
 * POSIX: pal_daemonize detaches from the terminal, pal_drop_privileges
 * switches to an unprivileged user after the listeners are bound. Windows:
 * the service is installed with a command line "yubind.exe --service
 * ARGS...", and pal_service_run hands control to the Service Control
 * Manager. Functions a platform does not have return YB_ENOTSUP.
 */
#ifndef YB_PAL_SERVICE_H
#define YB_PAL_SERVICE_H

#include <stddef.h>

#define PAL_SERVICE_ERR_MAX 256

/*
 * POSIX: call before any thread starts, with an absolute pidfile path.
 * Forks into the background (fork, setsid, fork), chdir("/"),
 * stdin/stdout/stderr to /dev/null, then writes the daemon's pid to
 * pidfile (created exclusively; a pidfile naming a dead process is
 * replaced; one naming a live process is YB_EBUSY). Returns 0 in the
 * daemon; the original process exits 0 once the daemon has written its
 * pidfile, or non-zero with the error on stderr. Windows: YB_ENOTSUP.
 */
int pal_daemonize(const char *pidfile, char *errbuf, size_t errsize);

/* Writes the current pid to path (same rules as above; Windows too); for foreground runs. */
int pal_pidfile_write(const char *path, char *errbuf, size_t errsize);

/* Removes the pidfile if it still names this process. */
void pal_pidfile_remove(const char *path);

/*
 * POSIX: switches group (and supplementary groups) and user to those of
 * user. A no-op when already running as that user. Windows: YB_ENOTSUP.
 */
int pal_drop_privileges(const char *user, char *errbuf, size_t errsize);

/*
 * Windows: registers a service name (display name display) that the SCM
 * starts as "<this executable> --service args[0] args[1] ...", automatic
 * start. POSIX: YB_ENOTSUP.
 */
int pal_service_install(const char *name, const char *display, const char *const *args,
                        size_t nargs, char *errbuf, size_t errsize);

/* Windows: stops (if running) and deletes the service. POSIX: YB_ENOTSUP. */
int pal_service_remove(const char *name, char *errbuf, size_t errsize);

/*
 * Windows: connects to the SCM and runs main_fn(arg) as the service: reports
 * START_PENDING, then RUNNING when main_fn calls pal_service_running(), and
 * STOP_PENDING on a STOP or system SHUTDOWN control, which it also delivers
 * as PAL_PROC_SHUTDOWN through pal_proc_request(); STOPPED with main_fn's
 * return value as exit code when main_fn returns (non-zero: a service-specific
 * error). main_fn must call pal_proc_events_start() before
 * pal_service_running(), which is when STOP is accepted. PARAMCHANGE is
 * delivered as PAL_PROC_RELOAD. Returns main_fn's value, or YB_ENOTCONN if
 * the process was not started by the SCM.
 * POSIX: YB_ENOTSUP.
 */
int pal_service_run(const char *name, int (*main_fn)(void *arg), void *arg);

/* Tells the SCM the service is running (no-op outside a service). */
void pal_service_running(void);

#endif
