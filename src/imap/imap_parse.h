/*
 * imap_parse.h - the IMAP command parser: pure, resumable, bounded.
 *
 * What it promises:
 * - It turns one client command (RFC 3501 / RFC 9051 "command") into a tag, a
 *   command name and a tree of arguments: atoms, quoted strings, literals,
 *   literal8 (~{n}), NIL and parenthesised lists. It knows no command: what
 *   the arguments mean (a sequence set, a mailbox, a SEARCH program) is read
 *   by the command code with the helpers here and in imap_seqset.h.
 * - It is fed the way the session engine delivers input (yb_session.h): a
 *   command line at a time (imap_parser_line), and a literal's bytes in
 *   chunks of any size (imap_parser_literal_data). A line that announces a
 *   literal stops the parser with IMAP_PARSE_LITERAL *before* any byte of it
 *   is read, so the caller can check the size against its limits, APPENDLIMIT
 *   and the quota and answer "+ " or refuse first. The caller then chooses to
 *   keep the literal in the parser (small values: a password, a search
 *   string) or to stream it to a sink (an APPEND of 50 MiB): the parser never
 *   buffers a streamed literal.
 * - imap_parser_feed takes raw bytes (CRLF and literals in one stream) and
 *   does the line splitting itself; the tests drive it whole and one byte at
 *   a time, and a session that is not line-based could use it.
 * - Atoms may contain a "[...]" part with spaces, lists and quoted strings
 *   inside (BODY.PEEK[HEADER.FIELDS (From To)]<0.1024>), as FETCH needs;
 *   imap_section_parse reads it. A literal inside brackets is refused.
 * - Quoted strings must be UTF-8 (RFC 9051; plain ASCII under RFC 3501). NUL
 *   is refused everywhere except in literal8; for a streamed literal a NUL is
 *   reported (IMAP_ARGF_NUL), so APPEND can decide.
 *
 * Limits (struct imap_limits, defaults below): line length, bytes of a
 * command kept in memory, literal size (in memory and streamed), the size of
 * a non-synchronising literal (LITERAL-), list nesting, argument count.
 */
#ifndef YB_IMAP_PARSE_H
#define YB_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "yb_buf.h"
#include "yb_slice.h"

#define YB_IMAP_LIMIT_LINE            (64 * 1024)   /* one line, without CRLF */
#define YB_IMAP_LIMIT_COMMAND         (1024 * 1024) /* lines + in-memory literals of a command */
#define YB_IMAP_LIMIT_LITERAL_MEM     (64 * 1024)   /* a literal kept in memory */
#define YB_IMAP_LIMIT_LITERAL         (UINT64_C(256) * 1024 * 1024) /* any literal (APPEND) */
#define YB_IMAP_LIMIT_LITERAL_NONSYNC 4096 /* {n+} under LITERAL- (RFC 7888) */
#define YB_IMAP_LIMIT_DEPTH           16   /* nested parentheses */
#define YB_IMAP_LIMIT_ARGS            4096 /* arguments, lists included, at all levels */
#define YB_IMAP_LIMIT_SECTION_PARTS   32   /* "1.2.3..." part numbers in a section */
#define YB_IMAP_LIMIT_SECTION_FIELDS  64   /* header names in HEADER.FIELDS (...) */

struct imap_limits {
    size_t line;
    size_t command;
    size_t literal_mem;
    uint64_t literal;
    uint64_t literal_nonsync; /* UINT64_MAX with LITERAL+, 4096 with LITERAL- */
    unsigned depth;
    unsigned args;
};

/* The defaults above (LITERAL- semantics for non-synchronising literals). */
void imap_limits_default(struct imap_limits *l);

enum imap_arg_type {
    IMAP_ARG_ATOM,    /* includes flags ("\Seen"), sequence sets, "BODY[...]<..>" */
    IMAP_ARG_QUOTED,  /* unescaped value */
    IMAP_ARG_LITERAL, /* value kept in memory, or streamed (IMAP_ARGF_STREAMED) */
    IMAP_ARG_NIL,     /* the atom NIL, any case */
    IMAP_ARG_LIST     /* "(" ... ")" */
};

enum {
    IMAP_ARGF_LITERAL8 = 1u << 0, /* ~{n}: binary, NUL allowed */
    IMAP_ARGF_NONSYNC = 1u << 1,  /* {n+} */
    IMAP_ARGF_STREAMED = 1u << 2, /* the bytes went to the caller's sink; only size is known */
    IMAP_ARGF_NUL = 1u << 3       /* a streamed literal (not literal8) contained NUL */
};

