/*
 * pal_socket.h - TCP sockets over IPv4 and IPv6.
 *
 * A socket is an opaque handle (struct pal_sock holds the OS handle by value);
 * it is never an index into an array: Windows SOCKETs are not small integers.
 * All sockets created here are non-blocking unless stated otherwise, and are
 * not inherited by child processes.
 *
 * Call pal_net_init() once before using any socket function (it starts
 * Winsock on Windows and ignores SIGPIPE on POSIX); it is idempotent.
 */
#ifndef YB_PAL_SOCKET_H
#define YB_PAL_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef struct pal_sock {
    intptr_t h; /* OS handle; opaque outside src/platform */
} pal_sock;

#define PAL_SOCK_INVALID ((pal_sock){ -1 })

/* True when s holds a socket (not PAL_SOCK_INVALID). */
bool pal_sock_valid(pal_sock s);

/* A socket address (IPv4 or IPv6) in the OS's own representation. */
struct pal_addr {
    _Alignas(8) unsigned char storage[128]; /* a struct sockaddr_storage */
    uint32_t len;                           /* bytes used in storage */
};

/* Longest text pal_addr_format() writes: "[" IPv6 "%scope]:65535" + NUL. */
#define PAL_ADDR_TEXT_MAX 80

enum pal_af { PAL_AF_UNSPEC = 0, PAL_AF_INET = 4, PAL_AF_INET6 = 6 };

/* Starts the network layer. Returns 0 or a YB_E* code. Idempotent. */
int pal_net_init(void);

/*
 * Parses a numeric "host:port" (IPv4 "127.0.0.1:25", IPv6 "[::1]:25",
 * "*:25" meaning 0.0.0.0, "[*]:25" or "[::]:25" meaning ::) into *addr_r.
 * No name resolution. Returns YB_EPARSE for malformed text, YB_EINVAL for a
 * port outside 0-65535.
 */
int pal_addr_parse(const char *text, struct pal_addr *addr_r);

/* Builds an address from a numeric IP literal (no brackets) and a port. */
int pal_addr_from_ip(const char *ip, uint16_t port, struct pal_addr *addr_r);

/*
 * Writes "ip:port" (IPv6 as "[ip]:port"; without the port, IPv6 has no brackets) into buf
 * (PAL_ADDR_TEXT_MAX bytes is always enough). with_port false writes only the IP. Returns YB_ERANGE
 * if buf is too small, YB_EAFNOSUPPORT for an unknown family.
 */
int pal_addr_format(const struct pal_addr *addr, bool with_port, char *buf, size_t size);

/* Returns the port (host order), or 0 for an unknown family. */
uint16_t pal_addr_port(const struct pal_addr *addr);
void pal_addr_set_port(struct pal_addr *addr, uint16_t port);

/* Returns PAL_AF_INET, PAL_AF_INET6 or PAL_AF_UNSPEC. */
enum pal_af pal_addr_family(const struct pal_addr *addr);

/*
 * Copies the raw address bytes (4 for IPv4, 16 for IPv6; an IPv4-mapped IPv6
 * address is returned as IPv4) into bytes_r and sets *len_r. Used for CIDR
 * matching above the PAL.
 */
int pal_addr_bytes(const struct pal_addr *addr, unsigned char bytes_r[16], size_t *len_r);

/* True when the address is in 127.0.0.0/8, is ::1, or is IPv4-mapped loopback. */
bool pal_addr_is_loopback(const struct pal_addr *addr);

/*
 * Resolves host (a name or a numeric literal) with the system resolver for
 * connecting to port. Fills up to max addresses into addrs and sets *n_r.
 * Returns YB_ENOTFOUND when the name does not exist. Blocking.
 */
int pal_addr_resolve(const char *host, uint16_t port, struct pal_addr *addrs, size_t max,
                     size_t *n_r);

/*
 * Creates a listening TCP socket bound to addr (port 0 lets the OS choose:
 * read it back with pal_sock_local_addr). Sets SO_REUSEADDR on POSIX and
 * SO_EXCLUSIVEADDRUSE on Windows, IPV6_V6ONLY for IPv6, non-blocking.
 * backlog <= 0 means the system maximum. Returns YB_EADDRINUSE, YB_EACCES...
 */
int pal_tcp_listen(const struct pal_addr *addr, int backlog, pal_sock *sock_r);

/*
 * Accepts one connection. The new socket is non-blocking. Returns YB_EAGAIN
 * when none is pending, YB_EMFILE/YB_ENFILE when out of descriptors (the
 * caller should back off, not spin). peer_r may be NULL.
 */
int pal_tcp_accept(pal_sock listener, pal_sock *sock_r, struct pal_addr *peer_r);

/*
 * Starts a non-blocking connect. Returns 0 if connected at once,
 * YB_EINPROGRESS if the caller must wait for writability and then call
 * pal_sock_connect_result(), or an error. On error *sock_r is invalid.
 */
int pal_tcp_connect(const struct pal_addr *addr, pal_sock *sock_r);

/* After writability: returns 0 when the pending connect succeeded, else why not. */
int pal_sock_connect_result(pal_sock sock);

/*
 * Blocking connect with a timeout (ms; < 0 waits forever); the returned
 * socket is left in non-blocking mode like every other. For clients and tests.
 */
int pal_tcp_connect_wait(const struct pal_addr *addr, int timeout_ms, pal_sock *sock_r);

/*
 * Sends up to len bytes; *sent_r gets the count (may be short). Returns
 * YB_EAGAIN when nothing could be sent, YB_EPIPE/YB_ECONNRESET when the peer
 * is gone. Never raises SIGPIPE.
 */
int pal_sock_send(pal_sock sock, const void *buf, size_t len, size_t *sent_r);

/*
 * Receives up to len bytes (len > 0, else YB_EINVAL); *got_r gets the count
 * (> 0 on success). Returns YB_ECLOSED at orderly end of stream, YB_EAGAIN
 * when nothing is available.
 */
int pal_sock_recv(pal_sock sock, void *buf, size_t len, size_t *got_r);

/*
 * Waits until sock is readable (want_write false) or writable (true), up to
 * timeout_ms (< 0 forever). Returns 0 when ready, YB_ETIMEDOUT otherwise.
 * For blocking-style clients (yubinctl, tests); servers use the poller.
 */
int pal_sock_wait(pal_sock sock, bool want_write, int timeout_ms);

enum pal_shut { PAL_SHUT_RD = 0, PAL_SHUT_WR = 1, PAL_SHUT_RDWR = 2 };
int pal_sock_shutdown(pal_sock sock, enum pal_shut how);

/* Closes *sock and sets it to PAL_SOCK_INVALID. Safe on an invalid handle. */
void pal_sock_close(pal_sock *sock);

int pal_sock_set_nonblocking(pal_sock sock, bool on);
int pal_sock_set_keepalive(pal_sock sock, bool on);
int pal_sock_set_nodelay(pal_sock sock, bool on);

int pal_sock_local_addr(pal_sock sock, struct pal_addr *addr_r);
int pal_sock_peer_addr(pal_sock sock, struct pal_addr *addr_r);

/*
 * Creates a connected pair of stream sockets (socketpair on POSIX, a loopback
 * TCP pair on Windows). Both ends are non-blocking. Used for poller wake-ups
 * and tests.
 */
int pal_sock_pair(pal_sock pair_r[2]);

#endif
