/*
 * imap_parse.c - the IMAP command parser (see imap_parse.h for the contract).
 *
 * A command is parsed a line at a time; between lines only a small state
 * survives (the open lists and whether a separator is due), which is what
 * makes the parser resumable at every literal. Values are copied into one
 * bounded buffer and referred to by offset, so growing that buffer never
 * invalidates an argument.
 */
#include "imap_parse.h"
#include "pal_err.h"
#include "yb_utf8.h"

#include <stdlib.h>
#include <string.h>

/* Storage kept across commands; more is freed by reset (idle sessions stay small). */
#define KEEP_DATA 4096
#define KEEP_ARGS 64

void imap_limits_default(struct imap_limits *l)
{
    l->line = YB_IMAP_LIMIT_LINE;
    l->command = YB_IMAP_LIMIT_COMMAND;
    l->literal_mem = YB_IMAP_LIMIT_LITERAL_MEM;
    l->literal = YB_IMAP_LIMIT_LITERAL;
    l->literal_nonsync = YB_IMAP_LIMIT_LITERAL_NONSYNC;
    l->depth = YB_IMAP_LIMIT_DEPTH;
    l->args = YB_IMAP_LIMIT_ARGS;
}

static void start_command(struct imap_parser *p)
{
    p->stage = IMAP_STAGE_START;
    p->nargs = 0;
    p->depth = 0;
    p->need_sep = false;
    p->tag_off = p->tag_len = p->name_off = p->name_len = 0;
    memset(&p->lit, 0, sizeof(p->lit));
    p->lit_left = 0;
    p->sink.write = NULL;
    p->sink.ctx = NULL;
    p->lit_nul = false;
    p->err_text = NULL;
    p->stack[0] = 0;
    p->tail[0] = 0;
}

void imap_parser_init(struct imap_parser *p, const struct imap_limits *lim)
{
    memset(p, 0, sizeof(*p));
    if (lim != NULL)
        p->lim = *lim;
    else
        imap_limits_default(&p->lim);
    if (p->lim.depth > YB_IMAP_LIMIT_DEPTH)
        p->lim.depth = YB_IMAP_LIMIT_DEPTH;
    yb_buf_init(&p->data, p->lim.command);
    yb_buf_init(&p->line, p->lim.line + 1); /* + a CR not yet known to end the line */
    start_command(p);
}

void imap_parser_free(struct imap_parser *p)
{
    yb_buf_free(&p->data);
    yb_buf_free(&p->line);
    free(p->args);
    p->args = NULL;
    p->args_cap = 0;
    start_command(p);
}

void imap_parser_reset(struct imap_parser *p)
{
    if (p->data.cap > KEEP_DATA)
        yb_buf_free(&p->data);
    else
        yb_buf_reset(&p->data);
    if (p->args_cap > KEEP_ARGS) {
        free(p->args);
        p->args = NULL;
        p->args_cap = 0;
    }
    start_command(p);
}

/* ---- errors ---- */

/* The size of a "{n+}" or "~{n+}" that ends line, or 0. */
static uint64_t trailing_nonsync(struct yb_slice line)
{
    size_t i = line.len, open;
    uint64_t v = 0;

    if (i < 4 || line.p[i - 1] != '}' || line.p[i - 2] != '+')
        return 0;
    i -= 2;
    while (i > 0 && line.p[i - 1] >= '0' && line.p[i - 1] <= '9')
        i--;
    if (i == 0 || i == line.len - 2 || line.p[i - 1] != '{')
        return 0;
    for (open = i; open < line.len - 2; open++) {
        if (v > (UINT64_MAX - 9) / 10)
            return UINT64_MAX; /* absurd: the caller closes rather than skips */
        v = v * 10 + (uint64_t)(line.p[open] - '0');
    }
    return v;
}

static int fail(struct imap_parser *p, struct yb_slice line, int rc, const char *text)
{
    p->stage = IMAP_STAGE_ERROR;
    p->err_text = text;
    p->discard = trailing_nonsync(line);
    p->skip_rest = p->discard > 0;
    return rc;
}

