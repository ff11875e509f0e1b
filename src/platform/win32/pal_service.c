/*
 * win32/pal_service.c - the Windows service (Service Control Manager), and
 * a pidfile for foreground runs. Daemons and users are POSIX matters.
 *
 * The service runs in its own process (SERVICE_WIN32_OWN_PROCESS), started
 * by the SCM with the command line pal_service_install() stored:
 *   "C:\path\yubind.exe" --service arg1 "arg 2" ...
 * The program sees "--service" and calls pal_service_run(), whose thread
 * becomes the control dispatcher; the SCM then calls service_main() on a
 * new thread, and main_fn runs there. Controls arrive on the dispatcher
 * thread and are turned into the process events every other source uses
 * (pal_proc_request), so the server shuts down the same way for a STOP
 * from the SCM as for Ctrl-C in a console.
 *
 * Ordering contract for main_fn: start event delivery (pal_proc_events_start)
 * before calling pal_service_running(). Controls are only accepted from that
 * call on, so a STOP can never arrive while nothing listens for it; and a STOP
 * that finds delivery already stopped means main_fn is already on its way
 * out, so nothing more is needed (the SCM has been told STOP_PENDING).
 */
#include "pal_service.h"
#include "pal_internal.h"
#include "pal_process.h"
#include "pal_win32.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long the SCM should wait between our progress reports. */
#define START_WAIT_HINT_MS 30000
#define STOP_WAIT_HINT_MS  30000

/* pal_service_remove waits this long for a running service to stop. */
#define REMOVE_STOP_WAIT_MS 30000
#define REMOVE_POLL_MS      250

/* The longest command line CreateProcess accepts, in UTF-16 units with the NUL. */
#define CMDLINE_MAX 32767

#define PIDFILE_MAX       32
#define PIDFILE_SETTLE_MS 200
#define PIDFILE_TRIES     5


/*
 * Service-manager codes that win32/pal_err.c does not translate (they all
 * become YB_EUNKNOWN there); everything else goes through it.
 */
static int svc_err(DWORD code)
{
    switch (code) {
    case ERROR_SERVICE_EXISTS:
    case ERROR_DUPLICATE_SERVICE_NAME: return YB_EEXIST;
    case ERROR_SERVICE_DOES_NOT_EXIST: return YB_ENOTFOUND;
    case ERROR_SERVICE_MARKED_FOR_DELETE:
    case ERROR_SERVICE_ALREADY_RUNNING: return YB_EBUSY;
    case ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: return YB_ENOTCONN;
    case ERROR_SERVICE_REQUEST_TIMEOUT: return YB_ETIMEDOUT;
    default: {
        int err = pal__err_from_win32(code);
        return err == YB_OK ? YB_EUNKNOWN : err;
    }
    }
}

/* The reason text for a failed SCM call: specific where yb_strerror would be vague. */
static const char *svc_why(DWORD code)
{
    switch (code) {
    case ERROR_ACCESS_DENIED: return "access denied (run as Administrator)";
    case ERROR_SERVICE_EXISTS: return "a service of that name already exists";
    case ERROR_DUPLICATE_SERVICE_NAME: return "the name is already used as a display name";
    case ERROR_SERVICE_DOES_NOT_EXIST: return "no such service";
    case ERROR_SERVICE_MARKED_FOR_DELETE:
        return "the service is marked for deletion (close the Services console, or reboot)";
    case ERROR_INVALID_NAME: return "invalid service name";
    default: return yb_strerror(svc_err(code));
    }
}

/* Fills errbuf with "what: why (Win32 error N)" for GetLastError() and returns its YB_E*. */
static int svc_fail(char *errbuf, size_t errsize, const char *what, const char *name)
{
    DWORD code = GetLastError();

    pal__set_errbuf(errbuf, errsize, "%s(%s): %s (Win32 error %lu)", what, name, svc_why(code),
            (unsigned long)code);
    return svc_err(code);
}

/* UTF-8 to a malloc'ed UTF-16 string (not a path: no '/' rewriting). */
static int to_wide(const char *s, wchar_t **w_r)
{
    int n;
    wchar_t *w;

    *w_r = NULL;
    if (s == NULL)
        return YB_EINVAL;
    if (s[0] == '\0') {
        w = calloc(1, sizeof(*w));
        if (w == NULL)
            return YB_ENOMEM;
        *w_r = w;
        return 0;
    }
    n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0)
        return YB_EUTF8;
    w = malloc((size_t)n * sizeof(*w));
    if (w == NULL)
        return YB_ENOMEM;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        return YB_EUTF8;
    }
    *w_r = w;
    return 0;
}

