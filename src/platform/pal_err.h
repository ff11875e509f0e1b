/*
 * pal_err.h - the one error space of yubin.
 *
 * Every function in the tree returns 0 on success or a negative YB_E* code.
 * Operating-system codes (errno, GetLastError, WSAGetLastError) are translated
 * into this space in exactly one file per platform (posix/pal_err.c,
 * win32/pal_err.c); nothing above the platform layer ever sees an OS code.
 */
#ifndef YB_PAL_ERR_H
#define YB_PAL_ERR_H

enum yb_err {
    YB_OK = 0,
    YB_ENOMEM = -1,         /* out of memory */
    YB_EINVAL = -2,         /* invalid argument */
    YB_ENOENT = -3,         /* no such file or directory */
    YB_EEXIST = -4,         /* file exists */
    YB_EACCES = -5,         /* permission denied */
    YB_ENOSPC = -6,         /* no space left on device (or quota) */
    YB_EIO = -7,            /* input/output error */
    YB_EAGAIN = -8,         /* would block; try again when ready */
    YB_EINTR = -9,          /* interrupted */
    YB_ECLOSED = -10,       /* peer closed the connection / end of stream */
    YB_ECONNREFUSED = -11,  /* connection refused */
    YB_ECONNRESET = -12,    /* connection reset by peer */
    YB_EPIPE = -13,         /* broken pipe */
    YB_ETIMEDOUT = -14,     /* timed out */
    YB_EADDRINUSE = -15,    /* address already in use */
    YB_EADDRNOTAVAIL = -16, /* address not available */
    YB_EMFILE = -17,        /* too many open files (process) */
    YB_ENFILE = -18,        /* too many open files (system) */
    YB_ENOTDIR = -19,       /* not a directory */
    YB_EISDIR = -20,        /* is a directory */
    YB_ENOTEMPTY = -21,     /* directory not empty */
    YB_EXDEV = -22,         /* cross-device link */
    YB_ENAMETOOLONG = -23,  /* file name too long */
    YB_ELIMIT = -24,        /* a named yubin limit was exceeded */
    YB_EPARSE = -25,        /* syntax error in input */
    YB_EUTF8 = -26,         /* invalid UTF-8 */
    YB_EBUSY = -27,         /* resource busy or locked */
    YB_ENOTSUP = -28,       /* operation or charset not supported */
    YB_EILSEQ = -29,        /* invalid byte sequence for a charset */
    YB_EINPROGRESS = -30,   /* operation in progress (non-blocking connect) */
    YB_ENOTCONN = -31,      /* socket not connected */
    YB_EAFNOSUPPORT = -32,  /* address family not supported */
    YB_ENETUNREACH = -33,   /* network unreachable */
    YB_EHOSTUNREACH = -34,  /* host unreachable */
    YB_ERANGE = -35,        /* result does not fit the given buffer */
    YB_ENOTFOUND = -36,     /* name or key not found (lookups) */
    YB_EROFS = -37,         /* read-only file system */
    YB_EPERM = -38,         /* operation not permitted */
    YB_EBADF = -39,         /* bad handle */
    YB_EUNKNOWN = -40,      /* an OS error with no better translation */
    YB_E_LAST = -41
};

/*
 * Returns a static, human-readable description of a YB_E* code ("no space
 * left on device"). Unknown codes give "unknown error". Never returns NULL.
 */
const char *yb_strerror(int err);

/* Returns the symbolic name of a YB_E* code ("YB_ENOSPC"), for tests and logs. */
const char *yb_errname(int err);

#endif
