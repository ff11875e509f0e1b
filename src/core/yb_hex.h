/*
 * yb_hex.h - one hexadecimal digit's value (quoted-printable, RFC 2047 Q,
 * RFC 2231 %XX, stored password hashes).
 */
#ifndef YB_HEX_H
#define YB_HEX_H

/* 0..15 for '0'-'9', 'a'-'f', 'A'-'F'; -1 for anything else. */
static inline int yb_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
