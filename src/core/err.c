/*
 * Names and messages of enum blok_err, generated from the table in blok/err.h, and the
 * failure path of BLOK_ASSERT.
 */
#include <stdio.h>
#include <stdlib.h>

#include "blok/err.h"
#include "blok/banned.h"

const char *blok_err_name(enum blok_err err) {
  switch (err) {
#define BLOK__ERR_NAME(name, value, msg)                                                           \
  case BLOK_##name:                                                                                \
    return "BLOK_" #name;
    BLOK_ERR_MAP(BLOK__ERR_NAME)
#undef BLOK__ERR_NAME
  }
  return "BLOK_UNKNOWN";
}

const char *blok_strerror(enum blok_err err) {
  switch (err) {
#define BLOK__ERR_MSG(name, value, msg)                                                            \
  case BLOK_##name:                                                                                \
    return msg;
    BLOK_ERR_MAP(BLOK__ERR_MSG)
#undef BLOK__ERR_MSG
  }
  return "unknown error";
}

void blok__assert_fail(const char *expr, const char *file, int line) {
  fprintf(stderr, "blokauto: assertion failed: %s (%s:%d)\n", expr, file, line);
  fflush(stderr);
  abort();
}