/* ---- the service's command line ---- */

struct wbuf {
    wchar_t *p;
    size_t len; /* units, without the NUL */
};

/* Appends n units (or up to the NUL when n is (size_t)-1); YB_ERANGE past CMDLINE_MAX. */
static int wbuf_add(struct wbuf *b, const wchar_t *s, size_t n)
{
    if (n == (size_t)-1)
        n = wcslen(s);
    if (b->len + n + 1 > CMDLINE_MAX)
        return YB_ERANGE;
    memcpy(b->p + b->len, s, n * sizeof(wchar_t));
    b->len += n;
    b->p[b->len] = L'\0';
    return 0;
}

static int wbuf_add_repeat(struct wbuf *b, wchar_t c, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int err = wbuf_add(b, &c, 1);
        if (err < 0)
            return err;
    }
    return 0;
}

/*
 * Appends one argument so that CommandLineToArgvW and the C runtime give it
 * back unchanged: bare if it has no blank or quote and is not empty, else in
 * quotes, with backslashes doubled where they precede a quote (an embedded
 * one or the closing one) and an embedded quote escaped as \".
 */
static int wbuf_add_arg(struct wbuf *b, const wchar_t *arg)
{
    int err;

    if (arg[0] != L'\0' && wcspbrk(arg, L" \t\n\v\"") == NULL)
        return wbuf_add(b, arg, (size_t)-1);
    if ((err = wbuf_add(b, L"\"", 1)) < 0)
        return err;
    for (const wchar_t *p = arg;; p++) {
        size_t slashes = 0;
        while (*p == L'\\') {
            slashes++;
            p++;
        }
        if (*p == L'\0') {
            err = wbuf_add_repeat(b, L'\\', slashes * 2);
            break;
        }
        if (*p == L'"') {
            if ((err = wbuf_add_repeat(b, L'\\', slashes * 2 + 1)) < 0)
                return err;
        } else if ((err = wbuf_add_repeat(b, L'\\', slashes)) < 0) {
            return err;
        }
        if ((err = wbuf_add(b, p, 1)) < 0)
            return err;
    }
    if (err < 0)
        return err;
    return wbuf_add(b, L"\"", 1);
}

/* "<this exe>" --service args... into *b (which the caller frees). */
static int build_command_line(const char *const *args, size_t nargs, struct wbuf *b, char *errbuf,
                              size_t errsize)
{
    wchar_t *exe = NULL;
    DWORD size = MAX_PATH, n;
    int err;

    b->len = 0;
    b->p = malloc(CMDLINE_MAX * sizeof(wchar_t));
    if (b->p == NULL)
        return YB_ENOMEM;
    for (;;) {
        wchar_t *nexe = realloc(exe, size * sizeof(wchar_t));
        if (nexe == NULL) {
            err = YB_ENOMEM;
            goto fail;
        }
        exe = nexe;
        n = GetModuleFileNameW(NULL, exe, size);
        if (n == 0) {
            err = pal__err_last_win32();
            pal__set_errbuf(errbuf, errsize, "GetModuleFileName: %s", yb_strerror(err));
            goto fail;
        }
        if (n < size)
            break;
        if (size >= CMDLINE_MAX) {
            err = YB_ENAMETOOLONG;
            pal__set_errbuf(errbuf, errsize, "GetModuleFileName: path too long");
            goto fail;
        }
        size *= 2;
    }
    /* argv[0] is parsed without escapes: a path has no quotes, so quoting is enough. */
    err = wbuf_add(b, L"\"", 1);
    if (err == 0)
        err = wbuf_add(b, exe, n);
    if (err == 0)
        err = wbuf_add(b, L"\" --service", (size_t)-1);
    for (size_t i = 0; err == 0 && i < nargs; i++) {
        wchar_t *w;
        err = to_wide(args[i], &w);
        if (err < 0) {
            pal__set_errbuf(errbuf, errsize, "service argument %lu: %s", (unsigned long)i,
                    yb_strerror(err));
            goto fail;
        }
        err = wbuf_add(b, L" ", 1);
        if (err == 0)
            err = wbuf_add_arg(b, w);
        free(w);
    }
    if (err < 0) {
        pal__set_errbuf(errbuf, errsize, "service command line: %s (at most %d characters)",
                yb_strerror(err), CMDLINE_MAX - 1);
        goto fail;
    }
    free(exe);
    return 0;
fail:
    free(exe);
    free(b->p);
    b->p = NULL;
    return err;
}

