/*
 * pal_charset.c - charset conversion over iconv (the C library's or GNU
 * libiconv; CMake's FindIconv decides).
 */
#include "pal_charset.h"
#include "pal_err.h"
#include "pal_posix.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

struct alias {
    const char *name, *iconv_name;
};

/* Names mail carries that some iconv builds spell differently. */
static const struct alias aliases[] = {
    { "utf8", "UTF-8" },      { "latin1", "ISO-8859-1" }, { "latin-1", "ISO-8859-1" },
    { "sjis", "SHIFT_JIS" },  { "x-sjis", "SHIFT_JIS" },  { "shift-jis", "SHIFT_JIS" },
    { "ascii", "US-ASCII" },  { "x-euc-jp", "EUC-JP" },   { "ks_c_5601-1987", "CP949" },
    { "utf-16", "UTF-16BE" }, /* RFC 2781: big endian without a BOM; iconv's UTF-16 decodes a BOM */
};

static const char *canonical(const char *name, int for_decode)
{
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (strcasecmp(name, aliases[i].name) == 0) {
            if (for_decode && strcasecmp(name, "utf-16") == 0)
                return "UTF-16";
            return aliases[i].iconv_name;
        }
    }
    return name;
}

const char *pal_charset_backend(void)
{
    return "iconv";
}

bool pal_charset_supported(const char *charset)
{
    if (charset[0] == '\0')
        return false; /* iconv would take "" as the locale's charset */
    iconv_t a = iconv_open("UTF-8", canonical(charset, 1));
    if (a == (iconv_t)-1)
        return false;
    iconv_close(a);
    iconv_t b = iconv_open(canonical(charset, 0), "UTF-8");
    if (b == (iconv_t)-1)
        return false;
    iconv_close(b);
    return true;
}

int pal_charset_convert(const char *to, const char *from, const void *in, size_t inlen, void *out,
                        size_t outcap, size_t *outlen_r)
{
    *outlen_r = 0;
    if (to[0] == '\0' || from[0] == '\0')
        return YB_ENOTSUP; /* iconv would take "" as the locale's charset */
    iconv_t cd = iconv_open(canonical(to, 0), canonical(from, 1));
    if (cd == (iconv_t)-1)
        return errno == EINVAL ? YB_ENOTSUP : pal__err_from_errno(errno);
    char *ip = (char *)(uintptr_t)in; /* iconv's prototype is not const-correct */
    char *op = out;
    size_t il = inlen, ol = outcap;
    int rc = 0;
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
        rc = errno == EILSEQ   ? YB_EILSEQ
             : errno == EINVAL ? YB_EPARSE
             : errno == E2BIG  ? YB_ERANGE
                               : pal__err_from_errno(errno);
    } else if (iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) {
        /* Flush the shift state (ISO-2022-JP returns to ASCII). */
        rc = errno == E2BIG ? YB_ERANGE : YB_EILSEQ;
    }
    iconv_close(cd);
    if (rc == 0)
        *outlen_r = outcap - ol;
    return rc;
}
