/*
 * yb_relay.c - the view of smtprelay.tab: networks allowed to relay.
 *
 * A relay list holds a handful of networks, so a linear scan is the whole
 * lookup: a few byte comparisons per network.
 */
#include "yb_accounts.h"
#include "yb_accounts_int.h"
#include "pal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct relay_net {
    unsigned char bytes[16];
    unsigned char len; /* 4 or 16 */
    unsigned char prefix;
    unsigned line;
};

struct yb_relay {
    size_t n;
    struct relay_net *net;
};

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Parses a numeric address (no zone, no brackets) into 4 or 16 bytes. */
static int parse_ip(const char *text, size_t len, unsigned char bytes[16], size_t *len_r)
{
    char buf[64];
    struct pal_addr a;
    if (len == 0 || len >= sizeof(buf) || memchr(text, '%', len) != NULL)
        return YB_EPARSE;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (pal_addr_from_ip(buf, 0, &a) != 0 || pal_addr_bytes(&a, bytes, len_r) != 0)
        return YB_EPARSE;
    if (*len_r == 4 && memchr(buf, ':', len) != NULL) {
        /* The PAL folds ::ffff:a.b.c.d to IPv4; keep the IPv6 form for the prefix. */
        memmove(bytes + 12, bytes, 4);
        memcpy(bytes, v4mapped, 12);
        *len_r = 16;
    }
    return 0;
}

static int parse_prefix(const char *p, unsigned max, unsigned *prefix_r)
{
    unsigned v = 0;
    if (*p == '\0')
        return YB_EPARSE;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > 1000)
            return YB_EPARSE;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > max)
        return YB_ERANGE;
    *prefix_r = v;
    return 0;
}

/* A dotted IPv4 netmask as a prefix length; YB_EPARSE unless its ones are contiguous. */
static int mask_prefix(const unsigned char m[4], unsigned *prefix_r)
{
    uint32_t v = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
    uint32_t inv = ~v;
    if ((inv & (inv + 1)) != 0)
        return YB_EPARSE; /* not 1...10...0 */
    unsigned n = 0;
    while (n < 32 && (v & (UINT32_C(1) << (31 - n))) != 0)
        n++;
    *prefix_r = n;
    return 0;
}

/* Clears the bits past prefix; true when any was set. */
static bool mask_host_bits(unsigned char *b, size_t len, unsigned prefix)
{
    bool had = false;
    for (size_t i = 0; i < len; i++) {
        unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * (unsigned)i : 0;
        unsigned char m = (unsigned char)(keep == 0 ? 0 : 0xff << (8 - keep));
        had = had || (b[i] & ~m) != 0;
        b[i] &= m;
    }
    return had;
}

static bool prefix_match(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
    unsigned whole = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char m = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & m) == (b[whole] & m);
}

