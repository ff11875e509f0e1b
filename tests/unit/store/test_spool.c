/*
 * test_spool.c - the outbound queue: ids, the two-file commit under injected
 * faults, and the envelope format (round trips, limits, refusals, every
 * truncation of a valid file).
 *
 * Every test gets a fresh root (setup) which teardown removes; teardown also
 * restores the default fs ops, so a failed fault-injection test cannot leak
 * its table into the next test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal_err.h"
#include "pal_file.h"
#include "yb_spool.h"
#include "yb_test.h"

static char g_root[PAL_PATH_MAX];

static int setup_root(void **state)
{
    (void)state;
    pal_fs_set_ops(NULL);
    return yb_test_tmpdir("spool", g_root, sizeof g_root) == 0 ? 0 : -1;
}

static int teardown_root(void **state)
{
    (void)state;
    pal_fs_set_ops(NULL);
    int rc = pal_file_remove_tree(g_root);
    return rc == 0 && !pal_file_exists(g_root) ? 0 : -1;
}

/* g_root/spool/<sub>[/<name>] into buf (PAL_PATH_MAX bytes). */
static const char *SP(char *buf, const char *sub, const char *name)
{
    char spool[PAL_PATH_MAX], dir[PAL_PATH_MAX];
    assert_int_equal(pal_path_join(spool, sizeof spool, g_root, "spool"), 0);
    assert_int_equal(pal_path_join(dir, sizeof dir, spool, sub), 0);
    if (name == NULL) {
        memcpy(buf, dir, strlen(dir) + 1);
        return buf;
    }
    assert_int_equal(pal_path_join(buf, PAL_PATH_MAX, dir, name), 0);
    return buf;
}

/* Number of entries in spool/<sub> (0 when it does not exist). */
static int count_in(const char *sub)
{
    char dir[PAL_PATH_MAX];
    struct pal_dir *d = NULL;
    int n = 0;
    if (pal_fs_dir_open(SP(dir, sub, NULL), &d) != 0)
        return 0;
    for (;;) {
        struct pal_dirent ent = { .name = NULL };
        assert_int_equal(pal_fs_dir_next(d, &ent), 0);
        if (ent.name == NULL)
            break;
        n++;
    }
    pal_fs_dir_close(&d);
    return n;
}

