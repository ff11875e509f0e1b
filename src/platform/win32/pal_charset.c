/*
 * win32/pal_charset.c - charset conversion on Windows.
 *
 * Built with YB_HAVE_LIBICONV (the build found GNU libiconv): iconv, as on
 * POSIX. Otherwise (the default) a converter over the Win32 code-page API:
 * input -> UTF-16 -> output, one shot over the whole input.
 *
 * The Unicode encodings, US-ASCII and ISO-8859-1 are converted here
 * directly rather than through code pages: their rules are short, and doing
 * them by hand gives exact error reporting (invalid vs truncated input,
 * surrogates, overlong UTF-8) which MultiByteToWideChar cannot tell apart,
 * and avoids Windows' habit of mapping bytes >= 0x80 of code page 20127 to
 * ASCII by stripping the high bit.
 *
 * Code pages: decoding uses MB_ERR_INVALID_CHARS where the code page allows
 * it; encoding asks WideCharToMultiByte for WC_NO_BEST_FIT_CHARS and
 * lpUsedDefaultChar, so a character the target cannot represent is
 * YB_EILSEQ instead of a silent '?' or a look-alike. The code pages that
 * refuse those flags (UTF-7, the 5022x family, ISCII 5700x,
 * Symbol, GB18030) are checked by converting the result back and comparing;
 * on decode, their only failure signal is U+FFFD in the output, which is
 * taken as invalid input (a UTF-7 text that really encodes U+FFFD is
 * therefore refused - an accepted loss).
 */
#include "pal_charset.h"
#include "pal_win32.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef YB_HAVE_LIBICONV

#include <errno.h>
#include <iconv.h>

const char *pal_charset_backend(void)
{
    return "libiconv";
}

bool pal_charset_supported(const char *charset)
{
    iconv_t a, b;

    if (charset == NULL)
        return false;
    a = iconv_open("UTF-8", charset);
    if (a == (iconv_t)-1)
        return false;
    iconv_close(a);
    b = iconv_open(charset, "UTF-8");
    if (b == (iconv_t)-1)
        return false;
    iconv_close(b);
    return true;
}

int pal_charset_convert(const char *to, const char *from, const void *in, size_t inlen, void *out,
                        size_t outcap, size_t *outlen_r)
{
    iconv_t cd;
    char *ip = (char *)(uintptr_t)in, *op = out;
    size_t il = inlen, ol = outcap;
    int err = 0;

    if (to == NULL || from == NULL || outlen_r == NULL || (in == NULL && inlen > 0) ||
        (out == NULL && outcap > 0))
        return YB_EINVAL;
    *outlen_r = 0;
    cd = iconv_open(to, from);
    if (cd == (iconv_t)-1)
        return errno == EINVAL ? YB_ENOTSUP : YB_ENOMEM;
    /*
     * errno here is libiconv's own report, not an OS error: EILSEQ invalid
     * or unrepresentable, EINVAL input ends inside a character, E2BIG full.
     */
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
        iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) {
        switch (errno) {
        case EILSEQ: err = YB_EILSEQ; break;
        case EINVAL: err = YB_EPARSE; break;
        case E2BIG: err = YB_ERANGE; break;
        default: err = YB_EIO; break;
        }
    }
    iconv_close(cd);
    if (err == 0)
        *outlen_r = outcap - ol;
    return err;
}

#else /* the Win32 code-page converter */

enum cs_kind {
    CS_UTF8,
    CS_UTF16LE,
    CS_UTF16BE,
    CS_UTF16,
    CS_ASCII,
    CS_LATIN1,
    CS_ISO2022JP,
    CS_CP
};

struct charset {
    enum cs_kind kind;
    UINT cp; /* CS_CP only */
};

struct alias {
    const char *name; /* normalised: lower case letters and digits only */
    enum cs_kind kind;
    UINT cp;
    UINT alt; /* used when cp is not installed (0: none) */
};

