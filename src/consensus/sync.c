/*
 * Block sync (blok/sync.h): answering a SYNC from the ledger's committed blocks, and checking
 * and committing the blocks of a SYNC_REPLY. Shared by the replica (a validator that is behind)
 * and the node's observer mode (a node that only follows).
 */
#include <stdlib.h>
#include <string.h>

#include "blok/sync.h"
#include "blok/banned.h"

#define SYNC_QC_BYTES_MAX (1 << 16)

enum blok_err blok_sync_reply(struct blok_ledger *l, uint64_t from, struct blok_buf *out,
                              uint32_t *count) {
  struct blok_header head;
  blok_ledger_head(l, &head, NULL);
  *count = 0;
  BLOK_TRY(blok_wire_sync_reply_begin(out));
  struct blok_buf block, qc;
  blok_buf_init(&block, BLOK_BLOCK_BYTES_MAX);
  blok_buf_init(&qc, SYNC_QC_BYTES_MAX);
  enum blok_err rc = BLOK_OK;
  for (uint64_t h = from < 1 ? 1 : from;
       rc == BLOK_OK && h <= head.height && *count < BLOK_WIRE_SYNC_BLOCKS; h++) {
    blok_buf_clear(&block);
    blok_buf_clear(&qc);
    rc = blok_ledger_block(l, h, &block, &qc);
    if (rc == BLOK_OK) rc = blok_wire_sync_reply_add(out, block.data, block.len, qc.data, qc.len);
    if (rc == BLOK_OK) (*count)++;
  }
  blok_buf_release(&block);
  blok_buf_release(&qc);
  if (rc == BLOK_EFULL) rc = BLOK_OK; /* the frame is full: the rest in the next reply */
  BLOK_TRY(rc);
  blok_wire_sync_reply_end(out, *count);
  return BLOK_OK;
}

/* The certificate of item i, which must be the genesis validators' quorum for exactly h. */
static enum blok_err check_qc(struct blok_ledger *l, const struct blok_wire_msg *m, size_t i,
                              const struct blok_header *h, const uint8_t hash[32],
                              struct blok_qc *qc) {
  const struct blok_genesis *g = blok_ledger_genesis(l);
  struct blok_reader rd;
  blok_reader_init(&rd, m->qcs[i], m->qc_lens[i]);
  BLOK_TRY(blok_qc_decode(&rd, qc));
  BLOK_TRY(blok_dec_end(&rd));
  if (memcmp(qc->vote.block_hash, hash, 32) != 0 || qc->vote.height != h->height ||
      qc->vote.round != h->round)
    return BLOK_EBADPROOF;
  enum blok_err rc = blok_qc_verify(qc, g->chain_id, &g->validators[0][0], g->validator_count);
  return rc == BLOK_OK ? BLOK_OK : BLOK_EBADPROOF;
}

/* One block of the reply, known to extend the head: checked, executed (unless the caller holds
 * an execution of it) and committed. */
static enum blok_err apply_one(struct blok_ledger *l, const struct blok_wire_msg *m, size_t i,
                               const struct blok_header *h, const uint8_t hash[32],
                               const struct blok_sync_hooks *hooks, struct blok_qc *qc) {
  BLOK_TRY(check_qc(l, m, i, h, hash, qc));
  struct blok_exec *held = hooks && hooks->lookup ? hooks->lookup(hooks->ctx, hash) : NULL;
  struct blok_exec *x = held;
  struct blok_why why = {{0}};
  enum blok_err rc = BLOK_OK;
  if (x == NULL)
    rc = blok_exec_block(l, NULL, m->items[i], m->item_lens[i], hooks ? hooks->known : NULL,
                         hooks ? hooks->ctx : NULL, &x, &why);
  if (rc == BLOK_OK) rc = blok_ledger_commit(l, x, qc);
  if (rc == BLOK_OK && hooks && hooks->committed) hooks->committed(hooks->ctx, h, hash, x);
  if (held == NULL) blok_exec_free(x);
  return rc;
}

enum blok_err blok_sync_apply(struct blok_ledger *l, const struct blok_wire_msg *m,
                              const struct blok_sync_hooks *hooks, size_t *done,
                              struct blok_qc *last_qc) {
  *done = 0;
  if (m->kind != BLOK_WIRE_SYNC_REPLY) return BLOK_EINVAL;
  struct blok_qc *qc = malloc(sizeof *qc);
  if (qc == NULL) return BLOK_ENOMEM;
  enum blok_err rc = BLOK_OK;
  for (size_t i = 0; rc == BLOK_OK && i < m->count; i++) {
    struct blok_header head, h;
    uint8_t head_hash[32], hash[32];
    blok_ledger_head(l, &head, head_hash);
    struct blok_reader rd;
    blok_reader_init(&rd, m->items[i], m->item_lens[i]);
    rc = blok_header_decode(&rd, &h);
    if (rc == BLOK_OK) rc = blok_header_hash(&h, hash);
    if (rc != BLOK_OK) break;
    if (h.height <= head.height) continue;
    if (h.height != head.height + 1 || memcmp(h.parent, head_hash, 32) != 0) break;
    rc = apply_one(l, m, i, &h, hash, hooks, qc);
    if (rc == BLOK_OK) {
      (*done)++;
      *last_qc = *qc;
    }
  }
  free(qc);
  return rc;
}