static void assert_spool_counts(int tmp, int msg, int queue)
{
    int t = count_in("tmp"), m = count_in("msg"), q = count_in("queue");
    if (t != tmp || m != msg || q != queue)
        fail_msg("spool holds tmp %d msg %d queue %d, expected %d %d %d", t, m, q, tmp, msg, queue);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

/* An envelope with every field set and n recipients. */
static void make_env(struct yb_envelope *env, size_t n)
{
    memset(env, 0, sizeof *env);
    env->version = YB_SPOOL_VERSION;
    memcpy(env->id, "65f1c0deP1a2bC0R12345678Hcafef00d", 34);
    env->arrival = 1710342366;
    env->from = xstrdup("\"odd \\\"quoted\\\" \\\\ local\"@example.org");
    env->ret = xstrdup("HDRS");
    env->envid = xstrdup("QQ314159 \"id\" \\ x");
    env->smtputf8 = true;
    env->body = xstrdup("8BITMIME");
    env->client = xstrdup("2001:db8::1");
    env->helo = xstrdup("mail.example.org");
    env->auth = xstrdup("alice@example.org");
    env->nrcpt = n;
    env->rcpt = calloc(n, sizeof *env->rcpt);
    assert_non_null(env->rcpt);
    for (size_t i = 0; i < n; i++) {
        struct yb_env_rcpt *r = &env->rcpt[i];
        char addr[64];
        switch (i % 4) {
        case 0: snprintf(addr, sizeof addr, "user%u@example.org", (unsigned)i); break;
        case 1:
            snprintf(addr, sizeof addr,
                     "\xd0\xbf\xd0\xbe\xd1\x87\xd1\x82\xd0\xb0%u@\xe4\xbe\x8b\xe5\xad\x90."
                     "\xe4\xb8\xad\xe5\x9b\xbd",
                     (unsigned)i);
            break;
        case 2: snprintf(addr, sizeof addr, "\"a\\\"b\\\\c %u\"@example.net", (unsigned)i); break;
        default: snprintf(addr, sizeof addr, "x%u@[192.0.2.1]", (unsigned)i); break;
        }
        r->addr = xstrdup(addr);
        r->state = (enum yb_rcpt_state)(i % 4);
        r->notify = xstrdup(i % 2 ? "SUCCESS,FAILURE" : "");
        r->orcpt = xstrdup(i % 3 ? "rfc822;orig@example.org" : "");
        r->attempts = i == 1 ? UINT_MAX : (unsigned)i;
        r->last_error = xstrdup(i % 2 ? "451 4.3.0 \"try\" later \\ please" : "");
    }
}

static void assert_env_equal(const struct yb_envelope *a, const struct yb_envelope *b)
{
    assert_int_equal(a->version, b->version);
    assert_string_equal(a->id, b->id);
    assert_true(a->arrival == b->arrival);
    assert_string_equal(a->from, b->from);
    assert_string_equal(a->ret, b->ret);
    assert_string_equal(a->envid, b->envid);
    assert_int_equal(a->smtputf8, b->smtputf8);
    assert_true(a->next_attempt == b->next_attempt);
    assert_int_equal(a->warned, b->warned);
    assert_string_equal(a->body, b->body);
    assert_string_equal(a->client, b->client);
    assert_string_equal(a->helo, b->helo);
    assert_string_equal(a->auth, b->auth);
    assert_int_equal(a->nrcpt, b->nrcpt);
    for (size_t i = 0; i < a->nrcpt; i++) {
        assert_string_equal(a->rcpt[i].addr, b->rcpt[i].addr);
        assert_int_equal(a->rcpt[i].state, b->rcpt[i].state);
        assert_string_equal(a->rcpt[i].notify, b->rcpt[i].notify);
        assert_string_equal(a->rcpt[i].orcpt, b->rcpt[i].orcpt);
        assert_int_equal(a->rcpt[i].attempts, b->rcpt[i].attempts);
        assert_string_equal(a->rcpt[i].last_error, b->rcpt[i].last_error);
    }
}

static int parse_text(const char *text, struct yb_envelope *env, char *err, size_t errsize)
{
    return yb_envelope_parse(text, strlen(text), env, err, errsize);
}

/* Fails unless text is refused with code and an error starting with prefix. */
static void assert_refused(const char *text, int code, const char *prefix)
{
    struct yb_envelope env;
    char err[256];
    int rc = parse_text(text, &env, err, sizeof err);
    if (rc != code)
        fail_msg("expected %s, got %s (%s) for:\n%s", yb_errname(code), yb_errname(rc), err, text);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
    assert_int_equal(env.nrcpt, 0);
    assert_null(env.rcpt);
    assert_null(env.from);
}

#define HEAD "\"version\"\t\"1\"\n\"id\"\t\"abc\"\n\"from\"\t\"\"\n"
#define RCPT "\"rcpt\"\t\"a@b\"\t\"pending\"\t\"\"\t\"\"\t\"0\"\t\"\"\n"
#define END1 "\"end\"\t\"1\"\n"

/* ---- the envelope format ---- */

static void test_roundtrip_all_fields(void **state)
{
    (void)state;
    struct yb_envelope env, back;
    char *text = NULL, *text2 = NULL;
    size_t len = 0, len2 = 0;
    char err[256];
    make_env(&env, 9);
    env.next_attempt = 1700000999;
    env.warned = true;
    assert_int_equal(yb_envelope_format(&env, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    assert_int_equal(yb_envelope_parse(text, len, &back, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_env_equal(&env, &back);
    assert_int_equal(back.next_attempt, 1700000999);
    assert_true(back.warned);
    assert_non_null(strstr(text, "\"next\"\t\"1700000999\"\n\"warned\"\t\"1\"\n"));
    /* Canonical: writing what was read gives the same bytes. */
    assert_int_equal(yb_envelope_format(&back, &text2, &len2), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(text, text2, len);
    /* Quotes and backslashes are escaped, UTF-8 kept as it is. */
    assert_non_null(strstr(text, "\"from\"\t\"\\\"odd \\\\\\\"quoted"));
    assert_non_null(strstr(text, "\xd0\xbf\xd0\xbe\xd1\x87\xd1\x82\xd0\xb0"
                                 "1@"));
    assert_non_null(strstr(text, "\"4294967295\""));
    free(text);
    free(text2);
    yb_envelope_clear(&back);
    yb_envelope_clear(&env);
    assert_null(env.rcpt);
    assert_int_equal(env.nrcpt, 0);
    yb_envelope_clear(&env); /* twice is harmless */
    yb_envelope_clear(NULL);
}

static void test_empty_from_and_defaults(void **state)
{
    (void)state;
    struct yb_envelope env, back;
    char *text = NULL;
    size_t len = 0;
    char err[256];
    make_env(&env, 1);
    free(env.from);
    env.from = xstrdup("");
    assert_int_equal(yb_envelope_format(&env, &text, &len), 0);
    assert_non_null(strstr(text, "\"from\"\t\"\"\n"));
    assert_int_equal(yb_envelope_parse(text, len, &back, err, sizeof err), 0);
    assert_string_equal(back.from, "");
    free(text);
    yb_envelope_clear(&back);

    /* NULL optional strings are written as empty (body as 7BIT). */
    free(env.from);
    free(env.ret);
    free(env.body);
    free(env.auth);
    env.from = env.ret = env.body = env.auth = NULL;
    assert_int_equal(yb_envelope_format(&env, &text, &len), 0);
    assert_int_equal(yb_envelope_parse(text, len, &back, err, sizeof err), 0);
    assert_string_equal(back.from, "");
    assert_string_equal(back.ret, "");
    assert_string_equal(back.body, "7BIT");
    assert_string_equal(back.auth, "");
    free(text);
    yb_envelope_clear(&back);
    yb_envelope_clear(&env);

    /* A minimal hand-made file: optional records default. */
    assert_int_equal(parse_text(HEAD RCPT END1, &back, err, sizeof err), 0);
    assert_int_equal(back.version, 1);
    assert_string_equal(back.id, "abc");
    assert_true(back.arrival == 0);
    assert_string_equal(back.from, "");
    assert_string_equal(back.ret, "");
    assert_string_equal(back.envid, "");
    assert_false(back.smtputf8);
    assert_string_equal(back.body, "7BIT");
    assert_string_equal(back.client, "");
    assert_string_equal(back.helo, "");
    assert_string_equal(back.auth, "");
    assert_int_equal(back.nrcpt, 1);
    assert_string_equal(back.rcpt[0].addr, "a@b");
    assert_int_equal(back.rcpt[0].state, YB_RCPT_PENDING);
    yb_envelope_clear(&back);

    /* CRLF, comments, blank lines and a BOM are the tab grammar's and fine. */
    assert_int_equal(parse_text("\xef\xbb\xbf# queue file\r\n\"version\"\t\"1\"\r\n\r\n"
                                "\"id\"\t\"abc\"\r\n\"from\"\t\"\"\r\n" RCPT END1,
                                &back, err, sizeof err),
                     0);
    assert_int_equal(back.nrcpt, 1);
    yb_envelope_clear(&back);
}

/* The text of an envelope with n recipients (n may pass the limit: built by hand). */
static char *big_envelope_text(size_t n, size_t *len_r)
{
    size_t cap = 256 + n * 64;
    char *t = malloc(cap);
    assert_non_null(t);
    size_t len = (size_t)snprintf(t, cap, "%s", HEAD);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(
            t + len, cap - len,
            "\"rcpt\"\t\"u%u@example.org\"\t\"pending\"\t\"\"\t\"\"\t\"0\"\t\"\"\n", (unsigned)i);
    len += (size_t)snprintf(t + len, cap - len, "\"end\"\t\"%u\"\n", (unsigned)n);
    assert_true(len < cap);
    *len_r = len;
    return t;
}

static void test_rcpt_limit(void **state)
{
    (void)state;
    struct yb_envelope env, back;
    char *text = NULL;
    size_t len = 0;
    char err[256];

    /* At the limit: written and read. */
    make_env(&env, YB_SPOOL_MAX_RCPTS);
    assert_int_equal(yb_envelope_format(&env, &text, &len), 0);
    assert_true(len <= YB_LIMIT_ENVELOPE);
    assert_int_equal(yb_envelope_parse(text, len, &back, err, sizeof err), 0);
    assert_env_equal(&env, &back);
    yb_envelope_clear(&back);
    free(text);

    /* One more: the writer refuses. */
    yb_envelope_clear(&env);
    make_env(&env, YB_SPOOL_MAX_RCPTS + 1);
    text = (char *)&env; /* must be reset to NULL */
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_ELIMIT);
    assert_null(text);
    yb_envelope_clear(&env);

    /* The reader refuses at the first recipient too many (3 head lines first). */
    text = big_envelope_text(YB_SPOOL_MAX_RCPTS, &len);
    assert_int_equal(yb_envelope_parse(text, len, &back, err, sizeof err), 0);
    yb_envelope_clear(&back);
    free(text);
    text = big_envelope_text(YB_SPOOL_MAX_RCPTS + 1, &len);
    assert_int_equal(yb_envelope_parse(text, len, &back, err, sizeof err), YB_ELIMIT);
    assert_string_equal(err, "10004:1: more than 10000 recipients");
    assert_null(back.rcpt);
    free(text);
}

static void test_size_limits(void **state)
{
    (void)state;
    struct yb_envelope env, back;
    char *text = NULL;
    size_t len = 0;
    char err[256];

    /* A record line longer than the tab reader takes: the writer refuses it. */
    make_env(&env, 2);
    free(env.rcpt[0].last_error);
    env.rcpt[0].last_error = malloc(70000);
    assert_non_null(env.rcpt[0].last_error);
    memset(env.rcpt[0].last_error, 'e', 69999);
    env.rcpt[0].last_error[69999] = '\0';
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_ELIMIT);
    assert_null(text);
    yb_envelope_clear(&env);

    /* A whole envelope over YB_LIMIT_ENVELOPE: the writer refuses it. */
    make_env(&env, YB_SPOOL_MAX_RCPTS);
    for (size_t i = 0; i < env.nrcpt; i++) {
        free(env.rcpt[i].last_error);
        env.rcpt[i].last_error = malloc(501);
        assert_non_null(env.rcpt[i].last_error);
        memset(env.rcpt[i].last_error, 'x', 500);
        env.rcpt[i].last_error[500] = '\0';
    }
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_ELIMIT);
    assert_null(text);
    yb_envelope_clear(&env);

    /* ... and the reader, naming where the limit falls. */
    size_t big = YB_LIMIT_ENVELOPE + 1;
    char *t = malloc(big + 1);
    assert_non_null(t);
    memset(t, '#', big);
    t[big] = '\0';
    memcpy(t, HEAD, strlen(HEAD)); /* 3 lines, then one long comment line */
    assert_int_equal(yb_envelope_parse(t, big, &back, err, sizeof err), YB_ELIMIT);
    char want[128];
    snprintf(want, sizeof want, "4:%u: envelope larger than the limit of %u bytes",
             (unsigned)(YB_LIMIT_ENVELOPE - strlen(HEAD) + 1), (unsigned)YB_LIMIT_ENVELOPE);
    assert_string_equal(err, want);
    free(t);
}

static void test_unknown_records_ignored(void **state)
{
    (void)state;
    struct yb_envelope env;
    char err[256];
    const char *text = "\"version\"\t\"1\"\n"
                       "\"future\"\t\"x\"\t\"y\"\t\"z\"\n"
                       "\"id\"\t\"abc\"\n"
                       "\"lonely\"\n"
                       "\"from\"\t\"s@example.org\"\n" RCPT "\"dsn-extra\"\t\"\"\n" END1;
    assert_int_equal(parse_text(text, &env, err, sizeof err), 0);
    assert_string_equal(env.from, "s@example.org");
    assert_int_equal(env.nrcpt, 1);
    yb_envelope_clear(&env);
}

static void test_version_refused(void **state)
{
    (void)state;
    assert_refused("\"version\"\t\"2\"\n\"id\"\t\"abc\"\n\"from\"\t\"\"\n" RCPT END1, YB_ENOTSUP,
                   "1:11: envelope version 2 is newer than this build reads (1)");
    assert_refused("\"version\"\t\"99999999999999999999\"\n", YB_EPARSE, "1:11: invalid");
    assert_refused("\"version\"\t\"0\"\n", YB_EPARSE, "1:11: invalid envelope version");
    assert_refused("\"version\"\t\"1x\"\n", YB_EPARSE, "1:11: invalid envelope version");
    assert_refused("\"version\"\t\"\"\n", YB_EPARSE, "1:11: invalid envelope version");
    assert_refused("\"id\"\t\"abc\"\n\"version\"\t\"1\"\n", YB_EPARSE,
                   "1:1: the first record must be \"version\"");
    assert_refused(HEAD "\"version\"\t\"1\"\n" RCPT END1, YB_EPARSE,
                   "4:1: duplicate \"version\" record");
}

static void test_missing_records_refused(void **state)
{
    (void)state;
    assert_refused("", YB_EPARSE, "1:1: missing \"version\" record");
    assert_refused("# nothing\n", YB_EPARSE, "2:1: missing \"version\" record");
    assert_refused("\"version\"\t\"1\"\n\"from\"\t\"\"\n" RCPT END1, YB_EPARSE,
                   "5:1: missing \"id\" record");
    assert_refused("\"version\"\t\"1\"\n\"id\"\t\"abc\"\n" RCPT END1, YB_EPARSE,
                   "5:1: missing \"from\" record");
    assert_refused(HEAD "\"end\"\t\"0\"\n", YB_EPARSE, "5:1: missing \"rcpt\" record");
    assert_refused(HEAD RCPT, YB_EPARSE, "5:1: no \"end\" record: the envelope is truncated");
    assert_refused(HEAD RCPT RCPT, YB_EPARSE, "6:1: no \"end\" record");
}

static void test_field_counts_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *prefix;
    } cases[] = {
        { "\"version\"\n", "1:1: \"version\" record has 1 fields, expected 2" },
        { "\"version\"\t\"1\"\t\"x\"\n", "1:1: \"version\" record has 3 fields, expected 2" },
        { "\"version\"\t\"1\"\n\"id\"\n", "2:1: \"id\" record has 1 fields, expected 2" },
        { HEAD "\"arrival\"\n", "4:1: \"arrival\" record has 1" },
        { HEAD "\"ret\"\t\"\"\t\"\"\n", "4:1: \"ret\" record has 3" },
        { HEAD "\"envid\"\n", "4:1: \"envid\" record has 1" },
        { HEAD "\"smtputf8\"\n", "4:1: \"smtputf8\" record has 1" },
        { HEAD "\"body\"\n", "4:1: \"body\" record has 1" },
        { HEAD "\"client\"\n", "4:1: \"client\" record has 1" },
        { HEAD "\"helo\"\n", "4:1: \"helo\" record has 1" },
        { HEAD "\"auth\"\t\"a\"\t\"b\"\n", "4:1: \"auth\" record has 3" },
        { HEAD RCPT "\"rcpt\"\t\"a@b\"\t\"pending\"\n",
          "5:1: \"rcpt\" record has 3 fields, expected 7" },
        { HEAD "\"rcpt\"\t\"a@b\"\t\"pending\"\t\"\"\t\"\"\t\"0\"\t\"\"\t\"\"\n" END1,
          "4:1: \"rcpt\" record has 8 fields, expected 7" },
        { HEAD RCPT "\"end\"\n", "5:1: \"end\" record has 1" },
        { "\"version\"\t\"1\"\n\"id\"\t\"abc\"\n\"from\"\n" RCPT END1,
          "3:1: \"from\" record has 1" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_refused(cases[i].text, YB_EPARSE, cases[i].prefix);
}

static void test_bad_values_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int code;
        const char *prefix;
    } cases[] = {
        { "\"version\"\t\"1\"\n\"id\"\t\"../x\"\n", YB_EPARSE, "2:6: invalid queue id" },
        { "\"version\"\t\"1\"\n\"id\"\t\"\"\n", YB_EPARSE, "2:6: invalid queue id" },
        { "\"version\"\t\"1\"\n\"id\"\t\"a\"\n\"id\"\t\"a\"\n", YB_EPARSE,
          "3:1: duplicate \"id\" record" },
        { HEAD "\"arrival\"\t\"-1\"\n", YB_EPARSE, "4:11: invalid arrival time \"-1\"" },
        { HEAD "\"arrival\"\t\"9223372036854775808\"\n", YB_EPARSE, "4:11: invalid arrival" },
        { HEAD "\"ret\"\t\"ALL\"\n", YB_EPARSE, "4:7: ret must be FULL, HDRS or empty" },
        { HEAD "\"smtputf8\"\t\"yes\"\n", YB_EPARSE, "4:12: smtputf8 must be 0 or 1" },
        { HEAD "\"next\"\t\"soon\"\n", YB_EPARSE, "4:8: invalid next attempt \"soon\"" },
        { HEAD "\"next\"\t\"-5\"\n", YB_EPARSE, "4:8: invalid next attempt" },
        { HEAD "\"next\"\t\"1\"\n\"next\"\t\"2\"\n", YB_EPARSE, "5:1: duplicate \"next\" record" },
        { HEAD "\"warned\"\t\"2\"\n", YB_EPARSE, "4:10: warned must be 0 or 1" },
        { HEAD "\"warned\"\t\"0\"\t\"x\"\n", YB_EPARSE, "4:1: \"warned\" record has 3 fields" },
        { HEAD "\"body\"\t\"QP\"\n", YB_EPARSE, "4:8: body must be 7BIT, 8BITMIME or BINARYMIME" },
        { HEAD "\"rcpt\"\t\"\"\t\"pending\"\t\"\"\t\"\"\t\"0\"\t\"\"\n", YB_EPARSE,
          "4:8: empty recipient address" },
        { HEAD "\"rcpt\"\t\"a@b\"\t\"lost\"\t\"\"\t\"\"\t\"0\"\t\"\"\n", YB_EPARSE,
          "4:14: recipient state must be pending, sent, failed or deferred, not \"lost\"" },
        { HEAD "\"rcpt\"\t\"a@b\"\t\"sent\"\t\"\"\t\"\"\t\"4294967296\"\t\"\"\n", YB_EPARSE,
          "4:27: invalid attempt count \"4294967296\"" },
        { HEAD "\"rcpt\"\t\"a@b\"\t\"sent\"\t\"\"\t\"\"\t\"-1\"\t\"\"\n", YB_EPARSE,
          "4:27: invalid attempt count" },
        { HEAD RCPT "\"end\"\t\"2\"\n", YB_EPARSE,
          "5:7: \"end\" says 2 recipients, the envelope has 1" },
        { HEAD RCPT END1 "\"unknown\"\t\"after end\"\n", YB_EPARSE,
          "6:1: record \"unknown\" after \"end\"" },
        { HEAD RCPT END1 RCPT, YB_EPARSE, "6:1: record \"rcpt\" after \"end\"" },
        /* The tab grammar's own refusals keep their positions. */
        { "\"version\"\t\"1\"\n\"id\"\t\"abc\"\n\"from\"\t\"a\x01"
          "b\"\n",
          YB_EPARSE, "3:10: control character" },
        { "\"version\"\t\"1\"\n\"id\"\t\"abc\"\n\"from\"\t\"a\xff\"\n", YB_EUTF8, "3:10: " },
        { "\"version\"\t\"1\"\n\"id\"\t\"abc\"\n\"from\"\t\"a", YB_EPARSE, "3:" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_refused(cases[i].text, cases[i].code, cases[i].prefix);
}

static void test_format_refuses(void **state)
{
    (void)state;
    struct yb_envelope env;
    char *text = NULL;
    size_t len = 0;

    make_env(&env, 2);
    char *keep = env.from;
    env.from = xstrdup("a\nb@example.org"); /* a control character */
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_EINVAL);
    free(env.from);
    env.from = xstrdup("a\xc3(@example.org"); /* invalid UTF-8 */
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_EINVAL);
    free(env.from);
    env.from = keep;
    assert_int_equal(yb_envelope_format(&env, &text, &len), 0);
    free(text);
    text = NULL;

    memcpy(env.id, "a/b", 4);
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_EINVAL);
    memcpy(env.id, "ab", 3);
    env.rcpt[1].state = (enum yb_rcpt_state)7;
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_EINVAL);
    env.rcpt[1].state = YB_RCPT_SENT;
    free(env.rcpt[1].addr);
    env.rcpt[1].addr = xstrdup("");
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_EINVAL);
    free(env.ret);
    env.ret = xstrdup("ALL");
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_EINVAL);
    assert_null(text);
    size_t n = env.nrcpt;
    env.nrcpt = 0;
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_EINVAL);
    env.nrcpt = n;
    env.arrival = -5;
    assert_int_equal(yb_envelope_format(&env, &text, &len), YB_EINVAL);
    assert_null(text);
    yb_envelope_clear(&env);
}

