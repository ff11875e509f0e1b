/*
 * pal_charset.h - charset conversion.
 *
 * iconv on POSIX (the C library's or GNU libiconv). On Windows, libiconv when
 * the build found it, otherwise a converter over the Win32 code-page API
 * (MultiByteToWideChar/WideCharToMultiByte) covering UTF-8, UTF-16LE/BE,
 * UTF-7, US-ASCII, ISO-8859-x, Windows-125x, KOI8-R/U, Shift_JIS, EUC-JP,
 * ISO-2022-JP, GB2312/GBK, Big5, EUC-KR where the system has the code page.
 *
 * Conversion is one-shot over a complete input: mail callers convert bounded
 * pieces (an RFC 2047 word, a mailbox name, a decoded body part up to a named
 * limit), and a one-shot contract is one every backend can honour exactly,
 * including stateful charsets such as ISO-2022-JP. Charset names are matched
 * case-insensitively, with the common aliases ("latin1", "utf8", "sjis").
 */
#ifndef YB_PAL_CHARSET_H
#define YB_PAL_CHARSET_H

#include <stddef.h>
#include <stdbool.h>

/* Name of the backend ("iconv", "libiconv", "win32-codepage"). */
const char *pal_charset_backend(void);

/* True when conversion from charset to UTF-8 and back is available. */
bool pal_charset_supported(const char *charset);

/*
 * Converts in[0..inlen) from charset `from` to charset `to` into out (outcap
 * bytes) and sets *outlen_r. No NUL is added. Returns YB_ENOTSUP for an
 * unknown charset, YB_EILSEQ for bytes invalid in `from` (or a character
 * `to` cannot represent), YB_EPARSE for input that ends inside a character,
 * YB_ERANGE when out is too small (*outlen_r is then unspecified).
 */
int pal_charset_convert(const char *to, const char *from, const void *in, size_t inlen, void *out,
                        size_t outcap, size_t *outlen_r);

#endif
