/*
 * test_tab.c - the tab-file parser, loader and writer.
 *
 * Every case is fed whole, one byte at a time, and split in two at every
 * position; all three must give the same records or the same error at the
 * same line and column.
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
#include "yb_tab.h"
#include "yb_test.h"

/* Renders records as "line:[f1][f2]" one per line, for exact comparison. */
static int render(void *arg, const struct yb_tab_record *rec, struct yb_tab_error *err)
{
    struct yb_buf *out = arg;
    (void)err;
    yb_buf_printf(out, "%u:", rec->line);
    for (size_t i = 0; i < rec->nfields; i++) {
        yb_buf_append_byte(out, '[');
        yb_buf_append_slice(out, rec->field[i]);
        yb_buf_append_byte(out, ']');
    }
    yb_buf_append_byte(out, '\n');
    return 0;
}

struct outcome {
    int rc;
    unsigned line, column;
    struct yb_buf out;
};

/* Feeds data in pieces of at most `chunk` bytes (0 = whole), or split at `split`. */
static void run_parser(const char *data, size_t len, size_t chunk, size_t split, struct outcome *o)
{
    struct yb_tab_parser p;
    yb_buf_init(&o->out, 1 << 20);
    yb_tab_parser_init(&p, render, &o->out);
    int rc = 0;
    if (split != (size_t)-1) {
        rc = yb_tab_parser_feed(&p, data, split);
        if (rc == 0)
            rc = yb_tab_parser_feed(&p, data + split, len - split);
    } else if (chunk == 0) {
        rc = yb_tab_parser_feed(&p, data, len);
    } else {
        for (size_t i = 0; i < len && rc == 0; i += chunk)
            rc = yb_tab_parser_feed(&p, data + i, len - i < chunk ? len - i : chunk);
    }
    if (rc == 0)
        rc = yb_tab_parser_finish(&p);
    o->rc = rc;
    o->line = rc ? p.err.line : 0;
    o->column = rc ? p.err.column : 0;
    if (rc != 0)
        assert_true(strlen(p.err.msg) > 0); /* every error says why */
    yb_tab_parser_free(&p);
}

struct tab_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    int rc;
    const char *records;   /* rc == 0 */
    unsigned line, column; /* rc != 0 */
};

#define OK(n, in, rec)         \
    {                          \
        n, in, 0, 0, rec, 0, 0 \
    }
#define OKN(n, in, len, rec)     \
    {                            \
        n, in, len, 0, rec, 0, 0 \
    }
#define ERR(n, in, rc, l, c)     \
    {                            \
        n, in, 0, rc, NULL, l, c \
    }
#define ERRN(n, in, len, rc, l, c) \
    {                              \
        n, in, len, rc, NULL, l, c \
    }

