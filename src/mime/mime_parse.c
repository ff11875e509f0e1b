/*
 * mime_parse.c - the streaming MIME structure parser.
 *
 * One byte at a time, in two states. In a header block, lines are kept
 * (bounded) until the blank line. In a body, a line that starts with '-' is
 * held back (with the line end before it, which belongs to a delimiter) until
 * it either matches "--boundary" of an open multipart or cannot; everything
 * else is body and is passed on at once.
 */
#include "mime_parse.h"
#include "mime_decode.h"
#include "mime_header.h"
#include "pal_err.h"

#include <stdlib.h>
#include <string.h>

static const char *const field_names[MIME_F_COUNT] = {
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-ID",
    "Content-Description",
    "Content-Disposition",
    "Content-Language",
    "Content-Location",
    "Content-MD5",
    "Date",
    "Subject",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "In-Reply-To",
    "Message-ID",
};

void mime_limits_default(struct mime_limits *l)
{
    l->depth = YB_MIME_LIMIT_DEPTH;
    l->parts = YB_MIME_LIMIT_PARTS;
    l->header = YB_MIME_LIMIT_HEADER;
    l->fields = YB_MIME_LIMIT_FIELDS;
}

void mime_part_init(struct mime_part *n, uint32_t parent)
{
    memset(n, 0, sizeof(*n));
    n->parent = parent;
    n->child = n->next = MIME_NONE;
    for (int f = 0; f < MIME_F_COUNT; f++)
        n->f[f].off = MIME_NONE;
    n->bnd_off = MIME_NONE;
}

void mime_tree_link(struct mime_part *parts, uint32_t idx)
{
    struct mime_part *n = &parts[idx], *par;

    if (n->parent == MIME_NONE)
        return;
    par = &parts[n->parent];
    n->depth = (uint16_t)(par->depth + 1);
    if (par->child == MIME_NONE) {
        par->child = idx;
    } else {
        uint32_t c = par->child;
        while (parts[c].next != MIME_NONE)
            c = parts[c].next;
        parts[c].next = idx;
    }
    par->nchildren++;
}

static uint32_t new_part(struct mime_parser *p, uint32_t parent)
{
    struct mime_part *n;
    uint32_t idx;

    if (p->nparts >= p->lim.parts ||
        (parent != MIME_NONE && p->parts[parent].depth + 1u > p->lim.depth)) {
        p->flags |= MIME_MF_LIMITED;
        return MIME_NONE;
    }
    if (p->nparts == p->cap) {
        uint32_t ncap = p->cap ? p->cap * 2 : 4;
        struct mime_part *a;
        if (ncap > p->lim.parts)
            ncap = p->lim.parts;
        a = realloc(p->parts, ncap * sizeof(*a));
        if (a == NULL) {
            p->err = YB_ENOMEM;
            return MIME_NONE;
        }
        p->parts = a;
        p->cap = ncap;
    }
    idx = p->nparts++;
    n = &p->parts[idx];
    mime_part_init(n, parent);
    n->hdr_off = p->pos;
    mime_tree_link(p->parts, idx);
    return idx;
}

void mime_parser_init(struct mime_parser *p, const struct mime_limits *lim,
                      const struct mime_callbacks *cb)
{
    memset(p, 0, sizeof(*p));
    if (lim != NULL)
        p->lim = *lim;
    else
        mime_limits_default(&p->lim);
    if (p->lim.depth > YB_MIME_LIMIT_DEPTH)
        p->lim.depth = YB_MIME_LIMIT_DEPTH;
    if (p->lim.parts < 1)
        p->lim.parts = 1;
    if (cb != NULL)
        p->cb = *cb;
    yb_buf_init(&p->arena, p->lim.fields);
    yb_buf_init(&p->hdr, p->lim.header);
    p->in_header = true;
}

void mime_parser_free(struct mime_parser *p)
{
    free(p->parts);
    p->parts = NULL;
    p->nparts = p->cap = 0;
    yb_buf_free(&p->arena);
    yb_buf_free(&p->hdr);
}

