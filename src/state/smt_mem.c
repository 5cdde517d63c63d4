/*
 * An in-memory node store for the sparse Merkle tree: an open-addressing hash table keyed by
 * the node hash (already uniformly distributed, so its first bytes are the table hash). Used
 * by tests and by the deterministic simulator, where every node of a cluster lives in one
 * process.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/smt.h"
#include "blok/banned.h"

struct entry {
  uint8_t used;
  uint8_t hash[32];
  uint64_t version; /* the version it was put at; gets ignore it (a hash names one content) */
  struct blok_smt_node node;
};

struct blok_smt_memstore {
  struct entry *slots;
  size_t cap; /* a power of two */
  size_t count;
};

static size_t slot_of(const uint8_t hash[32], size_t cap) {
  uint64_t h;
  memcpy(&h, hash, sizeof h);
  return (size_t)(h & (cap - 1));
}

static struct entry *find(struct entry *slots, size_t cap, const uint8_t hash[32]) {
  size_t i = slot_of(hash, cap);
  while (slots[i].used && memcmp(slots[i].hash, hash, 32) != 0)
    i = (i + 1) & (cap - 1);
  return &slots[i];
}

static enum blok_err grow(struct blok_smt_memstore *m) {
  size_t cap = m->cap * 2;
  struct entry *slots = calloc(cap, sizeof *slots);
  if (slots == NULL) return BLOK_ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].used) *find(slots, cap, m->slots[i].hash) = m->slots[i];
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return BLOK_OK;
}

static enum blok_err mem_get(void *ctx, uint64_t version, const uint8_t hash[32],
                             struct blok_smt_node *out) {
  struct blok_smt_memstore *m = ctx;
  (void)version;
  struct entry *e = find(m->slots, m->cap, hash);
  if (!e->used) return BLOK_ENOTFOUND;
  *out = e->node;
  return BLOK_OK;
}

static enum blok_err mem_put(void *ctx, uint64_t version, const uint8_t hash[32],
                             const struct blok_smt_node *n) {
  struct blok_smt_memstore *m = ctx;
  if ((m->count + 1) * 2 > m->cap) BLOK_TRY(grow(m));
  struct entry *e = find(m->slots, m->cap, hash);
  if (e->used) return BLOK_OK;
  e->used = 1;
  memcpy(e->hash, hash, 32);
  e->version = version;
  e->node = *n;
  m->count++;
  return BLOK_OK;
}

enum blok_err blok_smt_memstore_new(struct blok_smt_memstore **out) {
  struct blok_smt_memstore *m = calloc(1, sizeof *m);
  if (m == NULL) return BLOK_ENOMEM;
  m->cap = 1024;
  m->slots = calloc(m->cap, sizeof *m->slots);
  if (m->slots == NULL) {
    free(m);
    return BLOK_ENOMEM;
  }
  *out = m;
  return BLOK_OK;
}

void blok_smt_memstore_free(struct blok_smt_memstore *m) {
  if (m == NULL) return;
  free(m->slots);
  free(m);
}

/* Any version will do: gets ignore it. */
static enum blok_err mem_root_version(void *ctx, const uint8_t root[32], uint64_t *version) {
  (void)ctx;
  (void)root;
  *version = 0;
  return BLOK_OK;
}

void blok_smt_memstore_bind(struct blok_smt_memstore *m, struct blok_smt_store *s) {
  s->ctx = m;
  s->get = mem_get;
  s->put = mem_put;
  s->root_version = mem_root_version;
}

size_t blok_smt_memstore_count(const struct blok_smt_memstore *m) {
  return m->count;
}

enum blok_err blok_smt_memstore_foreach(const struct blok_smt_memstore *m,
                                        enum blok_err (*fn)(void *ctx, uint64_t version,
                                                            const uint8_t hash[32],
                                                            const struct blok_smt_node *n),
                                        void *ctx) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].used)
      BLOK_TRY(fn(ctx, m->slots[i].version, m->slots[i].hash, &m->slots[i].node));
  return BLOK_OK;
}