static const struct alias aliases[] = {
    { "utf8", CS_UTF8, 0, 0 },
    { "utf16", CS_UTF16, 0, 0 },
    { "utf16le", CS_UTF16LE, 0, 0 },
    { "utf16be", CS_UTF16BE, 0, 0 },
    { "utf7", CS_CP, 65000, 0 },
    { "unicode11utf7", CS_CP, 65000, 0 },
    { "usascii", CS_ASCII, 0, 0 },
    { "ascii", CS_ASCII, 0, 0 },
    { "us", CS_ASCII, 0, 0 },
    { "iso646us", CS_ASCII, 0, 0 },
    { "ansix341968", CS_ASCII, 0, 0 },
    { "cp367", CS_ASCII, 0, 0 },
    { "latin1", CS_LATIN1, 0, 0 },
    { "l1", CS_LATIN1, 0, 0 },
    { "iso88591", CS_LATIN1, 0, 0 },
    { "iso885911987", CS_LATIN1, 0, 0 },
    { "isoir100", CS_LATIN1, 0, 0 },
    { "cp819", CS_LATIN1, 0, 0 },
    { "latin2", CS_CP, 28592, 0 },
    { "latin3", CS_CP, 28593, 0 },
    { "latin4", CS_CP, 28594, 0 },
    { "latin5", CS_CP, 28599, 0 },
    { "latin7", CS_CP, 28603, 0 },
    { "latin9", CS_CP, 28605, 0 },
    { "koi8r", CS_CP, 20866, 0 },
    { "koi8u", CS_CP, 21866, 0 },
    { "shiftjis", CS_CP, 932, 0 },
    { "sjis", CS_CP, 932, 0 },
    { "mskanji", CS_CP, 932, 0 },
    { "windows31j", CS_CP, 932, 0 },
    { "xsjis", CS_CP, 932, 0 },
    { "csshiftjis", CS_CP, 932, 0 },
    { "eucjp", CS_CP, 20932, 0 },
    { "xeucjp", CS_CP, 20932, 0 },
    /* Over Shift_JIS (932): see the ISO-2022-JP section. */
    { "iso2022jp", CS_ISO2022JP, 932, 0 },
    { "csiso2022jp", CS_ISO2022JP, 932, 0 },
    { "gb2312", CS_CP, 936, 0 },
    { "gbk", CS_CP, 936, 0 },
    { "euccn", CS_CP, 936, 0 },
    { "xgbk", CS_CP, 936, 0 },
    { "csgb2312", CS_CP, 936, 0 },
    { "gb18030", CS_CP, 54936, 0 },
    { "big5", CS_CP, 950, 0 },
    { "csbig5", CS_CP, 950, 0 },
    { "xxbig5", CS_CP, 950, 0 },
    /* EUC-KR is a subset of UHC (949): decoding it with 949 is exact. */
    { "euckr", CS_CP, 51949, 949 },
    { "cseuckr", CS_CP, 51949, 949 },
    { "ksc56011987", CS_CP, 949, 0 },
    { "uhc", CS_CP, 949, 0 },
    { "tis620", CS_CP, 874, 0 },
    { "macintosh", CS_CP, 10000, 0 },
};

/* Lower-cases and keeps only letters and digits: "ISO_8859-1" -> "iso88591". */
static bool normalise(const char *name, char *buf, size_t size)
{
    size_t n = 0;

    for (; *name != '\0'; name++) {
        char c = *name;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (n + 1 >= size)
                return false;
            buf[n++] = c;
        }
    }
    buf[n] = '\0';
    return n > 0;
}

/* Parses "<prefix><digits>" and returns the number, or 0. */
static unsigned long numbered(const char *s, const char *prefix)
{
    size_t pl = strlen(prefix);
    unsigned long v = 0;

    if (strncmp(s, prefix, pl) != 0 || s[pl] == '\0')
        return 0;
    for (s += pl; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > 65535)
            return 0;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    return v <= 65535 ? v : 0;
}

