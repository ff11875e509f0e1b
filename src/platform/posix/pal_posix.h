/*
 * pal_posix.h - what the POSIX files share privately.
 */
#ifndef YB_PAL_POSIX_H
#define YB_PAL_POSIX_H

/* Translates an errno value into the YB_E* space (the only place that does). */
int pal__err_from_errno(int e);

/* Sets FD_CLOEXEC and optionally O_NONBLOCK on fd. */
int pal__fd_setup(int fd, int nonblock);

struct pal__poll_backend;
/* The epoll backend (pal_poll_epoll.c), listed by pal_poll.c when built. */
extern const struct pal__poll_backend pal__epoll_backend;

#endif
