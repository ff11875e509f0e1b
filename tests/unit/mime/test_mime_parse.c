/*
 * test_mime_parse.c - the MIME structure parser, ENVELOPE, BODY,
 * BODYSTRUCTURE and the cache form, on a corpus with nested message/rfc822,
 * missing closing boundaries, a boundary inside a header, 8-bit headers,
 * RFC 2231 parameters and a digest.
 *
 * Every message is parsed whole, one byte at a time and split in two at
 * every position; the BODYSTRUCTURE, the ENVELOPE and each leaf's body bytes
 * must be the same every time, and each leaf's bytes must be exactly the
 * message bytes at its body offset.
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
#include "mime_parse.h"
#include "mime_struct.h"

struct corpus {
    const char *name;
    const char *msg;
    const char *bodystructure;
    const char *body;     /* BODY (non-extensible), NULL: not checked */
    const char *envelope; /* NULL: not checked */
    unsigned nparts;
};

static const struct corpus corpus[] = {
    { "simple text",
      "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Hi\r\n"
      "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@x>\r\n\r\nHello\r\nWorld\r\n",
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2 NIL NIL NIL NIL)",
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2)",
      "(\"Mon, 23 Nov 2026 10:00:00 +0000\" \"Hi\" ((\"Alice\" NIL \"alice\" \"example.com\")) "
      "((\"Alice\" NIL \"alice\" \"example.com\")) ((\"Alice\" NIL \"alice\" \"example.com\")) "
      "((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL \"<1@x>\")",
      1 },
    { "multipart with preamble and epilogue",
      "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\npart one\r\n--XX\r\n"
      "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\nAAEC\r\n--XX--\r\nepilogue\r\n",
      "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 8 1 NIL NIL NIL NIL)"
      "(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 4 NIL (\"attachment\" "
      "(\"filename\" \"a.bin\")) NIL NIL) \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)",
      "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 8 1)"
      "(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 4) \"mixed\")",
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)", 3 },
    { "nested message/rfc822",
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
      "see attached\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d\r\n"
      "Subject: inner\r\n\r\ninner body\r\n--b1--\r\n",
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 1 NIL NIL NIL NIL)"
      "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 39 (NIL \"inner\" ((NIL NIL \"c\" \"d\")) "
      "((NIL NIL \"c\" \"d\")) ((NIL NIL \"c\" \"d\")) NIL NIL NIL NIL NIL) "
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL) 4 "
      "NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)",
      NULL, NULL, 4 },
    { "missing closing boundaries",
      "Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\n"
      "Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n"
      "Content-Type: text/plain\r\n\r\nplain\r\n--inner\r\nContent-Type: text/html\r\n\r\n"
      "<p>html</p>\r\n--outer\r\nContent-Type: text/plain\r\n\r\nlast\r\n",
      "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL)"
      "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 1 NIL NIL NIL NIL) "
      "\"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)"
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL) "
      "\"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)",
      NULL, NULL, 5 },
    { "boundary inside a header, and a boundary-like line",
      "Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n--=_b\r\nContent-Type: text/plain\r\n"
      "--=_b\r\nContent-Type: text/plain\r\n\r\n--=_notit\r\n-- \r\n--=_b--",
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2 NIL NIL NIL NIL) "
      "\"mixed\" (\"boundary\" \"=_b\") NIL NIL NIL)",
      NULL, NULL, 3 },
    { "8-bit headers and RFC 2231",
      "Subject: caf\xc3\xa9\r\nFrom: \"J\xc3\xb6rg\" <j@x>\r\n"
      "Content-Type: text/plain; name*0*=utf-8''na%C3%AFve; name*1=\".txt\"\r\n"
      "Content-Language: en, fr\r\n\r\nx",
      "(\"text\" \"plain\" (\"name*\" \"utf-8''na%C3%AFve.txt\") NIL NIL \"7bit\" 1 1 NIL NIL "
      "(\"en\" \"fr\") NIL)",
      NULL,
      "(NIL {5}\r\ncaf\xc3\xa9 (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) (({5}\r\nJ\xc3\xb6rg NIL "
      "\"j\" \"x\")) (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) NIL NIL NIL NIL NIL)",
      1 },
    { "digest",
      "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: "
      "one\r\n\r\n1\r\n--d--\r\n",
      "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 17 (NIL \"one\" NIL NIL NIL NIL NIL NIL NIL "
      "NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 1 NIL NIL NIL NIL) "
      "3 NIL NIL NIL NIL) \"digest\" (\"boundary\" \"d\") NIL NIL NIL)",
      NULL, NULL, 3 },
    { "header only", "Subject: x\r\n",
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)", NULL,
      NULL, 1 },
    { "empty", "",
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)", NULL,
      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)", 1 },
    { "bare LF and no parts",
      "Content-Type: multipart/mixed; boundary=z\nX-A: 1\n\nno parts at all\n",
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)"
      " \"mixed\" (\"boundary\" \"z\") NIL NIL NIL)",
      NULL, NULL, 1 },
    { "groups and odd addresses",
      "To: undisclosed-recipients:;\r\nCc: team: a@b, \"C, D\" <c@d>;, e\r\n"
      "From: <@route.example:x@y> (comment)\r\nBcc: \"q\\\"t\" <q@t>\r\n\r\n",
      NULL, NULL,
      "(NIL NIL ((NIL \"@route.example\" \"x\" \"y\")) ((NIL \"@route.example\" \"x\" \"y\")) "
      "((NIL \"@route.example\" \"x\" \"y\")) ((NIL NIL \"undisclosed-recipients\" NIL)"
      "(NIL NIL NIL NIL)) ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"b\")(\"C, D\" NIL \"c\" \"d\")"
      "(NIL NIL NIL NIL)(NIL NIL \"e\" \".MISSING-HOST-NAME.\")) ((\"q\\\"t\" NIL \"q\" \"t\")) "
      "NIL NIL)",
      1 },
};