/* ---- install / remove ---- */

int pal_service_install(const char *name, const char *display, const char *const *args,
                        size_t nargs, char *errbuf, size_t errsize)
{
    struct wbuf cmd = { NULL, 0 };
    wchar_t *wname = NULL, *wdisplay = NULL;
    SC_HANDLE scm = NULL, svc = NULL;
    int err;

    if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    if (name == NULL || name[0] == '\0' || (nargs > 0 && args == NULL)) {
        pal__set_errbuf(errbuf, errsize, "service install: no service name given");
        return YB_EINVAL;
    }
    err = to_wide(name, &wname);
    if (err == 0)
        err = to_wide(display != NULL && display[0] != '\0' ? display : name, &wdisplay);
    if (err < 0) {
        pal__set_errbuf(errbuf, errsize, "service install: name: %s", yb_strerror(err));
        goto done;
    }
    err = build_command_line(args, nargs, &cmd, errbuf, errsize);
    if (err < 0)
        goto done;
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
    if (scm == NULL) {
        err = svc_fail(errbuf, errsize, "OpenSCManager", "local");
        goto done;
    }
    /* No account: LocalSystem. The SCM starts it at boot (SERVICE_AUTO_START). */
    svc = CreateServiceW(scm, wname, wdisplay, SERVICE_QUERY_STATUS, SERVICE_WIN32_OWN_PROCESS,
                         SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmd.p, NULL, NULL, NULL, NULL,
                         NULL);
    if (svc == NULL) {
        err = svc_fail(errbuf, errsize, "CreateService", name);
        goto done;
    }
    err = 0;
done:
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    free(cmd.p);
    free(wname);
    free(wdisplay);
    return err;
}

/* Waits (bounded) until the service reports STOPPED. Returns 0, YB_ETIMEDOUT or an error. */
static int wait_stopped(SC_HANDLE svc)
{
    SERVICE_STATUS st;
    DWORD waited = 0;

    for (;;) {
        if (!QueryServiceStatus(svc, &st))
            return svc_err(GetLastError());
        if (st.dwCurrentState == SERVICE_STOPPED)
            return 0;
        if (waited >= REMOVE_STOP_WAIT_MS)
            return YB_ETIMEDOUT;
        Sleep(REMOVE_POLL_MS);
        waited += REMOVE_POLL_MS;
    }
}

int pal_service_remove(const char *name, char *errbuf, size_t errsize)
{
    wchar_t *wname = NULL;
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS st;
    int err, stop_err = 0;

    if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    if (name == NULL || name[0] == '\0') {
        pal__set_errbuf(errbuf, errsize, "service remove: no service name given");
        return YB_EINVAL;
    }
    err = to_wide(name, &wname);
    if (err < 0) {
        pal__set_errbuf(errbuf, errsize, "service remove: name: %s", yb_strerror(err));
        return err;
    }
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (scm == NULL) {
        err = svc_fail(errbuf, errsize, "OpenSCManager", "local");
        goto done;
    }
    svc = OpenServiceW(scm, wname, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE);
    if (svc == NULL) {
        err = svc_fail(errbuf, errsize, "OpenService", name);
        goto done;
    }
    if (!QueryServiceStatus(svc, &st)) {
        err = svc_fail(errbuf, errsize, "QueryServiceStatus", name);
        goto done;
    }
    if (st.dwCurrentState != SERVICE_STOPPED) {
        /* Already STOP_PENDING (or not yet accepting STOP): just wait for it. */
        if (!ControlService(svc, SERVICE_CONTROL_STOP, &st) &&
            GetLastError() != ERROR_SERVICE_NOT_ACTIVE &&
            GetLastError() != ERROR_SERVICE_CANNOT_ACCEPT_CTRL) {
            err = svc_fail(errbuf, errsize, "ControlService STOP", name);
            goto done;
        }
        stop_err = wait_stopped(svc);
    }
    /* Deleted at once if stopped, else as soon as it stops (and its handles close). */
    if (!DeleteService(svc) && GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE) {
        err = svc_fail(errbuf, errsize, "DeleteService", name);
        goto done;
    }
    if (stop_err < 0) {
        pal__set_errbuf(errbuf, errsize,
                "service %s did not stop within %d s (%s); it is marked for deletion and "
                "goes away when it stops",
                name, REMOVE_STOP_WAIT_MS / 1000, yb_strerror(stop_err));
        err = stop_err;
        goto done;
    }
    err = 0;
done:
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    free(wname);
    return err;
}

