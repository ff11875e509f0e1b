/*
 * pal_poll.c - the poll() backend (any POSIX system) and the list of
 * backends built on this platform.
 */
#include "pal_poll.h"
#include "pal_internal.h"
#include "pal_err.h"
#include "pal_posix.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

struct poll_impl {
    struct pal__pollset set;
    struct pollfd *pfd; /* scratch array rebuilt by each wait */
    size_t pfd_cap;
    pal_sock wake[2];
};

static int pp_create(struct pal_poller *p)
{
    struct poll_impl *impl = calloc(1, sizeof(*impl));
    if (impl == NULL)
        return YB_ENOMEM;
    pal__pollset_init(&impl->set);
    int rc = pal_sock_pair(impl->wake);
    if (rc != 0) {
        free(impl);
        return rc;
    }
    p->impl = impl;
    return 0;
}

static void pp_destroy(struct pal_poller *p)
{
    struct poll_impl *impl = p->impl;
    pal__pollset_free(&impl->set);
    pal_sock_close(&impl->wake[0]);
    pal_sock_close(&impl->wake[1]);
    free(impl->pfd);
    free(impl);
}

static int pp_add(struct pal_poller *p, pal_sock s, unsigned events, void *udata)
{
    struct poll_impl *impl = p->impl;
    return pal__pollset_add(&impl->set, s.h, events, udata);
}

static int pp_mod(struct pal_poller *p, pal_sock s, unsigned events, void *udata)
{
    struct poll_impl *impl = p->impl;
    return pal__pollset_mod(&impl->set, s.h, events, udata);
}

static int pp_del(struct pal_poller *p, pal_sock s)
{
    struct poll_impl *impl = p->impl;
    return pal__pollset_del(&impl->set, s.h);
}

static void drain_wake(struct poll_impl *impl)
{
    char buf[64];
    size_t got;
    while (pal_sock_recv(impl->wake[0], buf, sizeof(buf), &got) == 0 && got == sizeof(buf))
        ;
}

static int pp_wait(struct pal_poller *p, struct pal_poll_event *ev, size_t max, int timeout_ms,
                   size_t *n_r)
{
    struct poll_impl *impl = p->impl;
    struct pal__pollset *set = &impl->set;
    size_t n = set->n + 1;
    if (n > impl->pfd_cap) {
        struct pollfd *np = realloc(impl->pfd, n * sizeof(*np));
        if (np == NULL)
            return YB_ENOMEM;
        impl->pfd = np;
        impl->pfd_cap = n;
    }
    for (size_t i = 0; i < set->n; i++) {
        impl->pfd[i].fd = (int)set->handle[i];
        impl->pfd[i].events = (short)(((set->events[i] & PAL_POLL_IN) ? POLLIN : 0) |
                                      ((set->events[i] & PAL_POLL_OUT) ? POLLOUT : 0));
        impl->pfd[i].revents = 0;
    }
    impl->pfd[set->n].fd = (int)impl->wake[0].h;
    impl->pfd[set->n].events = POLLIN;
    impl->pfd[set->n].revents = 0;

    int rc = poll(impl->pfd, (nfds_t)n, timeout_ms < 0 ? -1 : timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : pal__err_from_errno(errno);
    if (impl->pfd[set->n].revents != 0)
        drain_wake(impl);
    size_t out = 0;
    for (size_t i = 0; i < set->n && out < max; i++) {
        short r = impl->pfd[i].revents;
        if (r == 0)
            continue;
        unsigned e = 0;
        if (r & POLLIN)
            e |= PAL_POLL_IN;
        if (r & POLLOUT)
            e |= PAL_POLL_OUT;
        if (r & (POLLERR | POLLNVAL))
            e |= PAL_POLL_ERR;
        if (r & POLLHUP) /* the end of stream is there to read */
            e |= PAL_POLL_HUP | (set->events[i] & PAL_POLL_IN);
        ev[out].udata = set->udata[i];
        ev[out].events = e;
        out++;
    }
    *n_r = out;
    return 0;
}

static int pp_wake(struct pal_poller *p)
{
    struct poll_impl *impl = p->impl;
    size_t sent;
    int rc = pal_sock_send(impl->wake[1], "w", 1, &sent);
    /* A full wake pipe already guarantees a wake-up. */
    return rc == YB_EAGAIN ? 0 : rc;
}

static const struct pal__poll_backend poll_backend = {
    "poll", pp_create, pp_destroy, pp_add, pp_mod, pp_del, pp_wait, pp_wake,
};

const struct pal__poll_backend *const pal__poll_backend_list[] = {
#ifdef YB_HAVE_EPOLL
    &pal__epoll_backend,
#endif
    &poll_backend,
    NULL,
};