/* Collects each leaf's body bytes through the callback. */
struct collect {
    struct yb_buf body[16];
};

static int on_body(void *ctx, uint32_t part, struct yb_slice data)
{
    struct collect *c = ctx;
    assert_true(part < 16);
    return yb_buf_append_slice(&c->body[part], data);
}

struct result {
    struct yb_buf bs, body, env;
    struct collect col;
    struct mime_parser p;
};

static void parse(const struct corpus *c, const size_t *cuts, size_t ncuts, struct result *r)
{
    struct mime_callbacks cb = { 0 };
    size_t len = strlen(c->msg), at = 0;

    memset(r, 0, sizeof(*r));
    for (int i = 0; i < 16; i++)
        yb_buf_init(&r->col.body[i], 1 << 20);
    cb.ctx = &r->col;
    cb.body = on_body;
    mime_parser_init(&r->p, NULL, &cb);
    for (size_t k = 0; k <= ncuts; k++) {
        size_t to = k < ncuts ? cuts[k] : len;
        unsigned char *chunk = malloc(to - at + 1);
        assert_non_null(chunk);
        memcpy(chunk, c->msg + at, to - at);
        assert_int_equal(mime_parser_feed(&r->p, chunk, to - at), 0);
        free(chunk);
        at = to;
    }
    assert_int_equal(mime_parser_finish(&r->p), 0);
    yb_buf_init(&r->bs, 1 << 20);
    yb_buf_init(&r->body, 1 << 20);
    yb_buf_init(&r->env, 1 << 20);
    assert_int_equal(mime_body_write(&r->p, 0, true, &r->bs), 0);
    assert_int_equal(mime_body_write(&r->p, 0, false, &r->body), 0);
    assert_int_equal(mime_envelope_write(&r->p, 0, &r->env), 0);
}

