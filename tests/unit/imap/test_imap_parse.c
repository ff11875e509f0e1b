/*
 * test_imap_parse.c - the IMAP command parser.
 *
 * Every case is a client byte stream (commands, CRLFs and literal bytes as a
 * client sends them) and the transcript the parser must produce: one line per
 * command, "OK <canonical form>" or "ERR <code> <tag>". Each stream is run
 * three ways, which must all give that transcript:
 *   - imap_parser_feed with the whole stream,
 *   - imap_parser_feed one byte at a time,
 *   - the engine's way: imap_parser_line per line, literal bytes through
 *     imap_parser_literal_data one byte at a time, a refused line's
 *     non-synchronising literal dropped by the caller.
 * Limits are tested at N and N+1 with small limits so the streams stay short,
 * and once with the defaults (64 KiB lines).
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
#include "imap_parse.h"

/* ---- the harness ---- */

struct harness {
    struct imap_parser p;
    struct yb_buf out;      /* the transcript */
    struct yb_buf streamed; /* bytes a sink received */
    uint64_t stream_from;   /* literals at least this big are streamed (0: never) */
    int sink_error;         /* what the sink returns */
};

static void put_bytes(struct yb_buf *b, struct yb_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < 0x20 || s.p[i] > 0x7E)
            assert_int_equal(yb_buf_printf(b, "\\x%02x", (unsigned)s.p[i]), 0);
        else
            assert_int_equal(yb_buf_append_byte(b, s.p[i]), 0);
    }
}

static void dump_arg(struct harness *h, const struct imap_arg *a)
{
    struct imap_parser *p = &h->p;
    struct yb_buf *b = &h->out;

    switch ((enum imap_arg_type)a->type) {
    case IMAP_ARG_ATOM: put_bytes(b, imap_arg_value(p, a)); break;
    case IMAP_ARG_NIL: yb_buf_append_cstr(b, "NIL"); break;
    case IMAP_ARG_QUOTED:
        yb_buf_append_byte(b, '"');
        put_bytes(b, imap_arg_value(p, a));
        yb_buf_append_byte(b, '"');
        break;
    case IMAP_ARG_LITERAL:
        yb_buf_printf(b, "%s{%u%s}", (a->flags & IMAP_ARGF_LITERAL8) ? "~" : "", (unsigned)a->len,
                      (a->flags & IMAP_ARGF_NONSYNC) ? "+" : "");
        if (a->flags & IMAP_ARGF_STREAMED)
            yb_buf_append_cstr(b, (a->flags & IMAP_ARGF_NUL) ? "<streamed,nul>" : "<streamed>");
        else
            put_bytes(b, imap_arg_value(p, a));
        break;
    case IMAP_ARG_LIST:
        yb_buf_append_byte(b, '(');
        for (const struct imap_arg *c = imap_arg_nth(p, a, 0); c != NULL; c = imap_arg_next(p, c)) {
            if (c != imap_arg_nth(p, a, 0))
                yb_buf_append_byte(b, ' ');
            dump_arg(h, c);
        }
        yb_buf_append_byte(b, ')');
        break;
    }
}

static void on_command(struct harness *h)
{
    const struct imap_arg *root = imap_args(&h->p);
    yb_buf_append_cstr(&h->out, "OK ");
    put_bytes(&h->out, imap_parser_tag(&h->p));
    yb_buf_append_byte(&h->out, ' ');
    put_bytes(&h->out, imap_parser_name(&h->p));
    for (const struct imap_arg *a = imap_arg_nth(&h->p, root, 0); a != NULL;
         a = imap_arg_next(&h->p, a)) {
        yb_buf_append_byte(&h->out, ' ');
        dump_arg(h, a);
    }
    yb_buf_append_byte(&h->out, '\n');
    imap_parser_reset(&h->p);
}

static void on_error(struct harness *h, int rc)
{
    yb_buf_printf(&h->out, "ERR %s ", yb_errname(rc));
    put_bytes(&h->out, imap_parser_tag(&h->p));
    yb_buf_append_byte(&h->out, '\n');
    assert_non_null(h->p.err_text);
    imap_parser_reset(&h->p);
}

static int sink_write(void *ctx, struct yb_slice chunk)
{
    struct harness *h = ctx;
    if (h->sink_error != 0)
        return h->sink_error;
    return yb_buf_append_slice(&h->streamed, chunk);
}

