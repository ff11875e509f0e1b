/*
 * test_accounts.c - the typed account files: name syntax at its limits,
 * every loader's errors with their positions, alias domains, the resolver
 * (precedence, loops, limits, case), relay networks, 100,000 accounts, and
 * the views inside configuration snapshots across a bad edit.
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
#include "yb_accounts.h"
#include "yb_buf.h"
#include "yb_config.h"
#include "yb_log.h"
#include "yb_tab.h"
#include "yb_test.h"

/*
 * Expands "{N:c}" into N copies of c, so limits are written out in the
 * tables ("{63:a}.com" is a 63-octet label). Returns the length.
 */
static size_t expand(const char *tmpl, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = tmpl; *p != '\0';) {
        if (p[0] == '{') {
            char *end;
            unsigned long count = strtoul(p + 1, &end, 10);
            assert_true(end[0] == ':' && end[2] == '}');
            assert_true(n + count < size);
            memset(out + n, end[1], count);
            n += count;
            p = end + 3;
        } else {
            assert_true(n + 1 < size);
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return n;
}

/* ---- syntax ---- */

struct syntax_case {
    const char *text; /* expanded; len 0 = strlen */
    size_t len;
    int rc;
};

static const struct syntax_case domain_cases[] = {
    { "example.com", 0, 0 },
    { "EXAMPLE.Com", 0, 0 },
    { "localhost", 0, 0 },
    { "a-b.c-d.example", 0, 0 },
    { "1.2.3.4", 0, 0 },
    { "xn--bcher-kva.example", 0, 0 },
    { "b\xc3\xbc"
      "cher.example",
      0, 0 }, /* bücher: U-label */
    { "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", 0, 0 }, /* 例え.テスト */
    { "{63:a}.com", 0, 0 },
    { "{64:a}.com", 0, YB_ELIMIT },
    { "com.{63:a}", 0, 0 },
    { "com.{64:a}", 0, YB_ELIMIT },
    { "{63:a}.{63:b}.{63:c}.{61:d}.a", 0, 0 },          /* 255 octets */
    { "{63:a}.{63:b}.{63:c}.{61:d}.ab", 0, YB_ELIMIT }, /* 256 */
    { "", 0, YB_EPARSE },
    { ".", 0, YB_EPARSE },
    { "example.com.", 0, YB_EPARSE },
    { ".example.com", 0, YB_EPARSE },
    { "a..b", 0, YB_EPARSE },
    { "-a.example", 0, YB_EPARSE },
    { "a-.example", 0, YB_EPARSE },
    { "a.-example", 0, YB_EPARSE },
    { "a_b.example", 0, YB_EPARSE },
    { "a b.example", 0, YB_EPARSE },
    { "*.example", 0, YB_EPARSE },
    { "[192.0.2.1]", 0, YB_EPARSE },
    { "a@b.example", 0, YB_EPARSE },
    { "a\0b.example", 11, YB_EPARSE },
    { "\xff.example", 0, YB_EUTF8 },
    { "b\xc3.example", 0, YB_EUTF8 },
};

static const struct syntax_case local_cases[] = {
    { "alice", 0, 0 },
    { "Alice.Smith", 0, 0 },
    { "a+tag", 0, 0 },
    { "!#$%&'*+-/=?^_`{|}~", 19, 0 },
    { "j\xc3\xb6rg", 0, 0 }, /* jörg (SMTPUTF8) */
    { "{64:a}", 0, 0 },
    { "{65:a}", 0, YB_ELIMIT },
    { "{63:a}\xc3\xb6", 0, YB_ELIMIT }, /* 65 octets, 64 characters */
    { "", 0, YB_EPARSE },
    { ".a", 0, YB_EPARSE },
    { "a.", 0, YB_EPARSE },
    { "a..b", 0, YB_EPARSE },
    { "a b", 0, YB_EPARSE },
    { "\"a\"", 0, YB_EPARSE },
    { "a@b", 0, YB_EPARSE },
    { "(c)a", 0, YB_EPARSE },
    { "a\0b", 3, YB_EPARSE },
    { "\xc3", 0, YB_EUTF8 },
};

static void run_syntax(const struct syntax_case *cases, size_t n,
                       int (*check)(struct yb_slice, char *, size_t))
{
    char buf[512], msg[160];
    for (size_t i = 0; i < n; i++) {
        size_t len = cases[i].len;
        if (len == 0)
            len = expand(cases[i].text, buf, sizeof(buf));
        else
            memcpy(buf, cases[i].text, len);
        msg[0] = '\0';
        int rc = check(yb_slice_make(buf, len), msg, sizeof(msg));
        if (rc != cases[i].rc)
            print_error("case %u '%s': rc %d, expected %d (%s)\n", (unsigned)i, cases[i].text, rc,
                        cases[i].rc, msg);
        assert_int_equal(rc, cases[i].rc);
        if (rc != 0)
            assert_true(msg[0] != '\0');
    }
}

static void test_domain_syntax(void **state)
{
    (void)state;
    run_syntax(domain_cases, sizeof(domain_cases) / sizeof(domain_cases[0]), yb_domain_check);
}

static void test_local_part_syntax(void **state)
{
    (void)state;
    run_syntax(local_cases, sizeof(local_cases) / sizeof(local_cases[0]), yb_local_part_check);
}

/* A NUL or invalid UTF-8 never reaches the loaders: the tab parser refuses them. */
static void test_parser_refuses_nul_and_bad_utf8(void **state)
{
    struct yb_tab *tab = NULL;
    struct yb_tab_error err;
    (void)state;
    assert_int_equal(yb_tab_parse("\"a\0b\"\n", 6, &tab, &err), YB_EPARSE);
    assert_int_equal(yb_tab_parse("\"a\xff\"\n", 5, &tab, &err), YB_EUTF8);
    assert_null(tab);
}

/* ---- loaders ---- */

enum kind { K_DOMAINS, K_ALIASDOMAIN, K_USERS, K_ALIASES, K_RELAY };

struct warnings {
    int n;
    char last[YB_TAB_ERRMSG_MAX];
    unsigned line;
};

static void on_warn(void *arg, unsigned line, unsigned column, const char *msg)
{
    struct warnings *w = arg;
    (void)column;
    w->n++;
    w->line = line;
    snprintf(w->last, sizeof(w->last), "%s", msg);
}

static struct yb_tab *parse(const char *text)
{
    struct yb_tab *tab = NULL;
    struct yb_tab_error err;
    int rc = yb_tab_parse(text, strlen(text), &tab, &err);
    if (rc != 0)
        print_error("tab: %u:%u: %s\n", err.line, err.column, err.msg);
    assert_int_equal(rc, 0);
    return tab;
}

/* Loads text as kind, frees the view, returns the load's code. */
static int load_kind(enum kind k, const char *text, struct yb_tab_error *err, struct warnings *w)
{
    struct yb_tab *tab = parse(text);
    int rc = 0;
    switch (k) {
    case K_DOMAINS: {
        struct yb_domains *v;
        rc = yb_domains_load(tab, &v, err, on_warn, w);
        yb_domains_free(&v);
        break;
    }
    case K_ALIASDOMAIN: {
        struct yb_aliasdomains *v;
        rc = yb_aliasdomains_load(tab, &v, err, on_warn, w);
        yb_aliasdomains_free(&v);
        break;
    }
    case K_USERS: {
        struct yb_users *v;
        rc = yb_users_load(tab, &v, err, on_warn, w);
        yb_users_free(&v);
        break;
    }
    case K_ALIASES: {
        struct yb_aliases *v;
        rc = yb_aliases_load(tab, &v, err, on_warn, w);
        yb_aliases_free(&v);
        break;
    }
    case K_RELAY: {
        struct yb_relay *v;
        rc = yb_relay_load(tab, &v, err, on_warn, w);
        yb_relay_free(&v);
        break;
    }
    }
    yb_tab_free(&tab);
    return rc;
}

struct load_case {
    enum kind kind;
    const char *text;
    int rc;
    unsigned line, column;
    const char *msg; /* a part of the message */
};

#define U(dom, user, id, dir, type) \
    "\"" dom "\"\t\"" user "\"\t\"pw\"\t" id "\t\"" dir "\"\t\"" type "\"\n"

static const struct load_case load_cases[] = {
    /* domains.tab */
    { K_DOMAINS, "", 0, 0, 0, NULL },
    { K_DOMAINS, "# only a comment\n\n", 0, 0, 0, NULL },
    { K_DOMAINS,
      "\"example.com\"\nexample.org\n\"b\xc3\xbc"
      "cher.example\"\n",
      0, 0, 0, NULL },
    { K_DOMAINS, "\"a.example\"\n\"b.example\"\n\"A.Example\"\n", YB_EPARSE, 3, 1,
      "duplicate domain 'A.Example' (first on line 1)" },
    { K_DOMAINS, "\"a.example\"\t\"x\"\n", YB_EPARSE, 1, 1, "expected 1 field" },
    { K_DOMAINS, "\"ok.example\"\n\"bad..example\"\n", YB_EPARSE, 2, 1, "empty label 2" },
    { K_DOMAINS, "\"example.com.\"\n", YB_EPARSE, 1, 1, "ends with a dot" },
    { K_DOMAINS, "\"-x.example\"\n", YB_EPARSE, 1, 1, "starts with a hyphen" },
    { K_DOMAINS, "\"\"\n", YB_EPARSE, 1, 1, "empty domain" },
    /* aliasdomain.tab */
    { K_ALIASDOMAIN, "\"*.example.net\"\t\"example.com\"\n\"example.org\"\t\"example.com\"\n", 0, 0,
      0, NULL },
    { K_ALIASDOMAIN, "\"*.example.net\"\t\"example.com\"\n\"*.EXAMPLE.net\"\t\"example.org\"\n",
      YB_EPARSE, 2, 1, "first on line 1" },
    { K_ALIASDOMAIN, "\"example.net\"\t\"Example.NET\"\n", YB_EPARSE, 1, 15, "alias of itself" },
    { K_ALIASDOMAIN, "\"ex*.net\"\t\"example.com\"\n", YB_EPARSE, 1, 1, "a wildcard is written" },
    { K_ALIASDOMAIN, "\"*\"\t\"example.com\"\n", YB_EPARSE, 1, 1, "alias domain" },
    { K_ALIASDOMAIN, "\"example.net\"\t\"bad_domain\"\n", YB_EPARSE, 1, 15, "real domain" },
    { K_ALIASDOMAIN, "\"example.net\"\n", YB_EPARSE, 1, 1, "expected 2 fields" },
    /* mailusers.tab: XMail's own lines first */
    { K_USERS, "\"example.com\"\t\"alice\"\t\"0408051a\"\t1\t\"alice\"\t\"U\"\n", 0, 0, 0, NULL },
    { K_USERS,
      "\"example.com\"\t\"list\"\t\"\"\t2\t\"list\"\t\"M\"\n"
      "example.com\tbob\t$pbkdf2-sha256$i=600000,l=32$c2FsdA$aGFzaA\t3\tbob\tu\n",
      0, 0, 0, NULL },
    { K_USERS, U("d.example", "{64:a}", "1", "x", "U"), 0, 0, 0, NULL },
    { K_USERS, U("d.example", "{65:a}", "1", "x", "U"), YB_ELIMIT, 1, 13, "local part is 65" },
    { K_USERS, U("d.example", "u", "4294967295", "x", "U"), 0, 0, 0, NULL },
    { K_USERS, U("d.example", "u", "4294967296", "x", "U"), YB_EPARSE, 1, 22, "id '4294967296'" },
    { K_USERS, U("d.example", "u", "x", "x", "U"), YB_EPARSE, 1, 22, "not a decimal" },
    { K_USERS, U("d.example", "u", "-1", "x", "U"), YB_EPARSE, 1, 22, "not a decimal" },
    { K_USERS, U("d.example", "u", "", "x", "U"), YB_EPARSE, 1, 22, "not a decimal" },
    { K_USERS,
      U("d.example", "alice", "1", "a", "U") U("d.example", "bob", "2", "b", "U")
          U("D.Example", "ALICE", "3", "c", "U"),
      YB_EPARSE, 3, 13, "duplicate account ALICE@D.Example (first on line 1)" },
    { K_USERS, U("d.example", "alice", "7", "a", "U") U("d.example", "bob", "7", "b", "U"),
      YB_EPARSE, 2, 24, "duplicate id 7 (first on line 1)" },
    { K_USERS, U("d.example", "alice", "1", "a", "U") U("e.example", "alice", "2", "a", "U"), 0, 0,
      0, NULL },
    { K_USERS, U("d.example", "u", "1", "x", "X"), YB_EPARSE, 1, 28, "neither U" },
    { K_USERS, U("d.example", "u", "1", "x", "UU"), YB_EPARSE, 1, 28, "neither U" },
    { K_USERS, U("d.example", "u", "1", "../x", "U"), YB_EPARSE, 1, 24, "'..'" },
    { K_USERS, U("d.example", "u", "1", "a/../b", "U"), YB_EPARSE, 1, 24, "'..'" },
    { K_USERS, U("d.example", "u", "1", "a\\\\..", "U"), YB_EPARSE, 1, 24, "'..'" },
    { K_USERS, U("d.example", "u", "1", ".", "U"), YB_EPARSE, 1, 24, "'.'" },
    { K_USERS, U("d.example", "u", "1", "/var/mail/u", "U"), YB_EPARSE, 1, 24, "relative" },
    { K_USERS, U("d.example", "u", "1", "C:\\\\mail", "U"), YB_EPARSE, 1, 24, "':'" },
    { K_USERS, U("d.example", "u", "1", "", "U"), YB_EPARSE, 1, 24, "empty mailbox" },
    { K_USERS, U("d.example", "u", "1", "users/u..v/.x", "U"), 0, 0, 0, NULL },
    { K_USERS, U("bad..example", "u", "1", "x", "U"), YB_EPARSE, 1, 1, "empty label" },
    { K_USERS, U("d.example", "a b", "1", "x", "U"), YB_EPARSE, 1, 13, "user:" },
    { K_USERS, "\"d.example\"\t\"u\"\t\"pw\"\t1\t\"x\"\n", YB_EPARSE, 1, 1, "expected 6 fields" },
    /* aliases.tab */
    { K_ALIASES,
      "\"d.example\"\t\"info\"\t\"alice\"\n\"d.example\"\t\"info\"\t\"bob@ext.example\"\n"
      "\"d.example\"\t\"*\"\t\"postmaster\"\n\"d.example\"\t\"sales-*\"\t\"bob\"\n",
      0, 0, 0, NULL },
    { K_ALIASES, "\"d.example\"\t\"info\"\n", YB_EPARSE, 1, 1, "expected 3 fields" },
    { K_ALIASES, "\"*.d.example\"\t\"info\"\t\"alice\"\n", YB_EPARSE, 1, 1,
      "wildcard domains go in aliasdomain.tab" },
    { K_ALIASES, "\"d.example\"\t\"in fo\"\t\"alice\"\n", YB_EPARSE, 1, 13, "alias:" },
    { K_ALIASES, "\"d.example\"\t\"info\"\t\"alice@\"\n", YB_EPARSE, 1, 20, "target domain" },
    { K_ALIASES, "\"d.example\"\t\"info\"\t\"@d.example\"\n", YB_EPARSE, 1, 20, "target:" },
    { K_ALIASES, "\"d.example\"\t\"info\"\t\"*\"\n", YB_EPARSE, 1, 20, "wildcard" },
    { K_ALIASES, "\"d.example\"\t\"{65:a}\"\t\"alice\"\n", YB_ELIMIT, 1, 13, "65 octets" },
    { K_ALIASES,
      "\"d.example\"\t\"info\"\t\"alice\"\n\"d.example\"\t\"team\"\t\"bob\"\n"
      "\"D.EXAMPLE\"\t\"INFO\"\t\"alice@d.example\"\n",
      YB_EPARSE, 3, 20, "duplicate alias target (first on line 1)" },
    /* smtprelay.tab */
    { K_RELAY, "\"127.0.0.0/8\"\n\"::1/128\"\n192.0.2.1\n\"10.0.0.0\"\t\"255.0.0.0\"\n", 0, 0, 0,
      NULL },
    { K_RELAY, "\"10.0.0.0/33\"\n", YB_EPARSE, 1, 1, "prefix length 0-32" },
    { K_RELAY, "\"10.0.0.0/32\"\n\"::/129\"\n", YB_EPARSE, 2, 1, "prefix length 0-128" },
    { K_RELAY, "\"10.0.0.0/\"\n", YB_EPARSE, 1, 1, "prefix length" },
    { K_RELAY, "\"10.0.0.0/-1\"\n", YB_EPARSE, 1, 1, "prefix length" },
    { K_RELAY, "\"10.0.0.0/8x\"\n", YB_EPARSE, 1, 1, "prefix length" },
    { K_RELAY, "\"10.0.0.0/8/8\"\n", YB_EPARSE, 1, 1, "prefix length" },
    { K_RELAY, "\"garbage\"\n", YB_EPARSE, 1, 1, "not an IPv4 or IPv6 address" },
    { K_RELAY, "\"10.0.0\"\n", YB_EPARSE, 1, 1, "not an IPv4" },
    { K_RELAY, "\"\"\n", YB_EPARSE, 1, 1, "not an IPv4" },
    { K_RELAY, "\"fe80::1%1/64\"\n", YB_EPARSE, 1, 1, "not an IPv4" },
    { K_RELAY, "\"[::1]/128\"\n", YB_EPARSE, 1, 1, "not an IPv4" },
    { K_RELAY, "\"10.0.0.0\"\t\"255.0.255.0\"\n", YB_EPARSE, 1, 12, "contiguous" },
    { K_RELAY, "\"10.0.0.0\"\t\"33\"\n", YB_EPARSE, 1, 12, "prefix length 0-32" },
    { K_RELAY, "\"10.0.0.0/8\"\t\"255.0.0.0\"\n", YB_EPARSE, 1, 14, "has a /prefix" },
    { K_RELAY, "\"::\"\t\"255.0.0.0\"\n", YB_EPARSE, 1, 6, "contiguous" },
    { K_RELAY, "\"::ffff:10.0.0.0/95\"\n", YB_EPARSE, 1, 1, "96 or more" },
    { K_RELAY, "\"10.0.0.0\"\t\"8\"\t\"x\"\n", YB_EPARSE, 1, 1, "found 3 fields" },
};

static void test_load_errors(void **state)
{
    char buf[2048];
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
        const struct load_case *c = &load_cases[i];
        struct yb_tab_error err;
        struct warnings w = { 0 };
        expand(c->text, buf, sizeof(buf));
        int rc = load_kind(c->kind, buf, &err, &w);
        if (rc != c->rc || w.n != 0 ||
            (rc != 0 && (err.code != rc || err.line != c->line || err.column != c->column ||
                         strstr(err.msg, c->msg) == NULL))) {
            print_error("case %u: rc %d at %u:%u '%s'; expected %d at %u:%u '%s'\n", (unsigned)i,
                        rc, err.line, err.column, err.msg, c->rc, c->line, c->column,
                        c->msg != NULL ? c->msg : "");
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ---- lookups ---- */

static void test_domains_lookup(void **state)
{
    struct yb_tab *tab = parse("\"Example.com\"\n\"b\xc3\xbc"
                               "cher.example\"\n");
    struct yb_domains *ds;
    struct yb_tab_error err;
    (void)state;
    assert_int_equal(yb_domains_load(tab, &ds, &err, NULL, NULL), 0);
    assert_int_equal(yb_domains_count(ds), 2);
    assert_string_equal(yb_domains_find(ds, YB_SLICE_LIT("example.com")), "Example.com");
    assert_true(yb_domains_has(ds, YB_SLICE_LIT("EXAMPLE.COM")));
    assert_true(yb_domains_has(ds, YB_SLICE_LIT("B\xc3\xbc"
                                                "CHER.example")));
    /* Non-ASCII is not case-folded: Ü is not ü. */
    assert_false(yb_domains_has(ds, YB_SLICE_LIT("b\xc3\x9c"
                                                 "cher.example")));
    assert_false(yb_domains_has(ds, YB_SLICE_LIT("example.com.")));
    assert_false(yb_domains_has(ds, YB_SLICE_LIT("example.co")));
    assert_false(yb_domains_has(ds, YB_SLICE_LIT("")));
    yb_domains_free(&ds);
    assert_null(ds);
    /* No file: an empty view. */
    assert_int_equal(yb_domains_load(NULL, &ds, &err, NULL, NULL), 0);
    assert_int_equal(yb_domains_count(ds), 0);
    assert_false(yb_domains_has(ds, YB_SLICE_LIT("example.com")));
    yb_domains_free(&ds);
    yb_tab_free(&tab);
}

struct ad_case {
    const char *query;
    const char *real; /* NULL: not an alias domain */
};

static const struct ad_case ad_cases[] = {
    { "example.org", "example.com" },
    { "EXAMPLE.ORG", "example.com" },
    { "a.example.net", "example.com" },
    { "A.B.Example.Net", "example.com" },
    { "deep.example.net", "example.com" },
    { "x.deep.example.net", "other.example" }, /* the longest wildcard suffix wins */
    { "y.x.deep.example.net", "other.example" },
    { "exact.example.net", "exact.example" }, /* exact wins over the wildcard */
    { "example.net", NULL },                  /* "*." needs a label in front */
    { "aexample.net", NULL },                 /* only at a label boundary */
    { "net", NULL },
    { "example.com", NULL },
    { "sub.example.org", NULL },
    { "", NULL },
};

static void test_aliasdomains_lookup(void **state)
{
    struct yb_tab *tab = parse("\"*.example.net\"\t\"example.com\"\n"
                               "\"example.org\"\t\"example.com\"\n"
                               "\"*.deep.example.net\"\t\"other.example\"\n"
                               "\"exact.example.net\"\t\"exact.example\"\n");
    struct yb_aliasdomains *ad;
    struct yb_tab_error err;
    (void)state;
    assert_int_equal(yb_aliasdomains_load(tab, &ad, &err, NULL, NULL), 0);
    assert_int_equal(yb_aliasdomains_count(ad), 4);
    for (size_t i = 0; i < sizeof(ad_cases) / sizeof(ad_cases[0]); i++) {
        const char *real = yb_aliasdomains_find(ad, yb_slice_cstr(ad_cases[i].query));
        if (ad_cases[i].real == NULL) {
            assert_null(real);
        } else {
            assert_non_null(real);
            assert_string_equal(real, ad_cases[i].real);
        }
    }
    yb_aliasdomains_free(&ad);
    yb_tab_free(&tab);
}

static void test_users_lookup(void **state)
{
    struct yb_tab *tab = parse("\"example.com\"\t\"Alice\"\t\"secret-hash\"\t1\t\"alice\"\t\"U\"\n"
                               "\"example.com\"\t\"list\"\t\"\"\t7\t\"list\"\t\"M\"\n"
                               "\"example.org\"\t\"alice\"\t\"h2\"\t4294967295\t\"a\"\t\"U\"\n"
                               "\"b\xc3\xbc"
                               "cher.example\"\t\"j\xc3\xb6rg\"\t\"h\"\t0\t\"j\"\t\"U\"\n");
    struct yb_users *us;
    struct yb_tab_error err;
    (void)state;
    assert_int_equal(yb_users_load(tab, &us, &err, NULL, NULL), 0);
    assert_int_equal(yb_users_count(us), 4);
    const struct yb_user *u = yb_users_find(us, YB_SLICE_LIT("EXAMPLE.com"), YB_SLICE_LIT("aLiCe"));
    assert_non_null(u);
    assert_string_equal((const char *)u->name.p, "Alice");
    assert_string_equal((const char *)u->domain.p, "example.com");
    assert_string_equal((const char *)u->password.p, "secret-hash");
    assert_string_equal((const char *)u->dir.p, "alice");
    assert_int_equal(u->id, 1);
    assert_int_equal(u->type, YB_USER_MAILBOX);
    assert_int_equal(u->line, 1);
    assert_ptr_equal(yb_users_find_id(us, 1), u);
    assert_int_equal(yb_users_find(us, YB_SLICE_LIT("example.com"), YB_SLICE_LIT("list"))->type,
                     YB_USER_LIST);
    u = yb_users_find(us, YB_SLICE_LIT("example.org"), YB_SLICE_LIT("alice"));
    assert_non_null(u);
    assert_ptr_equal(yb_users_find_id(us, 4294967295u), u);
    assert_ptr_equal(yb_users_at(us, 2), u);
    assert_null(yb_users_at(us, 4));
    assert_non_null(yb_users_find(us,
                                  YB_SLICE_LIT("B\xc3\xbc"
                                               "CHER.example"),
                                  YB_SLICE_LIT("J\xc3\xb6RG")));
    assert_null(yb_users_find(us,
                              YB_SLICE_LIT("b\xc3\xbc"
                                           "cher.example"),
                              YB_SLICE_LIT("j\xc3\x96rg")));
    assert_non_null(yb_users_find_id(us, 0));
    assert_null(yb_users_find_id(us, 2));
    assert_null(yb_users_find(us, YB_SLICE_LIT("example.net"), YB_SLICE_LIT("alice")));
    assert_null(yb_users_find(us, YB_SLICE_LIT("example.com"), YB_SLICE_LIT("alic")));
    assert_null(yb_users_find(us, YB_SLICE_LIT("example.com"), YB_SLICE_LIT("")));
    /* The domain and the user are separate: "a" + "lice@..." is not "alice". */
    assert_null(yb_users_find(us, YB_SLICE_LIT("xample.com"), YB_SLICE_LIT("alicee")));
    yb_users_free(&us);
    yb_tab_free(&tab);
}

struct pattern_case {
    const char *pattern, *s;
    bool match;
};

static const struct pattern_case pattern_cases[] = {
    { "*", "anything", true },
    { "*", "", true },
    { "sales-*", "sales-eu", true },
    { "sales-*", "SALES-", true },
    { "sales-*", "sales", false },
    { "*-bounces", "list-bounces", true },
    { "*-bounces", "bounces", false },
    { "a*b*c", "aXbYc", true },
    { "a*b*c", "abc", true },
    { "a*b*c", "acb", false },
    { "a*b*c", "abcbc", true },
    { "**", "x", true },
    { "abc", "ABC", true },
    { "abc", "abcd", false },
    { "*x", "xxxx", true },
    { "x*", "yx", false },
};

static void test_alias_patterns(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(pattern_cases) / sizeof(pattern_cases[0]); i++) {
        const struct pattern_case *c = &pattern_cases[i];
        if (yb_alias_pattern_match(yb_slice_cstr(c->pattern), yb_slice_cstr(c->s)) != c->match)
            print_error("pattern '%s' on '%s'\n", c->pattern, c->s);
        assert_int_equal(yb_alias_pattern_match(yb_slice_cstr(c->pattern), yb_slice_cstr(c->s)),
                         c->match);
    }
}

/* ---- the resolver ---- */

struct book {
    struct yb_tab *tab[4];
    struct yb_domains *domains;
    struct yb_aliasdomains *aliasdomains;
    struct yb_users *users;
    struct yb_aliases *aliases;
    struct yb_address_book b;
};

static void book_open(struct book *bk, const char *domains, const char *aliasdomains,
                      const char *users, const char *aliases)
{
    struct yb_tab_error err;
    memset(bk, 0, sizeof(*bk));
    bk->tab[0] = parse(domains);
    bk->tab[1] = parse(aliasdomains);
    bk->tab[2] = parse(users);
    bk->tab[3] = parse(aliases);
    assert_int_equal(yb_domains_load(bk->tab[0], &bk->domains, &err, NULL, NULL), 0);
    assert_int_equal(yb_aliasdomains_load(bk->tab[1], &bk->aliasdomains, &err, NULL, NULL), 0);
    assert_int_equal(yb_users_load(bk->tab[2], &bk->users, &err, NULL, NULL), 0);
    int rc = yb_aliases_load(bk->tab[3], &bk->aliases, &err, NULL, NULL);
    if (rc != 0)
        print_error("aliases: %u:%u: %s\n", err.line, err.column, err.msg);
    assert_int_equal(rc, 0);
    bk->b = (struct yb_address_book){ bk->domains, bk->aliasdomains, bk->users, bk->aliases };
}

static void book_close(struct book *bk)
{
    yb_domains_free(&bk->domains);
    yb_aliasdomains_free(&bk->aliasdomains);
    yb_users_free(&bk->users);
    yb_aliases_free(&bk->aliases);
    for (int i = 0; i < 4; i++)
        yb_tab_free(&bk->tab[i]);
}

/* "U:user@domain X:local@domain ..." in the resolution's order. */
static void describe(const struct yb_resolution *res, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < res->n && o < size; i++) {
        const struct yb_rcpt *r = &res->rcpt[i];
        int n = snprintf(buf + o, size - o, "%s%s:%.*s@%.*s", i ? " " : "",
                         r->user != NULL ? "U" : "X", (int)r->local.len, (const char *)r->local.p,
                         (int)r->domain.len, (const char *)r->domain.p);
        assert_true(n > 0);
        o += (size_t)n;
    }
}

static const char *const book_domains = "\"example.com\"\n\"example.org\"\n"
                                        "\"b\xc3\xbc"
                                        "cher.example\"\n";
static const char *const book_aliasdomains = "\"example.net\"\t\"example.com\"\n"
                                             "\"*.sub.example.com\"\t\"example.com\"\n"
                                             "\"alias.example\"\t\"notlocal.example\"\n";
static const char *const book_users = U("example.com", "alice", "1", "alice", "U")
    U("example.com", "bob", "2", "bob", "U") U("example.com", "carol", "3", "carol", "U")
        U("example.com", "postmaster", "4", "pm", "U") U("example.com", "list", "5", "list", "M")
            U("example.org", "alice", "10", "alice", "U") U("b\xc3\xbc"
                                                            "cher.example",
                                                            "j\xc3\xb6rg", "20", "j", "U");
static const char *const book_aliases = "\"example.com\"\tinfo\talice\n"
                                        "\"example.com\"\tteam\talice\n"
                                        "\"example.com\"\tteam\tbob\n"
                                        "\"example.com\"\tteam\tdave@external.example\n"
                                        "\"example.com\"\tall\tteam\n"
                                        "\"example.com\"\tall\tcarol\n"
                                        "\"example.com\"\tall\talice\n"
                                        "\"example.com\"\tfwd\talice@example.org\n"
                                        "\"example.com\"\tcarol\tcarol\n"
                                        "\"example.com\"\tcarol\tcarol@backup.example\n"
                                        "\"example.com\"\ta\tb\n"
                                        "\"example.com\"\tb\ta\n"
                                        "\"example.com\"\tself\tself\n"
                                        "\"example.com\"\tx1\tx2@example.net\n"
                                        "\"example.com\"\tx2\tx3\n"
                                        "\"example.com\"\tx3\tX1@Example.COM\n"
                                        "\"example.com\"\t*\tpostmaster\n"
                                        "\"example.com\"\tsales-*\tbob\n"
                                        "\"example.com\"\t*-eu\tcarol\n"
                                        "\"example.com\"\tviaalias\tinfo@example.net\n"
                                        "\"example.com\"\tout\tSomeOne@Elsewhere.example\n"
                                        "\"example.com\"\tout\tsomeone@ELSEWHERE.example\n"
                                        "\"example.org\"\tghost\tnobody\n"
                                        "\"example.org\"\tghost\talice\n"
                                        "\"example.org\"\tdead\tnobody\n"
                                        "\"example.org\"\tdead\tnobody2@example.org\n";

struct resolve_case {
    const char *address;
    enum yb_resolve_status st;
    const char *rcpts;
};

static const struct resolve_case resolve_cases[] = {
    { "alice@example.com", YB_RESOLVE_OK, "U:alice@example.com" },
    { "ALICE@Example.COM", YB_RESOLVE_OK, "U:alice@example.com" },
    { "info@example.com", YB_RESOLVE_OK, "U:alice@example.com" },
    { "Info@EXAMPLE.com", YB_RESOLVE_OK, "U:alice@example.com" },
    /* several targets, an external one */
    { "team@example.com", YB_RESOLVE_OK,
      "U:alice@example.com U:bob@example.com X:dave@external.example" },
    /* alias to alias, deduplicated; carol's alias names carol herself */
    { "all@example.com", YB_RESOLVE_OK,
      "U:alice@example.com U:bob@example.com X:dave@external.example U:carol@example.com "
      "X:carol@backup.example" },
    { "carol@example.com", YB_RESOLVE_OK, "U:carol@example.com X:carol@backup.example" },
    { "fwd@example.com", YB_RESOLVE_OK, "U:alice@example.org" },
    /* alias domains */
    { "alice@example.net", YB_RESOLVE_OK, "U:alice@example.com" },
    { "info@x.sub.example.com", YB_RESOLVE_OK, "U:alice@example.com" },
    { "viaalias@example.com", YB_RESOLVE_OK, "U:alice@example.com" },
    { "someone@alias.example", YB_RESOLVE_OK, "X:someone@alias.example" }, /* real not local */
    /* external: as written */
    { "Some.One@Elsewhere.Example", YB_RESOLVE_OK, "X:Some.One@Elsewhere.Example" },
    { "out@example.com", YB_RESOLVE_OK, "X:SomeOne@Elsewhere.example X:someone@ELSEWHERE.example" },
    /* loops */
    { "a@example.com", YB_RESOLVE_LOOP, "" },
    { "b@example.com", YB_RESOLVE_LOOP, "" },
    { "self@example.com", YB_RESOLVE_LOOP, "" },
    { "x1@example.com", YB_RESOLVE_LOOP, "" }, /* x1 -> x2@alias domain -> x3 -> X1@ */
    /* precedence: exact alias, account, most specific wildcard, catch-all */
    { "bob@example.com", YB_RESOLVE_OK, "U:bob@example.com" },
    { "postmaster@example.com", YB_RESOLVE_OK, "U:postmaster@example.com" },
    { "nobody@example.com", YB_RESOLVE_OK, "U:postmaster@example.com" },
    { "sales-eu@example.com", YB_RESOLVE_OK, "U:bob@example.com" }, /* 6 literals beat 3 */
    { "sales-@example.com", YB_RESOLVE_OK, "U:bob@example.com" },
    { "north-eu@example.com", YB_RESOLVE_OK, "U:carol@example.com X:carol@backup.example" },
    { "list@example.com", YB_RESOLVE_OK, "U:list@example.com" },
    /* no catch-all in example.org; dangling targets are skipped */
    { "nobody@example.org", YB_RESOLVE_NO_USER, "" },
    { "ghost@example.org", YB_RESOLVE_OK, "U:alice@example.org" },
    { "dead@example.org", YB_RESOLVE_NO_USER, "" },
    /* IDN: ASCII folded, the rest as written */
    { "j\xc3\xb6rg@b\xc3\xbc"
      "cher.example",
      YB_RESOLVE_OK,
      "U:j\xc3\xb6rg@b\xc3\xbc"
      "cher.example" },
    { "J\xc3\xb6RG@B\xc3\xbc"
      "CHER.EXAMPLE",
      YB_RESOLVE_OK,
      "U:j\xc3\xb6rg@b\xc3\xbc"
      "cher.example" },
    /* malformed */
    { "noat", YB_RESOLVE_BAD_ADDRESS, "" },
    { "@example.com", YB_RESOLVE_BAD_ADDRESS, "" },
    { "alice@", YB_RESOLVE_BAD_ADDRESS, "" },
    { "alice@bad..example", YB_RESOLVE_BAD_ADDRESS, "" },
    { "alice@example.com.", YB_RESOLVE_BAD_ADDRESS, "" },
    { "{64:a}@example.com", YB_RESOLVE_OK, "U:postmaster@example.com" },
    { "{65:a}@example.com", YB_RESOLVE_BAD_ADDRESS, "" },
};

static void test_resolve(void **state)
{
    struct book bk;
    struct yb_resolution *res = malloc(sizeof(*res));
    char addr[512], got[2048];
    (void)state;
    assert_non_null(res);
    book_open(&bk, book_domains, book_aliasdomains, book_users, book_aliases);
    for (size_t i = 0; i < sizeof(resolve_cases) / sizeof(resolve_cases[0]); i++) {
        const struct resolve_case *c = &resolve_cases[i];
        size_t len = expand(c->address, addr, sizeof(addr));
        enum yb_resolve_status st = yb_resolve(&bk.b, yb_slice_make(addr, len), res);
        describe(res, got, sizeof(got));
        if (st != c->st || strcmp(got, c->rcpts) != 0)
            print_error("'%s': %s '%s'; expected %s '%s'\n", c->address, yb_resolve_status_text(st),
                        got, yb_resolve_status_text(c->st), c->rcpts);
        assert_int_equal(st, c->st);
        assert_string_equal(got, c->rcpts);
    }
    /* The details a log line needs. */
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("ghost@example.org"), res), YB_RESOLVE_OK);
    assert_int_equal(res->ndangling, 1);
    assert_true(yb_slice_eq(res->dangling_local, YB_SLICE_LIT("nobody")));
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("a@example.com"), res), YB_RESOLVE_LOOP);
    assert_true(yb_slice_eq(res->where_local, YB_SLICE_LIT("a")));
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("list@example.com"), res), YB_RESOLVE_OK);
    assert_int_equal(res->rcpt[0].user->type, YB_USER_LIST);
    assert_int_equal(
        yb_resolve_parts(&bk.b, YB_SLICE_LIT("team"), YB_SLICE_LIT("example.com"), res),
        YB_RESOLVE_OK);
    assert_int_equal(res->n, 3);
    book_close(&bk);
    free(res);
}

