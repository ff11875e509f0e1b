/*
 * yb_tab.h - tab files: the grammar of every configuration file under ROOT
 * (DESIGN.md section 2), XMail's files included.
 *
 *   file    = [BOM] *line
 *   line    = ( comment / blank / record ) ( LF / CRLF / end of file )
 *   comment = "#" *any-but-CR-LF          ; only at column 1
 *   blank   = *" "                        ; ignored
 *   record  = field *( TAB field )
 *   field   = bare / quoted
 *   bare    = *( any UTF-8 but TAB, '"', control characters )
 *   quoted  = '"' *( any UTF-8 but '"', '\', controls / "\" any ) '"'
 *
 * In a quoted field "\"" is a quote and "\\" a backslash; a backslash before
 * any other character is kept as it is, which reads XMail's Windows paths
 * ("C:\MailRoot") unchanged. Control characters (U+0000-U+001F, U+007F)
 * other than the TAB separator and the line ending, and invalid UTF-8, are
 * errors anywhere - so every field is also a safe C string. A UTF-8 byte
 * order mark at the start of the file is skipped (Notepad writes one).
 *
 * The parser is a pure, resumable function of (state, bytes): feed it the
 * file whole or one byte at a time, the records and errors are the same.
 * Errors carry line and column (1-based; the column counts bytes).
 */
#ifndef YB_TAB_H
#define YB_TAB_H

#include <stddef.h>
#include <stdint.h>
#include "yb_buf.h"
#include "yb_slice.h"

/* Longest record line in bytes, without its line ending. */
#define YB_LIMIT_TAB_LINE (64 * 1024)
/* Most fields in one record. */
#define YB_LIMIT_TAB_FIELDS 64
/* Largest tab file the loader reads (mailusers.tab with many accounts). */
#define YB_LIMIT_TAB_FILE (256u * 1024 * 1024)

#define YB_TAB_ERRMSG_MAX 160

struct yb_tab_error {
    int code;      /* YB_EPARSE, YB_EUTF8, YB_ELIMIT, or an I/O error */
    unsigned line; /* 1-based; 0 when the error is not about a position */
    unsigned column;
    char msg[YB_TAB_ERRMSG_MAX];
};

/* One record as the parser hands it out; valid only during the callback. */
struct yb_tab_record {
    unsigned line;
    size_t nfields;
    struct yb_slice field[YB_LIMIT_TAB_FIELDS];
    unsigned column[YB_LIMIT_TAB_FIELDS]; /* where each field starts */
};

/*
 * Called for every record. Returning non-zero stops the parser with that
 * code (the callback should fill *err via yb_tab_error_set to say why).
 */
typedef int (*yb_tab_record_fn)(void *arg, const struct yb_tab_record *rec,
                                struct yb_tab_error *err);

struct yb_tab_parser {
    int state;
    unsigned line, column; /* position of the next byte */
    unsigned line_bytes;   /* bytes of the current line so far */
    unsigned utf8_need;    /* continuation bytes still expected */
    unsigned char utf8_lo, utf8_hi;
    unsigned char bom_seen; /* BOM bytes matched at the start of the file */
    size_t nfields;
    size_t field_off[YB_LIMIT_TAB_FIELDS + 1];
    unsigned field_col[YB_LIMIT_TAB_FIELDS];
    int field_quoted;    /* current field was quoted */
    struct yb_buf bytes; /* field contents of the current record, NUL-separated */
    yb_tab_record_fn fn;
    void *arg;
    struct yb_tab_error err;
};

void yb_tab_parser_init(struct yb_tab_parser *p, yb_tab_record_fn fn, void *arg);
void yb_tab_parser_free(struct yb_tab_parser *p);

/*
 * Consumes data. Returns 0, or the error (also in p->err, and every later
 * call returns it again).
 */
int yb_tab_parser_feed(struct yb_tab_parser *p, const void *data, size_t len);

/* Ends the input: flushes a last line without a newline, or reports what is unfinished. */
int yb_tab_parser_finish(struct yb_tab_parser *p);

/* ---- whole tables ---- */

struct yb_tab_rec {
    unsigned line;
    unsigned nfields;
    const char **field;  /* NUL-terminated UTF-8, no control characters */
    const uint32_t *len; /* byte length of each field */
    const unsigned *column;
};

struct yb_tab {
    size_t nrec;
    struct yb_tab_rec *rec;
    /* storage owned by the table */
    char *arena;
    size_t arena_len;
};

/*
 * Parses a whole buffer into *tab_r. On error nothing is returned (a table
 * never half-loads) and *err_r says where and why.
 */
int yb_tab_parse(const void *data, size_t len, struct yb_tab **tab_r, struct yb_tab_error *err_r);

/*
 * Reads and parses a file. YB_ENOENT if it does not exist (err_r->line = 0).
 */
int yb_tab_load(const char *path, struct yb_tab **tab_r, struct yb_tab_error *err_r);

void yb_tab_free(struct yb_tab **tab);

/*
 * Appends one record to out in the canonical form: every field quoted, '"'
 * and '\' escaped, TAB-separated, LF-terminated. YB_EINVAL if a field holds
 * a control character or invalid UTF-8 (it could not be read back).
 */
int yb_tab_format_record(struct yb_buf *out, const struct yb_slice *fields, size_t n);

/* Sets err's code, position and message (printf-style). Returns code. */
int yb_tab_error_set(struct yb_tab_error *err, int code, unsigned line, unsigned column,
                     const char *fmt, ...) YB_PRINTF(5, 6);

/* "file:line:column: message" (or "file: message" without a position) into buf. */
void yb_tab_error_format(const struct yb_tab_error *err, const char *file, char *buf, size_t size);

#endif
