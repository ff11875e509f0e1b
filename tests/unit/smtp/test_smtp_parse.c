/*
 * test_smtp_parse.c - SMTP command lines, paths, ESMTP parameters, xtext,
 * HELO domains and sizes.
 *
 * The parsers take whole lines, so "one byte at a time" becomes: every case
 * is parsed from an exact-size heap copy (ASan sees any over-read), and every
 * prefix of every path case is parsed too; a prefix without the closing '>'
 * must never be accepted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal.h"
#include "yb_buf.h"
#include "smtp_parse.h"

/* An exact-size heap copy, so a read past the end is caught by ASan. */
static unsigned char *dup_exact(const void *p, size_t len)
{
    unsigned char *d = malloc(len ? len : 1);
    assert_non_null(d);
    if (len)
        memcpy(d, p, len);
    return d;
}

/* Renders bytes with anything outside printable ASCII as \xHH. */
static const char *esc(const void *p, size_t len, char *buf, size_t size)
{
    const unsigned char *s = p;
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < len && n + 5 < size; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e)
            n += (size_t)snprintf(buf + n, size - n, "\\x%02x", (unsigned)s[i]);
        else
            buf[n++] = (char)s[i];
    }
    buf[n < size ? n : size - 1] = '\0';
    return buf;
}

/* ---- commands ---- */

struct cmd_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    int rc;
    enum smtp_verb verb;
    const char *arg;
};

#define C_OK(n, in, v, arg) \
    {                       \
        n, in, 0, 0, v, arg \
    }
#define C_ERR(n, in, v)            \
    {                              \
        n, in, 0, YB_EPARSE, v, "" \
    }
#define C_ERRN(n, in, len)                      \
    {                                           \
        n, in, len, YB_EPARSE, SMTP_UNKNOWN, "" \
    }

static const struct cmd_case cmd_cases[] = {
    C_OK("HELO", "HELO example.com", SMTP_HELO, "example.com"),
    C_OK("helo lower", "helo x", SMTP_HELO, "x"),
    C_OK("HeLo mixed", "HeLo x", SMTP_HELO, "x"),
    C_OK("EHLO", "EHLO mail.example.org", SMTP_EHLO, "mail.example.org"),
    C_OK("HELO two spaces keeps one", "HELO  x", SMTP_HELO, " x"),
    C_OK("MAIL", "MAIL FROM:<a@b>", SMTP_MAIL, "<a@b>"),
    C_OK("mail lower", "mail from:<a@b>", SMTP_MAIL, "<a@b>"),
    C_OK("MAIL space after colon", "MAIL FROM: <a@b>", SMTP_MAIL, "<a@b>"),
    C_OK("MAIL spaces and params", "MAIL FROM:  <a@b> SIZE=1", SMTP_MAIL, "<a@b> SIZE=1"),
    C_OK("MAIL trailing spaces", "MAIL FROM:<a@b>   ", SMTP_MAIL, "<a@b>"),
    C_OK("MAIL null path", "MAIL FROM:<>", SMTP_MAIL, "<>"),
    C_OK("MAIL FROM: nothing", "MAIL FROM:", SMTP_MAIL, ""),
    C_ERR("MAIL TO:", "MAIL TO:<a@b>", SMTP_MAIL),
    C_ERR("MAIL without FROM:", "MAIL <a@b>", SMTP_MAIL),
    C_ERR("MAIL FROM space colon", "MAIL FROM :<a@b>", SMTP_MAIL),
    C_ERR("MAIL alone", "MAIL", SMTP_MAIL),
    C_ERR("MAIL FROM without colon", "MAIL FROM<a@b>", SMTP_MAIL),
    C_OK("RCPT", "RCPT TO:<a@b>", SMTP_RCPT, "<a@b>"),
    C_OK("rcpt lower, space", "rcpt to: <a@b>", SMTP_RCPT, "<a@b>"),
    C_ERR("RCPT FROM:", "RCPT FROM:<a@b>", SMTP_RCPT),
    C_OK("DATA", "DATA", SMTP_DATA, ""),
    C_OK("data", "data", SMTP_DATA, ""),
    C_OK("DATA trailing space", "DATA ", SMTP_DATA, ""),
    C_OK("DATA trailing TAB", "DATA\t", SMTP_DATA, ""),
    C_OK("BDAT", "BDAT 100 LAST", SMTP_BDAT, "100 LAST"),
    C_OK("RSET", "RSET", SMTP_RSET, ""),
    C_OK("NOOP", "NOOP", SMTP_NOOP, ""),
    C_OK("NOOP with arg", "noop hello there", SMTP_NOOP, "hello there"),
    C_OK("QUIT", "QUIT", SMTP_QUIT, ""),
    C_OK("VRFY", "VRFY alice", SMTP_VRFY, "alice"),
    C_OK("EXPN", "EXPN staff", SMTP_EXPN, "staff"),
    C_OK("HELP", "HELP", SMTP_HELP, ""),
    C_OK("HELP arg", "HELP MAIL", SMTP_HELP, "MAIL"),
    C_OK("STARTTLS", "STARTTLS", SMTP_STARTTLS, ""),
    C_OK("starttls", "starttls", SMTP_STARTTLS, ""),
    C_OK("AUTH", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", SMTP_AUTH, "PLAIN AGFsaWNlAHNlY3JldA=="),
    C_OK("ETRN", "ETRN example.com", SMTP_ETRN, "example.com"),
    C_ERR("empty", "", SMTP_UNKNOWN),
    C_ERR("spaces only", "   ", SMTP_UNKNOWN),
    C_ERR("leading space", " HELO x", SMTP_UNKNOWN),
    C_ERR("unknown verb", "FOO bar", SMTP_UNKNOWN),
    C_ERR("verb prefix", "HEL x", SMTP_UNKNOWN),
    C_ERR("verb too long", "HELOX x", SMTP_UNKNOWN),
    C_ERR("STARTTLSX", "STARTTLSX", SMTP_UNKNOWN),
    C_ERR("TAB after verb", "HELO\tx", SMTP_UNKNOWN),
    C_ERR("non-ASCII verb", "H\xc3\x89LO x", SMTP_UNKNOWN),
    C_ERR("invalid UTF-8 verb", "\xff", SMTP_UNKNOWN),
    C_ERRN("NUL in argument", "HELO a\0b", 8),
    C_ERRN("NUL alone", "\0", 1),
    C_ERRN("NUL after verb", "NOOP\0", 5),
    C_ERRN("NUL in trailing spaces", "QUIT \0 ", 7),
};

static void check_cmd(const struct cmd_case *c, const unsigned char *in, size_t len)
{
    struct smtp_cmd cmd;
    char b1[128], b2[128];
    int rc = smtp_parse_command(yb_slice_make(in, len), &cmd);
    size_t alen = strlen(c->arg);
    if (rc != c->rc || cmd.verb != c->verb || cmd.arg.len != alen ||
        (alen && memcmp(cmd.arg.p, c->arg, alen) != 0)) {
        print_error("command case '%s': rc %s verb %d arg [%s], expected rc %s verb %d arg [%s]\n",
                    c->name, yb_errname(rc), (int)cmd.verb, esc(cmd.arg.p, cmd.arg.len, b1, 128),
                    yb_errname(c->rc), (int)c->verb, esc(c->arg, alen, b2, 128));
        fail();
    }
}

static void test_command_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cmd_cases); i++) {
        const struct cmd_case *c = &cmd_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        unsigned char *d = dup_exact(c->in, len);
        check_cmd(c, d, len);
        free(d);
    }
}

