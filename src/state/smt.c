/*
 * The sparse Merkle tree of blok/smt.h. Updates descend from the root along the written
 * keys only, so a block that writes k keys into a tree of n touches about k * log2(n) nodes.
 * Every function keeps the tree canonical (a lone leaf is hoisted to its shortest unique
 * prefix, a subtree with nothing in it is the zero hash), which is what makes the root a
 * function of the contents alone.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/sha256.h"
#include "blok/smt.h"
#include "blok/banned.h"

const uint8_t blok_smt_empty_root[32] = {0};

enum { PREFIX_LEAF = 0x02, PREFIX_NODE = 0x03, KIND_UNKNOWN = 0xFF };

/* A subtree as the update sees it: its hash, where its node is and, when known, its kind. */
struct sub {
  uint8_t hash[32];
  struct blok_smt_at at;
  uint8_t kind;
};

static const struct blok_smt_at nowhere = {0, BLOK_SMT_SLOT_NONE};

/* What one update writes: new nodes go to the store at `version`. */
struct upd {
  const struct blok_smt_store *s;
  uint64_t version;
};

static int key_bit(const uint8_t key[32], unsigned depth) {
  return (key[depth >> 3] >> (7 - (depth & 7))) & 1;
}

static bool is_zero(const uint8_t h[32]) {
  return memcmp(h, blok_smt_empty_root, 32) == 0;
}

void blok_smt_leaf_hash(uint8_t out[32], const uint8_t key[32], const uint8_t value_hash[32]) {
  uint8_t m[65];
  m[0] = PREFIX_LEAF;
  memcpy(m + 1, key, 32);
  memcpy(m + 33, value_hash, 32);
  blok_sha256(out, m, sizeof m);
}

void blok_smt_node_hash(uint8_t out[32], const uint8_t left[32], const uint8_t right[32]) {
  uint8_t m[65];
  m[0] = PREFIX_NODE;
  memcpy(m + 1, left, 32);
  memcpy(m + 33, right, 32);
  blok_sha256(out, m, sizeof m);
}

enum blok_err blok_smt_node_check(const uint8_t hash[32], const struct blok_smt_node *n) {
  uint8_t check[32];
  if (n->kind == BLOK_SMT_LEAF)
    blok_smt_leaf_hash(check, n->a, n->b);
  else if (n->kind == BLOK_SMT_INTERNAL)
    blok_smt_node_hash(check, n->a, n->b);
  else
    return BLOK_EFORMAT;
  return memcmp(check, hash, 32) == 0 ? BLOK_OK : BLOK_EFORMAT;
}

/* Loads the node under hash; the zero hash is the empty subtree and is never stored. A node
 * the store returns must hash to the hash it was asked for: a damaged store is reported, not
 * trusted (unless the store checked it already). */
static enum blok_err load(const struct blok_smt_store *s, struct blok_smt_at at,
                          const uint8_t hash[32], struct blok_smt_node *out) {
  if (is_zero(hash)) {
    out->kind = BLOK_SMT_EMPTY;
    return BLOK_OK;
  }
  BLOK_TRY(s->get(s->ctx, at, hash, out));
  if (out->kind != BLOK_SMT_LEAF && out->kind != BLOK_SMT_INTERNAL) return BLOK_EFORMAT;
  return s->checked ? BLOK_OK : blok_smt_node_check(hash, out);
}

static enum blok_err put_leaf(const struct upd *u, const uint8_t key[32],
                              const uint8_t value_hash[32], struct sub *out) {
  struct blok_smt_node n = {
      .kind = BLOK_SMT_LEAF, .sa = BLOK_SMT_SLOT_NONE, .sb = BLOK_SMT_SLOT_NONE};
  memcpy(n.a, key, 32);
  memcpy(n.b, value_hash, 32);
  blok_smt_leaf_hash(out->hash, key, value_hash);
  out->kind = BLOK_SMT_LEAF;
  out->at.version = u->version;
  return u->s->put(u->s->ctx, u->version, out->hash, &n, &out->at.slot);
}

