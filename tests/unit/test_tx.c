/*
 * Transactions: the vector of docs/PROTOCOL.md ("Transactions"), which was built and signed
 * independently from the document's text (Python's hashlib and the cryptography package),
 * must come out of our encoder byte for byte; decoding refuses every truncation, trailing
 * bytes, bad names and versions; a signature does not survive any change to the body, and the
 * id does not depend on the signature.
 */
#include "test_util.h"

#include "blok/sha256.h"
#include "blok/tx.h"
#include "blok/banned.h"

#define SEED "50ea7edb6b9949d11ba90967c67134b78f809352217618cb850b0cc7a30d5c4d"
#define PAYLOAD                                                                                    \
  "43cc23fa52b87b4cc1d02b5b114154151d6adddb17c9fddc06b027fa99e240080a000000696e766f696365203432"
#define BODY                                                                                       \
  "010f000000626c6f6b6175746f2d6465766e657406000000616e63686f72060000007265636f7264efcf0696fe3f"   \
  "a8ca3b0cbc37bb5bd14634849775191531779c843036325c271a0100000000000000e8030000000000002e000000"   \
  "43cc23fa52b87b4cc1d02b5b114154151d6adddb17c9fddc06b027fa99e240080a000000696e766f696365203432"
#define ID "ecf3746298f594f79b1375210b7ce2f00c66ec443ada4a9c48ccc95a510b3b56"
#define SIG                                                                                        \
  "efd0fa1504f7946fc7d056bd6c1546f938e35592a076582a681f04ae431a9256616b7b33b9e4563069a67b6ff976"   \
  "a8f3951067e43fba417b4edc6cced1757904"

static uint8_t payload[64];
static size_t payload_len;

static void make_tx(struct blok_tx *tx, struct blok_sign_keypair *kp) {
  uint8_t seed[32];
  test_unhex(seed, 32, SEED);
  assert_int_equal(blok_sign_keypair_from_seed(kp, seed), BLOK_OK);
  payload_len = test_unhex(payload, sizeof payload, PAYLOAD);
  memset(tx, 0, sizeof *tx);
  tx->version = BLOK_TX_VERSION;
  memcpy(tx->chain_id, "blokauto-devnet", 16);
  memcpy(tx->module, "anchor", 7);
  memcpy(tx->type, "record", 7);
  tx->nonce = 1;
  tx->expiry_height = 1000;
  tx->payload = payload;
  tx->payload_len = payload_len;
}

static void test_vector(void **state) {
  (void)state;
  struct blok_tx tx, back;
  struct blok_sign_keypair kp;
  make_tx(&tx, &kp);
  struct blok_buf b;
  blok_buf_init(&b, BLOK_TX_ENCODED_MAX);
  assert_int_equal(blok_tx_sign(&tx, &kp, &b), BLOK_OK);
  char hex[BLOK_HEX_LEN(512)];
  blok_hex_encode(hex, sizeof hex, b.data, b.len);
  assert_string_equal(hex, BODY SIG);
  blok_hex_encode(hex, sizeof hex, tx.id, 32);
  assert_string_equal(hex, ID);

  assert_int_equal(blok_tx_decode(&back, b.data, b.len), BLOK_OK);
  assert_memory_equal(back.id, tx.id, 32);
  assert_string_equal(back.module, "anchor");
  assert_int_equal(back.expiry_height, 1000);
  assert_int_equal(back.payload_len, payload_len);
  assert_int_equal(blok_tx_verify(&back), BLOK_OK);
  blok_buf_release(&b);
  blok_sign_keypair_clear(&kp);
}

static void test_decode_refuses(void **state) {
  (void)state;
  uint8_t raw[512];
  size_t n = test_unhex(raw, sizeof raw, BODY SIG);
  struct blok_tx tx;
  for (size_t i = 0; i < n; i++)
    assert_int_equal(blok_tx_decode(&tx, raw, i), BLOK_ETRUNC);
  raw[n] = 0;
  assert_int_equal(blok_tx_decode(&tx, raw, n + 1), BLOK_ETRAILING);
  raw[0] = 2; /* unknown version */
  assert_int_equal(blok_tx_decode(&tx, raw, n), BLOK_EFORMAT);
  raw[0] = 1;
  raw[5] = 'B'; /* "Blokauto-devnet": chain ids are lowercase */
  assert_int_equal(blok_tx_decode(&tx, raw, n), BLOK_EBADTAG);
  raw[5] = 'b';
  raw[24] = 'A'; /* module "Anchor" */
  assert_int_equal(blok_tx_decode(&tx, raw, n), BLOK_EFORMAT);
  raw[24] = 'a';
  assert_int_equal(blok_tx_decode(&tx, raw, n), BLOK_OK);
  assert_int_equal(blok_tx_decode(&tx, raw, BLOK_TX_ENCODED_MAX + 1), BLOK_ETOOLONG);
}

static void test_signature_binds_body(void **state) {
  (void)state;
  uint8_t raw[512];
  size_t n = test_unhex(raw, sizeof raw, BODY SIG);
  struct blok_tx tx;
  uint8_t id[32];
  test_unhex(id, 32, ID);
  /* A flipped bit in the signature leaves the id as it was but fails verification. */
  for (size_t i = n - 64; i < n; i += 9) {
    raw[i] ^= 0x01;
    assert_int_equal(blok_tx_decode(&tx, raw, n), BLOK_OK);
    assert_memory_equal(tx.id, id, 32);
    assert_int_not_equal(blok_tx_verify(&tx), BLOK_OK);
    raw[i] ^= 0x01;
  }
  /* Changing a byte of the nonce, expiry or payload changes the id and breaks the signature. */
  /* last and first payload byte (46 bytes), low byte of the expiry, low byte of the nonce */
  size_t spots[] = {n - 64 - 1, n - 64 - 46, n - 64 - 58, n - 64 - 66};
  for (size_t k = 0; k < BLOK_ARRAY_LEN(spots); k++) {
    raw[spots[k]] ^= 0x01;
    assert_int_equal(blok_tx_decode(&tx, raw, n), BLOK_OK);
    assert_memory_not_equal(tx.id, id, 32);
    assert_int_equal(blok_tx_verify(&tx), BLOK_EBADSIG);
    raw[spots[k]] ^= 0x01;
  }
}

static void test_encode_refuses(void **state) {
  (void)state;
  struct blok_tx tx;
  struct blok_sign_keypair kp;
  make_tx(&tx, &kp);
  struct blok_buf b;
  blok_buf_init(&b, BLOK_TX_ENCODED_MAX);
  memcpy(tx.type, "Bad", 4);
  assert_int_equal(blok_tx_sign(&tx, &kp, &b), BLOK_EINVAL);
  blok_buf_release(&b);
  blok_sign_keypair_clear(&kp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vector),
      cmocka_unit_test(test_decode_refuses),
      cmocka_unit_test(test_signature_binds_body),
      cmocka_unit_test(test_encode_refuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
