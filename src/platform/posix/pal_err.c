/*
 * pal_err.c - errno to YB_E* translation for POSIX.
 */
#include "pal_err.h"
#include "pal_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int pal__err_from_errno(int e)
{
    switch (e) {
    case 0: return YB_EUNKNOWN;
    case ENOMEM: return YB_ENOMEM;
    case EINVAL: return YB_EINVAL;
    case ENOENT: return YB_ENOENT;
    case EEXIST: return YB_EEXIST;
    case EACCES: return YB_EACCES;
    case EPERM: return YB_EPERM;
    case ENOSPC: return YB_ENOSPC;
#ifdef EDQUOT
    case EDQUOT: return YB_ENOSPC;
#endif
    case EIO: return YB_EIO;
    case EAGAIN: return YB_EAGAIN;
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK: return YB_EAGAIN;
#endif
    case EINTR: return YB_EINTR;
    case ECONNREFUSED: return YB_ECONNREFUSED;
    case ECONNRESET: return YB_ECONNRESET;
    case ECONNABORTED: return YB_ECONNRESET;
    case EPIPE: return YB_EPIPE;
    case ETIMEDOUT: return YB_ETIMEDOUT;
    case EADDRINUSE: return YB_EADDRINUSE;
    case EADDRNOTAVAIL: return YB_EADDRNOTAVAIL;
    case EMFILE: return YB_EMFILE;
    case ENFILE: return YB_ENFILE;
    case ENOTDIR: return YB_ENOTDIR;
    case EISDIR: return YB_EISDIR;
    case ENOTEMPTY: return YB_ENOTEMPTY;
    case EXDEV: return YB_EXDEV;
    case ENAMETOOLONG: return YB_ENAMETOOLONG;
    case EBUSY: return YB_EBUSY;
    case ENOTSUP: return YB_ENOTSUP;
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP: return YB_ENOTSUP;
#endif
    case EILSEQ: return YB_EILSEQ;
    case EINPROGRESS: return YB_EINPROGRESS;
    case ENOTCONN: return YB_ENOTCONN;
    case EAFNOSUPPORT: return YB_EAFNOSUPPORT;
    case EPROTONOSUPPORT: return YB_EAFNOSUPPORT;
    case ENETUNREACH: return YB_ENETUNREACH;
    case EHOSTUNREACH: return YB_EHOSTUNREACH;
    case ERANGE: return YB_ERANGE;
    case E2BIG: return YB_ERANGE;
    case EROFS: return YB_EROFS;
    case EBADF: return YB_EBADF;
    case ELOOP: return YB_ENOENT;
    case EMLINK: return YB_ELIMIT;
    case EFBIG: return YB_ENOSPC;
    default: return YB_EUNKNOWN;
    }
}

int pal__fd_setup(int fd, int nonblock)
{
    int fdflags = fcntl(fd, F_GETFD);
    if (fdflags < 0 || fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC) < 0)
        return pal__err_from_errno(errno);
    if (nonblock) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
            return pal__err_from_errno(errno);
    }
    return 0;
}