static void result_free(struct result *r)
{
    for (int i = 0; i < 16; i++)
        yb_buf_free(&r->col.body[i]);
    yb_buf_free(&r->bs);
    yb_buf_free(&r->body);
    yb_buf_free(&r->env);
    mime_parser_free(&r->p);
}

static void check_result(const struct corpus *c, struct result *r, const char *how)
{
    if (c->bodystructure != NULL && strcmp(yb_buf_cstr(&r->bs), c->bodystructure) != 0) {
        print_error("%s (%s):\n got      %s\n expected %s\n", c->name, how, yb_buf_cstr(&r->bs),
                    c->bodystructure);
        fail();
    }
    if (c->body != NULL && strcmp(yb_buf_cstr(&r->body), c->body) != 0) {
        print_error("%s (%s) BODY:\n got      %s\n expected %s\n", c->name, how,
                    yb_buf_cstr(&r->body), c->body);
        fail();
    }
    if (c->envelope != NULL && strcmp(yb_buf_cstr(&r->env), c->envelope) != 0) {
        print_error("%s (%s) ENVELOPE:\n got      %s\n expected %s\n", c->name, how,
                    yb_buf_cstr(&r->env), c->envelope);
        fail();
    }
    if (r->p.nparts != c->nparts) {
        print_error("%s (%s): %u parts, expected %u\n", c->name, how, (unsigned)r->p.nparts,
                    c->nparts);
        fail();
    }
    /* Each leaf's streamed bytes are the message bytes at its offsets. */
    for (uint32_t i = 0; i < r->p.nparts && i < 16; i++) {
        const struct mime_part *n = mime_part_at(&r->p, i);
        if (n->kind != MIME_LEAF)
            continue;
        assert_int_equal((int)r->col.body[i].len, (int)n->body_size);
        if (n->body_size > 0)
            assert_memory_equal(r->col.body[i].p, c->msg + n->body_off, (size_t)n->body_size);
        assert_true(n->hdr_off + n->hdr_size == n->body_off);
    }
}

static void test_corpus(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(corpus); i++) {
        const struct corpus *c = &corpus[i];
        size_t len = strlen(c->msg);
        size_t *cuts = malloc((len + 1) * sizeof(*cuts));
        struct result r;

        assert_non_null(cuts);
        parse(c, NULL, 0, &r);
        check_result(c, &r, "whole");
        result_free(&r);
        for (size_t k = 1; k < len; k++)
            cuts[k - 1] = k;
        parse(c, cuts, len ? len - 1 : 0, &r);
        check_result(c, &r, "byte by byte");
        result_free(&r);
        for (size_t k = 0; k <= len; k++) {
            cuts[0] = k;
            parse(c, cuts, 1, &r);
            check_result(c, &r, "split in two");
            result_free(&r);
        }
        free(cuts);
    }
}

static void test_flags_and_find(void **state)
{
    struct result r;
    uint32_t nums[3];
    (void)state;

    /* nested message/rfc822: 1, 2, 2.1 (the inner message's only part) */
    parse(&corpus[2], NULL, 0, &r);
    nums[0] = 1;
    assert_int_equal((int)mime_part_find(&r.p, nums, 1), 1);
    nums[0] = 2;
    assert_int_equal((int)mime_part_find(&r.p, nums, 1), 2);
    assert_int_equal(mime_part_at(&r.p, 2)->kind, MIME_MESSAGE);
    nums[1] = 1;
    assert_int_equal((int)mime_part_find(&r.p, nums, 2), 3);
    nums[1] = 2;
    assert_int_equal(mime_part_find(&r.p, nums, 2), MIME_NONE);
    nums[0] = 3;
    assert_int_equal(mime_part_find(&r.p, nums, 1), MIME_NONE);
    nums[0] = 0;
    assert_int_equal(mime_part_find(&r.p, nums, 1), MIME_NONE);
    assert_int_equal((int)mime_part_find(&r.p, nums, 0), 0);
    result_free(&r);

    /* missing closing boundaries: both multiparts say so */
    parse(&corpus[3], NULL, 0, &r);
    assert_true(mime_part_at(&r.p, 0)->flags & MIME_PF_NO_END);
    assert_true(mime_part_at(&r.p, 1)->flags & MIME_PF_NO_END);
    nums[0] = 1;
    nums[1] = 2;
    assert_int_equal((int)mime_part_find(&r.p, nums, 2), 3); /* the html part */
    result_free(&r);

    /* a part closed properly has no such flag; a single-part message's "1" is itself */
    parse(&corpus[1], NULL, 0, &r);
    assert_false(mime_part_at(&r.p, 0)->flags & MIME_PF_NO_END);
    result_free(&r);
    parse(&corpus[0], NULL, 0, &r);
    nums[0] = 1;
    assert_int_equal((int)mime_part_find(&r.p, nums, 1), 0);
    nums[1] = 1;
    assert_int_equal(mime_part_find(&r.p, nums, 2), MIME_NONE);
    result_free(&r);
}

