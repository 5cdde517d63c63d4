/*
 * VIN validation and decoding (blok/vin.h, docs/VIN.md). Everything here is table lookups
 * on at most 17 bytes: no locale (toupper would depend on it), no I/O, no allocation, so
 * the answer is the same on every node and every platform. The tables follow 49 CFR
 * 565.15 (transliteration, weights, model-year codes) and ISO 3780 (regions).
 */
#include <stdio.h>
#include <string.h>

#include "blok/vin.h"
#include "blok/banned.h"

/* 0-based indexes: position 9 holds the check digit, position 3 is '9' for a small
 * manufacturer, position 7 picks the model-year cycle, 10 is the year, 11 the plant, and
 * 12-14 end a small manufacturer's WMI. */
#define POS_CHECK     8
#define POS_SMALL     2
#define POS_YEAR_RULE 6
#define POS_YEAR      9
#define POS_PLANT     10
#define POS_SMALL_WMI 11
#define YEAR_FIRST    1980
#define YEAR_CYCLE    30

/* 49 CFR 565.15: the weight of each position; position 9 (the check digit) weighs 0. */
static const int weights[BLOK_VIN_LEN] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};

/* Transliteration of A-Z; 0 marks I, O and Q, which a VIN never uses. */
static const int letter_values[26] = {
    1, 2, 3, 4, 5, 6, 7, 8, 0, /* A-I */
    1, 2, 3, 4, 5, 0, 7, 0, 9, /* J-R */
    2, 3, 4, 5, 6, 7, 8, 9,    /* S-Z */
};

/* Model-year codes in cycle order: 1980 + index, and 2010 + index one cycle later. */
static const char year_codes[] = "ABCDEFGHJKLMNPRSTVWXY123456789";
_Static_assert(sizeof year_codes - 1 == YEAR_CYCLE, "a model-year cycle is 30 codes");

/* The upper-case VIN character for byte c, or 0 when c is not in the VIN alphabet. */
static char normalise(uint8_t c) {
  if (c >= '0' && c <= '9') return (char)c;
  if (c >= 'a' && c <= 'z') c = (uint8_t)(c - 'a' + 'A');
  if (c >= 'A' && c <= 'Z' && letter_values[c - 'A'] != 0) return (char)c;
  return 0;
}

/* Transliterated value of a normalised VIN character. */
static int char_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  BLOK_ASSERT(c >= 'A' && c <= 'Z' && letter_values[c - 'A'] != 0);
  return letter_values[c - 'A'];
}

/* Check digit of 17 normalised characters. */
static char compute_check(const char *v) {
  int sum = 0;
  for (size_t i = 0; i < BLOK_VIN_LEN; i++)
    sum += char_value(v[i]) * weights[i];
  int r = sum % 11;
  return r == 10 ? 'X' : (char)('0' + r);
}

/* Copies s[0..17) normalised into out (NUL-terminated); on a bad byte returns its index. */
static size_t normalise_all(char out[BLOK_VIN_LEN + 1], const char *s) {
  for (size_t i = 0; i < BLOK_VIN_LEN; i++) {
    out[i] = normalise((uint8_t)s[i]);
    if (out[i] == 0) return i;
  }
  out[BLOK_VIN_LEN] = '\0';
  return BLOK_VIN_LEN;
}

static enum blok_vin_region region_of(char c) {
  if (c >= 'A' && c <= 'H') return BLOK_VIN_REGION_AFRICA;
  if (c >= 'J' && c <= 'R') return BLOK_VIN_REGION_ASIA;
  if (c >= 'S' && c <= 'Z') return BLOK_VIN_REGION_EUROPE;
  if (c >= '1' && c <= '5') return BLOK_VIN_REGION_NORTH_AMERICA;
  if (c == '6' || c == '7') return BLOK_VIN_REGION_OCEANIA;
  BLOK_ASSERT(c == '8' || c == '9' || c == '0');
  return BLOK_VIN_REGION_SOUTH_AMERICA;
}

static void decode_wmi(struct blok_vin *vin) {
  const char *v = vin->vin;
  vin->small_manufacturer = v[POS_SMALL] == '9';
  memcpy(vin->wmi, v, 3);
  if (vin->small_manufacturer) memcpy(vin->wmi + 3, v + POS_SMALL_WMI, 3);
  vin->wmi[vin->small_manufacturer ? 6 : 3] = '\0';
  memcpy(vin->vds, v + 3, 6);
  vin->vds[6] = '\0';
  memcpy(vin->vis, v + POS_YEAR, 8);
  vin->vis[8] = '\0';
  vin->region = region_of(v[0]);
  vin->plant = v[POS_PLANT];
}

static void decode_year(struct blok_vin *vin) {
  const char *v = vin->vin;
  const char *at = strchr(year_codes, v[POS_YEAR]);
  vin->year_code = v[POS_YEAR];
  vin->year_preferred = -1;
  if (at == NULL) return; /* U, Z or 0 (I, O and Q never get this far) */
  int index = (int)(at - year_codes);
  vin->year_count = 2;
  vin->years[0] = (uint16_t)(YEAR_FIRST + index);
  vin->years[1] = (uint16_t)(YEAR_FIRST + YEAR_CYCLE + index);
  if (vin->region == BLOK_VIN_REGION_NORTH_AMERICA)
    vin->year_preferred = (v[POS_YEAR_RULE] >= '0' && v[POS_YEAR_RULE] <= '9') ? 0 : 1;
}

static void set_problem(struct blok_vin_problem *problem, const struct blok_vin_problem *p) {
  if (problem != NULL) *problem = *p;
}

