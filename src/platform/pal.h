/*
 * pal.h - the platform abstraction layer, in one include.
 *
 * Code outside src/platform includes this (or one pal_*.h) and never an OS
 * header; the build chooses posix/ or win32/ to implement it.
 */
#ifndef YB_PAL_H
#define YB_PAL_H

#include "pal_compiler.h"
#include "pal_err.h"
#include "pal_socket.h"
#include "pal_poll.h"
#include "pal_thread.h"
#include "pal_file.h"
#include "pal_time.h"
#include "pal_random.h"
#include "pal_process.h"
#include "pal_charset.h"
#include "pal_service.h"
#include "pal_dns.h"

#endif