/*
 * Every prefix of a valid envelope: only the one missing just the final LF
 * reads (as the same data); any other cut is refused, never read short.
 */
static void test_truncated_at_every_byte(void **state)
{
    (void)state;
    struct yb_envelope env, back;
    char *text = NULL;
    size_t len = 0;
    char err[256];
    make_env(&env, 5);
    assert_int_equal(yb_envelope_format(&env, &text, &len), 0);
    assert_true(len > 100 && text[len - 1] == '\n');
    for (size_t cut = 0; cut < len; cut++) {
        int rc = yb_envelope_parse(text, cut, &back, err, sizeof err);
        if (cut == len - 1) {
            assert_int_equal(rc, 0);
            assert_env_equal(&env, &back);
            yb_envelope_clear(&back);
            continue;
        }
        if (rc == 0)
            fail_msg("prefix of %u of %u bytes was accepted", (unsigned)cut, (unsigned)len);
        assert_true(strchr(err, ':') != NULL);
        assert_null(back.rcpt);
    }
    free(text);
    yb_envelope_clear(&env);
}

/* Garbage: every single-byte change of a valid file, and random bytes, never crash. */
static void test_garbage(void **state)
{
    (void)state;
    struct yb_envelope env, back;
    char *text = NULL;
    size_t len = 0;
    char err[256];
    static const unsigned char subst[] = { 0x00, '\t', '\n', '"', '\\', 'x', 0x80, 0xff, '9' };
    make_env(&env, 3);
    assert_int_equal(yb_envelope_format(&env, &text, &len), 0);
    char *copy = malloc(len);
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(copy, text, len);
            copy[i] = (char)subst[k];
            if (yb_envelope_parse(copy, len, &back, err, sizeof err) == 0)
                yb_envelope_clear(&back);
            else
                assert_null(back.rcpt);
        }
    }
    uint32_t seed = 12345;
    unsigned char junk[512];
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)round % sizeof junk;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            junk[i] = (unsigned char)(seed >> 16);
        }
        if (yb_envelope_parse(junk, n, &back, err, sizeof err) == 0)
            yb_envelope_clear(&back);
    }
    /* A NULL errbuf is allowed. */
    assert_int_equal(yb_envelope_parse("x", 1, &back, NULL, 0), YB_EPARSE);
    free(copy);
    free(text);
    yb_envelope_clear(&env);
}

