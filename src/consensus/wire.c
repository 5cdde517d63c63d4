/*
 * Validator message frames (blok/wire.h, docs/PROTOCOL.md "Validator messages"). Every frame is
 * u8 kind || body in the canonical codec; decoding bounds every length and refuses anything
 * left over.
 */
#include <string.h>

#include "blok/wire.h"
#include "blok/banned.h"

enum blok_err blok_tc_encode(struct blok_buf *b, const struct blok_tc *tc) {
  BLOK_ASSERT(tc->validator_count <= BLOK_VALIDATORS_MAX && tc->sig_count <= tc->validator_count);
  BLOK_TRY(blok_enc_u64(b, tc->epoch));
  BLOK_TRY(blok_enc_u64(b, tc->round));
  BLOK_TRY(blok_enc_u16(b, tc->validator_count));
  BLOK_TRY(blok_enc_fixed(b, tc->signers, (tc->validator_count + 7u) / 8u));
  BLOK_TRY(blok_enc_count(b, tc->sig_count, BLOK_VALIDATORS_MAX));
  for (size_t i = 0; i < tc->sig_count; i++) {
    BLOK_TRY(blok_enc_u64(b, tc->hqc_rounds[i]));
    BLOK_TRY(blok_enc_fixed(b, tc->sigs[i], BLOK_SIGN_SIG_LEN));
  }
  return BLOK_OK;
}

enum blok_err blok_tc_decode(struct blok_reader *r, struct blok_tc *tc) {
  size_t count;
  memset(tc, 0, sizeof *tc);
  BLOK_TRY(blok_dec_u64(r, &tc->epoch));
  BLOK_TRY(blok_dec_u64(r, &tc->round));
  BLOK_TRY(blok_dec_u16(r, &tc->validator_count));
  if (tc->validator_count == 0 || tc->validator_count > BLOK_VALIDATORS_MAX) return BLOK_EFORMAT;
  BLOK_TRY(blok_dec_fixed(r, tc->signers, (tc->validator_count + 7u) / 8u));
  BLOK_TRY(blok_dec_count(r, &count, tc->validator_count));
  for (size_t i = 0; i < count; i++) {
    BLOK_TRY(blok_dec_u64(r, &tc->hqc_rounds[i]));
    BLOK_TRY(blok_dec_fixed(r, tc->sigs[i], BLOK_SIGN_SIG_LEN));
  }
  tc->sig_count = (uint16_t)count;
  return BLOK_OK;
}

static enum blok_err start(struct blok_buf *b, enum blok_wire_kind k) {
  blok_buf_clear(b);
  return blok_enc_u8(b, (uint8_t)k);
}

enum blok_err blok_wire_proposal(struct blok_buf *b, const struct blok_cons_proposal *p,
                                 const uint8_t *block, size_t block_len) {
  BLOK_TRY(start(b, BLOK_WIRE_PROPOSAL));
  BLOK_TRY(blok_enc_bytes(b, block, block_len, BLOK_BLOCK_BYTES_MAX));
  BLOK_TRY(blok_qc_encode(b, &p->qc));
  BLOK_TRY(blok_enc_bool(b, p->has_tc));
  if (p->has_tc) BLOK_TRY(blok_tc_encode(b, &p->tc));
  return blok_enc_fixed(b, p->sig, BLOK_SIGN_SIG_LEN);
}

enum blok_err blok_wire_vote(struct blok_buf *b, const struct blok_cons_vote *v) {
  BLOK_TRY(start(b, BLOK_WIRE_VOTE));
  BLOK_TRY(blok_enc_u16(b, v->from));
  BLOK_TRY(blok_vote_encode(b, &v->vote));
  return blok_enc_fixed(b, v->sig, BLOK_SIGN_SIG_LEN);
}

enum blok_err blok_wire_timeout(struct blok_buf *b, const struct blok_cons_timeout *t) {
  const struct blok_tc *tc = t->has_tc ? &t->tc : NULL;
  BLOK_TRY(start(b, BLOK_WIRE_TIMEOUT));
  BLOK_TRY(blok_enc_u16(b, t->from));
  BLOK_TRY(blok_enc_u64(b, t->epoch));
  BLOK_TRY(blok_enc_u64(b, t->round));
  BLOK_TRY(blok_qc_encode(b, &t->high_qc));
  BLOK_TRY(blok_enc_fixed(b, t->sig, BLOK_SIGN_SIG_LEN));
  BLOK_TRY(blok_enc_bool(b, tc != NULL));
  return tc ? blok_tc_encode(b, tc) : BLOK_OK;
}

enum blok_err blok_wire_qc(struct blok_buf *b, const struct blok_qc *qc) {
  BLOK_TRY(start(b, BLOK_WIRE_QC));
  return blok_qc_encode(b, qc);
}

enum blok_err blok_wire_fetch(struct blok_buf *b, const uint8_t hash[32]) {
  BLOK_TRY(start(b, BLOK_WIRE_FETCH));
  return blok_enc_fixed(b, hash, 32);
}

enum blok_err blok_wire_sync(struct blok_buf *b, uint64_t height) {
  BLOK_TRY(start(b, BLOK_WIRE_SYNC));
  return blok_enc_u64(b, height);
}

enum blok_err blok_wire_sync_reply_begin(struct blok_buf *b) {
  BLOK_TRY(start(b, BLOK_WIRE_SYNC_REPLY));
  return blok_enc_u32(b, 0); /* the count, written at the end */
}

enum blok_err blok_wire_sync_reply_add(struct blok_buf *b, const uint8_t *block, size_t block_len,
                                       const uint8_t *qc, size_t qc_len) {
  if (b->len + 8 + block_len + qc_len > BLOK_WIRE_FRAME_MAX) return BLOK_EFULL;
  BLOK_TRY(blok_enc_bytes(b, block, block_len, BLOK_BLOCK_BYTES_MAX));
  return blok_enc_bytes(b, qc, qc_len, 1u << 16);
}