/* ---- character classes ---- */

static bool is_tag_char(unsigned char c)
{
    return c > 0x20 && c < 0x7F && c != '(' && c != ')' && c != '{' && c != '%' && c != '*' &&
           c != '"' && c != '\\' && c != '+';
}

static bool is_atom_char(unsigned char c)
{
    return c > 0x20 && c < 0x7F && c != '(' && c != ')' && c != '{' && c != '%' && c != '*' &&
           c != '"' && c != '\\' && c != ']';
}

/* Argument atoms are lenient where commands need it: flags, wildcards, ']' */
static bool is_arg_atom_char(unsigned char c)
{
    return c > 0x20 && c < 0x7F && c != '(' && c != ')' && c != '{' && c != '"' && c != '[';
}

/* ---- arguments ---- */

static int new_arg(struct imap_parser *p, enum imap_arg_type type, uint32_t *idx_r)
{
    uint32_t idx, parent;

    if (p->nargs > p->lim.args)
        return YB_ELIMIT;
    if (p->nargs == p->args_cap) {
        uint32_t ncap = p->args_cap ? p->args_cap * 2 : 16;
        struct imap_arg *a;
        if (ncap > p->lim.args + 1)
            ncap = p->lim.args + 1;
        a = realloc(p->args, ncap * sizeof(*a));
        if (a == NULL)
            return YB_ENOMEM;
        p->args = a;
        p->args_cap = ncap;
    }
    idx = p->nargs++;
    memset(&p->args[idx], 0, sizeof(p->args[idx]));
    p->args[idx].type = (uint8_t)type;
    if (idx > 0) {
        parent = p->stack[p->depth];
        if (p->tail[p->depth] == 0)
            p->args[parent].child = idx;
        else
            p->args[p->tail[p->depth]].next = idx;
        p->tail[p->depth] = idx;
        p->args[parent].count++;
    }
    *idx_r = idx;
    return 0;
}

static int append(struct imap_parser *p, const void *b, size_t n)
{
    return yb_buf_append(&p->data, b, n);
}

/* Reads the tag and command name; *i ends after them. */
static int read_start(struct imap_parser *p, struct yb_slice line, size_t *i)
{
    size_t k = 0;
    uint32_t root;
    int rc;

    while (k < line.len && is_tag_char(line.p[k]))
        k++;
    if (k == 0 || (k < line.len && line.p[k] != ' '))
        return fail(p, line, YB_EPARSE, k == 0 ? "Missing or invalid tag" : "Invalid tag");
    p->tag_off = p->data.len;
    p->tag_len = k;
    if ((rc = append(p, line.p, k)) < 0)
        return fail(p, line, rc, "Command too long");
    if (k == line.len)
        return fail(p, line, YB_EPARSE, "Missing command");
    *i = ++k;
    while (k < line.len && is_atom_char(line.p[k]))
        k++;
    if (k == *i || (k < line.len && line.p[k] != ' '))
        return fail(p, line, YB_EPARSE, "Missing or invalid command name");
    p->name_off = p->data.len;
    p->name_len = k - *i;
    if ((rc = append(p, line.p + *i, k - *i)) < 0)
        return fail(p, line, rc, "Command too long");
    *i = k;
    if ((rc = new_arg(p, IMAP_ARG_LIST, &root)) < 0)
        return fail(p, line, rc, "Too many arguments");
    p->stage = IMAP_STAGE_ARGS;
    return 0;
}

