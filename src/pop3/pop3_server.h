/*
 * pop3_server.h - the POP3 protocol handlers the engine runs (RFC 1939 with
 * CAPA (RFC 2449), STLS (RFC 2595), AUTH (RFC 5034) and the response codes
 * of RFC 2449 and RFC 3206), over the Maildirs SMTP delivers into.
 *   POP3 (port 110):   STLS offered; USER/PASS and AUTH only after TLS
 *                      unless Pop3AllowPlaintextAuth is set.
 *   POP3S (port 995):  implicit TLS.
 * The engine's app pointer must be the yb_confstore.
 */
#ifndef YB_POP3_SERVER_H
#define YB_POP3_SERVER_H

#include "yb_session.h"

extern const struct yb_proto yb_pop3_proto;
extern const struct yb_proto yb_pop3s_proto;

#endif