void blok_wire_sync_reply_end(struct blok_buf *b, uint32_t count) {
  BLOK_ASSERT(b->len >= 5 && count <= BLOK_WIRE_SYNC_BLOCKS);
  for (int i = 0; i < 4; i++)
    b->data[1 + i] = (uint8_t)(count >> (8 * i));
}

enum blok_err blok_wire_txs(struct blok_buf *b, const uint8_t *const *txs, const size_t *lens,
                            size_t count) {
  BLOK_TRY(start(b, BLOK_WIRE_TXS));
  BLOK_TRY(blok_enc_count(b, count, BLOK_WIRE_TXS_MAX));
  for (size_t i = 0; i < count; i++)
    BLOK_TRY(blok_enc_bytes(b, txs[i], lens[i], BLOK_TX_ENCODED_MAX));
  return BLOK_OK;
}

static enum blok_err dec_proposal(struct blok_reader *r, struct blok_wire_msg *m) {
  struct blok_cons_proposal *p = &m->cons.u.proposal;
  m->cons.kind = BLOK_CONS_MSG_PROPOSAL;
  BLOK_TRY(blok_dec_bytes(r, &m->block, &m->block_len, BLOK_BLOCK_BYTES_MAX));
  struct blok_reader br;
  blok_reader_init(&br, m->block, m->block_len);
  BLOK_TRY(blok_header_decode(&br, &p->header));
  BLOK_TRY(blok_qc_decode(r, &p->qc));
  BLOK_TRY(blok_dec_bool(r, &p->has_tc));
  if (p->has_tc) BLOK_TRY(blok_tc_decode(r, &p->tc));
  return blok_dec_fixed(r, p->sig, BLOK_SIGN_SIG_LEN);
}

static enum blok_err dec_timeout(struct blok_reader *r, struct blok_wire_msg *m) {
  struct blok_cons_timeout *t = &m->cons.u.timeout;
  m->cons.kind = BLOK_CONS_MSG_TIMEOUT;
  BLOK_TRY(blok_dec_u16(r, &t->from));
  BLOK_TRY(blok_dec_u64(r, &t->epoch));
  BLOK_TRY(blok_dec_u64(r, &t->round));
  BLOK_TRY(blok_qc_decode(r, &t->high_qc));
  BLOK_TRY(blok_dec_fixed(r, t->sig, BLOK_SIGN_SIG_LEN));
  BLOK_TRY(blok_dec_bool(r, &t->has_tc));
  return t->has_tc ? blok_tc_decode(r, &t->tc) : BLOK_OK;
}

static enum blok_err dec_list(struct blok_reader *r, struct blok_wire_msg *m, size_t max,
                              bool with_qc) {
  BLOK_TRY(blok_dec_count(r, &m->count, max));
  for (size_t i = 0; i < m->count; i++) {
    BLOK_TRY(blok_dec_bytes(r, &m->items[i], &m->item_lens[i],
                            with_qc ? BLOK_BLOCK_BYTES_MAX : BLOK_TX_ENCODED_MAX));
    if (with_qc) BLOK_TRY(blok_dec_bytes(r, &m->qcs[i], &m->qc_lens[i], 1u << 16));
  }
  return BLOK_OK;
}

static enum blok_err dec_body(struct blok_reader *r, struct blok_wire_msg *m) {
  switch (m->kind) {
    case BLOK_WIRE_PROPOSAL:
      return dec_proposal(r, m);
    case BLOK_WIRE_VOTE:
      m->cons.kind = BLOK_CONS_MSG_VOTE;
      BLOK_TRY(blok_dec_u16(r, &m->cons.u.vote.from));
      BLOK_TRY(blok_dec_u64(r, &m->cons.u.vote.vote.epoch));
      BLOK_TRY(blok_dec_u64(r, &m->cons.u.vote.vote.round));
      BLOK_TRY(blok_dec_u64(r, &m->cons.u.vote.vote.height));
      BLOK_TRY(blok_dec_fixed(r, m->cons.u.vote.vote.block_hash, 32));
      return blok_dec_fixed(r, m->cons.u.vote.sig, BLOK_SIGN_SIG_LEN);
    case BLOK_WIRE_TIMEOUT:
      return dec_timeout(r, m);
    case BLOK_WIRE_FETCH:
      return blok_dec_fixed(r, m->hash, 32);
    case BLOK_WIRE_SYNC:
      return blok_dec_u64(r, &m->height);
    case BLOK_WIRE_SYNC_REPLY:
      return dec_list(r, m, BLOK_WIRE_SYNC_BLOCKS, true);
    case BLOK_WIRE_TXS:
      return dec_list(r, m, BLOK_WIRE_TXS_MAX, false);
    case BLOK_WIRE_QC:
      m->cons.kind = BLOK_CONS_MSG_QC;
      return blok_qc_decode(r, &m->cons.u.qc);
  }
  return BLOK_EFORMAT;
}

enum blok_err blok_wire_decode(struct blok_wire_msg *m, const uint8_t *frame, size_t len) {
  struct blok_reader r;
  uint8_t kind;
  if (len > BLOK_WIRE_FRAME_MAX) return BLOK_ETOOLONG;
  blok_reader_init(&r, frame, len);
  BLOK_TRY(blok_dec_u8(&r, &kind));
  m->kind = (enum blok_wire_kind)kind;
  m->count = 0;
  if (kind < BLOK_WIRE_PROPOSAL || kind > BLOK_WIRE_QC) return BLOK_EFORMAT;
  BLOK_TRY(dec_body(&r, m));
  return blok_dec_end(&r);
}