static int read_quoted(struct imap_parser *p, struct yb_slice line, size_t *i)
{
    size_t k = *i + 1, start = p->data.len;
    uint32_t idx;
    int rc;

    for (;;) {
        size_t run = k;
        if (k >= line.len)
            return fail(p, line, YB_EPARSE, "Missing '\"'");
        while (k < line.len && line.p[k] != '"' && line.p[k] != '\\' && line.p[k] != 0)
            k++;
        if ((rc = append(p, line.p + run, k - run)) < 0)
            return fail(p, line, rc, "Command too long");
        if (k >= line.len)
            continue;
        if (line.p[k] == 0)
            return fail(p, line, YB_EPARSE, "NUL in quoted string");
        if (line.p[k] == '"')
            break;
        /* backslash: only \" and \\ exist */
        if (k + 1 >= line.len || (line.p[k + 1] != '"' && line.p[k + 1] != '\\'))
            return fail(p, line, YB_EPARSE, "Invalid escape in quoted string");
        if ((rc = append(p, line.p + k + 1, 1)) < 0)
            return fail(p, line, rc, "Command too long");
        k += 2;
    }
    if (!yb_utf8_valid(p->data.p + start, p->data.len - start, NULL))
        return fail(p, line, YB_EILSEQ, "Quoted string is not UTF-8");
    if ((rc = new_arg(p, IMAP_ARG_QUOTED, &idx)) < 0)
        return fail(p, line, rc, "Too many arguments");
    p->args[idx].off = start;
    p->args[idx].len = p->data.len - start;
    *i = k + 1;
    return 0;
}

/* Skips a "[...]" group inside an atom; *k starts at '[' and ends after ']'. */
static int skip_brackets(struct imap_parser *p, struct yb_slice line, size_t *k)
{
    (*k)++;
    while (*k < line.len) {
        unsigned char c = line.p[*k];
        if (c == ']') {
            (*k)++;
            return 0;
        }
        if (c == '"') {
            (*k)++;
            while (*k < line.len && line.p[*k] != '"') {
                if (line.p[*k] == '\\')
                    (*k)++;
                else if (line.p[*k] < 0x20 || line.p[*k] >= 0x7F)
                    return fail(p, line, YB_EPARSE, "Invalid character in section");
                (*k)++;
            }
            if (*k >= line.len)
                return fail(p, line, YB_EPARSE, "Missing '\"' in section");
        } else if (c == '{' || c == '[' || c < 0x20 || c >= 0x7F) {
            return fail(p, line, YB_EPARSE, "Invalid character in section");
        }
        (*k)++;
    }
    return fail(p, line, YB_EPARSE, "Missing ']'");
}

static int read_atom(struct imap_parser *p, struct yb_slice line, size_t *i)
{
    size_t k = *i;
    uint32_t idx;
    int rc;

    while (k < line.len) {
        if (line.p[k] == '[') {
            if ((rc = skip_brackets(p, line, &k)) < 0)
                return rc;
        } else if (is_arg_atom_char(line.p[k])) {
            k++;
        } else {
            break;
        }
    }
    if (k == *i) {
        unsigned char c = line.p[k];
        return fail(p, line, YB_EPARSE,
                    c == 0      ? "NUL in command"
                    : c >= 0x80 ? "8-bit data outside a string"
                                : "Invalid character in command");
    }
    if (k - *i == 3 && (line.p[*i] | 0x20) == 'n' && (line.p[*i + 1] | 0x20) == 'i' &&
        (line.p[*i + 2] | 0x20) == 'l') {
        if ((rc = new_arg(p, IMAP_ARG_NIL, &idx)) < 0)
            return fail(p, line, rc, "Too many arguments");
        *i = k;
        return 0;
    }
    if ((rc = new_arg(p, IMAP_ARG_ATOM, &idx)) < 0)
        return fail(p, line, rc, "Too many arguments");
    p->args[idx].off = p->data.len;
    p->args[idx].len = k - *i;
    if ((rc = append(p, line.p + *i, k - *i)) < 0)
        return fail(p, line, rc, "Command too long");
    *i = k;
    return 0;
}

