/*
 * queue_mx.c - MX ordering and routing (see queue_mx.h).
 */
#include "queue_mx.h"
#include "pal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t pal_rnd(void *arg, uint32_t bound)
{
    uint32_t v = 0;
    (void)arg;
    if (pal_random_uniform(bound, &v) != 0)
        v = 0;
    return v;
}

void yb_mx_order(struct yb_mx_host *hosts, size_t n, yb_mx_random_fn rnd, void *arg)
{
    if (rnd == NULL)
        rnd = pal_rnd;
    /* Insertion sort: stable, and n is at most a few dozen. */
    for (size_t i = 1; i < n; i++) {
        struct yb_mx_host h = hosts[i];
        size_t j = i;
        while (j > 0 && hosts[j - 1].pref > h.pref) {
            hosts[j] = hosts[j - 1];
            j--;
        }
        hosts[j] = h;
    }
    /* Fisher-Yates within each run of equal preference. */
    for (size_t start = 0; start < n;) {
        size_t end = start + 1;
        while (end < n && hosts[end].pref == hosts[start].pref)
            end++;
        for (size_t k = end - start; k > 1; k--) {
            size_t pick = start + rnd(arg, (uint32_t)k);
            struct yb_mx_host t = hosts[start + k - 1];
            hosts[start + k - 1] = hosts[pick];
            hosts[pick] = t;
        }
        start = end;
    }
}

size_t yb_mx_add_host(const char *servers, unsigned timeout_ms, const char *host, uint16_t port,
                      struct yb_route *r, int *dns_rc_r)
{
    struct pal_dns_answer *a6 = malloc(sizeof *a6), *a4 = malloc(sizeof *a4);
    size_t added = 0;
    int rc6, rc4;
    if (a6 == NULL || a4 == NULL) {
        free(a6);
        free(a4);
        *dns_rc_r = YB_ENOMEM;
        return 0;
    }
    rc6 = pal_dns_query(servers, host, PAL_DNS_AAAA, timeout_ms, a6);
    rc4 = pal_dns_query(servers, host, PAL_DNS_A, timeout_ms, a4);
    if (rc6 != 0)
        a6->n = 0;
    if (rc4 != 0)
        a4->n = 0;
    *dns_rc_r = (rc6 == YB_EAGAIN || rc4 == YB_EAGAIN) ? YB_EAGAIN : rc4;
    for (size_t i = 0; i < a6->n || i < a4->n; i++) {
        const struct pal_dns_rr *pick[2] = { i < a6->n ? &a6->rr[i] : NULL,
                                             i < a4->n ? &a4->rr[i] : NULL };
        for (int k = 0; k < 2; k++) {
            if (pick[k] == NULL || r->n == YB_MX_MAX_ADDRS)
                continue;
            char ip[PAL_ADDR_TEXT_MAX];
            const unsigned char *b = pick[k]->data;
            if (pick[k]->len == 4)
                snprintf(ip, sizeof ip, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
            else if (pick[k]->len == 16)
                snprintf(ip, sizeof ip, "%x:%x:%x:%x:%x:%x:%x:%x", (b[0] << 8) | b[1],
                         (b[2] << 8) | b[3], (b[4] << 8) | b[5], (b[6] << 8) | b[7],
                         (b[8] << 8) | b[9], (b[10] << 8) | b[11], (b[12] << 8) | b[13],
                         (b[14] << 8) | b[15]);
            else
                continue;
            struct yb_route_target *t = &r->t[r->n];
            if (pal_addr_from_ip(ip, port, &t->addr) != 0)
                continue;
            snprintf(t->host, sizeof t->host, "%s", host);
            r->n++;
            added++;
        }
    }
    free(a6);
    free(a4);
    return added;
}

enum yb_route_status yb_mx_route(const char *servers, unsigned timeout_ms, const char *domain,
                                 uint16_t port, struct yb_route *r)
{
    memset(r, 0, sizeof *r);
    size_t dl = strlen(domain);
    if (dl >= 2 && domain[0] == '[' && domain[dl - 1] == ']') {
        char ip[PAL_ADDR_TEXT_MAX];
        const char *p = domain + 1;
        size_t n = dl - 2;
        if (n > 5 && strncmp(p, "IPv6:", 5) == 0) {
            p += 5;
            n -= 5;
        }
        if (n < sizeof ip) {
            memcpy(ip, p, n);
            ip[n] = '\0';
        }
        if (n >= sizeof ip || pal_addr_from_ip(ip, port, &r->t[0].addr) != 0) {
            snprintf(r->why, sizeof r->why, "5.1.2 bad address literal %s", domain);
            return YB_ROUTE_PERM;
        }
        snprintf(r->t[0].host, sizeof r->t[0].host, "%s", ip);
        r->n = 1;
        return YB_ROUTE_OK;
    }
    struct pal_dns_answer *mx = malloc(sizeof *mx);
    if (mx == NULL) {
        snprintf(r->why, sizeof r->why, "4.3.0 out of memory routing %s", domain);
        return YB_ROUTE_TEMP;
    }
    int rc = pal_dns_query(servers, domain, PAL_DNS_MX, timeout_ms, mx);
    enum yb_route_status st = YB_ROUTE_OK;
    if (rc == YB_ENOTFOUND) {
        snprintf(r->why, sizeof r->why, "5.1.2 domain %s does not exist", domain);
        st = YB_ROUTE_PERM;
        goto out;
    }
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "4.4.3 DNS lookup of MX %s failed: %s", domain,
                 yb_strerror(rc));
        st = YB_ROUTE_TEMP;
        goto out;
    }
    if (mx->n == 0) {
        /* The implicit MX: the domain's own addresses. */
        int drc = 0;
        if (yb_mx_add_host(servers, timeout_ms, domain, port, r, &drc) == 0) {
            if (drc == YB_EAGAIN) {
                snprintf(r->why, sizeof r->why, "4.4.3 DNS lookup of %s failed", domain);
                st = YB_ROUTE_TEMP;
            } else {
                snprintf(r->why, sizeof r->why, "5.1.2 domain %s has no MX and no address", domain);
                st = YB_ROUTE_PERM;
            }
        }
        goto out;
    }
    struct yb_mx_host hosts[YB_MX_MAX_HOSTS];
    size_t nh = 0;
    bool null_mx = false;
    for (size_t i = 0; i < mx->n; i++) {
        if (mx->rr[i].name[0] == '\0') {
            null_mx = true;
            continue;
        }
        if (nh < YB_MX_MAX_HOSTS) {
            snprintf(hosts[nh].name, sizeof hosts[nh].name, "%s", mx->rr[i].name);
            hosts[nh].pref = mx->rr[i].pref;
            nh++;
        }
    }
    if (nh == 0 && null_mx) {
        snprintf(r->why, sizeof r->why, "5.1.10 domain %s accepts no mail (null MX)", domain);
        st = YB_ROUTE_PERM;
        goto out;
    }
    yb_mx_order(hosts, nh, NULL, NULL);
    bool temp = false;
    for (size_t i = 0; i < nh && r->n < YB_MX_MAX_ADDRS; i++) {
        int drc = 0;
        if (yb_mx_add_host(servers, timeout_ms, hosts[i].name, port, r, &drc) == 0 &&
            drc == YB_EAGAIN)
            temp = true;
    }
    if (r->n == 0) {
        snprintf(r->why, sizeof r->why, "4.4.3 no address for any MX host of %s%s", domain,
                 temp ? " (DNS failure)" : "");
        st = YB_ROUTE_TEMP;
    }
out:
    free(mx);
    return st;
}
