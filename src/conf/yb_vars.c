/*
 * yb_vars.c - server.tab variables: definitions, parsing, loading.
 */
#include "yb_vars.h"
#include "pal.h"
#include "yb_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct yb_var_def var_defs[YB_VAR__COUNT] = {
#define YB_VAR_DEF(name, type, def, min, max, desc) { #name, type, def, min, max, desc },
    YB_SERVER_VARS(YB_VAR_DEF)
#undef YB_VAR_DEF
};

/* Longest value text accepted for any variable. */
#define YB_LIMIT_VAR_VALUE 4096

const struct yb_var_def *yb_var_def(enum yb_var_id id)
{
    if ((unsigned)id >= YB_VAR__COUNT)
        return NULL;
    return &var_defs[id];
}

int yb_var_lookup(const char *name, enum yb_var_id *id_r)
{
    for (unsigned i = 0; i < YB_VAR__COUNT; i++) {
        if (strcmp(var_defs[i].name, name) == 0) {
            *id_r = (enum yb_var_id)i;
            return 0;
        }
    }
    return YB_ENOTFOUND;
}

static int msgf(char *msg, size_t size, int code, const char *fmt, ...) YB_PRINTF(4, 5);
static int msgf(char *msg, size_t size, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    if (n < 0 && size > 0)
        msg[0] = '\0';
    return code;
}

/* Parses an unsigned decimal with an optional one-letter unit (multiplier table). */
static int parse_scaled(const char *text, const char *units, const int64_t *mult, int64_t *v_r)
{
    const char *p = text;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (*p < '0' || *p > '9')
        return YB_EPARSE;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return YB_ERANGE;
        v = v * 10 + (*p - '0');
    }
    if (*p != '\0') {
        char unit = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        const char *u = units != NULL ? strchr(units, unit) : NULL;
        if (u == NULL || p[1] != '\0')
            return YB_EPARSE;
        int64_t m = mult[u - units];
        if (v > INT64_MAX / m)
            return YB_ERANGE;
        v *= m;
    }
    *v_r = neg ? -v : v;
    return 0;
}

static int parse_bool(const char *t, int64_t *v_r)
{
    static const char *const yes[] = { "1", "yes", "true", "on" };
    static const char *const no[] = { "0", "no", "false", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (yb_slice_eq_cstr_nocase(yb_slice_cstr(t), yes[i])) {
            *v_r = 1;
            return 0;
        }
        if (yb_slice_eq_cstr_nocase(yb_slice_cstr(t), no[i])) {
            *v_r = 0;
            return 0;
        }
    }
    return YB_EPARSE;
}

static int parse_listen(const char *text, struct yb_listen_list **list_r, char *msg, size_t msize)
{
    struct yb_listen_list *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return YB_ENOMEM;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        const char *end = p;
        while (*end != '\0' && *end != ' ' && *end != ',')
            end++;
        char one[PAL_ADDR_TEXT_MAX];
        size_t n = (size_t)(end - p);
        if (n >= sizeof(one)) {
            free(l);
            return msgf(msg, msize, YB_EPARSE, "address too long: %.40s...", p);
        }
        memcpy(one, p, n);
        one[n] = '\0';
        if (l->n == YB_LIMIT_LISTEN_ADDRS) {
            free(l);
            return msgf(msg, msize, YB_ELIMIT, "more than %d addresses", YB_LIMIT_LISTEN_ADDRS);
        }
        int rc = pal_addr_parse(one, &l->addr[l->n]);
        if (rc != 0) {
            free(l);
            return msgf(msg, msize, YB_EPARSE,
                        "'%s' is not addr:port (IPv4 a.b.c.d:port, IPv6 [addr]:port)", one);
        }
        l->n++;
        p = end;
    }
    *list_r = l;
    return 0;
}

int yb_var_parse(enum yb_var_id id, const char *text, struct yb_var_value *v, char *msg,
                 size_t msgsize)
{
    return yb_var_parse_def(yb_var_def(id), text, v, msg, msgsize);
}