/* Handles IMAP_PARSE_LITERAL: stream or keep, as the case says. */
static int on_literal(struct harness *h)
{
    const struct imap_literal_info *li = imap_parser_literal_info(&h->p);
    struct imap_literal_sink sink = { sink_write, h };
    bool stream = h->stream_from > 0 && li->size >= h->stream_from;
    return imap_parser_literal_begin(&h->p, stream ? &sink : NULL);
}

static void run_feed(struct harness *h, const unsigned char *in, size_t len, size_t step)
{
    size_t i = 0;
    unsigned guard = 0;

    while (i < len) {
        size_t n = step == 0 || len - i < step ? len - i : step, used = 0;
        int rc = imap_parser_feed(&h->p, in + i, n, &used);
        assert_true(++guard < 1000000);
        i += used;
        if (rc == IMAP_PARSE_COMMAND) {
            on_command(h);
        } else if (rc == IMAP_PARSE_LITERAL) {
            rc = on_literal(h);
            if (rc < 0)
                on_error(h, rc); /* refused before any byte was read */
        } else if (rc < 0) {
            on_error(h, rc);
        }
    }
}

/* The engine's way: lines without CRLF, literal bytes in 1-byte chunks. */
static void run_lines(struct harness *h, const unsigned char *in, size_t len)
{
    size_t i = 0;
    uint64_t drop = 0;

    while (i < len) {
        int rc;
        if (drop > 0) {
            size_t n = len - i < drop ? len - i : (size_t)drop;
            i += n;
            drop -= n;
            continue;
        }
        if (h->p.stage == IMAP_STAGE_LIT_DATA) {
            size_t used;
            rc = imap_parser_literal_data(&h->p, in + i, 1, &used);
            assert_int_equal((int)used, 1);
            i++;
            if (rc < 0) {
                drop = imap_parser_take_discard(&h->p);
                on_error(h, rc);
            }
            continue;
        }
        const unsigned char *lf = memchr(in + i, '\n', len - i);
        if (lf == NULL)
            break; /* an unfinished line: the engine would wait */
        size_t n = (size_t)(lf - (in + i));
        struct yb_slice line = yb_slice_make(in + i, n && in[i + n - 1] == '\r' ? n - 1 : n);
        i += n + 1;
        rc = imap_parser_line(&h->p, line);
        if (rc == IMAP_PARSE_LITERAL) {
            rc = on_literal(h);
            if (rc < 0) {
                drop = imap_parser_take_discard(&h->p);
                on_error(h, rc);
                continue;
            }
        }
        if (rc == IMAP_PARSE_COMMAND) {
            on_command(h);
        } else if (rc == IMAP_PARSE_DISCARD) {
            drop = imap_parser_take_discard(&h->p);
        } else if (rc < 0) {
            drop = imap_parser_take_discard(&h->p);
            on_error(h, rc);
        }
    }
}

enum mode { FEED_WHOLE, FEED_BYTES, LINES };

static const char *run(struct harness *h, const struct imap_limits *lim, const void *in, size_t len,
                       enum mode m)
{
    unsigned char *d = malloc(len ? len : 1);
    assert_non_null(d);
    memcpy(d, in, len);
    imap_parser_init(&h->p, lim);
    yb_buf_init(&h->out, 1u << 20);
    yb_buf_init(&h->streamed, 1u << 20);
    if (m == LINES)
        run_lines(h, d, len);
    else
        run_feed(h, d, len, m == FEED_BYTES ? 1 : 0);
    free(d);
    imap_parser_free(&h->p);
    return yb_buf_cstr(&h->out);
}

static void done(struct harness *h)
{
    yb_buf_free(&h->out);
    yb_buf_free(&h->streamed);
}

/* Runs a stream all three ways and compares each transcript with expect. */
static void check(const char *name, const struct imap_limits *lim, const void *in, size_t len,
                  const char *expect, uint64_t stream_from)
{
    static const char *const mode_name[] = { "whole", "byte by byte", "lines" };
    for (int m = FEED_WHOLE; m <= LINES; m++) {
        struct harness h;
        memset(&h, 0, sizeof(h));
        h.stream_from = stream_from;
        const char *got = run(&h, lim, in, len, (enum mode)m);
        if (strcmp(got, expect) != 0) {
            print_error("case '%s' (%s):\n got:\n%s expected:\n%s", name, mode_name[m], got,
                        expect);
            fail();
        }
        done(&h);
    }
}

#define CHECK(name, lim, str, expect, from) check(name, lim, str, sizeof(str) - 1, expect, from)

/* ---- cases ---- */

struct pcase {
    const char *name;
    const char *in;
    size_t len;
    const char *expect;
};

