/*
 * posix/pal_service.c - the Unix daemon: detaching, the pidfile, dropping
 * root. The Windows service calls exist only to return YB_ENOTSUP.
 *
 * Detaching reports back: the original process does not exit until the
 * daemon has written its pidfile (or failed to), so "yubind -d" returns
 * only when the daemon is really there, and its exit status tells the
 * init script or the administrator whether it is. The two talk over a
 * pipe: the daemon writes "0" (ready) or "E<message>" and closes it; if
 * the pipe closes with nothing in it, the daemon died on the way.
 */
#include "pal_service.h"
#include "pal_internal.h"
#include "pal_err.h"
#include "pal_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A pidfile holds one decimal pid and a newline; more than this is garbage. */
#define PIDFILE_MAX 32

/* How long a pidfile with no pid in it yet may be someone else's write in progress. */
#define PIDFILE_SETTLE_MS 200

/* Attempts at replacing a stale pidfile before giving up (others may race us). */
#define PIDFILE_TRIES 5


static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- pidfile ---- */

enum pid_state { PID_GARBAGE, PID_EMPTY, PID_DEAD, PID_LIVE };

/*
 * Parses "digits [whitespace]" into *pid_r. Returns PID_EMPTY for a file
 * with no bytes, PID_GARBAGE for anything else that is not one pid in the
 * range of pid_t.
 */
static enum pid_state parse_pid(const char *buf, size_t len, pid_t *pid_r)
{
    size_t i = 0;
    long long v = 0;

    if (len == 0)
        return PID_EMPTY;
    for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
        v = v * 10 + (buf[i] - '0');
        if (v > INT_MAX)
            return PID_GARBAGE;
    }
    if (i == 0 || v <= 0)
        return PID_GARBAGE;
    for (; i < len; i++) {
        if (buf[i] != '\n' && buf[i] != '\r' && buf[i] != ' ' && buf[i] != '\t')
            return PID_GARBAGE;
    }
    *pid_r = (pid_t)v;
    return PID_DEAD; /* well-formed; the caller asks the kernel whether it lives */
}

/*
 * Reads the pidfile at path. On success *st_r is the state, *pid_r the pid
 * (for PID_DEAD/PID_LIVE), *ino_r and *dev_r identify the file that was read.
 * Returns 0, or a YB_E* code from open/read (YB_ENOENT if it vanished).
 */
