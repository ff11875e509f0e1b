/*
 * yb_tab.c - the tab-file parser, loader and writer.
 */
#include "yb_tab.h"
#include "pal.h"
#include "yb_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    S_LINE_START,  /* nothing yet on this line */
    S_COMMENT,     /* skipping a '#' line */
    S_FIELD_START, /* after a TAB */
    S_BARE,
    S_QUOTED,
    S_QESC,        /* after '\' inside quotes */
    S_AFTER_QUOTE, /* after the closing quote: TAB or line end must follow */
    S_CR,          /* after CR: LF must follow */
    S_ERROR
};

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

int yb_tab_error_set(struct yb_tab_error *err, int code, unsigned line, unsigned column,
                     const char *fmt, ...)
{
    err->code = code;
    err->line = line;
    err->column = column;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        err->msg[0] = '\0'; /* truncation of a message is harmless */
    return code;
}

void yb_tab_error_format(const struct yb_tab_error *err, const char *file, char *buf, size_t size)
{
    int n = err->line > 0
                ? snprintf(buf, size, "%s:%u:%u: %s", file, err->line, err->column, err->msg)
                : snprintf(buf, size, "%s: %s", file, err->msg);
    if (n < 0 && size > 0)
        buf[0] = '\0';
}

void yb_tab_parser_init(struct yb_tab_parser *p, yb_tab_record_fn fn, void *arg)
{
    memset(p, 0, sizeof(*p));
    p->state = S_LINE_START;
    p->line = 1;
    p->column = 1;
    p->utf8_lo = 0x80;
    p->utf8_hi = 0xBF;
    yb_buf_init(&p->bytes, YB_LIMIT_TAB_LINE + YB_LIMIT_TAB_FIELDS + 1);
    p->fn = fn;
    p->arg = arg;
}

void yb_tab_parser_free(struct yb_tab_parser *p)
{
    yb_buf_free(&p->bytes);
}

static int fail(struct yb_tab_parser *p, int code, const char *msg)
{
    p->state = S_ERROR;
    return yb_tab_error_set(&p->err, code, p->line, p->column, "%s", msg);
}

/* A CR moved the column on; its error points back at the CR itself. */
static int fail_bare_cr(struct yb_tab_parser *p)
{
    p->column--;
    return fail(p, YB_EPARSE, "CR not followed by LF");
}

/* Incremental RFC 3629 check of one byte of field content. */
static int utf8_step(struct yb_tab_parser *p, unsigned char c)
{
    if (p->utf8_need > 0) {
        if (c < p->utf8_lo || c > p->utf8_hi)
            return fail(p, YB_EUTF8, "invalid UTF-8 sequence");
        p->utf8_need--;
        p->utf8_lo = 0x80;
        p->utf8_hi = 0xBF;
        return 0;
    }
    if (c < 0x80)
        return 0;
    if (c >= 0xC2 && c <= 0xDF) {
        p->utf8_need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        p->utf8_need = 2;
        if (c == 0xE0)
            p->utf8_lo = 0xA0;
        else if (c == 0xED)
            p->utf8_hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        p->utf8_need = 3;
        if (c == 0xF0)
            p->utf8_lo = 0x90;
        else if (c == 0xF4)
            p->utf8_hi = 0x8F;
    } else {
        return fail(p, YB_EUTF8, "invalid UTF-8 sequence");
    }
    return 0;
}

static int begin_field(struct yb_tab_parser *p)
{
    if (p->nfields >= YB_LIMIT_TAB_FIELDS) {
        p->state = S_ERROR;
        return yb_tab_error_set(&p->err, YB_ELIMIT, p->line, p->column,
                                "too many fields in record (limit %u)", YB_LIMIT_TAB_FIELDS);
    }
    p->field_off[p->nfields] = p->bytes.len;
    p->field_col[p->nfields] = p->column;
    p->field_quoted = 0;
    return 0;
}

static int end_field(struct yb_tab_parser *p)
{
    if (yb_buf_append_byte(&p->bytes, 0) != 0)
        return fail(p, YB_ELIMIT, "record too long");
    p->nfields++;
    p->field_off[p->nfields] = p->bytes.len;
    return 0;
}

static int add_byte(struct yb_tab_parser *p, unsigned char c)
{
    if (yb_buf_append_byte(&p->bytes, c) != 0)
        return fail(p, YB_ELIMIT, "record too long");
    return 0;
}

/* A record that is one unquoted field of spaces is a blank line. */
static int is_blank_record(const struct yb_tab_parser *p)
{
    if (p->nfields != 1 || p->field_quoted)
        return 0;
    for (size_t i = p->field_off[0]; i + 1 < p->field_off[1]; i++) {
        if (p->bytes.p[i] != ' ')
            return 0;
    }
    return 1;
}

