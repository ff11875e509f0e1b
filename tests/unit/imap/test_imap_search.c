/*
 * test_imap_search.c - SEARCH programs: every key, RETURN options, CHARSET
 * conversion (ISO-8859-1, ISO-2022-JP through the PAL, so under wine too),
 * dates, and the key count, depth and range limits at N and N+1.
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
#include "imap_search.h"

static void dump(const struct imap_search *s, uint32_t k, struct yb_buf *b)
{
    static const char *const names[] = {
        "AND",       "OR",      "NOT",       "ALL",     "ANSWERED",   "DELETED", "DRAFT",
        "FLAGGED",   "SEEN",    "RECENT",    "NEW",     "OLD",        "KEYWORD", "UNANSWERED",
        "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN",  "UNKEYWORD",  "HEADER",  "BODY",
        "TEXT",      "BEFORE",  "ON",        "SINCE",   "SENTBEFORE", "SENTON",  "SENTSINCE",
        "LARGER",    "SMALLER", "OLDER",     "YOUNGER", "SEQ",        "UID",     "MODSEQ",
    };
    const struct imap_search_key *key = &s->keys[k];
    char set[256];
    size_t n;

    yb_buf_append_cstr(b, names[key->type]);
    switch ((enum imap_skey)key->type) {
    case IMAP_SK_AND:
    case IMAP_SK_OR:
    case IMAP_SK_NOT:
        yb_buf_append_byte(b, '(');
        for (uint32_t c = key->child; c != 0; c = s->keys[c].next) {
            if (c != key->child)
                yb_buf_append_byte(b, ' ');
            dump(s, c, b);
        }
        yb_buf_append_byte(b, ')');
        break;
    case IMAP_SK_KEYWORD:
    case IMAP_SK_UNKEYWORD:
    case IMAP_SK_BODY:
    case IMAP_SK_TEXT: yb_buf_printf(b, "[%.*s]", (int)key->s1.len, (const char *)key->s1.p); break;
    case IMAP_SK_HEADER:
        yb_buf_printf(b, "[%.*s:%.*s]", (int)key->s1.len, (const char *)key->s1.p, (int)key->s2.len,
                      key->s2.len ? (const char *)key->s2.p : "");
        break;
    case IMAP_SK_BEFORE:
    case IMAP_SK_ON:
    case IMAP_SK_SINCE:
    case IMAP_SK_SENTBEFORE:
    case IMAP_SK_SENTON:
    case IMAP_SK_SENTSINCE:
        yb_buf_printf(b, "[%04u-%02u-%02u]", key->date.year, key->date.month, key->date.day);
        break;
    case IMAP_SK_LARGER:
    case IMAP_SK_SMALLER:
    case IMAP_SK_OLDER:
    case IMAP_SK_YOUNGER:
    case IMAP_SK_MODSEQ: yb_buf_printf(b, "[%llu]", (unsigned long long)key->num); break;
    case IMAP_SK_SEQSET:
    case IMAP_SK_UID:
        if (key->set.saved) {
            yb_buf_append_cstr(b, "[$]");
        } else {
            struct imap_seqset copy;
            imap_seqset_init(&copy);
            for (size_t i = 0; i < key->set.n; i++)
                assert_int_equal(imap_seqset_add(&copy, (uint32_t)(key->set.r[i].lo & 0xffffffff),
                                                 (uint32_t)(key->set.r[i].hi & 0xffffffff)),
                                 0);
            assert_int_equal(imap_seqset_format(&copy, set, sizeof(set), &n), 0);
            yb_buf_printf(b, "[%s]", set);
            imap_seqset_free(&copy);
        }
        break;
    default: break;
    }
}

struct scase {
    const char *line;
    int rc;
    const char *tree; /* NULL when rc != 0 */
};