static enum blok_err resolve_kind(const struct blok_smt_store *s, struct sub *x) {
  if (x->kind != KIND_UNKNOWN) return BLOK_OK;
  struct blok_smt_node n;
  BLOK_TRY(load(s, x->at, x->hash, &n));
  x->kind = n.kind;
  return BLOK_OK;
}

/* Joins two sibling subtrees into their parent, hoisting a lone leaf over an empty sibling
 * (it keeps its version and slot: it is not written again). */
static enum blok_err combine(const struct upd *u, struct sub *l, struct sub *r, struct sub *out) {
  bool l_empty = is_zero(l->hash), r_empty = is_zero(r->hash);
  if (l_empty || r_empty) {
    struct sub *other = l_empty ? r : l;
    BLOK_TRY(resolve_kind(u->s, other));
    if (other->kind != BLOK_SMT_INTERNAL) { /* empty, or a leaf that moves up */
      *out = *other;
      return BLOK_OK;
    }
  }
  struct blok_smt_node n = {.kind = BLOK_SMT_INTERNAL,
                            .va = l->at.version,
                            .vb = r->at.version,
                            .sa = l->at.slot,
                            .sb = r->at.slot};
  memcpy(n.a, l->hash, 32);
  memcpy(n.b, r->hash, 32);
  blok_smt_node_hash(out->hash, l->hash, r->hash);
  out->kind = BLOK_SMT_INTERNAL;
  out->at.version = u->version;
  return u->s->put(u->s->ctx, u->version, out->hash, &n, &out->at.slot);
}

/* First index in items[0..n) whose key has bit 1 at depth (the keys share their first
 * `depth` bits and are sorted, so the zeros come first). */
static size_t split_at(const struct blok_smt_write *items, size_t n, unsigned depth) {
  size_t i = 0;
  while (i < n && key_bit(items[i].key, depth) == 0)
    i++;
  return i;
}

/* Builds the canonical subtree holding exactly items (sorted, distinct, none deleted). */
static enum blok_err build(const struct upd *u, unsigned depth, const struct blok_smt_write *items,
                           size_t n, struct sub *out) {
  if (n == 0) {
    memset(out->hash, 0, 32);
    out->kind = BLOK_SMT_EMPTY;
    out->at = nowhere;
    return BLOK_OK;
  }
  if (n == 1) return put_leaf(u, items[0].key, items[0].value_hash, out);
  BLOK_ASSERT(depth < BLOK_SMT_DEPTH_MAX);
  size_t m = split_at(items, n, depth);
  struct sub l, r;
  BLOK_TRY(build(u, depth + 1, items, m, &l));
  BLOK_TRY(build(u, depth + 1, items + m, n - m, &r));
  return combine(u, &l, &r, out);
}

/* The new contents of an empty or single-leaf subtree: the writes that set a value, plus the
 * existing leaf unless a write replaces or deletes it. */
static enum blok_err rebuild_terminal(const struct upd *u, unsigned depth,
                                      const struct blok_smt_node *node,
                                      const struct blok_smt_write *w, size_t n, struct sub *out) {
  struct blok_smt_write *items = malloc((n + 1) * sizeof *items);
  if (items == NULL) return BLOK_ENOMEM;
  size_t k = 0;
  bool keep = node->kind == BLOK_SMT_LEAF;
  for (size_t i = 0; i < n; i++) {
    int c = keep ? memcmp(node->a, w[i].key, 32) : 1;
    if (keep && c < 0) { /* the existing leaf goes before this write */
      memcpy(items[k].key, node->a, 32);
      memcpy(items[k].value_hash, node->b, 32);
      items[k++].del = false;
      keep = false;
    } else if (keep && c == 0) {
      keep = false; /* replaced or deleted by this write */
    }
    if (!w[i].del) items[k++] = w[i];
  }
  if (keep) {
    memcpy(items[k].key, node->a, 32);
    memcpy(items[k].value_hash, node->b, 32);
    items[k++].del = false;
  }
  enum blok_err rc = build(u, depth, items, k, out);
  free(items);
  return rc;
}

