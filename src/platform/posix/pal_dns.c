/*
 * pal_dns.c (POSIX) - DNS queries through libresolv (res_nquery).
 */
#include "pal_dns.h"
#include "pal_err.h"
#include "pal_internal.h"
#include "pal_posix.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX 65536

/* Puts the "ip[:port],..." list into st's server list. */
static int set_servers(res_state st, const char *servers)
{
    struct pal__dns_server list[PAL_DNS_MAX_SERVERS];
    size_t n = 0;
    int rc = pal__dns_parse_servers(servers, list,
                                    PAL_DNS_MAX_SERVERS < MAXNS ? PAL_DNS_MAX_SERVERS : MAXNS, &n);
    if (rc != 0)
        return rc == YB_ELIMIT ? YB_EINVAL : rc;
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_port = htons(list[i].port);
        if (inet_pton(AF_INET, list[i].ip, &sin.sin_addr) != 1)
            return YB_EINVAL;
        st->nsaddr_list[i] = sin;
    }
    st->nscount = (int)n;
    return 0;
}

static void take_rr(ns_msg *msg, ns_rr *rr, struct pal_dns_answer *ans)
{
    struct pal_dns_rr *out = &ans->rr[ans->n];
    const unsigned char *rd = ns_rr_rdata(*rr);
    size_t rdlen = ns_rr_rdlen(*rr);
    memset(out, 0, sizeof *out);
    out->type = ns_rr_type(*rr);
    out->ttl = ns_rr_ttl(*rr);
    switch (out->type) {
    case PAL_DNS_MX:
        if (rdlen < 3)
            return;
        out->pref = (uint16_t)ns_get16(rd);
        if (ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), rd + 2, out->name,
                               sizeof out->name) < 0)
            return;
        size_t nl = strlen(out->name);
        if (nl > 0 && out->name[nl - 1] == '.')
            out->name[nl - 1] = '\0';
        break;
    case PAL_DNS_A:
        if (rdlen != 4)
            return;
        break;
    case PAL_DNS_AAAA:
        if (rdlen != 16)
            return;
        break;
    default: break;
    }
    if (out->type != PAL_DNS_MX) {
        if (rdlen > sizeof out->data)
            return;
        memcpy(out->data, rd, rdlen);
        out->len = rdlen;
    }
    ans->n++;
}

int pal_dns_query(const char *servers, const char *name, enum pal_dns_type type,
                  unsigned timeout_ms, struct pal_dns_answer *ans)
{
    struct __res_state st;
    unsigned char *buf = NULL;
    int rc = 0;
    ans->n = 0;
    if (name == NULL || name[0] == '\0' || strlen(name) >= PAL_DNS_NAME_MAX)
        return YB_EINVAL;
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0)
        return YB_EAGAIN;
    if (servers != NULL && servers[0] != '\0' && (rc = set_servers(&st, servers)) != 0)
        goto out;
    st.retrans = (int)((timeout_ms + 999) / 1000);
    if (st.retrans < 1)
        st.retrans = 1;
    st.retry = 2;
    st.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
    if ((buf = malloc(ANSWER_MAX)) == NULL) {
        rc = YB_ENOMEM;
        goto out;
    }
    int len = res_nquery(&st, name, ns_c_in, (int)type, buf, ANSWER_MAX);
    if (len < 0) {
        switch (st.res_h_errno) {
        case HOST_NOT_FOUND: rc = YB_ENOTFOUND; break;
        case NO_DATA: rc = 0; break;
        default: rc = YB_EAGAIN; break;
        }
        goto out;
    }
    ns_msg msg;
    if (ns_initparse(buf, len, &msg) != 0) {
        rc = YB_EAGAIN;
        goto out;
    }
    int count = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < count && ans->n < PAL_DNS_MAX_RR; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) {
            rc = YB_EAGAIN;
            goto out;
        }
        if (ns_rr_class(rr) == ns_c_in && (unsigned)ns_rr_type(rr) == (unsigned)type)
            take_rr(&msg, &rr, ans);
    }
out:
    free(buf);
    res_nclose(&st);
    return rc;
}