/* Builds "domain" "aN" "a(N+1)" for N in 1..n, then a(n+1) -> "alice". */
static char *chain_aliases(const char *domain, const char *prefix, int n)
{
    struct yb_buf b;
    yb_buf_init(&b, 1 << 20);
    for (int i = 1; i <= n; i++)
        assert_int_equal(
            yb_buf_printf(&b, "\"%s\"\t\"%s%d\"\t\"%s%d\"\n", domain, prefix, i, prefix, i + 1), 0);
    assert_int_equal(yb_buf_printf(&b, "\"%s\"\t\"%s%d\"\t\"alice\"\n", domain, prefix, n + 1), 0);
    return (char *)yb_buf_steal(&b, NULL);
}

static void test_resolve_depth_limit(void **state)
{
    struct book bk;
    struct yb_resolution *res = malloc(sizeof(*res));
    (void)state;
    assert_non_null(res);
    /* c1 -> ... -> c16 -> alice: 16 expansions; d1 -> ... -> d17 -> alice: 17 */
    char *c = chain_aliases("example.com", "c", YB_LIMIT_ALIAS_DEPTH - 1);
    char *d = chain_aliases("example.com", "d", YB_LIMIT_ALIAS_DEPTH);
    struct yb_buf all;
    yb_buf_init(&all, 1 << 20);
    assert_int_equal(yb_buf_append_cstr(&all, c), 0);
    assert_int_equal(yb_buf_append_cstr(&all, d), 0);
    book_open(&bk, "example.com\n", "", U("example.com", "alice", "1", "a", "U"),
              yb_buf_cstr(&all));
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("c1@example.com"), res), YB_RESOLVE_OK);
    assert_int_equal(res->n, 1);
    /* Entering the chain one step further in stays within the limit too. */
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("d2@example.com"), res), YB_RESOLVE_OK);
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("d1@example.com"), res), YB_RESOLVE_TOO_DEEP);
    assert_int_equal(res->n, 0);
    assert_true(yb_slice_eq(res->where_local, YB_SLICE_LIT("d17")));
    book_close(&bk);
    yb_buf_free(&all);
    free(c);
    free(d);
    free(res);
}

