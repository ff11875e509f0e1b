/*
 * yb_tls_int.h - what the OpenSSL backend files share (yb_tls_openssl.c,
 * yb_tls_cert.c). Not for code outside the TLS layer.
 */
#ifndef YB_TLS_INT_H
#define YB_TLS_INT_H

#include <stddef.h>

/*
 * Formats "what: OpenSSL's first queued error" into buf (nothing if buf is
 * NULL) and empties OpenSSL's error queue.
 */
void yb__tls_openssl_error(char *buf, size_t size, const char *what);

#endif
