/*
 * Block sync (docs/CONSENSUS.md, "Sync"): committed blocks with their certificates, served to a
 * node that is behind and checked by it. A validator that restarted, was partitioned or is new
 * catches up this way, and an observer (a node that is not a validator) follows the whole chain
 * this way; neither trusts the node that answers: every block must carry a quorum certificate of
 * the genesis validators for exactly that block, and execute to exactly its header.
 *
 * Pure: the ledger in, frames out; no clock, socket or randomness.
 */
#ifndef BLOK_SYNC_H
#define BLOK_SYNC_H

#include "blok/ledger.h"
#include "blok/wire.h"

/* The SYNC_REPLY frame for a SYNC from height `from`: the committed blocks from there, each with
 * its certificate, at most BLOK_WIRE_SYNC_BLOCKS and one frame's worth. *count 0: the node has
 * nothing from that height (nothing to send). */
BLOK_WUR enum blok_err blok_sync_reply(struct blok_ledger *l, uint64_t from, struct blok_buf *out,
                                       uint32_t *count);

struct blok_sync_hooks {
  void *ctx;
  /* An execution this node already holds of the block with this hash (a validator's
   * uncommitted blocks), used instead of executing it again and left to the caller; NULL: none. */
  struct blok_exec *(*lookup)(void *ctx, const uint8_t hash[32]);
  /* Whether a transaction's signature was verified already (may be NULL). */
  blok_sig_known_fn known;
  /* After each block is committed, with its execution (may be NULL). */
  void (*committed)(void *ctx, const struct blok_header *h, const uint8_t hash[32],
                    const struct blok_exec *x);
};

/*
 * Applies a decoded SYNC_REPLY (m->kind BLOK_WIRE_SYNC_REPLY) to the ledger, in order: blocks at
 * or below the head are skipped; the next must extend the head, carry a certificate of the
 * genesis validators for exactly it (hash, height, round) and execute to exactly its header; it
 * is committed; and so on. It stops at the first block that does not extend the head (the rest
 * is for another branch or out of order: ask again) and at the first that is refused.
 * *done: blocks committed; *last_qc: the certificate of the last one (when *done > 0).
 * Errors: BLOK_EBADPROOF (a certificate that does not verify or names another block, a block
 * that is not what its header says), BLOK_EFORMAT (does not decode), or a store error; blocks
 * committed before the error stay committed and are counted in *done.
 */
BLOK_WUR enum blok_err blok_sync_apply(struct blok_ledger *l, const struct blok_wire_msg *m,
                                       const struct blok_sync_hooks *hooks, size_t *done,
                                       struct blok_qc *last_qc);

#endif
