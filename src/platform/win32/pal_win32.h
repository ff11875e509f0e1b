/*
 * pal_win32.h - helpers shared only inside src/platform/win32 (pal__).
 *
 * Includes the Windows headers in the one order that works (winsock2.h must
 * come before windows.h, or windows.h drags in the old winsock.h), so every
 * win32/ file includes this instead of including OS headers itself.
 */
#ifndef YB_PAL_WIN32_H
#define YB_PAL_WIN32_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <windns.h>

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "pal_err.h"

/* ---- error translation (pal_err.c: the only place OS codes are mapped) ---- */

/* Maps a GetLastError() code to YB_E*; 0 maps to YB_OK, unknown to YB_EUNKNOWN. */
int pal__err_from_win32(DWORD code);

/*
 * Maps a WSAGetLastError() (or getaddrinfo) code to YB_E*. Winsock sometimes
 * reports plain Win32 codes; those are passed on to pal__err_from_win32.
 */
int pal__err_from_wsa(int code);

/* The current thread's GetLastError(), translated. Never returns YB_OK. */
int pal__err_last_win32(void);

/* The current thread's WSAGetLastError(), translated. Never returns YB_OK. */
int pal__err_last_wsa(void);

/* ---- UTF-8 <-> UTF-16 (pal_file.c) ---- */

/*
 * Converts a UTF-8 path to a malloc'ed, NUL-terminated UTF-16 path for the
 * wide-character API: '/' becomes '\\', and a path too long for the classic
 * MAX_PATH limit is made absolute and given the "\\?\" (or "\\?\UNC\")
 * prefix, which lifts the limit to ~32767 characters. The caller frees
 * *wpath_r. Returns YB_EUTF8 for invalid UTF-8, YB_EINVAL for an empty path
 * or an embedded NUL, YB_ENAMETOOLONG beyond what Windows accepts, YB_ENOMEM.
 *
 * extra reserves that many more wchar_t slots at the end of the buffer so a
 * caller can append a suffix (dir_open appends "\\*") without copying.
 */
int pal__path_to_wide(const char *path, size_t extra, wchar_t **wpath_r);

/*
 * Converts wlen UTF-16 units (or up to the NUL when wlen < 0) to UTF-8 in
 * buf (size bytes with the NUL). Returns YB_ERANGE if it does not fit,
 * YB_EILSEQ for an unpaired surrogate.
 */
int pal__wide_to_utf8(const wchar_t *w, int wlen, char *buf, size_t size);

/* ---- time (pal_time.c) ---- */

/* 100 ns FILETIME ticks since 1601-01-01 -> ns since the Unix epoch. */
int64_t pal__filetime_to_unix_ns(const FILETIME *ft);

#endif
