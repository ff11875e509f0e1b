/*
 * test_ctrl_proto.c - CTRL framing: fields, dot-stuffing, replies, the line
 * reader (whole and byte at a time) and the error table, at their limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ctrl_proto.h"
#include "pal.h"

static struct yb_ctrl_args args;

static int split(const char *s, size_t len)
{
    return yb_ctrl_split(yb_slice_make(s, len), &args);
}

static void assert_field(size_t i, const char *want)
{
    assert_true(i < args.n);
    assert_int_equal(args.f[i].len, strlen(want));
    assert_memory_equal(args.f[i].p, want, strlen(want));
    assert_int_equal(args.f[i].p[args.f[i].len], '\0');
}

static void test_split_bare_quoted_and_escapes(void **state)
{
    (void)state;
    const char line[] = "\"useradd\"\texample.com\t\"a \\\"b\\\" \\\\ c:\\d\"\t\"\"\t";
    assert_int_equal(split(line, strlen(line)), 0);
    assert_int_equal(args.n, 5);
    assert_field(0, "useradd");
    assert_field(1, "example.com");
    assert_field(2, "a \"b\" \\ c:\\d"); /* a backslash before anything else stays */
    assert_field(3, "");
    assert_field(4, ""); /* a trailing TAB starts an empty last field */
    const char utf8[] = "\"m\xc3\xbcller\"";
    assert_int_equal(split(utf8, strlen(utf8)), 0);
    assert_field(0, "m\xc3\xbcller");
}

static void test_split_errors(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
        int rc;
    } cases[] = {
        { "", 0, YB_EPARSE },            /* empty line */
        { "a\0b", 3, YB_EPARSE },        /* NUL */
        { "\"a\0b\"", 5, YB_EPARSE },    /* NUL inside quotes */
        { "a\rb", 3, YB_EPARSE },        /* CR */
        { "\"a\nb\"", 5, YB_EPARSE },    /* LF inside quotes */
        { "a\x7f", 2, YB_EPARSE },       /* DEL */
        { "\"abc", 4, YB_EPARSE },       /* no closing quote */
        { "\"abc\\\"", 6, YB_EPARSE },   /* the only quote is escaped */
        { "\"abc\"d", 6, YB_EPARSE },    /* text after the closing quote */
        { "ab\"c", 4, YB_EPARSE },       /* a quote inside a bare field */
        { "\xc3", 1, YB_EUTF8 },         /* cut sequence */
        { "\"\xc0\xaf\"", 4, YB_EUTF8 }, /* overlong */
        { "\xed\xa0\x80", 3, YB_EUTF8 }, /* surrogate */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = split(cases[i].s, cases[i].len);
        if (rc != cases[i].rc)
            fail_msg("case %u: got %d, want %d", (unsigned)i, rc, cases[i].rc);
        assert_int_equal(args.n, 0);
    }
}

static void test_split_limits(void **state)
{
    (void)state;
    char *line = malloc(YB_CTRL_LIMIT_LINE + 2);
    assert_non_null(line);
    memset(line, 'x', YB_CTRL_LIMIT_LINE + 1);
    assert_int_equal(split(line, YB_CTRL_LIMIT_LINE), 0);
    assert_int_equal(args.f[0].len, YB_CTRL_LIMIT_LINE);
    assert_int_equal(split(line, YB_CTRL_LIMIT_LINE + 1), YB_ELIMIT);
    /* 64 fields pass, 65 do not */
    size_t n = 0;
    for (int i = 0; i < YB_CTRL_LIMIT_FIELDS; i++) {
        line[n++] = 'f';
        line[n++] = '\t';
    }
    assert_int_equal(split(line, n - 1), 0);
    assert_int_equal(args.n, YB_CTRL_LIMIT_FIELDS);
    line[n] = 'g'; /* "f\t" x 64 then "g": 65 fields */
    assert_int_equal(split(line, n + 1), YB_ELIMIT);
    free(line);
}