static void test_command_long_arg(void **state)
{
    (void)state;
    struct smtp_cmd cmd;
    size_t n = 5 + 5000;
    unsigned char *line = malloc(n);
    assert_non_null(line);
    memcpy(line, "EHLO ", 5);
    memset(line + 5, 'x', n - 5);
    assert_int_equal(smtp_parse_command(yb_slice_make(line, n), &cmd), 0);
    assert_int_equal(cmd.verb, SMTP_EHLO);
    assert_int_equal(cmd.arg.len, 5000);
    assert_ptr_equal(cmd.arg.p, line + 5);
    /* The engine limits lines; the parser also copes with a 510-byte one. */
    assert_int_equal(smtp_parse_command(yb_slice_make(line, YB_SMTP_LIMIT_LINE), &cmd), 0);
    assert_int_equal(cmd.arg.len, YB_SMTP_LIMIT_LINE - 5);
    free(line);
}

/* ---- paths ---- */

enum { F_NULL = 1, F_PM = 2, F_UTF8 = 4, F_LIT = 8, F_ROUTE = 16 };
#define M true  /* MAIL FROM */
#define R false /* RCPT TO */

struct path_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    bool is_mail, utf8;
    enum smtp_path_error err;
    const char *local, *domain;
    unsigned flags;
    const char *params; /* "[KEY=VALUE][KEY]" */
};

#define P_OK(n, in, im, u, l, d, f, pr)            \
    {                                              \
        n, in, 0, im, u, SMTP_PATH_OK, l, d, f, pr \
    }
#define A_OK(n, in, l, d) P_OK(n, in, M, false, l, d, 0, "")
#define P_ERR(n, in, im, u, e)                  \
    {                                           \
        n, in, 0, im, u, e, NULL, NULL, 0, NULL \
    }
#define P_ERRN(n, in, len, e)                       \
    {                                               \
        n, in, len, M, true, e, NULL, NULL, 0, NULL \
    }
#define SYN(n, in)     P_ERR(n, in, M, false, SMTP_PATH_SYNTAX)
#define PAR(n, in)     P_ERR(n, in, R, false, SMTP_PATH_PARAMS)
#define PRM(n, in, pr) P_OK(n, in, R, false, "a", "b", 0, pr)