struct imap_arg {
    uint8_t type;          /* enum imap_arg_type */
    uint8_t flags;         /* IMAP_ARGF_* */
    uint32_t next;         /* next sibling (index), 0: none */
    uint32_t child, count; /* lists: first child (index, 0: none), number of children */
    uint64_t off;          /* value offset in the parser's data */
    uint64_t len;          /* value length; a literal's size */
};

/* Results of the feeding functions (errors are negative YB_E* codes). */
enum imap_parse_status {
    IMAP_PARSE_MORE = 0,        /* feed more input */
    IMAP_PARSE_COMMAND = 1,     /* a complete command: read it, then imap_parser_reset */
    IMAP_PARSE_LITERAL = 2,     /* a literal is announced: see imap_parser_literal_info */
    IMAP_PARSE_LITERAL_END = 3, /* the literal's last byte arrived: the next line continues */
    IMAP_PARSE_DISCARD = 4      /* imap_parser_line swallowed a line of a refused command that
                                   announces a non-synchronising literal: drop
                                   imap_parser_take_discard() bytes, then go on with lines */
};

struct imap_literal_info {
    uint64_t size;
    bool sync;      /* {n}: the client waits for "+ " */
    bool binary;    /* ~{n} */
    unsigned depth; /* list nesting it sits in (0: a top-level argument) */
    unsigned argc;  /* top-level arguments before it (APPEND: mailbox, flags, date ...) */
};

/* Where a streamed literal's bytes go. write returns 0 or a YB_E* code. */
struct imap_literal_sink {
    int (*write)(void *ctx, struct yb_slice chunk);
    void *ctx;
};

enum imap_stage {
    IMAP_STAGE_START,
    IMAP_STAGE_ARGS,        /* inside a command, after a literal */
    IMAP_STAGE_LIT_PENDING, /* announced, not yet begun */
    IMAP_STAGE_LIT_DATA,
    IMAP_STAGE_DONE,
    IMAP_STAGE_ERROR
};

struct imap_parser {
    struct imap_limits lim;
    enum imap_stage stage;
    struct yb_buf data;    /* tag, name, values (bounded by lim.command) */
    struct imap_arg *args; /* args[0] is the root list; grows up to lim.args + 1 */
    uint32_t nargs, args_cap;
    uint32_t stack[YB_IMAP_LIMIT_DEPTH + 1]; /* open lists; stack[0] = 0 (root) */
    uint32_t tail[YB_IMAP_LIMIT_DEPTH + 1];  /* last child of each open list */
    unsigned depth;
    bool need_sep; /* an argument just ended: SP, ')' or end of line must follow */
    size_t tag_off, tag_len, name_off, name_len;
    struct imap_literal_info lit;
    uint64_t lit_left;
    struct imap_literal_sink sink; /* write == NULL: kept in memory */
    bool lit_nul;
    /* errors */
    const char *err_text;
    uint64_t discard; /* non-synchronising literal bytes that follow a refused line */
    bool skip_rest;   /* after them, the rest of the refused command is swallowed */
    /* imap_parser_feed's line assembly */
    struct yb_buf line;
    bool line_too_long;
    unsigned char ltail[32]; /* the end of a line too long to keep: it may announce {n+} */
    size_t ltail_len;
};

/* Sets up a parser with limits (NULL: the defaults). No allocation until used. */
void imap_parser_init(struct imap_parser *p, const struct imap_limits *lim);
/* Frees everything the parser holds. */
void imap_parser_free(struct imap_parser *p);
/* Forgets the current command (after it was executed, or refused). Keeps discard. */
void imap_parser_reset(struct imap_parser *p);

/*
 * One command line without its CRLF: the start of a command, or its
 * continuation after a literal. Returns IMAP_PARSE_COMMAND,
 * IMAP_PARSE_LITERAL, or an error: YB_EPARSE (syntax: answer BAD), YB_EILSEQ
 * (a quoted string that is not UTF-8), YB_ELIMIT (a named limit). After an
 * error, imap_parser_tag gives the tag when one was read, err_text a reason,
 * and discard the size of a non-synchronising literal that the refused line
 * announced (those bytes follow and are not commands).
 */
int imap_parser_line(struct imap_parser *p, struct yb_slice line);

/* The literal announced by the last IMAP_PARSE_LITERAL. */
const struct imap_literal_info *imap_parser_literal_info(const struct imap_parser *p);

/*
 * Accepts the announced literal: its bytes go to sink (streamed) or, with
 * sink NULL, into the parser (YB_ELIMIT when larger than lim.literal_mem or
 * the command limit). Returns 0, or IMAP_PARSE_LITERAL_END at once for {0}.
 * To refuse a literal instead, answer and call imap_parser_reset (and drop
 * the bytes of a non-synchronising one).
 */
int imap_parser_literal_begin(struct imap_parser *p, const struct imap_literal_sink *sink);