static void test_format_round_trip_and_refusals(void **state)
{
    (void)state;
    struct yb_buf out;
    yb_buf_init(&out, 4096);
    struct yb_slice f[4] = { YB_SLICE_LIT("userpasswd"), YB_SLICE_LIT("a\"b"),
                             YB_SLICE_LIT("back\\slash"), YB_SLICE_LIT("") };
    assert_int_equal(yb_ctrl_format(&out, f, 4), 0);
    assert_string_equal(yb_buf_cstr(&out),
                        "\"userpasswd\"\t\"a\\\"b\"\t\"back\\\\slash\"\t\"\"\r\n");
    assert_int_equal(split((const char *)out.p, out.len - 2), 0);
    assert_int_equal(args.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(yb_slice_eq(args.f[i], f[i]));
    size_t before = out.len;
    struct yb_slice bad[3] = { YB_SLICE_LIT("a\tb"), yb_slice_make("a\0b", 3),
                               YB_SLICE_LIT("\xff") };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(yb_ctrl_format(&out, &bad[i], 1), YB_EINVAL);
        assert_int_equal(out.len, before);
    }
    yb_buf_free(&out);
    /* past the buffer's limit: nothing is appended */
    yb_buf_init(&out, 8);
    assert_int_equal(yb_ctrl_format(&out, f, 1), YB_ELIMIT);
    assert_int_equal(out.len, 0);
    yb_buf_free(&out);
}

static void test_dot_stuffing(void **state)
{
    (void)state;
    struct yb_buf out;
    struct yb_slice c;
    yb_buf_init(&out, 256);
    assert_int_equal(yb_ctrl_stuff_line(&out, YB_SLICE_LIT(".")), 0);
    assert_int_equal(yb_ctrl_stuff_line(&out, YB_SLICE_LIT(".hidden")), 0);
    assert_int_equal(yb_ctrl_stuff_line(&out, YB_SLICE_LIT("plain")), 0);
    assert_int_equal(yb_ctrl_stuff_line(&out, YB_SLICE_LIT("")), 0);
    assert_string_equal(yb_buf_cstr(&out), "..\r\n..hidden\r\nplain\r\n\r\n");
    yb_buf_free(&out);
    assert_false(yb_ctrl_unstuff(YB_SLICE_LIT(".."), &c));
    assert_true(yb_slice_eq(c, YB_SLICE_LIT(".")));
    assert_false(yb_ctrl_unstuff(YB_SLICE_LIT("...hidden"), &c));
    assert_true(yb_slice_eq(c, YB_SLICE_LIT("..hidden")));
    assert_false(yb_ctrl_unstuff(YB_SLICE_LIT(""), &c));
    assert_int_equal(c.len, 0);
    assert_true(yb_ctrl_unstuff(YB_SLICE_LIT("."), &c));
}