static int read_pidfile(const char *path, enum pid_state *st_r, pid_t *pid_r, ino_t *ino_r,
                        dev_t *dev_r)
{
    char buf[PIDFILE_MAX + 1];
    size_t len = 0;
    struct stat st;
    int fd;

    do {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return pal__err_from_errno(errno);
    if (fstat(fd, &st) != 0) {
        int err = pal__err_from_errno(errno);
        close(fd);
        return err;
    }
    while (len < sizeof(buf)) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = pal__err_from_errno(errno);
            close(fd);
            return err;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    *ino_r = st.st_ino;
    *dev_r = st.st_dev;
    if (!S_ISREG(st.st_mode) || len > PIDFILE_MAX) {
        *st_r = PID_GARBAGE;
        return 0;
    }
    *st_r = parse_pid(buf, len, pid_r);
    if (*st_r == PID_DEAD) {
        /* EPERM: it exists but belongs to another user - alive all the same. */
        if (*pid_r == getpid() || kill(*pid_r, 0) == 0 || errno != ESRCH)
            *st_r = PID_LIVE;
    }
    return 0;
}

/* Creates path exclusively and writes our pid into it. Returns 0 or a YB_E* code. */
static int create_pidfile(const char *path, char *errbuf, size_t errsize)
{
    char line[PIDFILE_MAX];
    int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    int fd, err;

    if (n < 0 || (size_t)n >= sizeof(line))
        return YB_ERANGE;
    do {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        err = pal__err_from_errno(errno);
        if (err != YB_EEXIST)
            pal__set_errbuf(errbuf, errsize, "pidfile %s: create: %s", path, yb_strerror(err));
        return err;
    }
    /* The daemon's umask (027) would make it 0640; pidfiles are for everyone to read. */
    (void)fchmod(fd, 0644);
    /* One write(): a reader sees the whole line or nothing (see PIDFILE_SETTLE_MS). */
    ssize_t w;
    do {
        w = write(fd, line, (size_t)n);
    } while (w < 0 && errno == EINTR);
    if (w != n || fsync(fd) != 0) {
        err = w < 0 || w == n ? pal__err_from_errno(errno) : YB_ENOSPC;
        pal__set_errbuf(errbuf, errsize, "pidfile %s: write: %s", path, yb_strerror(err));
        close(fd);
        unlink(path);
        return err;
    }
    if (close(fd) != 0) {
        err = pal__err_from_errno(errno);
        pal__set_errbuf(errbuf, errsize, "pidfile %s: close: %s", path, yb_strerror(err));
        unlink(path);
        return err;
    }
    return 0;
}

/*
 * Exclusive creation makes two starters agree on who won. A stale file
 * (dead pid, garbage) is unlinked and creation retried - but only if the
 * name still refers to the file that was judged, so a pidfile another
 * starter has just put there is not removed by mistake. (The check and the
 * unlink are two steps; the window between them is a few instructions.)
 * A file with no bytes may be a rival's exclusive create a moment before
 * its write, so it counts as garbage only once it has stayed empty for
 * PIDFILE_SETTLE_MS.
 */
int pal_pidfile_write(const char *path, char *errbuf, size_t errsize)
{
    if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        pal__set_errbuf(errbuf, errsize, "pidfile: empty path");
        return YB_EINVAL;
    }
    for (int tries = 0; tries < PIDFILE_TRIES; tries++) {
        int err = create_pidfile(path, errbuf, errsize);
        if (err != YB_EEXIST)
            return err;

        enum pid_state st = PID_GARBAGE;
        pid_t pid = 0;
        ino_t ino = 0;
        dev_t dev = 0;
        for (int waited = 0;; waited += 20) {
            err = read_pidfile(path, &st, &pid, &ino, &dev);
            if (err != 0 || st != PID_EMPTY || waited >= PIDFILE_SETTLE_MS)
                break;
            sleep_ms(20);
        }
        if (err == YB_ENOENT)
            continue; /* removed meanwhile: try to create it again */
        if (err != 0) {
            pal__set_errbuf(errbuf, errsize, "pidfile %s: read: %s", path, yb_strerror(err));
            return err;
        }
        if (st == PID_LIVE) {
            pal__set_errbuf(errbuf, errsize, "pidfile %s: already running as pid %ld", path, (long)pid);
            return YB_EBUSY;
        }
        struct stat now;
        if (lstat(path, &now) != 0) {
            if (errno == ENOENT)
                continue;
            err = pal__err_from_errno(errno);
            pal__set_errbuf(errbuf, errsize, "pidfile %s: stat: %s", path, yb_strerror(err));
            return err;
        }
        if (now.st_ino != ino || now.st_dev != dev)
            continue; /* replaced meanwhile: judge the new one */
        if (unlink(path) != 0 && errno != ENOENT) {
            err = pal__err_from_errno(errno);
            pal__set_errbuf(errbuf, errsize, "pidfile %s: removing the stale pidfile: %s", path,
                    yb_strerror(err));
            return err;
        }
    }
    pal__set_errbuf(errbuf, errsize, "pidfile %s: keeps changing under us; another instance starting?",
            path);
    return YB_EBUSY;
}

void pal_pidfile_remove(const char *path)
{
    enum pid_state st;
    pid_t pid = 0;
    ino_t ino;
    dev_t dev;

    if (path == NULL || path[0] == '\0')
        return;
    if (read_pidfile(path, &st, &pid, &ino, &dev) != 0)
        return;
    if (st == PID_LIVE && pid == getpid())
        unlink(path);
}

/* ---- daemon ---- */

/* Writes all of len bytes to fd (a pipe); errors are ignored: the reader sees EOF. */
static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/*
 * In the children: reports to the waiting parent. SIGPIPE is ignored for
 * the moment: if the starter was killed meanwhile (Ctrl-C on the starting
 * shell), the daemon must not die of writing to a pipe nobody reads.
 */