static const struct scase cases[] = {
    { "a SEARCH ALL", 0, "AND(ALL)" },
    { "a SEARCH unseen FROM alice", 0, "AND(UNSEEN HEADER[From:alice])" },
    { "a SEARCH OR SEEN FLAGGED", 0, "AND(OR(SEEN FLAGGED))" },
    { "a SEARCH NOT OR SEEN (DELETED DRAFT)", 0, "AND(NOT(OR(SEEN AND(DELETED DRAFT))))" },
    { "a SEARCH 1:3,5 UID 7:9", 0, "AND(SEQ[1:3,5] UID[7:9])" },
    { "a SEARCH $", 0, "AND(SEQ[$])" },
    { "a SEARCH HEADER X-Spam \"\"", 0, "AND(HEADER[X-Spam:])" },
    { "a SEARCH SUBJECT {5}\r\nhello", 0, "AND(HEADER[Subject:hello])" },
    { "a SEARCH BODY \"caf\xc3\xa9\" TEXT x", 0, "AND(BODY[caf\xc3\xa9] TEXT[x])" },
    { "a SEARCH SINCE 1-Feb-1994 BEFORE \"29-feb-2000\"", 0,
      "AND(SINCE[1994-02-01] BEFORE[2000-02-29])" },
    { "a SEARCH SENTON 31-Dec-2026", 0, "AND(SENTON[2026-12-31])" },
    { "a SEARCH LARGER 1000 SMALLER 0 OLDER 60", 0, "AND(LARGER[1000] SMALLER[0] OLDER[60])" },
    { "a SEARCH KEYWORD $Junk UNKEYWORD $NotJunk", 0, "AND(KEYWORD[$Junk] UNKEYWORD[$NotJunk])" },
    { "a SEARCH MODSEQ 620162338", 0, "AND(MODSEQ[620162338])" },
    { "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338", 0, "AND(MODSEQ[620162338])" },
    { "a SEARCH RETURN (MIN COUNT) UNSEEN", 0, "AND(UNSEEN)" },
    { "a SEARCH CHARSET UTF-8 TO bob", 0, "AND(HEADER[To:bob])" },
    /* errors */
    { "a SEARCH", YB_EPARSE, NULL },
    { "a SEARCH FOO", YB_EPARSE, NULL },
    { "a SEARCH FROM", YB_EPARSE, NULL },
    { "a SEARCH OR SEEN", YB_EPARSE, NULL },
    { "a SEARCH NOT", YB_EPARSE, NULL },
    { "a SEARCH ()", YB_EPARSE, NULL },
    { "a SEARCH SINCE 30-Feb-2000", YB_EPARSE, NULL },
    { "a SEARCH SINCE 29-Feb-1900", YB_EPARSE, NULL },
    { "a SEARCH SINCE 1-Foo-2000", YB_EPARSE, NULL },
    { "a SEARCH SINCE 1-Feb-94", YB_EPARSE, NULL },
    { "a SEARCH SINCE 001-Feb-1994", YB_EPARSE, NULL },
    { "a SEARCH LARGER -1", YB_EPARSE, NULL },
    { "a SEARCH LARGER 01", YB_EPARSE, NULL },
    { "a SEARCH YOUNGER 0", YB_EPARSE, NULL },
    { "a SEARCH LARGER 99999999999999999999", YB_EPARSE, NULL },
    { "a SEARCH 0:3", YB_EPARSE, NULL },
    { "a SEARCH UID", YB_EPARSE, NULL },
    { "a SEARCH RETURN (FOO) ALL", YB_EPARSE, NULL },
    { "a SEARCH HEADER \"\" x", YB_EPARSE, NULL },
    { "a SEARCH CHARSET X-NO-SUCH-CHARSET ALL", YB_ENOTSUP, NULL },
    { "a SEARCH BODY {2}\r\n\xc3(", YB_EILSEQ,
      NULL }, /* not UTF-8, and no CHARSET says otherwise */
    { "a SEARCH CHARSET UTF-8 BODY {1}\r\n\xff", YB_EILSEQ, NULL },
};

/* Feeds "line CRLF" (and any literal in it) as a session would, step bytes at a time (0: whole). */
static int feed_line(struct imap_parser *p, const char *line, size_t step)
{
    size_t len = strlen(line), i = 0;
    char *buf = malloc(len + 2);
    int rc = IMAP_PARSE_MORE;

    assert_non_null(buf);
    memcpy(buf, line, len);
    memcpy(buf + len, "\r\n", 2);
    len += 2;
    while (i < len) {
        size_t n = step == 0 || len - i < step ? len - i : step, used;
        rc = imap_parser_feed(p, buf + i, n, &used);
        i += used;
        if (rc == IMAP_PARSE_LITERAL)
            assert_int_equal(imap_parser_literal_begin(p, NULL), 0);
        else if (rc != IMAP_PARSE_MORE)
            break;
    }
    free(buf);
    return rc;
}

static int parse_line(struct imap_parser *p, const char *line)
{
    return feed_line(p, line, 0);
}

/* Each case whole and one byte at a time: the same tree or the same error. */
static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < 2 * YB_ARRAY_LEN(cases); i++) {
        const struct scase *c = &cases[i / 2];
        size_t step = i % 2;
        struct imap_parser p;
        struct imap_search s;
        struct yb_buf out;
        int rc;

        imap_parser_init(&p, NULL);
        assert_int_equal(feed_line(&p, c->line, step), IMAP_PARSE_COMMAND);
        rc = imap_search_parse(&p, imap_args(&p), &s);
        if (rc != c->rc) {
            print_error("'%s' (step %u): %s (%s), expected %s\n", c->line, (unsigned)step,
                        yb_errname(rc), s.err_text ? s.err_text : "", yb_errname(c->rc));
            fail();
        }
        if (rc == 0) {
            yb_buf_init(&out, 4096);
            dump(&s, 0, &out);
            if (strcmp(yb_buf_cstr(&out), c->tree) != 0) {
                print_error("'%s': %s, expected %s\n", c->line, yb_buf_cstr(&out), c->tree);
                fail();
            }
            yb_buf_free(&out);
        } else {
            assert_non_null(s.err_text);
        }
        imap_search_free(&s);
        imap_parser_free(&p);
    }
}