static const struct path_case path_cases[] = {
    A_OK("simple", "<alice@example.com>", "alice", "example.com"),
    A_OK("leading spaces", "  <alice@example.com>", "alice", "example.com"),
    A_OK("trailing spaces", "<alice@example.com>  \t", "alice", "example.com"),
    A_OK("case kept", "<Alice@Example.COM>", "Alice", "Example.COM"),
    A_OK("dots", "<first.last@a.b.c>", "first.last", "a.b.c"),
    A_OK("atext specials", "<!#$%&'*+-/=?^_`{|}~@x>", "!#$%&'*+-/=?^_`{|}~", "x"),
    A_OK("percent hack kept", "<user%other.example@relay.example>", "user%other.example",
         "relay.example"),
    A_OK("bang path kept", "<host!user@example.com>", "host!user", "example.com"),
    A_OK("single-label domain", "<root@localhost>", "root", "localhost"),
    A_OK("digits and hyphens", "<a@1-2.x-y.3com>", "a", "1-2.x-y.3com"),
    A_OK("quoted with space", "<\"john doe\"@example.com>", "john doe", "example.com"),
    A_OK("quoted escapes", "<\"a\\\"b\\\\c\"@x>", "a\"b\\c", "x"),
    A_OK("quoted escaped letter", "<\"\\a\"@x>", "a", "x"),
    A_OK("quoted specials", "<\"a@b,c>d\"@x>", "a@b,c>d", "x"),
    A_OK("quoted dots", "<\".a..b.\"@x>", ".a..b.", "x"),
    A_OK("quoted plain", "<\"john\"@x>", "john", "x"),
    A_OK("quoted empty", "<\"\"@x>", "", "x"),
    P_OK("IPv4 literal", "<a@[192.0.2.1]>", M, false, "a", "[192.0.2.1]", F_LIT, ""),
    P_OK("IPv4 0 and 255", "<a@[0.255.0.255]>", M, false, "a", "[0.255.0.255]", F_LIT, ""),
    P_OK("IPv6 literal", "<a@[IPv6:2001:db8::1]>", R, false, "a", "[IPv6:2001:db8::1]", F_LIT, ""),
    P_OK("IPv6 tag lower", "<a@[ipv6:::1]>", R, false, "a", "[ipv6:::1]", F_LIT, ""),
    P_OK("IPv6 full", "<a@[IPv6:1:2:3:4:5:6:7:8]>", R, false, "a", "[IPv6:1:2:3:4:5:6:7:8]", F_LIT,
         ""),
    P_OK("IPv6 v4-mapped", "<a@[IPv6:::ffff:192.0.2.1]>", R, false, "a", "[IPv6:::ffff:192.0.2.1]",
         F_LIT, ""),
    SYN("IPv4 three parts", "<a@[192.0.2]>"),
    SYN("IPv4 256", "<a@[192.0.2.256]>"),
    SYN("IPv4 leading zero", "<a@[192.0.2.01]>"),
    SYN("IPv4 five parts", "<a@[1.2.3.4.5]>"),
    SYN("IPv4 trailing dot", "<a@[1.2.3.4.]>"),
    SYN("IPv4 space", "<a@[1.2.3. 4]>"),
    SYN("IPv6 without tag", "<a@[2001:db8::1]>"),
    SYN("IPv6 two ::", "<a@[IPv6:1::2::3]>"),
    SYN("IPv6 nine groups", "<a@[IPv6:1:2:3:4:5:6:7:8:9]>"),
    SYN("IPv6 bad hex", "<a@[IPv6:gggg::1]>"),
    SYN("IPv6 group too long", "<a@[IPv6:12345::1]>"),
    SYN("IPv6 empty", "<a@[IPv6:]>"),
    SYN("IPv6 scope", "<a@[IPv6:fe80::1%eth0]>"),
    SYN("IPv6 tag with IPv4", "<a@[IPv6:192.0.2.1]>"),
    SYN("general literal", "<a@[x-foo:bar]>"),
    SYN("empty literal", "<a@[]>"),
    SYN("unclosed literal", "<a@[1.2.3.4>"),
    SYN("literal then domain", "<a@[1.2.3.4].x>"),
    P_OK("source route", "<@a.example,@b.example:user@c.example>", M, false, "user", "c.example",
         F_ROUTE, ""),
    P_OK("one-hop route", "<@a:u@c>", R, false, "u", "c", F_ROUTE, ""),
    SYN("route without colon", "<@a.example,user@c>"),
    SYN("route empty domain", "<@:user@c>"),
    SYN("route trailing comma", "<@a,:user@c>"),
    SYN("route only", "<@a:>"),
    P_OK("null path", "<>", M, false, "", "", F_NULL, ""),
    P_OK("null path with params", "<> SIZE=10 BODY=8BITMIME", M, false, "", "", F_NULL,
         "[SIZE=10][BODY=8BITMIME]"),
    P_ERR("null path RCPT", "<>", R, false, SMTP_PATH_SYNTAX),
    P_OK("Postmaster", "<Postmaster>", R, false, "Postmaster", "", F_PM, ""),
    P_OK("postmaster lower", "<postmaster>", R, false, "postmaster", "", F_PM, ""),
    P_OK("POSTMASTER upper", "<POSTMASTER>", R, false, "POSTMASTER", "", F_PM, ""),
    P_OK("postmaster@domain is normal", "<postmaster@x>", R, false, "postmaster", "x", 0, ""),
    SYN("Postmaster on MAIL", "<Postmaster>"),
    P_ERR("quoted Postmaster", "<\"Postmaster\">", R, false, SMTP_PATH_SYNTAX),
    P_ERR("other bare local", "<alice>", R, false, SMTP_PATH_SYNTAX),
    SYN("missing brackets", "alice@example.com"),
    SYN("missing closing bracket", "<alice@example.com"),
    SYN("missing opening bracket", "alice@example.com>"),
    SYN("double brackets", "<<alice@example.com>>"),
    SYN("garbage after >", "<alice@example.com>x"),
    SYN("second path", "<a@b><c@d>"),
    SYN("empty", ""),
    SYN("spaces only", "   "),
    SYN("space inside", "<alice @example.com>"),
    SYN("space before >", "<alice@example.com >"),
    SYN("leading dot", "<.alice@x>"),
    SYN("trailing dot", "<alice.@x>"),
    SYN("double dot", "<al..ice@x>"),
    SYN("empty local", "<@x>"),
    SYN("no domain", "<alice@>"),
    SYN("two @", "<a@b@c>"),
    SYN("comma in local", "<a,b@c>"),
    SYN("unterminated quote", "<\"abc@x>"),
    SYN("backslash at end of quote", "<\"abc\\"),
    SYN("quoted TAB", "<\"a\tb\"@x>"),
    SYN("escaped control", "<\"\\\x01\"@x>"),
    SYN("quoted DEL", "<\"a\x7f\"@x>"),
    SYN("domain trailing dot", "<a@example.com.>"),
    SYN("domain leading dot", "<a@.example.com>"),
    SYN("domain double dot", "<a@example..com>"),
    SYN("label leading hyphen", "<a@-x.com>"),
    SYN("label trailing hyphen", "<a@x-.com>"),
    SYN("underscore in domain", "<a@my_host.com>"),
    SYN("control char in domain", "<a@ex\x01.com>"),
    SYN("TAB in local", "<a\tb@x>"),
    P_ERRN("NUL in local", "<a\0b@x>", 7, SMTP_PATH_SYNTAX),
    P_ERRN("NUL in domain", "<a@x\0y>", 7, SMTP_PATH_SYNTAX),
    P_ERRN("NUL in quotes", "<\"a\0\"@x>", 8, SMTP_PATH_SYNTAX),
    P_ERRN("NUL after path", "<a@x> \0", 7, SMTP_PATH_SYNTAX),
    /* SMTPUTF8 */
    P_OK("UTF-8 allowed", "<j\xc3\xb6rg@m\xc3\xbcnchen.de>", R, true, "j\xc3\xb6rg",
         "m\xc3\xbcnchen.de", F_UTF8, ""),
    P_OK("UTF-8 quoted", "<\"j\xc3\xb6 rg\"@x>", R, true, "j\xc3\xb6 rg", "x", F_UTF8, ""),
    P_OK("UTF-8 4-byte", "<\xf0\x9f\x93\xae@x>", R, true, "\xf0\x9f\x93\xae", "x", F_UTF8, ""),
    P_OK("UTF-8 enabled by SMTPUTF8 on MAIL", "<\xe7\x94\xb0@\xe4\xbe\x8b.jp> SMTPUTF8", M, false,
         "\xe7\x94\xb0", "\xe4\xbe\x8b.jp", F_UTF8, "[SMTPUTF8]"),
    P_ERR("UTF-8 local refused", "<j\xc3\xb6rg@x>", R, false, SMTP_PATH_NEEDS_UTF8),
    P_ERR("UTF-8 domain refused", "<a@m\xc3\xbcnchen.de>", M, false, SMTP_PATH_NEEDS_UTF8),
    P_ERR("SMTPUTF8 does not enable RCPT", "<j\xc3\xb6rg@x> SMTPUTF8", R, false,
          SMTP_PATH_NEEDS_UTF8),
    P_ERR("invalid UTF-8 local", "<\xff@x>", R, true, SMTP_PATH_SYNTAX),
    P_ERR("invalid UTF-8 without SMTPUTF8", "<\xff@x>", R, false, SMTP_PATH_SYNTAX),
    P_ERR("overlong in domain", "<a@\xc0\xafx>", R, true, SMTP_PATH_SYNTAX),
    P_ERR("surrogate in quotes", "<\"\xed\xa0\x80\"@x>", R, true, SMTP_PATH_SYNTAX),
    P_ERR("truncated sequence", "<a\xc3@x>", R, true, SMTP_PATH_SYNTAX),
    P_ERR("lone continuation", "<a@x\x80>", R, true, SMTP_PATH_SYNTAX),
    /* parameters */
    PRM("SIZE", "<a@b> SIZE=1000", "[SIZE=1000]"),
    PRM("SIZE 0", "<a@b> SIZE=0", "[SIZE=0]"),
    PRM("SIZE max", "<a@b> SIZE=18446744073709551615", "[SIZE=18446744073709551615]"),
    PRM("BODY", "<a@b> BODY=8BITMIME", "[BODY=8BITMIME]"),
    PRM("BODY lower", "<a@b> body=7bit", "[body=7bit]"),
    PRM("SMTPUTF8", "<a@b> SMTPUTF8", "[SMTPUTF8]"),
    PRM("RET and ENVID", "<a@b> RET=HDRS ENVID=QQ314159+2Bx", "[RET=HDRS][ENVID=QQ314159+2Bx]"),
    PRM("NOTIFY", "<a@b> NOTIFY=SUCCESS,FAILURE", "[NOTIFY=SUCCESS,FAILURE]"),
    PRM("NOTIFY NEVER", "<a@b> NOTIFY=NEVER", "[NOTIFY=NEVER]"),
    PRM("ORCPT", "<a@b> ORCPT=rfc822;a+2Bb@x", "[ORCPT=rfc822;a+2Bb@x]"),
    PRM("unknown kept", "<a@b> X-FOO=bar Y", "[X-FOO=bar][Y]"),
    PRM("several spaces", "<a@b>   SIZE=1    BODY=7BIT  ", "[SIZE=1][BODY=7BIT]"),
    PRM("AUTH param", "<a@b> AUTH=<>", "[AUTH=<>]"),
    PRM("16 params", "<a@b> A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13 A14 A15 A16",
        "[A1][A2][A3][A4][A5][A6][A7][A8][A9][A10][A11][A12][A13][A14][A15][A16]"),
    PAR("17 params", "<a@b> A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13 A14 A15 A16 A17"),
    PAR("empty value", "<a@b> SIZE="),
    PAR("empty value unknown", "<a@b> FOO="),
    PAR("SIZE without value", "<a@b> SIZE"),
    PAR("SIZE not a number", "<a@b> SIZE=abc"),
    PAR("SIZE plus", "<a@b> SIZE=+1"),
    PAR("SIZE overflow", "<a@b> SIZE=18446744073709551616"),
    PAR("keyword missing", "<a@b> =x"),
    PAR("keyword hyphen first", "<a@b> -X=1"),
    PAR("keyword underscore", "<a@b> X_Y=1"),
    PAR("'=' in value", "<a@b> X=a=b"),
    PAR("control in value", "<a@b> X=a\x01"),
    SYN("TAB separator", "<a@b>\tSIZE=1"),
    PAR("TAB inside params", "<a@b> SIZE=1\tBODY=7BIT"),
    PAR("BODY unknown", "<a@b> BODY=9BIT"),
    PAR("RET unknown", "<a@b> RET=ALL"),
    PAR("SMTPUTF8 with value", "<a@b> SMTPUTF8=yes"),
    PAR("NOTIFY NEVER mixed", "<a@b> NOTIFY=NEVER,SUCCESS"),
    PAR("NOTIFY trailing comma", "<a@b> NOTIFY=SUCCESS,"),
    PAR("NOTIFY unknown", "<a@b> NOTIFY=SOMETIMES"),
    PAR("ENVID bad escape", "<a@b> ENVID=a+2"),
    PAR("ENVID non-hex escape", "<a@b> ENVID=a+zz"),
    PAR("ORCPT no type", "<a@b> ORCPT=a@x"),
    PAR("ORCPT empty type", "<a@b> ORCPT=;a@x"),
    PAR("ORCPT empty address", "<a@b> ORCPT=rfc822;"),
    PAR("ORCPT bad xtext", "<a@b> ORCPT=rfc822;a+g0"),
    PAR("duplicate keyword", "<a@b> SIZE=1 size=2"),
    PAR("duplicate flag", "<a@b> SMTPUTF8 SMTPUTF8"),
    PAR("non-ASCII value without SMTPUTF8", "<a@b> X=\xc3\xa9"),
    PAR("invalid UTF-8 value", "<a@b> X=\xff"),
    P_OK("non-ASCII value with SMTPUTF8", "<a@b> X=\xc3\xa9", R, true, "a", "b", 0, "[X=\xc3\xa9]"),
    P_OK("MAIL SMTPUTF8 allows UTF-8 value", "<a@b> SMTPUTF8 X=\xc3\xa9", M, false, "a", "b", 0,
         "[SMTPUTF8][X=\xc3\xa9]"),
    P_ERR("invalid UTF-8 value with SMTPUTF8", "<a@b> X=\xc3", R, true, SMTP_PATH_PARAMS),
};

