/*
 * mime_struct.c - ENVELOPE, BODY, BODYSTRUCTURE and their cache form.
 */
#include "mime_struct.h"
#include "mime_decode.h"
#include "mime_header.h"
#include "pal_err.h"

#include <stdlib.h>
#include <string.h>

#define MISSING_HOST ".MISSING-HOST-NAME."

/* ---- IMAP strings ---- */

int mime_imap_nstring(struct yb_buf *out, struct yb_slice s)
{
    bool quotable = true;
    int rc;

    if (s.p == NULL)
        return yb_buf_append_cstr(out, "NIL");
    for (size_t i = 0; i < s.len && quotable; i++)
        quotable = s.p[i] >= 0x20 && s.p[i] < 0x7F;
    if (!quotable) {
        if ((rc = yb_buf_printf(out, "{%llu}\r\n", (unsigned long long)s.len)) < 0)
            return rc;
        return yb_buf_append_slice(out, s);
    }
    if ((rc = yb_buf_append_byte(out, '"')) < 0)
        return rc;
    for (size_t i = 0; i < s.len; i++) {
        if ((s.p[i] == '"' || s.p[i] == '\\') && (rc = yb_buf_append_byte(out, '\\')) < 0)
            return rc;
        if ((rc = yb_buf_append_byte(out, s.p[i])) < 0)
            return rc;
    }
    return yb_buf_append_byte(out, '"');
}

static int put(struct yb_buf *out, const char *s)
{
    return yb_buf_append_cstr(out, s);
}

/* ---- addresses (RFC 5322 3.4, read leniently) ---- */

enum tok_kind { T_END, T_WORD, T_QUOTED, T_SPECIAL, T_LITERAL };

struct tok {
    enum tok_kind kind;
    size_t start, end; /* as written (quotes included) */
    unsigned char c;   /* T_SPECIAL */
};

struct lexer {
    struct yb_slice v;
    size_t i;
};

static struct tok next_tok(struct lexer *lx)
{
    struct tok t = { T_END, 0, 0, 0 };
    const struct yb_slice v = lx->v;

    mime_skip_cfws(lx->v, &lx->i);
    t.start = lx->i;
    if (lx->i >= v.len) {
        t.end = lx->i;
        return t;
    }
    unsigned char c = v.p[lx->i];
    if (c == '"') {
        t.kind = T_QUOTED;
        for (lx->i++; lx->i < v.len && v.p[lx->i] != '"'; lx->i++)
            if (v.p[lx->i] == '\\')
                lx->i++;
        lx->i = lx->i < v.len ? lx->i + 1 : v.len;
    } else if (c == '[') {
        t.kind = T_LITERAL;
        while (lx->i < v.len && v.p[lx->i] != ']')
            lx->i++;
        lx->i = lx->i < v.len ? lx->i + 1 : v.len;
    } else if (strchr("<>@,;:", c) != NULL) {
        t.kind = T_SPECIAL;
        t.c = c;
        lx->i++;
    } else {
        t.kind = T_WORD;
        while (lx->i < v.len && strchr("<>@,;:\"[( \t\r\n", v.p[lx->i]) == NULL)
            lx->i++;
        if (lx->i == t.start)
            lx->i++; /* a stray ')' or ']' */
    }
    t.end = lx->i;
    return t;
}

struct addr {
    struct yb_buf name; /* the phrase, quoted strings unquoted, words joined by one space */
    bool has_name;
    size_t adl_s, adl_e, local_s, local_e, dom_s, dom_e;
    bool has_adl, has_dom;
};

static int phrase_add(struct addr *a, struct yb_slice v, const struct tok *t)
{
    int rc;
    if (a->has_name && (rc = yb_buf_append_byte(&a->name, ' ')) < 0)
        return rc;
    a->has_name = true;
    if (t->kind == T_QUOTED) {
        size_t e = t->end > t->start + 1 && v.p[t->end - 1] == '"' ? t->end - 1 : t->end;
        for (size_t i = t->start + 1; i < e; i++) {
            if (v.p[i] == '\\' && i + 1 < e)
                i++;
            if (v.p[i] == '\r' || v.p[i] == '\n')
                continue;
            if ((rc = yb_buf_append_byte(&a->name, v.p[i])) < 0)
                return rc;
        }
        return 0;
    }
    return yb_buf_append(&a->name, v.p + t->start, t->end - t->start);
}