int yb_var_parse_def(const struct yb_var_def *d, const char *text, struct yb_var_value *v,
                     char *msg, size_t msgsize)
{
    static const int64_t size_mult[] = { 1024, 1024 * 1024, 1024LL * 1024 * 1024 };
    static const int64_t dur_mult[] = { 1, 60, 3600, 86400 };
    int rc = 0;
    memset(v, 0, sizeof(*v));
    if (d == NULL)
        return YB_EINVAL;
    if (strlen(text) > YB_LIMIT_VAR_VALUE)
        return msgf(msg, msgsize, YB_ELIMIT, "value longer than %d bytes", YB_LIMIT_VAR_VALUE);
    switch (d->type) {
    case YB_VT_STRING: break;
    case YB_VT_BOOL:
        if (parse_bool(text, &v->num) != 0)
            return msgf(msg, msgsize, YB_EPARSE, "%s wants yes/no, got '%s'", d->name, text);
        break;
    case YB_VT_INT:
    case YB_VT_SIZE:
    case YB_VT_DURATION:
        rc = parse_scaled(text,
                          d->type == YB_VT_SIZE       ? "KMG"
                          : d->type == YB_VT_DURATION ? "SMHD"
                                                      : NULL,
                          d->type == YB_VT_SIZE ? size_mult : dur_mult, &v->num);
        if (rc != 0)
            return msgf(msg, msgsize, YB_EPARSE, "%s wants %s, got '%s'", d->name,
                        d->type == YB_VT_SIZE       ? "a size (e.g. 512K, 20M)"
                        : d->type == YB_VT_DURATION ? "a duration (e.g. 30s, 5m, 4h, 5d)"
                                                    : "an integer",
                        text);
        if (v->num < d->min || v->num > d->max)
            return msgf(msg, msgsize, YB_EPARSE, "%s must be between %lld and %lld, got '%s'",
                        d->name, (long long)d->min, (long long)d->max, text);
        break;
    case YB_VT_LOGLEVEL: {
        enum yb_log_level lvl;
        if (yb_log_level_parse(text, &lvl) != 0)
            return msgf(msg, msgsize, YB_EPARSE, "%s wants error, warn, info or debug, got '%s'",
                        d->name, text);
        v->num = lvl;
        break;
    }
    case YB_VT_LISTEN:
        rc = parse_listen(text, &v->listen, msg, msgsize);
        if (rc != 0)
            return rc;
        break;
    }
    size_t n = strlen(text);
    v->text = malloc(n + 1);
    if (v->text == NULL) {
        free(v->listen);
        v->listen = NULL;
        return YB_ENOMEM;
    }
    memcpy(v->text, text, n + 1);
    return 0;
}

void yb_var_value_free(struct yb_var_value *v)
{
    free(v->text);
    free(v->listen);
    memset(v, 0, sizeof(*v));
}

void yb_vars_free(struct yb_vars **vars)
{
    if (*vars == NULL)
        return;
    for (unsigned i = 0; i < YB_VAR__COUNT; i++)
        yb_var_value_free(&(*vars)->v[i]);
    free(*vars);
    *vars = NULL;
}

int yb_vars_load(const struct yb_tab *tab, struct yb_vars **vars_r, struct yb_tab_error *err_r,
                 void (*warn)(void *arg, unsigned line, unsigned column, const char *msg),
                 void *warn_arg)
{
    char msg[YB_TAB_ERRMSG_MAX];
    int rc = 0;
    struct yb_vars *vars = calloc(1, sizeof(*vars));
    memset(err_r, 0, sizeof(*err_r));
    *vars_r = NULL;
    if (vars == NULL)
        return yb_tab_error_set(err_r, YB_ENOMEM, 0, 0, "out of memory");

    for (size_t r = 0; tab != NULL && r < tab->nrec; r++) {
        const struct yb_tab_rec *rec = &tab->rec[r];
        if (rec->nfields != 2) {
            rc = yb_tab_error_set(err_r, YB_EPARSE, rec->line, rec->column[0],
                                  "expected 2 fields (name, value), found %u", rec->nfields);
            goto fail;
        }
        enum yb_var_id id;
        if (yb_var_lookup(rec->field[0], &id) != 0) {
            if (warn != NULL) {
                snprintf(msg, sizeof(msg), "unknown variable '%.64s' ignored", rec->field[0]);
                warn(warn_arg, rec->line, rec->column[0], msg);
            }
            continue;
        }
        struct yb_var_value *v = &vars->v[id];
        if (v->set_in_file) {
            if (warn != NULL) {
                snprintf(msg, sizeof(msg), "'%s' set again (line %u is overridden)", rec->field[0],
                         v->line);
                warn(warn_arg, rec->line, rec->column[0], msg);
            }
            yb_var_value_free(v);
        }
        rc = yb_var_parse(id, rec->field[1], v, msg, sizeof(msg));
        if (rc != 0) {
            yb_tab_error_set(err_r, rc, rec->line, rec->column[1], "%s", msg);
            goto fail;
        }
        v->set_in_file = true;
        v->line = rec->line;
    }
    for (unsigned i = 0; i < YB_VAR__COUNT; i++) {
        if (vars->v[i].set_in_file)
            continue;
        rc = yb_var_parse((enum yb_var_id)i, var_defs[i].def, &vars->v[i], msg, sizeof(msg));
        if (rc != 0) {
            /* A default that does not parse is a bug in this file; say so loudly. */
            yb_tab_error_set(err_r, rc, 0, 0, "built-in default of %s: %s", var_defs[i].name, msg);
            goto fail;
        }
    }
    *vars_r = vars;
    return 0;
fail:
    yb_vars_free(&vars);
    return err_r->code != 0 ? err_r->code : rc;
}