static void test_replies(void **state)
{
    (void)state;
    struct yb_ctrl_reply r;
    assert_int_equal(yb_ctrl_parse_reply(YB_SLICE_LIT("+00000 <abc> yubin"), &r), 0);
    assert_int_equal(r.kind, YB_CTRL_R_OK);
    assert_true(yb_slice_eq(r.text, YB_SLICE_LIT("<abc> yubin")));
    assert_int_equal(yb_ctrl_parse_reply(YB_SLICE_LIT("+00000"), &r), 0);
    assert_int_equal(r.text.len, 0);
    assert_int_equal(yb_ctrl_parse_reply(YB_SLICE_LIT("+00100 OK"), &r), 0);
    assert_int_equal(r.kind, YB_CTRL_R_LIST);
    assert_int_equal(yb_ctrl_parse_reply(YB_SLICE_LIT("+00101 send"), &r), 0);
    assert_int_equal(r.kind, YB_CTRL_R_BODY);
    assert_int_equal(yb_ctrl_parse_reply(YB_SLICE_LIT("-00013 user already exists"), &r), 0);
    assert_int_equal(r.kind, YB_CTRL_R_ERROR);
    assert_int_equal(r.code, YB_CTRL_E_USER_EXISTS);
    static const char *const bad[] = { "",       "+0000",  "+00000x", "+00200 x", "-00000 x",
                                       "*00000", "+0a000", "00000 x", "-0001 x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (yb_ctrl_parse_reply(yb_slice_cstr(bad[i]), &r) != YB_EPARSE)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

/* Collects the lines of input fed in pieces of step bytes (0: whole). */
static size_t read_lines(const char *in, size_t len, size_t step, size_t max_line, char out[][64],
                         int *err_r)
{
    struct yb_ctrl_lines lr;
    struct yb_slice line;
    size_t n = 0, off = 0;
    *err_r = 0;
    yb_ctrl_lines_init(&lr, max_line);
    while (off < len || step == 0) {
        size_t k = step == 0 ? len : (len - off < step ? len - off : step);
        assert_int_equal(yb_ctrl_lines_feed(&lr, in + off, k), 0);
        off += k;
        int rc;
        while ((rc = yb_ctrl_lines_next(&lr, &line)) == 0) {
            assert_true(line.len < 64);
            memcpy(out[n], line.p, line.len);
            out[n][line.len] = '\0';
            n++;
        }
        if (rc != YB_EAGAIN) {
            *err_r = rc;
            break;
        }
        if (step == 0)
            break;
    }
    yb_ctrl_lines_free(&lr);
    return n;
}

static void test_line_reader_whole_and_byte_at_a_time(void **state)
{
    (void)state;
    static const char in[] = "+00100 OK\r\n\"a\"\t\"b\"\r\n..dot\nlast\r\n.\r\npartial";
    char whole[8][64], bytes[8][64];
    int e1, e2;
    size_t n1 = read_lines(in, sizeof(in) - 1, 0, 32, whole, &e1);
    size_t n2 = read_lines(in, sizeof(in) - 1, 1, 32, bytes, &e2);
    assert_int_equal(e1, 0);
    assert_int_equal(e2, 0);
    assert_int_equal(n1, 5);
    assert_int_equal(n2, 5);
    for (size_t i = 0; i < n1; i++)
        assert_string_equal(whole[i], bytes[i]);
    assert_string_equal(whole[2], "..dot"); /* the reader does not unstuff: the caller does */
    assert_string_equal(whole[4], ".");
}

static void test_line_reader_limit(void **state)
{
    (void)state;
    char in[64], out[4][64];
    int err;
    memset(in, 'x', sizeof(in));
    in[10] = '\n'; /* a 10-byte line at a limit of 10 */
    assert_int_equal(read_lines(in, 11, 1, 10, out, &err), 1);
    assert_int_equal(err, 0);
    in[11] = '\n'; /* 11 bytes: over */
    memset(in, 'y', 11);
    assert_int_equal(read_lines(in, 12, 0, 10, out, &err), 0);
    assert_int_equal(err, YB_ELIMIT);
    /* the same without a newline yet: refused as soon as it is too long */
    assert_int_equal(read_lines(in, 11, 1, 9, out, &err), 0);
    assert_int_equal(err, YB_ELIMIT);
}

static void test_error_table(void **state)
{
    (void)state;
    static const int nums[] = {
#define NUM(name, num, text) num,
        YB_CTRL_ERRORS(NUM)
#undef NUM
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        assert_true(nums[i] > 0 && nums[i] < 100); /* "-000NN" and an exit status */
        assert_string_not_equal(yb_ctrl_err_text(nums[i]), "unknown error");
        for (size_t k = 0; k < i; k++)
            assert_int_not_equal(nums[i], nums[k]);
    }
    assert_string_equal(yb_ctrl_err_text(YB_CTRL_E_NO_QUEUE), "queue not available in this build");
    assert_string_equal(yb_ctrl_err_text(77), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_bare_quoted_and_escapes),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_split_limits),
        cmocka_unit_test(test_format_round_trip_and_refusals),
        cmocka_unit_test(test_dot_stuffing),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_line_reader_whole_and_byte_at_a_time),
        cmocka_unit_test(test_line_reader_limit),
        cmocka_unit_test(test_error_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