/* "{n}", "{n+}", "~{n}", "~{n+}" at the end of the line. */
static int read_literal(struct imap_parser *p, struct yb_slice line, size_t i)
{
    bool binary = line.p[i] == '~', nonsync = false;
    uint64_t v = 0;
    size_t digits = 0;
    uint32_t idx;
    int rc;

    i += binary ? 2 : 1;
    while (i < line.len && line.p[i] >= '0' && line.p[i] <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return fail(p, line, YB_ELIMIT, "[TOOBIG] Literal too big");
        v = v * 10 + (uint64_t)(line.p[i] - '0');
        i++;
        digits++;
    }
    if (i < line.len && line.p[i] == '+') {
        nonsync = true;
        i++;
    }
    if (digits == 0 || i >= line.len || line.p[i] != '}')
        return fail(p, line, YB_EPARSE, "Invalid literal");
    if (i + 1 != line.len)
        return fail(p, line, YB_EPARSE, "Literal not at the end of the line");
    if (v > p->lim.literal)
        return fail(p, line, YB_ELIMIT, "[TOOBIG] Literal too big");
    if (nonsync && v > p->lim.literal_nonsync)
        return fail(p, line, YB_ELIMIT, "[TOOBIG] Non-synchronizing literal too big");
    if ((rc = new_arg(p, IMAP_ARG_LITERAL, &idx)) < 0)
        return fail(p, line, rc, "Too many arguments");
    p->args[idx].flags =
        (uint8_t)((binary ? IMAP_ARGF_LITERAL8 : 0) | (nonsync ? IMAP_ARGF_NONSYNC : 0));
    p->args[idx].len = v;
    p->lit.size = v;
    p->lit.sync = !nonsync;
    p->lit.binary = binary;
    p->lit.depth = p->depth;
    p->lit.argc = p->args[0].count - 1;
    p->lit_left = v;
    p->need_sep = true;
    p->stage = IMAP_STAGE_LIT_PENDING;
    return IMAP_PARSE_LITERAL;
}

/*
 * Reads the tag of a line refused as too long, for the BAD answer, from its
 * first bytes only (the same bytes whichever way the line arrived).
 */
static void tag_of_long_line(struct imap_parser *p, struct yb_slice line)
{
    size_t n = line.len, j = 0;
    if (n > 256)
        n = 256;
    if (n > p->lim.line)
        n = p->lim.line;
    (void)read_start(p, yb_slice_make(line.p, n), &j);
}

int imap_parser_line(struct imap_parser *p, struct yb_slice line)
{
    size_t i = 0;
    int rc;

    if (p->stage != IMAP_STAGE_START && p->stage != IMAP_STAGE_ARGS)
        return YB_EINVAL;
    if (p->skip_rest && p->stage == IMAP_STAGE_START) {
        /* The rest of a refused command, after its non-synchronising literal. */
        p->discard = trailing_nonsync(line);
        p->skip_rest = p->discard > 0;
        return p->discard > 0 ? IMAP_PARSE_DISCARD : IMAP_PARSE_MORE;
    }
    if (line.len > p->lim.line) {
        if (p->stage == IMAP_STAGE_START)
            tag_of_long_line(p, line);
        return fail(p, line, YB_ELIMIT, "Line too long");
    }
    if (p->stage == IMAP_STAGE_START) {
        if (line.len == 0)
            return fail(p, line, YB_EPARSE, "Empty command line");
        if ((rc = read_start(p, line, &i)) < 0)
            return rc;
    }
    while (i < line.len) {
        unsigned char c = line.p[i];
        uint32_t idx;

        if (c == ' ') {
            p->need_sep = false;
            i++;
            continue;
        }
        if (c == ')') {
            if (p->depth == 0)
                return fail(p, line, YB_EPARSE, "Unexpected ')'");
            p->depth--;
            p->need_sep = true;
            i++;
            continue;
        }
        if (p->need_sep)
            return fail(p, line, YB_EPARSE, "Missing space between arguments");
        if (c == '(') {
            if (p->depth >= p->lim.depth)
                return fail(p, line, YB_ELIMIT, "Lists nested too deeply");
            if ((rc = new_arg(p, IMAP_ARG_LIST, &idx)) < 0)
                return fail(p, line, rc, "Too many arguments");
            p->depth++;
            p->stack[p->depth] = idx;
            p->tail[p->depth] = 0;
            i++;
            continue;
        }
        if (c == '"')
            rc = read_quoted(p, line, &i);
        else if (c == '{' || (c == '~' && i + 1 < line.len && line.p[i + 1] == '{'))
            return read_literal(p, line, i);
        else
            rc = read_atom(p, line, &i);
        if (rc < 0)
            return rc;
        p->need_sep = true;
    }
    if (p->depth > 0)
        return fail(p, line, YB_EPARSE, "Missing ')'");
    p->stage = IMAP_STAGE_DONE;
    return IMAP_PARSE_COMMAND;
}