/* ---- running as the service ---- */

/* svc_lock guards svc_status and the calls that report it. */
static SRWLOCK svc_lock = SRWLOCK_INIT;
static SERVICE_STATUS svc_status;
static SERVICE_STATUS_HANDLE svc_handle; /* set before main_fn runs, cleared after */
static wchar_t *svc_name;
static int (*svc_main)(void *arg);
static void *svc_arg;
static int svc_result;

/* Reports a state to the SCM; the caller holds svc_lock. */
static void report_locked(DWORD state, DWORD accepted, DWORD wait_hint)
{
    svc_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    svc_status.dwCurrentState = state;
    svc_status.dwControlsAccepted = accepted;
    svc_status.dwWaitHint = wait_hint;
    if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING)
        svc_status.dwCheckPoint++;
    else
        svc_status.dwCheckPoint = 0;
    (void)SetServiceStatus(svc_handle, &svc_status);
}

/*
 * Runs on the dispatcher thread (the one in pal_service_run). STOP and
 * SHUTDOWN become PAL_PROC_SHUTDOWN, PARAMCHANGE ("sc control NAME
 * paramchange") becomes PAL_PROC_RELOAD. Returns quickly, as the SCM wants.
 */
static DWORD WINAPI control_handler(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        AcquireSRWLockExclusive(&svc_lock);
        if (svc_status.dwCurrentState == SERVICE_RUNNING)
            report_locked(SERVICE_STOP_PENDING, 0, STOP_WAIT_HINT_MS);
        ReleaseSRWLockExclusive(&svc_lock);
        /* YB_EINVAL: delivery already stopped, so main_fn is already leaving. */
        (void)pal_proc_request(PAL_PROC_SHUTDOWN);
        return NO_ERROR;
    case SERVICE_CONTROL_PARAMCHANGE:
        return pal_proc_request(PAL_PROC_RELOAD) == 0 ? NO_ERROR : ERROR_SERVICE_CANNOT_ACCEPT_CTRL;
    case SERVICE_CONTROL_INTERROGATE: return NO_ERROR;
    default: return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

/*
 * The SCM calls this on a thread of its own. argv holds "sc start NAME
 * args" arguments, which are ignored: the configuration comes from the
 * installed command line, which main_fn already has.
 */
static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    SERVICE_STATUS_HANDLE h;
    int rc;

    (void)argc;
    (void)argv;
    h = RegisterServiceCtrlHandlerExW(svc_name, control_handler, NULL);
    if (h == NULL) {
        svc_result = pal__err_last_win32();
        return; /* the SCM sees the dispatcher end and marks the service stopped */
    }
    AcquireSRWLockExclusive(&svc_lock);
    memset(&svc_status, 0, sizeof(svc_status));
    svc_handle = h;
    report_locked(SERVICE_START_PENDING, 0, START_WAIT_HINT_MS);
    ReleaseSRWLockExclusive(&svc_lock);

    rc = svc_main(svc_arg);
    svc_result = rc;

    AcquireSRWLockExclusive(&svc_lock);
    /* A non-zero exit is a service-specific code ("sc query" shows it). */
    svc_status.dwWin32ExitCode = rc == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
    svc_status.dwServiceSpecificExitCode = rc == 0 ? 0 : (DWORD)rc;
    report_locked(SERVICE_STOPPED, 0, 0);
    svc_handle = NULL; /* after STOPPED the handle must not be used */
    ReleaseSRWLockExclusive(&svc_lock);
}

/*
 * Returns main_fn's value, YB_ENOTCONN if this process was not started by
 * the SCM (someone ran "yubind --service" by hand), YB_EBUSY if called
 * while a service already runs, or another YB_E* code if the dispatcher or
 * the control handler could not be set up.
 */
