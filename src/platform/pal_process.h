/*
 * pal_process.h - the process and its life cycle.
 *
 * Shutdown and reload requests arrive as events, whatever their source:
 * SIGTERM/SIGINT (shutdown) and SIGHUP (reload) on POSIX, console control
 * events on Windows (Ctrl-C, close, logoff, shutdown), the Windows service
 * control handler, or pal_proc_request() from code and tests. A dedicated
 * thread receives them, so the callback runs in an ordinary thread context
 * (never inside a signal handler) and may lock, allocate and log.
 */
#ifndef YB_PAL_PROCESS_H
#define YB_PAL_PROCESS_H

#include <stddef.h>
#include <stdint.h>

enum pal_proc_event { PAL_PROC_SHUTDOWN = 1u << 0, PAL_PROC_RELOAD = 1u << 1 };

/*
 * Starts event delivery: on each request notify(arg, event) is called from the
 * event thread, in the order the requests arrived. On POSIX signal handlers
 * only write a byte to a pipe the event thread reads, so any thread may take
 * the signal. Only one delivery may be active (YB_EBUSY otherwise).
 */
int pal_proc_events_start(void (*notify)(void *arg, unsigned event), void *arg);

/* Stops delivery, joins the event thread and restores default handling. */
void pal_proc_events_stop(void);

/* Raises an event as if it came from the OS. Thread-safe. */
int pal_proc_request(unsigned event);

/* The process id. */
uint64_t pal_proc_id(void);

/*
 * The host's name (the fully qualified one if the OS knows it) into buf.
 * Returns YB_ERANGE if it does not fit.
 */
int pal_hostname(char *buf, size_t size);

#endif
