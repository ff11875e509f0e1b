/*
 * ctrl_admins.c - ctrlaccounts.tab, the plaintext-login rule and the
 * per-address failed-login brake.
 *
 *   "name" "stored-password" "admin"
 *   "name" "stored-password" "domain" "example.com" ["example.net" ...]
 */
#include "ctrl_int.h"
#include "yb_passwd.h"

#include <stdio.h>
#include <string.h>

/* Failed-login delay: grows with each failure from one address, capped. */
#define CTRL_FAIL_DELAY_MS     500
#define CTRL_FAIL_DELAY_MAX_MS 5000

static bool name_ok(struct yb_slice n)
{
    if (n.len == 0 || n.len > YB_CTRL_LIMIT_NAME)
        return false;
    for (size_t i = 0; i < n.len; i++) {
        unsigned char c = n.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == '@'))
            return false;
    }
    return true;
}

int ctrl_admin_parse(const struct yb_tab_rec *rec, struct ctrl_admin *a, char *msg, size_t size)
{
    struct yb_scram_keys keys;
    memset(a, 0, sizeof(*a));
    if (rec->nfields < 3) {
        snprintf(msg, size, "expected name, password hash, role");
        return YB_EPARSE;
    }
    if (!name_ok(ctrl_field(rec, 0))) {
        snprintf(msg, size, "administrator names are 1-%d of A-Z a-z 0-9 . - _ @",
                 YB_CTRL_LIMIT_NAME);
        return YB_EPARSE;
    }
    if (yb_passwd_parse(rec->field[1], &keys) != 0) {
        snprintf(msg, size, "the password is not a stored form (yubind --hash-password)");
        return YB_EPARSE;
    }
    a->name = rec->field[0];
    a->password = rec->field[1];
    if (strcmp(rec->field[2], "admin") == 0) {
        if (rec->nfields != 3) {
            snprintf(msg, size, "an admin has no domain list");
            return YB_EPARSE;
        }
        a->role = CTRL_ROLE_ADMIN;
        return 0;
    }
    if (strcmp(rec->field[2], "domain") != 0) {
        snprintf(msg, size, "the role is \"admin\" or \"domain\"");
        return YB_EPARSE;
    }
    a->role = CTRL_ROLE_DOMAIN;
    if (rec->nfields == 3 || rec->nfields - 3 > CTRL_LIMIT_ADMIN_DOMAINS) {
        snprintf(msg, size, "a domain administrator has 1-%d domains", CTRL_LIMIT_ADMIN_DOMAINS);
        return YB_EPARSE;
    }
    for (unsigned i = 3; i < rec->nfields; i++) {
        char why[128];
        if (yb_domain_check(ctrl_field(rec, i), why, sizeof(why)) != 0) {
            snprintf(msg, size, "domain %u: %s", i - 2, why);
            return YB_EPARSE;
        }
        a->domain[a->ndomains++] = rec->field[i];
    }
    return 0;
}

int ctrl_admins_check(const struct yb_tab *tab, struct yb_tab_error *err_r)
{
    for (size_t i = 0; i < tab->nrec; i++) {
        struct ctrl_admin a;
        char msg[160];
        if (ctrl_admin_parse(&tab->rec[i], &a, msg, sizeof(msg)) != 0)
            return yb_tab_error_set(err_r, YB_EPARSE, tab->rec[i].line, 1, "%s", msg);
        for (size_t k = 0; k < i; k++) {
            if (strcmp(tab->rec[k].field[0], a.name) == 0)
                return yb_tab_error_set(err_r, YB_EPARSE, tab->rec[i].line, 1,
                                        "administrator %s repeats line %u", a.name,
                                        tab->rec[k].line);
        }
    }
    return 0;
}

int ctrl_admin_find(const struct yb_tab *tab, struct yb_slice name, struct ctrl_admin *a_r)
{
    for (size_t i = 0; i < tab->nrec; i++) {
        char msg[160];
        if (yb_slice_eq(ctrl_field(&tab->rec[i], 0), name))
            return ctrl_admin_parse(&tab->rec[i], a_r, msg, sizeof(msg)) == 0 ? 0 : YB_ENOTFOUND;
    }
    return YB_ENOTFOUND;
}

bool ctrl_login_allowed(bool tls, const struct pal_addr *peer)
{
    return tls || pal_addr_is_loopback(peer);
}

/* ---- failed logins per address ---- */

struct fail_entry {
    char ip[PAL_ADDR_TEXT_MAX];
    unsigned failures;
    uint64_t first_ms, last_ms;
};

static struct fail_entry fails[CTRL_LOGIN_TABLE];
static pal_mutex fail_lock;
static pal_once fail_once = PAL_ONCE_INIT;

static void fail_init(void)
{
    pal_mutex_init(&fail_lock);
}

/* The entry for ip, or NULL; the lock is held. */
static struct fail_entry *fail_find(const char *ip)
{
    for (size_t i = 0; i < CTRL_LOGIN_TABLE; i++) {
        if (fails[i].failures > 0 && strcmp(fails[i].ip, ip) == 0)
            return &fails[i];
    }
    return NULL;
}

bool ctrl_login_blocked(const char *ip, unsigned max_failures, unsigned block_s)
{
    pal_once_run(&fail_once, fail_init);
    pal_mutex_lock(&fail_lock);
    struct fail_entry *e = fail_find(ip);
    bool blocked = false;
    if (e != NULL) {
        if (pal_time_mono_ms() - e->last_ms > (uint64_t)block_s * 1000u)
            memset(e, 0, sizeof(*e)); /* quiet long enough: forgiven */
        else
            blocked = e->failures >= max_failures;
    }
    pal_mutex_unlock(&fail_lock);
    return blocked;
}

void ctrl_login_failed(const char *ip)
{
    pal_once_run(&fail_once, fail_init);
    pal_mutex_lock(&fail_lock);
    uint64_t now = pal_time_mono_ms();
    struct fail_entry *e = fail_find(ip);
    if (e == NULL) {
        /* A free slot, else the one quiet longest. */
        e = &fails[0];
        for (size_t i = 0; i < CTRL_LOGIN_TABLE; i++) {
            if (fails[i].failures == 0) {
                e = &fails[i];
                break;
            }
            if (fails[i].last_ms < e->last_ms)
                e = &fails[i];
        }
        memset(e, 0, sizeof(*e));
        snprintf(e->ip, sizeof(e->ip), "%s", ip);
        e->first_ms = now;
    }
    e->failures++;
    e->last_ms = now;
    pal_mutex_unlock(&fail_lock);
}

void ctrl_login_succeeded(const char *ip)
{
    pal_once_run(&fail_once, fail_init);
    pal_mutex_lock(&fail_lock);
    struct fail_entry *e = fail_find(ip);
    if (e != NULL)
        memset(e, 0, sizeof(*e));
    pal_mutex_unlock(&fail_lock);
}

unsigned ctrl_login_delay_ms(const char *ip)
{
    pal_once_run(&fail_once, fail_init);
    pal_mutex_lock(&fail_lock);
    struct fail_entry *e = fail_find(ip);
    unsigned n = e != NULL ? e->failures : 0;
    pal_mutex_unlock(&fail_lock);
    unsigned ms = n * CTRL_FAIL_DELAY_MS;
    return ms < CTRL_FAIL_DELAY_MAX_MS ? ms : CTRL_FAIL_DELAY_MAX_MS;
}