static const struct tab_case cases[] = {
    OK("empty input", "", ""),
    OK("quoted fields", "\"a\"\t\"b\"\n", "1:[a][b]\n"),
    OK("bare fields", "a\tb\n", "1:[a][b]\n"),
    OK("last line without newline", "a\tb", "1:[a][b]\n"),
    OK("CRLF endings", "\"a\"\t\"b\"\r\n\"c\"\r\n", "1:[a][b]\n2:[c]\n"),
    OK("comment line", "# hello\n\"a\"\n", "2:[a]\n"),
    OK("comment with CRLF", "# hello\r\n\"a\"\r\n", "2:[a]\n"),
    OKN("comment is not data (bad UTF-8, NUL)", "#\xff\x00x\n\"a\"\n", 9, "2:[a]\n"),
    OK("hash inside a record is data", "a#b\t\"#c\"\n", "1:[a#b][#c]\n"),
    OK("blank lines", "\n\n\"a\"\n\n", "3:[a]\n"),
    OK("CRLF blank line", "\r\n\"a\"\n", "2:[a]\n"),
    OK("spaces-only line is blank", "   \n\"a\"\n", "2:[a]\n"),
    OK("quoted spaces are data", "\"  \"\n", "1:[  ]\n"),
    OK("escapes", "\"a\\\"b\\\\c\"\n", "1:[a\"b\\c]\n"),
    OK("XMail backslash path kept", "\"C:\\MailRoot\\x\"\n", "1:[C:\\MailRoot\\x]\n"),
    OK("empty quoted fields", "\"\"\t\"\"\n", "1:[][]\n"),
    OK("empty bare field between", "a\t\tb\n", "1:[a][][b]\n"),
    OK("trailing TAB gives an empty field", "a\t\n", "1:[a][]\n"),
    OK("leading TAB", "\tb\n", "1:[][b]\n"),
    OK("BOM skipped", "\xEF\xBB\xBF\"a\"\n", "1:[a]\n"),
    OK("BOM then comment", "\xEF\xBB\xBF# c\n\"a\"", "2:[a]\n"),
    OK("BOM-like valid UTF-8 kept", "\xEF\xBC\x81\n", "1:[\xEF\xBC\x81]\n"),
    OK("UTF-8 fields", "\"日本語\"\t\"café\"\t\xF0\x9F\x93\xAE\n",
       "1:[日本語][café][\xF0\x9F\x93\xAE]\n"),
    OK("XMail mailusers line", "\"example.com\"\t\"alice\"\t\"0408051a\"\t1\t\"alice\"\t\"U\"\n",
       "1:[example.com][alice][0408051a][1][alice][U]\n"),
    OK("mixed quoted and bare", "\"a\"\tb\t\"c\"\n", "1:[a][b][c]\n"),
    OK("space inside bare", "a b\tc\n", "1:[a b][c]\n"),

    ERRN("NUL in quoted field", "\"a\0\"\n", 5, YB_EPARSE, 1, 3),
    ERRN("NUL in bare field", "a\0\n", 3, YB_EPARSE, 1, 2),
    ERRN("NUL at line start", "\0", 1, YB_EPARSE, 1, 1),
    ERR("invalid UTF-8 byte", "\"\xff\"\n", YB_EUTF8, 1, 2),
    ERR("overlong encoding", "\"\xc0\xaf\"\n", YB_EUTF8, 1, 2),
    ERR("UTF-16 surrogate", "\"\xed\xa0\x80\"\n", YB_EUTF8, 1, 3),
    ERR("above U+10FFFF", "\"\xf4\x90\x80\x80\"\n", YB_EUTF8, 1, 3),
    ERR("truncated sequence before quote", "\"\xc3\"\n", YB_EUTF8, 1, 3),
    ERR("truncated sequence at end of file", "ab\xc3", YB_EUTF8, 1, 4),
    ERR("lone continuation byte", "a\x80\n", YB_EUTF8, 1, 2),
    ERR("bare CR inside a line", "a\rb\n", YB_EPARSE, 1, 2),
    ERR("CR at end of file", "a\r", YB_EPARSE, 1, 2),
    ERR("CR CR LF", "a\r\r\n", YB_EPARSE, 1, 2),
    ERR("CR inside quotes", "\"a\rb\"\n", YB_EPARSE, 1, 3),
    ERR("LF inside quotes", "\"a\nb\"\n", YB_EPARSE, 1, 3),
    ERR("unterminated quote at end of file", "\"abc", YB_EPARSE, 1, 5),
    ERR("backslash at end of file", "\"abc\\", YB_EPARSE, 1, 6),
    ERR("quote inside bare field", "ab\"c\n", YB_EPARSE, 1, 3),
    ERR("junk after closing quote", "\"a\"b\n", YB_EPARSE, 1, 4),
    ERR("space after closing quote", "\"a\" \t\"b\"\n", YB_EPARSE, 1, 4),
    ERR("control character in quotes", "\"a\x01\"\n", YB_EPARSE, 1, 3),
    ERR("DEL in bare field", "a\x7f\n", YB_EPARSE, 1, 2),
    ERR("TAB inside quotes", "\"a\tb\"\n", YB_EPARSE, 1, 3),
    ERR("escape of a control character", "\"\\\x02\"\n", YB_EPARSE, 1, 3),
    ERR("error on a later line", "\"a\"\n\"b\n", YB_EPARSE, 2, 3),
    ERR("error after CRLF lines", "a\r\nb\r\n\"c\x01\"\r\n", YB_EPARSE, 3, 3),
    ERR("error after BOM counts from after it", "\xEF\xBB\xBF\"\x01\"", YB_EPARSE, 1, 2),
};

static void check_outcome(const struct tab_case *c, const struct outcome *o, const char *how)
{
    if (o->rc != c->rc || (c->rc == 0 && strcmp(yb_buf_cstr(&o->out), c->records) != 0) ||
        (c->rc != 0 && (o->line != c->line || o->column != c->column))) {
        print_error("case '%s' (%s): rc %s at %u:%u, records:\n%s\nexpected rc %s at %u:%u, "
                    "records:\n%s\n",
                    c->name, how, yb_errname(o->rc), o->line, o->column, yb_buf_cstr(&o->out),
                    yb_errname(c->rc), c->line, c->column, c->records ? c->records : "");
        fail();
    }
}

