/*
 * mime_header.c - RFC 2047 words, Content-Type parameters, RFC 2231.
 */
#include "mime_header.h"
#include "mime_decode.h"
#include "pal_charset.h"
#include "pal_err.h"
#include "yb_hex.h"
#include "yb_utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHARSET_NAME_MAX 64

static bool is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int mime_header_unfold(struct yb_slice v, struct yb_buf *out)
{
    size_t i = 0, start = 0;
    int rc;

    while (i < v.len) {
        size_t eol = 0;
        if (v.p[i] == '\r' && i + 1 < v.len && v.p[i + 1] == '\n')
            eol = 2;
        else if (v.p[i] == '\n')
            eol = 1;
        if (eol > 0 && i + eol < v.len && (v.p[i + eol] == ' ' || v.p[i + eol] == '\t')) {
            if ((rc = yb_buf_append(out, v.p + start, i - start)) < 0)
                return rc;
            i += eol;
            start = i;
            continue;
        }
        i++;
    }
    return yb_buf_append(out, v.p + start, v.len - start);
}

/* Appends bytes as UTF-8: valid sequences kept, every other byte U+FFFD. */
static int append_utf8_lossy(struct yb_buf *out, const unsigned char *p, size_t n)
{
    size_t i = 0;
    int rc;

    while (i < n) {
        size_t k = yb_utf8_seq_len(p + i, n - i);
        if (k == 0) {
            if ((rc = yb_buf_append(out, "\xEF\xBF\xBD", 3)) < 0)
                return rc;
            i++;
            continue;
        }
        if (p[i] == '\r' || p[i] == '\n') {
            i++; /* folding: the WSP that follows stays */
            continue;
        }
        if ((rc = yb_buf_append(out, p + i, k)) < 0)
            return rc;
        i += k;
    }
    return 0;
}

/* Converts bytes in charset to UTF-8 onto out; false when the charset or the bytes are bad. */
static bool convert_to_utf8(const char *charset, const unsigned char *p, size_t n,
                            struct yb_buf *out, int *rc_r)
{
    size_t cap = n * 4 + 16, got = 0;
    unsigned char *tmp;
    int rc;

    *rc_r = 0;
    if (yb_slice_eq_cstr_nocase(yb_slice_cstr(charset), "utf-8") ||
        yb_slice_eq_cstr_nocase(yb_slice_cstr(charset), "us-ascii")) {
        if (!yb_utf8_valid(p, n, NULL))
            return false;
        *rc_r = yb_buf_append(out, p, n);
        return true;
    }
    tmp = malloc(cap);
    if (tmp == NULL) {
        *rc_r = YB_ENOMEM;
        return true;
    }
    rc = pal_charset_convert("UTF-8", charset, p, n, tmp, cap, &got);
    if (rc == 0)
        *rc_r = append_utf8_lossy(out, tmp, got);
    free(tmp);
    return rc == 0;
}

/* One encoded word at v[i]: "=?charset[*lang]?X?text?=". */
struct eword {
    size_t start, end; /* the whole word */
    char charset[CHARSET_NAME_MAX];
    char enc; /* 'B' or 'Q' */
    size_t text_off, text_len;
};

/*
 * A text scan that started at lo met whitespace or the end at hi without
 * finding "?=": a later scan that starts inside [lo, hi] cannot find one
 * either. Remembering it keeps a value full of "=?x?Q?" starts linear.
 */
struct scan_memo {
    size_t lo, hi;
    bool valid;
};

static bool read_eword(struct yb_slice v, size_t i, struct eword *w, struct scan_memo *memo)
{
    size_t k = i + 2, cs = 0, j;

    if (i + 8 > v.len || v.p[i] != '=' || v.p[i + 1] != '?')
        return false;
    while (k < v.len && v.p[k] != '?' && !is_wsp(v.p[k]) && k - i < CHARSET_NAME_MAX + 2) {
        if (v.p[k] == '*')
            cs = cs ? cs : k - (i + 2); /* RFC 2231: "charset*lang" */
        k++;
    }
    if (k >= v.len || v.p[k] != '?' || k == i + 2)
        return false;
    if (cs == 0)
        cs = k - (i + 2);
    if (cs >= CHARSET_NAME_MAX)
        return false;
    memcpy(w->charset, v.p + i + 2, cs);
    w->charset[cs] = '\0';
    if (k + 3 >= v.len || v.p[k + 2] != '?')
        return false;
    w->enc = (char)(v.p[k + 1] & ~0x20);
    if (w->enc != 'B' && w->enc != 'Q')
        return false;
    w->text_off = k + 3;
    if (memo->valid && w->text_off >= memo->lo && w->text_off <= memo->hi)
        return false;
    for (j = w->text_off; j + 1 < v.len; j++) {
        if (is_wsp(v.p[j])) {
            *memo = (struct scan_memo){ w->text_off, j, true };
            return false;
        }
        if (v.p[j] == '?' && v.p[j + 1] == '=') {
            w->text_len = j - w->text_off;
            w->start = i;
            w->end = j + 2;
            return true;
        }
    }
    *memo = (struct scan_memo){ w->text_off, v.len, true };
    return false;
}