static uint32_t cur(const struct mime_parser *p)
{
    return p->stack[p->sp - 1];
}

/* ---- body output ---- */

static void out_flush(struct mime_parser *p)
{
    if (p->nout == 0)
        return;
    if (p->err == 0 && p->cb.body != NULL && p->sp > 0)
        p->err = p->cb.body(p->cb.ctx, cur(p), yb_slice_make(p->out, p->nout));
    p->nout = 0;
}

/* Body content of the current part (kept only for leaves). */
static void content(struct mime_parser *p, const unsigned char *b, size_t n)
{
    if (p->sp == 0 || p->parts[cur(p)].kind != MIME_LEAF || p->cb.body == NULL)
        return;
    while (n > 0) {
        size_t k = sizeof(p->out) - p->nout;
        if (k > n)
            k = n;
        memcpy(p->out + p->nout, b, k);
        p->nout += k;
        b += k;
        n -= k;
        if (p->nout == sizeof(p->out))
            out_flush(p);
    }
}

/* ---- closing parts ---- */

static void close_top(struct mime_parser *p, uint64_t end, uint64_t end_lfs, bool last_nonempty)
{
    struct mime_part *n = &p->parts[cur(p)];

    out_flush(p);
    if (end > n->body_off) {
        n->body_size = end - n->body_off;
        n->body_lines = end_lfs - n->lfs_start + (last_nonempty ? 1 : 0);
    }
    if (n->kind == MIME_MULTIPART && !(n->flags & MIME_PF_CLOSED))
        n->flags |= MIME_PF_NO_END;
    if (p->err == 0 && p->cb.part_end != NULL)
        p->err = p->cb.part_end(p->cb.ctx, cur(p));
    p->sp--;
}

/* ---- headers ---- */

static int field_index(struct yb_slice name)
{
    for (int f = 0; f < MIME_F_COUNT; f++) {
        if (yb_slice_eq_cstr_nocase(name, field_names[f]))
            return f;
    }
    return -1;
}

static void store_field(struct mime_parser *p, struct mime_part *n, int f, struct yb_slice v)
{
    size_t before = p->arena.len;

    if (n->f[f].off != MIME_NONE)
        return; /* the first occurrence counts */
    if (mime_header_unfold(v, &p->arena) < 0 || p->arena.len > UINT32_MAX) {
        yb_buf_truncate(&p->arena, before);
        p->flags |= MIME_MF_LIMITED;
        return;
    }
    n->f[f].off = (uint32_t)before;
    n->f[f].len = (uint32_t)(p->arena.len - before);
}

/* Splits the kept header block into fields. */
static void header_fields(struct mime_parser *p, uint32_t idx)
{
    const unsigned char *h = p->hdr.p;
    size_t len = p->hdr.len, i = 0;

    while (i < len && p->err == 0) {
        size_t start = i, colon = 0, end;
        /* A field is a line plus the lines that start with WSP. */
        for (;;) {
            const unsigned char *lf = memchr(h + i, '\n', len - i);
            i = lf != NULL ? (size_t)(lf - h) + 1 : len;
            if (i >= len || (h[i] != ' ' && h[i] != '\t'))
                break;
        }
        end = i;
        while (end > start && (h[end - 1] == '\n' || h[end - 1] == '\r'))
            end--;
        while (colon < end - start && h[start + colon] != ':')
            colon++;
        if (colon == end - start || colon == 0)
            continue; /* not a field (a blank line, an mbox "From " line) */
        {
            struct yb_slice name = yb_slice_make(h + start, colon);
            size_t v = start + colon + 1;
            int f;
            while (name.len > 0 && (name.p[name.len - 1] == ' ' || name.p[name.len - 1] == '\t'))
                name.len--;
            while (v < end && (h[v] == ' ' || h[v] == '\t'))
                v++;
            struct yb_slice value = yb_slice_make(h + v, end - v);
            if (p->cb.header != NULL)
                p->err = p->cb.header(p->cb.ctx, idx, name, value);
            if ((f = field_index(name)) >= 0)
                store_field(p, &p->parts[idx], f, value);
        }
    }
}

