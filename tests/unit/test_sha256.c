/*
 * SHA-256 against NIST's published vectors: the FIPS 180-2 appendix B examples ("abc",
 * the two-block message, one million 'a') and the CAVS byte-oriented ShortMsg file
 * (tests/data/sha256/SHA256ShortMsg.rsp, 65 messages of 0 to 64 bytes). The incremental
 * interface must agree with the one-shot one however the message is split.
 */
#include "test_util.h"

#include "blok/sha256.h"
#include "blok/banned.h"

static void check_hex(const uint8_t d[32], const char *want) {
  char got[BLOK_HEX_LEN(32)];
  blok_hex_encode(got, sizeof got, d, 32);
  assert_string_equal(got, want);
}

static void test_fips180_examples(void **state) {
  (void)state;
  uint8_t d[32];
  blok_sha256(d, "abc", 3);
  check_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  blok_sha256(d, two, strlen(two));
  check_hex(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  blok_sha256(d, "", 0);
  check_hex(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  struct blok_sha256 s;
  assert_int_equal(blok_sha256_init(&s), BLOK_OK);
  char chunk[1000];
  memset(chunk, 'a', sizeof chunk);
  for (int i = 0; i < 1000; i++)
    blok_sha256_update(&s, chunk, sizeof chunk);
  blok_sha256_final(&s, d);
  check_hex(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  /* final resets: the context hashes a new message from scratch. */
  blok_sha256_update(&s, "abc", 3);
  blok_sha256_final(&s, d);
  check_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  blok_sha256_release(&s);
}

/* Parses "Len = N / Msg = HEX / MD = HEX" records; returns how many were checked. */
static int check_rsp(const char *text) {
  int count = 0;
  const char *p = text;
  while ((p = strstr(p, "Len = ")) != NULL) {
    char *end;
    unsigned long bits = strtoul(p + 6, &end, 10);
    const char *msg = strstr(end, "Msg = ");
    const char *md = strstr(end, "MD = ");
    assert_non_null(msg);
    assert_non_null(md);
    msg += 6;
    size_t msg_hex_len = strcspn(msg, "\r\n");
    uint8_t m[128], want[32], got[32];
    size_t n = 0;
    assert_int_equal(blok_hex_decode(m, sizeof m, &n, msg, msg_hex_len), BLOK_OK);
    n = bits / 8; /* Len = 0 still lists one "00" byte in some files */
    assert_int_equal(blok_hex_decode_exact(want, 32, md + 5, 64), BLOK_OK);
    blok_sha256(got, m, n);
    assert_memory_equal(got, want, 32);
    count++;
    p = md + 5;
  }
  return count;
}

static void test_cavs_short_msg(void **state) {
  (void)state;
  char *text = test_read_file("sha256/SHA256ShortMsg.rsp", NULL);
  assert_int_equal(check_rsp(text), 65);
  free(text);
}

static void test_incremental_splits(void **state) {
  (void)state;
  uint8_t msg[300], want[32], got[32];
  for (size_t i = 0; i < sizeof msg; i++)
    msg[i] = (uint8_t)(i * 7 + 3);
  struct blok_sha256 s;
  assert_int_equal(blok_sha256_init(&s), BLOK_OK);
  for (size_t len = 0; len <= sizeof msg; len += 13) {
    blok_sha256(want, msg, len);
    for (size_t cut = 0; cut <= len; cut += 5) {
      blok_sha256_update(&s, msg, cut);
      blok_sha256_update(&s, msg + cut, len - cut);
      blok_sha256_final(&s, got);
      assert_memory_equal(got, want, 32);
      blok_sha256_2(got, msg, cut, msg + cut, len - cut);
      assert_memory_equal(got, want, 32);
    }
  }
  blok_sha256_release(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fips180_examples),
      cmocka_unit_test(test_cavs_short_msg),
      cmocka_unit_test(test_incremental_splits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