static void test_resolve_target_limit(void **state)
{
    struct book bk;
    struct yb_resolution *res = malloc(sizeof(*res));
    struct yb_buf b;
    (void)state;
    assert_non_null(res);
    yb_buf_init(&b, 1 << 20);
    /* "max" has exactly YB_LIMIT_ALIAS_TARGETS external targets, "over" one more. */
    for (int i = 0; i < YB_LIMIT_ALIAS_TARGETS; i++)
        assert_int_equal(yb_buf_printf(&b, "example.com\tmax\tt%d@ext.example\n", i), 0);
    for (int i = 0; i <= YB_LIMIT_ALIAS_TARGETS; i++)
        assert_int_equal(yb_buf_printf(&b, "example.com\tover\tt%d@ext.example\n", i), 0);
    /* "wrap" -> "max": the wrapping alias is one more target visited. */
    assert_int_equal(yb_buf_printf(&b, "example.com\twrap\tmax\n"), 0);
    /* A fan-out that repeats the same addresses still counts every visit. */
    for (int i = 0; i < 40; i++)
        assert_int_equal(yb_buf_printf(&b, "example.com\tfan\tf%d\n", i), 0);
    for (int i = 0; i < 40; i++)
        for (int j = 0; j < 40; j++)
            assert_int_equal(yb_buf_printf(&b, "example.com\tf%d\tx%d@ext.example\n", i, j), 0);
    book_open(&bk, "example.com\n", "", "", yb_buf_cstr(&b));
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("max@example.com"), res), YB_RESOLVE_OK);
    assert_int_equal(res->n, YB_LIMIT_ALIAS_TARGETS);
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("over@example.com"), res), YB_RESOLVE_TOO_MANY);
    assert_int_equal(res->n, 0);
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("wrap@example.com"), res), YB_RESOLVE_TOO_MANY);
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("f0@example.com"), res), YB_RESOLVE_OK);
    assert_int_equal(res->n, 40);
    assert_int_equal(yb_resolve(&bk.b, YB_SLICE_LIT("fan@example.com"), res), YB_RESOLVE_TOO_MANY);
    book_close(&bk);
    yb_buf_free(&b);
    free(res);
}

