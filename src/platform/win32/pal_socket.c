/*
 * win32/pal_socket.c - TCP sockets over Winsock 2.
 *
 * A SOCKET is a kernel handle value (UINT_PTR), not a small integer; it is
 * carried in pal_sock.h as intptr_t, and INVALID_SOCKET (~0) is exactly the
 * -1 of PAL_SOCK_INVALID. Every socket is created with
 * WSA_FLAG_NO_HANDLE_INHERIT so a child process never holds our listeners
 * open, and is switched to non-blocking mode with ioctlsocket(FIONBIO).
 * Windows has no SIGPIPE, so nothing is needed for "never raises SIGPIPE".
 */
#include "pal_socket.h"
#include "pal_win32.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(struct sockaddr_storage) <= sizeof(((struct pal_addr *)0)->storage),
               "sockaddr_storage fits pal_addr");
_Static_assert(sizeof(SOCKET) == sizeof(intptr_t), "SOCKET fits pal_sock");

#define SOCK(s) ((SOCKET)(s).h)

/* One send/recv call moves at most this much (the length is an int). */
#define IO_CHUNK (1 << 30)

bool pal_sock_valid(pal_sock s)
{
    return (SOCKET)s.h != INVALID_SOCKET;
}

/* ---- Winsock start-up ---- */

static INIT_ONCE net_once = INIT_ONCE_STATIC_INIT;
static int net_init_err;

static BOOL CALLBACK net_start(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    WSADATA wsa;
    /* WSAStartup returns its error directly, not through WSAGetLastError. */
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0)
        net_init_err = pal__err_from_wsa(rc);
    else if (LOBYTE(wsa.wVersion) != 2 || HIBYTE(wsa.wVersion) != 2)
        net_init_err = YB_ENOTSUP;
    /*
     * Never WSACleanup: sockets may live until process exit, and Windows
     * releases Winsock with the process anyway.
     */
    return TRUE;
}

int pal_net_init(void)
{
    InitOnceExecuteOnce(&net_once, net_start, NULL, NULL);
    return net_init_err;
}

/* ---- addresses ---- */

static struct sockaddr_in *sin4(struct pal_addr *a)
{
    return (struct sockaddr_in *)(void *)a->storage;
}

static struct sockaddr_in6 *sin6(struct pal_addr *a)
{
    return (struct sockaddr_in6 *)(void *)a->storage;
}

static const struct sockaddr_in *csin4(const struct pal_addr *a)
{
    return (const struct sockaddr_in *)(const void *)a->storage;
}

static const struct sockaddr_in6 *csin6(const struct pal_addr *a)
{
    return (const struct sockaddr_in6 *)(const void *)a->storage;
}

static int addr_af(const struct pal_addr *a)
{
    return a->len >= sizeof(ADDRESS_FAMILY)
               ? ((const struct sockaddr *)(const void *)a->storage)->sa_family
               : AF_UNSPEC;
}

/* Parses decimal digits [p, end) as a port. */
static int parse_port(const char *p, const char *end, uint16_t *port_r)
{
    unsigned long v = 0;

    if (p == end)
        return YB_EPARSE;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return YB_EPARSE;
        if (v <= 65535)
            v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > 65535)
        return YB_EINVAL;
    *port_r = (uint16_t)v;
    return 0;
}

/*
 * Parses a numeric IPv4 or IPv6 literal of n bytes. An IPv6 literal may carry
 * a numeric zone ("fe80::1%12"); zone names need iphlpapi and are refused.
 */
