/*
 * An in-memory node store for the sparse Merkle tree. Nodes are appended, in the order they are
 * put, to chunks of CHUNK nodes that never move: growing copies nothing (one array copied a
 * block's megabytes of nodes again at every doubling). An open-addressing index of 8-byte slots
 * finds them by hash. A slot holds 32 bits of the hash (a tag) and the node's position, so a
 * miss is decided inside the index without touching the nodes: a block puts tens of thousands
 * of nodes, and an index of 8-byte entries stays in cache where a table of whole nodes did not.
 * Node hashes are uniformly distributed, so their bytes are the table hash. A node's slot is
 * its position: a get with the slot goes straight to it.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/smt.h"
#include "blok/banned.h"

struct entry {
  uint8_t hash[32];
  uint64_t version; /* the version it was put at; gets ignore it (a hash names one content) */
  struct blok_smt_node node;
};

#define CHUNK_BITS 12
#define CHUNK      ((size_t)1 << CHUNK_BITS)

struct blok_smt_memstore {
  struct entry **chunks; /* chunk_count of them allocated, kept by clear */
  size_t count, chunk_count, chunks_cap;
  uint64_t *slots; /* 0: empty; else tag << 32 | (position + 1) */
  size_t cap;      /* a power of two, at least twice count */
};

static struct entry *at(const struct blok_smt_memstore *m, size_t i) {
  return &m->chunks[i >> CHUNK_BITS][i & (CHUNK - 1)];
}

static uint64_t tag_of(const uint8_t hash[32]) {
  uint32_t t;
  memcpy(&t, hash + 8, sizeof t);
  return t;
}

/* The slot that holds hash, or the empty slot where it would go. */
static uint64_t *find(const struct blok_smt_memstore *m, const uint8_t hash[32]) {
  uint64_t h, tag = tag_of(hash);
  memcpy(&h, hash, sizeof h);
  size_t mask = m->cap - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    uint64_t s = m->slots[i];
    if (s == 0) return &m->slots[i];
    if (s >> 32 == tag && memcmp(at(m, (uint32_t)s - 1)->hash, hash, 32) == 0) return &m->slots[i];
  }
}

static enum blok_err grow_index(struct blok_smt_memstore *m) {
  size_t cap = m->cap * 2;
  uint64_t *slots = calloc(cap, sizeof *slots);
  if (slots == NULL) return BLOK_ENOMEM;
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  for (size_t i = 0; i < m->count; i++)
    *find(m, at(m, i)->hash) = tag_of(at(m, i)->hash) << 32 | (i + 1);
  return BLOK_OK;
}

static enum blok_err mem_get(void *ctx, struct blok_smt_at where, const uint8_t hash[32],
                             struct blok_smt_node *out) {
  struct blok_smt_memstore *m = ctx;
  if (where.slot < m->count && memcmp(at(m, where.slot)->hash, hash, 32) == 0) {
    *out = at(m, where.slot)->node;
    return BLOK_OK;
  }
  uint64_t s = *find(m, hash);
  if (s == 0) return BLOK_ENOTFOUND;
  *out = at(m, (uint32_t)s - 1)->node;
  return BLOK_OK;
}

static enum blok_err mem_put(void *ctx, uint64_t version, const uint8_t hash[32],
                             const struct blok_smt_node *n, uint32_t *where) {
  struct blok_smt_memstore *m = ctx;
  if (m->count >= UINT32_MAX - 1) return BLOK_EFULL;
  if ((m->count + 1) * 2 > m->cap) BLOK_TRY(grow_index(m));
  uint64_t *slot = find(m, hash);
  if (*slot != 0) {
    *where = (uint32_t)*slot - 1;
    return BLOK_OK;
  }
  if (m->count == m->chunk_count * CHUNK) {
    if (m->chunk_count == m->chunks_cap) {
      size_t cap = m->chunks_cap ? m->chunks_cap * 2 : 16;
      struct entry **chunks = realloc(m->chunks, cap * sizeof *chunks);
      if (chunks == NULL) return BLOK_ENOMEM;
      m->chunks = chunks;
      m->chunks_cap = cap;
    }
    struct entry *c = malloc(CHUNK * sizeof *c);
    if (c == NULL) return BLOK_ENOMEM;
    m->chunks[m->chunk_count++] = c;
  }
  struct entry *e = at(m, m->count);
  memcpy(e->hash, hash, 32);
  e->version = version;
  e->node = *n;
  *slot = tag_of(hash) << 32 | (m->count + 1);
  *where = (uint32_t)m->count++;
  return BLOK_OK;
}

enum blok_err blok_smt_memstore_new(struct blok_smt_memstore **out) {
  struct blok_smt_memstore *m = calloc(1, sizeof *m);
  if (m == NULL) return BLOK_ENOMEM;
  m->cap = 1024;
  m->slots = calloc(m->cap, sizeof *m->slots);
  if (m->slots == NULL) {
    blok_smt_memstore_free(m);
    return BLOK_ENOMEM;
  }
  *out = m;
  return BLOK_OK;
}

void blok_smt_memstore_free(struct blok_smt_memstore *m) {
  if (m == NULL) return;
  free(m->slots);
  for (size_t i = 0; i < m->chunk_count; i++)
    free(m->chunks[i]);
  free(m->chunks);
  free(m);
}

void blok_smt_memstore_clear(struct blok_smt_memstore *m) {
  memset(m->slots, 0, m->cap * sizeof *m->slots);
  m->count = 0;
}

/* Any version will do (gets ignore it), and the slot is the root's position. */
static enum blok_err mem_root_at(void *ctx, const uint8_t root[32], struct blok_smt_at *where) {
  struct blok_smt_memstore *m = ctx;
  uint64_t s = *find(m, root);
  where->version = 0;
  where->slot = s == 0 ? BLOK_SMT_SLOT_NONE : (uint32_t)s - 1;
  return BLOK_OK;
}

void blok_smt_memstore_bind(struct blok_smt_memstore *m, struct blok_smt_store *s) {
  s->ctx = m;
  s->checked = true; /* it holds what this process put */
  s->get = mem_get;
  s->put = mem_put;
  s->root_at = mem_root_at;
}

size_t blok_smt_memstore_count(const struct blok_smt_memstore *m) {
  return m->count;
}

enum blok_err blok_smt_memstore_foreach(const struct blok_smt_memstore *m,
                                        enum blok_err (*fn)(void *ctx, uint64_t version,
                                                            const uint8_t hash[32],
                                                            const struct blok_smt_node *n),
                                        void *ctx) {
  for (size_t i = 0; i < m->count; i++) {
    const struct entry *e = at(m, i);
    BLOK_TRY(fn(ctx, e->version, e->hash, &e->node));
  }
  return BLOK_OK;
}
