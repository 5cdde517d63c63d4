/* Strict hex: lowercase out; exact [0-9a-fA-F] pairs in. */
#include "test_util.h"

#include "blok/hex.h"
#include "blok/banned.h"

static void test_encode(void **state) {
  (void)state;
  const uint8_t in[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
  char out[BLOK_HEX_LEN(sizeof in)];
  blok_hex_encode(out, sizeof out, in, sizeof in);
  assert_string_equal(out, "0001abff7f");
  blok_hex_encode(out, sizeof out, in, 0);
  assert_string_equal(out, "");
}

static void test_decode_ok(void **state) {
  (void)state;
  uint8_t out[8];
  size_t n = 99;
  assert_int_equal(blok_hex_decode(out, sizeof out, &n, "00aBfF7f", 8), BLOK_OK);
  assert_int_equal(n, 4);
  const uint8_t want[] = {0x00, 0xab, 0xff, 0x7f};
  assert_memory_equal(out, want, 4);
  assert_int_equal(blok_hex_decode(out, sizeof out, &n, "", 0), BLOK_OK);
  assert_int_equal(n, 0);
}

static void test_decode_refuses(void **state) {
  (void)state;
  uint8_t out[8];
  size_t n;
  const char *bad[] = {"0", "abc", "0x00", " 00", "00 ", "0g", "g0", "zz", "-1", "+1", "０"};
  for (size_t i = 0; i < BLOK_ARRAY_LEN(bad); i++)
    assert_int_equal(blok_hex_decode(out, sizeof out, &n, bad[i], strlen(bad[i])), BLOK_EHEX);
  /* An embedded NUL is a bad digit, not an end. */
  assert_int_equal(blok_hex_decode(out, sizeof out, &n, "0\0", 2), BLOK_EHEX);
  /* Every byte value that is not a hex digit is refused in either position. */
  for (int c = 0; c < 256; c++) {
    char s[2] = {'0', (char)c};
    int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    assert_int_equal(blok_hex_decode(out, sizeof out, &n, s, 2), ok ? BLOK_OK : BLOK_EHEX);
    s[0] = (char)c;
    s[1] = '0';
    assert_int_equal(blok_hex_decode(out, sizeof out, &n, s, 2), ok ? BLOK_OK : BLOK_EHEX);
  }
  assert_int_equal(blok_hex_decode(out, 2, &n, "000000", 6), BLOK_ETOOLONG);
}

static void test_decode_exact(void **state) {
  (void)state;
  uint8_t out[4];
  assert_int_equal(blok_hex_decode_exact(out, 4, "01020304", 8), BLOK_OK);
  assert_int_equal(out[3], 4);
  assert_int_equal(blok_hex_decode_exact(out, 4, "010203", 6), BLOK_EHEX);
  assert_int_equal(blok_hex_decode_exact(out, 3, "01020304", 8), BLOK_EHEX);
}

static void test_round_trip(void **state) {
  (void)state;
  uint8_t in[256], back[256];
  char hex[BLOK_HEX_LEN(256)];
  for (size_t i = 0; i < sizeof in; i++)
    in[i] = (uint8_t)i;
  blok_hex_encode(hex, sizeof hex, in, sizeof in);
  assert_int_equal(blok_hex_decode_exact(back, sizeof back, hex, strlen(hex)), BLOK_OK);
  assert_memory_equal(in, back, sizeof in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode),         cmocka_unit_test(test_decode_ok),
      cmocka_unit_test(test_decode_refuses), cmocka_unit_test(test_decode_exact),
      cmocka_unit_test(test_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