int pal_service_run(const char *name, int (*main_fn)(void *arg), void *arg)
{
    SERVICE_TABLE_ENTRYW table[2];
    wchar_t *wname;
    int err;

    if (name == NULL || name[0] == '\0' || main_fn == NULL)
        return YB_EINVAL;
    if (svc_main != NULL)
        return YB_EBUSY;
    err = to_wide(name, &wname);
    if (err < 0)
        return err;
    svc_name = wname;
    svc_main = main_fn;
    svc_arg = arg;
    svc_result = YB_EUNKNOWN; /* service_main never ran: the SCM gave up on us */
    table[0].lpServiceName = wname;
    table[0].lpServiceProc = service_main;
    table[1].lpServiceName = NULL;
    table[1].lpServiceProc = NULL;
    /* Blocks until the service has reported STOPPED. */
    if (!StartServiceCtrlDispatcherW(table))
        err = svc_err(GetLastError());
    else
        err = svc_result;
    svc_main = NULL;
    svc_arg = NULL;
    svc_name = NULL;
    free(wname);
    return err;
}

void pal_service_running(void)
{
    AcquireSRWLockExclusive(&svc_lock);
    if (svc_handle != NULL && svc_status.dwCurrentState == SERVICE_START_PENDING)
        report_locked(SERVICE_RUNNING,
                      SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE,
                      0);
    ReleaseSRWLockExclusive(&svc_lock);
}

/* ---- POSIX matters ---- */

int pal_daemonize(const char *pidfile, char *errbuf, size_t errsize)
{
    (void)pidfile;
    pal__set_errbuf(errbuf, errsize, "there is no Unix daemon mode on Windows; install a service");
    return YB_ENOTSUP;
}

int pal_drop_privileges(const char *user, char *errbuf, size_t errsize)
{
    (void)user;
    pal__set_errbuf(errbuf, errsize,
            "dropping privileges to a user is not supported on Windows; "
            "choose the service account instead");
    return YB_ENOTSUP;
}

/* ---- pidfile (foreground runs, scripts) ---- */

enum pid_state { PID_GARBAGE, PID_EMPTY, PID_DEAD, PID_LIVE };

static enum pid_state parse_pid(const char *buf, size_t len, DWORD *pid_r)
{
    size_t i = 0;
    unsigned long long v = 0;

    if (len == 0)
        return PID_EMPTY;
    for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
        v = v * 10 + (unsigned)(buf[i] - '0');
        if (v > INT_MAX)
            return PID_GARBAGE;
    }
    if (i == 0 || v == 0)
        return PID_GARBAGE;
    for (; i < len; i++) {
        if (buf[i] != '\n' && buf[i] != '\r' && buf[i] != ' ' && buf[i] != '\t')
            return PID_GARBAGE;
    }
    *pid_r = (DWORD)v;
    return PID_DEAD;
}

static bool pid_alive(DWORD pid)
{
    HANDLE h;
    bool alive;

    if (pid == GetCurrentProcessId())
        return true;
    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, pid);
    if (h == NULL)
        return GetLastError() == ERROR_ACCESS_DENIED; /* exists, not ours to open */
    /* A process that has exited stays openable while anyone holds a handle. */
    alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
    CloseHandle(h);
    return alive;
}

/*
 * Opens the existing pidfile with DELETE access and judges it. *h_r stays
 * open for the caller, so it can delete exactly the file it judged (a
 * rival's fresh pidfile under the same name is a different file).
 */