/* ---- the queue on disk ---- */

static void write_pattern(struct yb_spool_msg *m, unsigned char *all, size_t total)
{
    /* Pieces of odd sizes cross the 64 KiB buffer and go around it. */
    static const size_t sizes[] = { 1, 100, 65535, 2, 70000, 3, 131072, 17 };
    size_t off = 0;
    for (size_t i = 0; off < total; i++) {
        size_t n = sizes[i % (sizeof sizes / sizeof sizes[0])];
        if (n > total - off)
            n = total - off;
        assert_int_equal(yb_spool_write(m, all + off, n), 0);
        off += n;
    }
}

static unsigned char *pattern(size_t total)
{
    unsigned char *p = malloc(total);
    assert_non_null(p);
    for (size_t i = 0; i < total; i++)
        p[i] = (unsigned char)(i * 31 + i / 251);
    return p;
}

static void test_commit_and_read_back(void **state)
{
    (void)state;
    char id[YB_SPOOL_ID_MAX + 1];
    char p[PAL_PATH_MAX], err[256];
    struct yb_spool_msg *m = NULL;
    struct yb_envelope env, back;
    size_t total = 300000;
    unsigned char *data = pattern(total);

    assert_int_equal(yb_spool_begin(g_root, id, &m), 0);
    assert_non_null(m);
    assert_spool_counts(1, 0, 0);
    write_pattern(m, data, total);
    assert_int_equal(yb_spool_write(m, NULL, 0), 0);
    make_env(&env, 3);
    assert_int_equal(yb_spool_commit(m, &env), 0);
    assert_string_equal(env.id, id);
    /* Nothing more to do on a committed message. */
    assert_int_equal(yb_spool_write(m, "x", 1), YB_EINVAL);
    assert_int_equal(yb_spool_commit(m, &env), YB_EINVAL);
    yb_spool_free(&m);
    assert_null(m);
    yb_spool_free(&m);
    assert_spool_counts(0, 1, 1);

    char *got = NULL;
    size_t glen = 0;
    assert_int_equal(pal_file_read_all(SP(p, "msg", id), total, &got, &glen), 0);
    assert_int_equal(glen, total);
    assert_memory_equal(got, data, total);
    free(got);

    assert_int_equal(yb_spool_read_envelope(g_root, id, &back, err, sizeof err), 0);
    assert_env_equal(&env, &back);
    yb_envelope_clear(&back);

    /* An empty message commits too. */
    char id2[YB_SPOOL_ID_MAX + 1];
    assert_int_equal(yb_spool_begin(g_root, id2, &m), 0);
    assert_string_not_equal(id, id2);
    assert_int_equal(yb_spool_commit(m, &env), 0);
    yb_spool_free(&m);
    assert_string_equal(env.id, id2);
    assert_spool_counts(0, 2, 2);
    assert_int_equal(yb_spool_read_envelope(g_root, id2, &back, err, sizeof err), 0);
    yb_envelope_clear(&back);

    /* The file name and the id inside must agree. */
    char q2[PAL_PATH_MAX];
    assert_int_equal(pal_fs_rename(SP(p, "queue", id2), SP(q2, "queue", "Other1")), 0);
    assert_int_equal(yb_spool_read_envelope(g_root, "Other1", &back, err, sizeof err), YB_EPARSE);
    assert_non_null(strstr(err, "Other1:2:6: id \""));
    assert_non_null(strstr(err, "does not match the file name"));
    assert_int_equal(yb_spool_read_envelope(g_root, "Missing", &back, err, sizeof err), YB_ENOENT);
    assert_non_null(strstr(err, "Missing: cannot read:"));

    yb_envelope_clear(&env);
    free(data);
}