static int end_line(struct yb_tab_parser *p)
{
    int rc = 0;
    if (p->nfields > 0 && !is_blank_record(p)) {
        struct yb_tab_record rec;
        rec.line = p->line;
        rec.nfields = p->nfields;
        for (size_t i = 0; i < p->nfields; i++) {
            rec.field[i].p = p->bytes.p + p->field_off[i];
            rec.field[i].len = p->field_off[i + 1] - p->field_off[i] - 1;
            rec.column[i] = p->field_col[i];
        }
        rc = p->fn(p->arg, &rec, &p->err);
        if (rc != 0) {
            if (p->err.code == 0)
                yb_tab_error_set(&p->err, rc, p->line, 1, "record refused");
            p->state = S_ERROR;
            return p->err.code;
        }
    }
    yb_buf_reset(&p->bytes);
    p->nfields = 0;
    p->line++;
    p->column = 1;
    p->line_bytes = 0;
    p->state = S_LINE_START;
    return rc;
}

static int step(struct yb_tab_parser *p, unsigned char c);

/* Matches a byte order mark at the very start; replays a partial match. */
static int bom_step(struct yb_tab_parser *p, unsigned char c, int *done_r)
{
    *done_r = 1;
    if (c == utf8_bom[p->bom_seen]) {
        p->bom_seen++;
        return 0;
    }
    unsigned n = p->bom_seen;
    p->bom_seen = 3;
    for (unsigned i = 0; i < n; i++) {
        int rc = step(p, utf8_bom[i]);
        if (rc != 0)
            return rc;
    }
    *done_r = 0;
    return 0;
}

/* Handles a byte that starts a field (at line start or after a TAB). */
static int field_first_byte(struct yb_tab_parser *p, unsigned char c)
{
    int rc = begin_field(p);
    if (rc != 0)
        return rc;
    if (c == '"') {
        p->field_quoted = 1;
        p->state = S_QUOTED;
        return 0;
    }
    if (c == '\t') {
        /* An empty bare field. */
        rc = end_field(p);
        p->state = S_FIELD_START;
        return rc;
    }
    if (c == '\n' || c == '\r') {
        rc = end_field(p);
        if (rc != 0)
            return rc;
        if (c == '\n')
            return end_line(p);
        p->state = S_CR;
        return 0;
    }
    if (c < 0x20 || c == 0x7F)
        return fail(p, YB_EPARSE, "control character in field");
    p->state = S_BARE;
    return add_byte(p, c);
}

/* Ends the current field at a TAB, CR or LF. */
static int field_end_byte(struct yb_tab_parser *p, unsigned char c)
{
    int rc = end_field(p);
    if (rc != 0)
        return rc;
    if (c == '\t') {
        p->state = S_FIELD_START;
        return 0;
    }
    if (c == '\n')
        return end_line(p);
    p->state = S_CR;
    return 0;
}