/*
 * Bytes of the literal being read: consumes at most what the literal still
 * lacks (*used_r). Returns IMAP_PARSE_MORE, IMAP_PARSE_LITERAL_END after its
 * last byte, YB_EPARSE for NUL in an in-memory non-binary literal (reported
 * at its end, so the stream stays in step), or the sink's error (the caller
 * must then drop imap_parser_literal_left bytes).
 */
int imap_parser_literal_data(struct imap_parser *p, const void *data, size_t len, size_t *used_r);
uint64_t imap_parser_literal_left(const struct imap_parser *p);

/*
 * Refusing a command at IMAP_PARSE_LITERAL (quota, APPENDLIMIT): call this,
 * answer, then imap_parser_reset. A non-synchronising literal's bytes are on
 * their way anyway: they become discard, and the lines that finish the
 * refused command are swallowed by imap_parser_line (IMAP_PARSE_MORE).
 */
void imap_parser_refuse_literal(struct imap_parser *p);

/*
 * After any error (or imap_parser_refuse_literal): the bytes the line-based
 * caller must read and drop (yb_session_read_bytes) before giving the next
 * line; clears the count. The lines that complete the refused command are
 * then swallowed by imap_parser_line. imap_parser_feed does all this itself.
 */
uint64_t imap_parser_take_discard(struct imap_parser *p);

/*
 * Raw input: lines with CRLF (or a bare LF), literals inline. Consumes what
 * it can (*used_r) and stops at each event: IMAP_PARSE_COMMAND (call
 * imap_parser_reset after handling it), IMAP_PARSE_LITERAL (call
 * imap_parser_literal_begin or reset), or an error for a line (reset, then
 * keep feeding: a refused line's non-synchronising literal is skipped here).
 */
int imap_parser_feed(struct imap_parser *p, const void *data, size_t len, size_t *used_r);

/* ---- reading a complete command ---- */

struct yb_slice imap_parser_tag(const struct imap_parser *p);  /* "" if none was read */
struct yb_slice imap_parser_name(const struct imap_parser *p); /* as sent; compare nocase */
/* The root list (the arguments after the name). */
const struct imap_arg *imap_args(const struct imap_parser *p);
/* The i-th child of a list (O(i)), or NULL past the end. */
const struct imap_arg *imap_arg_nth(const struct imap_parser *p, const struct imap_arg *list,
                                    size_t i);
const struct imap_arg *imap_arg_next(const struct imap_parser *p, const struct imap_arg *a);
/* A string argument's bytes (atom, quoted, in-memory literal); "" for others. */
struct yb_slice imap_arg_value(const struct imap_parser *p, const struct imap_arg *a);
/* astring: atom, quoted or in-memory literal. */
bool imap_arg_is_astring(const struct imap_arg *a);
/* string: quoted or in-memory literal. */
bool imap_arg_is_string(const struct imap_arg *a);
/* An atom equal to word, ASCII case-insensitively. */
bool imap_arg_is_word(const struct imap_parser *p, const struct imap_arg *a, const char *word);

/* ---- FETCH attributes with sections ---- */

enum imap_section_kind {
    IMAP_SECT_BODY,       /* BODY[...] / BODY.PEEK[...] */
    IMAP_SECT_BINARY,     /* BINARY[...] / BINARY.PEEK[...] (RFC 3516) */
    IMAP_SECT_BINARY_SIZE /* BINARY.SIZE[...] */
};

enum imap_section_text {
    IMAP_TEXT_NONE, /* BODY[] or BODY[1.2] */
    IMAP_TEXT_HEADER,
    IMAP_TEXT_HEADER_FIELDS,
    IMAP_TEXT_HEADER_FIELDS_NOT,
    IMAP_TEXT_TEXT,
    IMAP_TEXT_MIME
};

struct imap_section {
    enum imap_section_kind kind;
    bool peek;
    uint32_t part[YB_IMAP_LIMIT_SECTION_PARTS];
    unsigned nparts;
    enum imap_section_text text;
    struct yb_slice field[YB_IMAP_LIMIT_SECTION_FIELDS]; /* views into the atom */
    unsigned nfields;
    bool partial;
    uint64_t offset;
    uint32_t length; /* nz */
};

/*
 * Parses a FETCH attribute atom such as "BODY.PEEK[1.2.HEADER.FIELDS (From
 * To)]<0.2048>" or "BINARY[2]". Returns 0, YB_ENOTFOUND when the atom is not
 * a sectioned attribute (plain "BODY", "FLAGS"...: the caller's table), or
 * YB_EPARSE / YB_ELIMIT. field slices point into atom.
 */
int imap_section_parse(struct yb_slice atom, struct imap_section *s);

#endif
