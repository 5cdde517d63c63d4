/*
 * Shared helpers for the cmocka unit tests: reading test data files and hex literals.
 * Header-only (static inline) because each test is its own executable.
 */
#ifndef BLOK_TEST_UTIL_H
#define BLOK_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blok/hex.h"

/* Path of a file under tests/data (BLOK_TEST_DATA, set by ctest). */
static inline void test_data_path(char *out, size_t cap, const char *rel) {
  const char *dir = getenv("BLOK_TEST_DATA");
  assert_non_null(dir);
  int n = snprintf(out, cap, "%s/%s", dir, rel);
  assert_true(n > 0 && (size_t)n < cap);
}

/* Reads a whole test data file (at most 64 MiB) into a NUL-terminated malloc'd buffer. */
static inline char *test_read_file(const char *rel, size_t *len) {
  char path[4096];
  test_data_path(path, sizeof path, rel);
  FILE *f = fopen(path, "rb");
  if (f == NULL) fail_msg("cannot open %s", path);
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0) {
      assert_true(cap < ((size_t)64 << 20));
      cap *= 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
  }
  fclose(f);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

/* Decodes a hex literal that must fit cap bytes; returns the byte count. */
static inline size_t test_unhex(uint8_t *out, size_t cap, const char *hex) {
  size_t n = 0;
  assert_int_equal(blok_hex_decode(out, cap, &n, hex, strlen(hex)), BLOK_OK);
  return n;
}

#endif
