/*
 * yb_sasl.h - server side of the SASL mechanisms SMTP, POP3 and IMAP share:
 * PLAIN (RFC 4616), LOGIN, SCRAM-SHA-256 (RFC 5802, RFC 7677).
 *
 * A pure state machine: the protocol decodes the client's base64 response,
 * calls yb_sasl_step, and encodes the challenge it gets back. Accounts are
 * reached through a lookup callback; the machine never sees where they live.
 * An unknown user is indistinguishable from a wrong password: SCRAM answers
 * with a salt derived from the name and a server secret, and fails at the
 * end like a wrong proof would.
 */
#ifndef YB_SASL_H
#define YB_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include "yb_base64.h"
#include "yb_buf.h"
#include "yb_passwd.h"
#include "yb_slice.h"

enum yb_sasl_mech { YB_SASL_PLAIN, YB_SASL_LOGIN, YB_SASL_SCRAM_SHA_256 };

/* Longest user name (authcid or authzid) accepted, in bytes. */
#define YB_LIMIT_SASL_USER 320
/* Longest single client response, decoded (RFC 4954 allows 12,288 octets encoded). */
#define YB_LIMIT_SASL_RESPONSE 9216
/* Longest challenge the server produces, decoded. */
#define YB_SASL_CHALLENGE_MAX 512

/* "PLAIN", "LOGIN", "SCRAM-SHA-256": case-insensitive. YB_ENOTSUP otherwise. */
int yb_sasl_mech_parse(struct yb_slice name, enum yb_sasl_mech *mech_r);
const char *yb_sasl_mech_name(enum yb_sasl_mech mech);

struct yb_sasl_lookup {
    /*
     * Stored form of user's password, copied into buf (YB_PASSWD_STORED_MAX).
     * Returns 0, YB_ENOTFOUND for an unknown user, or another error.
     */
    int (*stored)(void *arg, const char *user, char *buf, size_t size);
    void *arg;
    /* 32 secret bytes for the fake salts of unknown users (stable while the server runs). */
    const unsigned char *secret;
};

/*
 * 32 random bytes made once per process, for yb_sasl_lookup.secret: every
 * protocol gives an unknown user the same fake SCRAM salt.
 */
const unsigned char *yb_sasl_process_secret(void);

enum yb_sasl_status {
    YB_SASL_CONTINUE = 1, /* send the challenge in *out and call step with the answer */
    YB_SASL_DONE = 2      /* authenticated (a final challenge may be in *out for SCRAM) */
};

struct yb_sasl;

int yb_sasl_start(enum yb_sasl_mech mech, const struct yb_sasl_lookup *lookup,
                  struct yb_sasl **sasl_r);
void yb_sasl_free(struct yb_sasl **sasl);

/*
 * Advances the exchange. have_input false means the client sent no initial
 * response (the protocol then sends an empty challenge for PLAIN, which the
 * machine produces). Returns YB_SASL_CONTINUE or YB_SASL_DONE, YB_EACCES
 * for wrong credentials or an unknown user, YB_EPARSE for a malformed
 * response, YB_ELIMIT for an over-long one. out receives the (decoded)
 * challenge; it is reset first.
 */
int yb_sasl_step(struct yb_sasl *s, const void *in, size_t len, bool have_input,
                 struct yb_buf *out);

/* Room for a challenge as base64 text, with its NUL. */
#define YB_SASL_CHALLENGE_TEXT_MAX (YB_BASE64_ENCODED_LEN(YB_SASL_CHALLENGE_MAX) + 1)

/*
 * One step as SMTP (RFC 4954), POP3 (RFC 5034) and IMAP frame it: text is
 * the client's base64 response ("=" or nothing is an empty response),
 * have_input false for AUTH without an initial response. On
 * YB_SASL_CONTINUE, challenge gets the server's challenge as base64 text
 * (NUL-terminated; "" for an empty one). Returns as yb_sasl_step, and
 * YB_EPARSE when text is not strict base64.
 */
int yb_sasl_step_text(struct yb_sasl *s, struct yb_slice text, bool have_input,
                      char challenge[YB_SASL_CHALLENGE_TEXT_MAX]);

/* After YB_SASL_DONE: the authenticated user and the authorization identity ("" if none). */
const char *yb_sasl_user(const struct yb_sasl *s);
const char *yb_sasl_authzid(const struct yb_sasl *s);

#endif
