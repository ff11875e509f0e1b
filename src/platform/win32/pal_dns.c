/*
 * pal_dns.c (Win32) - DNS queries through the DNS client (DnsQuery_UTF8).
 */
#include "pal_dns.h"
#include "pal_err.h"
#include "pal_internal.h"
#include "pal_win32.h"

#include <stdlib.h>
#include <string.h>

/* Puts the "ip[:53],..." list into an IP4_ARRAY (DnsQuery cannot change the port). */
static int set_servers(const char *servers, IP4_ARRAY *arr)
{
    struct pal__dns_server list[1];
    size_t n = 0;
    int rc = pal__dns_parse_servers(servers, list, 1, &n); /* IP4_ARRAY holds one inline */
    if (rc != 0)
        return rc == YB_ELIMIT ? YB_ENOTSUP : rc;
    if (list[0].port != 53)
        return YB_ENOTSUP;
    IN_ADDR a;
    if (InetPtonA(AF_INET, list[0].ip, &a) != 1)
        return YB_EINVAL;
    arr->AddrArray[0] = a.s_addr;
    arr->AddrCount = 1;
    return 0;
}

static void take_rr(const DNS_RECORDA *r, struct pal_dns_answer *ans)
{
    struct pal_dns_rr *out = &ans->rr[ans->n];
    memset(out, 0, sizeof *out);
    out->type = r->wType;
    out->ttl = r->dwTtl;
    switch (r->wType) {
    case DNS_TYPE_MX: {
        const char *x = (const char *)r->Data.MX.pNameExchange;
        size_t nl = x != NULL ? strlen(x) : 0;
        if (nl == 0 || nl >= sizeof out->name)
            return;
        memcpy(out->name, x, nl + 1);
        if (out->name[nl - 1] == '.')
            out->name[nl - 1] = '\0';
        out->pref = r->Data.MX.wPreference;
        break;
    }
    case DNS_TYPE_A:
        memcpy(out->data, &r->Data.A.IpAddress, 4);
        out->len = 4;
        break;
    case DNS_TYPE_AAAA:
        memcpy(out->data, &r->Data.AAAA.Ip6Address, 16);
        out->len = 16;
        break;
    case DNS_TYPE_TEXT:
        for (DWORD i = 0; i < r->Data.TXT.dwStringCount; i++) {
            const char *s = (const char *)r->Data.TXT.pStringArray[i];
            size_t sl = strlen(s);
            if (sl > 255 || out->len + 1 + sl > sizeof out->data)
                return;
            out->data[out->len++] = (unsigned char)sl;
            memcpy(out->data + out->len, s, sl);
            out->len += sl;
        }
        break;
    default: return; /* TLSA: not yet read on Windows */
    }
    ans->n++;
}

int pal_dns_query(const char *servers, const char *name, enum pal_dns_type type,
                  unsigned timeout_ms, struct pal_dns_answer *ans)
{
    (void)timeout_ms; /* the DNS client applies its own time-outs */
    ans->n = 0;
    if (name == NULL || name[0] == '\0' || strlen(name) >= PAL_DNS_NAME_MAX)
        return YB_EINVAL;
    if (type == PAL_DNS_TLSA)
        return YB_ENOTSUP;
    IP4_ARRAY arr;
    memset(&arr, 0, sizeof arr);
    PIP4_ARRAY extra = NULL;
    if (servers != NULL && servers[0] != '\0') {
        int rc = set_servers(servers, &arr);
        if (rc != 0)
            return rc;
        extra = &arr;
    }
    PDNS_RECORDA res = NULL;
    DNS_STATUS st = DnsQuery_UTF8(name, (WORD)type, DNS_QUERY_STANDARD | DNS_QUERY_NO_HOSTS_FILE,
                                  extra, &res, NULL);
    if (st == DNS_ERROR_RCODE_NAME_ERROR)
        return YB_ENOTFOUND;
    if (st == DNS_INFO_NO_RECORDS)
        return 0;
    if (st != 0)
        return YB_EAGAIN;
    for (const DNS_RECORDA *r = res; r != NULL && ans->n < PAL_DNS_MAX_RR; r = r->pNext) {
        if (r->Flags.S.Section == DnsSectionAnswer && r->wType == (WORD)type)
            take_rr(r, ans);
    }
    DnsRecordListFree(res, DnsFreeRecordList);
    return 0;
}