static void report(int fd, const char *status, const char *msg)
{
    struct sigaction ign, old;

    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    write_all(fd, status, 1);
    if (msg != NULL)
        write_all(fd, msg, strlen(msg));
    sigaction(SIGPIPE, &old, NULL);
}

static _Noreturn void child_fail(int fd, const char *msg)
{
    report(fd, "E", msg);
    _exit(1);
}

/* Moves fd above 2 (when stdio was closed, pipe() may return 0..2), close-on-exec. */
static int above_stdio(int fd)
{
    if (fd > 2)
        return fd;
    int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    close(fd);
    errno = saved;
    return nfd;
}

/*
 * The original process: waits for the daemon's report, reaps the first
 * child and exits - 0 if the daemon is up, 1 with its error on stderr.
 */
static _Noreturn void parent_wait(int fd, pid_t child)
{
    char msg[PAL_SERVICE_ERR_MAX + 1];
    size_t len = 0;

    for (;;) {
        ssize_t n = read(fd, msg + len, sizeof(msg) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof(msg) - 1)
            break;
    }
    msg[len] = '\0';
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    if (len >= 1 && msg[0] == '0')
        _exit(0);
    if (len >= 1 && msg[0] == 'E')
        fprintf(stderr, "%s\n", msg + 1);
    else
        fprintf(stderr, "daemon: exited before it was ready\n");
    fflush(stderr);
    _exit(1);
}

/*
 * Must be called before any thread is started (fork copies only the
 * calling thread) and with an absolute pidfile path, because the daemon
 * changes to "/" and later pal_pidfile_remove() calls use the same string.
 * pidfile may be NULL for no pidfile. Errors found before forking are
 * returned to the caller in the original process.
 */