static bool id_chars_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > YB_SPOOL_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

static int ci_cmp(const void *a, const void *b)
{
    const char *x = a, *y = b;
    for (;; x++, y++) {
        int cx = (*x >= 'A' && *x <= 'Z') ? *x + 32 : *x;
        int cy = (*y >= 'A' && *y <= 'Z') ? *y + 32 : *y;
        if (cx != cy || cx == 0)
            return cx - cy;
    }
}

static void test_ids_unique(void **state)
{
    (void)state;
    enum { N = 1000 };
    char(*ids)[YB_SPOOL_ID_MAX + 1] = calloc(N, sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        struct yb_spool_msg *m = NULL;
        assert_int_equal(yb_spool_begin(g_root, ids[i], &m), 0);
        if (!id_chars_ok(ids[i]))
            fail_msg("id \"%s\" is not 1-64 letters and digits", ids[i]);
        yb_spool_free(&m);
    }
    /* Unique even to a case-insensitive file system. */
    qsort(ids, N, sizeof *ids, ci_cmp);
    for (int i = 1; i < N; i++)
        if (ci_cmp(ids[i - 1], ids[i]) == 0)
            fail_msg("id \"%s\" generated twice", ids[i]);
    assert_spool_counts(0, 0, 0);
    free(ids);
}

