/*
 * pal_socket.c - TCP sockets on POSIX (BSD sockets).
 */
#include "pal_socket.h"
#include "pal_err.h"
#include "pal_posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(sizeof(struct sockaddr_storage) <= sizeof(((struct pal_addr *)0)->storage),
               "pal_addr too small for sockaddr_storage");

#define FD(s) ((int)(s).h)

#ifdef MSG_NOSIGNAL
#define PAL__SEND_FLAGS MSG_NOSIGNAL
#else
#define PAL__SEND_FLAGS 0 /* SIGPIPE is ignored by pal_net_init */
#endif

bool pal_sock_valid(pal_sock s)
{
    return s.h >= 0;
}

int pal_net_init(void)
{
    /* Writes to a closed peer must return EPIPE, not kill the server. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static struct sockaddr *sa(struct pal_addr *a)
{
    return (struct sockaddr *)(void *)a->storage;
}

static const struct sockaddr *csa(const struct pal_addr *a)
{
    return (const struct sockaddr *)(const void *)a->storage;
}

int pal_addr_from_ip(const char *ip, uint16_t port, struct pal_addr *addr_r)
{
    memset(addr_r, 0, sizeof(*addr_r));
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)addr_r->storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)addr_r->storage;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        addr_r->len = sizeof(*v4);
        return 0;
    }
    memset(addr_r, 0, sizeof(*addr_r));
    if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        addr_r->len = sizeof(*v6);
        return 0;
    }
    return YB_EPARSE;
}

static int parse_port(const char *p, uint16_t *port_r)
{
    if (*p == '\0')
        return YB_EPARSE;
    unsigned long v = 0;
    for (const char *q = p; *q; q++) {
        if (*q < '0' || *q > '9')
            return YB_EPARSE;
        v = v * 10 + (unsigned long)(*q - '0');
        if (v > 65535)
            return YB_EINVAL;
        if (q - p > 5)
            return YB_EINVAL;
    }
    *port_r = (uint16_t)v;
    return 0;
}

int pal_addr_parse(const char *text, struct pal_addr *addr_r)
{
    char host[64];
    const char *port;
    size_t hl;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (end == NULL || end[1] != ':')
            return YB_EPARSE;
        hl = (size_t)(end - text - 1);
        if (hl == 0 || hl >= sizeof(host))
            return YB_EPARSE;
        memcpy(host, text + 1, hl);
        host[hl] = '\0';
        port = end + 2;
        if (strcmp(host, "*") == 0) {
            host[0] = ':';
            host[1] = ':';
            host[2] = '\0';
        }
        if (strchr(host, ':') == NULL)
            return YB_EPARSE; /* brackets are for IPv6 only */
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL)
            return YB_EPARSE; /* IPv6 needs brackets */
        hl = (size_t)(colon - text);
        if (hl == 0 || hl >= sizeof(host))
            return YB_EPARSE;
        memcpy(host, text, hl);
        host[hl] = '\0';
        port = colon + 1;
        if (strcmp(host, "*") == 0) {
            memcpy(host, "0.0.0.0", 8);
        }
    }
    uint16_t pn;
    int rc = parse_port(port, &pn);
    if (rc != 0)
        return rc;
    return pal_addr_from_ip(host, pn, addr_r);
}

int pal_addr_format(const struct pal_addr *addr, bool with_port, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    int n;
    const struct sockaddr *s = csa(addr);
    if (s->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const void *)s;
        if (inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip)) == NULL)
            return YB_EINVAL;
        n = with_port ? snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(v4->sin_port))
                      : snprintf(buf, size, "%s", ip);
    } else if (s->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const void *)s;
        if (inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip)) == NULL)
            return YB_EINVAL;
        n = with_port ? snprintf(buf, size, "[%s]:%u", ip, (unsigned)ntohs(v6->sin6_port))
                      : snprintf(buf, size, "%s", ip);
    } else {
        return YB_EAFNOSUPPORT;
    }
    if (n < 0 || (size_t)n >= size)
        return YB_ERANGE;
    return 0;
}

uint16_t pal_addr_port(const struct pal_addr *addr)
{
    const struct sockaddr *s = csa(addr);
    if (s->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)(const void *)s)->sin_port);
    if (s->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)(const void *)s)->sin6_port);
    return 0;
}

void pal_addr_set_port(struct pal_addr *addr, uint16_t port)
{
    struct sockaddr *s = sa(addr);
    if (s->sa_family == AF_INET)
        ((struct sockaddr_in *)(void *)s)->sin_port = htons(port);
    else if (s->sa_family == AF_INET6)
        ((struct sockaddr_in6 *)(void *)s)->sin6_port = htons(port);
}

enum pal_af pal_addr_family(const struct pal_addr *addr)
{
    switch (csa(addr)->sa_family) {
    case AF_INET: return PAL_AF_INET;
    case AF_INET6: return PAL_AF_INET6;
    default: return PAL_AF_UNSPEC;
    }
}

