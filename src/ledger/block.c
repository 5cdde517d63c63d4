/*
 * Block headers, votes and quorum certificates (blok/block.h).
 */
#include <string.h>

#include "blok/block.h"
#include "blok/sha256.h"
#include "blok/banned.h"

enum blok_err blok_header_encode(struct blok_buf *out, const struct blok_header *h) {
  if (h->version != BLOK_BLOCK_VERSION || !blok_sign_chain_id_valid(h->chain_id))
    return BLOK_EINVAL;
  BLOK_TRY(blok_enc_u8(out, h->version));
  BLOK_TRY(blok_enc_text(out, h->chain_id, strlen(h->chain_id), BLOK_SIGN_CHAIN_ID_MAX));
  BLOK_TRY(blok_enc_u64(out, h->height));
  BLOK_TRY(blok_enc_u64(out, h->epoch));
  BLOK_TRY(blok_enc_u64(out, h->round));
  BLOK_TRY(blok_enc_fixed(out, h->parent, 32));
  BLOK_TRY(blok_enc_u64(out, h->timestamp_ms));
  BLOK_TRY(blok_enc_fixed(out, h->proposer, 32));
  BLOK_TRY(blok_enc_u32(out, h->tx_count));
  BLOK_TRY(blok_enc_fixed(out, h->tx_root, 32));
  BLOK_TRY(blok_enc_fixed(out, h->results_root, 32));
  BLOK_TRY(blok_enc_fixed(out, h->state_root, 32));
  return blok_enc_fixed(out, h->validators_hash, 32);
}

enum blok_err blok_header_decode(struct blok_reader *r, struct blok_header *h) {
  const char *cid;
  size_t n;
  memset(h, 0, sizeof *h);
  BLOK_TRY(blok_dec_u8(r, &h->version));
  if (h->version != BLOK_BLOCK_VERSION) return BLOK_EFORMAT;
  BLOK_TRY(blok_dec_text(r, &cid, &n, BLOK_SIGN_CHAIN_ID_MAX));
  memcpy(h->chain_id, cid, n);
  h->chain_id[n] = '\0';
  if (strlen(h->chain_id) != n || !blok_sign_chain_id_valid(h->chain_id)) return BLOK_EBADTAG;
  BLOK_TRY(blok_dec_u64(r, &h->height));
  BLOK_TRY(blok_dec_u64(r, &h->epoch));
  BLOK_TRY(blok_dec_u64(r, &h->round));
  BLOK_TRY(blok_dec_fixed(r, h->parent, 32));
  BLOK_TRY(blok_dec_u64(r, &h->timestamp_ms));
  BLOK_TRY(blok_dec_fixed(r, h->proposer, 32));
  BLOK_TRY(blok_dec_u32(r, &h->tx_count));
  if (h->tx_count > BLOK_BLOCK_TXS_MAX) return BLOK_ETOOLONG;
  BLOK_TRY(blok_dec_fixed(r, h->tx_root, 32));
  BLOK_TRY(blok_dec_fixed(r, h->results_root, 32));
  BLOK_TRY(blok_dec_fixed(r, h->state_root, 32));
  return blok_dec_fixed(r, h->validators_hash, 32);
}

enum blok_err blok_header_hash(const struct blok_header *h, uint8_t out[32]) {
  uint8_t mem[BLOK_HEADER_ENCODED_MAX];
  struct blok_buf b = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  BLOK_TRY(blok_header_encode(&b, h));
  blok_sha256(out, b.data, b.len);
  return BLOK_OK;
}

enum blok_err blok_vote_encode(struct blok_buf *out, const struct blok_vote_data *v) {
  BLOK_TRY(blok_enc_u64(out, v->epoch));
  BLOK_TRY(blok_enc_u64(out, v->round));
  BLOK_TRY(blok_enc_u64(out, v->height));
  return blok_enc_fixed(out, v->block_hash, 32);
}

static enum blok_err vote_bytes(const struct blok_vote_data *v, uint8_t mem[56]) {
  struct blok_buf b = {.data = mem, .cap = 56, .size_bytes_max = 56};
  return blok_vote_encode(&b, v);
}