static void render_params(const struct smtp_params *ps, struct yb_buf *b)
{
    for (size_t i = 0; i < ps->n; i++) {
        yb_buf_append_byte(b, '[');
        yb_buf_append_slice(b, ps->p[i].key);
        if (ps->p[i].has_value) {
            yb_buf_append_byte(b, '=');
            yb_buf_append_slice(b, ps->p[i].value);
        }
        yb_buf_append_byte(b, ']');
    }
}

static unsigned path_flags(const struct smtp_path *p)
{
    return (p->null_path ? F_NULL : 0) | (p->postmaster ? F_PM : 0) | (p->utf8 ? F_UTF8 : 0) |
           (p->domain_literal ? F_LIT : 0) | (p->had_source_route ? F_ROUTE : 0);
}

static void check_path(const struct path_case *c, const unsigned char *in, size_t len)
{
    struct smtp_path path;
    struct smtp_params params;
    struct yb_buf pr;
    char b1[512];
    yb_buf_init(&pr, 4096);
    enum smtp_path_error e =
        smtp_parse_path(yb_slice_make(in, len), c->is_mail, c->utf8, &path, &params);
    if (e == SMTP_PATH_OK)
        render_params(&params, &pr);
    bool bad = e != c->err;
    if (!bad && e == SMTP_PATH_OK) {
        bad = path.local_len != strlen(c->local) || memcmp(path.local, c->local, path.local_len) ||
              path.local[path.local_len] != '\0' || strcmp(path.domain, c->domain) != 0 ||
              path_flags(&path) != c->flags || strcmp(yb_buf_cstr(&pr), c->params) != 0;
    }
    if (bad) {
        print_error("path case '%s' [%s]: error %d local [%s] domain [%s] flags %u params %s; "
                    "expected error %d local [%s] domain [%s] flags %u params %s\n",
                    c->name, esc(in, len, b1, sizeof(b1)), (int)e, path.local, path.domain,
                    path_flags(&path), yb_buf_cstr(&pr), (int)c->err, c->local ? c->local : "",
                    c->domain ? c->domain : "", c->flags, c->params ? c->params : "");
        fail();
    }
    yb_buf_free(&pr);
}