static int step(struct yb_tab_parser *p, unsigned char c)
{
    int rc;
    if (p->state == S_ERROR)
        return p->err.code;
    if (p->bom_seen < 3 && p->line == 1 && p->line_bytes == 0 && p->state == S_LINE_START) {
        int done;
        rc = bom_step(p, c, &done);
        if (rc != 0 || done)
            return rc;
    }
    if (p->state == S_COMMENT) {
        /* Comments are not data: anything goes until the line ends. */
        if (c == '\n')
            return end_line(p);
        p->column++;
        return 0;
    }
    rc = 0;
    if (p->state == S_CR) {
        if (c != '\n')
            return fail_bare_cr(p);
        return end_line(p);
    }
    if (c != '\r' && c != '\n' && ++p->line_bytes > YB_LIMIT_TAB_LINE) {
        p->state = S_ERROR;
        return yb_tab_error_set(&p->err, YB_ELIMIT, p->line, p->column,
                                "line too long (limit %u bytes)", YB_LIMIT_TAB_LINE);
    }
    if ((rc = utf8_step(p, c)) != 0)
        return rc;
    if (c == 0)
        return fail(p, YB_EPARSE, "NUL byte");

    switch (p->state) {
    case S_LINE_START:
        if (c == '#')
            p->state = S_COMMENT;
        else if (c == '\n')
            rc = end_line(p);
        else if (c == '\r')
            p->state = S_CR;
        else
            rc = field_first_byte(p, c);
        break;
    case S_FIELD_START: rc = field_first_byte(p, c); break;
    case S_BARE:
        if (c == '\t' || c == '\n' || c == '\r')
            rc = field_end_byte(p, c);
        else if (c == '"')
            rc = fail(p, YB_EPARSE, "quote inside an unquoted field");
        else if (c < 0x20 || c == 0x7F)
            rc = fail(p, YB_EPARSE, "control character in field");
        else
            rc = add_byte(p, c);
        break;
    case S_QUOTED:
        if (c == '"')
            p->state = S_AFTER_QUOTE;
        else if (c == '\\')
            p->state = S_QESC;
        else if (c == '\n' || c == '\r')
            rc = fail(p, YB_EPARSE, "line ends inside a quoted field");
        else if (c < 0x20 || c == 0x7F)
            rc = fail(p, YB_EPARSE, "control character in field");
        else
            rc = add_byte(p, c);
        break;
    case S_QESC:
        if (c == '\n' || c == '\r') {
            rc = fail(p, YB_EPARSE, "line ends inside a quoted field");
        } else if (c < 0x20 || c == 0x7F) {
            rc = fail(p, YB_EPARSE, "control character in field");
        } else {
            p->state = S_QUOTED;
            /* \" and \\ are escapes; any other backslash is kept (XMail paths). */
            if (c != '"' && c != '\\')
                rc = add_byte(p, '\\');
            if (rc == 0)
                rc = add_byte(p, c);
        }
        break;
    case S_AFTER_QUOTE:
        if (c == '\t' || c == '\n' || c == '\r')
            rc = field_end_byte(p, c);
        else
            rc = fail(p, YB_EPARSE, "expected TAB or end of line after closing quote");
        break;
    default: rc = fail(p, YB_EPARSE, "internal parser state"); break;
    }
    /* LF ended the line and reset the column; every other byte moves it on. */
    if (rc == 0 && c != '\n')
        p->column++;
    return rc;
}

int yb_tab_parser_feed(struct yb_tab_parser *p, const void *data, size_t len)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < len; i++) {
        int rc = step(p, b[i]);
        if (rc != 0)
            return rc;
    }
    return p->state == S_ERROR ? p->err.code : 0;
}

int yb_tab_parser_finish(struct yb_tab_parser *p)
{
    if (p->state == S_ERROR)
        return p->err.code;
    if (p->bom_seen > 0 && p->bom_seen < 3) {
        /* A file that is only part of a BOM: replay it as data. */
        unsigned n = p->bom_seen;
        p->bom_seen = 3;
        for (unsigned i = 0; i < n; i++) {
            int rc = step(p, utf8_bom[i]);
            if (rc != 0)
                return rc;
        }
    }
    switch (p->state) {
    case S_LINE_START:
    case S_COMMENT: return 0;
    case S_CR: return fail_bare_cr(p);
    case S_QUOTED:
    case S_QESC: return fail(p, YB_EPARSE, "unterminated quoted field");
    default: break;
    }
    if (p->utf8_need > 0)
        return fail(p, YB_EUTF8, "truncated UTF-8 sequence");
    if (p->state == S_FIELD_START) {
        int rc = begin_field(p);
        if (rc != 0)
            return rc;
    }
    int rc = end_field(p);
    if (rc != 0)
        return rc;
    return end_line(p);
}

/* ---- whole tables ---- */

struct tab_builder {
    struct yb_buf arena; /* field bytes, NUL-terminated */
    struct yb_buf recs;  /* struct rec_stage entries */
    struct yb_buf meta;  /* per field: offset, length, column */
};

struct rec_stage {
    unsigned line, nfields;
    size_t meta_off;
};

struct field_meta {
    size_t off;
    uint32_t len;
    unsigned column;
};

static int collect_record(void *arg, const struct yb_tab_record *rec, struct yb_tab_error *err)
{
    struct tab_builder *b = arg;
    struct rec_stage rs = {rec->line, (unsigned)rec->nfields, b->meta.len};
    for (size_t i = 0; i < rec->nfields; i++) {
        struct field_meta fm = {b->arena.len, (uint32_t)rec->field[i].len, rec->column[i]};
        if (yb_buf_append_slice(&b->arena, rec->field[i]) != 0 ||
            yb_buf_append_byte(&b->arena, 0) != 0 || yb_buf_append(&b->meta, &fm, sizeof(fm)) != 0)
            return yb_tab_error_set(err, YB_ENOMEM, rec->line, 1, "out of memory");
    }
    if (yb_buf_append(&b->recs, &rs, sizeof(rs)) != 0)
        return yb_tab_error_set(err, YB_ENOMEM, rec->line, 1, "out of memory");
    return 0;
}