static int parse_ip(const char *ip, size_t n, uint16_t port, struct pal_addr *addr_r)
{
    char buf[INET6_ADDRSTRLEN + 16];
    char *pct;

    if (n == 0 || n >= sizeof(buf))
        return YB_EPARSE;
    memcpy(buf, ip, n);
    buf[n] = '\0';
    if (strlen(buf) != n)
        return YB_EPARSE;
    memset(addr_r, 0, sizeof(*addr_r));
    if (inet_pton(AF_INET, buf, &sin4(addr_r)->sin_addr) == 1) {
        sin4(addr_r)->sin_family = AF_INET;
        sin4(addr_r)->sin_port = htons(port);
        addr_r->len = sizeof(struct sockaddr_in);
        return 0;
    }
    pct = strchr(buf, '%');
    if (pct != NULL) {
        unsigned long scope = 0;
        const char *q = pct + 1;
        if (*q == '\0')
            return YB_EPARSE;
        for (; *q != '\0'; q++) {
            if (*q < '0' || *q > '9' || scope > 0xFFFFFFFu)
                return YB_EPARSE;
            scope = scope * 10 + (unsigned long)(*q - '0');
        }
        *pct = '\0';
        sin6(addr_r)->sin6_scope_id = (ULONG)scope;
    }
    if (inet_pton(AF_INET6, buf, &sin6(addr_r)->sin6_addr) != 1) {
        memset(addr_r, 0, sizeof(*addr_r));
        return YB_EPARSE;
    }
    sin6(addr_r)->sin6_family = AF_INET6;
    sin6(addr_r)->sin6_port = htons(port);
    addr_r->len = sizeof(struct sockaddr_in6);
    return 0;
}

int pal_addr_parse(const char *text, struct pal_addr *addr_r)
{
    const char *colon, *end;
    uint16_t port;
    int err;

    if (text == NULL || addr_r == NULL)
        return YB_EINVAL;
    end = text + strlen(text);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return YB_EPARSE;
        err = parse_port(close + 2, end, &port);
        if (err < 0)
            return err;
        if (close - text - 1 == 1 && text[1] == '*')
            return parse_ip("::", 2, port, addr_r);
        return parse_ip(text + 1, (size_t)(close - text - 1), port, addr_r);
    }
    colon = strchr(text, ':');
    /* An unbracketed IPv6 literal has several colons: ambiguous, refused. */
    if (colon == NULL || strchr(colon + 1, ':') != NULL)
        return YB_EPARSE;
    err = parse_port(colon + 1, end, &port);
    if (err < 0)
        return err;
    if (colon - text == 1 && text[0] == '*')
        return parse_ip("0.0.0.0", 7, port, addr_r);
    err = parse_ip(text, (size_t)(colon - text), port, addr_r);
    if (err == 0 && addr_af(addr_r) != AF_INET)
        return YB_EPARSE;
    return err;
}

int pal_addr_from_ip(const char *ip, uint16_t port, struct pal_addr *addr_r)
{
    if (ip == NULL || addr_r == NULL)
        return YB_EINVAL;
    return parse_ip(ip, strlen(ip), port, addr_r);
}

int pal_addr_format(const struct pal_addr *addr, bool with_port, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    char zone[16] = "";
    int n;

    if (addr == NULL || buf == NULL)
        return YB_EINVAL;
    switch (addr_af(addr)) {
    case AF_INET:
        if (inet_ntop(AF_INET, (void *)&csin4(addr)->sin_addr, ip, sizeof(ip)) == NULL)
            return YB_EINVAL;
        n = with_port ? snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(csin4(addr)->sin_port))
                      : snprintf(buf, size, "%s", ip);
        break;
    case AF_INET6:
        if (inet_ntop(AF_INET6, (void *)&csin6(addr)->sin6_addr, ip, sizeof(ip)) == NULL)
            return YB_EINVAL;
        if (csin6(addr)->sin6_scope_id != 0)
            snprintf(zone, sizeof(zone), "%%%lu", (unsigned long)csin6(addr)->sin6_scope_id);
        n = with_port ? snprintf(buf, size, "[%s%s]:%u", ip, zone,
                                 (unsigned)ntohs(csin6(addr)->sin6_port))
                      : snprintf(buf, size, "%s%s", ip, zone);
        break;
    default: return YB_EAFNOSUPPORT;
    }
    if (n < 0 || (size_t)n >= size)
        return YB_ERANGE;
    return 0;
}

uint16_t pal_addr_port(const struct pal_addr *addr)
{
    switch (addr_af(addr)) {
    case AF_INET: return ntohs(csin4(addr)->sin_port);
    case AF_INET6: return ntohs(csin6(addr)->sin6_port);
    default: return 0;
    }
}

