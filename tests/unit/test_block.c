/*
 * Block headers and certificates: the header vector of docs/PROTOCOL.md ("Blocks"), computed
 * independently in Python from the document, round trips and truncations, and the quorum rules
 * of certificates (2f+1 of 3f+1, bitmap and signature count agree, every signature verifies).
 */
#include "test_util.h"

#include "blok/block.h"
#include "blok/banned.h"

#define HEADER_HEX                                                                                 \
  "010f000000626c6f6b6175746f2d6465766e657401000000000000000000000000000000010000000000000011111"  \
  "11111111111111111111111111111111111111111111111111111111111e86be5cf8b0100002222222222222222222" \
  "222222222222222222222222222222222222222222222020000003333333333333333333333333333333333333333"  \
  "333333333333333333333333444444444444444444444444444444444444444444444444444444444444444455555"  \
  "555555555555555555555555555555555555555555555555555555555556666666666666666666666666666666666"  \
  "666666666666666666666666666666"
#define HEADER_HASH "a99a1ea5f92c33dc06a8091b9cbf4a53eae5fec122b186c9df0eb498aef7392b"

static void example(struct blok_header *h) {
  memset(h, 0, sizeof *h);
  h->version = 1;
  memcpy(h->chain_id, "blokauto-devnet", 16);
  h->height = 1;
  h->round = 1;
  memset(h->parent, 0x11, 32);
  h->timestamp_ms = 1700000001000u;
  memset(h->proposer, 0x22, 32);
  h->tx_count = 2;
  memset(h->tx_root, 0x33, 32);
  memset(h->results_root, 0x44, 32);
  memset(h->state_root, 0x55, 32);
  memset(h->validators_hash, 0x66, 32);
}

static void test_header_vector(void **state) {
  (void)state;
  struct blok_header h, back;
  example(&h);
  struct blok_buf b;
  blok_buf_init(&b, BLOK_HEADER_ENCODED_MAX);
  assert_int_equal(blok_header_encode(&b, &h), BLOK_OK);
  char hex[BLOK_HEX_LEN(BLOK_HEADER_ENCODED_MAX)];
  blok_hex_encode(hex, sizeof hex, b.data, b.len);
  assert_string_equal(hex, HEADER_HEX);
  uint8_t hash[32], want[32];
  assert_int_equal(blok_header_hash(&h, hash), BLOK_OK);
  test_unhex(want, 32, HEADER_HASH);
  assert_memory_equal(hash, want, 32);
  struct blok_reader r;
  blok_reader_init(&r, b.data, b.len);
  assert_int_equal(blok_header_decode(&r, &back), BLOK_OK);
  assert_int_equal(blok_dec_end(&r), BLOK_OK);
  assert_memory_equal(&back, &h, sizeof h);
  for (size_t n = 0; n < b.len; n++) {
    blok_reader_init(&r, b.data, n);
    assert_int_equal(blok_header_decode(&r, &back), BLOK_ETRUNC);
  }
  /* The longest chain id gives the longest header, which still hashes. */
  memset(h.chain_id, 'a', 64);
  h.chain_id[64] = '\0';
  blok_buf_clear(&b);
  assert_int_equal(blok_header_encode(&b, &h), BLOK_OK);
  assert_int_equal(b.len, BLOK_HEADER_ENCODED_MAX);
  assert_int_equal(blok_header_hash(&h, hash), BLOK_OK);
  blok_buf_release(&b);
}

static void test_quorum(void **state) {
  (void)state;
  assert_int_equal(blok_quorum(1), 1);
  assert_int_equal(blok_quorum(4), 3);
  assert_int_equal(blok_quorum(7), 5);
  assert_int_equal(blok_quorum(10), 7);
}

static void test_qc(void **state) {
  (void)state;
  enum { N = 4 };
  struct blok_sign_keypair kp[N];
  uint8_t vals[N * 32];
  for (int i = 0; i < N; i++) {
    uint8_t seed[32];
    memset(seed, i + 1, 32);
    assert_int_equal(blok_sign_keypair_from_seed(&kp[i], seed), BLOK_OK);
    memcpy(vals + 32 * i, kp[i].pk, 32);
  }
  static struct blok_qc qc, back;
  memset(&qc, 0, sizeof qc);
  qc.vote.round = 7;
  qc.vote.height = 5;
  memset(qc.vote.block_hash, 0xAB, 32);
  qc.validator_count = N;
  /* Validators 0, 2, 3 sign: three of four is a quorum. */
  int signers[] = {0, 2, 3};
  for (int k = 0; k < 3; k++) {
    qc.signers[0] |= (uint8_t)(1u << signers[k]);
    assert_int_equal(blok_vote_sign(qc.sigs[k], "chain", &qc.vote, &kp[signers[k]]), BLOK_OK);
  }
  qc.sig_count = 3;
  assert_int_equal(blok_qc_verify(&qc, "chain", vals, N), BLOK_OK);
  assert_int_equal(blok_qc_verify(&qc, "other", vals, N), BLOK_EBADSIG);
  struct blok_buf b;
  blok_buf_init(&b, 1 << 16);
  assert_int_equal(blok_qc_encode(&b, &qc), BLOK_OK);
  struct blok_reader r;
  blok_reader_init(&r, b.data, b.len);
  assert_int_equal(blok_qc_decode(&r, &back), BLOK_OK);
  assert_int_equal(blok_dec_end(&r), BLOK_OK);
  assert_int_equal(blok_qc_verify(&back, "chain", vals, N), BLOK_OK);
  blok_buf_release(&b);
  /* Two of four is not a quorum; a count that disagrees with the bitmap is refused; so is a
   * bit past the last validator; a vote for another block fails its signatures. */
  back = qc;
  back.signers[0] = 0x05;
  back.sig_count = 2;
  assert_int_equal(blok_qc_verify(&back, "chain", vals, N), BLOK_EBADPROOF);
  back = qc;
  back.sig_count = 2;
  assert_int_equal(blok_qc_verify(&back, "chain", vals, N), BLOK_EBADPROOF);
  back = qc;
  back.signers[0] |= 0x10;
  back.sig_count = 4;
  assert_int_equal(blok_qc_verify(&back, "chain", vals, N), BLOK_EBADPROOF);
  back = qc;
  back.vote.block_hash[0] ^= 1;
  assert_int_equal(blok_qc_verify(&back, "chain", vals, N), BLOK_EBADSIG);
  assert_int_equal(blok_qc_verify(&qc, "chain", vals, 3), BLOK_EBADPROOF);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_vector),
      cmocka_unit_test(test_quorum),
      cmocka_unit_test(test_qc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