/* Limits at N and N+1: depth, parts and header size. */
static void nest(struct yb_buf *m, unsigned levels)
{
    for (unsigned i = 0; i < levels; i++)
        yb_buf_append_cstr(m, "Content-Type: message/rfc822\r\n\r\n");
    yb_buf_append_cstr(m, "Subject: deepest\r\n\r\nbody\r\n");
}

static void test_limits(void **state)
{
    struct mime_limits lim;
    struct mime_parser p;
    struct yb_buf m;
    (void)state;

    mime_limits_default(&lim);
    lim.depth = 4;
    lim.parts = 6;
    lim.header = 64;

    /* depth 4: four message/rfc822 levels are parts, the fifth stays a body */
    yb_buf_init(&m, 1 << 16);
    nest(&m, 4);
    mime_parser_init(&p, &lim, NULL);
    assert_int_equal(mime_parser_feed(&p, m.p, m.len), 0);
    assert_int_equal(mime_parser_finish(&p), 0);
    assert_int_equal((int)p.nparts, 5);
    assert_false(p.flags & MIME_MF_LIMITED);
    mime_parser_free(&p);
    yb_buf_reset(&m);
    nest(&m, 5);
    mime_parser_init(&p, &lim, NULL);
    assert_int_equal(mime_parser_feed(&p, m.p, m.len), 0);
    assert_int_equal(mime_parser_finish(&p), 0);
    assert_int_equal((int)p.nparts, 5);
    assert_true(p.flags & MIME_MF_LIMITED);
    assert_int_equal(mime_part_at(&p, 4)->kind, MIME_LEAF);
    mime_parser_free(&p);

    /* parts: a multipart with 5 children is 6 parts; a sixth child is not a part */
    for (int extra = 0; extra <= 1; extra++) {
        yb_buf_reset(&m);
        yb_buf_append_cstr(&m, "Content-Type: multipart/mixed; boundary=q\r\n\r\n");
        for (int i = 0; i < 5 + extra; i++)
            yb_buf_printf(&m, "--q\r\n\r\npart %d\r\n", i);
        yb_buf_append_cstr(&m, "--q--\r\n");
        mime_parser_init(&p, &lim, NULL);
        assert_int_equal(mime_parser_feed(&p, m.p, m.len), 0);
        assert_int_equal(mime_parser_finish(&p), 0);
        assert_int_equal((int)p.nparts, 6);
        assert_int_equal((p.flags & MIME_MF_LIMITED) != 0, extra);
        mime_parser_free(&p);
    }

    /* header: a 64-byte block is kept; past that the part is flagged but its body is still found */
    for (int extra = 0; extra <= 1; extra++) {
        yb_buf_reset(&m);
        yb_buf_printf(&m, "Subject: %.*s\r\n\r\nbody", 51 + extra,
                      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        mime_parser_init(&p, &lim, NULL);
        assert_int_equal(mime_parser_feed(&p, m.p, m.len), 0);
        assert_int_equal(mime_parser_finish(&p), 0);
        assert_int_equal((mime_part_at(&p, 0)->flags & MIME_PF_HDR_TRUNC) != 0, extra);
        assert_int_equal((int)mime_part_at(&p, 0)->body_size, 4);
        mime_parser_free(&p);
    }
    yb_buf_free(&m);
}

/* ---- IMAP syntax of what is written ---- */

/*
 * Reads one IMAP value at s[*i]: NIL, a number, a quoted string, a literal
 * or a parenthesised list. Returns the number of list items (for lists), 0
 * for others, -1 for bad syntax.
 */
static int sexp(const char *s, size_t len, size_t *i)
{
    if (*i >= len)
        return -1;
    if (s[*i] == '(') {
        int n = 0;
        (*i)++;
        for (;;) {
            if (*i < len && s[*i] == ')') {
                (*i)++;
                return n;
            }
            if (n > 0 && s[*i] == ' ')
                (*i)++;
            /* lists of lists are written without a space (body-type-mpart) */
            if (sexp(s, len, i) < 0)
                return -1;
            n++;
        }
    }
    if (s[*i] == '"') {
        for ((*i)++; *i < len && s[*i] != '"'; (*i)++) {
            if (s[*i] == '\\')
                (*i)++;
            else if ((unsigned char)s[*i] < 0x20 || (unsigned char)s[*i] >= 0x7f)
                return -1;
        }
        if (*i >= len)
            return -1;
        (*i)++;
        return 0;
    }
    if (s[*i] == '{') {
        size_t n = 0;
        for ((*i)++; *i < len && s[*i] >= '0' && s[*i] <= '9'; (*i)++)
            n = n * 10 + (size_t)(s[*i] - '0');
        if (*i + 3 > len || s[*i] != '}' || s[*i + 1] != '\r' || s[*i + 2] != '\n')
            return -1;
        *i += 3 + n;
        return *i <= len ? 0 : -1;
    }
    if (len - *i >= 3 && memcmp(s + *i, "NIL", 3) == 0) {
        *i += 3;
        return 0;
    }
    if (s[*i] >= '0' && s[*i] <= '9') {
        while (*i < len && s[*i] >= '0' && s[*i] <= '9')
            (*i)++;
        return 0;
    }
    return -1;
}

static void expect_sexp(struct yb_slice out, const char *what)
{
    size_t i = 0;
    if (sexp((const char *)out.p, out.len, &i) < 0 || i != out.len) {
        print_error("%s is not one IMAP value: %.*s\n", what, (int)out.len, (const char *)out.p);
        fail();
    }
}

/* A boundary of YB_MIME_LIMIT_BOUNDARY bytes works; one byte more is not a multipart. */
static void test_boundary_limit(void **state)
{
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        char b[YB_MIME_LIMIT_BOUNDARY + 2];
        struct yb_buf m;
        struct mime_parser p;
        size_t bl = YB_MIME_LIMIT_BOUNDARY + (size_t)extra;
        memset(b, 'q', bl);
        b[bl] = '\0';
        yb_buf_init(&m, 1 << 16);
        yb_buf_printf(
            &m, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n\r\nx\r\n--%s--\r\n",
            b, b, b);
        mime_parser_init(&p, NULL, NULL);
        assert_int_equal(mime_parser_feed(&p, m.p, m.len), 0);
        assert_int_equal(mime_parser_finish(&p), 0);
        assert_int_equal(mime_part_at(&p, 0)->kind, extra ? MIME_LEAF : MIME_MULTIPART);
        assert_int_equal((int)p.nparts, extra ? 1 : 2);
        mime_parser_free(&p);
        yb_buf_free(&m);
    }
}