static int emit_addr(struct yb_buf *out, struct yb_slice v, const struct addr *a)
{
    int rc;
    if ((rc = put(out, "(")) < 0 ||
        (rc = mime_imap_nstring(out, a->has_name ? yb_buf_slice(&a->name)
                                                 : yb_slice_make(NULL, 0))) < 0 ||
        (rc = put(out, " ")) < 0 ||
        (rc = mime_imap_nstring(out, a->has_adl ? yb_slice_make(v.p + a->adl_s, a->adl_e - a->adl_s)
                                                : yb_slice_make(NULL, 0))) < 0 ||
        (rc = put(out, " ")) < 0 ||
        (rc = mime_imap_nstring(out, yb_slice_make(v.p + a->local_s, a->local_e - a->local_s))) <
            0 ||
        (rc = put(out, " ")) < 0 ||
        (rc = mime_imap_nstring(out, a->has_dom ? yb_slice_make(v.p + a->dom_s, a->dom_e - a->dom_s)
                                                : YB_SLICE_LIT(MISSING_HOST))) < 0)
        return rc;
    return put(out, ")");
}

/* Reads "local@domain" or "local" from lx starting at first; stops at '>' ',' ';' or end. */
static struct tok addr_spec(struct lexer *lx, struct tok first, struct addr *a)
{
    struct tok t = first;
    a->local_s = t.start;
    a->local_e = t.end;
    for (;;) {
        t = next_tok(lx);
        if (t.kind == T_WORD || t.kind == T_QUOTED) {
            a->local_e = t.end; /* "first.last" split by comments or spaces */
            continue;
        }
        break;
    }
    if (t.kind == T_SPECIAL && t.c == '@') {
        t = next_tok(lx);
        a->dom_s = t.start;
        a->dom_e = t.start;
        while (t.kind == T_WORD || t.kind == T_LITERAL) {
            a->dom_e = t.end;
            a->has_dom = true;
            t = next_tok(lx);
        }
    }
    return t;
}

int mime_imap_addresses(struct yb_buf *out, struct yb_slice v)
{
    struct lexer lx = { v, 0 };
    struct addr a;
    unsigned count = 0;
    bool in_group = false, any = false;
    size_t list_start = out->len;
    int rc = 0;

    if (v.p == NULL)
        return put(out, "NIL");
    memset(&a, 0, sizeof(a));
    yb_buf_init(&a.name, 4096);
    if ((rc = put(out, "(")) < 0)
        goto done;
    while (count < YB_MIME_LIMIT_ADDRESSES) {
        struct tok t = next_tok(&lx);
        yb_buf_reset(&a.name);
        a.has_name = a.has_adl = a.has_dom = false;
        a.local_s = a.local_e = 0;
        if (t.kind == T_END)
            break;
        if (t.kind == T_SPECIAL && t.c == ',')
            continue;
        if (t.kind == T_SPECIAL && t.c == ';') {
            if (in_group && (rc = put(out, "(NIL NIL NIL NIL)")) < 0)
                goto done;
            in_group = false;
            continue;
        }
        /* A phrase, then ':' (group), '<' (angle address) or '@' (it was a local part). */
        struct tok first = t;
        size_t words = 0;
        while (t.kind == T_WORD || t.kind == T_QUOTED) {
            words++;
            t = next_tok(&lx);
        }
        if (t.kind == T_SPECIAL && t.c == ':' && words > 0 && !in_group) {
            struct lexer again = { v, first.start };
            struct tok w;
            while ((w = next_tok(&again)).kind == T_WORD || w.kind == T_QUOTED) {
                if (w.start >= t.start)
                    break;
                if ((rc = phrase_add(&a, v, &w)) < 0)
                    goto done;
            }
            if ((rc = put(out, "(NIL NIL ")) < 0 ||
                (rc = mime_imap_nstring(out, yb_buf_slice(&a.name))) < 0 ||
                (rc = put(out, " NIL)")) < 0)
                goto done;
            in_group = true;
            any = true;
            continue;
        }
        if (t.kind == T_SPECIAL && t.c == '<') {
            struct lexer again = { v, first.start };
            struct tok w;
            while (words > 0 && (w = next_tok(&again)).start < t.start) {
                if ((rc = phrase_add(&a, v, &w)) < 0)
                    goto done;
            }
            t = next_tok(&lx);
            if (t.kind == T_SPECIAL && t.c == '@') {
                /* obsolete route: @a,@b: */
                a.adl_s = t.start;
                while (t.kind != T_END && !(t.kind == T_SPECIAL && (t.c == ':' || t.c == '>'))) {
                    a.adl_e = t.end;
                    t = next_tok(&lx);
                }
                a.has_adl = true;
                if (t.kind == T_SPECIAL && t.c == ':')
                    t = next_tok(&lx);
            }
            if (t.kind == T_SPECIAL && t.c == '>') {
                /* "<>": the null address; nothing to list */
                continue;
            }
            if (t.kind == T_END)
                break;
            t = addr_spec(&lx, t, &a);
            while (t.kind != T_END && !(t.kind == T_SPECIAL && (t.c == '>' || t.c == ',')))
                t = next_tok(&lx);
        } else {
            /* addr-spec: re-read from the first word */
            struct lexer again = { v, first.start };
            struct tok w = next_tok(&again);
            if (w.kind == T_SPECIAL) {
                /* junk such as a stray '>' or '@': skip to the next comma */
                continue;
            }
            t = addr_spec(&again, w, &a);
            lx = again;
        }
        if (a.local_e > a.local_s) {
            if ((rc = emit_addr(out, v, &a)) < 0)
                goto done;
            count++;
            any = true;
        }
        if (t.kind == T_SPECIAL && t.c == ';' && in_group) {
            if ((rc = put(out, "(NIL NIL NIL NIL)")) < 0)
                goto done;
            in_group = false;
        }
    }
    if (in_group && (rc = put(out, "(NIL NIL NIL NIL)")) < 0)
        goto done;
    if (!any) {
        yb_buf_truncate(out, list_start);
        rc = put(out, "NIL");
        goto done;
    }
    rc = put(out, ")");
done:
    yb_buf_free(&a.name);
    return rc;
}