/* ---- literals ---- */

const struct imap_literal_info *imap_parser_literal_info(const struct imap_parser *p)
{
    return &p->lit;
}

uint64_t imap_parser_literal_left(const struct imap_parser *p)
{
    return p->lit_left;
}

void imap_parser_refuse_literal(struct imap_parser *p)
{
    if (p->stage == IMAP_STAGE_LIT_PENDING && !p->lit.sync) {
        p->discard = p->lit.size;
        p->skip_rest = true;
    }
}

uint64_t imap_parser_take_discard(struct imap_parser *p)
{
    uint64_t n = p->discard;
    p->discard = 0;
    return n;
}

static int literal_end(struct imap_parser *p)
{
    struct imap_arg *a = &p->args[p->tail[p->depth]];

    p->stage = IMAP_STAGE_ARGS;
    if (p->lit_nul && !p->lit.binary) {
        if (p->sink.write == NULL) {
            p->stage = IMAP_STAGE_ERROR;
            p->err_text = "NUL in literal";
            p->skip_rest = true; /* the line that finishes the command follows */
            return YB_EPARSE;
        }
        a->flags |= IMAP_ARGF_NUL;
    }
    return IMAP_PARSE_LITERAL_END;
}

int imap_parser_literal_begin(struct imap_parser *p, const struct imap_literal_sink *sink)
{
    struct imap_arg *a;

    if (p->stage != IMAP_STAGE_LIT_PENDING)
        return YB_EINVAL;
    a = &p->args[p->tail[p->depth]];
    if (sink != NULL && sink->write != NULL) {
        p->sink = *sink;
        a->flags |= IMAP_ARGF_STREAMED;
    } else {
        if (p->lit.size > p->lim.literal_mem || p->lit.size > p->data.max - p->data.len) {
            p->stage = IMAP_STAGE_ERROR;
            p->err_text = "[TOOBIG] Literal too big";
            return YB_ELIMIT;
        }
        a->off = p->data.len;
    }
    p->lit_nul = false;
    p->stage = IMAP_STAGE_LIT_DATA;
    if (p->lit_left == 0)
        return literal_end(p);
    return 0;
}

int imap_parser_literal_data(struct imap_parser *p, const void *data, size_t len, size_t *used_r)
{
    size_t n = len;
    int rc;

    *used_r = 0;
    if (p->stage != IMAP_STAGE_LIT_DATA)
        return YB_EINVAL;
    if (n > p->lit_left)
        n = (size_t)p->lit_left;
    if (!p->lit_nul && n > 0 && memchr(data, 0, n) != NULL)
        p->lit_nul = true;
    if (p->sink.write != NULL)
        rc = p->sink.write(p->sink.ctx, yb_slice_make(data, n));
    else
        rc = append(p, data, n);
    *used_r = n;
    p->lit_left -= n;
    if (rc < 0) {
        p->stage = IMAP_STAGE_ERROR;
        p->err_text = "Literal not accepted";
        p->discard = p->lit_left;
        p->skip_rest = true;
        return rc;
    }
    return p->lit_left == 0 ? literal_end(p) : IMAP_PARSE_MORE;
}

/* ---- raw input ---- */

