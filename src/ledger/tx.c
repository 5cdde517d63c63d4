/*
 * Transaction encoding, signing and verification (blok/tx.h). Decoding is the one place where
 * transaction bytes from the network or the API are parsed, so it checks every limit before
 * anything else looks at the transaction.
 */
#include <string.h>

#include "blok/sha256.h"
#include "blok/tx.h"
#include "blok/banned.h"

bool blok_tx_name_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > BLOK_TX_NAME_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
      return false;
  return true;
}

/* Reads a text field into a NUL-terminated array of cap bytes (max = cap - 1). */
static enum blok_err dec_name(struct blok_reader *r, char *out, size_t cap) {
  const char *p;
  size_t n;
  BLOK_TRY(blok_dec_text(r, &p, &n, cap - 1));
  if (memchr(p, '\0', n) != NULL) return BLOK_EFORMAT;
  memcpy(out, p, n);
  out[n] = '\0';
  return BLOK_OK;
}

static enum blok_err decode_body(struct blok_tx *tx, struct blok_reader *r) {
  BLOK_TRY(blok_dec_u8(r, &tx->version));
  if (tx->version != BLOK_TX_VERSION) return BLOK_EFORMAT;
  BLOK_TRY(dec_name(r, tx->chain_id, sizeof tx->chain_id));
  if (!blok_sign_chain_id_valid(tx->chain_id)) return BLOK_EBADTAG;
  BLOK_TRY(dec_name(r, tx->module, sizeof tx->module));
  BLOK_TRY(dec_name(r, tx->type, sizeof tx->type));
  if (!blok_tx_name_valid(tx->module) || !blok_tx_name_valid(tx->type)) return BLOK_EFORMAT;
  BLOK_TRY(blok_dec_fixed(r, tx->sender, sizeof tx->sender));
  BLOK_TRY(blok_dec_u64(r, &tx->nonce));
  BLOK_TRY(blok_dec_u64(r, &tx->expiry_height));
  return blok_dec_bytes(r, &tx->payload, &tx->payload_len, BLOK_TX_PAYLOAD_MAX);
}

enum blok_err blok_tx_decode(struct blok_tx *tx, const uint8_t *data, size_t len) {
  struct blok_reader r;
  memset(tx, 0, sizeof *tx);
  if (len > BLOK_TX_ENCODED_MAX) return BLOK_ETOOLONG;
  blok_reader_init(&r, data, len);
  BLOK_TRY(decode_body(tx, &r));
  size_t body_len = r.pos;
  BLOK_TRY(blok_dec_fixed(&r, tx->sig, sizeof tx->sig));
  BLOK_TRY(blok_dec_end(&r));
  blok_sha256(tx->id, data, body_len);
  tx->raw = data;
  tx->raw_len = len;
  return BLOK_OK;
}

enum blok_err blok_tx_encode_body(struct blok_buf *out, const struct blok_tx *tx) {
  if (tx->version != BLOK_TX_VERSION || !blok_sign_chain_id_valid(tx->chain_id) ||
      !blok_tx_name_valid(tx->module) || !blok_tx_name_valid(tx->type) ||
      tx->payload_len > BLOK_TX_PAYLOAD_MAX)
    return BLOK_EINVAL;
  BLOK_TRY(blok_enc_u8(out, tx->version));
  BLOK_TRY(blok_enc_text(out, tx->chain_id, strlen(tx->chain_id), BLOK_SIGN_CHAIN_ID_MAX));
  BLOK_TRY(blok_enc_text(out, tx->module, strlen(tx->module), BLOK_TX_NAME_MAX));
  BLOK_TRY(blok_enc_text(out, tx->type, strlen(tx->type), BLOK_TX_NAME_MAX));
  BLOK_TRY(blok_enc_fixed(out, tx->sender, sizeof tx->sender));
  BLOK_TRY(blok_enc_u64(out, tx->nonce));
  BLOK_TRY(blok_enc_u64(out, tx->expiry_height));
  return blok_enc_bytes(out, tx->payload, tx->payload_len, BLOK_TX_PAYLOAD_MAX);
}

enum blok_err blok_tx_sign(struct blok_tx *tx, const struct blok_sign_keypair *kp,
                           struct blok_buf *out) {
  BLOK_ASSERT(out->len == 0);
  memcpy(tx->sender, kp->pk, sizeof tx->sender);
  BLOK_TRY(blok_tx_encode_body(out, tx));
  size_t body_len = out->len;
  BLOK_TRY(blok_sign_domain(tx->sig, kp, BLOK_TX_TAG, tx->chain_id, out->data, body_len));
  blok_sha256(tx->id, out->data, body_len);
  BLOK_TRY(blok_enc_fixed(out, tx->sig, sizeof tx->sig));
  tx->raw = out->data;
  tx->raw_len = out->len;
  return BLOK_OK;
}

enum blok_err blok_tx_verify(const struct blok_tx *tx) {
  BLOK_ASSERT(tx->raw != NULL && tx->raw_len >= BLOK_SIGN_SIG_LEN);
  return blok_verify_domain(tx->sig, tx->sender, BLOK_TX_TAG, tx->chain_id, tx->raw,
                            tx->raw_len - BLOK_SIGN_SIG_LEN);
}