/* Appends a word's decoded bytes (not yet converted) to raw. */
static int word_bytes(struct yb_slice v, const struct eword *w, struct yb_buf *raw)
{
    const unsigned char *t = v.p + w->text_off;
    int rc;

    if (w->enc == 'B') {
        struct mime_b64 st;
        mime_b64_init(&st);
        if ((rc = mime_b64_decode(&st, t, w->text_len, raw)) < 0)
            return rc;
        return mime_b64_finish(&st, raw);
    }
    for (size_t i = 0; i < w->text_len; i++) {
        unsigned char c = t[i];
        int h, l;
        if (c == '_')
            c = ' ';
        else if (c == '=' && i + 2 < w->text_len && (h = yb_hex_value(t[i + 1])) >= 0 &&
                 (l = yb_hex_value(t[i + 2])) >= 0) {
            c = (unsigned char)(h * 16 + l);
            i += 2;
        }
        if ((rc = yb_buf_append_byte(raw, c)) < 0)
            return rc;
    }
    return 0;
}

static bool all_wsp(struct yb_slice v, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++) {
        if (!is_wsp(v.p[k]))
            return false;
    }
    return true;
}

struct run {
    bool open;
    char charset[CHARSET_NAME_MAX];
    size_t start, end; /* the words as written, for when they cannot be converted */
    struct yb_buf raw;
};

static int flush_run(struct yb_slice v, struct run *r, struct yb_buf *out)
{
    int rc = 0;

    if (!r->open)
        return 0;
    if (!convert_to_utf8(r->charset, r->raw.p, r->raw.len, out, &rc) && rc == 0)
        rc = append_utf8_lossy(out, v.p + r->start, r->end - r->start);
    r->open = false;
    yb_buf_reset(&r->raw);
    return rc;
}

int mime_header_decode(struct yb_slice v, struct yb_buf *out)
{
    struct run r;
    struct scan_memo memo = { 0, 0, false };
    size_t i = 0, text_start = 0;
    int rc = 0;

    memset(&r, 0, sizeof(r));
    yb_buf_init(&r.raw, v.len + 16);
    for (;;) {
        struct eword w;
        bool found = false;
        for (; i < v.len; i++) {
            if (v.p[i] == '=' && read_eword(v, i, &w, &memo)) {
                found = true;
                break;
            }
        }
        if (!found) {
            if ((rc = flush_run(v, &r, out)) == 0)
                rc = append_utf8_lossy(out, v.p + text_start, v.len - text_start);
            break;
        }
        if (r.open && all_wsp(v, text_start, w.start)) {
            /* RFC 2047 6.2: whitespace between adjacent encoded words is not text. */
            if (!yb_slice_eq_cstr_nocase(yb_slice_cstr(w.charset), r.charset) &&
                (rc = flush_run(v, &r, out)) < 0)
                break;
        } else {
            if ((rc = flush_run(v, &r, out)) < 0 ||
                (rc = append_utf8_lossy(out, v.p + text_start, w.start - text_start)) < 0)
                break;
        }
        if (!r.open) {
            r.open = true;
            memcpy(r.charset, w.charset, sizeof(r.charset));
            r.start = w.start;
        }
        r.end = w.end;
        if ((rc = word_bytes(v, &w, &r.raw)) < 0)
            break;
        i = text_start = w.end;
    }
    yb_buf_free(&r.raw);
    return rc;
}

/* ---- Content-Type and parameters ---- */

