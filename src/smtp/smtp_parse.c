/*
 * smtp_parse.c - SMTP command lines, paths and ESMTP parameters (RFC 5321
 * 4.1.1/4.1.2, RFC 6531, RFC 3461, RFC 1870). Pure functions of their input.
 *
 * Decisions (what a postmaster should expect):
 * - Verbs are case-insensitive. A NUL anywhere in a line or argument is a
 *   syntax error. Trailing spaces and TABs are tolerated and ignored.
 * - "MAIL FROM: <a@b>" (spaces after the colon) is accepted: common clients
 *   send it. A bare address without angle brackets is refused (Postfix only
 *   accepts it under a compatibility setting; we have none).
 * - "MAIL" or "RCPT" without "FROM:"/"TO:" returns YB_EPARSE with the verb
 *   set, so the session can answer 501 rather than 500.
 * - Quoted local parts are decoded (quotes dropped, quoted-pairs unescaped);
 *   limits are applied to the wire form: 64 octets of local part as written,
 *   255 of domain, 256 of path from '<' to '>' including a source route.
 * - Domain labels are 1-63 octets, LDH for ASCII (no leading or trailing
 *   hyphen), no empty label, so no trailing dot. A label over 63 octets is a
 *   syntax error, not a length error. Non-ASCII labels (U-labels) are only
 *   checked for valid UTF-8 and the same octet limits: we have no IDNA table.
 * - Address literals: "[IPv4]" (dotted quad, no leading zeros, so no octal
 *   ambiguity) or "[IPv6:...]" (tag case-insensitive), both confirmed with
 *   pal_addr_from_ip. Other General-address-literal tags are refused: none
 *   but IPv6 is registered.
 * - Non-ASCII (valid UTF-8 only; invalid UTF-8 is always a syntax error) is
 *   allowed in a path when utf8_allowed, or on MAIL when the same line
 *   carries SMTPUTF8 (the caller cannot know before parsing; it still has to
 *   refuse SMTPUTF8 when it did not advertise it).
 * - ESMTP parameters are separated by one or more spaces. A keyword given
 *   twice (case-insensitively) is refused: two SIZE or ENVID values would be
 *   ambiguous. "KEY=" with an empty value is refused. The values of the
 *   parameters we know (SIZE, BODY, RET, NOTIFY, ENVID, ORCPT, SMTPUTF8) are
 *   checked for syntax here; whether a parameter fits MAIL or RCPT and whether
 *   it was advertised is the session's call.
 * - xtext decoding accepts lower-case hex after '+' (RFC 3461 says upper
 *   case; being liberal costs nothing). Encoding writes upper case.
 * - HELO/EHLO: a domain (single labels too, and '_' which Windows hosts use),
 *   an address literal, or a bare IPv4/IPv6 address, as clients send them.
 */
#include "smtp_parse.h"

#include <string.h>

#include "pal_err.h"
#include "pal_socket.h"
#include "yb_utf8.h"

#define MAX_LABEL 63