/* ---- ENVELOPE ---- */

int mime_envelope_write(const struct mime_parser *p, uint32_t idx, struct yb_buf *out)
{
    const struct mime_part *n = mime_part_at(p, idx);
    struct yb_slice from, f;
    int rc;

    if (n == NULL)
        return YB_EINVAL;
    from = mime_part_field(p, n, MIME_F_FROM);
    if ((rc = put(out, "(")) < 0 ||
        (rc = mime_imap_nstring(out, mime_part_field(p, n, MIME_F_DATE))) < 0 ||
        (rc = put(out, " ")) < 0 ||
        (rc = mime_imap_nstring(out, mime_part_field(p, n, MIME_F_SUBJECT))) < 0 ||
        (rc = put(out, " ")) < 0 || (rc = mime_imap_addresses(out, from)) < 0)
        return rc;
    /* Sender and Reply-To default to From (RFC 3501 7.4.2). */
    f = mime_part_field(p, n, MIME_F_SENDER);
    if ((rc = put(out, " ")) < 0 || (rc = mime_imap_addresses(out, f.len ? f : from)) < 0)
        return rc;
    f = mime_part_field(p, n, MIME_F_REPLY_TO);
    if ((rc = put(out, " ")) < 0 || (rc = mime_imap_addresses(out, f.len ? f : from)) < 0)
        return rc;
    static const enum mime_field rest[] = { MIME_F_TO, MIME_F_CC, MIME_F_BCC };
    for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++) {
        if ((rc = put(out, " ")) < 0 ||
            (rc = mime_imap_addresses(out, mime_part_field(p, n, rest[i]))) < 0)
            return rc;
    }
    if ((rc = put(out, " ")) < 0 ||
        (rc = mime_imap_nstring(out, mime_part_field(p, n, MIME_F_IN_REPLY_TO))) < 0 ||
        (rc = put(out, " ")) < 0 ||
        (rc = mime_imap_nstring(out, mime_part_field(p, n, MIME_F_MESSAGE_ID))) < 0)
        return rc;
    return put(out, ")");
}

/* ---- BODY / BODYSTRUCTURE ---- */

static struct yb_slice trim(struct yb_slice s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
        s = yb_slice_make(s.p + 1, s.len - 1);
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

static bool is_ascii(struct yb_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] >= 0x80)
            return false;
    }
    return true;
}