/* Keeps the last bytes of a line that is too long to keep whole. */
static void keep_tail(struct imap_parser *p, const unsigned char *b, size_t n)
{
    size_t cap = sizeof(p->ltail), keep;

    if (n >= cap) {
        memcpy(p->ltail, b + n - cap, cap);
        p->ltail_len = cap;
        return;
    }
    keep = p->ltail_len < cap - n ? p->ltail_len : cap - n;
    memmove(p->ltail, p->ltail + p->ltail_len - keep, keep);
    memcpy(p->ltail + keep, b, n);
    p->ltail_len = keep + n;
}

int imap_parser_feed(struct imap_parser *p, const void *data, size_t len, size_t *used_r)
{
    const unsigned char *d = data;
    size_t i = 0;
    int rc = IMAP_PARSE_MORE;

    while (i < len) {
        if (p->discard > 0 && p->stage == IMAP_STAGE_START && p->line.len == 0) {
            size_t n = len - i < p->discard ? len - i : (size_t)p->discard;
            p->discard -= n;
            i += n;
            continue;
        }
        if (p->stage == IMAP_STAGE_LIT_DATA) {
            size_t used;
            rc = imap_parser_literal_data(p, d + i, len - i, &used);
            i += used;
            if (rc < 0)
                break; /* the rest of the literal is skipped after the caller's reset */
            rc = IMAP_PARSE_MORE;
            continue;
        }
        if (p->stage != IMAP_STAGE_START && p->stage != IMAP_STAGE_ARGS)
            break;
        {
            const unsigned char *lf = memchr(d + i, '\n', len - i);
            size_t n = lf != NULL ? (size_t)(lf - (d + i)) : len - i;
            struct yb_slice line;
            if (p->line_too_long) {
                keep_tail(p, d + i, n);
            } else {
                size_t room = p->line.max - p->line.len;
                if (n > room || yb_buf_append(&p->line, d + i, n) < 0) {
                    /* Too long (or out of memory): keep the start for the tag, the end
                     * for a literal it may announce, and refuse the line. */
                    p->line_too_long = true;
                    p->ltail_len = 0;
                    if (p->line.len > 0)
                        keep_tail(p, p->line.p, p->line.len);
                    keep_tail(p, d + i, n);
                    (void)yb_buf_append(&p->line, d + i, n < room ? n : room);
                }
            }
            i += n;
            if (lf == NULL)
                break;
            i++; /* the LF */
            line = yb_buf_slice(&p->line);
            if (line.len > 0 && line.p[line.len - 1] == '\r')
                line.len--;
            if (p->line_too_long) {
                struct yb_slice tail = yb_slice_make(p->ltail, p->ltail_len);
                if (tail.len > 0 && tail.p[tail.len - 1] == '\r')
                    tail.len--;
                if (p->skip_rest && p->stage == IMAP_STAGE_START) {
                    /* the end of a refused command, however long: swallowed */
                    p->discard = trailing_nonsync(tail);
                    p->skip_rest = p->discard > 0;
                    rc = IMAP_PARSE_MORE;
                } else {
                    if (p->stage == IMAP_STAGE_START)
                        tag_of_long_line(p, line);
                    rc = fail(p, tail, YB_ELIMIT, "Line too long");
                }
            } else {
                rc = imap_parser_line(p, line);
                if (rc == IMAP_PARSE_DISCARD)
                    rc = IMAP_PARSE_MORE; /* skipped at the top of the loop */
            }
            yb_buf_reset(&p->line);
            if (p->line.cap > KEEP_DATA)
                yb_buf_free(&p->line);
            p->line_too_long = false;
            if (rc != IMAP_PARSE_MORE)
                break;
        }
    }
    *used_r = i;
    if (rc < 0)
        return rc;
    if (p->stage == IMAP_STAGE_ERROR)
        return YB_EINVAL; /* the error was reported; the caller must reset */
    if (p->stage == IMAP_STAGE_LIT_PENDING)
        return IMAP_PARSE_LITERAL;
    if (p->stage == IMAP_STAGE_DONE)
        return IMAP_PARSE_COMMAND;
    return IMAP_PARSE_MORE;
}

/* ---- reading the command ---- */