static void test_path_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(path_cases); i++) {
        const struct path_case *c = &path_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        unsigned char *d = dup_exact(c->in, len);
        check_path(c, d, len);
        free(d);
    }
}

/* Every prefix of every case, from an exact-size copy; none without '>' may pass. */
static void test_path_prefixes(void **state)
{
    (void)state;
    struct smtp_path path;
    struct smtp_params params;
    for (size_t i = 0; i < YB_ARRAY_LEN(path_cases); i++) {
        const struct path_case *c = &path_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        for (size_t n = 0; n < len; n++) {
            unsigned char *d = dup_exact(c->in, n);
            enum smtp_path_error e =
                smtp_parse_path(yb_slice_make(d, n), c->is_mail, c->utf8, &path, &params);
            if (n == 0 || memchr(d, '>', n) == NULL) {
                if (e == SMTP_PATH_OK) {
                    print_error("case '%s': prefix of %u bytes accepted\n", c->name, (unsigned)n);
                    fail();
                }
            }
            free(d);
        }
    }
}

/* A domain of exactly n octets made of labels of at most 60 octets. */
static void make_domain(char *out, size_t n, char fill)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (i % 60 == 59 && i + 1 < n) ? '.' : fill;
    out[n] = '\0';
}

static enum smtp_path_error parse_built(const char *local, const char *domain, const char *route)
{
    char buf[1024];
    struct smtp_path path;
    struct smtp_params params;
    int n = snprintf(buf, sizeof(buf), "<%s%s@%s>", route, local, domain);
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    unsigned char *d = dup_exact(buf, (size_t)n);
    enum smtp_path_error e =
        smtp_parse_path(yb_slice_make(d, (size_t)n), false, false, &path, &params);
    if (e == SMTP_PATH_OK) {
        assert_int_equal(strcmp(path.domain, domain), 0);
        assert_int_equal(path.local_len, strlen(path.local));
    }
    free(d);
    return e;
}

