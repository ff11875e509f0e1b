/*
 * pop3_parse.c - POP3 command lines as a table of {keyword, arity, kind}.
 */
#include "pop3_parse.h"
#include "pal_err.h"
#include "yb_utf8.h"

#include <stdbool.h>
#include <string.h>

enum arg_kind {
    ARGS_NONE,    /* no argument */
    ARGS_WORDS,   /* min..max words separated by single spaces */
    ARGS_NUMBERS, /* min..max decimal numbers */
    ARGS_REST     /* one argument: the rest of the line, spaces included */
};

struct verb_def {
    const char *name;
    enum pop3_verb verb;
    enum arg_kind kind;
    unsigned min, max;
};

static const struct verb_def verbs[] = {
    { "USER", POP3_USER, ARGS_WORDS, 1, 1 },   { "PASS", POP3_PASS, ARGS_REST, 1, 1 },
    { "STAT", POP3_STAT, ARGS_NONE, 0, 0 },    { "LIST", POP3_LIST, ARGS_NUMBERS, 0, 1 },
    { "RETR", POP3_RETR, ARGS_NUMBERS, 1, 1 }, { "DELE", POP3_DELE, ARGS_NUMBERS, 1, 1 },
    { "NOOP", POP3_NOOP, ARGS_NONE, 0, 0 },    { "RSET", POP3_RSET, ARGS_NONE, 0, 0 },
    { "QUIT", POP3_QUIT, ARGS_NONE, 0, 0 },    { "TOP", POP3_TOP, ARGS_NUMBERS, 2, 2 },
    { "UIDL", POP3_UIDL, ARGS_NUMBERS, 0, 1 }, { "CAPA", POP3_CAPA, ARGS_NONE, 0, 0 },
    { "STLS", POP3_STLS, ARGS_NONE, 0, 0 },    { "AUTH", POP3_AUTH, ARGS_WORDS, 0, 2 },
    { "APOP", POP3_APOP, ARGS_REST, 0, 1 },
};

const char *pop3_verb_name(enum pop3_verb verb)
{
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (verbs[i].verb == verb)
            return verbs[i].name;
    }
    return "?";
}

static bool parse_number(struct yb_slice s, uint32_t *v_r)
{
    uint64_t v = 0;
    if (s.len == 0 || s.len > YB_POP3_LIMIT_NUMBER_DIGITS)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *v_r = (uint32_t)v;
    return true;
}

/* Splits rest into words at single spaces; an empty word (two spaces, a trailing space) fails. */
static int split_words(struct yb_slice rest, const struct verb_def *d, struct pop3_cmd *cmd)
{
    size_t i = 0;
    while (i < rest.len) {
        size_t start = i;
        while (i < rest.len && rest.p[i] != ' ')
            i++;
        if (i == start || cmd->nargs == d->max)
            return YB_EPARSE;
        cmd->arg[cmd->nargs++] = yb_slice_make(rest.p + start, i - start);
        if (i < rest.len) {
            i++; /* the space */
            if (i == rest.len)
                return YB_EPARSE; /* trailing space */
        }
    }
    return cmd->nargs < d->min ? YB_EPARSE : 0;
}

int pop3_parse_command(struct yb_slice line, struct pop3_cmd *cmd_r)
{
    memset(cmd_r, 0, sizeof(*cmd_r));
    if (line.len > YB_POP3_LIMIT_LINE)
        return YB_ELIMIT;
    if (line.len == 0)
        return YB_EPARSE;
    for (size_t i = 0; i < line.len; i++) {
        if (line.p[i] < 0x20 || line.p[i] == 0x7f)
            return YB_EPARSE;
    }
    if (!yb_utf8_valid(line.p, line.len, NULL))
        return YB_EUTF8;
    size_t kw = 0;
    while (kw < line.len && line.p[kw] != ' ')
        kw++;
    const struct verb_def *d = NULL;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (yb_slice_eq_cstr_nocase(yb_slice_make(line.p, kw), verbs[i].name)) {
            d = &verbs[i];
            break;
        }
    }
    if (d == NULL)
        return YB_ENOTSUP;
    cmd_r->verb = d->verb;
    struct yb_slice rest = yb_slice_make(line.p + kw, 0);
    if (kw < line.len) {
        rest = yb_slice_make(line.p + kw + 1, line.len - kw - 1);
        if (rest.len == 0)
            return YB_EPARSE; /* "STAT " */
    }
    switch (d->kind) {
    case ARGS_NONE: return rest.len == 0 ? 0 : YB_EPARSE;
    case ARGS_REST:
        if (rest.len == 0)
            return d->min == 0 ? 0 : YB_EPARSE;
        cmd_r->arg[0] = rest;
        cmd_r->nargs = 1;
        return 0;
    case ARGS_WORDS: return split_words(rest, d, cmd_r);
    case ARGS_NUMBERS: {
        int rc = split_words(rest, d, cmd_r);
        if (rc != 0)
            return rc;
        for (unsigned i = 0; i < cmd_r->nargs; i++) {
            if (!parse_number(cmd_r->arg[i], &cmd_r->num[i]))
                return YB_EPARSE;
        }
        return 0;
    }
    }
    return YB_EPARSE;
}