#define IN(str) str, sizeof(str) - 1

static const struct pcase cases[] = {
    { "simple", IN("a1 NOOP\r\n"), "OK a1 NOOP\n" },
    { "bare LF", IN("a1 NOOP\n"), "OK a1 NOOP\n" },
    { "trailing space", IN("a1 NOOP \r\n"), "OK a1 NOOP\n" },
    { "two commands", IN("a1 NOOP\r\nb2 CAPABILITY\r\n"), "OK a1 NOOP\nOK b2 CAPABILITY\n" },
    { "atoms", IN("A2 LOGIN alice secret\r\n"), "OK A2 LOGIN alice secret\n" },
    { "tag with ]", IN("a]1 NOOP\r\n"), "OK a]1 NOOP\n" },
    { "quoted with escapes", IN("A3 LOGIN \"al\\\"ice\" \"se\\\\cret\"\r\n"),
      "OK A3 LOGIN \"al\"ice\" \"se\\cret\"\n" },
    { "empty quoted", IN("A3 LIST \"\" \"\"\r\n"), "OK A3 LIST \"\" \"\"\n" },
    { "UTF-8 quoted", IN("A3 SEARCH SUBJECT \"caf\xc3\xa9\"\r\n"),
      "OK A3 SEARCH SUBJECT \"caf\\xc3\\xa9\"\n" },
    { "literals", IN("A4 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n"),
      "OK A4 LOGIN {5}alice {6+}secret\n" },
    { "literal 0", IN("A5 LOGIN {0}\r\n {0+}\r\n\r\n"), "OK A5 LOGIN {0} {0+}\n" },
    { "literal with CRLF inside", IN("A6 X {4}\r\na\r\nb\r\n"), "OK A6 X {4}a\\x0d\\x0ab\n" },
    { "literal in list", IN("A7 X (a {2}\r\nbc d)\r\n"), "OK A7 X (a {2}bc d)\n" },
    { "literal8 with NUL", IN("A8 APPEND INBOX (\\Seen) ~{3}\r\na\0b\r\n"),
      "OK A8 APPEND INBOX (\\Seen) ~{3}a\\x00b\n" },
    { "fetch section", IN("A9 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>)\r\n"),
      "OK A9 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>)\n" },
    { "flags", IN("A10 STORE 1 +FLAGS.SILENT (\\Seen \\Deleted $Junk)\r\n"),
      "OK A10 STORE 1 +FLAGS.SILENT (\\Seen \\Deleted $Junk)\n" },
    { "wildcards", IN("A11 LIST \"\" %/*\r\n"), "OK A11 LIST \"\" %/*\n" },
    { "NIL", IN("A12 X NIL nil \"NIL\" NILS\r\n"), "OK A12 X NIL NIL \"NIL\" NILS\n" },
    { "nested and empty lists", IN("A13 X (a (b (c)) ()) ()\r\n"), "OK A13 X (a (b (c)) ()) ()\n" },
    { "list after literal", IN("A14 X {1}\r\na (b)\r\n"), "OK A14 X {1}a (b)\n" },
    /* errors */
    { "empty line", IN("\r\n"), "ERR YB_EPARSE \n" },
    { "leading space", IN(" a1 NOOP\r\n"), "ERR YB_EPARSE \n" },
    { "tag only", IN("a1\r\n"), "ERR YB_EPARSE a1\n" },
    { "tag with +", IN("a+1 NOOP\r\n"), "ERR YB_EPARSE \n" },
    { "two spaces before name", IN("a1  NOOP\r\n"), "ERR YB_EPARSE a1\n" },
    { "NUL in name", IN("a1 NO\0OP\r\n"), "ERR YB_EPARSE a1\n" },
    { "NUL in argument", IN("a1 X a\0b\r\n"), "ERR YB_EPARSE a1\n" },
    { "NUL in quoted", IN("a1 X \"a\0b\"\r\n"), "ERR YB_EPARSE a1\n" },
    { "NUL in literal", IN("a1 X {3}\r\na\0b\r\n"), "ERR YB_EPARSE a1\n" },
    { "invalid UTF-8 quoted", IN("a1 X \"a\xff\"\r\n"), "ERR YB_EILSEQ a1\n" },
    { "truncated UTF-8 quoted", IN("a1 X \"a\xc3\"\r\n"), "ERR YB_EILSEQ a1\n" },
    { "8-bit atom", IN("a1 X caf\xc3\xa9\r\n"), "ERR YB_EPARSE a1\n" },
    { "unterminated quote", IN("a1 X \"abc\r\n"), "ERR YB_EPARSE a1\n" },
    { "bad escape", IN("a1 X \"a\\x\"\r\n"), "ERR YB_EPARSE a1\n" },
    { "missing )", IN("a1 X (a (b)\r\n"), "ERR YB_EPARSE a1\n" },
    { "unexpected )", IN("a1 X a)\r\n"), "ERR YB_EPARSE a1\n" },
    { "no space between", IN("a1 X (a)(b)\r\n"), "ERR YB_EPARSE a1\n" },
    { "quoted glued to atom", IN("a1 X a\"b\"\r\n"), "ERR YB_EPARSE a1\n" },
    { "literal not last", IN("a1 X {3}x\r\n"), "ERR YB_EPARSE a1\n" },
    { "literal no digits", IN("a1 X {}\r\n"), "ERR YB_EPARSE a1\n" },
    { "literal in brackets", IN("a1 FETCH 1 BODY[HEADER.FIELDS ({4}\r\n"), "ERR YB_EPARSE a1\n" },
    { "missing ]", IN("a1 FETCH 1 BODY[TEXT\r\n"), "ERR YB_EPARSE a1\n" },
    { "error then recovery", IN("a1 X (\r\nb2 NOOP\r\n"), "ERR YB_EPARSE a1\nOK b2 NOOP\n" },
    /* A refused line's non-synchronising literal is data, not commands. */
    { "refused nonsync literal skipped", IN("a1 X ) {9+}\r\nb2 LOGOUT\r\nc3 NOOP\r\n"),
      "ERR YB_EPARSE a1\nOK c3 NOOP\n" },
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cases); i++) {
        const struct pcase *c = &cases[i];
        check(c->name, NULL, c->in, c->len, c->expect, 0);
    }
}