/* Resolves a name to a converter; false when unknown or not installed. */
static bool resolve(const char *name, struct charset *cs)
{
    char n[48];
    unsigned long v;
    size_t i;

    if (name == NULL || !normalise(name, n, sizeof(n)))
        return false;
    cs->cp = 0;
    for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (strcmp(n, aliases[i].name) != 0)
            continue;
        cs->kind = aliases[i].kind;
        if (cs->kind != CS_CP && cs->kind != CS_ISO2022JP)
            return true;
        if (IsValidCodePage(aliases[i].cp)) {
            cs->cp = aliases[i].cp;
            return true;
        }
        if (aliases[i].alt != 0 && IsValidCodePage(aliases[i].alt)) {
            cs->cp = aliases[i].alt;
            return true;
        }
        return false;
    }
    cs->kind = CS_CP;
    if ((v = numbered(n, "iso8859")) != 0) {
        /* ISO-8859-n is code page 28590+n on Windows (8859-12 never existed). */
        if (v == 1) {
            cs->kind = CS_LATIN1;
            return true;
        }
        if (v > 16 || v == 12)
            return false;
        v += 28590;
    } else if ((v = numbered(n, "windows")) == 0 && (v = numbered(n, "cp")) == 0 &&
               (v = numbered(n, "ibm")) == 0) {
        return false;
    }
    /* Never the pseudo code pages (CP_ACP, CP_OEMCP...): they differ per machine. */
    if (v < 37 || v == CP_UTF8 || !IsValidCodePage((UINT)v))
        return false;
    cs->cp = (UINT)v;
    return true;
}

/* Code pages for which both conversion functions refuse every flag. */
static bool cp_flagless(UINT cp)
{
    return cp == 42 || (cp >= 50220 && cp <= 50229) || (cp >= 57002 && cp <= 57011) ||
           cp == 65000 || cp == 54936;
}

/* ---- decoders: bytes -> UTF-16 (w has room for inlen units) ---- */

static int dec_utf8(const unsigned char *s, size_t n, wchar_t *w, size_t *wn_r)
{
    size_t i = 0, k = 0;

    while (i < n) {
        unsigned c = s[i], need, j;
        uint32_t cp;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */

        if (c < 0x80) {
            w[k++] = (wchar_t)c;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            if (c == 0xF4)
                hi = 0x8F; /* beyond U+10FFFF */
        } else {
            return YB_EILSEQ;
        }
        for (j = 1; j <= need; j++) {
            unsigned b;
            if (i + j >= n)
                return YB_EPARSE; /* a valid start, cut short by the end */
            b = s[i + j];
            if (j == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
                return YB_EILSEQ;
            cp = (cp << 6) | (b & 0x3F);
        }
        i += need + 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            w[k++] = (wchar_t)(0xD800 + (cp >> 10));
            w[k++] = (wchar_t)(0xDC00 + (cp & 0x3FF));
        } else {
            w[k++] = (wchar_t)cp;
        }
    }
    *wn_r = k;
    return 0;
}

static int dec_utf16(const unsigned char *s, size_t n, bool big, wchar_t *w, size_t *wn_r)
{
    size_t i, k = 0;

    for (i = 0; i + 1 < n; i += 2) {
        unsigned u = big ? (unsigned)(s[i] << 8 | s[i + 1]) : (unsigned)(s[i + 1] << 8 | s[i]);
        if (u >= 0xD800 && u <= 0xDBFF) {
            unsigned u2;
            if (i + 3 >= n)
                return YB_EPARSE; /* a high surrogate at the very end */
            u2 = big ? (unsigned)(s[i + 2] << 8 | s[i + 3]) : (unsigned)(s[i + 3] << 8 | s[i + 2]);
            if (u2 < 0xDC00 || u2 > 0xDFFF)
                return YB_EILSEQ;
            w[k++] = (wchar_t)u;
            w[k++] = (wchar_t)u2;
            i += 2;
            continue;
        }
        if (u >= 0xDC00 && u <= 0xDFFF)
            return YB_EILSEQ;
        w[k++] = (wchar_t)u;
    }
    if (n % 2 != 0)
        return YB_EPARSE;
    *wn_r = k;
    return 0;
}

static int dec_single(const unsigned char *s, size_t n, unsigned max, wchar_t *w, size_t *wn_r)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] > max)
            return YB_EILSEQ;
        w[i] = (wchar_t)s[i];
    }
    *wn_r = n;
    return 0;
}