static void test_cases_whole_and_bytewise(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cases); i++) {
        const struct tab_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        struct outcome o;
        run_parser(c->in, len, 0, (size_t)-1, &o);
        check_outcome(c, &o, "whole");
        yb_buf_free(&o.out);
        run_parser(c->in, len, 1, (size_t)-1, &o);
        check_outcome(c, &o, "byte at a time");
        yb_buf_free(&o.out);
        for (size_t s = 0; s <= len; s++) {
            char how[32];
            snprintf(how, sizeof(how), "split at %zu", s);
            run_parser(c->in, len, 0, s, &o);
            check_outcome(c, &o, how);
            yb_buf_free(&o.out);
        }
    }
}

/* A line of n bytes: one bare field of 'x'. */
static char *long_line(size_t n, size_t *len_r)
{
    char *s = malloc(n + 2);
    assert_non_null(s);
    memset(s, 'x', n);
    s[n] = '\n';
    s[n + 1] = '\0';
    *len_r = n + 1;
    return s;
}

static void test_line_limit(void **state)
{
    (void)state;
    size_t len;
    struct outcome o;
    char *s = long_line(YB_LIMIT_TAB_LINE, &len);
    run_parser(s, len, 0, (size_t)-1, &o);
    assert_int_equal(o.rc, 0);
    yb_buf_free(&o.out);
    run_parser(s, len, 1, (size_t)-1, &o);
    assert_int_equal(o.rc, 0);
    yb_buf_free(&o.out);
    free(s);

    s = long_line(YB_LIMIT_TAB_LINE + 1, &len);
    run_parser(s, len, 0, (size_t)-1, &o);
    assert_int_equal(o.rc, YB_ELIMIT);
    assert_int_equal(o.line, 1);
    assert_int_equal(o.column, YB_LIMIT_TAB_LINE + 1);
    yb_buf_free(&o.out);
    run_parser(s, len, 1, (size_t)-1, &o);
    assert_int_equal(o.rc, YB_ELIMIT);
    yb_buf_free(&o.out);
    free(s);
}

static char *many_fields(size_t n, size_t *len_r)
{
    char *s = malloc(n * 2 + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = 'f';
        s[2 * i + 1] = i + 1 < n ? '\t' : '\n';
    }
    s[2 * n] = '\0';
    *len_r = 2 * n;
    return s;
}

static void test_field_limit(void **state)
{
    (void)state;
    size_t len;
    struct outcome o;
    char *s = many_fields(YB_LIMIT_TAB_FIELDS, &len);
    run_parser(s, len, 1, (size_t)-1, &o);
    assert_int_equal(o.rc, 0);
    yb_buf_free(&o.out);
    free(s);
    s = many_fields(YB_LIMIT_TAB_FIELDS + 1, &len);
    run_parser(s, len, 0, (size_t)-1, &o);
    assert_int_equal(o.rc, YB_ELIMIT);
    assert_int_equal(o.column, 2 * YB_LIMIT_TAB_FIELDS + 1);
    yb_buf_free(&o.out);
    free(s);
}

static int refuse_second(void *arg, const struct yb_tab_record *rec, struct yb_tab_error *err)
{
    int *count = arg;
    if (++*count == 2)
        return yb_tab_error_set(err, YB_EINVAL, rec->line, rec->column[0], "not this one");
    return 0;
}

static void test_callback_stops_parser(void **state)
{
    (void)state;
    int count = 0;
    struct yb_tab_parser p;
    yb_tab_parser_init(&p, refuse_second, &count);
    const char *in = "a\nb\nc\n";
    assert_int_equal(yb_tab_parser_feed(&p, in, strlen(in)), YB_EINVAL);
    assert_int_equal(count, 2);
    assert_int_equal(p.err.line, 2);
    /* A failed parser stays failed. */
    assert_int_equal(yb_tab_parser_feed(&p, "d\n", 2), YB_EINVAL);
    assert_int_equal(yb_tab_parser_finish(&p), YB_EINVAL);
    assert_int_equal(count, 2);
    yb_tab_parser_free(&p);
}

static void test_table_and_columns(void **state)
{
    (void)state;
    struct yb_tab *t = NULL;
    struct yb_tab_error err;
    const char *in = "# header\n\"example.com\"\t\"alice\"\t1\n\nb\t\"\"\n";
    assert_int_equal(yb_tab_parse(in, strlen(in), &t, &err), 0);
    assert_non_null(t);
    assert_int_equal(t->nrec, 2);
    assert_int_equal(t->rec[0].line, 2);
    assert_int_equal(t->rec[0].nfields, 3);
    assert_string_equal(t->rec[0].field[0], "example.com");
    assert_string_equal(t->rec[0].field[1], "alice");
    assert_string_equal(t->rec[0].field[2], "1");
    assert_int_equal(t->rec[0].len[1], 5);
    assert_int_equal(t->rec[0].column[0], 1);
    assert_int_equal(t->rec[0].column[1], 15);
    assert_int_equal(t->rec[0].column[2], 23);
    assert_int_equal(t->rec[1].line, 4);
    assert_string_equal(t->rec[1].field[1], "");
    yb_tab_free(&t);
    assert_null(t);
}

