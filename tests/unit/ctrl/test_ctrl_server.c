/*
 * test_ctrl_server.c - the CTRL server's rules, and its commands driven over
 * a real socket against the real engine in this process: the queue
 * commands against a fake queue table (and without one), a domain
 * administrator's limits, cfgfileset refusals, framing errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl_int.h"
#include "pal.h"
#include "yb_engine.h"
#include "yb_passwd.h"
#include "yb_test.h"

/* ---- pure rules ---- */

static void test_cfg_names(void **state)
{
    (void)state;
    static const char *const good[] = { "server.tab", "mailusers.tab", "my-file_2.TAB", "a.b.tab" };
    static const char *const bad[] = {
        "",
        ".tab",
        "x.txt",
        "../server.tab",
        "..\\server.tab",
        "/etc/x.tab",
        "C:x.tab",
        "C:\\x.tab",
        "c:/x.tab",
        "sub/x.tab",
        "sub\\x.tab",
        ".hidden.tab",
        "a..b.tab",
        "sp ace.tab",
        "x.tab/",
        "\\\\srv\\share\\x.tab",
        "x\xc3\xa9.tab",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (ctrl_cfg_name_check(yb_slice_cstr(good[i])) != 0)
            fail_msg("refused %s", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ctrl_cfg_name_check(yb_slice_cstr(bad[i])) != YB_CTRL_E_BAD_PATH)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(ctrl_cfg_name_check(yb_slice_make("a\0b.tab", 7)), YB_CTRL_E_BAD_PATH);
    assert_int_equal(ctrl_cfg_name_check(yb_slice_make("\xff.tab", 5)), YB_CTRL_E_BAD_PATH);
    /* the longest name: 63 bytes; 64 is refused */
    char name[80];
    memset(name, 'n', sizeof(name));
    memcpy(name + 59, ".tab", 4);
    assert_int_equal(ctrl_cfg_name_check(yb_slice_make(name, 63)), 0);
    memset(name, 'n', sizeof(name));
    memcpy(name + 60, ".tab", 4);
    assert_int_equal(ctrl_cfg_name_check(yb_slice_make(name, 64)), YB_CTRL_E_BAD_PATH);
}

static void test_plaintext_login_only_from_loopback(void **state)
{
    (void)state;
    static const struct {
        const char *ip;
        bool plain_ok;
    } cases[] = {
        { "127.0.0.1", true },        { "127.0.0.2", true },         { "::1", true },
        { "::ffff:127.0.0.1", true }, { "192.0.2.1", false },        { "10.0.0.1", false },
        { "2001:db8::1", false },     { "::ffff:192.0.2.1", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pal_addr a;
        assert_int_equal(pal_addr_from_ip(cases[i].ip, 6017, &a), 0);
        assert_true(ctrl_login_allowed(true, &a));
        if (ctrl_login_allowed(false, &a) != cases[i].plain_ok)
            fail_msg("%s: plaintext login %s", cases[i].ip,
                     cases[i].plain_ok ? "refused" : "allowed");
    }
}

static char g_hash[YB_PASSWD_STORED_MAX];

static void make_hash(void)
{
    if (g_hash[0] == '\0')
        assert_int_equal(yb_passwd_hash("secret", 6, 4096, g_hash, sizeof(g_hash)), 0);
}

/* Copies tmpl into out with every "@H@" replaced by the test hash. */
static void with_hash(const char *tmpl, char *out, size_t size)
{
    size_t used = 0, hl = strlen(g_hash);
    for (const char *p = tmpl; *p != '\0';) {
        if (strncmp(p, "@H@", 3) == 0) {
            assert_true(used + hl < size);
            memcpy(out + used, g_hash, hl);
            used += hl;
            p += 3;
        } else {
            assert_true(used + 1 < size);
            out[used++] = *p++;
        }
    }
    out[used] = '\0';
}

static int check_admins(const char *text, struct yb_tab_error *err)
{
    struct yb_tab *tab = NULL;
    int rc = yb_tab_parse(text, strlen(text), &tab, err);
    assert_int_equal(rc, 0);
    rc = ctrl_admins_check(tab, err);
    if (rc == 0) {
        struct ctrl_admin a;
        assert_int_equal(ctrl_admin_find(tab, YB_SLICE_LIT("root"), &a), 0);
        assert_int_equal(ctrl_admin_find(tab, YB_SLICE_LIT("nobody"), &a), YB_ENOTFOUND);
    }
    yb_tab_free(&tab);
    return rc;
}

static void test_admin_records(void **state)
{
    (void)state;
    char text[1024];
    struct yb_tab_error err;
    make_hash();
    with_hash("\"root\"\t\"@H@\"\t\"admin\"\n"
              "\"dom\"\t\"@H@\"\t\"domain\"\t\"a.test\"\t\"b.test\"\n",
              text, sizeof(text));
    assert_int_equal(check_admins(text, &err), 0);
    static const char *const bad[] = {
        "\"root\"\t\"@H@\"\t\"superuser\"\n",              /* unknown role */
        "\"root\"\t\"@H@\"\t\"domain\"\n",                 /* a domain admin without domains */
        "\"root\"\t\"@H@\"\t\"admin\"\t\"a.test\"\n",      /* an admin with domains */
        "\"root\"\t\"@H@\"\t\"domain\"\t\"-bad-.test\"\n", /* a bad domain */
        "\"ro ot\"\t\"@H@\"\t\"admin\"\n",                 /* a bad name */
        "\"root\"\t\"@H@\"\n",                             /* no role */
        "\"root\"\t\"@H@\"\t\"admin\"\n\"root\"\t\"@H@\"\t\"admin\"\n", /* twice */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        with_hash(bad[i], text, sizeof(text));
        if (check_admins(text, &err) != YB_EPARSE)
            fail_msg("accepted case %u", (unsigned)i);
    }
    assert_int_equal(check_admins("\"root\"\t\"clear-text\"\t\"admin\"\n", &err), YB_EPARSE);
}

static void test_failed_login_brake(void **state)
{
    (void)state;
    const char *ip = "198.51.100.7";
    assert_false(ctrl_login_blocked(ip, 3, 600));
    assert_int_equal(ctrl_login_delay_ms(ip), 0);
    ctrl_login_failed(ip);
    unsigned d1 = ctrl_login_delay_ms(ip);
    ctrl_login_failed(ip);
    unsigned d2 = ctrl_login_delay_ms(ip);
    assert_true(d1 > 0 && d2 > d1);
    assert_false(ctrl_login_blocked(ip, 3, 600));
    ctrl_login_failed(ip);
    assert_true(ctrl_login_blocked(ip, 3, 600));
    assert_false(ctrl_login_blocked("198.51.100.8", 3, 600)); /* per address */
    for (int i = 0; i < 50; i++)
        ctrl_login_failed(ip);
    assert_true(ctrl_login_delay_ms(ip) <= 5000); /* capped */
    ctrl_login_succeeded(ip);
    assert_false(ctrl_login_blocked(ip, 3, 600));
    assert_int_equal(ctrl_login_delay_ms(ip), 0);
}

/* ---- a live server in this process ---- */

struct live {
    char root[PAL_PATH_MAX];
    struct yb_confstore *store;
    struct yb_engine *engine;
    struct pal_addr addr;
};

static struct live g_live;

static int live_setup(void **state)
{
    (void)state;
    char text[2048], err[YB_CONF_ERR_MAX];
    struct yb_engine_limits lim;
    make_hash();
    assert_int_equal(yb_test_tmpdir("ctrl-live", g_live.root, sizeof(g_live.root)), 0);
    with_hash("\"root\"\t\"@H@\"\t\"admin\"\n\"dom\"\t\"@H@\"\t\"domain\"\t\"a.test\"\n", text,
              sizeof(text));
    assert_int_equal(yb_test_write_in(g_live.root, "ctrlaccounts.tab", text), 0);
    assert_int_equal(yb_test_write_in(g_live.root, "domains.tab", "\"a.test\"\n\"b.test\"\n"), 0);
    assert_int_equal(yb_test_write_in(g_live.root, "server.tab",
                                      "\"CtrlHashIterations\"\t\"4096\"\n"
                                      "\"CtrlMaxLoginFailures\"\t\"1000\"\n"),
                     0);
    if (yb_confstore_open(g_live.root, &g_live.store, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    yb_engine_limits_default(&lim);
    lim.workers = 2;
    assert_int_equal(yb_engine_create(&lim, g_live.store, &g_live.engine), 0);
    struct yb_listen_spec spec = { "CtrlListen", { { 0 }, 0 }, &yb_ctrl_proto, YB_LISTEN_PLAIN };
    assert_int_equal(pal_addr_parse("127.0.0.1:0", &spec.addr), 0);
    assert_int_equal(
        yb_engine_set_listeners(g_live.engine, &spec, 1, &g_live.addr, err, sizeof(err)), 0);
    assert_int_equal(yb_engine_start(g_live.engine), 0);
    return 0;
}

static int live_teardown(void **state)
{
    (void)state;
    yb_ctrl_set_queue_ops(NULL);
    yb_engine_stop(g_live.engine);
    yb_engine_destroy(&g_live.engine);
    yb_confstore_close(&g_live.store);
    pal_file_remove_tree(g_live.root);
    return 0;
}

struct client {
    pal_sock sock;
    struct yb_ctrl_lines lines;
    char last[YB_CTRL_LIMIT_LINE + 1]; /* the last reply line */
};

static void cl_send(struct client *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t sent = 0;
        int rc = pal_sock_send(c->sock, p, len, &sent);
        if (rc == YB_EAGAIN) {
            assert_int_equal(pal_sock_wait(c->sock, true, 10000), 0);
            continue;
        }
        assert_int_equal(rc, 0);
        p += sent;
        len -= sent;
    }
}

/* The next line from the server (bounded wait). */
static struct yb_slice cl_line(struct client *c)
{
    static unsigned char buf[YB_CTRL_READ_CHUNK];
    struct yb_slice line;
    for (;;) {
        int rc = yb_ctrl_lines_next(&c->lines, &line);
        if (rc == 0)
            return line;
        assert_int_equal(rc, YB_EAGAIN);
        size_t got = 0;
        rc = pal_sock_recv(c->sock, buf, sizeof(buf), &got);
        if (rc == YB_EAGAIN) {
            if (pal_sock_wait(c->sock, false, 10000) != 0)
                fail_msg("no answer within 10 s");
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(yb_ctrl_lines_feed(&c->lines, buf, got), 0);
    }
}

/* Sends one raw command line and returns the reply line's code text ("+00000", "-00019"). */
static const char *cl_cmd_raw(struct client *c, const void *line, size_t len)
{
    char *buf = malloc(len + 2); /* one send: no Nagle wait between line and CRLF */
    assert_non_null(buf);
    memcpy(buf, line, len);
    memcpy(buf + len, "\r\n", 2);
    cl_send(c, buf, len + 2);
    free(buf);
    struct yb_slice r = cl_line(c);
    memcpy(c->last, r.p, r.len);
    c->last[r.len] = '\0';
    static char code[8];
    snprintf(code, sizeof(code), "%.6s", c->last);
    return code;
}

static const char *cl_cmd(struct client *c, const char *line)
{
    return cl_cmd_raw(c, line, strlen(line));
}

/* Reads a list after "+00100" into out (unstuffed lines joined with '\n'). */
static void cl_list(struct client *c, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (;;) {
        struct yb_slice content, line = cl_line(c);
        if (yb_ctrl_unstuff(line, &content))
            return;
        int n =
            snprintf(out + used, size - used, "%.*s\n", (int)content.len, (const char *)content.p);
        assert_true(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
    }
}

static void cl_open(struct client *c, const char *user, const char *pass)
{
    memset(c, 0, sizeof(*c));
    yb_ctrl_lines_init(&c->lines, YB_CTRL_LIMIT_LINE);
    assert_int_equal(pal_tcp_connect_wait(&g_live.addr, 10000, &c->sock), 0);
    struct yb_slice greet = cl_line(c);
    assert_true(greet.len > 7 && memcmp(greet.p, "+00000 <", 8) == 0);
    char login[256];
    snprintf(login, sizeof(login), "\"%s\"\t\"%s\"", user, pass);
    assert_string_equal(cl_cmd(c, login), "+00000");
}

static void cl_close(struct client *c)
{
    assert_string_equal(cl_cmd(c, "quit"), "+00000");
    pal_sock_close(&c->sock);
    yb_ctrl_lines_free(&c->lines);
}

static void test_queue_commands_without_a_queue(void **state)
{
    (void)state;
    struct client c;
    yb_ctrl_set_queue_ops(NULL);
    cl_open(&c, "root", "secret");
    static const char *const cmds[] = { "queuelist",     "queueflush",    "etrn\tx.test",
                                        "frozlist",      "frozsubmit\t1", "frozdel\t1",
                                        "frozgetlog\t1", "frozgetmsg\t1" };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(cl_cmd(&c, cmds[i]), "-00019") != 0)
            fail_msg("%s: %s", cmds[i], c.last);
    }
    assert_string_equal(c.last, "-00019 queue not available in this build");
    cl_close(&c);
}

/* ---- a fake queue ---- */

static int fq_flushed, fq_etrn_calls;
static char fq_deleted[64];

static int fq_list(void *arg, struct yb_buf *out)
{
    (void)arg;
    struct yb_slice r1[3] = { YB_SLICE_LIT("Q1"), YB_SLICE_LIT("a@x.test"), YB_SLICE_LIT("1") };
    struct yb_slice r2[3] = { YB_SLICE_LIT("Q2"), YB_SLICE_LIT("b@y.test"), YB_SLICE_LIT("2") };
    int rc = yb_ctrl_format(out, r1, 3);
    return rc != 0 ? rc : yb_ctrl_format(out, r2, 3);
}

static int fq_flush(void *arg, size_t *n_r)
{
    (void)arg;
    fq_flushed++;
    *n_r = 3;
    return 0;
}

static int fq_etrn(void *arg, const char *domain, size_t *n_r)
{
    (void)arg;
    fq_etrn_calls++;
    *n_r = strcmp(domain, "x.test") == 0 ? 2 : 0;
    return 0;
}

static int fq_delete(void *arg, const char *id)
{
    (void)arg;
    if (strcmp(id, "F1") != 0)
        return YB_ENOTFOUND;
    snprintf(fq_deleted, sizeof(fq_deleted), "%s", id);
    return 0;
}

static int fq_msg(void *arg, const char *id, struct yb_buf *out)
{
    (void)arg;
    if (strcmp(id, "F1") != 0)
        return YB_ENOTFOUND;
    /* a message whose lines start with dots must come back as it was */
    return yb_buf_append_cstr(out, "Subject: x\r\n\r\n.\r\n..two\r\nend\r\n");
}

static const struct yb_ctrl_queue_ops fake_queue = {
    .list = fq_list,
    .flush = fq_flush,
    .etrn = fq_etrn,
    .frozen_delete = fq_delete,
    .frozen_msg = fq_msg,
};

static void test_queue_commands_with_a_fake_queue(void **state)
{
    (void)state;
    struct client c;
    char list[4096];
    yb_ctrl_set_queue_ops(&fake_queue);
    cl_open(&c, "root", "secret");
    assert_string_equal(cl_cmd(&c, "queuelist"), "+00100");
    cl_list(&c, list, sizeof(list));
    assert_string_equal(list, "\"Q1\"\t\"a@x.test\"\t\"1\"\n\"Q2\"\t\"b@y.test\"\t\"2\"\n");
    assert_string_equal(cl_cmd(&c, "queueflush"), "+00000");
    assert_string_equal(c.last, "+00000 3 messages scheduled");
    assert_int_equal(fq_flushed, 1);
    assert_string_equal(cl_cmd(&c, "\"etrn\"\t\"x.test\"\t\"z.test\""), "+00000");
    assert_string_equal(c.last, "+00000 2 messages scheduled");
    assert_int_equal(fq_etrn_calls, 2);
    assert_string_equal(cl_cmd(&c, "etrn\t-bad-"), "-00007");
    assert_int_equal(fq_etrn_calls, 2);
    assert_string_equal(cl_cmd(&c, "frozdel\tF9"), "-00032");
    assert_string_equal(cl_cmd(&c, "frozdel\tF1"), "+00000");
    assert_string_equal(fq_deleted, "F1");
    assert_string_equal(cl_cmd(&c, "frozgetmsg\tF1"), "+00100");
    cl_list(&c, list, sizeof(list));
    assert_string_equal(list, "Subject: x\n\n.\n..two\nend\n");
    /* members the table leaves NULL are "not available", not a crash */
    assert_string_equal(cl_cmd(&c, "frozlist"), "-00019");
    assert_string_equal(cl_cmd(&c, "frozsubmit\tF1"), "-00019");
    assert_string_equal(cl_cmd(&c, "frozgetlog\tF1"), "-00019");
    cl_close(&c);
    yb_ctrl_set_queue_ops(NULL);
}

static void test_domain_administrator_limits(void **state)
{
    (void)state;
    struct client c;
    char list[4096];
    cl_open(&c, "root", "secret");
    assert_string_equal(cl_cmd(&c, "useradd\tb.test\tbob\tpw-b"), "+00000");
    cl_close(&c);
    cl_open(&c, "dom", "secret");
    assert_string_equal(cl_cmd(&c, "useradd\ta.test\talice\tpw-a"), "+00000");
    assert_string_equal(cl_cmd(&c, "useradd\tb.test\tmallory\tpw"), "-00005");
    assert_string_equal(cl_cmd(&c, "userdel\tb.test\tbob"), "-00005");
    assert_string_equal(cl_cmd(&c, "userpasswd\tb.test\tbob\tx"), "-00005");
    assert_string_equal(cl_cmd(&c, "aliasadd\tb.test\tinfo\tbob"), "-00005");
    assert_string_equal(cl_cmd(&c, "cfgfileget\tctrlaccounts.tab"), "-00005");
    assert_string_equal(cl_cmd(&c, "cfgfileset\tctrlaccounts.tab"), "-00005");
    assert_string_equal(cl_cmd(&c, "ctrladd\tx\tpw\tadmin"), "-00005");
    assert_string_equal(cl_cmd(&c, "domaindel\tb.test"), "-00005");
    /* an alias domain is a new name this server accepts mail for: not theirs to add */
    assert_string_equal(cl_cmd(&c, "aliasdomainadd\ta.test\tevil.test"), "-00005");
    assert_string_equal(cl_cmd(&c, "aliasdomainadd\ta.test\t*.a.test"), "+00000");
    assert_string_equal(cl_cmd(&c, "aliasdomainadd\tb.test\t*.b.test"), "-00005");
    assert_string_equal(cl_cmd(&c, "domainlist"), "+00100");
    cl_list(&c, list, sizeof(list));
    assert_string_equal(list, "\"a.test\"\n");
    assert_string_equal(cl_cmd(&c, "userlist"), "+00100");
    cl_list(&c, list, sizeof(list));
    assert_non_null(strstr(list, "\"a.test\"\t\"alice\""));
    assert_null(strstr(list, "b.test"));
    assert_null(strstr(list, "SCRAM")); /* never a hash */
    cl_close(&c);
}

static void test_cfgfileset_refusals_keep_the_old_file(void **state)
{
    (void)state;
    struct client c;
    char path[PAL_PATH_MAX], *before = NULL, *after = NULL;
    size_t blen = 0, alen = 0;
    assert_int_equal(pal_path_join(path, sizeof(path), g_live.root, "domains.tab"), 0);
    assert_int_equal(pal_file_read_all(path, 1 << 20, &before, &blen), 0);
    cl_open(&c, "root", "secret");
    assert_string_equal(cl_cmd(&c, "cfgfileset\tdomains.tab"), "+00101");
    static const char broken[] = "\"ok.test\"\r\n\"-not a domain-\"\r\n.\r\n";
    cl_send(&c, broken, sizeof(broken) - 1);
    struct yb_slice r = cl_line(&c);
    if (r.len < 6 || memcmp(r.p, "-00018", 6) != 0)
        fail_msg("got \"%.*s\"", (int)r.len, (const char *)r.p);
    assert_true(r.len > 6 && memcmp(r.p, "-00018", 6) == 0);
    assert_int_equal(pal_file_read_all(path, 1 << 20, &after, &alen), 0);
    assert_int_equal(alen, blen);
    assert_memory_equal(after, before, blen);
    free(after);
    static const char *const names[] = { "cfgfileget\t../domains.tab", "cfgfileget\t/etc/passwd",
                                         "cfgfileset\tC:\\x.tab", "cfgfileset\tsub/x.tab",
                                         "cfgfileget\tC:x.tab" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(cl_cmd(&c, names[i]), "-00017") != 0)
            fail_msg("%s: %s", names[i], c.last);
    }
    /* a known file in another spelling is that file (one file on Windows) and checked as it */
    assert_string_equal(cl_cmd(&c, "cfgfileset\tDomains.TAB"), "+00101");
    cl_send(&c, broken, sizeof(broken) - 1);
    r = cl_line(&c);
    if (r.len < 6 || memcmp(r.p, "-00018", 6) != 0)
        fail_msg("got \"%.*s\"", (int)r.len, (const char *)r.p);
    char list[1024];
    assert_string_equal(cl_cmd(&c, "cfgfileget\tDOMAINS.tab"), "+00100");
    cl_list(&c, list, sizeof(list));
    assert_string_equal(list, "\"a.test\"\n\"b.test\"\n");
    /* a good file replaces the old one and is read back the same */
    assert_string_equal(cl_cmd(&c, "cfgfileset\taliases.tab"), "+00101");
    static const char good[] = "\"a.test\"\t\"info\"\t\"alice\"\r\n.\r\n";
    cl_send(&c, good, sizeof(good) - 1);
    r = cl_line(&c);
    assert_true(r.len >= 6 && memcmp(r.p, "+00000", 6) == 0);
    assert_string_equal(cl_cmd(&c, "cfgfileget\taliases.tab"), "+00100");
    cl_list(&c, list, sizeof(list));
    assert_string_equal(list, "\"a.test\"\t\"info\"\t\"alice\"\n");
    cl_close(&c);
    free(before);
}

static void test_framing_errors(void **state)
{
    (void)state;
    struct client c;
    cl_open(&c, "root", "secret");
    assert_string_equal(cl_cmd(&c, "\"noop"), "-00001");
    assert_string_equal(cl_cmd_raw(&c, "noop\0x", 6), "-00001");
    assert_string_equal(cl_cmd(&c, "no\xffop"), "-00001");
    assert_string_equal(cl_cmd(&c, "frobnicate"), "-00002");
    assert_string_equal(cl_cmd(&c, "userdel\ta.test"), "-00003");
    assert_string_equal(cl_cmd(&c, "NOOP"), "+00000"); /* command names ignore case */
    char *big = malloc(YB_CTRL_LIMIT_LINE + 16);
    assert_non_null(big);
    memset(big, 'x', YB_CTRL_LIMIT_LINE + 16);
    assert_string_equal(cl_cmd_raw(&c, big, YB_CTRL_LIMIT_LINE + 1), "-00021");
    free(big);
    assert_string_equal(cl_cmd(&c, "useradd\ta.test\tbad user\tpw"), "-00008");
    assert_string_equal(cl_cmd(&c, "useradd\tnot-local.test\tu\tpw"), "-00010");
    assert_string_equal(cl_cmd(&c, "useradd\ta.test\tu\t{SCRAM-SHA-256}garbage"), "-00022");
    assert_string_equal(cl_cmd(&c, "noop"), "+00000"); /* still in step */
    cl_close(&c);
}

/* ---- group commit ---- */

static int sync_calls;
static int failing_sync(struct pal_file *f)
{
    (void)f;
    sync_calls++;
    return YB_EIO;
}

static int counting_sync(struct pal_file *f)
{
    sync_calls++;
    return pal_fs_default_ops()->sync(f);
}

static void test_pipelined_changes_share_one_fsync(void **state)
{
    (void)state;
    struct client c;
    char batch[2048];
    static struct pal_fs_ops ops;
    cl_open(&c, "root", "secret");
    assert_string_equal(cl_cmd(&c, "useradd\ta.test\tgc0\tpw"), "+00000"); /* the journal exists */
    ops = *pal_fs_default_ops();
    ops.sync = counting_sync;
    /* eight changes sent at once: one fsync makes them all durable before any reply */
    size_t n = 0;
    for (int i = 1; i <= 8; i++)
        n += (size_t)snprintf(batch + n, sizeof(batch) - n, "useradd\ta.test\tgc%d\tpw\r\n", i);
    sync_calls = 0;
    pal_fs_set_ops(&ops);
    cl_send(&c, batch, n);
    for (int i = 1; i <= 8; i++) {
        struct yb_slice r = cl_line(&c);
        assert_true(r.len >= 6 && memcmp(r.p, "+00000", 6) == 0);
    }
    pal_fs_set_ops(NULL);
    assert_true(sync_calls >= 1 && sync_calls < 8);
    /* when that fsync fails, no change of the batch is reported done */
    ops.sync = failing_sync;
    n = 0;
    for (int i = 9; i <= 11; i++)
        n += (size_t)snprintf(batch + n, sizeof(batch) - n, "useradd\ta.test\tgc%d\tpw\r\n", i);
    n += (size_t)snprintf(batch + n, sizeof(batch) - n, "useradd\ta.test\tgc1\tpw\r\n");
    sync_calls = 0;
    pal_fs_set_ops(&ops);
    cl_send(&c, batch, n);
    for (int i = 0; i < 4; i++) {
        struct yb_slice r = cl_line(&c);
        const char *want = i < 3 ? "-00020" : "-00013"; /* errors stay what they were */
        if (r.len < 6 || memcmp(r.p, want, 6) != 0)
            fail_msg("reply %d: \"%.*s\", want %s", i, (int)r.len, (const char *)r.p, want);
    }
    pal_fs_set_ops(NULL);
    assert_true(sync_calls >= 1);
    cl_close(&c);
}

static void test_wrong_password(void **state)
{
    (void)state;
    struct client c;
    memset(&c, 0, sizeof(c));
    yb_ctrl_lines_init(&c.lines, YB_CTRL_LIMIT_LINE);
    assert_int_equal(pal_tcp_connect_wait(&g_live.addr, 10000, &c.sock), 0);
    cl_line(&c);
    assert_string_equal(cl_cmd(&c, "noop"), "-00004"); /* "noop" is not a login line */
    assert_string_equal(cl_cmd(&c, "root\twrong"), "-00004");
    assert_string_equal(cl_cmd(&c, "userlist"), "-00004"); /* still not logged in */
    assert_string_equal(cl_cmd(&c, "root\tsecret"), "+00000");
    pal_sock_close(&c.sock);
    yb_ctrl_lines_free(&c.lines);
}

int main(void)
{
    pal_net_init();
    const struct CMUnitTest rules[] = {
        cmocka_unit_test(test_cfg_names),
        cmocka_unit_test(test_plaintext_login_only_from_loopback),
        cmocka_unit_test(test_admin_records),
        cmocka_unit_test(test_failed_login_brake),
    };
    const struct CMUnitTest live[] = {
        cmocka_unit_test(test_queue_commands_without_a_queue),
        cmocka_unit_test(test_queue_commands_with_a_fake_queue),
        cmocka_unit_test(test_domain_administrator_limits),
        cmocka_unit_test(test_cfgfileset_refusals_keep_the_old_file),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_pipelined_changes_share_one_fsync),
        cmocka_unit_test(test_wrong_password),
    };
    int rc = cmocka_run_group_tests_name("rules", rules, NULL, NULL);
    return rc + cmocka_run_group_tests_name("live", live, live_setup, live_teardown);
}
