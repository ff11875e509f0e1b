/*
 * win32/pal_poll.c - the WSAPoll backend and the list of Windows backends.
 *
 * WSAPoll is level-triggered like poll(), takes SOCKET handles (not small
 * integers) and has no fixed limit like select()'s FD_SETSIZE, so it sits on
 * the same registration set as the POSIX poll() backend (pal_pollset.c).
 * A wake-up is one byte on an internal loopback socket pair whose read end
 * is always polled as entry 0 (it is never in the set).
 *
 * Known WSAPoll defect: before Windows 10 version 2004, a non-blocking
 * connect() that fails (refused, unreachable) is never reported - no
 * POLLERR, no POLLWRNORM, no POLLHUP - so a waiter for PAL_POLL_OUT sleeps
 * until its timeout. Callers therefore always put a timeout on connects
 * (the engine has one for every outbound connection) and call
 * pal_sock_connect_result() when it expires; blocking-style code uses
 * pal_sock_wait()/pal_tcp_connect_wait(), which use select() and do see the
 * failure. Wine reports a refused connect as POLLHUP|POLLERR (like fixed
 * Windows).
 */
#include "pal_poll.h"
#include "pal_internal.h"
#include "pal_win32.h"

#include <limits.h>
#include <stdlib.h>

struct wsapoll_impl {
    struct pal__pollset set;
    WSAPOLLFD *fds; /* scratch: [0] the wake socket, then the set in order */
    size_t fds_cap;
    size_t rotor; /* where the next wait starts reporting, for fairness */
    pal_sock wake[2];
    /*
     * 1 while a wake byte is in flight: further wakes need not send, so the
     * pair's buffer can never fill however often other threads wake us.
     */
    volatile LONG wake_pending;
};

static int wp_create(struct pal_poller *p)
{
    struct wsapoll_impl *impl;
    int err;

    impl = calloc(1, sizeof(*impl));
    if (impl == NULL)
        return YB_ENOMEM;
    pal__pollset_init(&impl->set);
    err = pal_sock_pair(impl->wake);
    if (err < 0) {
        free(impl);
        return err;
    }
    p->impl = impl;
    return 0;
}

static void wp_destroy(struct pal_poller *p)
{
    struct wsapoll_impl *impl = p->impl;

    if (impl == NULL)
        return;
    pal__pollset_free(&impl->set);
    pal_sock_close(&impl->wake[0]);
    pal_sock_close(&impl->wake[1]);
    free(impl->fds);
    free(impl);
    p->impl = NULL;
}

static int wp_add(struct pal_poller *p, pal_sock s, unsigned events, void *udata)
{
    struct wsapoll_impl *impl = p->impl;
    return pal__pollset_add(&impl->set, s.h, events, udata);
}

static int wp_mod(struct pal_poller *p, pal_sock s, unsigned events, void *udata)
{
    struct wsapoll_impl *impl = p->impl;
    return pal__pollset_mod(&impl->set, s.h, events, udata);
}

static int wp_del(struct pal_poller *p, pal_sock s)
{
    struct wsapoll_impl *impl = p->impl;
    return pal__pollset_del(&impl->set, s.h);
}

/*
 * Empties the wake socket, then re-arms wake(). In this order a wake that
 * lands between the two steps is merged into the wait that is returning
 * now; in the other order its byte could be drained while the flag stayed
 * set, and every later wake would be swallowed.
 */
static void drain_wake(struct wsapoll_impl *impl)
{
    char buf[64];
    size_t got;

    while (pal_sock_recv(impl->wake[0], buf, sizeof(buf), &got) == 0)
        ;
    InterlockedExchange(&impl->wake_pending, 0);
}