void pal_addr_set_port(struct pal_addr *addr, uint16_t port)
{
    switch (addr_af(addr)) {
    case AF_INET: sin4(addr)->sin_port = htons(port); break;
    case AF_INET6: sin6(addr)->sin6_port = htons(port); break;
    default: break;
    }
}

enum pal_af pal_addr_family(const struct pal_addr *addr)
{
    switch (addr_af(addr)) {
    case AF_INET: return PAL_AF_INET;
    case AF_INET6: return PAL_AF_INET6;
    default: return PAL_AF_UNSPEC;
    }
}

static bool v6_is_v4mapped(const unsigned char *b)
{
    static const unsigned char prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(b, prefix, sizeof(prefix)) == 0;
}

int pal_addr_bytes(const struct pal_addr *addr, unsigned char bytes_r[16], size_t *len_r)
{
    const unsigned char *b;

    switch (addr_af(addr)) {
    case AF_INET:
        memcpy(bytes_r, &csin4(addr)->sin_addr, 4);
        *len_r = 4;
        return 0;
    case AF_INET6:
        b = (const unsigned char *)&csin6(addr)->sin6_addr;
        if (v6_is_v4mapped(b)) {
            memcpy(bytes_r, b + 12, 4);
            *len_r = 4;
        } else {
            memcpy(bytes_r, b, 16);
            *len_r = 16;
        }
        return 0;
    default: return YB_EAFNOSUPPORT;
    }
}

bool pal_addr_is_loopback(const struct pal_addr *addr)
{
    unsigned char b[16];
    size_t n;
    static const unsigned char v6_loop[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

    if (pal_addr_bytes(addr, b, &n) < 0)
        return false;
    if (n == 4)
        return b[0] == 127;
    return memcmp(b, v6_loop, 16) == 0;
}

int pal_addr_resolve(const char *host, uint16_t port, struct pal_addr *addrs, size_t max,
                     size_t *n_r)
{
    ADDRINFOW hints, *res = NULL, *ai;
    wchar_t whost[1025];
    size_t n = 0;
    int rc, err;

    if (host == NULL || addrs == NULL || n_r == NULL || max == 0)
        return YB_EINVAL;
    *n_r = 0;
    err = pal_net_init();
    if (err < 0)
        return err;
    /* GetAddrInfoW so an internationalised (UTF-8) name reaches the resolver intact. */
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, host, -1, whost,
                            (int)(sizeof(whost) / sizeof(whost[0]))) == 0)
        return GetLastError() == ERROR_INSUFFICIENT_BUFFER ? YB_ENAMETOOLONG : YB_EUTF8;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    rc = GetAddrInfoW(whost, NULL, &hints, &res);
    if (rc != 0)
        return pal__err_from_wsa(rc);
    for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(addrs[n].storage))
            continue;
        memset(&addrs[n], 0, sizeof(addrs[n]));
        memcpy(addrs[n].storage, ai->ai_addr, ai->ai_addrlen);
        addrs[n].len = (uint32_t)ai->ai_addrlen;
        pal_addr_set_port(&addrs[n], port);
        n++;
    }
    FreeAddrInfoW(res);
    if (n == 0)
        return YB_ENOTFOUND;
    *n_r = n;
    return 0;
}

/* ---- socket creation ---- */

int pal_sock_set_nonblocking(pal_sock sock, bool on)
{
    u_long v = on ? 1 : 0;
    if (ioctlsocket(SOCK(sock), FIONBIO, &v) != 0)
        return pal__err_last_wsa();
    return 0;
}

/*
 * A new TCP socket that child processes do not inherit. Windows 7 before
 * SP1 rejects WSA_FLAG_NO_HANDLE_INHERIT with WSAEINVAL; then the handle
 * flag is cleared by hand, which is racy against a concurrent CreateProcess
 * but the best that system allows.
 */
static int sock_new(int family, SOCKET *s_r)
{
    SOCKET s;
    int err = pal_net_init();

    if (err < 0)
        return err;
    s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                   WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) {
        s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
        if (s != INVALID_SOCKET)
            SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    }
    if (s == INVALID_SOCKET)
        return pal__err_last_wsa();
    *s_r = s;
    return 0;
}