int pal_addr_bytes(const struct pal_addr *addr, unsigned char bytes_r[16], size_t *len_r)
{
    const struct sockaddr *s = csa(addr);
    if (s->sa_family == AF_INET) {
        memcpy(bytes_r, &((const struct sockaddr_in *)(const void *)s)->sin_addr, 4);
        *len_r = 4;
        return 0;
    }
    if (s->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)s)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            memcpy(bytes_r, a6->s6_addr + 12, 4);
            *len_r = 4;
        } else {
            memcpy(bytes_r, a6->s6_addr, 16);
            *len_r = 16;
        }
        return 0;
    }
    return YB_EAFNOSUPPORT;
}

bool pal_addr_is_loopback(const struct pal_addr *addr)
{
    unsigned char b[16];
    size_t n;
    if (pal_addr_bytes(addr, b, &n) != 0)
        return false;
    if (n == 4)
        return b[0] == 127;
    static const unsigned char one[16] = { [15] = 1 };
    return memcmp(b, one, 16) == 0;
}

int pal_addr_resolve(const char *host, uint16_t port, struct pal_addr *addrs, size_t max,
                     size_t *n_r)
{
    struct addrinfo hints, *res = NULL;
    char service[8];
    *n_r = 0;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc == EAI_NONAME && strcmp(host, "localhost") == 0) {
        /* AI_ADDRCONFIG hides loopback on hosts with no other address. */
        hints.ai_flags = 0;
        rc = getaddrinfo(host, service, &hints, &res);
    }
    if (rc != 0) {
        switch (rc) {
        case EAI_NONAME:
#ifdef EAI_NODATA
        case EAI_NODATA:
#endif
        case EAI_FAIL: return YB_ENOTFOUND;
        case EAI_AGAIN: return YB_EAGAIN;
        case EAI_MEMORY: return YB_ENOMEM;
        case EAI_SYSTEM: return pal__err_from_errno(errno);
        default: return YB_ENOTFOUND;
        }
    }
    for (struct addrinfo *ai = res; ai != NULL && *n_r < max; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(addrs[0].storage))
            continue;
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        memset(&addrs[*n_r], 0, sizeof(addrs[0]));
        memcpy(addrs[*n_r].storage, ai->ai_addr, ai->ai_addrlen);
        addrs[*n_r].len = (uint32_t)ai->ai_addrlen;
        (*n_r)++;
    }
    freeaddrinfo(res);
    return *n_r > 0 ? 0 : YB_ENOTFOUND;
}

static int new_socket(int family, int *fd_r)
{
#ifdef SOCK_CLOEXEC
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return pal__err_from_errno(errno);
#else
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return pal__err_from_errno(errno);
    int rc = pal__fd_setup(fd, 1);
    if (rc != 0) {
        close(fd);
        return rc;
    }
#endif
    *fd_r = fd;
    return 0;
}

int pal_tcp_listen(const struct pal_addr *addr, int backlog, pal_sock *sock_r)
{
    int fd = -1, one = 1, rc;
    *sock_r = PAL_SOCK_INVALID;
    rc = new_socket(csa(addr)->sa_family, &fd);
    if (rc != 0)
        return rc;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (csa(addr)->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, csa(addr), (socklen_t)addr->len) != 0 ||
        listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0) {
        rc = pal__err_from_errno(errno);
        close(fd);
        return rc;
    }
    sock_r->h = fd;
    return 0;
}

