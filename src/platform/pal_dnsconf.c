/*
 * pal_dnsconf.c - the name-server override list of pal_dns_query, parsed
 * once for both platforms.
 */
#include "pal_dns.h"
#include "pal_err.h"
#include "pal_internal.h"

#include <string.h>

int pal__dns_parse_servers(const char *servers, struct pal__dns_server *out, size_t max,
                           size_t *n_r)
{
    const char *p = servers;
    size_t n = 0;
    *n_r = 0;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        if (len == 0 || len >= sizeof out->ip)
            return YB_EINVAL;
        if (n == max)
            return YB_ELIMIT;
        memcpy(out[n].ip, p, len);
        out[n].ip[len] = '\0';
        out[n].port = 53;
        char *colon = strchr(out[n].ip, ':');
        if (colon != NULL) {
            unsigned long port = 0;
            const char *d = colon + 1;
            if (*d == '\0')
                return YB_EINVAL;
            for (; *d != '\0'; d++) {
                if (*d < '0' || *d > '9' || (port = port * 10 + (unsigned long)(*d - '0')) > 65535)
                    return YB_EINVAL;
            }
            if (port == 0)
                return YB_EINVAL;
            *colon = '\0';
            out[n].port = (uint16_t)port;
        }
        n++;
        p += len;
        if (*p == ',' && *++p == '\0')
            return YB_EINVAL; /* a trailing comma */
    }
    if (n == 0)
        return YB_EINVAL;
    *n_r = n;
    return 0;
}
