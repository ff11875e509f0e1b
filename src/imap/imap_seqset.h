/*
 * imap_seqset.h - IMAP sequence sets and UID sets (RFC 3501 9 "sequence-set",
 * RFC 9051, RFC 5182 "$").
 *
 * What it promises:
 * - imap_seqset_parse reads "1:4,7,10:*" strictly: numbers are nz-number
 *   (1..4294967295, no leading zero), ranges may be written high:low, "*"
 *   stands for the largest number in use and is kept symbolic until
 *   imap_seqset_resolve gives it a value. "$" (SEARCHRES) is accepted alone
 *   and reported, so the caller substitutes the saved result.
 * - The parsed set holds at most YB_IMAP_LIMIT_SEQ_RANGES ranges, so a 64 KiB
 *   command line of "1,3,5,..." is bounded; a larger set is YB_ELIMIT.
 * - A resolved set is sorted, merged and clipped, and walking it costs
 *   O(ranges + messages), never O(the numbers written): "1:4294967295" over a
 *   mailbox of 10 messages is one range and 10 steps.
 */
#ifndef YB_IMAP_SEQSET_H
#define YB_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "yb_slice.h"

/* Ranges in one sequence set ("1,3,5,..." in a 64 KiB line has ~16,000). */
#define YB_IMAP_LIMIT_SEQ_RANGES 16384

/* "*" before resolution: no real number is this large (nz-number < 2^32). */
#define IMAP_SEQ_STAR UINT64_C(0x100000000)

struct imap_range {
    uint64_t lo, hi; /* lo <= hi after resolution; either may be IMAP_SEQ_STAR before */
};

struct imap_seqset {
    struct imap_range *r; /* malloc'ed, n entries */
    size_t n, cap;
    bool saved;    /* the set was "$": the caller substitutes the saved SEARCH result */
    bool has_star; /* "*" appears (resolution depends on the mailbox) */
};

/* An empty set (no allocation). */
void imap_seqset_init(struct imap_seqset *s);

/* Frees the ranges; the set is empty again. */
void imap_seqset_free(struct imap_seqset *s);

/*
 * Parses text as a sequence set into s (which must be empty or freed).
 * Returns 0; YB_EPARSE for bad syntax (empty, "0", leading zero, trailing
 * comma, a number above 4294967295, any other byte); YB_ELIMIT past
 * YB_IMAP_LIMIT_SEQ_RANGES ranges; YB_ENOMEM. On error s is empty.
 */
int imap_seqset_parse(struct yb_slice text, struct imap_seqset *s);

/*
 * Replaces "*" by star (the highest sequence number or UID in use; 0 in an
 * empty mailbox), orders each range, drops what lies wholly at 0, then sorts
 * and merges the ranges in place. Idempotent once resolved. A "$" set must
 * have been substituted first (YB_EINVAL otherwise).
 */
int imap_seqset_resolve(struct imap_seqset *s, uint32_t star);

/* Appends the range lo..hi (any order) to s, for building sets (SEARCH results, COPYUID). */
int imap_seqset_add(struct imap_seqset *s, uint32_t lo, uint32_t hi);

/* True when the resolved set contains v (binary search). */
bool imap_seqset_contains(const struct imap_seqset *s, uint32_t v);

/* Numbers in the resolved set (what a caller reports or sizes a result by). */
uint64_t imap_seqset_count(const struct imap_seqset *s);

/*
 * Iterates the sequence numbers of a resolved set that exist in a mailbox of
 * `count` messages, in ascending order: O(ranges + count).
 */
struct imap_seq_iter {
    const struct imap_seqset *s;
    size_t ri;
    uint64_t next;
    uint32_t count;
};
void imap_seq_iter_init(struct imap_seq_iter *it, const struct imap_seqset *s, uint32_t count);
bool imap_seq_iter_next(struct imap_seq_iter *it, uint32_t *seq_r);

/*
 * Iterates the messages of a mailbox whose UIDs (uids[0..n), strictly
 * ascending) are in a resolved UID set, returning their index into uids (the
 * sequence number minus one): O(ranges * log n + matches).
 */
struct imap_uid_iter {
    const struct imap_seqset *s;
    const uint32_t *uids;
    size_t n, ri, i;
};
void imap_uid_iter_init(struct imap_uid_iter *it, const struct imap_seqset *s, const uint32_t *uids,
                        size_t n);
bool imap_uid_iter_next(struct imap_uid_iter *it, size_t *index_r);

/*
 * Writes a resolved set in its shortest IMAP form ("1:3,7") into out
 * (outcap bytes, NUL-terminated when room remains) and sets *len_r. Returns
 * YB_ERANGE when it does not fit; "" for an empty set.
 */
int imap_seqset_format(const struct imap_seqset *s, char *out, size_t outcap, size_t *len_r);

#endif