struct yb_slice imap_parser_tag(const struct imap_parser *p)
{
    if (p->tag_len == 0)
        return yb_slice_make("", 0);
    return yb_slice_make(p->data.p + p->tag_off, p->tag_len);
}

struct yb_slice imap_parser_name(const struct imap_parser *p)
{
    if (p->name_len == 0)
        return yb_slice_make("", 0);
    return yb_slice_make(p->data.p + p->name_off, p->name_len);
}

const struct imap_arg *imap_args(const struct imap_parser *p)
{
    return p->nargs > 0 ? &p->args[0] : NULL;
}

const struct imap_arg *imap_arg_next(const struct imap_parser *p, const struct imap_arg *a)
{
    return a != NULL && a->next != 0 ? &p->args[a->next] : NULL;
}

const struct imap_arg *imap_arg_nth(const struct imap_parser *p, const struct imap_arg *list,
                                    size_t i)
{
    const struct imap_arg *a;

    if (list == NULL || list->type != IMAP_ARG_LIST || list->child == 0)
        return NULL;
    a = &p->args[list->child];
    while (a != NULL && i-- > 0)
        a = imap_arg_next(p, a);
    return a;
}

struct yb_slice imap_arg_value(const struct imap_parser *p, const struct imap_arg *a)
{
    if (a == NULL || a->type == IMAP_ARG_LIST || a->type == IMAP_ARG_NIL ||
        (a->flags & IMAP_ARGF_STREAMED) || a->len == 0)
        return yb_slice_make("", 0);
    return yb_slice_make(p->data.p + a->off, (size_t)a->len);
}

bool imap_arg_is_string(const struct imap_arg *a)
{
    return a != NULL && (a->type == IMAP_ARG_QUOTED ||
                         (a->type == IMAP_ARG_LITERAL && !(a->flags & IMAP_ARGF_STREAMED)));
}

bool imap_arg_is_astring(const struct imap_arg *a)
{
    return a != NULL && (a->type == IMAP_ARG_ATOM || imap_arg_is_string(a));
}

bool imap_arg_is_word(const struct imap_parser *p, const struct imap_arg *a, const char *word)
{
    if (a == NULL)
        return false;
    if (a->type == IMAP_ARG_NIL)
        return yb_slice_eq_cstr_nocase(YB_SLICE_LIT("NIL"), word);
    return a->type == IMAP_ARG_ATOM && yb_slice_eq_cstr_nocase(imap_arg_value(p, a), word);
}

/* ---- sections ---- */

/* Case-insensitive "does t at *i start with word"; advances past it when it does. */
static bool take(struct yb_slice t, size_t *i, const char *word)
{
    size_t n = strlen(word);
    if (t.len - *i < n || !yb_slice_eq_cstr_nocase(yb_slice_make(t.p + *i, n), word))
        return false;
    *i += n;
    return true;
}

static int take_number(struct yb_slice t, size_t *i, uint64_t max, bool nz, uint64_t *v_r)
{
    uint64_t v = 0;
    size_t start = *i;

    while (*i < t.len && t.p[*i] >= '0' && t.p[*i] <= '9') {
        if (*i > start && t.p[start] == '0')
            return YB_EPARSE; /* leading zero */
        v = v * 10 + (uint64_t)(t.p[*i] - '0');
        if (v > max)
            return YB_EPARSE;
        (*i)++;
    }
    if (*i == start || (nz && v == 0))
        return YB_EPARSE;
    *v_r = v;
    return 0;
}