/* ---- relay ---- */

struct relay_case {
    const char *net; /* a smtprelay.tab line */
    const char *peer;
    bool allowed;
};

static const struct relay_case relay_cases[] = {
    { "\"0.0.0.0/0\"", "198.51.100.7", true },
    { "\"0.0.0.0/0\"", "::ffff:198.51.100.7", true },
    { "\"0.0.0.0/0\"", "::1", false },
    { "\"192.0.2.0/24\"", "192.0.2.0", true },
    { "\"192.0.2.0/24\"", "192.0.2.255", true },
    { "\"192.0.2.0/24\"", "192.0.3.0", false },
    { "\"192.0.2.0/24\"", "192.0.1.255", false },
    { "\"192.0.2.0/24\"", "::ffff:192.0.2.9", true },
    { "\"192.0.2.0/24\"", "::ffff:192.0.3.9", false },
    { "\"192.0.2.0/25\"", "192.0.2.127", true },
    { "\"192.0.2.0/25\"", "192.0.2.128", false },
    { "\"192.0.2.1/32\"", "192.0.2.1", true },
    { "\"192.0.2.1/32\"", "192.0.2.2", false },
    { "\"192.0.2.1\"", "192.0.2.1", true },
    { "\"192.0.2.1\"", "192.0.2.0", false },
    { "\"10.0.0.0\"\t\"255.0.0.0\"", "10.255.255.255", true },
    { "\"10.0.0.0\"\t\"255.0.0.0\"", "11.0.0.0", false },
    { "\"10.0.0.0\"\t\"255.255.255.255\"", "10.0.0.0", true },
    { "\"10.0.0.0\"\t\"255.255.255.255\"", "10.0.0.1", false },
    { "\"0.0.0.0\"\t\"0.0.0.0\"", "203.0.113.1", true },
    { "\"10.0.0.0\"\t\"8\"", "10.1.1.1", true },
    { "\"2001:db8::\"\t\"32\"", "2001:db8:1::1", true },
    { "\"::/0\"", "2001:db8::1", true },
    { "\"::/0\"", "::1", true },
    { "\"::/0\"", "192.0.2.1", false },
    { "\"::1/128\"", "::1", true },
    { "\"::1/128\"", "::2", false },
    { "\"::1/128\"", "127.0.0.1", false },
    { "\"::1\"", "::1", true },
    { "\"2001:db8::/32\"", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
    { "\"2001:db8::/32\"", "2001:db9::", false },
    { "\"2001:db8::/33\"", "2001:db8:7fff::1", true },
    { "\"2001:db8::/33\"", "2001:db8:8000::", false },
    { "\"2001:db8::1/127\"", "2001:db8::", true }, /* host bit masked (warned) */
    { "\"::ffff:10.0.0.0/104\"", "10.1.2.3", true },
    { "\"::ffff:10.0.0.0/104\"", "::ffff:10.1.2.3", true },
    { "\"::ffff:10.0.0.0/104\"", "11.0.0.0", false },
    { "\"::ffff:10.0.0.1/128\"", "10.0.0.1", true },
    { "\"10.1.2.3/8\"", "10.200.0.1", true }, /* host bits masked (warned) */
    { "\"10.1.2.3/8\"", "11.1.2.3", false },
};

static void test_relay_match(void **state)
{
    char line[128];
    (void)state;
    for (size_t i = 0; i < sizeof(relay_cases) / sizeof(relay_cases[0]); i++) {
        const struct relay_case *c = &relay_cases[i];
        struct yb_relay *rl;
        struct yb_tab_error err;
        struct pal_addr peer;
        snprintf(line, sizeof(line), "%s\n", c->net);
        struct yb_tab *tab = parse(line);
        int rc = yb_relay_load(tab, &rl, &err, NULL, NULL);
        if (rc != 0)
            print_error("'%s': %s\n", c->net, err.msg);
        assert_int_equal(rc, 0);
        assert_int_equal(pal_addr_from_ip(c->peer, 25, &peer), 0);
        if (yb_relay_allowed(rl, &peer) != c->allowed)
            print_error("'%s' with peer %s\n", c->net, c->peer);
        assert_int_equal(yb_relay_allowed(rl, &peer), c->allowed);
        yb_relay_free(&rl);
        yb_tab_free(&tab);
    }
}

static void test_relay_host_bits_warn(void **state)
{
    struct warnings w = { 0 };
    struct yb_relay *rl;
    struct yb_tab_error err;
    (void)state;
    struct yb_tab *tab = parse("\"127.0.0.0/8\"\n\"10.1.2.3/8\"\n\"2001:db8::1/32\"\n"
                               "\"192.0.2.1\"\t\"255.255.255.0\"\n\"::1/128\"\n");
    assert_int_equal(yb_relay_load(tab, &rl, &err, on_warn, &w), 0);
    assert_int_equal(yb_relay_count(rl), 5);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.line, 4);
    assert_non_null(strstr(w.last, "using 192.0.2.0/24"));
    yb_relay_free(&rl);
    yb_tab_free(&tab);
    w.n = 0;
    tab = parse("\"2001:db8::1/32\"\n");
    assert_int_equal(yb_relay_load(tab, &rl, &err, on_warn, &w), 0);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.last, "using 2001:db8::/32"));
    yb_relay_free(&rl);
    yb_tab_free(&tab);
    /* An empty file relays for nobody. */
    struct pal_addr peer;
    assert_int_equal(yb_relay_load(NULL, &rl, &err, NULL, NULL), 0);
    assert_int_equal(pal_addr_from_ip("127.0.0.1", 25, &peer), 0);
    assert_false(yb_relay_allowed(rl, &peer));
    yb_relay_free(&rl);
}

