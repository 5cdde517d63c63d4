/*
 * Open-addressing hash map over 32-byte keys (kvmap.h). Load factor at most one half.
 */
#include <stdlib.h>
#include <string.h>

#include "kvmap.h"
#include "blok/banned.h"

void blok__kvmap_init(struct blok__kvmap *m) {
  memset(m, 0, sizeof *m);
}

void blok__kvmap_clear(struct blok__kvmap *m) {
  for (size_t i = 0; i < m->cap; i++) {
    free(m->slots[i].val);
    memset(&m->slots[i], 0, sizeof m->slots[i]);
  }
  m->count = 0;
  m->bytes = 0;
}

void blok__kvmap_release(struct blok__kvmap *m) {
  blok__kvmap_clear(m);
  free(m->slots);
  memset(m, 0, sizeof *m);
}

static size_t slot_of(const uint8_t key[32], size_t cap) {
  uint64_t h;
  memcpy(&h, key, sizeof h);
  return (size_t)(h & (cap - 1));
}

static struct blok__kv *find(struct blok__kv *slots, size_t cap, const uint8_t key[32]) {
  size_t i = slot_of(key, cap);
  while (slots[i].used && memcmp(slots[i].key, key, 32) != 0)
    i = (i + 1) & (cap - 1);
  return &slots[i];
}

const struct blok__kv *blok__kvmap_get(const struct blok__kvmap *m, const uint8_t key[32]) {
  if (m->cap == 0) return NULL;
  const struct blok__kv *e = find(m->slots, m->cap, key);
  return e->used ? e : NULL;
}

static enum blok_err grow(struct blok__kvmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  struct blok__kv *slots = calloc(cap, sizeof *slots);
  if (slots == NULL) return BLOK_ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].used) *find(slots, cap, m->slots[i].key) = m->slots[i];
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return BLOK_OK;
}

/* Sets key's entry to val (taken: malloc'd, or NULL), freeing the value it replaces. */
static enum blok_err put_take(struct blok__kvmap *m, const uint8_t key[32], uint8_t *val,
                              size_t len, bool deleted) {
  if ((m->count + 1) * 2 > m->cap) BLOK_TRY(grow(m));
  struct blok__kv *e = find(m->slots, m->cap, key);
  if (e->used) {
    m->bytes -= e->len;
    free(e->val);
  } else {
    e->used = true;
    memcpy(e->key, key, 32);
    m->count++;
  }
  e->deleted = deleted;
  e->val = val;
  e->len = deleted ? 0 : len;
  m->bytes += e->len;
  return BLOK_OK;
}

enum blok_err blok__kvmap_put(struct blok__kvmap *m, const uint8_t key[32], const void *val,
                              size_t len, bool deleted) {
  uint8_t *copy = NULL;
  if (!deleted && len > 0) {
    copy = malloc(len);
    if (copy == NULL) return BLOK_ENOMEM;
    memcpy(copy, val, len);
  }
  enum blok_err rc = put_take(m, key, copy, len, deleted);
  if (rc != BLOK_OK) free(copy);
  return rc;
}

/* The values move, not copied: an entry is emptied in src as soon as dst owns its value, so a
 * failure part way (dst cannot grow) leaves every value owned by exactly one map. */
enum blok_err blok__kvmap_merge(struct blok__kvmap *dst, struct blok__kvmap *src) {
  enum blok_err rc = BLOK_OK;
  for (size_t i = 0; rc == BLOK_OK && i < src->cap; i++) {
    struct blok__kv *e = &src->slots[i];
    if (!e->used) continue;
    rc = put_take(dst, e->key, e->val, e->len, e->deleted);
    if (rc == BLOK_OK) e->val = NULL;
  }
  blok__kvmap_clear(src);
  return rc;
}

static int cmp_entry(const void *a, const void *b) {
  const struct blok__kv *x = *(const struct blok__kv *const *)a;
  const struct blok__kv *y = *(const struct blok__kv *const *)b;
  return memcmp(x->key, y->key, 32);
}

enum blok_err blok__kvmap_sorted(const struct blok__kvmap *m, const struct blok__kv ***out) {
  *out = NULL;
  if (m->count == 0) return BLOK_OK;
  const struct blok__kv **v = malloc(m->count * sizeof *v);
  if (v == NULL) return BLOK_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].used) v[k++] = &m->slots[i];
  BLOK_ASSERT(k == m->count);
  qsort(v, k, sizeof *v, cmp_entry);
  *out = v;
  return BLOK_OK;
}
