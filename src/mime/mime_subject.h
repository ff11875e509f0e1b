/*
 * mime_subject.h - the RFC 5256 base subject, for SORT (SUBJECT) and
 * THREAD=ORDEREDSUBJECT / THREAD=REFERENCES.
 *
 * What it promises: mime_base_subject applies RFC 5256 section 2.1 exactly:
 * RFC 2047 words decoded to UTF-8, whitespace runs made one space, then
 * trailing "(fwd)", leading "Re:", "Fw:", "Fwd:" with their "[blob]"s,
 * a leading "[blob]" that leaves something behind, and "[fwd: ...]"
 * wrappers removed until nothing changes. It also says whether anything
 * that marks a reply or a forward was removed (ORDEREDSUBJECT needs it). The
 * result keeps its case: comparing base subjects is the collation's job.
 *
 * Limits: the output buffer's maximum; the work is linear in the subject.
 */
#ifndef YB_MIME_SUBJECT_H
#define YB_MIME_SUBJECT_H

#include <stdbool.h>
#include "yb_buf.h"
#include "yb_slice.h"

/*
 * Appends the base subject of a raw Subject value to out. *reply_r (may be
 * NULL) becomes true when a "Re:", "Fwd:", "(fwd)" or "[fwd: ]" was removed.
 * Returns 0, YB_ELIMIT, YB_ENOMEM.
 */
int mime_base_subject(struct yb_slice raw, struct yb_buf *out, bool *reply_r);

#endif