static int judge_pidfile(const wchar_t *wpath, HANDLE *h_r, enum pid_state *st_r, DWORD *pid_r)
{
    char buf[PIDFILE_MAX + 1];
    DWORD got = 0;
    HANDLE h;

    *h_r = INVALID_HANDLE_VALUE;
    h = CreateFileW(wpath, GENERIC_READ | DELETE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return pal__err_last_win32();
    if (!ReadFile(h, buf, sizeof(buf), &got, NULL)) {
        int err = pal__err_last_win32();
        CloseHandle(h);
        return err;
    }
    *h_r = h;
    if (got > PIDFILE_MAX) {
        *st_r = PID_GARBAGE;
        return 0;
    }
    *st_r = parse_pid(buf, got, pid_r);
    if (*st_r == PID_DEAD && pid_alive(*pid_r))
        *st_r = PID_LIVE;
    return 0;
}

static bool delete_by_handle(HANDLE h)
{
    FILE_DISPOSITION_INFO di;

    di.DeleteFile = TRUE;
    return SetFileInformationByHandle(h, FileDispositionInfo, &di, sizeof(di)) != 0;
}

static int create_pidfile(const wchar_t *wpath, const char *path, char *errbuf, size_t errsize)
{
    char line[PIDFILE_MAX];
    int n = snprintf(line, sizeof(line), "%lu\n", (unsigned long)GetCurrentProcessId());
    DWORD put = 0;
    HANDLE h;
    int err;

    if (n < 0 || (size_t)n >= sizeof(line))
        return YB_ERANGE;
    h = CreateFileW(wpath, GENERIC_WRITE | DELETE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, CREATE_NEW,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        err = pal__err_last_win32();
        if (err != YB_EEXIST)
            pal__set_errbuf(errbuf, errsize, "pidfile %s: create: %s", path, yb_strerror(err));
        return err;
    }
    if (!WriteFile(h, line, (DWORD)n, &put, NULL) || put != (DWORD)n || !FlushFileBuffers(h)) {
        err = put != (DWORD)n && GetLastError() == 0 ? YB_ENOSPC : pal__err_last_win32();
        pal__set_errbuf(errbuf, errsize, "pidfile %s: write: %s", path, yb_strerror(err));
        (void)delete_by_handle(h);
        CloseHandle(h);
        return err;
    }
    CloseHandle(h);
    return 0;
}

int pal_pidfile_write(const char *path, char *errbuf, size_t errsize)
{
    wchar_t *wpath = NULL;
    int err;

    if (errbuf != NULL && errsize > 0)
        errbuf[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        pal__set_errbuf(errbuf, errsize, "pidfile: empty path");
        return YB_EINVAL;
    }
    err = pal__path_to_wide(path, 0, &wpath);
    if (err < 0) {
        pal__set_errbuf(errbuf, errsize, "pidfile %s: %s", path, yb_strerror(err));
        return err;
    }
    for (int tries = 0; tries < PIDFILE_TRIES; tries++) {
        HANDLE h = INVALID_HANDLE_VALUE;
        enum pid_state st = PID_GARBAGE;
        DWORD pid = 0;

        err = create_pidfile(wpath, path, errbuf, errsize);
        if (err != YB_EEXIST)
            goto done;
        for (int waited = 0;; waited += 20) {
            err = judge_pidfile(wpath, &h, &st, &pid);
            if (err != 0 || st != PID_EMPTY || waited >= PIDFILE_SETTLE_MS)
                break;
            CloseHandle(h);
            h = INVALID_HANDLE_VALUE;
            Sleep(20);
        }
        if (err == YB_ENOENT)
            continue;
        if (err != 0) {
            pal__set_errbuf(errbuf, errsize, "pidfile %s: read: %s", path, yb_strerror(err));
            goto done;
        }
        if (st == PID_LIVE) {
            CloseHandle(h);
            pal__set_errbuf(errbuf, errsize, "pidfile %s: already running as pid %lu", path,
                    (unsigned long)pid);
            err = YB_EBUSY;
            goto done;
        }
        if (!delete_by_handle(h)) {
            err = pal__err_last_win32();
            CloseHandle(h);
            pal__set_errbuf(errbuf, errsize, "pidfile %s: removing the stale pidfile: %s", path,
                    yb_strerror(err));
            goto done;
        }
        CloseHandle(h); /* the name goes away with the last handle */
    }
    pal__set_errbuf(errbuf, errsize, "pidfile %s: keeps changing under us; another instance starting?",
            path);
    err = YB_EBUSY;
done:
    free(wpath);
    return err;
}

void pal_pidfile_remove(const char *path)
{
    wchar_t *wpath = NULL;
    HANDLE h;
    enum pid_state st;
    DWORD pid = 0;

    if (path == NULL || path[0] == '\0' || pal__path_to_wide(path, 0, &wpath) < 0)
        return;
    if (judge_pidfile(wpath, &h, &st, &pid) == 0) {
        if (st == PID_LIVE && pid == GetCurrentProcessId())
            (void)delete_by_handle(h);
        CloseHandle(h);
    }
    free(wpath);
}
