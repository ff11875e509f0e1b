/*
 * yb_log.h - logging.
 *
 * One record per line: "2026-11-23T14:08:28.123Z<TAB>LEVEL<TAB>service<TAB>
 * message". Control characters, bytes that are not UTF-8 and backslashes in
 * the message are escaped (\t, \xNN, \\), so a hostile client cannot forge a
 * record or a terminal escape. Records go to stderr (foreground), to
 * ROOT/logs/<service>.log, or both. Thread-safe.
 */
#ifndef YB_LOG_H
#define YB_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include "pal_compiler.h"

enum yb_log_level { YB_LOG_ERROR = 0, YB_LOG_WARN = 1, YB_LOG_INFO = 2, YB_LOG_DEBUG = 3 };

/* Longest message kept; longer ones are cut and marked with "...". */
#define YB_LIMIT_LOG_MESSAGE 4096

/*
 * Configures the sinks: logdir (created if missing; NULL for no files),
 * stderr on or off, and the lowest level written. May be called again (on
 * reload); open files are closed and reopened lazily. Returns 0 or an error
 * from creating logdir.
 */
int yb_log_configure(const char *logdir, bool to_stderr, enum yb_log_level level);

/* Closes the log files. Later records go to stderr only. */
void yb_log_close(void);

/* Parses "error", "warn", "info", "debug". Returns 0 or YB_EPARSE. */
int yb_log_level_parse(const char *name, enum yb_log_level *level_r);

void yb_log(enum yb_log_level level, const char *service, const char *fmt, ...) YB_PRINTF(3, 4);
void yb_logv(enum yb_log_level level, const char *service, const char *fmt, va_list ap)
    YB_PRINTF(3, 0);

/*
 * Test hook: every formatted record (without the newline) is also passed to
 * fn. NULL removes it.
 */
void yb_log_set_hook(void (*fn)(void *arg, enum yb_log_level level, const char *record), void *arg);

#define yb_log_error(svc, ...) yb_log(YB_LOG_ERROR, svc, __VA_ARGS__)
#define yb_log_warn(svc, ...)  yb_log(YB_LOG_WARN, svc, __VA_ARGS__)
#define yb_log_info(svc, ...)  yb_log(YB_LOG_INFO, svc, __VA_ARGS__)
#define yb_log_debug(svc, ...) yb_log(YB_LOG_DEBUG, svc, __VA_ARGS__)

#endif
