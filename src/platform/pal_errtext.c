/*
 * pal_errtext.c - names and descriptions of the YB_E* codes (platform-free).
 */
#include "pal_err.h"
#include "pal_internal.h"

#include <stdarg.h>
#include <stdio.h>

#include <stddef.h>

struct err_text {
    int code;
    const char *name;
    const char *text;
};

static const struct err_text err_table[] = {
    { YB_OK, "YB_OK", "success" },
    { YB_ENOMEM, "YB_ENOMEM", "out of memory" },
    { YB_EINVAL, "YB_EINVAL", "invalid argument" },
    { YB_ENOENT, "YB_ENOENT", "no such file or directory" },
    { YB_EEXIST, "YB_EEXIST", "file exists" },
    { YB_EACCES, "YB_EACCES", "permission denied" },
    { YB_ENOSPC, "YB_ENOSPC", "no space left on device" },
    { YB_EIO, "YB_EIO", "input/output error" },
    { YB_EAGAIN, "YB_EAGAIN", "resource temporarily unavailable" },
    { YB_EINTR, "YB_EINTR", "interrupted" },
    { YB_ECLOSED, "YB_ECLOSED", "connection closed" },
    { YB_ECONNREFUSED, "YB_ECONNREFUSED", "connection refused" },
    { YB_ECONNRESET, "YB_ECONNRESET", "connection reset by peer" },
    { YB_EPIPE, "YB_EPIPE", "broken pipe" },
    { YB_ETIMEDOUT, "YB_ETIMEDOUT", "timed out" },
    { YB_EADDRINUSE, "YB_EADDRINUSE", "address already in use" },
    { YB_EADDRNOTAVAIL, "YB_EADDRNOTAVAIL", "address not available" },
    { YB_EMFILE, "YB_EMFILE", "too many open files in process" },
    { YB_ENFILE, "YB_ENFILE", "too many open files in system" },
    { YB_ENOTDIR, "YB_ENOTDIR", "not a directory" },
    { YB_EISDIR, "YB_EISDIR", "is a directory" },
    { YB_ENOTEMPTY, "YB_ENOTEMPTY", "directory not empty" },
    { YB_EXDEV, "YB_EXDEV", "cross-device link" },
    { YB_ENAMETOOLONG, "YB_ENAMETOOLONG", "name too long" },
    { YB_ELIMIT, "YB_ELIMIT", "limit exceeded" },
    { YB_EPARSE, "YB_EPARSE", "syntax error" },
    { YB_EUTF8, "YB_EUTF8", "invalid UTF-8" },
    { YB_EBUSY, "YB_EBUSY", "resource busy or locked" },
    { YB_ENOTSUP, "YB_ENOTSUP", "not supported" },
    { YB_EILSEQ, "YB_EILSEQ", "invalid or unrepresentable character" },
    { YB_EINPROGRESS, "YB_EINPROGRESS", "operation in progress" },
    { YB_ENOTCONN, "YB_ENOTCONN", "not connected" },
    { YB_EAFNOSUPPORT, "YB_EAFNOSUPPORT", "address family not supported" },
    { YB_ENETUNREACH, "YB_ENETUNREACH", "network unreachable" },
    { YB_EHOSTUNREACH, "YB_EHOSTUNREACH", "host unreachable" },
    { YB_ERANGE, "YB_ERANGE", "result too large for buffer" },
    { YB_ENOTFOUND, "YB_ENOTFOUND", "not found" },
    { YB_EROFS, "YB_EROFS", "read-only file system" },
    { YB_EPERM, "YB_EPERM", "operation not permitted" },
    { YB_EBADF, "YB_EBADF", "bad handle" },
    { YB_EUNKNOWN, "YB_EUNKNOWN", "unknown system error" },
};

static const struct err_text *err_find(int err)
{
    /* The table is in code order, so the index is -code; check anyway. */
    if (err <= 0 && err > YB_E_LAST) {
        const struct err_text *e = &err_table[-err];
        if (e->code == err)
            return e;
    }
    return NULL;
}

const char *yb_strerror(int err)
{
    const struct err_text *e = err_find(err);
    return e != NULL ? e->text : "unknown error";
}

const char *yb_errname(int err)
{
    const struct err_text *e = err_find(err);
    return e != NULL ? e->name : "YB_E?";
}

void pal__set_errbuf(char *errbuf, size_t errsize, const char *fmt, ...)
{
    va_list ap;
    if (errbuf == NULL || errsize == 0)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(errbuf, errsize, fmt, ap);
    va_end(ap);
    if (n < 0)
        errbuf[0] = '\0';
}
