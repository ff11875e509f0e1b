/*
 * test_socket.c - address parsing/formatting and TCP sockets on loopback.
 *
 * Only 127.0.0.1 and ::1 are used, with OS-chosen ports. Every wait is bounded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal_err.h"
#include "pal_socket.h"
#include "pal_thread.h"
#include "pal_time.h"

#define WAIT_MS   5000
#define ANY_ERROR 1 /* table marker: any negative code is acceptable */

/* ---- address parsing and formatting ---- */

static const struct {
    const char *text;
    int rc;
    enum pal_af af;
    uint16_t port;
    const char *canon; /* pal_addr_format with port */
} k_parse[] = {
    { "127.0.0.1:25", 0, PAL_AF_INET, 25, "127.0.0.1:25" },
    { "10.1.2.3:0", 0, PAL_AF_INET, 0, "10.1.2.3:0" },
    { "10.1.2.3:65535", 0, PAL_AF_INET, 65535, "10.1.2.3:65535" },
    { "*:25", 0, PAL_AF_INET, 25, "0.0.0.0:25" },
    { "0.0.0.0:587", 0, PAL_AF_INET, 587, "0.0.0.0:587" },
    { "[::1]:25", 0, PAL_AF_INET6, 25, "[::1]:25" },
    { "[::]:143", 0, PAL_AF_INET6, 143, "[::]:143" },
    { "[*]:993", 0, PAL_AF_INET6, 993, "[::]:993" },
    { "[2001:db8::1]:587", 0, PAL_AF_INET6, 587, "[2001:db8::1]:587" },
    { "[2001:DB8:0:0:0:0:0:1]:1", 0, PAL_AF_INET6, 1, "[2001:db8::1]:1" },
    { "[::ffff:127.0.0.1]:25", 0, PAL_AF_INET6, 25, NULL },
    { "10.1.2.3:65536", YB_EINVAL, 0, 0, NULL },
    { "10.1.2.3:100000", YB_EINVAL, 0, 0, NULL },
    { "[::1]:65536", YB_EINVAL, 0, 0, NULL },
    { "", YB_EPARSE, 0, 0, NULL },
    { ":", YB_EPARSE, 0, 0, NULL },
    { ":25", YB_EPARSE, 0, 0, NULL },
    { "127.0.0.1", YB_EPARSE, 0, 0, NULL },
    { "127.0.0.1:", YB_EPARSE, 0, 0, NULL },
    { "garbage", YB_EPARSE, 0, 0, NULL },
    { "garbage:25", YB_EPARSE, 0, 0, NULL },
    { "localhost:25", YB_EPARSE, 0, 0, NULL },
    { "256.1.1.1:25", YB_EPARSE, 0, 0, NULL },
    { "1.2.3:25", YB_EPARSE, 0, 0, NULL },
    { "127.0.0.1:2a", YB_EPARSE, 0, 0, NULL },
    { "127.0.0.1:25 ", YB_EPARSE, 0, 0, NULL },
    { " 127.0.0.1:25", YB_EPARSE, 0, 0, NULL },
    { "127.0.0.1:-1", ANY_ERROR, 0, 0, NULL },
    { "127.0.0.1:+25", ANY_ERROR, 0, 0, NULL },
    { "::1:25", YB_EPARSE, 0, 0, NULL },
    { "[::1]", YB_EPARSE, 0, 0, NULL },
    { "[::1]:", YB_EPARSE, 0, 0, NULL },
    { "[::1:25", YB_EPARSE, 0, 0, NULL },
    { "::1]:25", YB_EPARSE, 0, 0, NULL },
    { "[::g]:25", YB_EPARSE, 0, 0, NULL },
    { "*", YB_EPARSE, 0, 0, NULL },
    { "**:25", YB_EPARSE, 0, 0, NULL },
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_parse / sizeof k_parse[0]; i++) {
        struct pal_addr a;
        memset(&a, 0, sizeof a);
        int rc = pal_addr_parse(k_parse[i].text, &a);
        if (k_parse[i].rc == ANY_ERROR) {
            if (rc >= 0)
                fail_msg("\"%s\": accepted", k_parse[i].text);
            continue;
        }
        if (rc != k_parse[i].rc)
            fail_msg("\"%s\": got %s want %s", k_parse[i].text, yb_errname(rc),
                     yb_errname(k_parse[i].rc));
        if (rc != 0)
            continue;
        assert_int_equal(pal_addr_family(&a), k_parse[i].af);
        assert_int_equal(pal_addr_port(&a), k_parse[i].port);
        char buf[PAL_ADDR_TEXT_MAX];
        assert_int_equal(pal_addr_format(&a, true, buf, sizeof buf), 0);
        if (k_parse[i].canon && strcmp(buf, k_parse[i].canon) != 0)
            fail_msg("\"%s\" formats as \"%s\", want \"%s\"", k_parse[i].text, buf,
                     k_parse[i].canon);
        /* Round trip: the formatted text parses to the same address. */
        struct pal_addr b;
        memset(&b, 0, sizeof b);
        assert_int_equal(pal_addr_parse(buf, &b), 0);
        char buf2[PAL_ADDR_TEXT_MAX];
        assert_int_equal(pal_addr_format(&b, true, buf2, sizeof buf2), 0);
        assert_string_equal(buf, buf2);
        unsigned char ba[16], bb[16];
        size_t la = 0, lb = 0;
        assert_int_equal(pal_addr_bytes(&a, ba, &la), 0);
        assert_int_equal(pal_addr_bytes(&b, bb, &lb), 0);
        assert_int_equal(la, lb);
        assert_memory_equal(ba, bb, la);
    }
}

