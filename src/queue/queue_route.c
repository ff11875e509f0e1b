/*
 * queue_route.c - smarthosts and MX routing (see queue_route.h).
 */
#include "queue_route.h"
#include "pal.h"
#include "yb_log.h"
#include "yb_tab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parsed smarthost file, shared by the delivery threads. */
static pal_once cache_once = PAL_ONCE_INIT;
static pal_mutex cache_lock;
static struct yb_tab *cache_tab;
static char cache_path[PAL_PATH_MAX];
static struct pal_stat cache_st;
static bool cache_valid;

static void cache_init(void)
{
    pal_mutex_init(&cache_lock);
}

bool queue_tls_parse(const char *text, enum smtpc_tls *tls_r)
{
    static const char *const names[] = { "none", "may", "encrypt", "verify" };
    for (size_t i = 0; i < 4; i++) {
        if (yb_slice_eq_cstr_nocase(yb_slice_cstr(text), names[i])) {
            *tls_r = (enum smtpc_tls)i;
            return true;
        }
    }
    return false;
}

/* Reloads the table when path changed. Call with cache_lock held. */
static void refresh(const char *path)
{
    struct pal_stat st;
    bool exists = pal_fs_stat(path, &st) == 0;
    if (cache_valid && strcmp(path, cache_path) == 0) {
        if (!exists && cache_tab == NULL)
            return;
        if (exists && cache_tab != NULL && st.size == cache_st.size &&
            st.mtime_ns == cache_st.mtime_ns && st.file_id == cache_st.file_id)
            return;
    }
    yb_tab_free(&cache_tab);
    snprintf(cache_path, sizeof cache_path, "%s", path);
    cache_valid = true;
    memset(&cache_st, 0, sizeof cache_st);
    if (!exists)
        return;
    cache_st = st;
    struct yb_tab_error err;
    struct yb_tab *tab = NULL;
    int rc = yb_tab_load(path, &tab, &err);
    if (rc != 0) {
        char msg[512];
        yb_tab_error_format(&err, path, msg, sizeof msg);
        yb_log_error("queue", "smarthost file ignored: %s", msg);
        return;
    }
    for (size_t i = 0; i < tab->nrec; i++) {
        enum smtpc_tls t;
        if (tab->rec[i].nfields != 5 || !queue_tls_parse(tab->rec[i].field[2], &t)) {
            yb_log_error("queue",
                         "smarthost file ignored: %s:%u: expected \"domain\" \"host[:port]\" "
                         "\"none|may|encrypt|verify\" \"user\" \"password\"",
                         path, tab->rec[i].line);
            yb_tab_free(&tab);
            return;
        }
    }
    cache_tab = tab;
}

/* Splits "host[:port]" ("[v6]:port" too). */
static bool split_host(const char *text, char *host, size_t size, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    size_t hl = strlen(text);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL)
            return false;
        colon = close[1] == ':' ? close + 1 : NULL;
        hl = (size_t)(close - text - 1);
        text++;
    } else if (colon != NULL) {
        hl = (size_t)(colon - text);
    }
    if (colon != NULL) {
        unsigned long p = 0;
        const char *d = colon + 1;
        if (*d == '\0')
            return false;
        for (; *d != '\0'; d++) {
            if (*d < '0' || *d > '9' || (p = p * 10 + (unsigned long)(*d - '0')) > 65535)
                return false;
        }
        if (p == 0)
            return false;
        *port = (uint16_t)p;
    }
    if (hl == 0 || hl >= size)
        return false;
    memcpy(host, text, hl);
    host[hl] = '\0';
    return true;
}

enum yb_route_status queue_route(const char *root, const struct yb_vars *v, const char *domain,
                                 struct yb_route *route, struct queue_relay *relay)
{
    const char *servers = yb_vars_str(v, YB_VAR_DnsServers);
    unsigned timeout = (unsigned)yb_vars_num(v, YB_VAR_DnsTimeout) * 1000u;
    uint16_t port = (uint16_t)yb_vars_num(v, YB_VAR_SmtpRemotePort);
    const char *file = yb_vars_str(v, YB_VAR_QueueSmarthostFile);
    memset(relay, 0, sizeof *relay);
    if (!queue_tls_parse(yb_vars_str(v, YB_VAR_SmtpClientTls), &relay->tls))
        relay->tls = SMTPC_TLS_MAY;
    if (file[0] != '\0') {
        char path[PAL_PATH_MAX], host[PAL_DNS_NAME_MAX];
        bool found = false;
        uint16_t hport = 25;
        if (pal_path_join(path, sizeof path, root, file) == 0) {
            pal_once_run(&cache_once, cache_init);
            pal_mutex_lock(&cache_lock);
            refresh(path);
            const struct yb_tab_rec *best = NULL;
            for (size_t i = 0; cache_tab != NULL && i < cache_tab->nrec; i++) {
                const struct yb_tab_rec *r = &cache_tab->rec[i];
                if (yb_slice_eq_cstr_nocase(yb_slice_cstr(domain), r->field[0])) {
                    best = r;
                    break;
                }
                if (best == NULL && strcmp(r->field[0], "*") == 0)
                    best = r;
            }
            if (best != NULL && best->field[1][0] == '\0') {
                /* No relay: the domain's MX hosts, with this record's TLS policy. */
                queue_tls_parse(best->field[2], &relay->tls);
            } else if (best != NULL && split_host(best->field[1], host, sizeof host, &hport)) {
                found = true;
                queue_tls_parse(best->field[2], &relay->tls);
                snprintf(relay->user, sizeof relay->user, "%s", best->field[3]);
                snprintf(relay->password, sizeof relay->password, "%s", best->field[4]);
            }
            pal_mutex_unlock(&cache_lock);
        }
        if (found) {
            relay->smarthost = true;
            memset(route, 0, sizeof *route);
            struct pal_addr a;
            if (pal_addr_from_ip(host, hport, &a) == 0) {
                route->t[0].addr = a;
                snprintf(route->t[0].host, sizeof route->t[0].host, "%s", host);
                route->n = 1;
                return YB_ROUTE_OK;
            }
            int drc = 0;
            if (yb_mx_add_host(servers, timeout, host, hport, route, &drc) == 0) {
                snprintf(route->why, sizeof route->why, "4.4.3 smarthost %s has no address", host);
                return YB_ROUTE_TEMP;
            }
            return YB_ROUTE_OK;
        }
    }
    return yb_mx_route(servers, timeout, domain, port, route);
}