static const struct {
    const char *name;
    enum smtp_verb verb;
} verbs[] = {
    { "HELO", SMTP_HELO },         { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
    { "RCPT", SMTP_RCPT },         { "DATA", SMTP_DATA }, { "BDAT", SMTP_BDAT },
    { "RSET", SMTP_RSET },         { "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT },
    { "VRFY", SMTP_VRFY },         { "EXPN", SMTP_EXPN }, { "HELP", SMTP_HELP },
    { "STARTTLS", SMTP_STARTTLS }, { "AUTH", SMTP_AUTH }, { "ETRN", SMTP_ETRN },
};

static bool is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* RFC 5322 atext. */
static bool is_atext(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool prefix_nocase(struct yb_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len >= n && yb_slice_eq_cstr_nocase(yb_slice_make(s.p, n), lit);
}

static struct yb_slice trim_right(struct yb_slice s)
{
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

int smtp_parse_command(struct yb_slice line, struct smtp_cmd *cmd_r)
{
    cmd_r->verb = SMTP_UNKNOWN;
    cmd_r->arg = yb_slice_make("", 0);
    if (yb_slice_has_nul(line))
        return YB_EPARSE;
    line = trim_right(line);
    size_t n = 0;
    while (n < line.len && line.p[n] != ' ')
        n++;
    if (n == 0)
        return YB_EPARSE;
    struct yb_slice word = yb_slice_make(line.p, n);
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (yb_slice_eq_cstr_nocase(word, verbs[i].name)) {
            cmd_r->verb = verbs[i].verb;
            break;
        }
    }
    if (cmd_r->verb == SMTP_UNKNOWN)
        return YB_EPARSE;
    if (n < line.len)
        cmd_r->arg = yb_slice_make(line.p + n + 1, line.len - n - 1);
    if (cmd_r->verb == SMTP_MAIL || cmd_r->verb == SMTP_RCPT) {
        const char *kw = cmd_r->verb == SMTP_MAIL ? "FROM:" : "TO:";
        if (!prefix_nocase(cmd_r->arg, kw)) {
            cmd_r->arg = yb_slice_make("", 0);
            return YB_EPARSE; /* verb kept: 501, not 500 */
        }
        size_t k = strlen(kw);
        while (k < cmd_r->arg.len && cmd_r->arg.p[k] == ' ')
            k++;
        cmd_r->arg = yb_slice_make(cmd_r->arg.p + k, cmd_r->arg.len - k);
    }
    return 0;
}

/* ---- domains and address literals ---- */

/* Strict dotted quad: four 0-255 numbers without leading zeros. */
static bool is_dotted_quad(const unsigned char *p, size_t len)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || p[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < len && is_digit(p[i]) && i - start < 3)
            v = v * 10 + (unsigned)(p[i++] - '0');
        if (i == start || v > 255 || (p[start] == '0' && i - start > 1))
            return false;
    }
    return i == len;
}

/* Confirms an IP with the platform's parser; family is PAL_AF_INET or _INET6. */
static bool ip_ok(const unsigned char *p, size_t len, enum pal_af family)
{
    char buf[64];
    struct pal_addr addr;
    if (len == 0 || len >= sizeof(buf))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_hex(p[i]) && p[i] != ':' && p[i] != '.')
            return false; /* no "%scope", no spaces */
    }
    if (family == PAL_AF_INET && !is_dotted_quad(p, len))
        return false;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return pal_addr_from_ip(buf, 0, &addr) == 0 && pal_addr_family(&addr) == family;
}

/* "[...]" starting at p[0] == '['. Returns its length with brackets, or 0. */
static size_t scan_literal(const unsigned char *p, size_t len)
{
    size_t i = 1;
    while (i < len && p[i] != ']') {
        if (p[i] < 33 || p[i] > 126 || p[i] == '[' || p[i] == '\\')
            return 0; /* dcontent is %d33-90 / %d94-126 */
        i++;
    }
    if (i >= len || i == 1)
        return 0;
    struct yb_slice in = yb_slice_make(p + 1, i - 1);
    if (prefix_nocase(in, "IPv6:")) {
        if (!ip_ok(in.p + 5, in.len - 5, PAL_AF_INET6))
            return 0;
    } else if (!ip_ok(in.p, in.len, PAL_AF_INET)) {
        return 0;
    }
    return i + 1;
}

/*
 * Scans a domain name at p: labels of LDH (and '_' when lenient) or valid
 * UTF-8, separated by single dots. Stops at the first byte that cannot
 * continue it; *used_r gets its length. Returns 0, YB_EPARSE, YB_EUTF8 for
 * invalid UTF-8 or YB_ELIMIT over 255 octets. *utf8 is set on non-ASCII.
 */
