/*
 * Vehicle identification numbers (ISO 3779, ISO 3780, 49 CFR 565; docs/VIN.md).
 *
 * A VIN is 17 characters from 0-9 and A-Z without I, O and Q. Lower case is accepted and
 * normalised to upper case; nothing else is (no spaces, no dashes). The ninth character is a
 * check digit computed from the other sixteen. It is mandatory for VINs whose world
 * manufacturer identifier (WMI) is North American (first character 1-5): a wrong one makes
 * such a VIN invalid. Elsewhere manufacturers may put anything there, so a mismatch is
 * reported (BLOK_VIN_CHECK_NOT_VERIFIED) but the VIN is accepted.
 *
 * The parser is pure: no I/O, no locale, no clock, no allocation. Consensus code uses it to
 * refuse registering an invalid VIN, so the same bytes give the same answer on every node.
 * It is safe on any input: it refuses a length other than 17 before reading a byte, and
 * reads at most 17 bytes otherwise.
 */
#ifndef BLOK_VIN_H
#define BLOK_VIN_H

#include <stdbool.h>

#include "blok/err.h"

#define BLOK_VIN_LEN 17
/* A WMI is 3 characters, or 6 for a small manufacturer (positions 1-3 and 12-14). */
#define BLOK_VIN_WMI_MAX 6
/* Room blok_vin_problem_describe needs for any problem, with the NUL. */
#define BLOK_VIN_PROBLEM_MAX 128

/* The region of the first character (ISO 3780 table; see docs/VIN.md for its sources). */
enum blok_vin_region {
  BLOK_VIN_REGION_AFRICA = 1,    /* A-H */
  BLOK_VIN_REGION_ASIA,          /* J-R */
  BLOK_VIN_REGION_EUROPE,        /* S-Z */
  BLOK_VIN_REGION_NORTH_AMERICA, /* 1-5 */
  BLOK_VIN_REGION_OCEANIA,       /* 6-7 */
  BLOK_VIN_REGION_SOUTH_AMERICA, /* 8-9 and 0 */
};

/* What position 9 says about the rest of the VIN. */
enum blok_vin_check {
  /* Position 9 equals the computed check digit. */
  BLOK_VIN_CHECK_MATCHED = 1,
  /* It does not, and the WMI is not North American, where the check digit is optional. */
  BLOK_VIN_CHECK_NOT_VERIFIED,
  /* It does not and the WMI is North American: the VIN is invalid (BLOK_EVIN). */
  BLOK_VIN_CHECK_MISMATCH,
};

/* Why a VIN was refused. */
enum blok_vin_fault {
  BLOK_VIN_FAULT_NONE = 0,
  BLOK_VIN_FAULT_LENGTH,      /* length_found is not 17 */
  BLOK_VIN_FAULT_CHARACTER,   /* byte at position is not in the VIN alphabet */
  BLOK_VIN_FAULT_CHECK_DIGIT, /* North American WMI, check_found != check_expected */
};

struct blok_vin_problem {
  enum blok_vin_fault fault;
  size_t length_found; /* BLOK_VIN_FAULT_LENGTH */
  size_t position;     /* BLOK_VIN_FAULT_CHARACTER: 1-based position of the first bad byte */
  uint8_t byte;        /* BLOK_VIN_FAULT_CHARACTER: that byte, as given */
  char check_expected; /* BLOK_VIN_FAULT_CHECK_DIGIT: '0'-'9' or 'X' */
  char check_found;    /* BLOK_VIN_FAULT_CHECK_DIGIT: position 9 */
};

/* A parsed VIN. Every string is NUL-terminated and upper case. */
struct blok_vin {
  char vin[BLOK_VIN_LEN + 1]; /* normalised */
  char wmi[BLOK_VIN_WMI_MAX + 1];
  char vds[6 + 1];         /* positions 4-9, check digit included (ISO 3779) */
  char vis[8 + 1];         /* positions 10-17 */
  bool small_manufacturer; /* position 3 is '9': wmi is positions 1-3 and 12-14 */
  enum blok_vin_region region;
  enum blok_vin_check check;
  char check_expected; /* computed: '0'-'9' or 'X' */
  char check_found;    /* position 9 */
  /* Model year from position 10 on the 30-year cycle. year_count is 2 (years[0] in
   * 1980-2009, years[1] = years[0] + 30) or 0 when position 10 is U, Z or 0, which are
   * never year codes. year_preferred is the index the position-7 rule picks (49 CFR 565.15:
   * digit 1980-2009, letter 2010-2039) for North American WMIs, -1 elsewhere or without
   * candidates. */
  char year_code;
  size_t year_count;
  uint16_t years[2];
  int year_preferred;
  char plant; /* position 11 */
};

/*
 * Parses and validates s[0..len). On success fills *vin and returns BLOK_OK. Otherwise
 * returns BLOK_EVIN and, when problem is not NULL, says why in *problem: the length found,
 * or the first bad byte and its position, or the expected and found check digit. After a
 * check-digit fault *vin still holds every decoded field (check is
 * BLOK_VIN_CHECK_MISMATCH) so a caller can show them; after any other fault it is zeroed.
 * s may be NULL only when len is 0.
 */
BLOK_WUR enum blok_err blok_vin_parse(struct blok_vin *vin, struct blok_vin_problem *problem,
                                      const char *s, size_t len);

/*
 * The check digit ('0'-'9' or 'X') of a 17-character VIN (lower case accepted), whatever
 * its position 9 holds. BLOK_EVIN when len is not 17 or a character is not in the alphabet.
 */
BLOK_WUR enum blok_err blok_vin_check_digit(char *digit, const char *s, size_t len);

/* "Africa", "Asia", "Europe", "North America", "Oceania", "South America"; "unknown". */
const char *blok_vin_region_name(enum blok_vin_region region);

/* "matched", "not_verified", "mismatch"; "unknown" for anything else. */
const char *blok_vin_check_name(enum blok_vin_check check);

/* "length", "character", "check_digit"; "none" for BLOK_VIN_FAULT_NONE. */
const char *blok_vin_fault_name(enum blok_vin_fault fault);

/*
 * Writes a one-line description of *problem, lowercase and without a full stop, into out (always
 * NUL-terminated when out_cap > 0; BLOK_VIN_PROBLEM_MAX is always enough), for example "wrong
 * length: expected 17 characters, found 16". Returns the length the full text has, as snprintf
 * does, so a result >= out_cap means it was cut.
 */
size_t blok_vin_problem_describe(char *out, size_t out_cap, const struct blok_vin_problem *problem);

#endif