static void test_path_limits(void **state)
{
    (void)state;
    char local[200], q[200], dom[300];
    memset(local, 'l', 64);
    local[64] = '\0';
    assert_int_equal(parse_built(local, "x", ""), SMTP_PATH_OK);
    local[64] = 'l';
    local[65] = '\0';
    assert_int_equal(parse_built(local, "x", ""), SMTP_PATH_TOO_LONG);
    memset(local, 'l', 150);
    local[150] = '\0';
    assert_int_equal(parse_built(local, "x", ""), SMTP_PATH_TOO_LONG);

    /* Quoted: the limit is on the wire form, quotes and backslashes included. */
    q[0] = '"';
    memset(q + 1, 'q', 62);
    memcpy(q + 63, "\"", 2);
    assert_int_equal(parse_built(q, "x", ""), SMTP_PATH_OK);
    memset(q + 1, 'q', 63);
    memcpy(q + 64, "\"", 2);
    assert_int_equal(parse_built(q, "x", ""), SMTP_PATH_TOO_LONG);
    for (size_t i = 0; i < 31; i++)
        memcpy(q + 1 + 2 * i, "\\q", 2);
    memcpy(q + 63, "\"", 2); /* 64 on the wire, 31 decoded */
    assert_int_equal(parse_built(q, "x", ""), SMTP_PATH_OK);
    for (size_t i = 0; i < 31; i++)
        memcpy(q + 1 + 2 * i, "\\q", 2);
    memcpy(q + 63, "q\"", 3); /* 65 on the wire, 32 decoded */
    assert_int_equal(parse_built(q, "x", ""), SMTP_PATH_TOO_LONG);

    /* Labels 63 / 64. */
    memset(dom, 'd', 63);
    dom[63] = '\0';
    assert_int_equal(parse_built("a", dom, ""), SMTP_PATH_OK);
    memset(dom, 'd', 64);
    dom[64] = '\0';
    assert_int_equal(parse_built("a", dom, ""), SMTP_PATH_SYNTAX);
    memcpy(dom + 64, ".com", 5);
    assert_int_equal(parse_built("a", dom, ""), SMTP_PATH_SYNTAX);

    /* Path 256 / 257 ("<" + 1 + "@" + domain + ">"), domain 255 / 256. */
    make_domain(dom, 252, 'd');
    assert_int_equal(parse_built("a", dom, ""), SMTP_PATH_OK);
    make_domain(dom, 253, 'd');
    assert_int_equal(parse_built("a", dom, ""), SMTP_PATH_TOO_LONG);
    make_domain(dom, 189, 'd');
    memset(local, 'l', 64);
    local[64] = '\0';
    assert_int_equal(parse_built(local, dom, ""), SMTP_PATH_OK); /* 256 */
    make_domain(dom, 190, 'd');
    assert_int_equal(parse_built(local, dom, ""), SMTP_PATH_TOO_LONG); /* 257 */
    make_domain(dom, 255, 'd');
    assert_int_equal(parse_built("a", dom, ""), SMTP_PATH_TOO_LONG);
    make_domain(dom, 256, 'd');
    assert_int_equal(parse_built("a", dom, ""), SMTP_PATH_TOO_LONG);

    /* A source route counts towards the path and is dropped. */
    make_domain(dom, 240, 'd');
    assert_int_equal(parse_built("a", dom, "@r:"), SMTP_PATH_OK);                 /* 247 */
    assert_int_equal(parse_built("a", dom, "@rrrrrrrrrr:"), SMTP_PATH_OK);        /* 256 */
    assert_int_equal(parse_built("a", dom, "@rrrrrrrrrrr:"), SMTP_PATH_TOO_LONG); /* 257 */
}

