/*
 * The canonical codec: exact bytes for the worked examples of docs/PROTOCOL.md, and every
 * refusal the reader promises (truncation at every prefix, over-long lengths, trailing
 * bytes, bad bools, bad UTF-8), and that a failed read does not move the reader.
 */
#include "test_util.h"

#include "blok/codec.h"
#include "blok/banned.h"

static void expect_hex(const struct blok_buf *b, const char *want) {
  char got[1024];
  assert_true(BLOK_HEX_LEN(b->len) <= sizeof got);
  blok_hex_encode(got, sizeof got, b->data, b->len);
  assert_string_equal(got, want);
}

static void test_integers(void **state) {
  (void)state;
  struct blok_buf b;
  blok_buf_init(&b, 64);
  assert_int_equal(blok_enc_u8(&b, 0x2a), BLOK_OK);
  assert_int_equal(blok_enc_u16(&b, 0x1234), BLOK_OK);
  assert_int_equal(blok_enc_u32(&b, 0x01020304), BLOK_OK);
  assert_int_equal(blok_enc_u64(&b, 0x1122334455667788u), BLOK_OK);
  assert_int_equal(blok_enc_bool(&b, true), BLOK_OK);
  assert_int_equal(blok_enc_bool(&b, false), BLOK_OK);
  expect_hex(&b, "2a3412040302018877665544332211"
                 "0100");

  struct blok_reader r;
  blok_reader_init(&r, b.data, b.len);
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  bool t, f;
  assert_int_equal(blok_dec_u8(&r, &u8), BLOK_OK);
  assert_int_equal(blok_dec_u16(&r, &u16), BLOK_OK);
  assert_int_equal(blok_dec_u32(&r, &u32), BLOK_OK);
  assert_int_equal(blok_dec_u64(&r, &u64), BLOK_OK);
  assert_int_equal(blok_dec_bool(&r, &t), BLOK_OK);
  assert_int_equal(blok_dec_bool(&r, &f), BLOK_OK);
  assert_int_equal(blok_dec_end(&r), BLOK_OK);
  assert_int_equal(u8, 0x2a);
  assert_int_equal(u16, 0x1234);
  assert_int_equal(u32, 0x01020304);
  assert_true(u64 == 0x1122334455667788u);
  assert_true(t && !f);
  blok_buf_release(&b);
}

/* The record of PROTOCOL.md's worked example:
 *   u16 version = 1, text<16> name = "VIN", fixed[4] = de ad be ef, count<8> of u32 = [7, 258] */
#define EXAMPLE_HEX                                                                                \
  "0100"                                                                                           \
  "03000000"                                                                                       \
  "56494e"                                                                                         \
  "deadbeef"                                                                                       \
  "02000000"                                                                                       \
  "07000000"                                                                                       \
  "02010000"

static enum blok_err encode_example(struct blok_buf *b) {
  static const uint8_t tag[4] = {0xde, 0xad, 0xbe, 0xef};
  static const uint32_t items[2] = {7, 258};
  BLOK_TRY(blok_enc_u16(b, 1));
  BLOK_TRY(blok_enc_text(b, "VIN", 3, 16));
  BLOK_TRY(blok_enc_fixed(b, tag, 4));
  BLOK_TRY(blok_enc_count(b, 2, 8));
  for (size_t i = 0; i < 2; i++)
    BLOK_TRY(blok_enc_u32(b, items[i]));
  return BLOK_OK;
}

static enum blok_err decode_example(const uint8_t *data, size_t len) {
  struct blok_reader r;
  uint16_t version;
  const char *name;
  size_t name_len, count;
  uint8_t tag[4];
  blok_reader_init(&r, data, len);
  BLOK_TRY(blok_dec_u16(&r, &version));
  BLOK_TRY(blok_dec_text(&r, &name, &name_len, 16));
  BLOK_TRY(blok_dec_fixed(&r, tag, 4));
  BLOK_TRY(blok_dec_count(&r, &count, 8));
  for (size_t i = 0; i < count; i++) {
    uint32_t v;
    BLOK_TRY(blok_dec_u32(&r, &v));
  }
  return blok_dec_end(&r);
}

static void test_worked_example(void **state) {
  (void)state;
  struct blok_buf b;
  blok_buf_init(&b, 256);
  assert_int_equal(encode_example(&b), BLOK_OK);
  expect_hex(&b, EXAMPLE_HEX);
  assert_int_equal(decode_example(b.data, b.len), BLOK_OK);
  /* Every strict prefix is truncated; one more byte is trailing. */
  for (size_t n = 0; n < b.len; n++)
    assert_int_equal(decode_example(b.data, n), BLOK_ETRUNC);
  assert_int_equal(blok_buf_append(&b, "\0", 1), BLOK_OK);
  assert_int_equal(decode_example(b.data, b.len), BLOK_ETRAILING);
  blok_buf_release(&b);

  /* A name length of 17 (> 16) is refused before its bytes are looked at. */
  uint8_t m[64];
  size_t n = test_unhex(m, sizeof m,
                        "0100"
                        "11000000"
                        "56494e");
  assert_int_equal(decode_example(m, n), BLOK_ETOOLONG);
  /* A count of 9 (> 8) likewise, and a count whose items are missing is truncated. */
  n = test_unhex(m, sizeof m,
                 "0100"
                 "03000000"
                 "56494e"
                 "deadbeef"
                 "09000000");
  assert_int_equal(decode_example(m, n), BLOK_ETOOLONG);
  n = test_unhex(m, sizeof m,
                 "0100"
                 "03000000"
                 "56494e"
                 "deadbeef"
                 "03000000"
                 "07000000");
  assert_int_equal(decode_example(m, n), BLOK_ETRUNC);
}

