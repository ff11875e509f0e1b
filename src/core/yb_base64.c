/*
 * yb_base64.c - strict base64.
 */
#include "yb_base64.h"
#include "pal_err.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int yb_base64_encode(const void *in, size_t len, char *out, size_t outcap, size_t *outlen_r)
{
    const unsigned char *p = in;
    size_t need = YB_BASE64_ENCODED_LEN(len);
    if (len > (SIZE_MAX / 4) * 3 - 3 || need > outcap)
        return YB_ERANGE;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
    }
    if (o < outcap)
        out[o] = '\0';
    *outlen_r = o;
    return 0;
}

int yb_base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int yb_base64_decode(const char *text, size_t len, unsigned flags, void *out, size_t outcap,
                     size_t *outlen_r)
{
    unsigned char *o = out;
    size_t n = 0, quad = 0, pad = 0;
    uint32_t acc = 0;
    *outlen_r = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((flags & YB_B64_SKIP_SPACE) && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
            continue;
        if (c == '=') {
            /* Padding only in the last two places of the last quantum. */
            if (quad < 2)
                return YB_EPARSE;
            pad++;
            acc <<= 6;
            quad++;
        } else {
            int v = yb_base64_value(c);
            if (v < 0 || pad > 0)
                return YB_EPARSE;
            acc = (acc << 6) | (uint32_t)v;
            quad++;
        }
        if (quad == 4) {
            size_t bytes = 3 - pad;
            if (n + bytes > outcap)
                return YB_ERANGE;
            /* The bits a padded quantum does not use must be zero (canonical form). */
            if ((pad == 1 && (acc & 0xFF) != 0) || (pad == 2 && (acc & 0xFFFF) != 0))
                return YB_EPARSE;
            o[n++] = (unsigned char)(acc >> 16);
            if (bytes > 1)
                o[n++] = (unsigned char)(acc >> 8);
            if (bytes > 2)
                o[n++] = (unsigned char)acc;
            quad = 0;
            acc = 0;
            if (pad > 0) {
                /* Nothing but skipped spaces may follow padding. */
                for (size_t k = i + 1; k < len; k++) {
                    unsigned char t = (unsigned char)text[k];
                    if (!((flags & YB_B64_SKIP_SPACE) &&
                          (t == ' ' || t == '\t' || t == '\r' || t == '\n')))
                        return YB_EPARSE;
                }
                break;
            }
        }
    }
    if (quad != 0)
        return YB_EPARSE;
    *outlen_r = n;
    return 0;
}