/* Turns the staged records into one allocation of pointers over the arena. */
static int build_table(struct tab_builder *b, struct yb_tab **tab_r)
{
    size_t nrec = b->recs.len / sizeof(struct rec_stage);
    size_t nfield = b->meta.len / sizeof(struct field_meta);
    struct yb_tab *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return YB_ENOMEM;
    size_t bytes = nrec * sizeof(struct yb_tab_rec) +
                   nfield * (sizeof(char *) + sizeof(uint32_t) + sizeof(unsigned));
    unsigned char *mem = malloc(bytes ? bytes : 1);
    if (mem == NULL) {
        free(t);
        return YB_ENOMEM;
    }
    t->rec = (struct yb_tab_rec *)(void *)mem;
    const char **fptr = (const char **)(void *)(mem + nrec * sizeof(struct yb_tab_rec));
    uint32_t *flen = (uint32_t *)(void *)(fptr + nfield);
    unsigned *fcol = (unsigned *)(void *)(flen + nfield);
    t->arena_len = b->arena.len;
    t->arena = (char *)yb_buf_steal(&b->arena, NULL);
    const struct rec_stage *rs = (const void *)b->recs.p;
    const struct field_meta *fm = (const void *)b->meta.p;
    size_t fi = 0;
    for (size_t r = 0; r < nrec; r++) {
        t->rec[r].line = rs[r].line;
        t->rec[r].nfields = rs[r].nfields;
        t->rec[r].field = fptr + fi;
        t->rec[r].len = flen + fi;
        t->rec[r].column = fcol + fi;
        for (unsigned k = 0; k < rs[r].nfields; k++, fi++) {
            fptr[fi] = t->arena + fm[fi].off;
            flen[fi] = fm[fi].len;
            fcol[fi] = fm[fi].column;
        }
    }
    t->nrec = nrec;
    *tab_r = t;
    return 0;
}

int yb_tab_parse(const void *data, size_t len, struct yb_tab **tab_r, struct yb_tab_error *err_r)
{
    struct tab_builder b;
    struct yb_tab_parser p;
    yb_buf_init(&b.arena, YB_LIMIT_TAB_FILE + 1);
    yb_buf_init(&b.recs, SIZE_MAX / 2);
    yb_buf_init(&b.meta, SIZE_MAX / 2);
    yb_tab_parser_init(&p, collect_record, &b);
    memset(err_r, 0, sizeof(*err_r));
    *tab_r = NULL;
    int rc = yb_tab_parser_feed(&p, data, len);
    if (rc == 0)
        rc = yb_tab_parser_finish(&p);
    if (rc != 0)
        *err_r = p.err;
    else if ((rc = build_table(&b, tab_r)) != 0)
        yb_tab_error_set(err_r, rc, 0, 0, "out of memory");
    yb_tab_parser_free(&p);
    yb_buf_free(&b.arena);
    yb_buf_free(&b.recs);
    yb_buf_free(&b.meta);
    return rc;
}

int yb_tab_load(const char *path, struct yb_tab **tab_r, struct yb_tab_error *err_r)
{
    char *data = NULL;
    size_t len = 0;
    memset(err_r, 0, sizeof(*err_r));
    *tab_r = NULL;
    int rc = pal_file_read_all(path, YB_LIMIT_TAB_FILE, &data, &len);
    if (rc != 0) {
        if (rc == YB_ELIMIT)
            return yb_tab_error_set(err_r, rc, 0, 0, "file larger than the limit of %u bytes",
                                    (unsigned)YB_LIMIT_TAB_FILE);
        return yb_tab_error_set(err_r, rc, 0, 0, "cannot read: %s", yb_strerror(rc));
    }
    rc = yb_tab_parse(data, len, tab_r, err_r);
    free(data);
    return rc;
}

void yb_tab_free(struct yb_tab **tab)
{
    if (*tab == NULL)
        return;
    free((*tab)->arena);
    free((*tab)->rec);
    free(*tab);
    *tab = NULL;
}

int yb_tab_format_record(struct yb_buf *out, const struct yb_slice *fields, size_t n)
{
    if (n == 0 || n > YB_LIMIT_TAB_FIELDS)
        return YB_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!yb_utf8_valid(fields[i].p, fields[i].len, NULL))
            return YB_EINVAL;
        for (size_t k = 0; k < fields[i].len; k++) {
            unsigned char c = fields[i].p[k];
            if (c < 0x20 || c == 0x7F)
                return YB_EINVAL;
        }
    }
    return yb_buf_append_quoted(out, fields, n, "\n");
}