static void test_uncommitted_free_leaves_nothing(void **state)
{
    (void)state;
    char id[YB_SPOOL_ID_MAX + 1];
    struct yb_spool_msg *m = NULL;
    unsigned char *data = pattern(200000);
    assert_int_equal(yb_spool_begin(g_root, id, &m), 0);
    write_pattern(m, data, 200000);
    assert_spool_counts(1, 0, 0);
    yb_spool_free(&m);
    assert_null(m);
    assert_spool_counts(0, 0, 0);
    /* The directories are there for the queue runner. */
    char p[PAL_PATH_MAX];
    assert_true(pal_file_exists(SP(p, "queue", NULL)));
    assert_true(pal_file_exists(SP(p, "msg", NULL)));
    free(data);
}

/* ---- fault injection ---- */

enum fault_op { OP_OPEN, OP_WRITE, OP_SYNC, OP_CLOSE, OP_RENAME, OP_SYNC_DIR, OP_COUNT };

static const char *const op_names[OP_COUNT] = { "open",  "write",  "sync",
                                                "close", "rename", "sync_dir" };

static struct {
    int calls[OP_COUNT];
    int fail_op; /* -1: none */
    int fail_at; /* which call of fail_op fails (0-based) */
    bool claim;  /* at the failing sync_dir, a "queue runner" claims the envelope */
    const struct pal_fs_ops *real;
} g_fault;