enum blok_err blok_vote_sign(uint8_t sig[BLOK_SIGN_SIG_LEN], const char *chain_id,
                             const struct blok_vote_data *v, const struct blok_sign_keypair *kp) {
  uint8_t m[56];
  BLOK_TRY(vote_bytes(v, m));
  return blok_sign_domain(sig, kp, BLOK_VOTE_TAG, chain_id, m, sizeof m);
}

static bool signer(const struct blok_qc *qc, size_t i) {
  return (qc->signers[i / 8] >> (i % 8)) & 1;
}

enum blok_err blok_qc_encode(struct blok_buf *out, const struct blok_qc *qc) {
  BLOK_ASSERT(qc->validator_count <= BLOK_VALIDATORS_MAX && qc->sig_count <= qc->validator_count);
  BLOK_TRY(blok_vote_encode(out, &qc->vote));
  BLOK_TRY(blok_enc_u16(out, qc->validator_count));
  BLOK_TRY(blok_enc_fixed(out, qc->signers, (qc->validator_count + 7u) / 8u));
  BLOK_TRY(blok_enc_count(out, qc->sig_count, BLOK_VALIDATORS_MAX));
  for (size_t i = 0; i < qc->sig_count; i++)
    BLOK_TRY(blok_enc_fixed(out, qc->sigs[i], 64));
  return BLOK_OK;
}

enum blok_err blok_qc_decode(struct blok_reader *r, struct blok_qc *qc) {
  size_t count;
  memset(qc, 0, sizeof *qc);
  BLOK_TRY(blok_dec_u64(r, &qc->vote.epoch));
  BLOK_TRY(blok_dec_u64(r, &qc->vote.round));
  BLOK_TRY(blok_dec_u64(r, &qc->vote.height));
  BLOK_TRY(blok_dec_fixed(r, qc->vote.block_hash, 32));
  BLOK_TRY(blok_dec_u16(r, &qc->validator_count));
  if (qc->validator_count == 0 || qc->validator_count > BLOK_VALIDATORS_MAX) return BLOK_EFORMAT;
  BLOK_TRY(blok_dec_fixed(r, qc->signers, (qc->validator_count + 7u) / 8u));
  BLOK_TRY(blok_dec_count(r, &count, qc->validator_count));
  for (size_t i = 0; i < count; i++)
    BLOK_TRY(blok_dec_fixed(r, qc->sigs[i], 64));
  qc->sig_count = (uint16_t)count;
  return BLOK_OK;
}

size_t blok_quorum(size_t n) {
  return n * 2 / 3 + 1;
}

enum blok_err blok_qc_verify(const struct blok_qc *qc, const char *chain_id,
                             const uint8_t *validators, size_t n) {
  if (qc->validator_count != n || n == 0 || n > BLOK_VALIDATORS_MAX) return BLOK_EBADPROOF;
  size_t signers = 0;
  for (size_t i = 0; i < BLOK_VALIDATORS_MAX; i++)
    if (signer(qc, i)) {
      if (i >= n) return BLOK_EBADPROOF; /* a bit past the last validator */
      signers++;
    }
  if (signers != qc->sig_count || signers < blok_quorum(n)) return BLOK_EBADPROOF;
  uint8_t m[56];
  BLOK_TRY(vote_bytes(&qc->vote, m));
  for (size_t i = 0, k = 0; i < n; i++) {
    if (!signer(qc, i)) continue;
    BLOK_TRY(blok_verify_domain(qc->sigs[k++], validators + 32 * i, BLOK_VOTE_TAG, chain_id, m,
                                sizeof m));
  }
  return BLOK_OK;
}

enum blok_err blok_validators_hash(const uint8_t *validators, size_t n, uint8_t out[32]) {
  struct blok_buf b;
  blok_buf_init(&b, 4 + 32 * BLOK_VALIDATORS_MAX);
  enum blok_err rc = blok_enc_count(&b, n, BLOK_VALIDATORS_MAX);
  for (size_t i = 0; rc == BLOK_OK && i < n; i++)
    rc = blok_enc_fixed(&b, validators + 32 * i, 32);
  if (rc == BLOK_OK) blok_sha256(out, b.data, b.len);
  blok_buf_release(&b);
  return rc;
}