/*
 * The header block of the current part ended at body_start; decide what the
 * body is.
 */
static void header_end(struct mime_parser *p, uint64_t body_start, bool blank)
{
    uint32_t idx = cur(p);
    struct mime_part *n = &p->parts[idx];
    struct mime_ctype ct;
    struct yb_slice v;
    bool digest_child;

    n->hdr_size = body_start - n->hdr_off;
    n->body_off = body_start;
    n->lfs_start = p->lfs;
    if (!blank)
        n->flags |= MIME_PF_NO_BLANK;
    header_fields(p, idx);
    n = &p->parts[idx];
    yb_buf_free(&p->hdr);
    p->hdr_line_start = 0;
    p->in_header = false;
    p->at_ls = true;
    p->nhold = 0;
    p->eol = 0;
    p->cand = p->held_cr = p->tail = false;

    v = mime_part_field(p, n, MIME_F_CTE);
    n->cte = (uint8_t)(v.p != NULL ? mime_cte_from_name(v.p, v.len) : MIME_CTE_7BIT);
    digest_child = n->parent != MIME_NONE && (p->parts[n->parent].flags & MIME_PF_DIGEST);
    v = mime_part_field(p, n, MIME_F_CONTENT_TYPE);
    if (v.p == NULL && digest_child) {
        v = YB_SLICE_LIT("message/rfc822");
    }
    if (v.p != NULL && mime_ctype_parse(v, true, &ct) == 0) {
        struct yb_slice b = mime_ctype_param(&ct, "boundary");
        if (yb_slice_eq_cstr_nocase(ct.type, "multipart") && b.p != NULL && b.len > 0 &&
            b.len <= YB_MIME_LIMIT_BOUNDARY) {
            size_t before = p->arena.len;
            if (yb_buf_append_slice(&p->arena, b) == 0) {
                n->kind = MIME_MULTIPART;
                n->bnd_off = (uint32_t)before;
                n->bnd_len = (uint32_t)b.len;
                if (yb_slice_eq_cstr_nocase(ct.subtype, "digest"))
                    n->flags |= MIME_PF_DIGEST;
            } else {
                p->flags |= MIME_MF_LIMITED;
            }
        } else if (yb_slice_eq_cstr_nocase(ct.type, "message") &&
                   (yb_slice_eq_cstr_nocase(ct.subtype, "rfc822") ||
                    yb_slice_eq_cstr_nocase(ct.subtype, "global")) &&
                   n->cte == MIME_CTE_7BIT) {
            n->kind = MIME_MESSAGE;
        }
        mime_ctype_free(&ct);
    }
    if (p->err == 0 && p->cb.part_start != NULL)
        p->err = p->cb.part_start(p->cb.ctx, idx);
    if (n->kind == MIME_MESSAGE) {
        uint32_t child = new_part(p, idx);
        if (child == MIME_NONE) {
            p->parts[idx].kind = MIME_LEAF; /* too deep: its body stays one leaf */
            return;
        }
        p->parts[child].hdr_off = body_start;
        p->stack[p->sp++] = child;
        p->in_header = true;
    }
}

/* ---- boundaries ---- */

/*
 * Does line (the held candidate) start with "--boundary" of an open
 * multipart? Returns the stack index of the innermost match, -1 for none
 * (and *partial tells whether a longer line could still match).
 */