static int setopt_int(SOCKET s, int level, int name, int v)
{
    if (setsockopt(s, level, name, (const char *)&v, sizeof(v)) != 0)
        return pal__err_last_wsa();
    return 0;
}

int pal_tcp_listen(const struct pal_addr *addr, int backlog, pal_sock *sock_r)
{
    SOCKET s = INVALID_SOCKET;
    int af, err;

    if (addr == NULL || sock_r == NULL)
        return YB_EINVAL;
    *sock_r = PAL_SOCK_INVALID;
    af = addr_af(addr);
    if (af != AF_INET && af != AF_INET6)
        return YB_EAFNOSUPPORT;
    err = sock_new(af, &s);
    if (err < 0)
        return err;
    /*
     * SO_EXCLUSIVEADDRUSE, not SO_REUSEADDR: on Windows SO_REUSEADDR lets a
     * second process bind the same port and steal connections. Windows
     * already allows rebinding a port with connections in TIME_WAIT, which
     * is what POSIX code wants SO_REUSEADDR for.
     */
    err = setopt_int(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1);
    if (err < 0)
        goto fail;
    /* Dual-stack is a per-listener decision above the PAL: keep v6 sockets v6. */
    if (af == AF_INET6 && (err = setopt_int(s, IPPROTO_IPV6, IPV6_V6ONLY, 1)) < 0)
        goto fail;
    if (bind(s, (const struct sockaddr *)(const void *)addr->storage, (int)addr->len) != 0 ||
        listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0) {
        err = pal__err_last_wsa();
        goto fail;
    }
    sock_r->h = (intptr_t)s;
    err = pal_sock_set_nonblocking(*sock_r, true);
    if (err < 0)
        goto fail;
    return 0;
fail:
    closesocket(s);
    *sock_r = PAL_SOCK_INVALID;
    return err;
}

int pal_tcp_accept(pal_sock listener, pal_sock *sock_r, struct pal_addr *peer_r)
{
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    SOCKET s;
    int err;

    if (sock_r == NULL)
        return YB_EINVAL;
    *sock_r = PAL_SOCK_INVALID;
    s = accept(SOCK(listener), (struct sockaddr *)&ss, &sslen);
    if (s == INVALID_SOCKET) {
        err = WSAGetLastError();
        /* A connection reset before we accepted it: nothing to accept now. */
        if (err == WSAECONNRESET)
            return YB_EAGAIN;
        return pal__err_from_wsa(err);
    }
    /*
     * accept() copies the listener's attributes, but neither the inherit flag
     * nor FIONBIO is documented as one of them: set both explicitly.
     */
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    sock_r->h = (intptr_t)s;
    err = pal_sock_set_nonblocking(*sock_r, true);
    if (err < 0) {
        pal_sock_close(sock_r);
        return err;
    }
    if (peer_r != NULL) {
        memset(peer_r, 0, sizeof(*peer_r));
        memcpy(peer_r->storage, &ss, (size_t)sslen);
        peer_r->len = (uint32_t)sslen;
    }
    return 0;
}

int pal_tcp_connect(const struct pal_addr *addr, pal_sock *sock_r)
{
    SOCKET s = INVALID_SOCKET;
    int af, err;

    if (addr == NULL || sock_r == NULL)
        return YB_EINVAL;
    *sock_r = PAL_SOCK_INVALID;
    af = addr_af(addr);
    if (af != AF_INET && af != AF_INET6)
        return YB_EAFNOSUPPORT;
    err = sock_new(af, &s);
    if (err < 0)
        return err;
    sock_r->h = (intptr_t)s;
    err = pal_sock_set_nonblocking(*sock_r, true);
    if (err < 0)
        goto fail;
    if (connect(s, (const struct sockaddr *)(const void *)addr->storage, (int)addr->len) != 0) {
        int wsa = WSAGetLastError();
        /* Winsock says WSAEWOULDBLOCK where POSIX says EINPROGRESS. */
        if (wsa == WSAEWOULDBLOCK || wsa == WSAEINPROGRESS)
            return YB_EINPROGRESS;
        err = pal__err_from_wsa(wsa);
        goto fail;
    }
    return 0;
fail:
    closesocket(s);
    *sock_r = PAL_SOCK_INVALID;
    return err;
}

