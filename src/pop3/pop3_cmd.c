/*
 * pop3_cmd.c - the TRANSACTION state (STAT, LIST, UIDL, RETR, TOP, DELE,
 * RSET) and QUIT, which enters UPDATE when logged in (RFC 1939 5, 6).
 *
 * RETR and TOP stream the file through the encoder in fixed chunks, and
 * yb_session_write waits while the peer is behind, so a message of any size
 * costs two small per-thread buffers.
 */
#include "pop3_int.h"
#include "pal.h"
#include "pop3_encode.h"
#include "yb_log.h"

#include <stdio.h>
#include <string.h>

/* Message bytes read from the file at a time. */
#define POP3_RETR_CHUNK 32768
/* Room for the "+OK <n> octets" line in front of the first chunk. */
#define POP3_RETR_HEAD 64
#define POP3_RETR_OUT \
    (POP3_RETR_HEAD + POP3_RETR_CHUNK * YB_POP3_ENCODE_EXPANSION + YB_POP3_ENCODE_FINISH_MAX)

/* Message num (1-based) if it exists and is not deleted; else answers and returns NULL. */
static struct pop3_msg *message(struct yb_session *s, struct pop3_session *ps, uint32_t num)
{
    if (num == 0 || num > ps->md->n || ps->md->msgs[num - 1].deleted) {
        pop3_reply(s, "-ERR No such message");
        return NULL;
    }
    return &ps->md->msgs[num - 1];
}

void pop3_cmd_stat(struct yb_session *s, struct pop3_session *ps)
{
    const struct pop3_maildrop *md = ps->md;
    pop3_reply(s, "+OK %llu %llu", (unsigned long long)(md->n - md->ndeleted),
               (unsigned long long)(md->total - md->deleted_bytes));
}

void pop3_cmd_list(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd,
                   bool uidl)
{
    const struct pop3_maildrop *md = ps->md;
    if (cmd->nargs == 1) {
        const struct pop3_msg *m = message(s, ps, cmd->num[0]);
        if (m == NULL)
            return;
        if (uidl)
            pop3_reply(s, "+OK %lu %s", (unsigned long)cmd->num[0], m->uidl);
        else
            pop3_reply(s, "+OK %lu %llu", (unsigned long)cmd->num[0], (unsigned long long)m->size);
        return;
    }
    /* One write per batch of lines rather than one per message. */
    char buf[8192];
    size_t o = 0;
    int n = uidl ? snprintf(buf, sizeof buf, "+OK Unique-ID listing follows\r\n")
                 : snprintf(buf, sizeof buf, "+OK %llu messages (%llu octets)\r\n",
                            (unsigned long long)(md->n - md->ndeleted),
                            (unsigned long long)(md->total - md->deleted_bytes));
    o = (size_t)n;
    for (size_t i = 0; i < md->n; i++) {
        const struct pop3_msg *m = &md->msgs[i];
        if (m->deleted)
            continue;
        if (sizeof buf - o < YB_POP3_UIDL_MAX + 32) {
            if (yb_session_write(s, buf, o) != 0)
                return;
            o = 0;
        }
        n = uidl ? snprintf(buf + o, sizeof buf - o, "%llu %s\r\n", (unsigned long long)(i + 1),
                            m->uidl)
                 : snprintf(buf + o, sizeof buf - o, "%llu %llu\r\n", (unsigned long long)(i + 1),
                            (unsigned long long)m->size);
        o += (size_t)n;
    }
    memcpy(buf + o, ".\r\n", 3);
    yb_session_write(s, buf, o + 3);
}