static bool should_fail(enum fault_op op)
{
    return g_fault.calls[op]++ == g_fault.fail_at && g_fault.fail_op == (int)op;
}

static int fault_open(const char *path, unsigned flags, unsigned mode, struct pal_file **f_r)
{
    if (should_fail(OP_OPEN))
        return YB_EACCES;
    return g_fault.real->open(path, flags, mode, f_r);
}

static int fault_write(struct pal_file *f, const void *buf, size_t len, size_t *put_r)
{
    if (should_fail(OP_WRITE))
        return YB_ENOSPC;
    /* Short writes throughout: the spool must loop. */
    return g_fault.real->write(f, buf, len > 40000 ? 40000 : len, put_r);
}

static int fault_sync(struct pal_file *f)
{
    if (should_fail(OP_SYNC))
        return YB_EIO;
    return g_fault.real->sync(f);
}

static int fault_close(struct pal_file **f)
{
    int rc = g_fault.real->close(f);
    if (should_fail(OP_CLOSE))
        return YB_EIO; /* closed all the same, as NFS reports late write errors */
    return rc;
}

static int fault_rename(const char *from, const char *to)
{
    if (should_fail(OP_RENAME))
        return YB_EIO;
    return g_fault.real->rename(from, to);
}

static char g_claimed[PAL_PATH_MAX];

static int fault_sync_dir(const char *path)
{
    if (should_fail(OP_SYNC_DIR)) {
        if (g_fault.claim) {
            /* Another process renames the envelope away just before we look. */
            char q[PAL_PATH_MAX];
            struct pal_dir *d = NULL;
            struct pal_dirent ent = { .name = NULL };
            assert_int_equal(g_fault.real->dir_open(SP(q, "queue", NULL), &d), 0);
            assert_int_equal(g_fault.real->dir_next(d, &ent), 0);
            assert_non_null(ent.name);
            char from[PAL_PATH_MAX];
            assert_int_equal(pal_path_join(from, sizeof from, q, ent.name), 0);
            assert_int_equal(pal_path_join(g_claimed, sizeof g_claimed, g_root, "claimed"), 0);
            assert_int_equal(g_fault.real->rename(from, g_claimed), 0);
            g_fault.real->dir_close(&d);
        }
        return YB_EIO;
    }
    return g_fault.real->sync_dir(path);
}

static struct pal_fs_ops g_fault_ops;

static void install_faults(int fail_op, int fail_at)
{
    memset(g_fault.calls, 0, sizeof g_fault.calls);
    g_fault.fail_op = fail_op;
    g_fault.fail_at = fail_at;
    g_fault.claim = false;
    g_fault.real = pal_fs_default_ops();
    g_fault_ops = *g_fault.real;
    g_fault_ops.open = fault_open;
    g_fault_ops.write = fault_write;
    g_fault_ops.sync = fault_sync;
    g_fault_ops.close = fault_close;
    g_fault_ops.rename = fault_rename;
    g_fault_ops.sync_dir = fault_sync_dir;
    pal_fs_set_ops(&g_fault_ops);
}

/*
 * One whole submission under the installed faults. Returns 0 when it was
 * committed, else the first error (every step may meet the fault).
 */
static int submit(const unsigned char *data, size_t total, char id_r[YB_SPOOL_ID_MAX + 1])
{
    struct yb_spool_msg *m = NULL;
    struct yb_envelope env;
    int rc = yb_spool_begin(g_root, id_r, &m);
    if (rc != 0) {
        assert_null(m);
        return rc;
    }
    for (size_t off = 0; off < total && rc == 0; off += 50000)
        rc = yb_spool_write(m, data + off, total - off < 50000 ? total - off : 50000);
    make_env(&env, 2);
    int crc = yb_spool_commit(m, &env);
    if (rc != 0)
        assert_int_equal(crc, rc); /* a failed write is remembered */
    yb_spool_free(&m);
    yb_envelope_clear(&env);
    return crc;
}

