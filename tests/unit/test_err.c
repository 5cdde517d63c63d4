/* enum blok_err: every code has a distinct name and message from the one table. */
#include "test_util.h"

#include "blok/err.h"
#include "blok/banned.h"

static const enum blok_err all[] = {
#define X(name, value, msg) BLOK_##name,
    BLOK_ERR_MAP(X)
#undef X
};

static void test_names_and_messages(void **state) {
  (void)state;
  assert_int_equal(BLOK_OK, 0);
  assert_string_equal(blok_err_name(BLOK_OK), "BLOK_OK");
  assert_string_equal(blok_err_name(BLOK_ETRUNC), "BLOK_ETRUNC");
  assert_string_equal(blok_strerror(BLOK_ETRAILING), "trailing bytes after the value");
  for (size_t i = 0; i < BLOK_ARRAY_LEN(all); i++) {
    if (i > 0) assert_true(all[i] < 0);
    assert_int_equal(strncmp(blok_err_name(all[i]), "BLOK_", 5), 0);
    const char *m = blok_strerror(all[i]);
    assert_true(strlen(m) > 0);
    assert_true(m[strlen(m) - 1] != '.'); /* messages carry no full stop */
    for (size_t j = 0; j < i; j++) {
      assert_int_not_equal(all[i], all[j]);
      assert_string_not_equal(blok_err_name(all[i]), blok_err_name(all[j]));
      assert_string_not_equal(blok_strerror(all[i]), blok_strerror(all[j]));
    }
  }
}

static void test_unknown(void **state) {
  (void)state;
  assert_string_equal(blok_err_name((enum blok_err) - 9999), "BLOK_UNKNOWN");
  assert_string_equal(blok_strerror((enum blok_err) - 9999), "unknown error");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names_and_messages),
      cmocka_unit_test(test_unknown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