/* ---- scale ---- */

#define MANY_USERS 100000

static void test_many_users(void **state)
{
    struct yb_buf b;
    struct yb_tab *tab = NULL;
    struct yb_tab_error err;
    struct yb_users *us;
    char name[32];
    (void)state;
    yb_buf_init(&b, YB_LIMIT_TAB_FILE);
    for (int i = 0; i < MANY_USERS; i++)
        assert_int_equal(
            yb_buf_printf(&b, "\"d%d.example\"\t\"User%d\"\t\"$pbkdf2$x\"\t%d\t\"u%d\"\t\"U\"\n",
                          i % 100, i, i + 1, i),
            0);
    uint64_t t0 = pal_time_mono_ns();
    assert_int_equal(yb_tab_parse(b.p, b.len, &tab, &err), 0);
    uint64_t t1 = pal_time_mono_ns();
    assert_int_equal(yb_users_load(tab, &us, &err, NULL, NULL), 0);
    uint64_t t2 = pal_time_mono_ns();
    print_message("%d accounts: parse %u ms, build %u ms\n", MANY_USERS,
                  (unsigned)((t1 - t0) / 1000000), (unsigned)((t2 - t1) / 1000000));
    assert_int_equal(yb_users_count(us), MANY_USERS);
    for (int i = 0; i < MANY_USERS; i += 997) {
        char dom[32];
        snprintf(name, sizeof(name), "user%d", i);
        snprintf(dom, sizeof(dom), "D%d.EXAMPLE", i % 100);
        const struct yb_user *u = yb_users_find(us, yb_slice_cstr(dom), yb_slice_cstr(name));
        assert_non_null(u);
        assert_int_equal(u->id, (uint32_t)i + 1);
        assert_ptr_equal(yb_users_find_id(us, (uint32_t)i + 1), u);
    }
    assert_null(yb_users_find(us, YB_SLICE_LIT("d1.example"), YB_SLICE_LIT("user0")));
    assert_null(yb_users_find_id(us, MANY_USERS + 1));
    yb_users_free(&us);
    yb_tab_free(&tab);
    /* The last line duplicated is found, with its first line. */
    assert_int_equal(yb_buf_printf(&b, "\"d0.example\"\t\"USER0\"\t\"x\"\t0\t\"x\"\t\"U\"\n"), 0);
    assert_int_equal(yb_tab_parse(b.p, b.len, &tab, &err), 0);
    assert_int_equal(yb_users_load(tab, &us, &err, NULL, NULL), YB_EPARSE);
    assert_int_equal(err.line, MANY_USERS + 1);
    assert_non_null(strstr(err.msg, "first on line 1)"));
    yb_tab_free(&tab);
    yb_buf_free(&b);
}