static void test_fault_every_step(void **state)
{
    (void)state;
    size_t total = 250000;
    unsigned char *data = pattern(total);
    char id[YB_SPOOL_ID_MAX + 1], p[PAL_PATH_MAX], err[256];
    struct yb_envelope back;

    /* A clean run counts the calls of every kind... */
    install_faults(-1, 0);
    assert_int_equal(submit(data, total, id), 0);
    int calls[OP_COUNT];
    memcpy(calls, g_fault.calls, sizeof calls);
    pal_fs_set_ops(NULL);
    assert_spool_counts(0, 1, 1);
    assert_true(calls[OP_RENAME] == 2 && calls[OP_SYNC] == 2 && calls[OP_SYNC_DIR] == 2);
    assert_true(calls[OP_OPEN] == 2 && calls[OP_WRITE] >= 7);
    assert_int_equal(pal_fs_unlink(SP(p, "queue", id)), 0);
    assert_int_equal(pal_fs_unlink(SP(p, "msg", id)), 0);

    /* ... then each call of each kind fails once: nothing is left anywhere. */
    int runs = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        for (int at = 0; at < calls[op]; at++) {
            install_faults(op, at);
            int rc = submit(data, total, id);
            pal_fs_set_ops(NULL);
            if (rc == 0)
                fail_msg("%s call %d failed but the commit succeeded", op_names[op], at);
            int t = count_in("tmp"), m = count_in("msg"), q = count_in("queue");
            if (t != 0 || m != 0 || q != 0)
                fail_msg("%s call %d failed (%s): tmp %d msg %d queue %d left", op_names[op], at,
                         yb_errname(rc), t, m, q);
            runs++;
        }
    }
    assert_true(runs >= 15);

    /* Afterwards the spool works as before. */
    assert_int_equal(submit(data, total, id), 0);
    assert_int_equal(yb_spool_read_envelope(g_root, id, &back, err, sizeof err), 0);
    yb_envelope_clear(&back);
    assert_spool_counts(0, 1, 1);
    free(data);
}

/*
 * The envelope is claimed by a queue runner between its rename into queue/
 * and the failing directory sync: the message must stay for that runner.
 */
static void test_fault_claimed_before_queue_sync(void **state)
{
    (void)state;
    unsigned char *data = pattern(1000);
    char id[YB_SPOOL_ID_MAX + 1];
    install_faults(OP_SYNC_DIR, 1);
    g_fault.claim = true;
    assert_int_equal(submit(data, 1000, id), YB_EIO);
    pal_fs_set_ops(NULL);
    assert_spool_counts(0, 1, 0);
    assert_true(pal_file_exists(g_claimed));
    free(data);
}

static void test_write_error_is_sticky(void **state)
{
    (void)state;
    char id[YB_SPOOL_ID_MAX + 1];
    struct yb_spool_msg *m = NULL;
    struct yb_envelope env;
    unsigned char *data = pattern(100000);
    assert_int_equal(yb_spool_begin(g_root, id, &m), 0);
    install_faults(OP_WRITE, 0);
    assert_int_equal(yb_spool_write(m, data, 100000), YB_ENOSPC);
    pal_fs_set_ops(NULL);
    assert_int_equal(yb_spool_write(m, data, 10), YB_ENOSPC);
    make_env(&env, 1);
    assert_int_equal(yb_spool_commit(m, &env), YB_ENOSPC);
    assert_spool_counts(0, 0, 0);
    assert_int_equal(yb_spool_commit(m, &env), YB_ENOSPC);
    yb_spool_free(&m);
    assert_spool_counts(0, 0, 0);
    yb_envelope_clear(&env);
    free(data);
}

static void test_commit_refuses_bad_envelope(void **state)
{
    (void)state;
    char id[YB_SPOOL_ID_MAX + 1];
    struct yb_spool_msg *m = NULL;
    struct yb_envelope env;
    assert_int_equal(yb_spool_begin(g_root, id, &m), 0);
    assert_int_equal(yb_spool_write(m, "Subject: x\r\n\r\nbody\r\n", 20), 0);
    make_env(&env, 1);
    free(env.from);
    env.from = xstrdup("bad\x7f@example.org");
    assert_int_equal(yb_spool_commit(m, &env), YB_EINVAL);
    assert_spool_counts(0, 0, 0);
    yb_spool_free(&m);
    assert_spool_counts(0, 0, 0);
    yb_envelope_clear(&env);
}

static void test_read_envelope_refuses_bad_ids(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "../x",     "a/b",
        "",         "a.b",
        "a\\b",     "..",
        "x y",      "a:b",
        "\xc3\xa9", "0123456789012345678901234567890123456789012345678901234567890123456789"
    };
    struct yb_envelope env;
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(yb_spool_read_envelope(g_root, bad[i], &env, err, sizeof err), YB_EINVAL);
        assert_non_null(strstr(err, "invalid queue id"));
        assert_null(env.rcpt);
    }
    assert_int_equal(yb_spool_read_envelope(g_root, NULL, &env, err, sizeof err), YB_EINVAL);
    /* 64 characters is the longest id: a valid name (here simply missing). */
    assert_int_equal(yb_spool_read_envelope(
                         g_root, "0123456789012345678901234567890123456789012345678901234567890123",
                         &env, err, sizeof err),
                     YB_ENOENT);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_root, teardown_root)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_roundtrip_all_fields),
        T(test_empty_from_and_defaults),
        T(test_rcpt_limit),
        T(test_size_limits),
        T(test_unknown_records_ignored),
        T(test_version_refused),
        T(test_missing_records_refused),
        T(test_field_counts_refused),
        T(test_bad_values_refused),
        T(test_format_refuses),
        T(test_truncated_at_every_byte),
        T(test_garbage),
        T(test_commit_and_read_back),
        T(test_ids_unique),
        T(test_uncommitted_free_leaves_nothing),
        T(test_fault_every_step),
        T(test_fault_claimed_before_queue_sync),
        T(test_write_error_is_sticky),
        T(test_commit_refuses_bad_envelope),
        T(test_read_envelope_refuses_bad_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