static void test_bytes_limits(void **state) {
  (void)state;
  struct blok_buf b;
  blok_buf_init(&b, 64);
  uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  assert_int_equal(blok_enc_bytes(&b, data, 8, 7), BLOK_ETOOLONG);
  assert_int_equal(b.len, 0); /* a refused write leaves the buffer as it was */
  assert_int_equal(blok_enc_bytes(&b, data, 8, 8), BLOK_OK);
  assert_int_equal(blok_enc_bytes(&b, NULL, 0, 8), BLOK_OK);
  expect_hex(&b, "08000000010203040506070800000000");

  struct blok_reader r;
  const uint8_t *p;
  size_t len;
  blok_reader_init(&r, b.data, b.len);
  assert_int_equal(blok_dec_bytes(&r, &p, &len, 7), BLOK_ETOOLONG);
  assert_int_equal(r.pos, 0); /* a failed read does not move the reader */
  assert_int_equal(blok_dec_bytes(&r, &p, &len, 8), BLOK_OK);
  assert_int_equal(len, 8);
  assert_memory_equal(p, data, 8);
  assert_int_equal(blok_dec_bytes(&r, &p, &len, 0), BLOK_OK);
  assert_int_equal(len, 0);
  assert_int_equal(blok_dec_end(&r), BLOK_OK);
  assert_int_equal(blok_dec_u8(&r, data), BLOK_ETRUNC);

  /* A length that claims more bytes than remain: truncated, position unchanged. */
  uint8_t m[16];
  size_t n = test_unhex(m, sizeof m, "ffffffff00");
  blok_reader_init(&r, m, n);
  assert_int_equal(blok_dec_bytes(&r, &p, &len, UINT32_MAX), BLOK_ETRUNC);
  assert_int_equal(r.pos, 0);
  blok_buf_release(&b);
}

static void test_buffer_bound(void **state) {
  (void)state;
  struct blok_buf b;
  blok_buf_init(&b, 10);
  assert_int_equal(blok_enc_u64(&b, 1), BLOK_OK);
  assert_int_equal(blok_enc_u32(&b, 1), BLOK_ETOOLONG);
  assert_int_equal(b.len, 8);
  assert_int_equal(blok_enc_u16(&b, 1), BLOK_OK);
  assert_int_equal(blok_enc_u8(&b, 1), BLOK_ETOOLONG);
  size_t len;
  uint8_t *p = blok_buf_detach(&b, &len);
  assert_int_equal(len, 10);
  assert_null(b.data);
  free(p);
  blok_buf_release(&b);
}

static void test_bool_strict(void **state) {
  (void)state;
  const uint8_t two = 2;
  struct blok_reader r;
  bool v;
  blok_reader_init(&r, &two, 1);
  assert_int_equal(blok_dec_bool(&r, &v), BLOK_EFORMAT);
  assert_int_equal(r.pos, 0);
}

static void test_utf8(void **state) {
  (void)state;
  struct {
    const char *hex;
    bool ok;
  } cases[] = {
      {"", true},          {"41", true},        {"c3a9", true},    {"e282ac", true},
      {"f09f9a97", true},  {"f48fbfbf", true},  {"c080", false},   {"c1bf", false},
      {"e080af", false},   {"eda080", false},   {"edbfbf", false}, {"f4908080", false},
      {"f5808080", false}, {"f08f8080", false}, {"80", false},     {"c3", false},
      {"e282", false},     {"f09f9a", false},   {"fe", false},     {"ff", false},
      {"c328", false},     {"00", true},        {"efbfbd", true},  {"ee8080", true},
  };
  for (size_t i = 0; i < BLOK_ARRAY_LEN(cases); i++) {
    uint8_t m[8];
    size_t n = test_unhex(m, sizeof m, cases[i].hex);
    if (blok_utf8_valid(m, n) != cases[i].ok) fail_msg("utf-8 case %s", cases[i].hex);
  }
  struct blok_buf b;
  blok_buf_init(&b, 64);
  assert_int_equal(blok_enc_text(&b, "\xc3\xa9", 2, 2), BLOK_OK);
  expect_hex(&b, "02000000c3a9");
  assert_int_equal(blok_enc_text(&b, "\xc0\x80", 2, 2), BLOK_EUTF8);
  assert_int_equal(b.len, 6);
  uint8_t bad[] = {2, 0, 0, 0, 0xed, 0xa0};
  struct blok_reader r;
  const char *t;
  size_t tl;
  blok_reader_init(&r, bad, sizeof bad);
  assert_int_equal(blok_dec_text(&r, &t, &tl, 8), BLOK_EUTF8);
  assert_int_equal(r.pos, 0);
  blok_buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_integers),     cmocka_unit_test(test_worked_example),
      cmocka_unit_test(test_bytes_limits), cmocka_unit_test(test_buffer_bound),
      cmocka_unit_test(test_bool_strict),  cmocka_unit_test(test_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