/* The API takes C strings: an embedded NUL ends the text. */
static void test_parse_nul_inside(void **state)
{
    (void)state;
    static const char cut_port[] = "127.0.0.1\0:25";
    static const char tail[] = "127.0.0.1:25\0garbage";
    struct pal_addr a;
    assert_int_equal(pal_addr_parse(cut_port, &a), YB_EPARSE);
    assert_int_equal(pal_addr_parse(tail, &a), 0);
    assert_int_equal(pal_addr_port(&a), 25);
}

static void test_format_limits(void **state)
{
    (void)state;
    struct pal_addr a;
    char buf[PAL_ADDR_TEXT_MAX];
    assert_int_equal(pal_addr_parse("127.0.0.1:25", &a), 0);
    assert_int_equal(pal_addr_format(&a, true, buf, 13), 0); /* 12 chars + NUL */
    assert_string_equal(buf, "127.0.0.1:25");
    assert_int_equal(pal_addr_format(&a, true, buf, 12), YB_ERANGE);
    assert_int_equal(pal_addr_format(&a, false, buf, 10), 0);
    assert_string_equal(buf, "127.0.0.1");
    assert_int_equal(pal_addr_format(&a, false, buf, 9), YB_ERANGE);
    assert_int_equal(pal_addr_format(&a, false, buf, 0), YB_ERANGE);

    assert_int_equal(pal_addr_parse("[2001:db8::1]:65535", &a), 0);
    assert_int_equal(pal_addr_format(&a, false, buf, sizeof buf), 0);
    assert_string_equal(buf, "2001:db8::1"); /* without port: no brackets */
    assert_int_equal(pal_addr_format(&a, true, buf, 20), 0);
    assert_string_equal(buf, "[2001:db8::1]:65535");
    assert_int_equal(pal_addr_format(&a, true, buf, 19), YB_ERANGE);

    /* The longest IPv6 text fits PAL_ADDR_TEXT_MAX. */
    assert_int_equal(pal_addr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535", &a), 0);
    assert_int_equal(pal_addr_format(&a, true, buf, sizeof buf), 0);
    assert_string_equal(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");

    struct pal_addr unknown;
    memset(&unknown, 0, sizeof unknown);
    assert_int_equal(pal_addr_format(&unknown, true, buf, sizeof buf), YB_EAFNOSUPPORT);
    assert_int_equal(pal_addr_port(&unknown), 0);
    assert_int_equal(pal_addr_family(&unknown), PAL_AF_UNSPEC);
}

static void test_from_ip_and_port(void **state)
{
    (void)state;
    struct pal_addr a;
    char buf[PAL_ADDR_TEXT_MAX];
    assert_int_equal(pal_addr_from_ip("192.0.2.7", 2525, &a), 0);
    assert_int_equal(pal_addr_family(&a), PAL_AF_INET);
    assert_int_equal(pal_addr_format(&a, true, buf, sizeof buf), 0);
    assert_string_equal(buf, "192.0.2.7:2525");
    pal_addr_set_port(&a, 65535);
    assert_int_equal(pal_addr_port(&a), 65535);
    pal_addr_set_port(&a, 0);
    assert_int_equal(pal_addr_port(&a), 0);

    assert_int_equal(pal_addr_from_ip("::1", 110, &a), 0);
    assert_int_equal(pal_addr_family(&a), PAL_AF_INET6);
    assert_int_equal(pal_addr_format(&a, true, buf, sizeof buf), 0);
    assert_string_equal(buf, "[::1]:110");
    pal_addr_set_port(&a, 4321);
    assert_int_equal(pal_addr_format(&a, true, buf, sizeof buf), 0);
    assert_string_equal(buf, "[::1]:4321");

    assert_true(pal_addr_from_ip("[::1]", 1, &a) < 0);
    assert_true(pal_addr_from_ip("localhost", 1, &a) < 0);
    assert_true(pal_addr_from_ip("", 1, &a) < 0);
    assert_true(pal_addr_from_ip("1.2.3.4:5", 1, &a) < 0);
}

static void test_loopback_and_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool loop;
        size_t blen;
        unsigned char b0, blast;
    } cases[] = {
        { "127.0.0.1:1", true, 4, 127, 1 },
        { "127.255.3.4:1", true, 4, 127, 4 },
        { "128.0.0.1:1", false, 4, 128, 1 },
        { "126.255.255.255:1", false, 4, 126, 255 },
        { "0.0.0.0:1", false, 4, 0, 0 },
        { "10.0.0.1:1", false, 4, 10, 1 },
        { "[::1]:1", true, 16, 0, 1 },
        { "[::2]:1", false, 16, 0, 2 },
        { "[::]:1", false, 16, 0, 0 },
        { "[::ffff:127.0.0.1]:1", true, 4, 127, 1 },
        { "[::ffff:10.0.0.1]:1", false, 4, 10, 1 },
        { "[2001:db8::ff]:1", false, 16, 0x20, 0xff },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pal_addr a;
        assert_int_equal(pal_addr_parse(cases[i].text, &a), 0);
        if (pal_addr_is_loopback(&a) != cases[i].loop)
            fail_msg("%s: loopback should be %d", cases[i].text, cases[i].loop);
        unsigned char b[16];
        size_t len = 0;
        memset(b, 0xAA, sizeof b);
        assert_int_equal(pal_addr_bytes(&a, b, &len), 0);
        if (len != cases[i].blen)
            fail_msg("%s: %u bytes, want %u", cases[i].text, (unsigned)len,
                     (unsigned)cases[i].blen);
        assert_int_equal(b[0], cases[i].b0);
        assert_int_equal(b[len - 1], cases[i].blast);
    }
    struct pal_addr a;
    assert_int_equal(pal_addr_parse("[::ffff:192.0.2.33]:1", &a), 0);
    unsigned char b[16];
    size_t len;
    assert_int_equal(pal_addr_bytes(&a, b, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(b, "\xc0\x00\x02\x21", 4);
}

/* ---- sockets ---- */

static int group_setup(void **state)
{
    (void)state;
    return pal_net_init() == 0 && pal_net_init() == 0 ? 0 : -1;
}

static void listen_on(const char *text, pal_sock *ls, struct pal_addr *bound)
{
    struct pal_addr a;
    assert_int_equal(pal_addr_parse(text, &a), 0);
    assert_int_equal(pal_tcp_listen(&a, 16, ls), 0);
    assert_true(pal_sock_valid(*ls));
    assert_int_equal(pal_sock_local_addr(*ls, bound), 0);
    assert_true(pal_addr_port(bound) != 0);
}

static void accept_one(pal_sock ls, pal_sock *s, struct pal_addr *peer)
{
    assert_int_equal(pal_sock_wait(ls, false, WAIT_MS), 0);
    int rc = YB_EAGAIN;
    for (int i = 0; i < 100 && rc == YB_EAGAIN; i++) {
        rc = pal_tcp_accept(ls, s, peer);
        if (rc == YB_EAGAIN)
            pal_sleep_ms(10);
    }
    assert_int_equal(rc, 0);
    assert_true(pal_sock_valid(*s));
}

/* A connected TCP pair through a listener on `where`; returns false for skip. */
static bool tcp_pair(const char *where, pal_sock *cli, pal_sock *srv)
{
    pal_sock ls = PAL_SOCK_INVALID;
    struct pal_addr a, bound;
    assert_int_equal(pal_addr_parse(where, &a), 0);
    int rc = pal_tcp_listen(&a, 16, &ls);
    if (rc == YB_EAFNOSUPPORT || rc == YB_EADDRNOTAVAIL) {
        print_message("skipping: cannot listen on %s: %s\n", where, yb_strerror(rc));
        return false;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(pal_sock_local_addr(ls, &bound), 0);
    assert_int_equal(pal_tcp_connect_wait(&bound, WAIT_MS, cli), 0);
    accept_one(ls, srv, NULL);
    pal_sock_close(&ls);
    assert_false(pal_sock_valid(ls));
    return true;
}

static void test_listen_accept_addrs(void **state)
{
    (void)state;
    pal_sock ls, c, s;
    struct pal_addr bound, peer, x;
    char t1[PAL_ADDR_TEXT_MAX], t2[PAL_ADDR_TEXT_MAX];
    listen_on("127.0.0.1:0", &ls, &bound);
    assert_int_equal(pal_addr_family(&bound), PAL_AF_INET);
    assert_true(pal_addr_is_loopback(&bound));

    /* Nothing pending yet. */
    assert_int_equal(pal_tcp_accept(ls, &s, NULL), YB_EAGAIN);
    assert_int_equal(pal_tcp_connect_wait(&bound, WAIT_MS, &c), 0);
    accept_one(ls, &s, &peer);

    /* The server's view of the peer is the client's local address, and back. */
    assert_int_equal(pal_sock_local_addr(c, &x), 0);
    assert_int_equal(pal_addr_format(&x, true, t1, sizeof t1), 0);
    assert_int_equal(pal_addr_format(&peer, true, t2, sizeof t2), 0);
    assert_string_equal(t1, t2);
    assert_int_equal(pal_sock_peer_addr(s, &x), 0);
    assert_int_equal(pal_addr_format(&x, true, t2, sizeof t2), 0);
    assert_string_equal(t1, t2);
    assert_int_equal(pal_sock_peer_addr(c, &x), 0);
    assert_int_equal(pal_addr_format(&x, true, t1, sizeof t1), 0);
    assert_int_equal(pal_sock_local_addr(s, &x), 0);
    assert_int_equal(pal_addr_format(&x, true, t2, sizeof t2), 0);
    assert_string_equal(t1, t2);
    assert_int_equal(pal_addr_format(&bound, true, t2, sizeof t2), 0);
    assert_string_equal(t1, t2);

    assert_int_equal(pal_sock_set_nodelay(c, true), 0);
    assert_int_equal(pal_sock_set_keepalive(s, true), 0);
    pal_sock_close(&c);
    pal_sock_close(&s);
    pal_sock_close(&ls);
    assert_false(pal_sock_valid(ls));
    pal_sock_close(&ls); /* safe on an invalid handle */
}

static void test_recv_empty_is_eagain(void **state)
{
    (void)state;
    pal_sock c, s;
    assert_true(tcp_pair("127.0.0.1:0", &c, &s));
    char buf[16];
    size_t got = 99;
    assert_int_equal(pal_sock_recv(s, buf, sizeof buf, &got), YB_EAGAIN);
    assert_int_equal(pal_sock_wait(s, false, 50), YB_ETIMEDOUT);
    assert_int_equal(pal_sock_wait(c, true, WAIT_MS), 0); /* writable right away */
    pal_sock_close(&c);
    pal_sock_close(&s);
}

/* Moves total bytes from a to b, single-threaded, both non-blocking. */
static void transfer(pal_sock a, pal_sock b, size_t total)
{
    unsigned char *out = malloc(total), *in = malloc(total);
    assert_non_null(out);
    assert_non_null(in);
    for (size_t i = 0; i < total; i++)
        out[i] = (unsigned char)(i * 31 + (i >> 13));
    size_t sent = 0, got = 0;
    uint64_t deadline = pal_time_mono_ms() + 10000;
    while (got < total) {
        if (pal_time_mono_ms() > deadline)
            fail_msg("transfer stalled: sent %u got %u of %u", (unsigned)sent, (unsigned)got,
                     (unsigned)total);
        bool progress = false;
        if (sent < total) {
            size_t n = 0;
            size_t chunk = total - sent < 65536 ? total - sent : 65536;
            int rc = pal_sock_send(a, out + sent, chunk, &n);
            if (rc == 0) {
                assert_true(n > 0 && n <= chunk);
                sent += n;
                progress = true;
            } else {
                assert_int_equal(rc, YB_EAGAIN);
            }
        }
        size_t n = 0;
        int rc = pal_sock_recv(b, in + got, total - got, &n);
        if (rc == 0) {
            assert_true(n > 0 && n <= total - got);
            got += n;
            progress = true;
        } else {
            assert_int_equal(rc, YB_EAGAIN);
        }
        if (!progress)
            (void)pal_sock_wait(b, false, 20);
    }
    assert_int_equal(sent, total);
    assert_memory_equal(in, out, total);
    free(in);
    free(out);
}

static void test_one_mib_both_ways(void **state)
{
    (void)state;
    pal_sock c, s;
    assert_true(tcp_pair("127.0.0.1:0", &c, &s));
    transfer(c, s, 1u << 20);
    transfer(s, c, 1u << 20);
    pal_sock_close(&c);
    pal_sock_close(&s);
}

static void expect_eof(pal_sock s)
{
    char buf[64];
    int rc = YB_EAGAIN;
    size_t got;
    uint64_t deadline = pal_time_mono_ms() + WAIT_MS;
    while (rc == YB_EAGAIN && pal_time_mono_ms() < deadline) {
        (void)pal_sock_wait(s, false, 100);
        rc = pal_sock_recv(s, buf, sizeof buf, &got);
    }
    assert_int_equal(rc, YB_ECLOSED);
}

static void test_eof_and_half_close(void **state)
{
    (void)state;
    pal_sock c, s;
    assert_true(tcp_pair("127.0.0.1:0", &c, &s));
    size_t n;
    assert_int_equal(pal_sock_send(c, "bye", 3, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(pal_sock_shutdown(c, PAL_SHUT_WR), 0);
    /* The data comes first, then end of stream. */
    char buf[8];
    assert_int_equal(pal_sock_wait(s, false, WAIT_MS), 0);
    assert_int_equal(pal_sock_recv(s, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "bye", 3);
    expect_eof(s);
    expect_eof(s); /* stays at end */
    /* The other direction still works after a half close. */
    assert_int_equal(pal_sock_send(s, "ok", 2, &n), 0);
    assert_int_equal(pal_sock_wait(c, false, WAIT_MS), 0);
    assert_int_equal(pal_sock_recv(c, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 2);
    pal_sock_close(&s);
    expect_eof(c);
    pal_sock_close(&c);
}

/* Sending to a closed peer fails with EPIPE/ECONNRESET and no SIGPIPE. */
static void test_send_to_closed_peer(void **state)
{
    (void)state;
    pal_sock c, s;
    assert_true(tcp_pair("127.0.0.1:0", &c, &s));
    pal_sock_close(&s);
    static char junk[4096];
    int rc = 0;
    for (int i = 0; i < 200 && rc == 0; i++) {
        size_t n;
        rc = pal_sock_send(c, junk, sizeof junk, &n);
        if (rc == 0 || rc == YB_EAGAIN) {
            rc = 0;
            pal_sleep_ms(5);
        }
    }
    if (rc != YB_EPIPE && rc != YB_ECONNRESET)
        fail_msg("send to a closed peer gave %s", yb_errname(rc));
    pal_sock_close(&c);
}

static void test_connect_refused(void **state)
{
    (void)state;
    pal_sock ls, c = PAL_SOCK_INVALID;
    struct pal_addr bound;
    listen_on("127.0.0.1:0", &ls, &bound);
    pal_sock_close(&ls);
    assert_int_equal(pal_tcp_connect_wait(&bound, WAIT_MS, &c), YB_ECONNREFUSED);
    assert_false(pal_sock_valid(c));

    /* The same through the non-blocking API. */
    int rc = pal_tcp_connect(&bound, &c);
    if (rc == YB_EINPROGRESS) {
        assert_true(pal_sock_valid(c));
        assert_int_equal(pal_sock_wait(c, true, WAIT_MS), 0);
        rc = pal_sock_connect_result(c);
        pal_sock_close(&c);
    }
    assert_int_equal(rc, YB_ECONNREFUSED);
}

static void test_nonblocking_connect(void **state)
{
    (void)state;
    pal_sock ls, c = PAL_SOCK_INVALID, s;
    struct pal_addr bound;
    listen_on("127.0.0.1:0", &ls, &bound);
    int rc = pal_tcp_connect(&bound, &c);
    assert_true(rc == 0 || rc == YB_EINPROGRESS);
    assert_true(pal_sock_valid(c));
    if (rc == YB_EINPROGRESS) {
        assert_int_equal(pal_sock_wait(c, true, WAIT_MS), 0);
        assert_int_equal(pal_sock_connect_result(c), 0);
    }
    accept_one(ls, &s, NULL);
    size_t n;
    assert_int_equal(pal_sock_send(c, "x", 1, &n), 0);
    assert_int_equal(pal_sock_wait(s, false, WAIT_MS), 0);
    char ch;
    assert_int_equal(pal_sock_recv(s, &ch, 1, &n), 0);
    assert_int_equal(ch, 'x');
    pal_sock_close(&c);
    pal_sock_close(&s);
    pal_sock_close(&ls);
}

static void test_listen_twice_in_use(void **state)
{
    (void)state;
    pal_sock ls, ls2 = PAL_SOCK_INVALID;
    struct pal_addr bound;
    listen_on("127.0.0.1:0", &ls, &bound);
    assert_int_equal(pal_tcp_listen(&bound, 0, &ls2), YB_EADDRINUSE);
    assert_false(pal_sock_valid(ls2));
    pal_sock_close(&ls);
}

static void test_sock_pair(void **state)
{
    (void)state;
    pal_sock p[2];
    assert_int_equal(pal_sock_pair(p), 0);
    assert_true(pal_sock_valid(p[0]) && pal_sock_valid(p[1]));
    for (int dir = 0; dir < 2; dir++) {
        pal_sock from = p[dir], to = p[1 - dir];
        char buf[16];
        size_t n;
        assert_int_equal(pal_sock_recv(to, buf, sizeof buf, &n), YB_EAGAIN); /* non-blocking */
        assert_int_equal(pal_sock_send(from, dir ? "pong" : "ping", 4, &n), 0);
        assert_int_equal(n, 4);
        assert_int_equal(pal_sock_wait(to, false, WAIT_MS), 0);
        assert_int_equal(pal_sock_recv(to, buf, sizeof buf, &n), 0);
        assert_int_equal(n, 4);
        assert_memory_equal(buf, dir ? "pong" : "ping", 4);
    }
    transfer(p[0], p[1], 256 * 1024);
    pal_sock_close(&p[0]);
    expect_eof(p[1]);
    pal_sock_close(&p[1]);
}

static void test_ipv6_loopback(void **state)
{
    (void)state;
    pal_sock ls = PAL_SOCK_INVALID, c, s;
    struct pal_addr a, bound, peer;
    assert_int_equal(pal_addr_parse("[::1]:0", &a), 0);
    int rc = pal_tcp_listen(&a, 0, &ls);
    if (rc == YB_EAFNOSUPPORT || rc == YB_EADDRNOTAVAIL) {
        print_message("skipping IPv6: pal_tcp_listen([::1]:0) gave %s\n", yb_errname(rc));
        skip();
    }
    assert_int_equal(rc, 0);
    assert_int_equal(pal_sock_local_addr(ls, &bound), 0);
    assert_int_equal(pal_addr_family(&bound), PAL_AF_INET6);
    assert_true(pal_addr_port(&bound) != 0);
    assert_true(pal_addr_is_loopback(&bound));
    assert_int_equal(pal_tcp_connect_wait(&bound, WAIT_MS, &c), 0);
    accept_one(ls, &s, &peer);
    assert_int_equal(pal_addr_family(&peer), PAL_AF_INET6);
    assert_true(pal_addr_is_loopback(&peer));
    transfer(c, s, 64 * 1024);
    /* IPV6_V6ONLY: the v6 listener does not take IPv4 connections. */
    struct pal_addr v4;
    assert_int_equal(pal_addr_from_ip("127.0.0.1", pal_addr_port(&bound), &v4), 0);
    pal_sock c4 = PAL_SOCK_INVALID;
    rc = pal_tcp_connect_wait(&v4, WAIT_MS, &c4);
    if (rc == 0) {
        /* Something else may own 127.0.0.1:port; only fail if our listener got it. */
        pal_sock s4;
        assert_int_equal(pal_tcp_accept(ls, &s4, NULL), YB_EAGAIN);
        pal_sock_close(&c4);
    }
    pal_sock_close(&c);
    pal_sock_close(&s);
    pal_sock_close(&ls);
}

static void test_resolve_localhost_and_literal(void **state)
{
    (void)state;
    struct pal_addr addrs[8];
    size_t n = 0;
    assert_int_equal(pal_addr_resolve("localhost", 25, addrs, 8, &n), 0);
    assert_true(n >= 1 && n <= 8);
    bool loop = false;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(pal_addr_port(&addrs[i]), 25);
        loop |= pal_addr_is_loopback(&addrs[i]);
    }
    assert_true(loop);

    assert_int_equal(pal_addr_resolve("127.0.0.1", 587, addrs, 8, &n), 0);
    assert_int_equal(n, 1);
    char buf[PAL_ADDR_TEXT_MAX];
    assert_int_equal(pal_addr_format(&addrs[0], true, buf, sizeof buf), 0);
    assert_string_equal(buf, "127.0.0.1:587");
    /* max 1 keeps to one address. */
    assert_int_equal(pal_addr_resolve("localhost", 1, addrs, 1, &n), 0);
    assert_int_equal(n, 1);
}

/* The resolver runs on a thread so a hang becomes a bounded failure. */
static struct {
    pal_mutex m;
    pal_cond c;
    bool done;
    int rc;
    size_t n;
    struct pal_addr addrs[4];
} g_res;

static void resolve_thread(void *arg)
{
    (void)arg;
    size_t n = 0;
    int rc = pal_addr_resolve("nonexistent.invalid", 25, g_res.addrs, 4, &n);
    pal_mutex_lock(&g_res.m);
    g_res.rc = rc;
    g_res.n = n;
    g_res.done = true;
    pal_cond_signal(&g_res.c);
    pal_mutex_unlock(&g_res.m);
}

static void test_resolve_nonexistent(void **state)
{
    (void)state;
    assert_int_equal(pal_mutex_init(&g_res.m), 0);
    assert_int_equal(pal_cond_init(&g_res.c), 0);
    struct pal_thread *t;
    uint64_t t0 = pal_time_mono_ms();
    assert_int_equal(pal_thread_start(&t, resolve_thread, NULL), 0);
    pal_mutex_lock(&g_res.m);
    while (!g_res.done && pal_time_mono_ms() - t0 < 15000)
        pal_cond_timedwait(&g_res.c, &g_res.m, 200);
    bool done = g_res.done;
    int rc = g_res.rc;
    pal_mutex_unlock(&g_res.m);
    uint64_t el = pal_time_mono_ms() - t0;
    if (!done)
        fail_msg("pal_addr_resolve(\"nonexistent.invalid\") still blocked after %llu ms",
                 (unsigned long long)el); /* the thread is left behind on purpose */
    assert_int_equal(pal_thread_join(&t), 0);
    if (el > 3000)
        print_message("note: resolving nonexistent.invalid took %llu ms\n", (unsigned long long)el);
    if (rc != YB_ENOTFOUND)
        fail_msg("resolve of nonexistent.invalid gave %s, want YB_ENOTFOUND", yb_errname(rc));
    pal_cond_destroy(&g_res.c);
    pal_mutex_destroy(&g_res.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_nul_inside),
        cmocka_unit_test(test_format_limits),
        cmocka_unit_test(test_from_ip_and_port),
        cmocka_unit_test(test_loopback_and_bytes),
        cmocka_unit_test(test_listen_accept_addrs),
        cmocka_unit_test(test_recv_empty_is_eagain),
        cmocka_unit_test(test_one_mib_both_ways),
        cmocka_unit_test(test_eof_and_half_close),
        cmocka_unit_test(test_send_to_closed_peer),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_nonblocking_connect),
        cmocka_unit_test(test_listen_twice_in_use),
        cmocka_unit_test(test_sock_pair),
        cmocka_unit_test(test_ipv6_loopback),
        cmocka_unit_test(test_resolve_localhost_and_literal),
        cmocka_unit_test(test_resolve_nonexistent),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