static int section_fields(struct yb_slice t, size_t *i, struct imap_section *s)
{
    if (!take(t, i, " ("))
        return YB_EPARSE;
    for (;;) {
        size_t start = *i;
        if (*i < t.len && t.p[*i] == '"') {
            start = ++(*i);
            while (*i < t.len && t.p[*i] != '"' && t.p[*i] != '\\')
                (*i)++;
            if (*i >= t.len || t.p[*i] != '"')
                return YB_EPARSE;
            if (s->nfields >= YB_IMAP_LIMIT_SECTION_FIELDS)
                return YB_ELIMIT;
            s->field[s->nfields++] = yb_slice_make(t.p + start, *i - start);
            (*i)++;
        } else {
            while (*i < t.len && is_atom_char(t.p[*i]))
                (*i)++;
            if (*i == start)
                return YB_EPARSE;
            if (s->nfields >= YB_IMAP_LIMIT_SECTION_FIELDS)
                return YB_ELIMIT;
            s->field[s->nfields++] = yb_slice_make(t.p + start, *i - start);
        }
        if (*i < t.len && t.p[*i] == ')') {
            (*i)++;
            return 0;
        }
        if (*i >= t.len || t.p[*i] != ' ')
            return YB_EPARSE;
        (*i)++;
    }
}

int imap_section_parse(struct yb_slice t, struct imap_section *s)
{
    size_t i = 0;
    uint64_t v;
    int rc;

    memset(s, 0, sizeof(*s));
    if (take(t, &i, "BODY.PEEK[")) {
        s->peek = true;
    } else if (take(t, &i, "BODY[")) {
    } else if (take(t, &i, "BINARY.PEEK[")) {
        s->kind = IMAP_SECT_BINARY;
        s->peek = true;
    } else if (take(t, &i, "BINARY[")) {
        s->kind = IMAP_SECT_BINARY;
    } else if (take(t, &i, "BINARY.SIZE[")) {
        s->kind = IMAP_SECT_BINARY_SIZE;
    } else {
        return memchr(t.p, '[', t.len) != NULL ? YB_EPARSE : YB_ENOTFOUND;
    }
    /* section-part */
    while (i < t.len && t.p[i] >= '0' && t.p[i] <= '9') {
        if ((rc = take_number(t, &i, UINT32_MAX, true, &v)) < 0)
            return rc;
        if (s->nparts >= YB_IMAP_LIMIT_SECTION_PARTS)
            return YB_ELIMIT;
        s->part[s->nparts++] = (uint32_t)v;
        if (i < t.len && t.p[i] == '.' && i + 1 < t.len && t.p[i + 1] >= '0' && t.p[i + 1] <= '9')
            i++;
        else
            break;
    }
    if (i < t.len && t.p[i] != ']') {
        if (s->nparts > 0 && !take(t, &i, "."))
            return YB_EPARSE;
        if (s->kind != IMAP_SECT_BODY)
            return YB_EPARSE; /* BINARY takes part numbers only */
        if (take(t, &i, "HEADER.FIELDS.NOT")) {
            s->text = IMAP_TEXT_HEADER_FIELDS_NOT;
            if ((rc = section_fields(t, &i, s)) < 0)
                return rc;
        } else if (take(t, &i, "HEADER.FIELDS")) {
            s->text = IMAP_TEXT_HEADER_FIELDS;
            if ((rc = section_fields(t, &i, s)) < 0)
                return rc;
        } else if (take(t, &i, "HEADER")) {
            s->text = IMAP_TEXT_HEADER;
        } else if (take(t, &i, "TEXT")) {
            s->text = IMAP_TEXT_TEXT;
        } else if (s->nparts > 0 && take(t, &i, "MIME")) {
            s->text = IMAP_TEXT_MIME;
        } else {
            return YB_EPARSE;
        }
    }
    if (!take(t, &i, "]"))
        return YB_EPARSE;
    if (i < t.len && t.p[i] == '<') {
        if (s->kind == IMAP_SECT_BINARY_SIZE)
            return YB_EPARSE;
        i++;
        if ((rc = take_number(t, &i, INT64_MAX, false, &s->offset)) < 0)
            return rc;
        if (!take(t, &i, "."))
            return YB_EPARSE;
        if ((rc = take_number(t, &i, UINT32_MAX, true, &v)) < 0)
            return rc;
        s->length = (uint32_t)v;
        s->partial = true;
        if (!take(t, &i, ">"))
            return YB_EPARSE;
    }
    return i == t.len ? 0 : YB_EPARSE;
}