static int scan_domain(const unsigned char *p, size_t len, bool lenient, size_t *used_r, bool *utf8)
{
    size_t i = 0;
    for (;;) {
        size_t start = i;
        while (i < len) {
            unsigned char c = p[i];
            if (c >= 0x80) {
                size_t n = yb_utf8_seq_len(p + i, len - i);
                if (n == 0)
                    return YB_EUTF8;
                *utf8 = true;
                i += n;
            } else if (is_alpha(c) || is_digit(c) || c == '-' || (lenient && c == '_')) {
                i++;
            } else {
                break;
            }
        }
        if (i == start || i - start > MAX_LABEL || p[start] == '-' || p[i - 1] == '-')
            return YB_EPARSE;
        if (i >= len || p[i] != '.')
            break;
        i++;
    }
    *used_r = i;
    return i > YB_SMTP_LIMIT_DOMAIN ? YB_ELIMIT : 0;
}

static enum smtp_path_error domain_error(int err)
{
    return err == YB_ELIMIT ? SMTP_PATH_TOO_LONG : SMTP_PATH_SYNTAX;
}

int smtp_check_helo(struct yb_slice arg)
{
    bool utf8 = false;
    size_t used = 0;
    if (arg.len == 0 || yb_slice_has_nul(arg))
        return YB_EPARSE;
    if (arg.len > YB_SMTP_LIMIT_DOMAIN)
        return YB_ELIMIT;
    if (arg.p[0] == '[')
        return scan_literal(arg.p, arg.len) == arg.len ? 0 : YB_EPARSE;
    if (ip_ok(arg.p, arg.len, PAL_AF_INET6))
        return 0; /* a bare IPv6 address, as some clients send */
    int err = scan_domain(arg.p, arg.len, true, &used, &utf8);
    if (err < 0)
        return err == YB_ELIMIT ? err : YB_EPARSE;
    return used == arg.len ? 0 : YB_EPARSE;
}

/* ---- paths ---- */

struct cursor {
    const unsigned char *p;
    size_t len, i;
};

/* Appends to path->local; the wire-form limit keeps the decoded form in bounds. */
static void local_put(struct smtp_path *path, const unsigned char *s, size_t n)
{
    if (path->local_len + n < sizeof(path->local)) {
        memcpy(path->local + path->local_len, s, n);
        path->local_len += n;
        path->local[path->local_len] = '\0';
    }
}

/* Local-part = Dot-string / Quoted-string. Sets *quoted. */
static enum smtp_path_error parse_local(struct cursor *c, struct smtp_path *path, bool *quoted)
{
    size_t start = c->i;
    *quoted = c->i < c->len && c->p[c->i] == '"';
    if (*quoted) {
        c->i++;
        for (;;) {
            if (c->i >= c->len)
                return SMTP_PATH_SYNTAX;
            unsigned char ch = c->p[c->i];
            if (ch == '"')
                break;
            if (ch == '\\') {
                if (c->i + 1 >= c->len || c->p[c->i + 1] < 32 || c->p[c->i + 1] > 126)
                    return SMTP_PATH_SYNTAX; /* quoted-pairSMTP = "\" %d32-126 */
                local_put(path, c->p + c->i + 1, 1);
                c->i += 2;
            } else if (ch >= 0x80) {
                size_t n = yb_utf8_seq_len(c->p + c->i, c->len - c->i);
                if (n == 0)
                    return SMTP_PATH_SYNTAX;
                path->utf8 = true;
                local_put(path, c->p + c->i, n);
                c->i += n;
            } else if (ch >= 32 && ch <= 126) { /* qtextSMTP: not '"' or '\' */
                local_put(path, c->p + c->i++, 1);
            } else {
                return SMTP_PATH_SYNTAX;
            }
        }
        c->i++;
    } else {
        size_t atom = c->i;
        for (;;) {
            if (c->i < c->len && c->p[c->i] >= 0x80) {
                size_t n = yb_utf8_seq_len(c->p + c->i, c->len - c->i);
                if (n == 0)
                    return SMTP_PATH_SYNTAX;
                path->utf8 = true;
                c->i += n;
            } else if (c->i < c->len && is_atext(c->p[c->i])) {
                c->i++;
            } else if (c->i == atom) {
                return SMTP_PATH_SYNTAX; /* empty atom: leading, double or trailing dot */
            } else if (c->i < c->len && c->p[c->i] == '.') {
                atom = ++c->i;
            } else {
                break;
            }
        }
        if (c->i - start <= YB_SMTP_LIMIT_LOCAL)
            local_put(path, c->p + start, c->i - start);
    }
    return c->i - start > YB_SMTP_LIMIT_LOCAL ? SMTP_PATH_TOO_LONG : SMTP_PATH_OK;
}