/* Stored field values: past the total, fields are dropped and the message says so. */
static void test_fields_limit(void **state)
{
    static const char msg[] = "Subject: 0123456789\r\nFrom: a@b\r\n\r\nbody";
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        struct mime_limits lim;
        struct mime_parser p;
        mime_limits_default(&lim);
        lim.fields = 13 - (size_t)extra; /* "0123456789" + "a@b" */
        mime_parser_init(&p, &lim, NULL);
        assert_int_equal(mime_parser_feed(&p, msg, sizeof(msg) - 1), 0);
        assert_int_equal(mime_parser_finish(&p), 0);
        assert_int_equal((p.flags & MIME_MF_LIMITED) != 0, extra);
        assert_non_null(mime_part_field(&p, mime_part_at(&p, 0), MIME_F_SUBJECT).p);
        assert_int_equal(mime_part_field(&p, mime_part_at(&p, 0), MIME_F_FROM).p == NULL, extra);
        mime_parser_free(&p);
    }
}

/* YB_MIME_LIMIT_ADDRESSES addresses are listed; the next one is dropped. */
static void test_address_limit(void **state)
{
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        struct yb_buf v, out;
        size_t count = 0;
        yb_buf_init(&v, 1 << 20);
        yb_buf_init(&out, 1 << 20);
        for (int i = 0; i < YB_MIME_LIMIT_ADDRESSES + extra; i++)
            yb_buf_printf(&v, "%su%d@h", i ? ", " : "", i);
        assert_int_equal(mime_imap_addresses(&out, yb_buf_slice(&v)), 0);
        for (size_t i = 0; i + 4 <= out.len; i++)
            count += memcmp(out.p + i, "(NIL", 4) == 0;
        assert_int_equal((int)count, YB_MIME_LIMIT_ADDRESSES);
        expect_sexp(yb_buf_slice(&out), "address list");
        yb_buf_free(&v);
        yb_buf_free(&out);
    }
}