int pal_sock_connect_result(pal_sock sock)
{
    int soerr = 0;
    int len = sizeof(soerr);
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);

    if (getsockopt(SOCK(sock), SOL_SOCKET, SO_ERROR, (char *)&soerr, &len) != 0)
        return pal__err_last_wsa();
    if (soerr != 0)
        return pal__err_from_wsa(soerr);
    /* No error recorded yet: only a connected socket has a peer. */
    if (getpeername(SOCK(sock), (struct sockaddr *)&ss, &sslen) != 0) {
        int wsa = WSAGetLastError();
        return wsa == WSAENOTCONN ? YB_EINPROGRESS : pal__err_from_wsa(wsa);
    }
    return 0;
}

int pal_tcp_connect_wait(const struct pal_addr *addr, int timeout_ms, pal_sock *sock_r)
{
    int err;

    if (sock_r == NULL)
        return YB_EINVAL;
    err = pal_tcp_connect(addr, sock_r);
    if (err != YB_EINPROGRESS)
        return err;
    /* pal_sock_wait uses select(), which (unlike WSAPoll) reports failed connects. */
    err = pal_sock_wait(*sock_r, true, timeout_ms);
    if (err == 0)
        err = pal_sock_connect_result(*sock_r);
    if (err == YB_EINPROGRESS)
        err = YB_ETIMEDOUT;
    if (err < 0)
        pal_sock_close(sock_r);
    return err;
}

/* ---- I/O ---- */

int pal_sock_send(pal_sock sock, const void *buf, size_t len, size_t *sent_r)
{
    int n;

    if (sent_r == NULL || (buf == NULL && len > 0))
        return YB_EINVAL;
    *sent_r = 0;
    n = send(SOCK(sock), buf, len > IO_CHUNK ? IO_CHUNK : (int)len, 0);
    if (n == SOCKET_ERROR)
        return pal__err_last_wsa();
    *sent_r = (size_t)n;
    return 0;
}

int pal_sock_recv(pal_sock sock, void *buf, size_t len, size_t *got_r)
{
    int n;

    if (got_r == NULL || buf == NULL || len == 0)
        return YB_EINVAL;
    *got_r = 0;
    n = recv(SOCK(sock), buf, len > IO_CHUNK ? IO_CHUNK : (int)len, 0);
    if (n == SOCKET_ERROR) {
        int wsa = WSAGetLastError();
        /* Reading after our own shutdown(SD_RECEIVE) is end of stream, as on POSIX. */
        if (wsa == WSAESHUTDOWN)
            return YB_ECLOSED;
        return pal__err_from_wsa(wsa);
    }
    if (n == 0)
        return YB_ECLOSED;
    *got_r = (size_t)n;
    return 0;
}

/*
 * select(), not WSAPoll: WSAPoll before Windows 10 2004 never reports a
 * failed non-blocking connect, while select() puts it in exceptfds. With one
 * socket the FD_SETSIZE limit does not matter.
 */
int pal_sock_wait(pal_sock sock, bool want_write, int timeout_ms)
{
    fd_set rfds, wfds, efds;
    struct timeval tv, *tvp = NULL;
    int rc;

    FD_ZERO(&rfds);
    FD_ZERO(&wfds);
    FD_ZERO(&efds);
    if (want_write)
        FD_SET(SOCK(sock), &wfds);
    else
        FD_SET(SOCK(sock), &rfds);
    FD_SET(SOCK(sock), &efds);
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    /* The first argument is ignored by Winsock. */
    rc = select(0, &rfds, &wfds, &efds, tvp);
    if (rc == SOCKET_ERROR)
        return pal__err_last_wsa();
    return rc > 0 ? 0 : YB_ETIMEDOUT;
}