static void test_params_lookup(void **state)
{
    (void)state;
    struct smtp_path path;
    struct smtp_params ps;
    char out[64];
    size_t n;
    struct yb_slice in =
        YB_SLICE_LIT("<a@b> size=42 SmtpUtf8 ENVID=QQ314159+2Bx ORCPT=rfc822;a+2Bb@x");
    assert_int_equal(smtp_parse_path(in, true, false, &path, &ps), SMTP_PATH_OK);
    assert_int_equal(ps.n, 4);
    assert_true(smtp_params_has(&ps, "SMTPUTF8"));
    assert_true(smtp_params_has(&ps, "Size"));
    assert_false(smtp_params_has(&ps, "BODY"));
    assert_false(smtp_params_has(&ps, "SIZ"));
    const struct smtp_param *p = smtp_params_get(&ps, "SIZE");
    assert_non_null(p);
    assert_true(p->has_value);
    uint64_t v;
    assert_int_equal(smtp_parse_u64(p->value, &v), 0);
    assert_true(v == 42);
    p = smtp_params_get(&ps, "smtputf8");
    assert_non_null(p);
    assert_false(p->has_value);
    assert_int_equal(p->value.len, 0);
    assert_null(smtp_params_get(&ps, "NOTIFY"));
    p = smtp_params_get(&ps, "ENVID");
    assert_int_equal(smtp_xtext_decode(p->value, out, sizeof(out), &n), 0);
    assert_string_equal(out, "QQ314159+x");
    p = smtp_params_get(&ps, "ORCPT");
    assert_int_equal(smtp_xtext_decode(p->value, out, sizeof(out), &n), 0);
    assert_string_equal(out, "rfc822;a+b@x");

    /* ENVID is at most 100 characters (RFC 3461 4.4). */
    char line[160] = "<a@b> ENVID=";
    size_t l = strlen(line);
    memset(line + l, 'e', 100);
    line[l + 100] = '\0';
    assert_int_equal(smtp_parse_path(yb_slice_cstr(line), true, false, &path, &ps), SMTP_PATH_OK);
    line[l + 100] = 'e';
    line[l + 101] = '\0';
    assert_int_equal(smtp_parse_path(yb_slice_cstr(line), true, false, &path, &ps),
                     SMTP_PATH_PARAMS);
}

/* ---- xtext ---- */

struct xtext_case {
    const char *in;
    int rc;
    const char *out;
    size_t outlen;
};

static const struct xtext_case xtext_cases[] = {
    { "", 0, "", 0 },
    { "abc", 0, "abc", 3 },
    { "a+2Bb", 0, "a+b", 3 },
    { "a+2bb", 0, "a+b", 3 }, /* lower-case hex accepted */
    { "+3D+20+00z", 0, "= \0z", 4 },
    { "+FF", 0, "\xff", 1 },
    { "!~", 0, "!~", 2 },
    { "a+", YB_EPARSE, NULL, 0 },
    { "a+2", YB_EPARSE, NULL, 0 },
    { "a+G0", YB_EPARSE, NULL, 0 },
    { "a=b", YB_EPARSE, NULL, 0 },
    { "a b", YB_EPARSE, NULL, 0 },
    { "a\x7f", YB_EPARSE, NULL, 0 },
    { "\xc3\xa9", YB_EPARSE, NULL, 0 },
};

static void test_xtext_decode(void **state)
{
    (void)state;
    char out[32];
    size_t n;
    for (size_t i = 0; i < YB_ARRAY_LEN(xtext_cases); i++) {
        const struct xtext_case *c = &xtext_cases[i];
        unsigned char *d = dup_exact(c->in, strlen(c->in));
        int rc = smtp_xtext_decode(yb_slice_make(d, strlen(c->in)), out, sizeof(out), &n);
        if (rc != c->rc || (rc == 0 && (n != c->outlen || memcmp(out, c->out, n) != 0))) {
            print_error("xtext '%s': rc %s\n", c->in, yb_errname(rc));
            fail();
        }
        free(d);
    }
    /* NUL in the input is not xchar. */
    assert_int_equal(smtp_xtext_decode(yb_slice_make("a\0b", 3), out, sizeof(out), &n), YB_EPARSE);
    /* The output needs room for the bytes and a NUL. */
    assert_int_equal(smtp_xtext_decode(YB_SLICE_LIT("ab+2B"), out, 4, &n), 0);
    assert_string_equal(out, "ab+");
    assert_int_equal(smtp_xtext_decode(YB_SLICE_LIT("ab+2B"), out, 3, &n), YB_ERANGE);
    assert_int_equal(smtp_xtext_decode(YB_SLICE_LIT(""), out, 1, &n), 0);
    assert_int_equal(smtp_xtext_decode(YB_SLICE_LIT(""), out, 0, &n), YB_ERANGE);
}

