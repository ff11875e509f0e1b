/*
 * pop3_load.c - the load generator of bench/pop3: one thread per account,
 * each logs in (USER/PASS), STATs, RETRs every message one command at a
 * time (no pipelining) and QUITs without DELE. All threads start together;
 * prints "messages bytes seconds" for the whole run. Written in C over the
 * PAL so that the client costs little next to the server it measures.
 *
 *   yb_pop3_load PORT DOMAIN PASSWORD USER...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal.h"

/* Largest reply kept (a RETR of a benchmark message is a few KiB). */
#define LOAD_BUF       (8u * 1024 * 1024)
#define LOAD_MAX_USERS 256

struct client {
    const char *user;
    struct pal_addr addr;
    const char *domain, *password;
    pal_sock sock;
    unsigned char *buf;
    unsigned long long messages, bytes;
    uint64_t t0, t1;
    int error;
};

static pal_mutex g_lock;
static pal_cond g_cond;
static unsigned g_ready, g_total;
static bool g_go;

static int send_all(struct client *c, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len) {
        size_t sent = 0;
        int rc = pal_sock_send(c->sock, text + off, len - off, &sent);
        if (rc == YB_EAGAIN) {
            pal_sock_wait(c->sock, true, 60000);
            continue;
        }
        if (rc != 0)
            return rc;
        off += sent;
    }
    return 0;
}

/* Reads one reply: a line, or (multi) everything up to CRLF.CRLF. Returns its length or < 0. */
static long long reply(struct client *c, bool multi)
{
    size_t n = 0;
    for (;;) {
        size_t got = 0;
        if (n == LOAD_BUF)
            return YB_ELIMIT;
        int rc = pal_sock_recv(c->sock, c->buf + n, LOAD_BUF - n, &got);
        if (rc == YB_EAGAIN) {
            if (pal_sock_wait(c->sock, false, 60000) != 0)
                return YB_ETIMEDOUT;
            continue;
        }
        if (rc != 0)
            return rc;
        n += got;
        if (n >= 4 && memcmp(c->buf, "-ERR", 4) == 0 && c->buf[n - 1] == '\n')
            return YB_EACCES;
        if (!multi && n >= 2 && c->buf[n - 2] == '\r' && c->buf[n - 1] == '\n')
            return (long long)n;
        if (multi && n >= 5 && memcmp(c->buf + n - 5, "\r\n.\r\n", 5) == 0)
            return (long long)n;
    }
}

static int session(struct client *c)
{
    char cmd[512];
    long long n;
    if ((n = reply(c, false)) < 0)
        return (int)n;
    pal_mutex_lock(&g_lock);
    g_ready++;
    pal_cond_broadcast(&g_cond);
    while (!g_go)
        pal_cond_wait(&g_cond, &g_lock);
    pal_mutex_unlock(&g_lock);
    c->t0 = pal_time_mono_ns();
    snprintf(cmd, sizeof cmd, "USER %s@%s\r\n", c->user, c->domain);
    if (send_all(c, cmd) != 0 || (n = reply(c, false)) < 0)
        return n < 0 ? (int)n : YB_EIO;
    snprintf(cmd, sizeof cmd, "PASS %s\r\n", c->password);
    if (send_all(c, cmd) != 0 || (n = reply(c, false)) < 0)
        return n < 0 ? (int)n : YB_EIO;
    if (send_all(c, "STAT\r\n") != 0 || (n = reply(c, false)) < 0)
        return n < 0 ? (int)n : YB_EIO;
    unsigned long count = strtoul((const char *)c->buf + 4, NULL, 10);
    for (unsigned long i = 1; i <= count; i++) {
        snprintf(cmd, sizeof cmd, "RETR %lu\r\n", i);
        if (send_all(c, cmd) != 0 || (n = reply(c, true)) < 0)
            return n < 0 ? (int)n : YB_EIO;
        c->messages++;
        c->bytes += (unsigned long long)n;
    }
    if (send_all(c, "QUIT\r\n") != 0 || (n = reply(c, false)) < 0)
        return n < 0 ? (int)n : YB_EIO;
    c->t1 = pal_time_mono_ns();
    return 0;
}

static void client_main(void *arg)
{
    struct client *c = arg;
    c->error = pal_tcp_connect_wait(&c->addr, 30000, &c->sock);
    if (c->error == 0) {
        pal_sock_set_nodelay(c->sock, true);
        c->error = session(c);
        pal_sock_close(&c->sock);
    }
    if (c->error != 0) {
        pal_mutex_lock(&g_lock); /* do not leave the others waiting for this one */
        g_ready++;
        pal_cond_broadcast(&g_cond);
        pal_mutex_unlock(&g_lock);
    }
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc - 4 > LOAD_MAX_USERS) {
        fprintf(stderr, "usage: yb_pop3_load PORT DOMAIN PASSWORD USER...\n");
        return 2;
    }
    static struct client clients[LOAD_MAX_USERS];
    static struct pal_thread *threads[LOAD_MAX_USERS];
    char *end = NULL;
    unsigned long port = strtoul(argv[1], &end, 10);
    if (*end != '\0' || port == 0 || port > 65535 || pal_net_init() != 0 ||
        pal_mutex_init(&g_lock) != 0 || pal_cond_init(&g_cond) != 0)
        return 2;
    g_total = (unsigned)(argc - 4);
    for (unsigned i = 0; i < g_total; i++) {
        struct client *c = &clients[i];
        c->user = argv[4 + i];
        c->domain = argv[2];
        c->password = argv[3];
        c->buf = malloc(LOAD_BUF);
        if (c->buf == NULL || pal_addr_from_ip("127.0.0.1", (uint16_t)port, &c->addr) != 0 ||
            pal_thread_start(&threads[i], client_main, c) != 0)
            return 1;
    }
    pal_mutex_lock(&g_lock);
    while (g_ready < g_total)
        pal_cond_wait(&g_cond, &g_lock);
    g_go = true;
    pal_cond_broadcast(&g_cond);
    pal_mutex_unlock(&g_lock);
    unsigned long long msgs = 0, bytes = 0;
    uint64_t t0 = UINT64_MAX, t1 = 0;
    int failed = 0;
    for (unsigned i = 0; i < g_total; i++) {
        pal_thread_join(&threads[i]);
        struct client *c = &clients[i];
        if (c->error != 0) {
            fprintf(stderr, "%s: %s\n", c->user, yb_strerror(c->error));
            failed = 1;
            continue;
        }
        msgs += c->messages;
        bytes += c->bytes;
        t0 = c->t0 < t0 ? c->t0 : t0;
        t1 = c->t1 > t1 ? c->t1 : t1;
        free(c->buf);
    }
    if (failed)
        return 1;
    printf("%llu %llu %.6f\n", msgs, bytes, (double)(t1 - t0) / 1e9);
    return 0;
}