/* NUL and invalid UTF-8 anywhere: still one well-formed BODYSTRUCTURE. */
static void test_nul_and_8bit(void **state)
{
    static const char msg[] = "Subject: a\0b\xff\r\nContent-Type: text/plain\r\n\r\n\0\xff\xfe";
    struct mime_parser p;
    struct yb_buf out;
    (void)state;
    mime_parser_init(&p, NULL, NULL);
    assert_int_equal(mime_parser_feed(&p, msg, sizeof(msg) - 1), 0);
    assert_int_equal(mime_parser_finish(&p), 0);
    yb_buf_init(&out, 4096);
    assert_int_equal(mime_envelope_write(&p, 0, &out), 0);
    /* the Subject goes out as a literal, byte for byte */
    assert_memory_equal(out.p, "(NIL {4}\r\na\0b\xff NIL", 18);
    yb_buf_reset(&out);
    assert_int_equal(mime_body_write(&p, 0, true, &out), 0);
    assert_string_equal(yb_buf_cstr(&out),
                        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL "
                        "NIL NIL NIL)");
    yb_buf_free(&out);
    mime_parser_free(&p);
}

static void test_cache_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(corpus); i++) {
        struct result r;
        struct yb_buf blob;
        struct mime_cached c;
        uint32_t nums[2] = { 2, 1 };

        parse(&corpus[i], NULL, 0, &r);
        yb_buf_init(&blob, 1 << 20);
        assert_int_equal(mime_cache_write(&r.p, &blob), 0);
        assert_int_equal(mime_cache_read(blob.p, blob.len, &c), 0);
        assert_true(yb_slice_eq(c.bodystructure, yb_buf_slice(&r.bs)));
        assert_true(yb_slice_eq(c.body, yb_buf_slice(&r.body)));
        assert_true(yb_slice_eq(c.envelope, yb_buf_slice(&r.env)));
        assert_int_equal((int)c.nparts, (int)r.p.nparts);
        for (uint32_t k = 0; k < c.nparts; k++) {
            assert_true(c.parts[k].body_off == r.p.parts[k].body_off);
            assert_true(c.parts[k].body_size == r.p.parts[k].body_size);
            assert_true(c.parts[k].body_lines == r.p.parts[k].body_lines);
        }
        assert_int_equal(mime_tree_find(c.parts, c.nparts, nums, 2), mime_part_find(&r.p, nums, 2));
        mime_cached_free(&c);
        /* Every truncation is refused, never misread. */
        for (size_t cut = 0; cut < blob.len; cut++) {
            unsigned char *t = malloc(cut + 1);
            assert_non_null(t);
            memcpy(t, blob.p, cut);
            assert_int_equal(mime_cache_read(t, cut, &c), YB_EPARSE);
            free(t);
        }
        /* Another version is refused. */
        blob.p[3] = '9';
        assert_int_equal(mime_cache_read(blob.p, blob.len, &c), YB_EPARSE);
        yb_buf_free(&blob);
        result_free(&r);
    }
}