static void test_xtext_encode(void **state)
{
    (void)state;
    unsigned char all[256];
    char enc[256 * 3 + 1], dec[257];
    size_t n;
    for (size_t i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    assert_int_equal(smtp_xtext_encode(yb_slice_make(all, 256), enc, sizeof(enc)), 0);
    /* 94 printable xchars minus '+' and '=' stay, 164 others become "+XX". */
    assert_int_equal(strlen(enc), 92 + 164 * 3);
    assert_int_equal(smtp_xtext_decode(yb_slice_cstr(enc), dec, sizeof(dec), &n), 0);
    assert_int_equal(n, 256);
    assert_memory_equal(dec, all, 256);

    assert_int_equal(smtp_xtext_encode(YB_SLICE_LIT("a+b=c d"), enc, sizeof(enc)), 0);
    assert_string_equal(enc, "a+2Bb+3Dc+20d");
    assert_int_equal(smtp_xtext_encode(YB_SLICE_LIT("a+b"), enc, 6), 0);
    assert_string_equal(enc, "a+2Bb");
    assert_int_equal(smtp_xtext_encode(YB_SLICE_LIT("a+b"), enc, 5), YB_ERANGE);
    assert_string_equal(enc, "");
    assert_int_equal(smtp_xtext_encode(YB_SLICE_LIT("ab+"), enc, 5), YB_ERANGE);
    assert_int_equal(smtp_xtext_encode(YB_SLICE_LIT(""), enc, 1), 0);
    assert_string_equal(enc, "");
    assert_int_equal(smtp_xtext_encode(YB_SLICE_LIT(""), enc, 0), YB_ERANGE);
    assert_int_equal(smtp_xtext_encode(yb_slice_make("\0", 1), enc, sizeof(enc)), 0);
    assert_string_equal(enc, "+00");
}

/* ---- HELO ---- */

struct helo_case {
    const char *in;
    size_t len;
    int rc;
};

static const struct helo_case helo_cases[] = {
    { "mail.example.com", 0, 0 },
    { "EXAMPLE.COM", 0, 0 },
    { "localhost", 0, 0 },
    { "my_pc", 0, 0 },
    { "a-b.c-d", 0, 0 },
    { "192.0.2.1", 0, 0 },
    { "[192.0.2.1]", 0, 0 },
    { "[IPv6:2001:db8::1]", 0, 0 },
    { "[ipv6:::1]", 0, 0 },
    { "::1", 0, 0 },
    { "2001:db8::25", 0, 0 },
    { "m\xc3\xbcnchen.de", 0, 0 },
    { "", 0, YB_EPARSE },
    { "a b", 0, YB_EPARSE },
    { " a", 0, YB_EPARSE },
    { "a\tb", 0, YB_EPARSE },
    { "a\x01", 0, YB_EPARSE },
    { "a\x7f", 0, YB_EPARSE },
    { "a\0b", 3, YB_EPARSE },
    { "\0", 1, YB_EPARSE },
    { "\xff", 0, YB_EPARSE },
    { "a\xc0\xaf", 0, YB_EPARSE },
    { "a..b", 0, YB_EPARSE },
    { ".a", 0, YB_EPARSE },
    { "a.", 0, YB_EPARSE },
    { "-a", 0, YB_EPARSE },
    { "a-", 0, YB_EPARSE },
    { "a@b", 0, YB_EPARSE },
    { "[192.0.2]", 0, YB_EPARSE },
    { "[256.0.0.1]", 0, YB_EPARSE },
    { "[IPv6:192.0.2.1]", 0, YB_EPARSE },
    { "[IPv6:fe80::1%1]", 0, YB_EPARSE },
    { "[x:y]", 0, YB_EPARSE },
    { "[]", 0, YB_EPARSE },
    { "[192.0.2.1", 0, YB_EPARSE },
    { "[192.0.2.1]x", 0, YB_EPARSE },
    { "1::2::3", 0, YB_EPARSE },
};

static void test_helo(void **state)
{
    (void)state;
    char b[128];
    for (size_t i = 0; i < YB_ARRAY_LEN(helo_cases); i++) {
        const struct helo_case *c = &helo_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        unsigned char *d = dup_exact(c->in, len);
        int rc = smtp_check_helo(yb_slice_make(d, len));
        if (rc != c->rc) {
            print_error("HELO [%s]: %s, expected %s\n", esc(c->in, len, b, sizeof(b)),
                        yb_errname(rc), yb_errname(c->rc));
            fail();
        }
        free(d);
    }
    char dom[300];
    make_domain(dom, 255, 'h');
    assert_int_equal(smtp_check_helo(yb_slice_cstr(dom)), 0);
    make_domain(dom, 256, 'h');
    assert_int_equal(smtp_check_helo(yb_slice_cstr(dom)), YB_ELIMIT);
    memset(dom, 'h', 63);
    dom[63] = '\0';
    assert_int_equal(smtp_check_helo(yb_slice_cstr(dom)), 0);
    dom[63] = 'h';
    dom[64] = '\0';
    assert_int_equal(smtp_check_helo(yb_slice_cstr(dom)), YB_EPARSE);
}

/* ---- numbers ---- */

struct u64_case {
    const char *in;
    size_t len;
    int rc;
    uint64_t v;
};

static const struct u64_case u64_cases[] = {
    { "0", 0, 0, 0 },
    { "1", 0, 0, 1 },
    { "0001", 0, 0, 1 },
    { "10485760", 0, 0, 10485760 },
    { "18446744073709551615", 0, 0, UINT64_MAX },
    { "000000000018446744073709551615", 0, 0, UINT64_MAX },
    { "18446744073709551614", 0, 0, UINT64_MAX - 1 },
    { "18446744073709551616", 0, YB_ERANGE, 0 },
    { "18446744073709551620", 0, YB_ERANGE, 0 },
    { "99999999999999999999", 0, YB_ERANGE, 0 },
    { "184467440737095516150", 0, YB_ERANGE, 0 },
    { "", 0, YB_EPARSE, 0 },
    { "+1", 0, YB_EPARSE, 0 },
    { "-1", 0, YB_EPARSE, 0 },
    { " 1", 0, YB_EPARSE, 0 },
    { "1 ", 0, YB_EPARSE, 0 },
    { "0x10", 0, YB_EPARSE, 0 },
    { "1\0", 2, YB_EPARSE, 0 },
    { "1e3", 0, YB_EPARSE, 0 },
    { "99999999999999999999x", 0, YB_EPARSE, 0 },
};

static void test_u64(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(u64_cases); i++) {
        const struct u64_case *c = &u64_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        unsigned char *d = dup_exact(c->in, len);
        uint64_t v = 12345;
        int rc = smtp_parse_u64(yb_slice_make(d, len), &v);
        if (rc != c->rc || (rc == 0 && v != c->v)) {
            print_error("u64 '%s': %s, expected %s\n", c->in, yb_errname(rc), yb_errname(c->rc));
            fail();
        }
        free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_cases), cmocka_unit_test(test_command_long_arg),
        cmocka_unit_test(test_path_cases),    cmocka_unit_test(test_path_prefixes),
        cmocka_unit_test(test_path_limits),   cmocka_unit_test(test_params_lookup),
        cmocka_unit_test(test_xtext_decode),  cmocka_unit_test(test_xtext_encode),
        cmocka_unit_test(test_helo),          cmocka_unit_test(test_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
