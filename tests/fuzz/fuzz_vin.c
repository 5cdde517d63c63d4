/*
 * libFuzzer target for the VIN parser (blok/vin.h): any bytes in, and the parser's promises
 * checked on the way out. An accepted VIN is 17 characters of the alphabet, equal to the
 * input upper-cased; parsing it again, or its lower-case form, gives the same fields; a
 * North American VIN is only accepted with a matching check digit. A refused one names a
 * fault that is true of the input. Problem texts always fit BLOK_VIN_PROBLEM_MAX.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blok/vin.h"
#include "blok/banned.h"

/* abort() rather than BLOK_ASSERT: a broken promise here is the finding, not our bug. */
#define CHECK(expr)                                                                                \
  do {                                                                                             \
    if (!(expr)) {                                                                                 \
      fprintf(stderr, "fuzz_vin: check failed: %s (line %d)\n", #expr, __LINE__);                  \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool in_alphabet(uint8_t c) {
  if (c >= '0' && c <= '9') return true;
  if (c >= 'a' && c <= 'z') c = (uint8_t)(c - 'a' + 'A');
  return c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'Q';
}

static char upper(uint8_t c) {
  return (char)((c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c);
}

static char lower(char c) {
  return (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
}

static bool same_fields(const struct blok_vin *a, const struct blok_vin *b) {
  return strcmp(a->vin, b->vin) == 0 && strcmp(a->wmi, b->wmi) == 0 &&
         strcmp(a->vds, b->vds) == 0 && strcmp(a->vis, b->vis) == 0 &&
         a->small_manufacturer == b->small_manufacturer && a->region == b->region &&
         a->check == b->check && a->check_expected == b->check_expected &&
         a->check_found == b->check_found && a->year_code == b->year_code &&
         a->year_count == b->year_count && a->years[0] == b->years[0] &&
         a->years[1] == b->years[1] && a->year_preferred == b->year_preferred &&
         a->plant == b->plant;
}

/* Fields every decoded VIN (valid, or refused for its check digit only) must satisfy. */
static void check_decoded(const struct blok_vin *v, const uint8_t *data) {
  CHECK(strlen(v->vin) == BLOK_VIN_LEN);
  for (size_t i = 0; i < BLOK_VIN_LEN; i++) {
    CHECK(in_alphabet((uint8_t)v->vin[i]));
    CHECK(v->vin[i] == upper(data[i]));
  }
  CHECK(strlen(v->wmi) == (v->small_manufacturer ? 6u : 3u));
  CHECK(v->small_manufacturer == (v->vin[2] == '9'));
  CHECK(memcmp(v->wmi, v->vin, 3) == 0);
  CHECK(!v->small_manufacturer || memcmp(v->wmi + 3, v->vin + 11, 3) == 0);
  CHECK(v->region >= BLOK_VIN_REGION_AFRICA && v->region <= BLOK_VIN_REGION_SOUTH_AMERICA);
  CHECK((v->check_expected >= '0' && v->check_expected <= '9') || v->check_expected == 'X');
  CHECK(v->check_found == v->vin[8]);
  char digit = 0;
  CHECK(blok_vin_check_digit(&digit, (const char *)data, BLOK_VIN_LEN) == BLOK_OK);
  CHECK(digit == v->check_expected);
  CHECK(v->year_count == 0 || v->year_count == 2);
  if (v->year_count == 2) {
    CHECK(v->years[0] >= 1980 && v->years[0] <= 2009 && v->years[1] == v->years[0] + 30);
  }
  CHECK(v->year_preferred >= -1 && v->year_preferred < (int)v->year_count);
  CHECK(v->plant == v->vin[10]);
}

static void check_accepted(const struct blok_vin *v, const uint8_t *data, size_t size) {
  CHECK(size == BLOK_VIN_LEN);
  check_decoded(v, data);
  CHECK(v->check == BLOK_VIN_CHECK_MATCHED || v->check == BLOK_VIN_CHECK_NOT_VERIFIED);
  CHECK((v->check == BLOK_VIN_CHECK_MATCHED) == (v->check_found == v->check_expected));
  if (v->region == BLOK_VIN_REGION_NORTH_AMERICA) CHECK(v->check == BLOK_VIN_CHECK_MATCHED);
  /* The normalised VIN, and its lower-case form, parse to the same fields. */
  struct blok_vin again;
  CHECK(blok_vin_parse(&again, NULL, v->vin, BLOK_VIN_LEN) == BLOK_OK);
  CHECK(same_fields(v, &again));
  char low[BLOK_VIN_LEN];
  for (size_t i = 0; i < BLOK_VIN_LEN; i++)
    low[i] = lower(v->vin[i]);
  CHECK(blok_vin_parse(&again, NULL, low, BLOK_VIN_LEN) == BLOK_OK);
  CHECK(same_fields(v, &again));
}

static void check_refused(const struct blok_vin *v, const struct blok_vin_problem *p,
                          const uint8_t *data, size_t size) {
  switch (p->fault) {
    case BLOK_VIN_FAULT_LENGTH:
      CHECK(size != BLOK_VIN_LEN && p->length_found == size);
      CHECK(v->vin[0] == '\0');
      break;
    case BLOK_VIN_FAULT_CHARACTER:
      CHECK(size == BLOK_VIN_LEN && p->position >= 1 && p->position <= BLOK_VIN_LEN);
      CHECK(!in_alphabet(data[p->position - 1]) && p->byte == data[p->position - 1]);
      for (size_t i = 0; i + 1 < p->position; i++)
        CHECK(in_alphabet(data[i]));
      CHECK(v->vin[0] == '\0');
      break;
    case BLOK_VIN_FAULT_CHECK_DIGIT:
      CHECK(size == BLOK_VIN_LEN);
      check_decoded(v, data);
      CHECK(v->region == BLOK_VIN_REGION_NORTH_AMERICA && v->check == BLOK_VIN_CHECK_MISMATCH);
      CHECK(p->check_expected == v->check_expected && p->check_found == v->check_found);
      CHECK(p->check_expected != p->check_found);
      break;
    case BLOK_VIN_FAULT_NONE:
    default:
      CHECK(p->fault != BLOK_VIN_FAULT_NONE); /* a refusal names its fault */
  }
}

static void check_describe(const struct blok_vin_problem *p) {
  char out[BLOK_VIN_PROBLEM_MAX];
  size_t n = blok_vin_problem_describe(out, sizeof out, p);
  CHECK(n < sizeof out && strlen(out) == n);
  char tiny[7];
  CHECK(blok_vin_problem_describe(tiny, sizeof tiny, p) == n);
  CHECK(strlen(tiny) == (n < sizeof tiny ? n : sizeof tiny - 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct blok_vin v;
  struct blok_vin_problem p;
  enum blok_err err = blok_vin_parse(&v, &p, (const char *)data, size);
  if (err == BLOK_OK) {
    CHECK(p.fault == BLOK_VIN_FAULT_NONE);
    check_accepted(&v, data, size);
  } else {
    CHECK(err == BLOK_EVIN);
    check_refused(&v, &p, data, size);
    check_describe(&p);
  }
  /* Whatever the first 17 bytes are, a parse of exactly them agrees with the alphabet. */
  if (size >= BLOK_VIN_LEN) {
    bool all = true;
    for (size_t i = 0; i < BLOK_VIN_LEN; i++)
      all = all && in_alphabet(data[i]);
    err = blok_vin_parse(&v, &p, (const char *)data, BLOK_VIN_LEN);
    CHECK(all == (err == BLOK_OK || p.fault == BLOK_VIN_FAULT_CHECK_DIGIT));
  }
  return 0;
}