/* A-d-l = At-domain *( "," At-domain ) ":" ; the route is checked, then dropped. */
static enum smtp_path_error skip_route(struct cursor *c)
{
    for (;;) {
        size_t used = 0;
        bool utf8 = false;
        if (c->i >= c->len || c->p[c->i] != '@')
            return SMTP_PATH_SYNTAX;
        c->i++;
        int err = scan_domain(c->p + c->i, c->len - c->i, false, &used, &utf8);
        if (err < 0)
            return domain_error(err);
        c->i += used;
        if (c->i < c->len && c->p[c->i] == ':') {
            c->i++;
            return SMTP_PATH_OK;
        }
        if (c->i >= c->len || c->p[c->i] != ',')
            return SMTP_PATH_SYNTAX;
        c->i++;
    }
}

static enum smtp_path_error parse_mailbox(struct cursor *c, bool is_mail, struct smtp_path *path)
{
    bool quoted;
    size_t local_start = c->i;
    enum smtp_path_error e = parse_local(c, path, &quoted);
    if (e != SMTP_PATH_OK)
        return e;
    if (c->i < c->len && c->p[c->i] == '>') {
        struct yb_slice l = yb_slice_make(c->p + local_start, c->i - local_start);
        if (is_mail || quoted || !yb_slice_eq_cstr_nocase(l, "Postmaster"))
            return SMTP_PATH_SYNTAX;
        path->postmaster = true;
        return SMTP_PATH_OK;
    }
    if (c->i >= c->len || c->p[c->i] != '@')
        return SMTP_PATH_SYNTAX;
    c->i++;
    size_t used = 0;
    const unsigned char *d = c->p + c->i;
    if (c->i < c->len && d[0] == '[') {
        used = scan_literal(d, c->len - c->i);
        if (used == 0)
            return SMTP_PATH_SYNTAX;
        path->domain_literal = true;
    } else {
        int err = scan_domain(d, c->len - c->i, false, &used, &path->utf8);
        if (err < 0)
            return domain_error(err);
    }
    memcpy(path->domain, d, used); /* used <= 255 */
    path->domain[used] = '\0';
    c->i += used;
    return SMTP_PATH_OK;
}

/* ---- parameters ---- */

static bool xtext_ok(struct yb_slice v)
{
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] == '+') {
            if (i + 2 >= v.len || !is_hex(v.p[i + 1]) || !is_hex(v.p[i + 2]))
                return false;
            i += 2;
        } else if (v.p[i] < 33 || v.p[i] > 126 || v.p[i] == '=') {
            return false;
        }
    }
    return true;
}

static bool one_of(struct yb_slice v, const char *const *words)
{
    for (; *words != NULL; words++) {
        if (yb_slice_eq_cstr_nocase(v, *words))
            return true;
    }
    return false;
}

/* NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) (RFC 3461 4.1). */
static bool notify_ok(struct yb_slice v)
{
    static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY", NULL };
    if (yb_slice_eq_cstr_nocase(v, "NEVER"))
        return true;
    size_t start = 0;
    for (size_t i = 0; i <= v.len; i++) {
        if (i == v.len || v.p[i] == ',') {
            if (!one_of(yb_slice_make(v.p + start, i - start), words))
                return false;
            start = i + 1;
        }
    }
    return true;
}

