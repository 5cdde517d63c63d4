/*
 * Fuzz target for transaction decoding, the parser every byte from the network and the API
 * goes through: a transaction that decodes re-encodes to exactly its bytes (the encoding is
 * canonical), and its id is SHA-256 of the body.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/sha256.h"
#include "blok/tx.h"
#include "blok/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct blok_tx tx;
  if (blok_tx_decode(&tx, data, size) != BLOK_OK) return 0;
  struct blok_buf b;
  blok_buf_init(&b, BLOK_TX_ENCODED_MAX);
  if (blok_tx_encode_body(&b, &tx) != BLOK_OK) abort();
  uint8_t id[32];
  blok_sha256(id, b.data, b.len);
  if (memcmp(id, tx.id, 32) != 0) abort();
  if (blok_enc_fixed(&b, tx.sig, 64) != BLOK_OK) abort();
  if (b.len != size || memcmp(b.data, data, size) != 0) abort();
  (void)blok_tx_verify(&tx); /* any outcome, but no crash */
  blok_buf_release(&b);
  return 0;
}