/* ("name" "value" ...) or NIL; defaults when the type had none. */
static int write_params(struct yb_buf *out, const struct mime_ctype *ct, const char *dflt)
{
    int rc;
    if (ct == NULL || ct->nparams == 0)
        return put(out, dflt);
    if ((rc = put(out, "(")) < 0)
        return rc;
    for (size_t i = 0; i < ct->nparams; i++) {
        struct yb_slice name = mime_param_name(ct, i), val = mime_param_value(ct, i);
        if (i > 0 && (rc = put(out, " ")) < 0)
            return rc;
        if (!ct->param[i].extended || is_ascii(val)) {
            rc = mime_imap_nstring(out, name);
            if (rc == 0 && (rc = put(out, " ")) == 0)
                rc = mime_imap_nstring(out, val);
        } else {
            /* RFC 2231 form in UTF-8, which every client that reads "name*" understands. */
            struct yb_buf enc;
            yb_buf_init(&enc, name.len + 16 + val.len * 3);
            rc = yb_buf_append_slice(&enc, name);
            if (rc == 0)
                rc = yb_buf_append_cstr(&enc, "*");
            if (rc == 0)
                rc = mime_imap_nstring(out, yb_buf_slice(&enc));
            yb_buf_reset(&enc);
            if (rc == 0)
                rc = yb_buf_append_cstr(&enc, "utf-8''");
            for (size_t k = 0; k < val.len && rc == 0; k++) {
                unsigned char c = val.p[k];
                if (c < 0x80 && c > 0x20 && strchr("*'%()<>@,;:\\\"/[]?=", c) == NULL)
                    rc = yb_buf_append_byte(&enc, c);
                else
                    rc = yb_buf_printf(&enc, "%%%02X", (unsigned)c);
            }
            if (rc == 0 && (rc = put(out, " ")) == 0)
                rc = mime_imap_nstring(out, yb_buf_slice(&enc));
            yb_buf_free(&enc);
        }
        if (rc < 0)
            return rc;
    }
    return put(out, ")");
}

/* The extension data shared by both kinds: disposition, language, location. */
static int write_ext_tail(const struct mime_parser *p, const struct mime_part *n,
                          struct yb_buf *out)
{
    struct yb_slice v = mime_part_field(p, n, MIME_F_DISPOSITION);
    int rc;

    if ((rc = put(out, " ")) < 0)
        return rc;
    if (v.p != NULL && trim(v).len > 0) {
        struct mime_ctype cd;
        if ((rc = mime_ctype_parse(v, false, &cd)) < 0)
            return rc;
        if ((rc = put(out, "(")) == 0 && (rc = mime_imap_nstring(out, cd.type)) == 0 &&
            (rc = put(out, " ")) == 0 && (rc = write_params(out, &cd, "NIL")) == 0)
            rc = put(out, ")");
        mime_ctype_free(&cd);
    } else {
        rc = put(out, "NIL");
    }
    if (rc < 0 || (rc = put(out, " ")) < 0)
        return rc;
    v = mime_part_field(p, n, MIME_F_LANGUAGE);
    if (v.p == NULL || trim(v).len == 0) {
        rc = put(out, "NIL");
    } else if (memchr(v.p, ',', v.len) == NULL) {
        rc = mime_imap_nstring(out, trim(v));
    } else {
        size_t s = 0;
        rc = put(out, "(");
        for (size_t i = 0; i <= v.len && rc == 0; i++) {
            if (i == v.len || v.p[i] == ',') {
                struct yb_slice l = trim(yb_slice_make(v.p + s, i - s));
                if (s > 0)
                    rc = put(out, " ");
                if (rc == 0)
                    rc = mime_imap_nstring(out, l);
                s = i + 1;
            }
        }
        if (rc == 0)
            rc = put(out, ")");
    }
    if (rc < 0 || (rc = put(out, " ")) < 0)
        return rc;
    v = mime_part_field(p, n, MIME_F_LOCATION);
    return mime_imap_nstring(out, v.p != NULL ? trim(v) : v);
}

static int write_part(const struct mime_parser *p, uint32_t idx, bool ext, struct yb_buf *out,
                      unsigned depth);

static int write_multipart(const struct mime_parser *p, const struct mime_part *n, bool ext,
                           struct yb_buf *out, unsigned depth)
{
    struct mime_ctype ct;
    struct yb_slice v = mime_part_field(p, n, MIME_F_CONTENT_TYPE);
    int rc;

    if ((rc = mime_ctype_parse(v.p != NULL ? v : YB_SLICE_LIT(""), true, &ct)) < 0)
        return rc;
    if ((rc = put(out, "(")) < 0)
        goto done;
    if (n->child == MIME_NONE) {
        rc = put(out, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)");
    } else {
        for (uint32_t c = n->child; c != MIME_NONE && rc == 0; c = p->parts[c].next)
            rc = write_part(p, c, ext, out, depth + 1);
    }
    if (rc < 0 || (rc = put(out, " ")) < 0 || (rc = mime_imap_nstring(out, ct.subtype)) < 0)
        goto done;
    if (ext) {
        /* The boundary and the rest of the parameters, then the shared tail. */
        if ((rc = put(out, " ")) < 0 || (rc = write_params(out, &ct, "NIL")) < 0 ||
            (rc = write_ext_tail(p, n, out)) < 0)
            goto done;
    }
    rc = put(out, ")");
done:
    mime_ctype_free(&ct);
    return rc;
}

