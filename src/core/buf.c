/*
 * Bounded growable byte buffer (blok/buf.h). Growth doubles, capped at the maximum, so
 * appending n bytes one at a time costs O(n) overall and never exceeds the bound.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/buf.h"
#include "blok/banned.h"

void blok_buf_init(struct blok_buf *b, size_t size_bytes_max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->size_bytes_max = size_bytes_max;
}

void blok_buf_release(struct blok_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void blok_buf_clear(struct blok_buf *b) {
  b->len = 0;
}

enum blok_err blok_buf_reserve(struct blok_buf *b, size_t n) {
  BLOK_ASSERT(b->len <= b->cap);
  if (n > b->size_bytes_max - b->len) return BLOK_ETOOLONG;
  size_t need = b->len + n;
  if (need <= b->cap) return BLOK_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > b->size_bytes_max) cap = b->size_bytes_max;
  uint8_t *p = realloc(b->data, cap);
  if (p == NULL) return BLOK_ENOMEM;
  b->data = p;
  b->cap = cap;
  return BLOK_OK;
}

enum blok_err blok_buf_append(struct blok_buf *b, const void *data, size_t n) {
  if (n == 0) return BLOK_OK;
  BLOK_TRY(blok_buf_reserve(b, n));
  memcpy(b->data + b->len, data, n);
  b->len += n;
  return BLOK_OK;
}

uint8_t *blok_buf_detach(struct blok_buf *b, size_t *len) {
  uint8_t *p = b->data;
  if (len) *len = b->len;
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  return p;
}