/* WSAPoll's revents -> PAL_POLL_*, for a socket that asked for `want`. */
static unsigned map_revents(SHORT r, unsigned want)
{
    unsigned e = 0;

    if (r & (POLLRDNORM | POLLRDBAND))
        e |= PAL_POLL_IN;
    if (r & POLLWRNORM)
        e |= PAL_POLL_OUT;
    /* POLLNVAL: the socket was closed while registered (a caller bug); say ERR. */
    if (r & (POLLERR | POLLNVAL))
        e |= PAL_POLL_ERR;
    if (r & POLLHUP) {
        e |= PAL_POLL_HUP;
        /*
         * Windows reports a peer's FIN as POLLHUP, sometimes without
         * POLLRDNORM; POSIX reports it as readable. A reader must call recv
         * to collect the last bytes and see end of stream, so HUP implies IN.
         */
        e |= PAL_POLL_IN;
    }
    return e & (want | PAL_POLL_ERR | PAL_POLL_HUP);
}

static int wp_wait(struct pal_poller *p, struct pal_poll_event *ev, size_t max, int timeout_ms,
                   size_t *n_r)
{
    struct wsapoll_impl *impl = p->impl;
    struct pal__pollset *set = &impl->set;
    size_t nfds = set->n + 1, out = 0, i, k;
    int rc;

    *n_r = 0;
    if (nfds > impl->fds_cap) {
        WSAPOLLFD *nf = realloc(impl->fds, nfds * sizeof(*nf));
        if (nf == NULL)
            return YB_ENOMEM;
        impl->fds = nf;
        impl->fds_cap = nfds;
    }
    impl->fds[0].fd = (SOCKET)impl->wake[0].h;
    impl->fds[0].events = POLLRDNORM;
    impl->fds[0].revents = 0;
    for (i = 0; i < set->n; i++) {
        WSAPOLLFD *f = &impl->fds[i + 1];
        f->fd = (SOCKET)set->handle[i];
        /*
         * Only POLLRDNORM/POLLWRNORM: WSAPoll fails the whole call with
         * WSAEINVAL for POLLPRI, and 0 is valid (ERR/HUP are always reported).
         */
        f->events = (SHORT)(((set->events[i] & PAL_POLL_IN) ? POLLRDNORM : 0) |
                            ((set->events[i] & PAL_POLL_OUT) ? POLLWRNORM : 0));
        f->revents = 0;
    }
    if (nfds > ULONG_MAX)
        return YB_ELIMIT;
    rc = WSAPoll(impl->fds, (ULONG)nfds, timeout_ms < 0 ? -1 : timeout_ms);
    if (rc == SOCKET_ERROR) {
        int wsa = WSAGetLastError();
        return wsa == WSAEINTR ? 0 : pal__err_from_wsa(wsa);
    }
    if (rc == 0)
        return 0;
    if (impl->fds[0].revents != 0)
        drain_wake(impl);
    /*
     * Level-triggered: what does not fit in max is reported again next
     * time. Start where the last full wait stopped so a busy head of the
     * set cannot starve the sockets behind it.
     */
    if (impl->rotor >= set->n)
        impl->rotor = 0;
    for (k = 0; k < set->n && out < max; k++) {
        i = (impl->rotor + k) % set->n;
        SHORT r = impl->fds[i + 1].revents;
        unsigned e;
        if (r == 0)
            continue;
        e = map_revents(r, set->events[i]);
        if (e == 0)
            continue;
        ev[out].udata = set->udata[i];
        ev[out].events = e;
        out++;
    }
    if (out == max && set->n > 0)
        impl->rotor = (impl->rotor + k) % set->n;
    *n_r = out;
    return 0;
}

static int wp_wake(struct pal_poller *p)
{
    struct wsapoll_impl *impl = p->impl;
    size_t sent;
    int err;

    if (InterlockedExchange(&impl->wake_pending, 1) != 0)
        return 0;
    err = pal_sock_send(impl->wake[1], "w", 1, &sent);
    /* A full socket buffer already guarantees a wake-up. */
    if (err == YB_EAGAIN)
        return 0;
    if (err < 0)
        InterlockedExchange(&impl->wake_pending, 0);
    return err;
}

static const struct pal__poll_backend wsapoll_backend = {
    "wsapoll", wp_create, wp_destroy, wp_add, wp_mod, wp_del, wp_wait, wp_wake,
};

const struct pal__poll_backend *const pal__poll_backend_list[] = {
    &wsapoll_backend,
    NULL,
};