/* A small deterministic generator (xorshift), so a failure can be replayed. */
static uint32_t rnd(uint32_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 17;
    *st ^= *st << 5;
    return *st;
}

/* Address headers glued from RFC 5322's pieces, good and bad: always an IMAP address list. */
static void test_random_addresses(void **state)
{
    static const char *const pieces[] = {
        "a@b",       "\"x, y\"", "\"q\\\"", "<",  ">",     ",",
        ";",         ":",        "(c)",     "(",  ")",     "@",
        "[1.2.3.4]", " ",        "Name",    "\\", "\xff",  "=?utf-8?q?x?=",
        "group:",    "<>",       "@r,@s:",  ".",  "\r\n ",
    };
    uint32_t seed = 0xADD5u;
    uint64_t t0 = pal_time_mono_ms();
    (void)state;
    for (int round = 0; round < 3000 && pal_time_mono_ms() - t0 < 20000; round++) {
        char v[512];
        size_t len = 0;
        unsigned n = rnd(&seed) % 16;
        struct yb_buf out;
        for (unsigned k = 0; k < n; k++) {
            const char *pc = pieces[rnd(&seed) % YB_ARRAY_LEN(pieces)];
            memcpy(v + len, pc, strlen(pc));
            len += strlen(pc);
        }
        yb_buf_init(&out, 1 << 20);
        assert_int_equal(mime_imap_addresses(&out, yb_slice_make(v, len)), 0);
        expect_sexp(yb_buf_slice(&out), "address list");
        /* every address is four values */
        if (out.len > 3) {
            size_t i = 1;
            while (i < out.len - 1) {
                size_t before = i;
                int items = sexp((const char *)out.p, out.len, &i);
                if (items != 4) {
                    print_error("address with %d items at %u: %s (input %.*s)\n", items,
                                (unsigned)before, yb_buf_cstr(&out), (int)len, v);
                    fail();
                }
            }
        }
        yb_buf_free(&out);
    }
}

/* ---- random messages ---- */

/*
 * Messages glued from MIME's pieces, well-formed or not. However they are
 * cut, the parse must be the same, and every part must lie inside its parent
 * with each leaf's bytes exactly the message's bytes at its offsets.
 */