static int write_part(const struct mime_parser *p, uint32_t idx, bool ext, struct yb_buf *out,
                      unsigned depth)
{
    const struct mime_part *n = &p->parts[idx];
    struct mime_ctype ct;
    struct yb_slice v, type, subtype;
    bool have_ct, text, message;
    int rc;

    if (depth > YB_MIME_LIMIT_DEPTH + 2)
        return YB_ELIMIT;
    if (n->kind == MIME_MULTIPART)
        return write_multipart(p, n, ext, out, depth);
    v = mime_part_field(p, n, MIME_F_CONTENT_TYPE);
    have_ct = v.p != NULL && trim(v).len > 0;
    if ((rc = mime_ctype_parse(have_ct ? v : YB_SLICE_LIT(""), true, &ct)) < 0)
        return rc;
    type = ct.type;
    subtype = ct.subtype;
    if (type.len == 0 || subtype.len == 0) {
        bool digest = n->parent != MIME_NONE && (p->parts[n->parent].flags & MIME_PF_DIGEST);
        type = digest ? YB_SLICE_LIT("message") : YB_SLICE_LIT("text");
        subtype = digest ? YB_SLICE_LIT("rfc822") : YB_SLICE_LIT("plain");
        have_ct = false;
    }
    text = yb_slice_eq_cstr_nocase(type, "text");
    message = n->kind == MIME_MESSAGE && n->child != MIME_NONE;
    if ((rc = put(out, "(")) < 0 || (rc = mime_imap_nstring(out, type)) < 0 ||
        (rc = put(out, " ")) < 0 || (rc = mime_imap_nstring(out, subtype)) < 0 ||
        (rc = put(out, " ")) < 0 ||
        (rc = write_params(out, have_ct ? &ct : NULL,
                           text ? "(\"charset\" \"us-ascii\")" : "NIL")) < 0)
        goto done;
    v = mime_part_field(p, n, MIME_F_ID);
    if ((rc = put(out, " ")) < 0 || (rc = mime_imap_nstring(out, v.p ? trim(v) : v)) < 0)
        goto done;
    v = mime_part_field(p, n, MIME_F_DESCRIPTION);
    if ((rc = put(out, " ")) < 0 || (rc = mime_imap_nstring(out, v.p ? trim(v) : v)) < 0)
        goto done;
    v = mime_part_field(p, n, MIME_F_CTE);
    if ((rc = put(out, " ")) < 0 ||
        (rc = mime_imap_nstring(out, v.p != NULL && trim(v).len > 0 ? trim(v)
                                                                    : YB_SLICE_LIT("7bit"))) < 0)
        goto done;
    if ((rc = yb_buf_printf(out, " %llu", (unsigned long long)n->body_size)) < 0)
        goto done;
    if (message) {
        if ((rc = put(out, " ")) < 0 || (rc = mime_envelope_write(p, n->child, out)) < 0 ||
            (rc = put(out, " ")) < 0 || (rc = write_part(p, n->child, ext, out, depth + 1)) < 0 ||
            (rc = yb_buf_printf(out, " %llu", (unsigned long long)n->body_lines)) < 0)
            goto done;
    } else if (text) {
        if ((rc = yb_buf_printf(out, " %llu", (unsigned long long)n->body_lines)) < 0)
            goto done;
    }
    if (ext) {
        v = mime_part_field(p, n, MIME_F_MD5);
        if ((rc = put(out, " ")) < 0 || (rc = mime_imap_nstring(out, v.p ? trim(v) : v)) < 0 ||
            (rc = write_ext_tail(p, n, out)) < 0)
            goto done;
    }
    rc = put(out, ")");
done:
    mime_ctype_free(&ct);
    return rc;
}

int mime_body_write(const struct mime_parser *p, uint32_t idx, bool extensible, struct yb_buf *out)
{
    if (idx >= p->nparts)
        return YB_EINVAL;
    return write_part(p, idx, extensible, out, 0);
}

/* ---- the cache form ---- */

#define CACHE_MAGIC   "YBM1"
#define CACHE_PART_SZ (4 + 1 + 1 + 2 + 5 * 8)