/* Streams message m through the encoder; false when the connection must end. */
static bool stream(struct yb_session *s, struct pal_file *f, const struct pop3_msg *m,
                   struct pop3_encoder *e)
{
    static _Thread_local unsigned char in[POP3_RETR_CHUNK], out[POP3_RETR_OUT];
    int n =
        snprintf((char *)out, POP3_RETR_HEAD, "+OK %llu octets\r\n", (unsigned long long)m->size);
    size_t o = (size_t)n;
    for (;;) {
        size_t got = 0, pos = 0;
        int rc = pal_fs_read(f, in, sizeof in, &got);
        if (rc != 0)
            return false; /* "+OK" is out: the only honest end is to hang up */
        while (pos < got && !pop3_encoder_done(e)) {
            size_t used = 0;
            o += pop3_encode(e, in + pos, got - pos, out + o,
                             sizeof out - o - YB_POP3_ENCODE_FINISH_MAX, &used);
            pos += used;
            if (pos < got && !pop3_encoder_done(e)) {
                if (yb_session_write(s, out, o) != 0)
                    return false;
                o = 0;
            }
        }
        if (got == 0 || pop3_encoder_done(e))
            break;
        if (o >= POP3_RETR_CHUNK) {
            if (yb_session_write(s, out, o) != 0)
                return false;
            o = 0;
        }
    }
    o += pop3_encode_finish(e, out + o, true);
    return yb_session_write(s, out, o) == 0;
}

void pop3_cmd_retr(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd)
{
    struct pop3_msg *m = message(s, ps, cmd->num[0]);
    if (m == NULL)
        return;
    struct pal_file *f = NULL;
    int rc = pop3_maildrop_open_msg(ps->md, cmd->num[0] - 1, &f);
    if (rc == YB_ENOENT) {
        pop3_reply(s, "-ERR Message was removed by another session");
        return;
    }
    if (rc != 0) {
        yb_log_error("pop3", "%s: %s: cannot open %s: %s", ps->tag, ps->login, m->name,
                     yb_strerror(rc));
        pop3_reply(s, "-ERR [SYS/TEMP] Cannot read the message");
        return;
    }
    struct pop3_encoder e;
    pop3_encoder_init(&e, cmd->verb == POP3_TOP, cmd->verb == POP3_TOP ? cmd->num[1] : 0);
    if (!stream(s, f, m, &e)) {
        yb_log_info("pop3", "%s: %s: %s of %s ended early", ps->tag, ps->login,
                    pop3_verb_name(cmd->verb), m->name);
        yb_session_close(s);
        pop3_set_state(ps, POP3_ST_DONE);
    }
    pal_fs_close(&f);
}

void pop3_cmd_dele(struct yb_session *s, struct pop3_session *ps, const struct pop3_cmd *cmd)
{
    struct pop3_msg *m = message(s, ps, cmd->num[0]);
    if (m == NULL)
        return;
    m->deleted = true;
    ps->md->ndeleted++;
    ps->md->deleted_bytes += m->size;
    pop3_reply(s, "+OK Message %lu deleted", (unsigned long)cmd->num[0]);
}

void pop3_cmd_rset(struct yb_session *s, struct pop3_session *ps)
{
    struct pop3_maildrop *md = ps->md;
    for (size_t i = 0; i < md->n; i++)
        md->msgs[i].deleted = false;
    md->ndeleted = 0;
    md->deleted_bytes = 0;
    pop3_reply(s, "+OK %llu messages (%llu octets)", (unsigned long long)md->n,
               (unsigned long long)md->total);
}

void pop3_cmd_quit(struct yb_session *s, struct pop3_session *ps)
{
    if (ps->state != POP3_ST_TRANSACTION) {
        pop3_reply(s, "+OK yubin POP3 server signing off");
    } else {
        /* UPDATE (RFC 1939 6): only now do deletions happen. */
        size_t removed = 0, asked = ps->md->ndeleted;
        int rc = pop3_maildrop_commit(ps->md, &removed);
        size_t left = ps->md->n - removed;
        yb_log_info("pop3", "%s %s: %s quit, %llu of %llu deleted messages removed, %llu left",
                    ps->tag, yb_session_peer_ip(s), ps->login, (unsigned long long)removed,
                    (unsigned long long)asked, (unsigned long long)left);
        if (rc != 0) {
            yb_log_error("pop3", "%s: %s: removing deleted messages: %s", ps->tag, ps->login,
                         yb_strerror(rc));
            pop3_reply(s, "-ERR [SYS/TEMP] Some deleted messages were not removed");
        } else {
            pop3_reply(s, "+OK yubin POP3 server signing off (%llu messages left)",
                       (unsigned long long)left);
        }
        pop3_maildrop_close(&ps->md);
    }
    yb_session_close(s);
    pop3_set_state(ps, POP3_ST_DONE);
}
