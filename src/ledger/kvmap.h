/*
 * A hash map from 32-byte keys to owned byte values (or a "deleted" mark), used for the write
 * overlays of block execution. Keys are SHA-256 outputs, so their first bytes serve as the
 * hash. Iteration in key order (blok__kvmap_sorted) is what makes the state-tree update and
 * the storage writes independent of the order transactions wrote in.
 */
#ifndef BLOK_LEDGER_KVMAP_H
#define BLOK_LEDGER_KVMAP_H

#include <stdbool.h>

#include "blok/err.h"

struct blok__kv {
  uint8_t key[32];
  bool used;
  bool deleted;
  uint8_t *val; /* malloc'd, NULL when deleted or empty */
  size_t len;
};

struct blok__kvmap {
  struct blok__kv *slots;
  size_t cap; /* a power of two, or 0 before the first put */
  size_t count;
  size_t bytes; /* sum of value lengths, for limits */
};

void blok__kvmap_init(struct blok__kvmap *m);
void blok__kvmap_release(struct blok__kvmap *m);
/* Drops every entry, keeping the table for reuse. */
void blok__kvmap_clear(struct blok__kvmap *m);
/* The entry for key, or NULL. */
const struct blok__kv *blok__kvmap_get(const struct blok__kvmap *m, const uint8_t key[32]);
/* Sets key to a copy of val, or marks it deleted (val NULL and deleted true). */
BLOK_WUR enum blok_err blok__kvmap_put(struct blok__kvmap *m, const uint8_t key[32],
                                       const void *val, size_t len, bool deleted);
/* Moves every entry of src into dst (src's values overwrite; the values are moved, not
 * copied), leaving src empty, also when it fails (BLOK_ENOMEM: dst could not grow). */
BLOK_WUR enum blok_err blok__kvmap_merge(struct blok__kvmap *dst, struct blok__kvmap *src);
/* An array of pointers to the entries in key order; free() it. NULL with count 0 is fine. */
BLOK_WUR enum blok_err blok__kvmap_sorted(const struct blok__kvmap *m,
                                          const struct blok__kv ***out);

#endif