static int match_boundary(const struct mime_parser *p, const unsigned char *line, size_t n,
                          bool *partial)
{
    *partial = false;
    for (unsigned s = p->sp; s-- > 0;) {
        const struct mime_part *m = &p->parts[p->stack[s]];
        const unsigned char *b;
        size_t bl, k;
        if (m->kind != MIME_MULTIPART || (m->flags & MIME_PF_CLOSED))
            continue;
        b = p->arena.p + m->bnd_off;
        bl = m->bnd_len;
        k = n < bl + 2 ? n : bl + 2;
        if (k >= 1 && line[0] != '-')
            continue;
        if (k >= 2 && line[1] != '-')
            continue;
        if (k > 2 && memcmp(line + 2, b, k - 2) != 0)
            continue;
        if (n >= bl + 2)
            return (int)s;
        *partial = true;
    }
    return -1;
}

/*
 * A delimiter of the multipart at stack index s: close what is above it,
 * then open the next part or, for the closing delimiter, move to its
 * epilogue.
 */
static void boundary(struct mime_parser *p, unsigned s, bool closing, uint64_t end,
                     uint64_t end_lfs, bool last_nonempty)
{
    uint32_t m;

    while (p->sp > s + 1)
        close_top(p, end, end_lfs, last_nonempty);
    m = cur(p);
    p->in_header = false;
    p->at_ls = true;
    p->nhold = 0;
    p->eol = 0;
    p->cand = p->held_cr = p->tail = false;
    if (closing) {
        p->parts[m].flags |= MIME_PF_CLOSED;
        return;
    }
    uint32_t child = new_part(p, m);
    if (child == MIME_NONE)
        return; /* past the part limit: the rest is the multipart's own body */
    p->stack[p->sp++] = child;
    p->in_header = true;
    yb_buf_reset(&p->hdr);
    p->hdr_line_start = 0;
}

/* ---- the byte machine ---- */

static void header_byte(struct mime_parser *p, unsigned char c)
{
    if (yb_buf_append_byte(&p->hdr, c) < 0)
        p->parts[cur(p)].flags |= MIME_PF_HDR_TRUNC;
    if (c != '\n')
        return;
    {
        /* A whole line is in: blank (end of header) or a delimiter (a broken part)? */
        size_t ls = p->hdr_line_start;
        size_t ll = p->hdr.len > ls ? p->hdr.len - ls : 0;
        const unsigned char *line = p->hdr.p + ls;
        bool partial;
        int s;
        uint64_t line_pos = p->pos - (p->cur_line_len + 1);

        if (p->parts[cur(p)].flags & MIME_PF_HDR_TRUNC) {
            /* The line was not kept: only a blank line can be recognised. */
            if (p->cur_line_len == 0 || (p->cur_line_len == 1 && p->last_cr))
                header_end(p, p->pos, true);
            return;
        }
        if (ll <= 2 && (ll == 1 || line[0] == '\r')) {
            header_end(p, p->pos, true);
            return;
        }
        while (ll > 0 && (line[ll - 1] == '\n' || line[ll - 1] == '\r'))
            ll--;
        if (ll >= 2 && line[0] == '-' && (s = match_boundary(p, line, ll, &partial)) >= 0) {
            bool closing = ll >= p->parts[p->stack[s]].bnd_len + 4 &&
                           line[p->parts[p->stack[s]].bnd_len + 2] == '-' &&
                           line[p->parts[p->stack[s]].bnd_len + 3] == '-';
            yb_buf_truncate(&p->hdr, ls);
            /* A message/rfc822 whose header is cut here has nothing inside either. */
            while (p->in_header && p->err == 0)
                header_end(p, line_pos, false);
            boundary(p, (unsigned)s, closing, line_pos, p->lfs - 1, false);
            return;
        }
        p->hdr_line_start = p->hdr.len;
    }
}

/*
 * The candidate line grew by c: drop the boundaries it no longer matches
 * (one byte compared per open boundary, however long they are). Returns the
 * stack index of the innermost boundary now matched whole, or -1; *partial
 * says whether some boundary may still match.
 */
_Static_assert(YB_MIME_LIMIT_DEPTH + 2 <= 64, "cand_alive has one bit per stack slot");

