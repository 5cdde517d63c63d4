/*
 * Growable byte buffer with a hard maximum. Every buffer in Blokauto has a bound (STYLE.md,
 * "Memory"): appending past size_bytes_max fails with BLOK_ETOOLONG instead of growing
 * without limit, so a hostile input cannot make us allocate unboundedly.
 */
#ifndef BLOK_BUF_H
#define BLOK_BUF_H

#include "blok/err.h"

struct blok_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  size_t size_bytes_max;
};

/* An empty buffer that may grow to size_bytes_max bytes. Allocates nothing yet. */
void blok_buf_init(struct blok_buf *b, size_t size_bytes_max);
/* Frees the memory; the buffer is empty and may be used again. */
void blok_buf_release(struct blok_buf *b);
/* Forgets the contents but keeps the memory for reuse. */
void blok_buf_clear(struct blok_buf *b);
/* Makes room for n more bytes: BLOK_ETOOLONG past the maximum, BLOK_ENOMEM. */
BLOK_WUR enum blok_err blok_buf_reserve(struct blok_buf *b, size_t n);
/* Appends n bytes (n may be 0 with data NULL). Fails as blok_buf_reserve. */
BLOK_WUR enum blok_err blok_buf_append(struct blok_buf *b, const void *data, size_t n);
/* Hands the memory to the caller (who frees it with free()) and leaves b empty. */
uint8_t *blok_buf_detach(struct blok_buf *b, size_t *len);

#endif