static void test_random_messages(void **state)
{
    static const char *const pieces[] = {
        "Content-Type: multipart/mixed; boundary=b\r\n",
        "Content-Type: multipart/alternative; boundary=\"c d\"\r\n",
        "Content-Type: message/rfc822\r\n",
        "Content-Type: text/plain\r\n",
        "Content-Transfer-Encoding: base64\r\n",
        "Subject: =?UTF-8?Q?x?=\r\n",
        "From: a@b\r\n",
        " folded\r\n",
        "\r\n",
        "\n",
        "\r",
        "--b\r\n",
        "--b--\r\n",
        "--b",
        "--c d\r\n",
        "--c d--\n",
        "-",
        "--",
        "text",
        "line\r\n",
        "\xff\xfe",
        "\0",
        "Header-Without-Colon\r\n",
    };
    struct mime_limits lim;
    uint32_t seed = 0xC0FFEEu;
    uint64_t t0 = pal_time_mono_ms();
    (void)state;

    mime_limits_default(&lim);
    lim.depth = 6;
    lim.parts = 12;
    lim.header = 200;
    for (int round = 0; round < 600 && pal_time_mono_ms() - t0 < 20000; round++) {
        char msg[2048];
        size_t len = 0;
        unsigned n = 1 + rnd(&seed) % 40;
        for (unsigned k = 0; k < n; k++) {
            const char *pc = pieces[rnd(&seed) % YB_ARRAY_LEN(pieces)];
            size_t pl = pc[0] == '\0' ? 1 : strlen(pc);
            if (len + pl > sizeof(msg))
                break;
            memcpy(msg + len, pc, pl);
            len += pl;
        }
        struct yb_buf ref;
        yb_buf_init(&ref, 1 << 20);
        for (int way = 0; way < 3; way++) {
            struct collect col;
            struct mime_callbacks cb = { 0 };
            struct mime_parser p;
            struct yb_buf bs;
            size_t at = 0, cut = len ? rnd(&seed) % (len + 1) : 0;

            for (int i = 0; i < 16; i++)
                yb_buf_init(&col.body[i], 1 << 20);
            cb.ctx = &col;
            cb.body = on_body;
            mime_parser_init(&p, &lim, &cb);
            while (at < len) {
                size_t step = way == 0 ? len : way == 1 ? 1 : (at < cut ? cut - at : len - at);
                if (step == 0)
                    step = len - at;
                assert_int_equal(mime_parser_feed(&p, msg + at, step), 0);
                at += step;
            }
            assert_int_equal(mime_parser_finish(&p), 0);
            yb_buf_init(&bs, 1 << 20);
            assert_int_equal(mime_body_write(&p, 0, true, &bs), 0);
            expect_sexp(yb_buf_slice(&bs), "BODYSTRUCTURE");
            {
                struct yb_buf env;
                yb_buf_init(&env, 1 << 20);
                assert_int_equal(mime_envelope_write(&p, 0, &env), 0);
                expect_sexp(yb_buf_slice(&env), "ENVELOPE");
                yb_buf_free(&env);
            }
            for (uint32_t i = 0; i < p.nparts; i++) {
                const struct mime_part *m = mime_part_at(&p, i);
                assert_true(m->hdr_off + m->hdr_size == m->body_off);
                assert_true(m->body_off + m->body_size <= len);
                if (m->parent != MIME_NONE) {
                    const struct mime_part *par = mime_part_at(&p, m->parent);
                    assert_true(m->hdr_off >= par->body_off);
                    assert_true(m->body_off + m->body_size <= par->body_off + par->body_size);
                }
                if (m->kind == MIME_LEAF && i < 16) {
                    assert_int_equal((int)col.body[i].len, (int)m->body_size);
                    if (m->body_size > 0)
                        assert_memory_equal(col.body[i].p, msg + m->body_off, (size_t)m->body_size);
                }
            }
            if (way == 0) {
                assert_int_equal(yb_buf_append_slice(&ref, yb_buf_slice(&bs)), 0);
            } else if (!yb_slice_eq(yb_buf_slice(&ref), yb_buf_slice(&bs))) {
                print_error("round %d way %d cut %u:\n%s\n%s\n", round, way, (unsigned)cut,
                            yb_buf_cstr(&ref), yb_buf_cstr(&bs));
                fail();
            }
            yb_buf_free(&bs);
            for (int i = 0; i < 16; i++)
                yb_buf_free(&col.body[i]);
            mime_parser_free(&p);
        }
        yb_buf_free(&ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),           cmocka_unit_test(test_flags_and_find),
        cmocka_unit_test(test_limits),           cmocka_unit_test(test_nul_and_8bit),
        cmocka_unit_test(test_cache_roundtrip),  cmocka_unit_test(test_random_messages),
        cmocka_unit_test(test_random_addresses), cmocka_unit_test(test_boundary_limit),
        cmocka_unit_test(test_fields_limit),     cmocka_unit_test(test_address_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