static int put_u32(struct yb_buf *b, uint32_t v)
{
    unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24) };
    return yb_buf_append(b, x, 4);
}

static int put_u64(struct yb_buf *b, uint64_t v)
{
    int rc = put_u32(b, (uint32_t)v);
    return rc < 0 ? rc : put_u32(b, (uint32_t)(v >> 32));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* A length-prefixed section written by fn. */
static int put_section(struct yb_buf *out, const struct mime_parser *p, int what)
{
    size_t at = out->len;
    int rc;

    if ((rc = put_u32(out, 0)) < 0)
        return rc;
    if (what == 0)
        rc = mime_envelope_write(p, 0, out);
    else
        rc = mime_body_write(p, 0, what == 2, out);
    if (rc < 0)
        return rc;
    uint32_t len = (uint32_t)(out->len - at - 4);
    unsigned char *q = out->p + at;
    q[0] = (unsigned char)len;
    q[1] = (unsigned char)(len >> 8);
    q[2] = (unsigned char)(len >> 16);
    q[3] = (unsigned char)(len >> 24);
    return 0;
}

int mime_cache_write(const struct mime_parser *p, struct yb_buf *out)
{
    int rc;

    if (p->nparts == 0)
        return YB_EINVAL;
    if ((rc = yb_buf_append(out, CACHE_MAGIC, 4)) < 0 || (rc = put_u32(out, p->nparts)) < 0)
        return rc;
    for (uint32_t i = 0; i < p->nparts && rc == 0; i++) {
        const struct mime_part *n = &p->parts[i];
        unsigned char kcf[4] = { n->kind, n->cte, (unsigned char)n->flags,
                                 (unsigned char)(n->flags >> 8) };
        if ((rc = put_u32(out, n->parent)) < 0 || (rc = yb_buf_append(out, kcf, 4)) < 0 ||
            (rc = put_u64(out, n->hdr_off)) < 0 || (rc = put_u64(out, n->hdr_size)) < 0 ||
            (rc = put_u64(out, n->body_off)) < 0 || (rc = put_u64(out, n->body_size)) < 0)
            return rc;
        rc = put_u64(out, n->body_lines);
    }
    for (int what = 0; what < 3 && rc == 0; what++)
        rc = put_section(out, p, what);
    return rc;
}

int mime_cache_read(const void *blob, size_t len, struct mime_cached *c)
{
    const unsigned char *b = blob;
    size_t i = 8;
    uint32_t n;

    memset(c, 0, sizeof(*c));
    if (len < 8 || memcmp(b, CACHE_MAGIC, 4) != 0)
        return YB_EPARSE;
    n = get_u32(b + 4);
    if (n == 0 || n > YB_MIME_LIMIT_PARTS || (len - 8) / CACHE_PART_SZ < n)
        return YB_EPARSE;
    c->parts = calloc(n, sizeof(*c->parts));
    if (c->parts == NULL)
        return YB_ENOMEM;
    for (uint32_t k = 0; k < n; k++, i += CACHE_PART_SZ) {
        struct mime_part *m = &c->parts[k];
        /* Pre-order: a parent always comes before its children. */
        uint32_t parent = get_u32(b + i);
        if ((k == 0) != (parent == MIME_NONE) || (k > 0 && parent >= k) || b[i + 4] > MIME_MESSAGE)
            goto bad;
        mime_part_init(m, parent);
        m->kind = b[i + 4];
        m->cte = b[i + 5];
        m->flags = (uint16_t)(b[i + 6] | b[i + 7] << 8);
        m->hdr_off = get_u64(b + i + 8);
        m->hdr_size = get_u64(b + i + 16);
        m->body_off = get_u64(b + i + 24);
        m->body_size = get_u64(b + i + 32);
        m->body_lines = get_u64(b + i + 40);
        mime_tree_link(c->parts, k);
    }
    c->nparts = n;
    struct yb_slice *views[3] = { &c->envelope, &c->body, &c->bodystructure };
    for (int k = 0; k < 3; k++) {
        uint32_t l;
        if (len - i < 4)
            goto bad;
        l = get_u32(b + i);
        i += 4;
        if (len - i < l)
            goto bad;
        *views[k] = yb_slice_make(b + i, l);
        i += l;
    }
    if (i != len)
        goto bad;
    return 0;
bad:
    mime_cached_free(c);
    return YB_EPARSE;
}

void mime_cached_free(struct mime_cached *c)
{
    free(c->parts);
    memset(c, 0, sizeof(*c));
}