int pal_tcp_accept(pal_sock listener, pal_sock *sock_r, struct pal_addr *peer_r)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd;
    *sock_r = PAL_SOCK_INVALID;
    for (;;) {
#ifdef YB_HAVE_ACCEPT4
        fd = accept4(FD(listener), (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
#else
        fd = accept(FD(listener), (struct sockaddr *)&ss, &len);
#endif
        if (fd >= 0)
            break;
        if (errno == EINTR)
            continue;
        /* A connection reset before we accepted it is not our error. */
        if (errno == ECONNABORTED || errno == EPROTO)
            return YB_EAGAIN;
        return pal__err_from_errno(errno);
    }
#ifndef YB_HAVE_ACCEPT4
    int rc = pal__fd_setup(fd, 1);
    if (rc != 0) {
        close(fd);
        return rc;
    }
#endif
    if (peer_r != NULL) {
        memset(peer_r, 0, sizeof(*peer_r));
        memcpy(peer_r->storage, &ss, len);
        peer_r->len = (uint32_t)len;
    }
    sock_r->h = fd;
    return 0;
}

int pal_tcp_connect(const struct pal_addr *addr, pal_sock *sock_r)
{
    int fd = -1, rc;
    *sock_r = PAL_SOCK_INVALID;
    rc = new_socket(csa(addr)->sa_family, &fd);
    if (rc != 0)
        return rc;
    if (connect(fd, csa(addr), (socklen_t)addr->len) == 0) {
        sock_r->h = fd;
        return 0;
    }
    if (errno == EINPROGRESS || errno == EINTR) {
        sock_r->h = fd;
        return YB_EINPROGRESS;
    }
    rc = pal__err_from_errno(errno);
    close(fd);
    return rc;
}

int pal_sock_connect_result(pal_sock sock)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(FD(sock), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return pal__err_from_errno(errno);
    return err == 0 ? 0 : pal__err_from_errno(err);
}

int pal_sock_wait(pal_sock sock, bool want_write, int timeout_ms)
{
    struct pollfd pfd = { .fd = FD(sock), .events = want_write ? POLLOUT : POLLIN };
    for (;;) {
        int n = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
        if (n > 0)
            return 0; /* ready, or an error the next call will report */
        if (n == 0)
            return YB_ETIMEDOUT;
        if (errno != EINTR)
            return pal__err_from_errno(errno);
    }
}

int pal_tcp_connect_wait(const struct pal_addr *addr, int timeout_ms, pal_sock *sock_r)
{
    int rc = pal_tcp_connect(addr, sock_r);
    if (rc != YB_EINPROGRESS)
        return rc;
    rc = pal_sock_wait(*sock_r, true, timeout_ms);
    if (rc == 0)
        rc = pal_sock_connect_result(*sock_r);
    if (rc != 0)
        pal_sock_close(sock_r);
    return rc;
}

int pal_sock_send(pal_sock sock, const void *buf, size_t len, size_t *sent_r)
{
    *sent_r = 0;
    for (;;) {
        ssize_t n = send(FD(sock), buf, len, PAL__SEND_FLAGS);
        if (n >= 0) {
            *sent_r = (size_t)n;
            return 0;
        }
        if (errno != EINTR)
            return pal__err_from_errno(errno);
    }
}

int pal_sock_recv(pal_sock sock, void *buf, size_t len, size_t *got_r)
{
    *got_r = 0;
    if (len == 0)
        return YB_EINVAL;
    for (;;) {
        ssize_t n = recv(FD(sock), buf, len, 0);
        if (n > 0) {
            *got_r = (size_t)n;
            return 0;
        }
        if (n == 0)
            return YB_ECLOSED;
        if (errno != EINTR)
            return pal__err_from_errno(errno);
    }
}

int pal_sock_shutdown(pal_sock sock, enum pal_shut how)
{
    int h = how == PAL_SHUT_RD ? SHUT_RD : how == PAL_SHUT_WR ? SHUT_WR : SHUT_RDWR;
    if (shutdown(FD(sock), h) != 0)
        return pal__err_from_errno(errno);
    return 0;
}

void pal_sock_close(pal_sock *sock)
{
    if (pal_sock_valid(*sock)) {
        close(FD(*sock));
        *sock = PAL_SOCK_INVALID;
    }
}

int pal_sock_set_nonblocking(pal_sock sock, bool on)
{
    int fl = fcntl(FD(sock), F_GETFL);
    if (fl < 0)
        return pal__err_from_errno(errno);
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    if (fcntl(FD(sock), F_SETFL, fl) < 0)
        return pal__err_from_errno(errno);
    return 0;
}

static int set_opt(pal_sock sock, int level, int name, bool on)
{
    int v = on ? 1 : 0;
    if (setsockopt(FD(sock), level, name, &v, sizeof(v)) != 0)
        return pal__err_from_errno(errno);
    return 0;
}

int pal_sock_set_keepalive(pal_sock sock, bool on)
{
    return set_opt(sock, SOL_SOCKET, SO_KEEPALIVE, on);
}

int pal_sock_set_nodelay(pal_sock sock, bool on)
{
    return set_opt(sock, IPPROTO_TCP, TCP_NODELAY, on);
}

static int sock_name(pal_sock sock, struct pal_addr *addr_r, int peer)
{
    socklen_t len = sizeof(addr_r->storage);
    memset(addr_r, 0, sizeof(*addr_r));
    int rc =
        peer ? getpeername(FD(sock), sa(addr_r), &len) : getsockname(FD(sock), sa(addr_r), &len);
    if (rc != 0)
        return pal__err_from_errno(errno);
    addr_r->len = (uint32_t)len;
    return 0;
}

int pal_sock_local_addr(pal_sock sock, struct pal_addr *addr_r)
{
    return sock_name(sock, addr_r, 0);
}

int pal_sock_peer_addr(pal_sock sock, struct pal_addr *addr_r)
{
    return sock_name(sock, addr_r, 1);
}

int pal_sock_pair(pal_sock pair_r[2])
{
    int sv[2];
    pair_r[0] = pair_r[1] = PAL_SOCK_INVALID;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return pal__err_from_errno(errno);
    int rc = pal__fd_setup(sv[0], 1);
    if (rc == 0)
        rc = pal__fd_setup(sv[1], 1);
    if (rc != 0) {
        close(sv[0]);
        close(sv[1]);
        return rc;
    }
    pair_r[0].h = sv[0];
    pair_r[1].h = sv[1];
    return 0;
}