/* Is the failure of a DBCS/GB18030 decode only a character cut at the end? */
static bool cp_truncated(UINT cp, DWORD flags, const unsigned char *s, int n)
{
    int k, maxk = cp == 54936 ? 3 : 1;

    for (k = 1; k <= maxk && k <= n; k++) {
        const unsigned char *t = s + n - k;
        if (!IsDBCSLeadByteEx(cp, t[0]))
            continue;
        /* GB18030 four-byte form: lead, digit, lead, digit. */
        if (k >= 2 && (t[1] < 0x30 || t[1] > 0x39))
            continue;
        if (k == 3 && (t[2] < 0x81 || t[2] > 0xFE))
            continue;
        if (n == k || MultiByteToWideChar(cp, flags, (LPCCH)s, n - k, NULL, 0) > 0)
            return true;
    }
    return false;
}

static int dec_cp(UINT cp, const unsigned char *s, size_t n, wchar_t **w_r, size_t *wn_r)
{
    DWORD flags = cp_flagless(cp) ? 0 : MB_ERR_INVALID_CHARS;
    int wn, i;
    wchar_t *w;

    *w_r = NULL;
    if (n > INT_MAX)
        return YB_EINVAL;
    wn = MultiByteToWideChar(cp, flags, (LPCCH)s, (int)n, NULL, 0);
    if (wn <= 0) {
        if (GetLastError() != ERROR_NO_UNICODE_TRANSLATION)
            return pal__err_last_win32();
        return cp_truncated(cp, flags, s, (int)n) ? YB_EPARSE : YB_EILSEQ;
    }
    w = malloc((size_t)wn * sizeof(*w));
    if (w == NULL)
        return YB_ENOMEM;
    wn = MultiByteToWideChar(cp, flags, (LPCCH)s, (int)n, w, wn);
    if (wn <= 0) {
        free(w);
        return pal__err_last_win32();
    }
    if (flags == 0) {
        for (i = 0; i < wn; i++) {
            if (w[i] == 0xFFFD) {
                free(w);
                return YB_EILSEQ;
            }
        }
    }
    *w_r = w;
    *wn_r = (size_t)wn;
    return 0;
}

/* ---- encoders: UTF-16 -> bytes ---- */