/* Value syntax of the parameters we know; unknown keywords pass. */
static bool value_ok(const struct smtp_param *pm)
{
    static const char *const bodies[] = { "7BIT", "8BITMIME", "BINARYMIME", NULL };
    static const char *const rets[] = { "FULL", "HDRS", NULL };
    struct yb_slice k = pm->key, v = pm->value;
    uint64_t size;
    if (yb_slice_eq_cstr_nocase(k, "SMTPUTF8"))
        return !pm->has_value;
    if (yb_slice_eq_cstr_nocase(k, "SIZE"))
        return pm->has_value && smtp_parse_u64(v, &size) == 0;
    if (yb_slice_eq_cstr_nocase(k, "BODY"))
        return one_of(v, bodies);
    if (yb_slice_eq_cstr_nocase(k, "RET"))
        return one_of(v, rets);
    if (yb_slice_eq_cstr_nocase(k, "NOTIFY"))
        return pm->has_value && notify_ok(v);
    if (yb_slice_eq_cstr_nocase(k, "ENVID"))
        return pm->has_value && v.len <= 100 && xtext_ok(v); /* RFC 3461 4.4: 100 chars */
    if (yb_slice_eq_cstr_nocase(k, "ORCPT")) {
        /* addr-type ";" xtext; under SMTPUTF8 "utf-8" types carry their own escapes */
        const unsigned char *semi = v.len ? memchr(v.p, ';', v.len) : NULL;
        if (semi == NULL || semi == v.p || (size_t)(semi - v.p) == v.len - 1)
            return false;
        struct yb_slice type = yb_slice_make(v.p, (size_t)(semi - v.p));
        struct yb_slice addr = yb_slice_make(semi + 1, v.len - type.len - 1);
        return !yb_slice_eq_cstr_nocase(type, "rfc822") || xtext_ok(addr);
    }
    return true;
}

/* esmtp-param = esmtp-keyword ["=" esmtp-value]. Sets *non_ascii. */
static bool parse_param(struct yb_slice t, struct smtp_param *pm, bool *non_ascii)
{
    size_t i = 0;
    while (i < t.len && (is_alpha(t.p[i]) || is_digit(t.p[i]) || (i > 0 && t.p[i] == '-')))
        i++;
    if (i == 0 || (i < t.len && t.p[i] != '='))
        return false;
    pm->key = yb_slice_make(t.p, i);
    pm->has_value = i < t.len;
    pm->value = yb_slice_make(t.p + t.len, 0);
    if (!pm->has_value)
        return true;
    pm->value = yb_slice_make(t.p + i + 1, t.len - i - 1);
    if (pm->value.len == 0)
        return false;
    for (size_t j = 0; j < pm->value.len;) {
        unsigned char ch = pm->value.p[j];
        if (ch >= 0x80) {
            size_t n = yb_utf8_seq_len(pm->value.p + j, pm->value.len - j);
            if (n == 0)
                return false;
            *non_ascii = true;
            j += n;
        } else if (ch >= 33 && ch <= 126 && ch != '=') {
            j++;
        } else {
            return false;
        }
    }
    return true;
}

static enum smtp_path_error parse_params(struct yb_slice s, bool *non_ascii,
                                         struct smtp_params *params)
{
    size_t i = 0;
    for (;;) {
        while (i < s.len && s.p[i] == ' ')
            i++;
        if (i >= s.len)
            return SMTP_PATH_OK;
        size_t start = i;
        while (i < s.len && s.p[i] != ' ')
            i++;
        if (params->n >= YB_SMTP_MAX_PARAMS)
            return SMTP_PATH_PARAMS;
        struct smtp_param *pm = &params->p[params->n];
        if (!parse_param(yb_slice_make(s.p + start, i - start), pm, non_ascii) || !value_ok(pm))
            return SMTP_PATH_PARAMS;
        for (size_t k = 0; k < params->n; k++) {
            if (yb_slice_eq_nocase(params->p[k].key, pm->key))
                return SMTP_PATH_PARAMS; /* duplicate keyword */
        }
        params->n++;
    }
}