static enum blok_err update(const struct upd *u, const struct sub *at, unsigned depth,
                            const struct blok_smt_write *w, size_t n, struct sub *out) {
  if (n == 0) {
    *out = *at;
    out->kind = KIND_UNKNOWN;
    return BLOK_OK;
  }
  struct blok_smt_node node;
  BLOK_TRY(load(u->s, at->at, at->hash, &node));
  if (node.kind != BLOK_SMT_INTERNAL) return rebuild_terminal(u, depth, &node, w, n, out);
  if (depth >= BLOK_SMT_DEPTH_MAX) return BLOK_EFORMAT; /* a store that loops */
  size_t m = split_at(w, n, depth);
  struct sub l = {.at = {node.va, node.sa}}, r = {.at = {node.vb, node.sb}}, nl, nr;
  memcpy(l.hash, node.a, 32);
  memcpy(r.hash, node.b, 32);
  BLOK_TRY(update(u, &l, depth + 1, w, m, &nl));
  BLOK_TRY(update(u, &r, depth + 1, w + m, n - m, &nr));
  return combine(u, &nl, &nr, out);
}

/* Where the root's node is (nowhere for the empty tree). */
static enum blok_err root_of(const struct blok_smt_store *s, const uint8_t root[32],
                             struct sub *out) {
  memcpy(out->hash, root, 32);
  out->at = nowhere;
  out->kind = KIND_UNKNOWN;
  return is_zero(root) ? BLOK_OK : s->root_at(s->ctx, root, &out->at);
}

enum blok_err blok_smt_update(const struct blok_smt_store *s, const uint8_t root[32],
                              const struct blok_smt_write *writes, size_t n, uint64_t version,
                              uint8_t new_root[32], struct blok_smt_at *new_root_at) {
  for (size_t i = 1; i < n; i++)
    if (memcmp(writes[i - 1].key, writes[i].key, 32) >= 0) return BLOK_EINVAL;
  struct sub at, out;
  struct upd u = {s, version};
  BLOK_TRY(root_of(s, root, &at));
  BLOK_TRY(update(&u, &at, 0, writes, n, &out));
  memcpy(new_root, out.hash, 32);
  *new_root_at = out.at;
  return BLOK_OK;
}

/* Walks from root along key until an empty subtree or a leaf; records siblings if asked. */
static enum blok_err walk(const struct blok_smt_store *s, const uint8_t root[32],
                          const uint8_t key[32], struct blok_smt_node *end,
                          struct blok_smt_proof *p) {
  struct sub at;
  BLOK_TRY(root_of(s, root, &at));
  for (unsigned depth = 0;; depth++) {
    BLOK_TRY(load(s, at.at, at.hash, end));
    if (end->kind != BLOK_SMT_INTERNAL) {
      if (p) p->depth = (uint16_t)depth;
      return BLOK_OK;
    }
    if (depth >= BLOK_SMT_DEPTH_MAX) return BLOK_EFORMAT;
    int b = key_bit(key, depth);
    if (p) memcpy(p->siblings[depth], b ? end->a : end->b, 32);
    memcpy(at.hash, b ? end->b : end->a, 32);
    at.at.version = b ? end->vb : end->va;
    at.at.slot = b ? end->sb : end->sa;
  }
}

enum blok_err blok_smt_get(const struct blok_smt_store *s, const uint8_t root[32],
                           const uint8_t key[32], bool *found, uint8_t value_hash[32]) {
  struct blok_smt_node end;
  BLOK_TRY(walk(s, root, key, &end, NULL));
  *found = end.kind == BLOK_SMT_LEAF && memcmp(end.a, key, 32) == 0;
  if (*found) memcpy(value_hash, end.b, 32);
  return BLOK_OK;
}

