/*
 * Fuzz target for the proof verifiers that check what a server sends: state-tree proofs (decode
 * then verify) and Merkle inclusion and consistency proofs. Random proofs must be refused, never
 * crash; and an accepted state-tree proof must re-encode to the bytes it came from.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/merkle.h"
#include "blok/smt.h"
#include "blok/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct blok_smt_proof proof;

static void smt(const uint8_t *data, size_t size) {
  if (size < 64) return;
  struct blok_reader r;
  blok_reader_init(&r, data + 64, size - 64);
  if (blok_smt_proof_decode(&r, &proof) != BLOK_OK || blok_dec_end(&r) != BLOK_OK) return;
  (void)blok_smt_verify(data, data + 32, NULL, &proof);
  (void)blok_smt_verify(data, data + 32, data, &proof);
  struct blok_buf b;
  blok_buf_init(&b, 1 << 16);
  if (blok_smt_proof_encode(&b, &proof) != BLOK_OK) abort();
  if (b.len != size - 64 || memcmp(b.data, data + 64, b.len) != 0) abort();
  blok_buf_release(&b);
}

static void merkle(const uint8_t *data, size_t size) {
  if (size < 16 + 64) return;
  uint64_t a = 0, n = 0;
  memcpy(&a, data, 8);
  memcpy(&n, data + 8, 8);
  const uint8_t *h1 = data + 16, *h2 = data + 48, *proof_bytes = data + 80;
  size_t proof_len = (size - 80) / 32;
  (void)blok_merkle_verify_inclusion(h1, a, n, proof_bytes, proof_len, h2);
  (void)blok_merkle_verify_consistency(a, h1, n, h2, proof_bytes, proof_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] & 1)
    smt(data + 1, size - 1);
  else
    merkle(data + 1, size - 1);
  return 0;
}