int pal_daemonize(const char *pidfile, char *errbuf, size_t errsize)
{
    int fds[2];
    pid_t pid;
    int err;

    if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    if (pidfile != NULL && pidfile[0] != '/') {
        pal__set_errbuf(errbuf, errsize, "pidfile %s: must be an absolute path (the daemon runs in /)",
                pidfile);
        return YB_EINVAL;
    }
    if (pipe(fds) != 0) {
        err = pal__err_from_errno(errno);
        pal__set_errbuf(errbuf, errsize, "daemon: pipe: %s", yb_strerror(err));
        return err;
    }
    fds[0] = above_stdio(fds[0]);
    fds[1] = above_stdio(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        err = pal__err_from_errno(errno);
        pal__set_errbuf(errbuf, errsize, "daemon: pipe: %s", yb_strerror(err));
        if (fds[0] >= 0)
            close(fds[0]);
        if (fds[1] >= 0)
            close(fds[1]);
        return err;
    }
    (void)pal__fd_setup(fds[0], 0);
    (void)pal__fd_setup(fds[1], 0);
    /* Whatever stdio holds would otherwise be written once per process. */
    fflush(NULL);

    pid = fork();
    if (pid < 0) {
        err = pal__err_from_errno(errno);
        pal__set_errbuf(errbuf, errsize, "daemon: fork: %s", yb_strerror(err));
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    if (pid > 0) {
        close(fds[1]);
        parent_wait(fds[0], pid);
    }

    /* First child: a new session without a terminal, then fork again so the
     * daemon is not a session leader and can never acquire a terminal. */
    close(fds[0]);
    if (setsid() < 0)
        child_fail(fds[1], "daemon: setsid failed");
    pid = fork();
    if (pid < 0)
        child_fail(fds[1], "daemon: second fork failed");
    if (pid > 0)
        _exit(0);

    /* The daemon. */
    umask(027);
    if (chdir("/") != 0)
        child_fail(fds[1], "daemon: chdir /: failed");
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        child_fail(fds[1], "daemon: open /dev/null failed");
    for (int fd = 0; fd <= 2; fd++) {
        if (dup2(null, fd) < 0)
            child_fail(fds[1], "daemon: dup2 /dev/null failed");
    }
    if (null > 2)
        close(null);
    if (pidfile != NULL) {
        char msg[PAL_SERVICE_ERR_MAX];
        if (pal_pidfile_write(pidfile, msg, sizeof(msg)) != 0)
            child_fail(fds[1], msg);
    }
    report(fds[1], "0", NULL);
    close(fds[1]);
    return 0;
}

/* ---- privileges ---- */

int pal_drop_privileges(const char *user, char *errbuf, size_t errsize)
{
    struct passwd pw, *found = NULL;
    char *buf = NULL;
    size_t bufsize;
    long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
    int rc, err;

    if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    if (user == NULL || user[0] == '\0') {
        pal__set_errbuf(errbuf, errsize, "drop privileges: no user name given");
        return YB_EINVAL;
    }
    bufsize = hint > 0 ? (size_t)hint : 4096;
    for (;;) {
        char *nb = realloc(buf, bufsize);
        if (nb == NULL) {
            free(buf);
            pal__set_errbuf(errbuf, errsize, "drop privileges: out of memory");
            return YB_ENOMEM;
        }
        buf = nb;
        rc = getpwnam_r(user, &pw, buf, bufsize, &found);
        if (rc == ERANGE && bufsize < (1u << 20)) {
            bufsize *= 2;
            continue;
        }
        break;
    }
    /* Unknown names give 0 and NULL; some systems report ENOENT/ESRCH/... instead. */
    if (found == NULL && (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)) {
        pal__set_errbuf(errbuf, errsize, "drop privileges: unknown user '%s'", user);
        err = YB_ENOTFOUND;
        goto fail;
    }
    if (found == NULL) {
        err = pal__err_from_errno(rc);
        pal__set_errbuf(errbuf, errsize, "drop privileges: looking up user '%s': %s", user,
                yb_strerror(err));
        goto fail;
    }
    uid_t uid = pw.pw_uid;
    gid_t gid = pw.pw_gid;
    if (getuid() == uid && geteuid() == uid) {
        free(buf);
        return 0; /* already that user: nothing to give up */
    }
    if (initgroups(pw.pw_name, gid) != 0) {
        err = pal__err_from_errno(errno);
        pal__set_errbuf(errbuf, errsize, "drop privileges to '%s': initgroups: %s", user, yb_strerror(err));
        goto fail;
    }
    if (setgid(gid) != 0) {
        err = pal__err_from_errno(errno);
        pal__set_errbuf(errbuf, errsize, "drop privileges to '%s': setgid(%ld): %s", user, (long)gid,
                yb_strerror(err));
        goto fail;
    }
    if (setuid(uid) != 0) {
        err = pal__err_from_errno(errno);
        pal__set_errbuf(errbuf, errsize, "drop privileges to '%s': setuid(%ld): %s", user, (long)uid,
                yb_strerror(err));
        goto fail;
    }
    /* setuid() from root changes the saved uid too; prove there is no way back. */
    if (uid != 0 && (setuid(0) == 0 || geteuid() != uid || getuid() != uid)) {
        pal__set_errbuf(errbuf, errsize, "drop privileges to '%s': root could be regained", user);
        err = YB_EPERM;
        goto fail;
    }
    free(buf);
    return 0;
fail:
    free(buf);
    return err;
}

/* ---- the Windows service: not here ---- */

int pal_service_install(const char *name, const char *display, const char *const *args,
                        size_t nargs, char *errbuf, size_t errsize)
{
    (void)name;
    (void)display;
    (void)args;
    (void)nargs;
    pal__set_errbuf(errbuf, errsize, "services are a Windows feature; use -d to run as a daemon");
    return YB_ENOTSUP;
}

int pal_service_remove(const char *name, char *errbuf, size_t errsize)
{
    (void)name;
    pal__set_errbuf(errbuf, errsize, "services are a Windows feature");
    return YB_ENOTSUP;
}

int pal_service_run(const char *name, int (*main_fn)(void *arg), void *arg)
{
    (void)name;
    (void)main_fn;
    (void)arg;
    return YB_ENOTSUP;
}

void pal_service_running(void)
{
}