/* ---- limits at N and N+1 ---- */

static void small_limits(struct imap_limits *l)
{
    imap_limits_default(l);
    l->line = 40;
    l->literal = 100;
    l->literal_mem = 10;
    l->literal_nonsync = 20;
    l->depth = 3;
    l->args = 5;
    l->command = 200;
}

static void test_limit_line(void **state)
{
    struct imap_limits l;
    char in[128];
    (void)state;
    small_limits(&l);
    /* "a1 X " + 35 x's = 40 bytes: accepted; one more: refused with the tag, then recovery. */
    snprintf(in, sizeof(in), "a1 X %s\r\nb2 NOOP\r\n", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    check("line at limit", &l, in, strlen(in),
          "OK a1 X xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nOK b2 NOOP\n", 0);
    snprintf(in, sizeof(in), "a1 X %s\r\nb2 NOOP\r\n", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    check("line at limit+1", &l, in, strlen(in), "ERR YB_ELIMIT a1\nOK b2 NOOP\n", 0);
}

static void test_limit_line_default(void **state)
{
    size_t n = YB_IMAP_LIMIT_LINE;
    char *in = malloc(n + 32);
    (void)state;
    assert_non_null(in);
    /* A long UID set: "a1 UID FETCH 1,1,...,1 FLAGS" of exactly 64 KiB is accepted. */
    memcpy(in, "a1 UID FETCH ", 13);
    for (size_t i = 13; i < n - 6; i++)
        in[i] = (i - 13) % 2 == 0 ? '1' : ',';
    memcpy(in + n - 6, " FLAGS\r\n", 8);
    {
        struct harness h;
        memset(&h, 0, sizeof(h));
        const char *got = run(&h, NULL, in, n + 2, FEED_BYTES);
        assert_true(strncmp(got, "OK a1 UID FETCH 1,1,", 20) == 0);
        assert_true(strcmp(got + strlen(got) - 9, ",1 FLAGS\n") == 0);
        done(&h);
    }
    /* One byte longer than the limit: refused with the tag. */
    memcpy(in + n - 6, " FLAGSX\r\n", 9);
    for (int m = FEED_WHOLE; m <= LINES; m++) {
        struct harness h;
        memset(&h, 0, sizeof(h));
        const char *got = run(&h, NULL, in, n + 3, (enum mode)m);
        assert_string_equal(got, "ERR YB_ELIMIT a1\n");
        done(&h);
    }
    free(in);
}

static void test_limit_depth(void **state)
{
    struct imap_limits l;
    (void)state;
    small_limits(&l);
    CHECK("depth at limit", &l, "a1 X (((a)))\r\n", "OK a1 X (((a)))\n", 0);
    CHECK("depth at limit+1", &l, "a1 X ((((a))))\r\n", "ERR YB_ELIMIT a1\n", 0);
}

static void test_limit_args(void **state)
{
    struct imap_limits l;
    (void)state;
    small_limits(&l);
    CHECK("args at limit", &l, "a1 X a b (c d)\r\n", "OK a1 X a b (c d)\n", 0);
    CHECK("args at limit+1", &l, "a1 X a b (c d e)\r\n", "ERR YB_ELIMIT a1\n", 0);
}

static void test_limit_literal(void **state)
{
    struct imap_limits l;
    (void)state;
    small_limits(&l);
    /* In memory: 10 bytes kept, 11 refused before any byte is read. */
    CHECK("memory literal at limit", &l, "a1 X {10}\r\n0123456789\r\n", "OK a1 X {10}0123456789\n",
          0);
    CHECK("memory literal at limit+1", &l, "a1 X {11}\r\n", "ERR YB_ELIMIT a1\n", 0);
    /* Streamed: 100 accepted, 101 refused at the announcement. */
    {
        char in[256];
        int n = snprintf(in, sizeof(in), "a1 APPEND INBOX {100}\r\n%0100d\r\n", 7);
        check("streamed literal at limit", &l, in, (size_t)n,
              "OK a1 APPEND INBOX {100}<streamed>\n", 11);
    }
    CHECK("literal at limit+1", &l, "a1 APPEND INBOX {101}\r\n", "ERR YB_ELIMIT a1\n", 11);
    /* LITERAL-: a non-synchronising literal of 20 is fine, 21 is refused and its bytes skipped. */
    CHECK("nonsync at limit", &l, "a1 X {20+}\r\n01234567890123456789\r\n",
          "OK a1 X {20+}<streamed>\n", 11);
    CHECK("nonsync at limit+1", &l, "a1 X {21+}\r\n012345678901234567890\r\nb2 NOOP\r\n",
          "ERR YB_ELIMIT a1\nOK b2 NOOP\n", 11);
}

static void test_streamed_literal(void **state)
{
    static const char in[] = "A1 APPEND Sent (\\Seen) {12}\r\nHello\0world!\r\n";
    (void)state;
    for (int m = FEED_WHOLE; m <= LINES; m++) {
        struct harness h;
        memset(&h, 0, sizeof(h));
        h.stream_from = 1;
        const char *got = run(&h, NULL, in, sizeof(in) - 1, (enum mode)m);
        assert_string_equal(got, "OK A1 APPEND Sent (\\Seen) {12}<streamed,nul>\n");
        assert_int_equal((int)h.streamed.len, 12);
        assert_memory_equal(h.streamed.p, "Hello\0world!", 12);
        done(&h);
    }
}

/* What the caller learns before a literal: size, sync, and the arguments so far. */
static void test_literal_info(void **state)
{
    struct imap_parser p;
    const struct imap_literal_info *li;
    (void)state;

    imap_parser_init(&p, NULL);
    assert_int_equal(imap_parser_line(&p, YB_SLICE_LIT("a1 APPEND INBOX (\\Seen) ~{5000}")),
                     IMAP_PARSE_LITERAL);
    li = imap_parser_literal_info(&p);
    assert_int_equal((int)li->size, 5000);
    assert_true(li->sync);
    assert_true(li->binary);
    assert_int_equal((int)li->argc, 2);
    /* Arguments before the literal are readable now (quota/APPENDLIMIT checks). */
    assert_true(imap_arg_is_word(&p, imap_arg_nth(&p, imap_args(&p), 0), "inbox"));
    /* Refusing it: reset, and the parser takes the next command. */
    imap_parser_reset(&p);
    assert_int_equal(imap_parser_line(&p, YB_SLICE_LIT("a2 NOOP")), IMAP_PARSE_COMMAND);
    imap_parser_free(&p);
}

#define SINK_IN1 "a1 APPEND X {11}\r\nb2 LOGOUT\r\n\r\nc3 NOOP\r\n"
#define SINK_IN2 "a1 APPEND X {11}\r\nb2 LOGOUT\r\n (x) {2+}\r\nab\r\nc3 NOOP\r\n"

static void test_sink_error(void **state)
{
    struct harness h;
    (void)state;
    memset(&h, 0, sizeof(h));
    h.stream_from = 1;
    h.sink_error = YB_ENOSPC;
    /* The sink fails: the command is refused and the rest of the literal is not a command. */
    const char *got = run(&h, NULL, SINK_IN1, sizeof(SINK_IN1) - 1, FEED_BYTES);
    assert_string_equal(got, "ERR YB_ENOSPC a1\nOK c3 NOOP\n");
    done(&h);
    memset(&h, 0, sizeof(h));
    h.stream_from = 1;
    h.sink_error = YB_ENOSPC;
    got = run(&h, NULL, SINK_IN2, sizeof(SINK_IN2) - 1, LINES);
    assert_string_equal(got, "ERR YB_ENOSPC a1\nOK c3 NOOP\n");
    done(&h);
}

/* ---- memory ---- */

static int count_sink(void *ctx, struct yb_slice chunk)
{
    *(uint64_t *)ctx += chunk.len;
    return 0;
}

/*
 * A 50 MiB APPEND streams through in flat memory, and an idle parser is
 * small again after big commands (idle IMAP sessions must stay a few KiB).
 */
static void test_memory(void **state)
{
    static unsigned char chunk[64 * 1024];
    struct imap_parser p;
    uint64_t got = 0, total = UINT64_C(50) * 1024 * 1024;
    struct imap_literal_sink sink = { count_sink, &got };
    char line[64];
    (void)state;

    assert_true(sizeof(struct imap_parser) < 1024);
    imap_parser_init(&p, NULL);
    snprintf(line, sizeof(line), "a1 APPEND INBOX {%llu}", (unsigned long long)total);
    assert_int_equal(imap_parser_line(&p, yb_slice_cstr(line)), IMAP_PARSE_LITERAL);
    assert_int_equal(imap_parser_literal_begin(&p, &sink), 0);
    memset(chunk, 'x', sizeof(chunk));
    for (uint64_t sent = 0; sent < total; sent += sizeof(chunk)) {
        size_t used;
        int rc = imap_parser_literal_data(&p, chunk, sizeof(chunk), &used);
        assert_int_equal((int)used, (int)sizeof(chunk));
        assert_int_equal(rc,
                         sent + sizeof(chunk) < total ? IMAP_PARSE_MORE : IMAP_PARSE_LITERAL_END);
        assert_true(p.data.cap <= 4096); /* nothing of the literal is kept */
    }
    assert_true(got == total);
    assert_int_equal(imap_parser_line(&p, YB_SLICE_LIT("")), IMAP_PARSE_COMMAND);
    imap_parser_reset(&p);

    /* A command with a 60 KiB line and a 64 KiB in-memory literal, then reset. */
    {
        static char big[60 * 1024];
        memset(big, 'y', sizeof(big));
        memcpy(big, "a2 X ", 5);
        assert_int_equal(imap_parser_line(&p, yb_slice_make(big, sizeof(big))), IMAP_PARSE_COMMAND);
        imap_parser_reset(&p);
        assert_int_equal(imap_parser_line(&p, YB_SLICE_LIT("a3 X {65536}")), IMAP_PARSE_LITERAL);
        assert_int_equal(imap_parser_literal_begin(&p, NULL), 0);
        for (int i = 0; i < 2; i++) {
            size_t used;
            (void)imap_parser_literal_data(&p, chunk, 32 * 1024, &used);
        }
        assert_int_equal(imap_parser_line(&p, YB_SLICE_LIT("")), IMAP_PARSE_COMMAND);
        assert_true(p.data.cap > 64 * 1024);
        imap_parser_reset(&p);
        assert_true(p.data.cap <= 4096 && p.line.cap <= 4096 && p.args_cap <= 64);
    }
    imap_parser_free(&p);
}

/* ---- random streams ---- */

/* A small deterministic generator (xorshift), so a failure can be replayed. */
static uint32_t rnd(uint32_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 17;
    *st ^= *st << 5;
    return *st;
}

/*
 * Streams glued from the pieces commands are made of, good and bad. Whatever
 * they say, the three ways of feeding must agree on every command and error.
 */
static void test_random_streams(void **state)
{
    static const char *const pieces[] = {
        "a1 ",
        "B2 ",
        "NOOP",
        "FETCH",
        " ",
        "  ",
        "\r\n",
        "\n",
        "\r",
        "(",
        ")",
        "\"x\"",
        "\"a\\\"b\"",
        "\"",
        "{3}\r\nabc",
        "{2+}\r\nxy",
        "{0}\r\n",
        "~{2}\r\n\0\1",
        "{5000+}",
        "{99999999999999999999}",
        "NIL",
        "1:*",
        "BODY[HEADER.FIELDS (A B)]<0.5>",
        "[",
        "]",
        "\0",
        "\xff",
        "\xc3\xa9",
        "*",
        "%",
        "\\Seen",
        "+",
        "{",
        "}",
    };
    struct imap_limits lim;
    uint32_t seed = 0x1234567u;
    uint64_t t0 = pal_time_mono_ms();
    (void)state;

    imap_limits_default(&lim);
    lim.line = 64;
    lim.literal_mem = 16;
    lim.literal_nonsync = 8;
    lim.depth = 4;
    lim.args = 12;
    for (int round = 0; round < 2000 && pal_time_mono_ms() - t0 < 20000; round++) {
        unsigned char buf[1024];
        size_t len = 0;
        unsigned n = 1 + rnd(&seed) % 24;
        for (unsigned k = 0; k < n; k++) {
            const char *pc = pieces[rnd(&seed) % YB_ARRAY_LEN(pieces)];
            /* the pieces with NUL in them say how long they are through a table entry */
            size_t pl = strcmp(pc, "~{2}\r\n") == 0 ? 8 : pc[0] == '\0' ? 1 : strlen(pc);
            if (len + pl > sizeof(buf))
                break;
            memcpy(buf + len, pc, pl);
            len += pl;
        }
        char *ref = NULL;
        for (int m = FEED_WHOLE; m <= LINES; m++) {
            struct harness h;
            memset(&h, 0, sizeof(h));
            h.stream_from = 9; /* literals above 8 bytes are streamed */
            const char *got = run(&h, &lim, buf, len, (enum mode)m);
            if (ref == NULL) {
                ref = malloc(strlen(got) + 1);
                assert_non_null(ref);
                memcpy(ref, got, strlen(got) + 1);
            } else if (strcmp(ref, got) != 0) {
                struct yb_buf in;
                yb_buf_init(&in, 8192);
                put_bytes(&in, yb_slice_make(buf, len));
                print_error("round %d mode %d, input %s:\n%s---\n%s", round, m, yb_buf_cstr(&in),
                            ref, got);
                yb_buf_free(&in);
                fail();
            }
            done(&h);
        }
        free(ref);
    }
}

/* ---- sections ---- */

struct scase {
    const char *in;
    int rc;
    int kind, peek, nparts, text, nfields, partial;
    uint64_t offset;
    uint32_t length;
};

static const struct scase scases[] = {
    { "BODY[]", 0, IMAP_SECT_BODY, 0, 0, IMAP_TEXT_NONE, 0, 0, 0, 0 },
    { "body.peek[]", 0, IMAP_SECT_BODY, 1, 0, IMAP_TEXT_NONE, 0, 0, 0, 0 },
    { "BODY[1.2.3]", 0, IMAP_SECT_BODY, 0, 3, IMAP_TEXT_NONE, 0, 0, 0, 0 },
    { "BODY[HEADER]", 0, IMAP_SECT_BODY, 0, 0, IMAP_TEXT_HEADER, 0, 0, 0, 0 },
    { "BODY[2.HEADER]", 0, IMAP_SECT_BODY, 0, 1, IMAP_TEXT_HEADER, 0, 0, 0, 0 },
    { "BODY[2.MIME]", 0, IMAP_SECT_BODY, 0, 1, IMAP_TEXT_MIME, 0, 0, 0, 0 },
    { "BODY[TEXT]<0.10>", 0, IMAP_SECT_BODY, 0, 0, IMAP_TEXT_TEXT, 0, 1, 0, 10 },
    { "BODY.PEEK[HEADER.FIELDS (From To \"Subject\")]", 0, IMAP_SECT_BODY, 1, 0,
      IMAP_TEXT_HEADER_FIELDS, 3, 0, 0, 0 },
    { "BODY[1.HEADER.FIELDS.NOT (Received)]<100.4294967295>", 0, IMAP_SECT_BODY, 0, 1,
      IMAP_TEXT_HEADER_FIELDS_NOT, 1, 1, 100, 4294967295u },
    { "BINARY[1]", 0, IMAP_SECT_BINARY, 0, 1, IMAP_TEXT_NONE, 0, 0, 0, 0 },
    { "BINARY.PEEK[1.2]<5.5>", 0, IMAP_SECT_BINARY, 1, 2, IMAP_TEXT_NONE, 0, 1, 5, 5 },
    { "BINARY.SIZE[3]", 0, IMAP_SECT_BINARY_SIZE, 0, 1, IMAP_TEXT_NONE, 0, 0, 0, 0 },
    { "FLAGS", YB_ENOTFOUND, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY", YB_ENOTFOUND, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[MIME]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[0]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[01]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[1.]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[4294967296]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[HEADER.FIELDS]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[HEADER.FIELDS ()]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[TEXTX]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[]<0>", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[]<0.0>", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[]<0.10", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[]x", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BINARY[TEXT]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BINARY.SIZE[1]<0.1>", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "FOO[1]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "", YB_ENOTFOUND, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[\xff]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
    { "BODY[HEADER.FIELDS (\xc3\xa9)]", YB_EPARSE, 0, 0, 0, 0, 0, 0, 0, 0 },
};

static void test_sections(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(scases); i++) {
        const struct scase *c = &scases[i];
        struct imap_section s;
        size_t len = strlen(c->in);
        char *d = malloc(len);
        assert_non_null(d);
        memcpy(d, c->in, len);
        int rc = imap_section_parse(yb_slice_make(d, len), &s);
        if (rc != c->rc) {
            print_error("section '%s': %s, expected %s\n", c->in, yb_errname(rc),
                        yb_errname(c->rc));
            fail();
        }
        if (rc == 0) {
            assert_int_equal((int)s.kind, c->kind);
            assert_int_equal((int)s.peek, c->peek);
            assert_int_equal((int)s.nparts, c->nparts);
            assert_int_equal((int)s.text, c->text);
            assert_int_equal((int)s.nfields, c->nfields);
            assert_int_equal((int)s.partial, c->partial);
            assert_true(s.offset == c->offset);
            assert_true(s.length == c->length);
        }
        free(d);
    }
}

/* NUL inside a section: refused (the table uses strlen). */
static void test_section_nul(void **state)
{
    struct imap_section s;
    (void)state;
    assert_int_equal(imap_section_parse(yb_slice_make("BODY[1\0]", 8), &s), YB_EPARSE);
    assert_int_equal(imap_section_parse(yb_slice_make("BODY[]\0", 7), &s), YB_EPARSE);
    assert_int_equal(imap_section_parse(yb_slice_make("BODY[HEADER.FIELDS (a\0)]", 24), &s),
                     YB_EPARSE);
}

static void test_section_values(void **state)
{
    struct imap_section s;
    (void)state;
    assert_int_equal(
        imap_section_parse(YB_SLICE_LIT("BODY[1.22.333.HEADER.FIELDS (From \"X-A\")]"), &s), 0);
    assert_int_equal(s.part[0], 1);
    assert_int_equal(s.part[1], 22);
    assert_int_equal(s.part[2], 333);
    assert_true(yb_slice_eq(s.field[0], YB_SLICE_LIT("From")));
    assert_true(yb_slice_eq(s.field[1], YB_SLICE_LIT("X-A")));
}

static void test_section_limits(void **state)
{
    char in[512];
    size_t n;
    struct imap_section s;
    (void)state;

    n = (size_t)snprintf(in, sizeof(in), "BODY[");
    for (int i = 0; i < YB_IMAP_LIMIT_SECTION_PARTS; i++)
        n += (size_t)snprintf(in + n, sizeof(in) - n, "%s1", i ? "." : "");
    n += (size_t)snprintf(in + n, sizeof(in) - n, "]");
    assert_int_equal(imap_section_parse(yb_slice_make(in, n), &s), 0);
    memcpy(in + n - 1, ".1]", 3);
    assert_int_equal(imap_section_parse(yb_slice_make(in, n + 2), &s), YB_ELIMIT);

    char fields[1024];
    n = (size_t)snprintf(fields, sizeof(fields), "BODY[HEADER.FIELDS (");
    for (int i = 0; i < YB_IMAP_LIMIT_SECTION_FIELDS; i++)
        n += (size_t)snprintf(fields + n, sizeof(fields) - n, "%sa", i ? " " : "");
    n += (size_t)snprintf(fields + n, sizeof(fields) - n, ")]");
    assert_int_equal(imap_section_parse(yb_slice_make(fields, n), &s), 0);
    memcpy(fields + n - 2, " a)]", 4);
    assert_int_equal(imap_section_parse(yb_slice_make(fields, n + 2), &s), YB_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_limit_line),
        cmocka_unit_test(test_limit_line_default),
        cmocka_unit_test(test_limit_depth),
        cmocka_unit_test(test_limit_args),
        cmocka_unit_test(test_limit_literal),
        cmocka_unit_test(test_streamed_literal),
        cmocka_unit_test(test_literal_info),
        cmocka_unit_test(test_sink_error),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_random_streams),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_section_values),
        cmocka_unit_test(test_section_nul),
        cmocka_unit_test(test_section_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