enum blok_err blok_vin_parse(struct blok_vin *vin, struct blok_vin_problem *problem, const char *s,
                             size_t len) {
  BLOK_ASSERT(vin != NULL && (s != NULL || len == 0));
  memset(vin, 0, sizeof *vin);
  struct blok_vin_problem p = {.fault = BLOK_VIN_FAULT_NONE};
  set_problem(problem, &p);
  if (len != BLOK_VIN_LEN) {
    p = (struct blok_vin_problem){.fault = BLOK_VIN_FAULT_LENGTH, .length_found = len};
    set_problem(problem, &p);
    return BLOK_EVIN;
  }
  size_t bad = normalise_all(vin->vin, s);
  if (bad < BLOK_VIN_LEN) {
    memset(vin, 0, sizeof *vin);
    p = (struct blok_vin_problem){
        .fault = BLOK_VIN_FAULT_CHARACTER, .position = bad + 1, .byte = (uint8_t)s[bad]};
    set_problem(problem, &p);
    return BLOK_EVIN;
  }
  decode_wmi(vin);
  decode_year(vin);
  vin->check_expected = compute_check(vin->vin);
  vin->check_found = vin->vin[POS_CHECK];
  if (vin->check_found == vin->check_expected) {
    vin->check = BLOK_VIN_CHECK_MATCHED;
  } else if (vin->region != BLOK_VIN_REGION_NORTH_AMERICA) {
    vin->check = BLOK_VIN_CHECK_NOT_VERIFIED;
  } else {
    vin->check = BLOK_VIN_CHECK_MISMATCH;
    p = (struct blok_vin_problem){.fault = BLOK_VIN_FAULT_CHECK_DIGIT,
                                  .check_expected = vin->check_expected,
                                  .check_found = vin->check_found};
    set_problem(problem, &p);
    return BLOK_EVIN;
  }
  return BLOK_OK;
}

enum blok_err blok_vin_check_digit(char *digit, const char *s, size_t len) {
  BLOK_ASSERT(digit != NULL && (s != NULL || len == 0));
  char v[BLOK_VIN_LEN + 1];
  if (len != BLOK_VIN_LEN || normalise_all(v, s) < BLOK_VIN_LEN) return BLOK_EVIN;
  *digit = compute_check(v);
  return BLOK_OK;
}

const char *blok_vin_region_name(enum blok_vin_region region) {
  switch (region) {
    case BLOK_VIN_REGION_AFRICA:
      return "Africa";
    case BLOK_VIN_REGION_ASIA:
      return "Asia";
    case BLOK_VIN_REGION_EUROPE:
      return "Europe";
    case BLOK_VIN_REGION_NORTH_AMERICA:
      return "North America";
    case BLOK_VIN_REGION_OCEANIA:
      return "Oceania";
    case BLOK_VIN_REGION_SOUTH_AMERICA:
      return "South America";
  }
  return "unknown";
}

const char *blok_vin_check_name(enum blok_vin_check check) {
  switch (check) {
    case BLOK_VIN_CHECK_MATCHED:
      return "matched";
    case BLOK_VIN_CHECK_NOT_VERIFIED:
      return "not_verified";
    case BLOK_VIN_CHECK_MISMATCH:
      return "mismatch";
  }
  return "unknown";
}

const char *blok_vin_fault_name(enum blok_vin_fault fault) {
  switch (fault) {
    case BLOK_VIN_FAULT_NONE:
      return "none";
    case BLOK_VIN_FAULT_LENGTH:
      return "length";
    case BLOK_VIN_FAULT_CHARACTER:
      return "character";
    case BLOK_VIN_FAULT_CHECK_DIGIT:
      return "check_digit";
  }
  return "unknown";
}

/* snprintf's int result as the size_t blok_vin_problem_describe promises. */
static size_t written(int n) {
  BLOK_ASSERT(n >= 0);
  return (size_t)n;
}

static size_t describe_character(char *out, size_t out_cap, size_t position, uint8_t c) {
  uint8_t up = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
  if (up == 'I' || up == 'O' || up == 'Q')
    return written(snprintf(out, out_cap,
                            "invalid character '%c' at position %zu: I, O and Q are never "
                            "used in a VIN",
                            (char)c, position));
  if (c > 0x20 && c < 0x7f && c != '\'' && c != '\\')
    return written(snprintf(out, out_cap,
                            "invalid character '%c' at position %zu: a VIN has only 0-9 and "
                            "A-Z without I, O and Q",
                            (char)c, position));
  return written(snprintf(out, out_cap,
                          "invalid byte 0x%02x at position %zu: a VIN has only 0-9 and A-Z "
                          "without I, O and Q",
                          (unsigned)c, position));
}

size_t blok_vin_problem_describe(char *out, size_t out_cap,
                                 const struct blok_vin_problem *problem) {
  BLOK_ASSERT(problem != NULL && (out != NULL || out_cap == 0));
  switch (problem->fault) {
    case BLOK_VIN_FAULT_NONE:
      return written(snprintf(out, out_cap, "no problem"));
    case BLOK_VIN_FAULT_LENGTH:
      return written(snprintf(out, out_cap, "wrong length: expected 17 characters, found %zu",
                              problem->length_found));
    case BLOK_VIN_FAULT_CHARACTER:
      return describe_character(out, out_cap, problem->position, problem->byte);
    case BLOK_VIN_FAULT_CHECK_DIGIT:
      return written(snprintf(out, out_cap,
                              "wrong check digit at position 9: expected '%c', found '%c'",
                              problem->check_expected, problem->check_found));
  }
  return written(snprintf(out, out_cap, "unknown problem"));
}