enum blok_err blok_smt_prove(const struct blok_smt_store *s, const uint8_t root[32],
                             const uint8_t key[32], struct blok_smt_proof *out) {
  struct blok_smt_node end;
  memset(out, 0, sizeof *out);
  BLOK_TRY(walk(s, root, key, &end, out));
  out->end = end.kind;
  if (end.kind == BLOK_SMT_LEAF) {
    memcpy(out->leaf_key, end.a, 32);
    memcpy(out->leaf_value_hash, end.b, 32);
  }
  return BLOK_OK;
}

/* Whether a and b agree on their first `bits` bits. */
static bool same_prefix(const uint8_t a[32], const uint8_t b[32], unsigned bits) {
  for (unsigned i = 0; i < bits; i++)
    if (key_bit(a, i) != key_bit(b, i)) return false;
  return true;
}

enum blok_err blok_smt_verify(const uint8_t root[32], const uint8_t key[32],
                              const uint8_t *value_hash, const struct blok_smt_proof *p) {
  if (p->depth > BLOK_SMT_DEPTH_MAX) return BLOK_EBADPROOF;
  uint8_t h[32];
  if (p->end == BLOK_SMT_EMPTY) {
    if (value_hash != NULL) return BLOK_EBADPROOF;
    memset(h, 0, 32);
  } else if (p->end == BLOK_SMT_LEAF) {
    bool same_key = memcmp(p->leaf_key, key, 32) == 0;
    if (value_hash != NULL && (!same_key || memcmp(p->leaf_value_hash, value_hash, 32) != 0))
      return BLOK_EBADPROOF;
    if (value_hash == NULL && (same_key || !same_prefix(p->leaf_key, key, p->depth)))
      return BLOK_EBADPROOF;
    blok_smt_leaf_hash(h, p->leaf_key, p->leaf_value_hash);
  } else {
    return BLOK_EBADPROOF;
  }
  for (unsigned i = p->depth; i-- > 0;) {
    if (key_bit(key, i))
      blok_smt_node_hash(h, p->siblings[i], h);
    else
      blok_smt_node_hash(h, h, p->siblings[i]);
  }
  return memcmp(h, root, 32) == 0 ? BLOK_OK : BLOK_EBADPROOF;
}

enum blok_err blok_smt_proof_encode(struct blok_buf *b, const struct blok_smt_proof *p) {
  BLOK_ASSERT(p->depth <= BLOK_SMT_DEPTH_MAX);
  BLOK_TRY(blok_enc_u8(b, p->end));
  if (p->end == BLOK_SMT_LEAF) {
    BLOK_TRY(blok_enc_fixed(b, p->leaf_key, 32));
    BLOK_TRY(blok_enc_fixed(b, p->leaf_value_hash, 32));
  }
  BLOK_TRY(blok_enc_count(b, p->depth, BLOK_SMT_DEPTH_MAX));
  for (unsigned i = 0; i < p->depth; i++)
    BLOK_TRY(blok_enc_fixed(b, p->siblings[i], 32));
  return BLOK_OK;
}

enum blok_err blok_smt_proof_decode(struct blok_reader *r, struct blok_smt_proof *p) {
  size_t depth;
  memset(p, 0, sizeof *p);
  BLOK_TRY(blok_dec_u8(r, &p->end));
  if (p->end == BLOK_SMT_LEAF) {
    BLOK_TRY(blok_dec_fixed(r, p->leaf_key, 32));
    BLOK_TRY(blok_dec_fixed(r, p->leaf_value_hash, 32));
  } else if (p->end != BLOK_SMT_EMPTY) {
    return BLOK_EFORMAT;
  }
  BLOK_TRY(blok_dec_count(r, &depth, BLOK_SMT_DEPTH_MAX));
  for (size_t i = 0; i < depth; i++)
    BLOK_TRY(blok_dec_fixed(r, p->siblings[i], 32));
  p->depth = (uint16_t)depth;
  return BLOK_OK;
}