int pal_sock_shutdown(pal_sock sock, enum pal_shut how)
{
    int h;

    switch (how) {
    case PAL_SHUT_RD: h = SD_RECEIVE; break;
    case PAL_SHUT_WR: h = SD_SEND; break;
    case PAL_SHUT_RDWR: h = SD_BOTH; break;
    default: return YB_EINVAL;
    }
    if (shutdown(SOCK(sock), h) != 0)
        return pal__err_last_wsa();
    return 0;
}

void pal_sock_close(pal_sock *sock)
{
    if (sock == NULL || !pal_sock_valid(*sock))
        return;
    closesocket(SOCK(*sock));
    *sock = PAL_SOCK_INVALID;
}

int pal_sock_set_keepalive(pal_sock sock, bool on)
{
    return setopt_int(SOCK(sock), SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0);
}

int pal_sock_set_nodelay(pal_sock sock, bool on)
{
    return setopt_int(SOCK(sock), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

static int sock_name(pal_sock sock, bool peer, struct pal_addr *addr_r)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int rc;

    if (addr_r == NULL)
        return YB_EINVAL;
    rc = peer ? getpeername(SOCK(sock), (struct sockaddr *)&ss, &len)
              : getsockname(SOCK(sock), (struct sockaddr *)&ss, &len);
    if (rc != 0)
        return pal__err_last_wsa();
    memset(addr_r, 0, sizeof(*addr_r));
    memcpy(addr_r->storage, &ss, (size_t)len);
    addr_r->len = (uint32_t)len;
    return 0;
}

int pal_sock_local_addr(pal_sock sock, struct pal_addr *addr_r)
{
    return sock_name(sock, false, addr_r);
}

int pal_sock_peer_addr(pal_sock sock, struct pal_addr *addr_r)
{
    return sock_name(sock, true, addr_r);
}

/* ---- socket pair ---- */

static bool same_addr(const struct pal_addr *a, const struct pal_addr *b)
{
    return a->len == b->len && addr_af(a) == AF_INET &&
           csin4(a)->sin_addr.s_addr == csin4(b)->sin_addr.s_addr &&
           csin4(a)->sin_port == csin4(b)->sin_port;
}

/*
 * Windows has no socketpair(): listen on an ephemeral loopback port, connect
 * to it, accept, and check that the accepted peer is our own connecting
 * socket - another local process could race us to the port, and a wake-up
 * channel fed by a stranger would be a bug (or an attack). The listener is
 * exclusive and lives only for this call.
 */
int pal_sock_pair(pal_sock pair_r[2])
{
    struct pal_addr laddr, caddr, peer;
    pal_sock lsn = PAL_SOCK_INVALID, a = PAL_SOCK_INVALID, b = PAL_SOCK_INVALID;
    int err, tries;

    if (pair_r == NULL)
        return YB_EINVAL;
    pair_r[0] = pair_r[1] = PAL_SOCK_INVALID;
    err = pal_addr_from_ip("127.0.0.1", 0, &laddr);
    if (err < 0)
        return err;
    err = pal_tcp_listen(&laddr, 1, &lsn);
    if (err < 0)
        return err;
    err = pal_sock_local_addr(lsn, &laddr);
    if (err < 0)
        goto fail;
    err = pal_tcp_connect_wait(&laddr, 10000, &a);
    if (err < 0)
        goto fail;
    err = pal_sock_local_addr(a, &caddr);
    if (err < 0)
        goto fail;
    for (tries = 0; tries < 8; tries++) {
        err = pal_sock_wait(lsn, false, 10000);
        if (err < 0)
            goto fail;
        err = pal_tcp_accept(lsn, &b, &peer);
        if (err == YB_EAGAIN)
            continue;
        if (err < 0)
            goto fail;
        if (same_addr(&peer, &caddr))
            break;
        pal_sock_close(&b);
    }
    if (!pal_sock_valid(b)) {
        err = YB_EIO;
        goto fail;
    }
    pal_sock_close(&lsn);
    /* Wake-ups are single bytes: do not let Nagle hold them back. */
    pal_sock_set_nodelay(a, true);
    pal_sock_set_nodelay(b, true);
    pair_r[0] = a;
    pair_r[1] = b;
    return 0;
fail:
    pal_sock_close(&b);
    pal_sock_close(&a);
    pal_sock_close(&lsn);
    return err;
}