static int cand_step(struct mime_parser *p, unsigned char c, bool *partial)
{
    size_t k = p->nhold - p->eol; /* candidate length; c is at k - 1 */
    int found = -1;

    for (unsigned s = 0; s < p->sp; s++) {
        const struct mime_part *m;
        unsigned char want;
        if (!(p->cand_alive & (UINT64_C(1) << s)))
            continue;
        m = &p->parts[p->stack[s]];
        want = k <= 2 ? '-' : p->arena.p[m->bnd_off + k - 3];
        if (c != want) {
            p->cand_alive &= ~(UINT64_C(1) << s);
            continue;
        }
        if (k == m->bnd_len + 2u)
            found = (int)s; /* the innermost wins: s grows inward */
    }
    *partial = p->cand_alive != 0;
    return found;
}

static void body_byte(struct mime_parser *p, unsigned char c)
{
    if (p->tail) {
        if (c != '\n') {
            if (p->tail_k < 2)
                p->tail_b[p->tail_k] = c;
            if (p->tail_k < 2)
                p->tail_k++;
            return;
        }
        bool closing = p->tail_k == 2 && p->tail_b[0] == '-' && p->tail_b[1] == '-';
        unsigned s = 0;
        while (s < p->sp && p->stack[s] != p->tail_node)
            s++;
        boundary(p, s, closing, p->cand_pos - p->eol, p->cand_lfs - (p->eol ? 1 : 0),
                 p->cand_prev_nonempty);
        return;
    }
    if (p->cand) {
        bool partial;
        int s;
        if (c == '\n') {
            /* A short line starting with '-': body. Its CR, if any, begins the new line end. */
            bool cr = p->hold[p->nhold - 1] == '\r';
            content(p, p->hold, p->nhold - (cr ? 1 : 0));
            p->hold[0] = '\r';
            p->hold[cr ? 1 : 0] = '\n';
            p->nhold = p->eol = cr ? 2 : 1;
            p->cand = false;
            p->at_ls = true;
            return;
        }
        p->hold[p->nhold++] = c;
        s = cand_step(p, c, &partial);
        if (s >= 0) {
            p->tail = true;
            p->tail_node = p->stack[s];
            p->tail_k = 0;
            p->cand = false;
            return;
        }
        if (!partial || p->nhold == sizeof(p->hold)) {
            bool cr = c == '\r';
            content(p, p->hold, p->nhold - (cr ? 1 : 0));
            p->nhold = p->eol = 0;
            p->cand = false;
            p->at_ls = false;
            p->held_cr = cr;
        }
        return;
    }
    if (p->at_ls) {
        if (c == '-' && p->sp > 0) {
            uint64_t alive = 0;
            for (unsigned s = 0; s < p->sp; s++) {
                const struct mime_part *m = &p->parts[p->stack[s]];
                if (m->kind == MIME_MULTIPART && !(m->flags & MIME_PF_CLOSED))
                    alive |= UINT64_C(1) << s;
            }
            if (alive != 0) {
                p->cand_alive = alive;
                p->cand = true;
                p->cand_pos = p->pos - 1;
                p->cand_lfs = p->lfs;
                p->cand_prev_nonempty = p->prev_nonempty;
                p->hold[p->nhold++] = c;
                return;
            }
        }
        content(p, p->hold, p->nhold);
        p->nhold = p->eol = 0;
        p->at_ls = false;
    }
    if (p->held_cr) {
        p->held_cr = false;
        if (c == '\n') {
            p->hold[0] = '\r';
            p->hold[1] = '\n';
            p->nhold = p->eol = 2;
            p->at_ls = true;
            return;
        }
        content(p, (const unsigned char *)"\r", 1);
    }
    if (c == '\r') {
        p->held_cr = true;
    } else if (c == '\n') {
        p->hold[0] = '\n';
        p->nhold = p->eol = 1;
        p->at_ls = true;
    } else {
        content(p, &c, 1);
    }
}

