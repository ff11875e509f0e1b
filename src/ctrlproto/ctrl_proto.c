/*
 * ctrl_proto.c - CTRL fields, dot-stuffed lists, replies and the line reader.
 */
#include "ctrl_proto.h"
#include "pal_err.h"
#include "yb_utf8.h"

#include <string.h>

struct err_entry {
    int num;
    const char *text;
};

static const struct err_entry err_table[] = {
#define YB_CTRL_ERR_ROW(name, num, text) { num, text },
    YB_CTRL_ERRORS(YB_CTRL_ERR_ROW)
#undef YB_CTRL_ERR_ROW
};

const char *yb_ctrl_err_text(int num)
{
    if (num == 0)
        return "ok";
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++) {
        if (err_table[i].num == num)
            return err_table[i].text;
    }
    return "unknown error";
}

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7F;
}

bool yb_ctrl_field_ok(struct yb_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (is_control(s.p[i]))
            return false;
    }
    return yb_utf8_valid(s.p, s.len, NULL);
}

int yb_ctrl_split(struct yb_slice line, struct yb_ctrl_args *a)
{
    size_t out = 0, i = 0;
    a->n = 0;
    if (line.len > YB_CTRL_LIMIT_LINE)
        return YB_ELIMIT;
    if (line.len == 0)
        return YB_EPARSE;
    if (!yb_utf8_valid(line.p, line.len, NULL))
        return YB_EUTF8;
    for (;;) {
        if (a->n == YB_CTRL_LIMIT_FIELDS) {
            a->n = 0;
            return YB_ELIMIT;
        }
        size_t start = out;
        if (i < line.len && line.p[i] == '"') {
            i++;
            for (;;) {
                if (i == line.len) {
                    a->n = 0;
                    return YB_EPARSE; /* no closing quote */
                }
                unsigned char c = line.p[i++];
                if (c == '"')
                    break;
                if (c == '\\' && i < line.len && (line.p[i] == '"' || line.p[i] == '\\'))
                    c = line.p[i++];
                if (is_control(c)) {
                    a->n = 0;
                    return YB_EPARSE;
                }
                a->store[out++] = (char)c;
            }
            if (i < line.len && line.p[i] != '\t') {
                a->n = 0;
                return YB_EPARSE; /* text after the closing quote */
            }
        } else {
            while (i < line.len && line.p[i] != '\t') {
                unsigned char c = line.p[i++];
                if (c == '"' || is_control(c)) {
                    a->n = 0;
                    return YB_EPARSE;
                }
                a->store[out++] = (char)c;
            }
        }
        a->store[out] = '\0';
        a->f[a->n++] = yb_slice_make(a->store + start, out - start);
        out++;
        if (i == line.len)
            return 0;
        i++; /* the TAB */
    }
}

int yb_ctrl_format(struct yb_buf *out, const struct yb_slice *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!yb_ctrl_field_ok(f[i]))
            return YB_EINVAL;
    }
    return yb_buf_append_quoted(out, f, n, "\r\n");
}

int yb_ctrl_stuff_line(struct yb_buf *out, struct yb_slice line)
{
    size_t start = out->len;
    int rc = 0;
    if (line.len > 0 && line.p[0] == '.')
        rc = yb_buf_append_byte(out, '.');
    if (rc == 0)
        rc = yb_buf_append_slice(out, line);
    if (rc == 0)
        rc = yb_buf_append(out, "\r\n", 2);
    if (rc != 0)
        yb_buf_truncate(out, start);
    return rc;
}

bool yb_ctrl_unstuff(struct yb_slice line, struct yb_slice *content_r)
{
    if (line.len == 1 && line.p[0] == '.') {
        *content_r = yb_slice_make(line.p, 0);
        return true;
    }
    if (line.len > 0 && line.p[0] == '.')
        *content_r = yb_slice_make(line.p + 1, line.len - 1);
    else
        *content_r = line;
    return false;
}

int yb_ctrl_parse_reply(struct yb_slice line, struct yb_ctrl_reply *r)
{
    memset(r, 0, sizeof(*r));
    if (line.len < 6 || (line.p[0] != '+' && line.p[0] != '-'))
        return YB_EPARSE;
    int num = 0;
    for (size_t i = 1; i < 6; i++) {
        if (line.p[i] < '0' || line.p[i] > '9')
            return YB_EPARSE;
        num = num * 10 + (line.p[i] - '0');
    }
    if (line.len > 6 && line.p[6] != ' ')
        return YB_EPARSE;
    r->text = line.len > 7 ? yb_slice_make(line.p + 7, line.len - 7) : yb_slice_make(line.p, 0);
    if (line.p[0] == '-') {
        if (num == 0)
            return YB_EPARSE;
        r->kind = YB_CTRL_R_ERROR;
        r->code = num;
        return 0;
    }
    switch (num) {
    case 0: r->kind = YB_CTRL_R_OK; return 0;
    case 100: r->kind = YB_CTRL_R_LIST; return 0;
    case 101: r->kind = YB_CTRL_R_BODY; return 0;
    default: return YB_EPARSE;
    }
}

void yb_ctrl_lines_init(struct yb_ctrl_lines *lr, size_t max_line)
{
    /* Room for a whole line, its CRLF, and a read's worth of what follows. */
    yb_buf_init(&lr->buf, max_line + 2 + YB_CTRL_READ_CHUNK);
    lr->consumed = 0;
    lr->max_line = max_line;
}

void yb_ctrl_lines_free(struct yb_ctrl_lines *lr)
{
    yb_buf_free(&lr->buf);
    lr->consumed = 0;
}

int yb_ctrl_lines_feed(struct yb_ctrl_lines *lr, const void *data, size_t len)
{
    if (lr->consumed > 0) {
        yb_buf_consume(&lr->buf, lr->consumed);
        lr->consumed = 0;
    }
    if (len > lr->buf.max - lr->buf.len)
        return YB_ELIMIT;
    return yb_buf_append(&lr->buf, data, len);
}

int yb_ctrl_lines_next(struct yb_ctrl_lines *lr, struct yb_slice *line_r)
{
    if (lr->consumed > 0) {
        yb_buf_consume(&lr->buf, lr->consumed);
        lr->consumed = 0;
    }
    const unsigned char *p = lr->buf.p;
    const unsigned char *nl = lr->buf.len > 0 ? memchr(p, '\n', lr->buf.len) : NULL;
    if (nl == NULL)
        return lr->buf.len > lr->max_line + 1 ? YB_ELIMIT : YB_EAGAIN;
    size_t len = (size_t)(nl - p);
    lr->consumed = len + 1;
    if (len > 0 && p[len - 1] == '\r')
        len--;
    if (len > lr->max_line)
        return YB_ELIMIT;
    *line_r = yb_slice_make(p, len);
    return 0;
}
