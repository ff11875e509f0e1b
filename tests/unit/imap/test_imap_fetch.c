/*
 * test_imap_fetch.c - FETCH attribute lists: macros, every attribute,
 * sections, modifiers, and the section limit at N and N+1.
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
#include "imap_fetch.h"

struct fcase {
    const char *line; /* "a FETCH 1 <what follows>" */
    int rc;
    unsigned atts;
    unsigned nsect;
    bool changedsince, vanished;
    uint64_t modseq;
};

#define ALL_BITS (IMAP_FA_FLAGS | IMAP_FA_INTERNALDATE | IMAP_FA_RFC822_SIZE | IMAP_FA_ENVELOPE)

static const struct fcase cases[] = {
    { "ALL", 0, ALL_BITS, 0, false, false, 0 },
    { "fast", 0, IMAP_FA_FLAGS | IMAP_FA_INTERNALDATE | IMAP_FA_RFC822_SIZE, 0, false, false, 0 },
    { "FULL", 0, ALL_BITS | IMAP_FA_BODY, 0, false, false, 0 },
    { "FLAGS", 0, IMAP_FA_FLAGS, 0, false, false, 0 },
    { "(FLAGS UID RFC822.SIZE)", 0, IMAP_FA_FLAGS | IMAP_FA_UID | IMAP_FA_RFC822_SIZE, 0, false,
      false, 0 },
    { "(BODYSTRUCTURE BODY ENVELOPE INTERNALDATE RFC822 RFC822.HEADER RFC822.TEXT MODSEQ)", 0,
      IMAP_FA_BODYSTRUCTURE | IMAP_FA_BODY | IMAP_FA_ENVELOPE | IMAP_FA_INTERNALDATE |
          IMAP_FA_RFC822 | IMAP_FA_RFC822_HEADER | IMAP_FA_RFC822_TEXT | IMAP_FA_MODSEQ,
      0, false, false, 0 },
    { "(UID BODY.PEEK[HEADER.FIELDS (From To)] BODY[1]<0.10> BINARY.SIZE[2])", 0, IMAP_FA_UID, 3,
      false, false, 0 },
    { "BODY[]", 0, 0, 1, false, false, 0 },
    { "(FLAGS) (CHANGEDSINCE 12345)", 0, IMAP_FA_FLAGS, 0, true, false, 12345 },
    { "(FLAGS) (CHANGEDSINCE 9223372036854775807 VANISHED)", 0, IMAP_FA_FLAGS, 0, true, true,
      UINT64_C(9223372036854775807) },
    /* errors */
    { "()", YB_EPARSE, 0, 0, false, false, 0 },
    { "(FOO)", YB_EPARSE, 0, 0, false, false, 0 },
    { "(ALL)", YB_EPARSE, 0, 0, false, false, 0 }, /* macros only alone */
    { "ALL FLAGS", YB_EPARSE, 0, 0, false, false, 0 },
    { "FLAGS () x", YB_EPARSE, 0, 0, false, false, 0 },
    { "\"FLAGS\"", YB_EPARSE, 0, 0, false, false, 0 },
    { "(BODY[MIME])", YB_EPARSE, 0, 0, false, false, 0 },
    { "(FLAGS) ()", YB_EPARSE, 0, 0, false, false, 0 },
    { "(FLAGS) (CHANGEDSINCE 0)", YB_EPARSE, 0, 0, false, false, 0 },
    { "(FLAGS) (CHANGEDSINCE 9223372036854775808)", YB_EPARSE, 0, 0, false, false, 0 },
    { "(FLAGS) (CHANGEDSINCE)", YB_EPARSE, 0, 0, false, false, 0 },
    { "(FLAGS) (VANISHED)", YB_EPARSE, 0, 0, false, false, 0 },
    { "(FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)", YB_EPARSE, 0, 0, false, false, 0 },
    { "(FLAGS) (FOO)", YB_EPARSE, 0, 0, false, false, 0 },
};

static int parse(const char *what, struct imap_parser *p, struct imap_fetch *f)
{
    char line[8192];
    snprintf(line, sizeof(line), "a FETCH 1 %s", what);
    imap_parser_init(p, NULL);
    assert_int_equal(imap_parser_line(p, yb_slice_cstr(line)), IMAP_PARSE_COMMAND);
    /* the arguments after the sequence set */
    return imap_fetch_parse(p, imap_arg_nth(p, imap_args(p), 1), f);
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < YB_ARRAY_LEN(cases); i++) {
        const struct fcase *c = &cases[i];
        struct imap_parser p;
        struct imap_fetch f;
        int rc = parse(c->line, &p, &f);
        if (rc != c->rc || (rc == 0 && (f.atts != c->atts || f.nsect != c->nsect ||
                                        f.changedsince != c->changedsince ||
                                        f.vanished != c->vanished || f.modseq != c->modseq))) {
            print_error("'%s': %s atts %x nsect %u\n", c->line, yb_errname(rc), f.atts, f.nsect);
            fail();
        }
        if (rc < 0)
            assert_non_null(f.err_text);
        imap_fetch_free(&f);
        imap_parser_free(&p);
    }
}

static void test_sections(void **state)
{
    struct imap_parser p;
    struct imap_fetch f;
    (void)state;
    assert_int_equal(parse("(BODY.PEEK[1.2.TEXT]<5.6> BINARY[3])", &p, &f), 0);
    assert_int_equal((int)f.nsect, 2);
    assert_true(f.sect[0].peek);
    assert_int_equal(f.sect[0].text, IMAP_TEXT_TEXT);
    assert_int_equal((int)f.sect[0].nparts, 2);
    assert_true(f.sect[0].partial);
    assert_int_equal(f.sect[1].kind, IMAP_SECT_BINARY);
    imap_fetch_free(&f);
    imap_parser_free(&p);
}

static void test_section_limit(void **state)
{
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        char what[4096];
        size_t n = 0;
        struct imap_parser p;
        struct imap_fetch f;
        what[n++] = '(';
        for (int i = 0; i < YB_IMAP_LIMIT_FETCH_SECTIONS + extra; i++)
            n += (size_t)snprintf(what + n, sizeof(what) - n, "%sBODY[%d]", i ? " " : "", i + 1);
        what[n++] = ')';
        what[n] = '\0';
        assert_int_equal(parse(what, &p, &f), extra ? YB_ELIMIT : 0);
        if (!extra)
            assert_int_equal((int)f.nsect, YB_IMAP_LIMIT_FETCH_SECTIONS);
        imap_fetch_free(&f);
        imap_parser_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_section_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