int mime_parser_feed(struct mime_parser *p, const void *data, size_t len)
{
    const unsigned char *d = data;

    if (p->finished)
        return YB_EINVAL;
    if (p->nparts == 0) {
        uint32_t root = new_part(p, MIME_NONE);
        if (root == MIME_NONE)
            return p->err ? p->err : YB_ENOMEM;
        p->stack[0] = root;
        p->sp = 1;
    }
    for (size_t i = 0; i < len && p->err == 0; i++) {
        unsigned char c = d[i];
        p->pos++;
        if (c == '\n') {
            p->lfs++;
            p->prev_nonempty = p->cur_line_len - (p->last_cr ? 1 : 0) > 0;
        }
        if (p->in_header)
            header_byte(p, c);
        else
            body_byte(p, c);
        if (c == '\n') {
            p->cur_line_len = 0;
            p->line_start_pos = p->pos;
            p->line_start_lfs = p->lfs;
        } else {
            p->cur_line_len++;
        }
        p->last_cr = c == '\r';
    }
    out_flush(p);
    return p->err;
}

int mime_parser_finish(struct mime_parser *p)
{
    int rc;

    if (p->finished)
        return p->err;
    if (p->nparts == 0 && (rc = mime_parser_feed(p, "", 0)) < 0)
        return rc;
    p->finished = true;
    if (p->err != 0)
        return p->err;
    if (!p->in_header && p->tail)
        body_byte(p, '\n'); /* the last line is a delimiter without a line end */
    if (p->in_header) {
        /* A header without its blank line (or an empty message/rfc822) at the very end. */
        while (p->in_header && p->err == 0)
            header_end(p, p->pos, false);
    } else {
        content(p, p->hold, p->nhold);
        if (p->held_cr)
            content(p, (const unsigned char *)"\r", 1);
        p->nhold = 0;
        p->held_cr = false;
        p->cand = false;
    }
    while (p->sp > 0)
        close_top(p, p->pos, p->lfs, p->cur_line_len > 0);
    yb_buf_free(&p->hdr);
    return p->err;
}

const struct mime_part *mime_part_at(const struct mime_parser *p, uint32_t i)
{
    return i < p->nparts ? &p->parts[i] : NULL;
}

struct yb_slice mime_part_field(const struct mime_parser *p, const struct mime_part *n,
                                enum mime_field f)
{
    if (n->f[f].off == MIME_NONE)
        return yb_slice_make(NULL, 0);
    if (n->f[f].len == 0)
        return yb_slice_make("", 0);
    return yb_slice_make(p->arena.p + n->f[f].off, n->f[f].len);
}

static uint32_t nth_child(const struct mime_part *parts, uint32_t at, uint32_t k)
{
    uint32_t c = parts[at].child;
    while (c != MIME_NONE && --k > 0)
        c = parts[c].next;
    return c;
}

uint32_t mime_part_find(const struct mime_parser *p, const uint32_t *nums, size_t n)
{
    return mime_tree_find(p->parts, p->nparts, nums, n);
}

uint32_t mime_tree_find(const struct mime_part *parts, uint32_t nparts, const uint32_t *nums,
                        size_t n)
{
    uint32_t at = 0;

    if (nparts == 0)
        return MIME_NONE;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = nums[i];
        const struct mime_part *node = &parts[at];
        if (k == 0)
            return MIME_NONE;
        if (node->kind == MIME_MULTIPART) {
            at = nth_child(parts, at, k);
        } else if (at == 0 && i == 0) {
            /* A message that is not multipart has one part, "1": its body. */
            if (k != 1)
                return MIME_NONE;
        } else if (node->kind == MIME_MESSAGE && node->child != MIME_NONE) {
            /* A message/rfc822 part's numbers go on into the message it holds. */
            uint32_t e = node->child;
            if (parts[e].kind == MIME_MULTIPART)
                at = nth_child(parts, e, k);
            else if (k == 1)
                at = e;
            else
                return MIME_NONE;
        } else {
            return MIME_NONE;
        }
        if (at == MIME_NONE)
            return MIME_NONE;
    }
    return at;
}