static int enc_utf8(const wchar_t *w, size_t wn, unsigned char *o, size_t cap, size_t *on_r)
{
    size_t i, k = 0;

    for (i = 0; i < wn; i++) {
        uint32_t c = w[i];
        if (c >= 0xD800 && c <= 0xDFFF) {
            /* Only a code page (UTF-7...) can hand us a lone surrogate. */
            if (c > 0xDBFF || i + 1 >= wn || w[i + 1] < 0xDC00 || w[i + 1] > 0xDFFF)
                return YB_EILSEQ;
            c = 0x10000 + ((c - 0xD800) << 10) + ((uint32_t)w[i + 1] - 0xDC00);
            i++;
        }
        if (c < 0x80) {
            if (k + 1 > cap)
                return YB_ERANGE;
            o[k++] = (unsigned char)c;
        } else if (c < 0x800) {
            if (k + 2 > cap)
                return YB_ERANGE;
            o[k++] = (unsigned char)(0xC0 | (c >> 6));
            o[k++] = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            if (k + 3 > cap)
                return YB_ERANGE;
            o[k++] = (unsigned char)(0xE0 | (c >> 12));
            o[k++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            o[k++] = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            if (k + 4 > cap)
                return YB_ERANGE;
            o[k++] = (unsigned char)(0xF0 | (c >> 18));
            o[k++] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            o[k++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            o[k++] = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    *on_r = k;
    return 0;
}

static int enc_utf16(const wchar_t *w, size_t wn, bool big, bool bom, unsigned char *o, size_t cap,
                     size_t *on_r)
{
    size_t i, k = 0;

    if (bom && wn > 0) {
        if (cap < 2)
            return YB_ERANGE;
        o[k++] = 0xFE;
        o[k++] = 0xFF;
    }
    for (i = 0; i < wn; i++) {
        unsigned u = (unsigned)w[i];
        if (k + 2 > cap)
            return YB_ERANGE;
        o[k++] = (unsigned char)(big ? u >> 8 : u & 0xFF);
        o[k++] = (unsigned char)(big ? u & 0xFF : u >> 8);
    }
    *on_r = k;
    return 0;
}

static int enc_single(const wchar_t *w, size_t wn, unsigned max, unsigned char *o, size_t cap,
                      size_t *on_r)
{
    size_t i;

    for (i = 0; i < wn; i++) {
        if ((unsigned)w[i] > max)
            return YB_EILSEQ;
        if (i >= cap)
            return YB_ERANGE;
        o[i] = (unsigned char)w[i];
    }
    *on_r = wn;
    return 0;
}

/* Converting the bytes back must give exactly the UTF-16 we started from. */
static int cp_round_trip(UINT cp, const wchar_t *w, int wn, const char *bytes, int bn)
{
    wchar_t *back;
    int n;
    int err = 0;

    n = MultiByteToWideChar(cp, 0, bytes, bn, NULL, 0);
    if (n != wn)
        return YB_EILSEQ;
    back = malloc((size_t)n * sizeof(*back));
    if (back == NULL)
        return YB_ENOMEM;
    if (MultiByteToWideChar(cp, 0, bytes, bn, back, n) != n ||
        memcmp(back, w, (size_t)n * sizeof(*back)) != 0)
        err = YB_EILSEQ;
    free(back);
    return err;
}

static int enc_cp(UINT cp, const wchar_t *w, size_t wn, unsigned char *o, size_t cap, size_t *on_r)
{
    bool flagless = cp_flagless(cp);
    DWORD flags = flagless ? 0 : WC_NO_BEST_FIT_CHARS;
    BOOL used = FALSE;
    LPBOOL usedp = flagless ? NULL : &used;
    int need, got;
    char *tmp = NULL;
    int err;

    if (wn > INT_MAX)
        return YB_EINVAL;
    if (wn == 0) {
        *on_r = 0;
        return 0;
    }
    need = WideCharToMultiByte(cp, flags, w, (int)wn, NULL, 0, NULL, usedp);
    if (need <= 0)
        return pal__err_last_win32();
    if (used)
        return YB_EILSEQ;
    if ((size_t)need > cap)
        return YB_ERANGE;
    /* The round-trip check needs the bytes even when out is too small: convert to tmp. */
    tmp = malloc((size_t)need);
    if (tmp == NULL)
        return YB_ENOMEM;
    got = WideCharToMultiByte(cp, flags, w, (int)wn, tmp, need, NULL, usedp);
    if (got <= 0) {
        err = pal__err_last_win32();
        goto done;
    }
    if (used) {
        err = YB_EILSEQ;
        goto done;
    }
    err = flagless ? cp_round_trip(cp, w, (int)wn, tmp, got) : 0;
    if (err == 0) {
        memcpy(o, tmp, (size_t)got);
        *on_r = (size_t)got;
    }
done:
    free(tmp);
    return err;
}

/*
 * ---- ISO-2022-JP (RFC 1468) ----
 *
 * Done here over code page 932 rather than with code page 50220: JIS X 0208
 * and Shift_JIS are the same table under an arithmetic change of
 * coordinates, 50220 is missing from some systems (wine), and doing the
 * escape sequences ourselves makes errors exact: a character outside JIS X
 * 0208 (cp932's IBM extensions, half-width katakana) is YB_EILSEQ instead of
 * being folded to a look-alike. Decoding also accepts JIS X 0201 Roman
 * (ESC ( J) and half-width katakana (ESC ( I), which real mail contains.
 */
enum jis_mode { JIS_ASCII, JIS_ROMAN, JIS_KANA, JIS_KANJI };

static int dec_iso2022jp(const unsigned char *s, size_t n, wchar_t *w, size_t *wn_r)
{
    enum jis_mode mode = JIS_ASCII;
    size_t i = 0, k = 0;

    while (i < n) {
        unsigned c = s[i];
        if (c == 0x1B) {
            if (n - i < 3)
                return YB_EPARSE;
            if (s[i + 1] == '$' && (s[i + 2] == 'B' || s[i + 2] == '@'))
                mode = JIS_KANJI;
            else if (s[i + 1] == '(' && s[i + 2] == 'B')
                mode = JIS_ASCII;
            else if (s[i + 1] == '(' && s[i + 2] == 'J')
                mode = JIS_ROMAN;
            else if (s[i + 1] == '(' && s[i + 2] == 'I')
                mode = JIS_KANA;
            else
                return YB_EILSEQ;
            i += 3;
            continue;
        }
        if (c >= 0x80)
            return YB_EILSEQ;
        if (mode == JIS_KANJI && c >= 0x21 && c <= 0x7E) {
            unsigned j1 = c, j2;
            unsigned char sj[2];
            if (i + 1 >= n)
                return YB_EPARSE;
            j2 = s[i + 1];
            if (j2 < 0x21 || j2 > 0x7E)
                return YB_EILSEQ;
            sj[0] = (unsigned char)(((j1 + 1) >> 1) + (j1 <= 0x5E ? 0x70 : 0xB0));
            sj[1] = (unsigned char)(j2 + ((j1 & 1) ? (j2 >= 0x60 ? 0x20 : 0x1F) : 0x7E));
            if (MultiByteToWideChar(932, MB_ERR_INVALID_CHARS, (LPCCH)sj, 2, &w[k], 1) != 1)
                return YB_EILSEQ;
            k++;
            i += 2;
            continue;
        }
        if (mode == JIS_KANA && c >= 0x21 && c <= 0x5F)
            w[k++] = (wchar_t)(0xFF61 + (c - 0x21));
        else if (mode == JIS_ROMAN && c == 0x5C)
            w[k++] = 0x00A5; /* YEN SIGN */
        else if (mode == JIS_ROMAN && c == 0x7E)
            w[k++] = 0x203E; /* OVERLINE */
        else if (mode == JIS_KANJI || mode == JIS_KANA)
            return YB_EILSEQ; /* only controls and space are not in those sets */
        else
            w[k++] = (wchar_t)c;
        i++;
    }
    *wn_r = k;
    return 0;
}

static int jis_put(unsigned char *o, size_t cap, size_t *k, const char *bytes, size_t n)
{
    if (*k + n > cap)
        return YB_ERANGE;
    memcpy(o + *k, bytes, n);
    *k += n;
    return 0;
}

static int enc_iso2022jp(const wchar_t *w, size_t wn, unsigned char *o, size_t cap, size_t *on_r)
{
    bool kanji = false;
    size_t i, k = 0;
    int err = 0;

    for (i = 0; i < wn && err == 0; i++) {
        unsigned char sj[2];
        char jis[2];
        BOOL used = FALSE;
        unsigned s1, s2;

        if (w[i] < 0x80) {
            char c = (char)w[i];
            if (kanji && (err = jis_put(o, cap, &k, "\x1B(B", 3)) < 0)
                break;
            kanji = false;
            err = jis_put(o, cap, &k, &c, 1);
            continue;
        }
        if (w[i] >= 0xD800 && w[i] <= 0xDFFF)
            return YB_EILSEQ;
        if (WideCharToMultiByte(932, WC_NO_BEST_FIT_CHARS, &w[i], 1, (LPSTR)sj, 2, NULL, &used) !=
                2 ||
            used)
            return YB_EILSEQ; /* not in cp932, or a one-byte (half-width) form */
        s1 = sj[0];
        s2 = sj[1];
        s1 -= s1 >= 0xE0 ? 0xB0 : 0x70;
        jis[0] = (char)(s1 * 2 - (s2 < 0x9F ? 1 : 0));
        jis[1] = (char)(s2 < 0x9F ? s2 - (s2 >= 0x80 ? 0x20 : 0x1F) : s2 - 0x7E);
        if ((unsigned char)jis[0] < 0x21 || (unsigned char)jis[0] > 0x7E ||
            (unsigned char)jis[1] < 0x21 || (unsigned char)jis[1] > 0x7E)
            return YB_EILSEQ; /* cp932 extension rows outside JIS X 0208 */
        if (!kanji && (err = jis_put(o, cap, &k, "\x1B$B", 3)) < 0)
            break;
        kanji = true;
        err = jis_put(o, cap, &k, jis, 2);
    }
    /* RFC 1468: the text ends in ASCII. */
    if (err == 0 && kanji)
        err = jis_put(o, cap, &k, "\x1B(B", 3);
    if (err == 0)
        *on_r = k;
    return err;
}

/* ---- the API ---- */

const char *pal_charset_backend(void)
{
    return "win32-codepage";
}

bool pal_charset_supported(const char *charset)
{
    struct charset cs;
    return resolve(charset, &cs);
}

int pal_charset_convert(const char *to, const char *from, const void *in, size_t inlen, void *out,
                        size_t outcap, size_t *outlen_r)
{
    struct charset cf, ct;
    const unsigned char *s = in;
    wchar_t *w = NULL;
    size_t wn = 0;
    int err;

    if (to == NULL || from == NULL || outlen_r == NULL || (in == NULL && inlen > 0) ||
        (out == NULL && outcap > 0))
        return YB_EINVAL;
    *outlen_r = 0;
    if (!resolve(from, &cf) || !resolve(to, &ct))
        return YB_ENOTSUP;
    if (inlen == 0)
        return 0;
    if (inlen > INT_MAX)
        return YB_EINVAL;

    if (cf.kind == CS_CP) {
        err = dec_cp(cf.cp, s, inlen, &w, &wn);
        if (err < 0)
            return err;
    } else {
        /* No direct decoder yields more UTF-16 units than input bytes. */
        w = malloc(inlen * sizeof(*w));
        if (w == NULL)
            return YB_ENOMEM;
        switch (cf.kind) {
        case CS_UTF8: err = dec_utf8(s, inlen, w, &wn); break;
        case CS_UTF16LE: err = dec_utf16(s, inlen, false, w, &wn); break;
        case CS_UTF16BE: err = dec_utf16(s, inlen, true, w, &wn); break;
        case CS_UTF16:
            /* RFC 2781: a BOM says the order and is not text; without one, big-endian. */
            if (inlen >= 2 && s[0] == 0xFF && s[1] == 0xFE)
                err = dec_utf16(s + 2, inlen - 2, false, w, &wn);
            else if (inlen >= 2 && s[0] == 0xFE && s[1] == 0xFF)
                err = dec_utf16(s + 2, inlen - 2, true, w, &wn);
            else
                err = dec_utf16(s, inlen, true, w, &wn);
            break;
        case CS_ASCII: err = dec_single(s, inlen, 0x7F, w, &wn); break;
        case CS_LATIN1: err = dec_single(s, inlen, 0xFF, w, &wn); break;
        case CS_ISO2022JP: err = dec_iso2022jp(s, inlen, w, &wn); break;
        default: err = YB_ENOTSUP; break;
        }
        if (err < 0)
            goto done;
    }

    switch (ct.kind) {
    case CS_UTF8: err = enc_utf8(w, wn, out, outcap, outlen_r); break;
    case CS_UTF16LE: err = enc_utf16(w, wn, false, false, out, outcap, outlen_r); break;
    case CS_UTF16BE: err = enc_utf16(w, wn, true, false, out, outcap, outlen_r); break;
    case CS_UTF16:
        /* Written with a BOM, big-endian, so any reader knows the order. */
        err = enc_utf16(w, wn, true, true, out, outcap, outlen_r);
        break;
    case CS_ASCII: err = enc_single(w, wn, 0x7F, out, outcap, outlen_r); break;
    case CS_LATIN1: err = enc_single(w, wn, 0xFF, out, outcap, outlen_r); break;
    case CS_ISO2022JP: err = enc_iso2022jp(w, wn, out, outcap, outlen_r); break;
    case CS_CP: err = enc_cp(ct.cp, w, wn, out, outcap, outlen_r); break;
    }
done:
    if (err < 0)
        *outlen_r = 0;
    free(w);
    return err;
}

#endif /* YB_HAVE_LIBICONV */
