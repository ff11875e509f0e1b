/*
 * win32/pal_err.c - the one place where Windows error codes become YB_E*.
 *
 * GetLastError() codes and WSAGetLastError() codes are two different spaces
 * (ERROR_ACCESS_DENIED is 5, WSAEACCES is 10013), so they have two
 * translators and every caller says which space its code came from.
 */
#include "pal_err.h"
#include "pal_win32.h"

/* Not in every mingw-w64 winerror.h. */
#ifndef ERROR_DISK_QUOTA_EXCEEDED
#define ERROR_DISK_QUOTA_EXCEEDED 1295L
#endif

int pal__err_from_win32(DWORD code)
{
    switch (code) {
    case ERROR_SUCCESS: return YB_OK;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
    case ERROR_BAD_UNIT:
    case ERROR_NO_MORE_FILES:
    case ERROR_MOD_NOT_FOUND:
    /* The name of a file being deleted is logically gone, as on POSIX. */
    case ERROR_DELETE_PENDING: return YB_ENOENT;
    case ERROR_DIRECTORY: return YB_ENOTDIR;
    case ERROR_ACCESS_DENIED:
    case ERROR_CANNOT_MAKE:
    case ERROR_NETWORK_ACCESS_DENIED: return YB_EACCES;
    case ERROR_PRIVILEGE_NOT_HELD: return YB_EPERM;
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_BUSY:
    case ERROR_PATH_BUSY:
    case ERROR_USER_MAPPED_FILE: return YB_EBUSY;
    case ERROR_WRITE_PROTECT: return YB_EROFS;
    case ERROR_NOT_SAME_DEVICE: return YB_EXDEV;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: return YB_EEXIST;
    case ERROR_DIR_NOT_EMPTY: return YB_ENOTEMPTY;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
    case ERROR_DISK_QUOTA_EXCEEDED: return YB_ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_NOT_ENOUGH_QUOTA:
    case ERROR_COMMITMENT_LIMIT: return YB_ENOMEM;
    case ERROR_INVALID_HANDLE: return YB_EBADF;
    case ERROR_TOO_MANY_OPEN_FILES: return YB_EMFILE;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_FLAGS:
    case ERROR_NEGATIVE_SEEK:
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_NOACCESS: return YB_EINVAL;
    case ERROR_FILENAME_EXCED_RANGE:
    case ERROR_BUFFER_OVERFLOW: return YB_ENAMETOOLONG;
    case ERROR_INSUFFICIENT_BUFFER:
    case ERROR_MORE_DATA: return YB_ERANGE;
    case ERROR_NOT_SUPPORTED:
    case ERROR_INVALID_FUNCTION:
    case ERROR_CALL_NOT_IMPLEMENTED: return YB_ENOTSUP;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA: return YB_EPIPE;
    case ERROR_TIMEOUT:
    case ERROR_SEM_TIMEOUT:
    case WAIT_TIMEOUT: return YB_ETIMEDOUT;
    case ERROR_OPERATION_ABORTED: return YB_EINTR;
    case ERROR_IO_PENDING: return YB_EAGAIN;
    case ERROR_NO_UNICODE_TRANSLATION: return YB_EILSEQ;
    case ERROR_HANDLE_EOF: return YB_ECLOSED;
    case ERROR_NOT_FOUND: return YB_ENOTFOUND;
    case ERROR_NETNAME_DELETED:
    case ERROR_CONNECTION_ABORTED: return YB_ECONNRESET;
    case ERROR_CONNECTION_REFUSED: return YB_ECONNREFUSED;
    case ERROR_CRC:
    case ERROR_IO_DEVICE:
    case ERROR_READ_FAULT:
    case ERROR_WRITE_FAULT:
    case ERROR_GEN_FAILURE:
    case ERROR_NOT_READY:
    case ERROR_SECTOR_NOT_FOUND: return YB_EIO;
    default: return YB_EUNKNOWN;
    }
}

int pal__err_from_wsa(int code)
{
    switch (code) {
    case 0: return YB_OK;
    case WSAEWOULDBLOCK: return YB_EAGAIN;
    case WSAEINPROGRESS:
    case WSAEALREADY: return YB_EINPROGRESS;
    case WSAEINTR:
    case WSA_OPERATION_ABORTED: return YB_EINTR;
    case WSAEBADF:
    case WSAENOTSOCK:
    case WSA_INVALID_HANDLE: return YB_EBADF;
    case WSAEACCES: return YB_EACCES;
    case WSAEFAULT:
    case WSAEINVAL:
    case WSAEISCONN:
    case WSAEDESTADDRREQ:
    case WSA_INVALID_PARAMETER:
    case WSANOTINITIALISED: return YB_EINVAL;
    case WSAEMFILE: return YB_EMFILE;
    case WSAENOBUFS:
    case WSA_NOT_ENOUGH_MEMORY: return YB_ENOMEM;
    case WSAEAFNOSUPPORT:
    case WSAEPFNOSUPPORT: return YB_EAFNOSUPPORT;
    case WSAEADDRINUSE: return YB_EADDRINUSE;
    case WSAEADDRNOTAVAIL: return YB_EADDRNOTAVAIL;
    case WSAENETDOWN:
    case WSAENETUNREACH: return YB_ENETUNREACH;
    case WSAEHOSTUNREACH:
    case WSAEHOSTDOWN: return YB_EHOSTUNREACH;
    case WSAECONNREFUSED: return YB_ECONNREFUSED;
    case WSAECONNRESET:
    case WSAECONNABORTED:
    case WSAENETRESET: return YB_ECONNRESET;
    case WSAESHUTDOWN: return YB_EPIPE;
    case WSAEDISCON: return YB_ECLOSED;
    case WSAETIMEDOUT: return YB_ETIMEDOUT;
    case WSAENOTCONN: return YB_ENOTCONN;
    case WSAEMSGSIZE: return YB_ERANGE;
    case WSAENAMETOOLONG: return YB_ENAMETOOLONG;
    case WSAEOPNOTSUPP:
    case WSAEPROTONOSUPPORT:
    case WSAESOCKTNOSUPPORT:
    case WSAEPROTOTYPE:
    case WSAENOPROTOOPT:
    case WSASYSNOTREADY:
    case WSAVERNOTSUPPORTED: return YB_ENOTSUP;
    /* getaddrinfo's EAI_* codes are these WSA codes on Windows. */
    case WSAHOST_NOT_FOUND:
    case WSANO_DATA:
    case WSATYPE_NOT_FOUND: return YB_ENOTFOUND;
    case WSATRY_AGAIN: return YB_EAGAIN;
    case WSANO_RECOVERY: return YB_EIO;
    default:
        /* Some Winsock paths report plain Win32 codes (they are all < 10000). */
        if (code > 0 && code < WSABASEERR)
            return pal__err_from_win32((DWORD)code);
        return YB_EUNKNOWN;
    }
}

int pal__err_last_win32(void)
{
    int err = pal__err_from_win32(GetLastError());
    return err == YB_OK ? YB_EUNKNOWN : err;
}

int pal__err_last_wsa(void)
{
    int err = pal__err_from_wsa(WSAGetLastError());
    return err == YB_OK ? YB_EUNKNOWN : err;
}
