/*
 * pal_dns.c (Win32) - DNS queries through the DNS client (DnsQuery_UTF8).
 */
#include "pal_dns.h"
#include "pal_err.h"
#include "pal_win32.h"

#include <stdlib.h>
#include <string.h>

/* Parses "ip[:53],..." into an IP4_ARRAY (DnsQuery cannot change the port). */
static int set_servers(const char *servers, IP4_ARRAY *arr)
{
    DWORD n = 0;
    const char *p = servers;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char item[64], *colon;
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        if (len == 0 || len >= sizeof item || n == 1)
            return len == 0 || len >= sizeof item ? YB_EINVAL : YB_ENOTSUP;
        memcpy(item, p, len);
        item[len] = '\0';
        if ((colon = strchr(item, ':')) != NULL) {
            if (strcmp(colon + 1, "53") != 0)
                return YB_ENOTSUP;
            *colon = '\0';
        }
        IN_ADDR a;
        if (InetPtonA(AF_INET, item, &a) != 1)
            return YB_EINVAL;
        arr->AddrArray[n++] = a.s_addr;
        p += len;
        if (*p == ',')
            p++;
    }
    if (n == 0)
        return YB_EINVAL;
    arr->AddrCount = n;
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
