/*
 * What the report's files share (blok/report.h): building (build.c), verifying (verify.c) and
 * the summary (summary.c).
 */
#ifndef BLOK_REPORT_INTERNAL_H
#define BLOK_REPORT_INTERNAL_H

#include "blok/report.h"

/* A u64 as a JSON integer, or as a decimal string above 2^63 - 1 (docs/API.md). */
json_t *blok__report_json_u64(uint64_t v);
/* Lowercase hex of n bytes as a JSON string (NULL on out of memory). */
json_t *blok__report_json_hex(const uint8_t *data, size_t n);
/* The vehicle module's kind named type, or NULL. */
const struct blok_tx_kind *blok__report_kind(const char *type);

#endif
