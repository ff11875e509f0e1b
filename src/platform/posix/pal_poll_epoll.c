/*
 * pal_poll_epoll.c - the epoll backend (Linux). Level-triggered, like the
 * others. The user pointer lives in epoll's own data field; a small hash of
 * registered fds (the shared pollset) answers EEXIST/ENOENT the same way the
 * poll() backend does, since epoll reports those only for the kernel's view.
 */
#include "pal_poll.h"
#include "pal_internal.h"
#include "pal_err.h"
#include "pal_posix.h"

#ifdef YB_HAVE_EPOLL

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EPOLL_BATCH 256

struct epoll_impl {
    int epfd;
    pal_sock wake[2];
    struct pal__pollset set;
    struct epoll_event evbuf[EPOLL_BATCH];
};

/* The wake socket is registered with this marker as its data pointer. */
static char wake_marker;

static uint32_t to_epoll(unsigned events)
{
    return ((events & PAL_POLL_IN) ? EPOLLIN | EPOLLRDHUP : 0) |
           ((events & PAL_POLL_OUT) ? EPOLLOUT : 0);
}

static int ep_create(struct pal_poller *p)
{
    struct epoll_impl *impl = calloc(1, sizeof(*impl));
    if (impl == NULL)
        return YB_ENOMEM;
    int rc;
    impl->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (impl->epfd < 0) {
        rc = pal__err_from_errno(errno);
        free(impl);
        return rc;
    }
    rc = pal_sock_pair(impl->wake);
    if (rc != 0)
        goto fail;
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = &wake_marker };
    if (epoll_ctl(impl->epfd, EPOLL_CTL_ADD, (int)impl->wake[0].h, &e) != 0) {
        rc = pal__err_from_errno(errno);
        goto fail;
    }
    pal__pollset_init(&impl->set);
    p->impl = impl;
    return 0;
fail:
    pal_sock_close(&impl->wake[0]);
    pal_sock_close(&impl->wake[1]);
    close(impl->epfd);
    free(impl);
    return rc;
}

static void ep_destroy(struct pal_poller *p)
{
    struct epoll_impl *impl = p->impl;
    close(impl->epfd);
    pal_sock_close(&impl->wake[0]);
    pal_sock_close(&impl->wake[1]);
    pal__pollset_free(&impl->set);
    free(impl);
}

static int ep_add(struct pal_poller *p, pal_sock s, unsigned events, void *udata)
{
    struct epoll_impl *impl = p->impl;
    int rc = pal__pollset_add(&impl->set, s.h, events, udata);
    if (rc != 0)
        return rc;
    struct epoll_event e = { .events = to_epoll(events), .data.ptr = udata };
    if (epoll_ctl(impl->epfd, EPOLL_CTL_ADD, (int)s.h, &e) != 0) {
        rc = pal__err_from_errno(errno);
        pal__pollset_del(&impl->set, s.h);
        return rc;
    }
    return 0;
}

static int ep_mod(struct pal_poller *p, pal_sock s, unsigned events, void *udata)
{
    struct epoll_impl *impl = p->impl;
    if (pal__pollset_find(&impl->set, s.h) < 0)
        return YB_ENOENT;
    struct epoll_event e = { .events = to_epoll(events), .data.ptr = udata };
    if (epoll_ctl(impl->epfd, EPOLL_CTL_MOD, (int)s.h, &e) != 0)
        return pal__err_from_errno(errno);
    return pal__pollset_mod(&impl->set, s.h, events, udata);
}

static int ep_del(struct pal_poller *p, pal_sock s)
{
    struct epoll_impl *impl = p->impl;
    int rc = pal__pollset_del(&impl->set, s.h);
    if (rc != 0)
        return rc;
    struct epoll_event e = { 0 };
    if (epoll_ctl(impl->epfd, EPOLL_CTL_DEL, (int)s.h, &e) != 0 && errno != EBADF)
        return pal__err_from_errno(errno);
    return 0;
}

static int ep_wait(struct pal_poller *p, struct pal_poll_event *ev, size_t max, int timeout_ms,
                   size_t *n_r)
{
    struct epoll_impl *impl = p->impl;
    int want = max + 1 < EPOLL_BATCH ? (int)max + 1 : EPOLL_BATCH; /* +1: the wake socket */
    int n = epoll_wait(impl->epfd, impl->evbuf, want, timeout_ms < 0 ? -1 : timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : pal__err_from_errno(errno);
    size_t out = 0;
    for (int i = 0; i < n; i++) {
        uint32_t r = impl->evbuf[i].events;
        if (impl->evbuf[i].data.ptr == &wake_marker) {
            char buf[64];
            size_t got;
            while (pal_sock_recv(impl->wake[0], buf, sizeof(buf), &got) == 0 && got == sizeof(buf))
                ;
            continue;
        }
        if (out == max)
            break; /* level-triggered: the rest is reported by the next wait */
        unsigned e = 0;
        if (r & EPOLLIN)
            e |= PAL_POLL_IN;
        if (r & EPOLLOUT)
            e |= PAL_POLL_OUT;
        if (r & EPOLLERR)
            e |= PAL_POLL_ERR;
        if (r & (EPOLLHUP | EPOLLRDHUP))
            e |= PAL_POLL_HUP;
        if (r & EPOLLRDHUP) /* only registered with IN: the end of stream is there to read */
            e |= PAL_POLL_IN;
        ev[out].udata = impl->evbuf[i].data.ptr;
        ev[out].events = e;
        out++;
    }
    *n_r = out;
    return 0;
}

static int ep_wake(struct pal_poller *p)
{
    struct epoll_impl *impl = p->impl;
    size_t sent;
    int rc = pal_sock_send(impl->wake[1], "w", 1, &sent);
    return rc == YB_EAGAIN ? 0 : rc;
}

const struct pal__poll_backend pal__epoll_backend = {
    "epoll", ep_create, ep_destroy, ep_add, ep_mod, ep_del, ep_wait, ep_wake,
};

#endif