static void test_table_never_half_loads(void **state)
{
    (void)state;
    struct yb_tab *t = (struct yb_tab *)(uintptr_t)1;
    struct yb_tab_error err;
    const char *in = "a\nb\n\"c\n";
    assert_int_equal(yb_tab_parse(in, strlen(in), &t, &err), YB_EPARSE);
    assert_null(t);
    assert_int_equal(err.line, 3);
    char msg[256];
    yb_tab_error_format(&err, "x.tab", msg, sizeof(msg));
    assert_non_null(strstr(msg, "x.tab:3:"));
}

static void test_load_file(void **state)
{
    (void)state;
    char dir[PAL_PATH_MAX], path[PAL_PATH_MAX];
    struct yb_tab *t = NULL;
    struct yb_tab_error err;
    assert_int_equal(yb_test_tmpdir("tab", dir, sizeof(dir)), 0);
    assert_int_equal(pal_path_join(path, sizeof(path), dir, "missing.tab"), 0);
    assert_int_equal(yb_tab_load(path, &t, &err), YB_ENOENT);
    assert_null(t);
    assert_int_equal(yb_test_write_in(dir, "x.tab", "\"a\"\t\"b\"\r\n"), 0);
    assert_int_equal(pal_path_join(path, sizeof(path), dir, "x.tab"), 0);
    assert_int_equal(yb_tab_load(path, &t, &err), 0);
    assert_int_equal(t->nrec, 1);
    assert_string_equal(t->rec[0].field[1], "b");
    yb_tab_free(&t);
    pal_file_remove_tree(dir);
}

static void test_writer_round_trip(void **state)
{
    (void)state;
    const char *vals[] = { "",
                           "plain",
                           "with \"quotes\"",
                           "back\\slash",
                           "C:\\MailRoot",
                           "日本語 café",
                           "#not a comment",
                           "  spaces  ",
                           "\\\"",
                           "\\" };
    struct yb_slice f[YB_ARRAY_LEN(vals)];
    for (size_t i = 0; i < YB_ARRAY_LEN(vals); i++)
        f[i] = yb_slice_cstr(vals[i]);
    struct yb_buf out;
    yb_buf_init(&out, 4096);
    assert_int_equal(yb_tab_format_record(&out, f, YB_ARRAY_LEN(vals)), 0);
    assert_int_equal(yb_tab_format_record(&out, f, 1), 0);
    struct yb_tab *t = NULL;
    struct yb_tab_error err;
    assert_int_equal(yb_tab_parse(out.p, out.len, &t, &err), 0);
    /* A record of one empty quoted field is data, not a blank line. */
    assert_int_equal(t->nrec, 2);
    assert_int_equal(t->rec[0].nfields, YB_ARRAY_LEN(vals));
    for (size_t i = 0; i < YB_ARRAY_LEN(vals); i++)
        assert_string_equal(t->rec[0].field[i], vals[i]);
    yb_tab_free(&t);

    size_t before = out.len;
    struct yb_slice bad[2] = { YB_SLICE_LIT("ok"), YB_SLICE_LIT("tab\there") };
    assert_int_equal(yb_tab_format_record(&out, bad, 2), YB_EINVAL);
    bad[1] = yb_slice_make("nul\0", 4);
    assert_int_equal(yb_tab_format_record(&out, bad, 2), YB_EINVAL);
    bad[1] = YB_SLICE_LIT("bad \xff utf8");
    assert_int_equal(yb_tab_format_record(&out, bad, 2), YB_EINVAL);
    bad[1] = YB_SLICE_LIT("line\nbreak");
    assert_int_equal(yb_tab_format_record(&out, bad, 2), YB_EINVAL);
    assert_int_equal(yb_tab_format_record(&out, bad, 0), YB_EINVAL);
    assert_int_equal(out.len, before); /* refused records leave nothing behind */

    /* A buffer too small for the record: refused, nothing half-written. */
    struct yb_buf tiny;
    yb_buf_init(&tiny, 8);
    assert_int_equal(yb_tab_format_record(&tiny, f, 3), YB_ELIMIT);
    assert_int_equal(tiny.len, 0);
    yb_buf_free(&tiny);
    yb_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_whole_and_bytewise),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_field_limit),
        cmocka_unit_test(test_callback_stops_parser),
        cmocka_unit_test(test_table_and_columns),
        cmocka_unit_test(test_table_never_half_loads),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_writer_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