/* ---- inside the configuration store ---- */

struct fixture {
    char root[PAL_PATH_MAX];
    struct yb_confstore *store;
    char err[YB_CONF_ERR_MAX];
};

static int setup(void **state)
{
    static struct fixture fx;
    memset(&fx, 0, sizeof(fx));
    if (yb_test_tmpdir("accounts", fx.root, sizeof(fx.root)) != 0)
        return -1;
    yb_log_configure(NULL, false, YB_LOG_ERROR);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    yb_confstore_close(&fx->store);
    pal_file_remove_tree(fx->root);
    return 0;
}

static void put(struct fixture *fx, const char *name, const char *text)
{
    char path[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(path, sizeof(path), fx->root, name), 0);
    assert_int_equal(pal_file_replace(path, text, strlen(text)), 0);
}

static void test_config_views(void **state)
{
    struct fixture *fx = *state;
    struct yb_address_book book;
    struct yb_resolution *res = malloc(sizeof(*res));
    struct pal_addr peer;
    bool changed;
    assert_non_null(res);
    put(fx, "domains.tab", "\"example.com\"\n");
    put(fx, "aliasdomain.tab", "\"example.net\"\t\"example.com\"\n");
    put(fx, "mailusers.tab", U("example.com", "alice", "1", "alice", "U"));
    put(fx, "aliases.tab", "\"example.com\"\t\"info\"\t\"alice\"\n");
    put(fx, "smtprelay.tab", "\"127.0.0.0/8\"\n\"10.1.2.3/8\"\n");
    assert_int_equal(yb_confstore_open(fx->root, &fx->store, fx->err, sizeof(fx->err)), 0);
    struct yb_config *a = yb_confstore_get(fx->store);
    assert_int_equal(yb_domains_count(yb_config_domains(a)), 1);
    assert_int_equal(yb_aliasdomains_count(yb_config_aliasdomains(a)), 1);
    assert_int_equal(yb_users_count(yb_config_users(a)), 1);
    assert_int_equal(yb_aliases_count(yb_config_aliases(a)), 1);
    assert_int_equal(yb_relay_count(yb_config_relay(a)), 2);
    assert_int_equal(pal_addr_from_ip("10.9.9.9", 0, &peer), 0);
    assert_true(yb_relay_allowed(yb_config_relay(a), &peer));
    yb_config_address_book(a, &book);
    assert_int_equal(yb_resolve(&book, YB_SLICE_LIT("info@example.net"), res), YB_RESOLVE_OK);
    assert_string_equal((const char *)res->rcpt[0].user->name.p, "alice");

    /* A broken edit: the old snapshot stays, the error names file:line:column. */
    put(fx, "mailusers.tab",
        U("example.com", "alice", "1", "alice", "U") U("example.com", "bob", "1", "bob", "U"));
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)),
                     YB_EPARSE);
    assert_false(changed);
    if (strstr(fx->err, "mailusers.tab:2:26: duplicate id 1 (first on line 1)") == NULL)
        fail_msg("%s", fx->err);
    struct yb_config *b = yb_confstore_get(fx->store);
    assert_ptr_equal(b, a);
    assert_null(
        yb_users_find(yb_config_users(b), YB_SLICE_LIT("example.com"), YB_SLICE_LIT("bob")));
    yb_config_unref(&b);

    /* Fixed: a new snapshot; the session holding the old one still resolves. */
    put(fx, "mailusers.tab",
        U("example.com", "alice", "1", "alice", "U") U("example.com", "bob", "2", "bob", "U"));
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)), 0);
    assert_true(changed);
    b = yb_confstore_get(fx->store);
    assert_non_null(
        yb_users_find(yb_config_users(b), YB_SLICE_LIT("example.com"), YB_SLICE_LIT("BOB")));
    assert_ptr_equal(yb_config_domains(a), yb_config_domains(b)); /* unchanged part shared */
    assert_int_equal(yb_resolve(&book, YB_SLICE_LIT("bob@example.com"), res), YB_RESOLVE_NO_USER);
    yb_config_unref(&a);

    /* Errors in each file refuse the load. */
    put(fx, "smtprelay.tab", "\"127.0.0.0/33\"\n");
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)),
                     YB_EPARSE);
    assert_non_null(strstr(fx->err, "smtprelay.tab:1:1:"));
    put(fx, "smtprelay.tab", "");
    put(fx, "aliases.tab", "\"example.com\"\t\"info\"\t\"a b\"\n");
    assert_int_equal(yb_confstore_check(fx->store, false, &changed, fx->err, sizeof(fx->err)),
                     YB_EPARSE);
    assert_non_null(strstr(fx->err, "aliases.tab:1:22:"));
    yb_config_unref(&b);
    free(res);
}

