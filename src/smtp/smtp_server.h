/*
 * smtp_server.h - the SMTP protocol handlers the engine runs (RFC 5321 with
 * ESMTP extensions). Three flavours share one implementation:
 *   MX (port 25):          STARTTLS offered; AUTH only after TLS; relaying
 *                          only for smtprelay.tab networks or after AUTH.
 *   submission (587):      STARTTLS, then AUTH required before MAIL.
 *   submission TLS (465):  implicit TLS, AUTH required before MAIL.
 * The engine's app pointer must be the yb_confstore.
 */
#ifndef YB_SMTP_SERVER_H
#define YB_SMTP_SERVER_H

#include "yb_session.h"

extern const struct yb_proto yb_smtp_proto_mx;
extern const struct yb_proto yb_smtp_proto_submission;
extern const struct yb_proto yb_smtp_proto_smtps;

#endif