static bool is_tspecial(unsigned char c)
{
    return c <= ' ' || c >= 0x7F || strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

void mime_skip_cfws(struct yb_slice v, size_t *i)
{
    int depth = 0;
    while (*i < v.len) {
        unsigned char c = v.p[*i];
        if (depth > 0) {
            if (c == '\\')
                (*i)++;
            else if (c == '(')
                depth++;
            else if (c == ')')
                depth--;
        } else if (c == '(') {
            depth = 1;
        } else if (!is_wsp(c)) {
            return;
        }
        (*i)++;
    }
}

static struct yb_slice read_token(struct yb_slice v, size_t *i)
{
    size_t s = *i;
    while (*i < v.len && !is_tspecial(v.p[*i]))
        (*i)++;
    return yb_slice_make(v.p + s, *i - s);
}

struct raw_param {
    struct yb_slice name;    /* base name */
    int section;             /* -1: none */
    bool ext;                /* value is %-encoded (name* or name*N*) */
    size_t val_off, val_len; /* in tmp */
};

#define RAW_PARAMS_MAX (YB_MIME_LIMIT_PARAMS * 4)

static int add_param(struct mime_ctype *ct, struct yb_slice name, const void *val, size_t len,
                     bool ext)
{
    struct mime_param_ref *p;
    int rc;

    if (ct->nparams >= YB_MIME_LIMIT_PARAMS)
        return 0; /* more are ignored */
    p = &ct->param[ct->nparams];
    p->name_off = ct->text.len;
    p->name_len = name.len;
    if ((rc = yb_buf_append_slice(&ct->text, name)) < 0)
        return rc;
    p->val_off = ct->text.len;
    p->val_len = len;
    p->extended = ext;
    if ((rc = yb_buf_append(&ct->text, val, len)) < 0)
        return rc;
    ct->nparams++;
    return 0;
}

/* Percent-decodes s onto out. */
static int pct_decode(struct yb_slice s, struct yb_buf *out)
{
    int rc;
    for (size_t i = 0; i < s.len; i++) {
        int h, l;
        unsigned char c = s.p[i];
        if (c == '%' && i + 2 < s.len && (h = yb_hex_value(s.p[i + 1])) >= 0 &&
            (l = yb_hex_value(s.p[i + 2])) >= 0) {
            c = (unsigned char)(h * 16 + l);
            i += 2;
        }
        if ((rc = yb_buf_append_byte(out, c)) < 0)
            return rc;
    }
    return 0;
}

/* Merges the RFC 2231 sections of the parameter named by raw[first]. */
static int merge_sections(struct mime_ctype *ct, const struct raw_param *raw, size_t n,
                          size_t first, const struct yb_buf *tmp, bool *used)
{
    struct yb_buf bytes, conv;
    char charset[CHARSET_NAME_MAX] = "";
    bool ext_any = false;
    int rc = 0;

    yb_buf_init(&bytes, YB_MIME_LIMIT_PARAM_VALUE);
    yb_buf_init(&conv, YB_MIME_LIMIT_PARAM_VALUE * 4);
    for (int sec = 0; sec < YB_MIME_LIMIT_PARAM_SECTIONS; sec++) {
        size_t k;
        bool found = false;
        for (k = 0; k < n; k++) {
            if (used[k] || !yb_slice_eq_nocase(raw[k].name, raw[first].name))
                continue;
            if (raw[k].section == sec || (sec == 0 && raw[k].section < 0)) {
                found = true;
                break;
            }
        }
        if (!found)
            break;
        used[k] = true;
        struct yb_slice val = yb_slice_make(tmp->p + raw[k].val_off, raw[k].val_len);
        if (raw[k].ext) {
            ext_any = true;
            if (sec == 0) {
                /* charset'language'value */
                const unsigned char *q1 = memchr(val.p, '\'', val.len), *q2;
                if (q1 != NULL && (q2 = memchr(q1 + 1, '\'', val.len - (size_t)(q1 + 1 - val.p)))) {
                    size_t cl = (size_t)(q1 - val.p);
                    if (cl < sizeof(charset)) {
                        memcpy(charset, val.p, cl);
                        charset[cl] = '\0';
                    }
                    val = yb_slice_make(q2 + 1, val.len - (size_t)(q2 + 1 - val.p));
                }
            }
            rc = pct_decode(val, &bytes);
        } else {
            rc = yb_buf_append_slice(&bytes, val);
        }
        if (rc < 0)
            break;
        if (raw[k].section < 0)
            break; /* a single "name*=" has no further sections */
    }
    if (rc == YB_ELIMIT)
        rc = 0; /* keep the prefix */
    if (rc == 0 && ext_any && charset[0] != '\0') {
        if (convert_to_utf8(charset, bytes.p, bytes.len, &conv, &rc) && rc == 0)
            rc = add_param(ct, raw[first].name, conv.p, conv.len, true);
        else if (rc == 0)
            rc = add_param(ct, raw[first].name, bytes.p, bytes.len, true);
    } else if (rc == 0) {
        rc = add_param(ct, raw[first].name, bytes.p, bytes.len, ext_any);
    }
    yb_buf_free(&bytes);
    yb_buf_free(&conv);
    return rc;
}

int mime_ctype_parse(struct yb_slice v, bool with_subtype, struct mime_ctype *ct)
{
    struct raw_param raw[RAW_PARAMS_MAX];
    bool used[RAW_PARAMS_MAX];
    struct yb_buf tmp;
    size_t i = 0, n = 0;
    int rc = 0;

    memset(ct, 0, sizeof(*ct));
    yb_buf_init(&ct->text, 64 * 1024);
    yb_buf_init(&tmp, 64 * 1024);
    ct->type = ct->subtype = yb_slice_make("", 0);
    mime_skip_cfws(v, &i);
    ct->type = read_token(v, &i);
    mime_skip_cfws(v, &i);
    if (with_subtype && i < v.len && v.p[i] == '/') {
        i++;
        mime_skip_cfws(v, &i);
        ct->subtype = read_token(v, &i);
    }
    while (i < v.len && n < RAW_PARAMS_MAX) {
        struct yb_slice name;
        const unsigned char *star;
        /* to the next ';' */
        while (i < v.len && v.p[i] != ';') {
            if (v.p[i] == '"') { /* a stray quoted string: skip it whole */
                for (i++; i < v.len && v.p[i] != '"'; i++)
                    if (v.p[i] == '\\')
                        i++;
            }
            i++;
        }
        if (i >= v.len)
            break;
        i++;
        mime_skip_cfws(v, &i);
        name = read_token(v, &i);
        mime_skip_cfws(v, &i);
        if (name.len == 0 || i >= v.len || v.p[i] != '=')
            continue;
        i++;
        mime_skip_cfws(v, &i);
        raw[n].val_off = tmp.len;
        if (i < v.len && v.p[i] == '"') {
            for (i++; i < v.len && v.p[i] != '"'; i++) {
                if (v.p[i] == '\\' && i + 1 < v.len)
                    i++;
                if (v.p[i] == '\r' || v.p[i] == '\n')
                    continue;
                if ((rc = yb_buf_append_byte(&tmp, v.p[i])) < 0)
                    goto done;
            }
            if (i < v.len)
                i++;
        } else {
            /* Bare values: to ';' (mailers put spaces in unquoted file names), trimmed. */
            size_t s = i, e;
            while (i < v.len && v.p[i] != ';')
                i++;
            e = i;
            while (e > s && is_wsp(v.p[e - 1]))
                e--;
            if ((rc = yb_buf_append(&tmp, v.p + s, e - s)) < 0)
                goto done;
        }
        raw[n].val_len = tmp.len - raw[n].val_off;
        /* name, name*, name*N, name*N* */
        raw[n].section = -1;
        raw[n].ext = false;
        star = memchr(name.p, '*', name.len);
        if (star != NULL) {
            size_t base = (size_t)(star - name.p), k = base + 1;
            int sec = -1;
            if (k < name.len && name.p[k] >= '0' && name.p[k] <= '9') {
                sec = 0;
                while (k < name.len && name.p[k] >= '0' && name.p[k] <= '9' && sec < 10000)
                    sec = sec * 10 + (name.p[k++] - '0');
                raw[n].ext = k < name.len && name.p[k] == '*'; /* name*N* */
                if (raw[n].ext)
                    k++;
            } else {
                raw[n].ext = true; /* name* */
            }
            if (k != name.len || base == 0)
                continue; /* not a form we know */
            raw[n].section = sec;
            name.len = base;
        }
        raw[n].name = name;
        n++;
    }
    memset(used, 0, sizeof(used));
    for (size_t k = 0; k < n && rc == 0; k++) {
        if (used[k])
            continue;
        if (raw[k].section < 0 && !raw[k].ext) {
            used[k] = true;
            rc = add_param(ct, raw[k].name, tmp.p + raw[k].val_off, raw[k].val_len, false);
        } else if (raw[k].section <= 0) {
            rc = merge_sections(ct, raw, n, k, &tmp, used);
        }
        /* A section > 0 without a section 0 is dropped. */
    }
done:
    yb_buf_free(&tmp);
    if (rc == YB_ELIMIT)
        rc = 0;
    return rc;
}

void mime_ctype_free(struct mime_ctype *ct)
{
    yb_buf_free(&ct->text);
    ct->nparams = 0;
}

struct yb_slice mime_param_name(const struct mime_ctype *ct, size_t i)
{
    return yb_slice_make(ct->text.p + ct->param[i].name_off, ct->param[i].name_len);
}

struct yb_slice mime_param_value(const struct mime_ctype *ct, size_t i)
{
    if (ct->param[i].val_len == 0)
        return yb_slice_make("", 0);
    return yb_slice_make(ct->text.p + ct->param[i].val_off, ct->param[i].val_len);
}

struct yb_slice mime_ctype_param(const struct mime_ctype *ct, const char *name)
{
    for (size_t i = 0; i < ct->nparams; i++) {
        if (yb_slice_eq_cstr_nocase(mime_param_name(ct, i), name))
            return mime_param_value(ct, i);
    }
    return yb_slice_make(NULL, 0);
}