enum smtp_path_error smtp_parse_path(struct yb_slice arg, bool is_mail, bool utf8_allowed,
                                     struct smtp_path *path_r, struct smtp_params *params_r)
{
    memset(path_r, 0, sizeof(*path_r));
    params_r->n = 0;
    if (yb_slice_has_nul(arg))
        return SMTP_PATH_SYNTAX;
    arg = trim_right(arg);
    struct cursor c = { arg.p, arg.len, 0 };
    while (c.i < c.len && c.p[c.i] == ' ')
        c.i++;
    if (c.i >= c.len || c.p[c.i] != '<')
        return SMTP_PATH_SYNTAX; /* brackets are required */
    size_t open = c.i++;
    enum smtp_path_error e = SMTP_PATH_OK;
    if (c.i < c.len && c.p[c.i] == '>') {
        if (!is_mail)
            return SMTP_PATH_SYNTAX;
        path_r->null_path = true;
    } else {
        if (c.i < c.len && c.p[c.i] == '@') {
            path_r->had_source_route = true;
            e = skip_route(&c);
        }
        if (e == SMTP_PATH_OK)
            e = parse_mailbox(&c, is_mail, path_r);
        if (e != SMTP_PATH_OK)
            return e;
        if (c.i >= c.len || c.p[c.i] != '>')
            return SMTP_PATH_SYNTAX;
    }
    c.i++;
    if (c.i - open > YB_SMTP_LIMIT_PATH)
        return SMTP_PATH_TOO_LONG;
    if (c.i < c.len && c.p[c.i] != ' ')
        return SMTP_PATH_SYNTAX; /* garbage after '>' */
    bool param_utf8 = false;
    e = parse_params(yb_slice_make(c.p + c.i, c.len - c.i), &param_utf8, params_r);
    if (e != SMTP_PATH_OK)
        return e;
    const struct smtp_param *u = smtp_params_get(params_r, "SMTPUTF8");
    bool utf8_ok = utf8_allowed || (is_mail && u != NULL);
    if (param_utf8 && !utf8_ok)
        return SMTP_PATH_PARAMS;
    if (path_r->utf8 && !utf8_ok)
        return SMTP_PATH_NEEDS_UTF8;
    return SMTP_PATH_OK;
}

const struct smtp_param *smtp_params_get(const struct smtp_params *params, const char *key)
{
    for (size_t i = 0; i < params->n; i++) {
        if (yb_slice_eq_cstr_nocase(params->p[i].key, key))
            return &params->p[i];
    }
    return NULL;
}

bool smtp_params_has(const struct smtp_params *params, const char *key)
{
    return smtp_params_get(params, key) != NULL;
}

/* ---- xtext and numbers ---- */

static unsigned hex_val(unsigned char c)
{
    if (is_digit(c))
        return (unsigned)(c - '0');
    return (unsigned)((c | 0x20) - 'a' + 10);
}

/* out gets the decoded bytes and a NUL (so it needs decoded length + 1). */
int smtp_xtext_decode(struct yb_slice in, char *out, size_t outsize, size_t *len_r)
{
    size_t n = 0;
    *len_r = 0;
    if (!xtext_ok(in))
        return YB_EPARSE;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char ch = in.p[i];
        if (ch == '+') {
            ch = (unsigned char)(hex_val(in.p[i + 1]) << 4 | hex_val(in.p[i + 2]));
            i += 2;
        }
        if (n + 1 >= outsize)
            return YB_ERANGE;
        out[n++] = (char)ch;
    }
    if (outsize == 0)
        return YB_ERANGE;
    out[n] = '\0';
    *len_r = n;
    return 0;
}

int smtp_xtext_encode(struct yb_slice in, char *out, size_t outsize)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    if (outsize == 0)
        return YB_ERANGE;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char ch = in.p[i];
        bool plain = ch >= 33 && ch <= 126 && ch != '+' && ch != '=';
        if (n + (plain ? 1 : 3) >= outsize) {
            out[0] = '\0';
            return YB_ERANGE;
        }
        if (plain) {
            out[n++] = (char)ch;
        } else {
            out[n++] = '+';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    out[n] = '\0';
    return 0;
}

int smtp_parse_u64(struct yb_slice s, uint64_t *v_r)
{
    uint64_t v = 0;
    *v_r = 0;
    if (s.len == 0)
        return YB_EPARSE;
    for (size_t i = 0; i < s.len; i++) {
        if (!is_digit(s.p[i]))
            return YB_EPARSE;
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return YB_ERANGE;
        v = v * 10 + d;
    }
    *v_r = v;
    return 0;
}