/* The address in its usual notation (IPv6 compressed by the PAL), for messages. */
static void format_ip(const unsigned char *b, size_t len, char *buf, size_t size)
{
    char full[48];
    struct pal_addr a;
    if (len == 4) {
        snprintf(buf, size, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        return;
    }
    snprintf(full, sizeof(full), "%x:%x:%x:%x:%x:%x:%x:%x", b[0] << 8 | b[1], b[2] << 8 | b[3],
             b[4] << 8 | b[5], b[6] << 8 | b[7], b[8] << 8 | b[9], b[10] << 8 | b[11],
             b[12] << 8 | b[13], b[14] << 8 | b[15]);
    if (pal_addr_from_ip(full, 0, &a) != 0 || pal_addr_format(&a, false, buf, size) != 0)
        snprintf(buf, size, "%s", full);
}

static int load_net(const struct yb_tab_rec *rec, struct relay_net *net, struct yb_tab_error *err_r,
                    yb_acct_warn_fn warn, void *warn_arg)
{
    const char *text = rec->field[0];
    const char *slash = strchr(text, '/');
    size_t iplen = slash != NULL ? (size_t)(slash - text) : rec->len[0];
    size_t len;
    unsigned prefix;
    if (rec->nfields != 1 && rec->nfields != 2)
        return yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[0],
                                "expected \"network/prefix\" or \"address\" \"netmask\", found "
                                "%u fields",
                                rec->nfields);
    if (parse_ip(text, iplen, net->bytes, &len) != 0)
        return yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[0],
                                "'%.*s' is not an IPv4 or IPv6 address",
                                (int)(iplen > 64 ? 64 : iplen), text);
    unsigned max = len == 4 ? 32 : 128;
    if (rec->nfields == 2) {
        const char *mask = rec->field[1];
        unsigned char mb[16];
        size_t mlen;
        if (slash != NULL)
            return yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[1],
                                    "a netmask field after a network that has a /prefix");
        if (strchr(mask, '.') != NULL) {
            if (len != 4 || parse_ip(mask, rec->len[1], mb, &mlen) != 0 || mlen != 4 ||
                mask_prefix(mb, &prefix) != 0)
                return yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[1],
                                        "'%.64s' is not a contiguous IPv4 netmask", mask);
        } else if (parse_prefix(mask, max, &prefix) != 0) {
            return yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[1],
                                    "'%.64s' is not a netmask or a prefix length 0-%u", mask, max);
        }
    } else if (slash != NULL) {
        if (parse_prefix(slash + 1, max, &prefix) != 0)
            return yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[0],
                                    "'/%.64s' is not a prefix length 0-%u for %s", slash + 1, max,
                                    len == 4 ? "IPv4" : "IPv6");
    } else {
        prefix = max;
    }
    if (len == 16 && memcmp(net->bytes, v4mapped, 12) == 0) {
        /* IPv4-mapped: an IPv4 network for peers, whichever way they arrive. */
        if (prefix < 96)
            return yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[0],
                                    "an IPv4-mapped network needs a prefix of 96 or more");
        memmove(net->bytes, net->bytes + 12, 4);
        len = 4;
        prefix -= 96;
    }
    net->len = (unsigned char)len;
    net->prefix = (unsigned char)prefix;
    net->line = rec->line;
    if (mask_host_bits(net->bytes, len, prefix) && warn != NULL) {
        char msg[YB_TAB_ERRMSG_MAX], ip[PAL_ADDR_TEXT_MAX];
        format_ip(net->bytes, len, ip, sizeof(ip));
        snprintf(msg, sizeof(msg), "host bits set in '%.50s'; using %.50s/%u", text, ip, prefix);
        warn(warn_arg, rec->line, rec->column[0], msg);
    }
    return 0;
}

int yb_relay_load(const struct yb_tab *tab, struct yb_relay **relay_r, struct yb_tab_error *err_r,
                  yb_acct_warn_fn warn, void *warn_arg)
{
    size_t nrec = tab != NULL ? tab->nrec : 0;
    int rc;
    memset(err_r, 0, sizeof(*err_r));
    *relay_r = NULL;
    struct yb_relay *rl = calloc(1, sizeof(*rl));
    if (rl == NULL || (nrec > 0 && (rl->net = calloc(nrec, sizeof(*rl->net))) == NULL)) {
        yb_relay_free(&rl);
        return yb_tab_error_set(err_r, YB_ENOMEM, 0, 0, "out of memory");
    }
    for (size_t r = 0; r < nrec; r++) {
        if ((rc = load_net(&tab->rec[r], &rl->net[rl->n], err_r, warn, warn_arg)) != 0) {
            yb_relay_free(&rl);
            return rc;
        }
        rl->n++;
    }
    *relay_r = rl;
    return 0;
}

void yb_relay_free(struct yb_relay **relay)
{
    if (*relay == NULL)
        return;
    free((*relay)->net);
    free(*relay);
    *relay = NULL;
}

size_t yb_relay_count(const struct yb_relay *relay)
{
    return relay->n;
}

bool yb_relay_allowed(const struct yb_relay *relay, const struct pal_addr *peer)
{
    unsigned char b[16];
    size_t len;
    if (pal_addr_bytes(peer, b, &len) != 0)
        return false;
    for (size_t i = 0; i < relay->n; i++) {
        const struct relay_net *n = &relay->net[i];
        if (n->len == len && prefix_match(n->bytes, b, n->prefix))
            return true;
    }
    return false;
}