static void test_config_missing_files_are_empty(void **state)
{
    struct fixture *fx = *state;
    struct yb_address_book book;
    struct yb_resolution *res = malloc(sizeof(*res));
    assert_non_null(res);
    assert_int_equal(yb_confstore_open(fx->root, &fx->store, fx->err, sizeof(fx->err)), 0);
    struct yb_config *cfg = yb_confstore_get(fx->store);
    assert_int_equal(yb_domains_count(yb_config_domains(cfg)), 0);
    assert_int_equal(yb_users_count(yb_config_users(cfg)), 0);
    assert_int_equal(yb_relay_count(yb_config_relay(cfg)), 0);
    yb_config_address_book(cfg, &book);
    assert_int_equal(yb_resolve(&book, YB_SLICE_LIT("a@example.com"), res), YB_RESOLVE_OK);
    assert_null(res->rcpt[0].user);
    yb_config_unref(&cfg);
    free(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_syntax),
        cmocka_unit_test(test_local_part_syntax),
        cmocka_unit_test(test_parser_refuses_nul_and_bad_utf8),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_domains_lookup),
        cmocka_unit_test(test_aliasdomains_lookup),
        cmocka_unit_test(test_users_lookup),
        cmocka_unit_test(test_alias_patterns),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_resolve_depth_limit),
        cmocka_unit_test(test_resolve_target_limit),
        cmocka_unit_test(test_relay_match),
        cmocka_unit_test(test_relay_host_bits_warn),
        cmocka_unit_test(test_many_users),
        cmocka_unit_test_setup_teardown(test_config_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_missing_files_are_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