static void test_return(void **state)
{
    struct imap_parser p;
    struct imap_search s;
    (void)state;
    imap_parser_init(&p, NULL);
    assert_int_equal(parse_line(&p, "a SEARCH RETURN () ALL"), IMAP_PARSE_COMMAND);
    assert_int_equal(imap_search_parse(&p, imap_args(&p), &s), 0);
    assert_true(s.esearch);
    assert_int_equal(s.ret, IMAP_SRET_ALL);
    imap_search_free(&s);
    imap_parser_reset(&p);
    assert_int_equal(parse_line(&p, "a SEARCH RETURN (SAVE MIN MAX) ALL"), IMAP_PARSE_COMMAND);
    assert_int_equal(imap_search_parse(&p, imap_args(&p), &s), 0);
    assert_int_equal(s.ret, IMAP_SRET_SAVE | IMAP_SRET_MIN | IMAP_SRET_MAX);
    imap_search_free(&s);
    imap_parser_reset(&p);
    assert_int_equal(parse_line(&p, "a SEARCH ALL"), IMAP_PARSE_COMMAND);
    assert_int_equal(imap_search_parse(&p, imap_args(&p), &s), 0);
    assert_false(s.esearch);
    imap_search_free(&s);
    imap_parser_free(&p);
}

/* Strings in a legacy charset come out in UTF-8. */
static void test_charset(void **state)
{
    static const struct {
        const char *line;
        const char *utf8;
    } cs[] = {
        { "a SEARCH CHARSET ISO-8859-1 SUBJECT {4}\r\ncaf\xe9", "caf\xc3\xa9" },
        { "a SEARCH CHARSET ISO-2022-JP BODY {12}\r\n\x1b$B%F%9%H\x1b(B",
          "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88" },
        { "a SEARCH CHARSET Shift_JIS TEXT {6}\r\n\x83"
          "e\x83X\x83g",
          "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88" },
    };
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cs); i++) {
        struct imap_parser p;
        struct imap_search s;
        const struct imap_search_key *k;
        imap_parser_init(&p, NULL);
        assert_int_equal(parse_line(&p, cs[i].line), IMAP_PARSE_COMMAND);
        assert_int_equal(imap_search_parse(&p, imap_args(&p), &s), 0);
        k = &s.keys[s.keys[0].child];
        struct yb_slice v = k->type == IMAP_SK_HEADER ? k->s2 : k->s1;
        if (!yb_slice_eq(v, yb_slice_cstr(cs[i].utf8))) {
            print_error("case %u: '%.*s' (backend %s)\n", (unsigned)i, (int)v.len,
                        (const char *)v.p, pal_charset_backend());
            fail();
        }
        imap_search_free(&s);
        imap_parser_free(&p);
    }
    /* Bytes that are not valid in the charset. */
    {
        struct imap_parser p;
        struct imap_search s;
        imap_parser_init(&p, NULL);
        assert_int_equal(parse_line(&p, "a SEARCH CHARSET UTF-16LE BODY {3}\r\nabc"),
                         IMAP_PARSE_COMMAND);
        assert_int_equal(imap_search_parse(&p, imap_args(&p), &s), YB_EILSEQ);
        imap_search_free(&s);
        imap_parser_free(&p);
    }
}

static void test_limits(void **state)
{
    struct imap_limits lim;
    char *line = malloc(64 * 1024);
    size_t n;
    (void)state;
    assert_non_null(line);
    imap_limits_default(&lim);
    lim.args = 100000;

    /* keys: the root plus YB_IMAP_LIMIT_SEARCH_KEYS keys; one more is refused */
    for (int extra = 0; extra <= 1; extra++) {
        struct imap_parser p;
        struct imap_search s;
        n = (size_t)snprintf(line, 64, "a SEARCH");
        for (int i = 0; i < YB_IMAP_LIMIT_SEARCH_KEYS + extra; i++)
            n += (size_t)snprintf(line + n, 64 * 1024 - n, " SEEN");
        line[n] = '\0';
        imap_parser_init(&p, &lim);
        assert_int_equal(parse_line(&p, line), IMAP_PARSE_COMMAND);
        assert_int_equal(imap_search_parse(&p, imap_args(&p), &s), extra ? YB_ELIMIT : 0);
        imap_search_free(&s);
        imap_parser_free(&p);
    }
    /* depth: NOT NOT ... SEEN */
    for (int extra = 0; extra <= 1; extra++) {
        struct imap_parser p;
        struct imap_search s;
        n = (size_t)snprintf(line, 64, "a SEARCH");
        for (int i = 0; i < YB_IMAP_LIMIT_SEARCH_DEPTH - 1 + extra; i++)
            n += (size_t)snprintf(line + n, 64 * 1024 - n, " NOT");
        n += (size_t)snprintf(line + n, 64 * 1024 - n, " SEEN");
        imap_parser_init(&p, &lim);
        assert_int_equal(parse_line(&p, line), IMAP_PARSE_COMMAND);
        assert_int_equal(imap_search_parse(&p, imap_args(&p), &s), extra ? YB_ELIMIT : 0);
        imap_search_free(&s);
        imap_parser_free(&p);
    }
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_return),
        cmocka_unit_test(test_charset),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
