/*
 * Authenticated state: a sparse Merkle tree over 256-bit keys (docs/PROTOCOL.md, "State
 * tree"). Keys are SHA-256 digests, so paths are uniformly spread; the tree is compacted in
 * the way of Diem's Jellyfish Merkle tree: a subtree that holds a single leaf is that leaf,
 * placed at its shortest unique prefix, so a path is about log2(n) nodes long, not 256.
 *
 *   empty subtree   32 zero bytes
 *   leaf            SHA-256(0x02 || key[32] || value_hash[32])
 *   internal node   SHA-256(0x03 || left[32] || right[32])
 *
 * Bit i of a key (i = 0 the most significant bit of byte 0) chooses the child at depth i:
 * 0 left, 1 right. The root depends only on the set of (key, value_hash) pairs, never on the
 * order in which they were written.
 *
 * Nodes are stored under their own hash and the version (a block height) of the update that
 * wrote them, in a store the caller provides: LMDB for a node, memory for tests and the
 * simulator. An internal node records where its two children are: the version each was
 * written at and its slot (the place the store gave it among that version's nodes, returned by
 * put), so a reader goes straight to a child; where a root is comes from the store (root_at).
 * Kept by version, the nodes one block writes are neighbours in LMDB instead of spread over
 * every page of the table (docs/PROTOCOL.md, "Storage"). Versions and slots are storage only:
 * no hash and no proof depends on them. Old roots stay readable.
 */
#ifndef BLOK_SMT_H
#define BLOK_SMT_H

#include <stdbool.h>

#include "blok/codec.h"

#define BLOK_SMT_DEPTH_MAX 256

enum blok_smt_kind {
  BLOK_SMT_EMPTY = 0,
  BLOK_SMT_INTERNAL = 1,
  BLOK_SMT_LEAF = 2,
};

/* A slot no store gives: "find it by its hash". */
#define BLOK_SMT_SLOT_NONE UINT32_MAX

/* Where a node is: the version it was written at and its slot there (or BLOK_SMT_SLOT_NONE). */
struct blok_smt_at {
  uint64_t version;
  uint32_t slot;
};

struct blok_smt_node {
  uint8_t kind;    /* enum blok_smt_kind: INTERNAL or LEAF */
  uint8_t a[32];   /* internal: left child hash;  leaf: key */
  uint8_t b[32];   /* internal: right child hash; leaf: value hash */
  uint64_t va, vb; /* internal: the versions the left and right children were written at */
  uint32_t sa, sb; /* internal: their slots (or BLOK_SMT_SLOT_NONE); a leaf's are NONE */
};

/* Where nodes live. get looks a node up where `at` says (a slot of BLOK_SMT_SLOT_NONE: by its
 * hash alone) and returns BLOK_ENOTFOUND for a node it does not hold at that version (a store
 * may ignore versions, as the memory store does: a hash names one content). put stores a node
 * at version and gives its slot there, the one get is then asked with; it may be called for a
 * node that is already there (it must then keep the one it has, they are equal, and give its
 * slot). root_at gives where a (non-empty) root's node is. checked: get has already made sure
 * each node hashes to the hash it was asked for (or holds only nodes this process made): the
 * tree then does not hash it again. A store on disk leaves it false. */
struct blok_smt_store {
  void *ctx;
  bool checked;
  enum blok_err (*get)(void *ctx, struct blok_smt_at at, const uint8_t hash[32],
                       struct blok_smt_node *out);
  enum blok_err (*put)(void *ctx, uint64_t version, const uint8_t hash[32],
                       const struct blok_smt_node *node, uint32_t *slot);
  enum blok_err (*root_at)(void *ctx, const uint8_t root[32], struct blok_smt_at *at);
};

/* One change: set key to value_hash, or delete it (deleting an absent key changes nothing). */
struct blok_smt_write {
  uint8_t key[32];
  uint8_t value_hash[32];
  bool del;
};

extern const uint8_t blok_smt_empty_root[32];

void blok_smt_leaf_hash(uint8_t out[32], const uint8_t key[32], const uint8_t value_hash[32]);
void blok_smt_node_hash(uint8_t out[32], const uint8_t left[32], const uint8_t right[32]);

/* Applies writes to the tree at root and gives the new root, writing new nodes at `version`
 * (the block's height); *new_root_at is where the new root's node is (an older version when
 * the root is a node the update did not write again). writes must be sorted by key (memcmp
 * order) with no key twice: BLOK_EINVAL otherwise. Fails with the store's error or
 * BLOK_ENOMEM; the old root stays valid whatever happens. */
BLOK_WUR enum blok_err blok_smt_update(const struct blok_smt_store *s, const uint8_t root[32],
                                       const struct blok_smt_write *writes, size_t n,
                                       uint64_t version, uint8_t new_root[32],
                                       struct blok_smt_at *new_root_at);

/* Looks key up: *found and, when found, its value hash. */
BLOK_WUR enum blok_err blok_smt_get(const struct blok_smt_store *s, const uint8_t root[32],
                                    const uint8_t key[32], bool *found, uint8_t value_hash[32]);

/* A proof that a key has a value hash, or that it is absent. The path ends at an empty
 * subtree, at the key's own leaf (inclusion) or at another key's leaf that sits where the key
 * would be (non-inclusion). siblings[i] is the sibling at depth i, from the root down. */
struct blok_smt_proof {
  uint8_t end; /* enum blok_smt_kind: EMPTY or LEAF */
  uint8_t leaf_key[32];
  uint8_t leaf_value_hash[32];
  uint16_t depth;
  uint8_t siblings[BLOK_SMT_DEPTH_MAX][32];
};

BLOK_WUR enum blok_err blok_smt_prove(const struct blok_smt_store *s, const uint8_t root[32],
                                      const uint8_t key[32], struct blok_smt_proof *out);

/* Checks a proof against a root with no store. value_hash NULL: the proof must show the key
 * absent; otherwise it must show the key with exactly that value hash. BLOK_EBADPROOF when
 * it does not. */
BLOK_WUR enum blok_err blok_smt_verify(const uint8_t root[32], const uint8_t key[32],
                                       const uint8_t *value_hash, const struct blok_smt_proof *p);

/* BLOK_OK when node hashes to hash (a leaf or an internal node), else BLOK_EFORMAT: what a
 * store read from disk must pass before it is used. */
BLOK_WUR enum blok_err blok_smt_node_check(const uint8_t hash[32], const struct blok_smt_node *n);

/* Canonical encoding of a proof (docs/PROTOCOL.md): u8 end, [fixed32 leaf_key, fixed32
 * leaf_value_hash when end is LEAF], list<fixed[32], 256> siblings. */
BLOK_WUR enum blok_err blok_smt_proof_encode(struct blok_buf *b, const struct blok_smt_proof *p);
BLOK_WUR enum blok_err blok_smt_proof_decode(struct blok_reader *r, struct blok_smt_proof *p);

/* An in-memory node store: the nodes a block makes before it is committed, and whole trees in
 * tests and the simulator. A node's slot is its place in the order of puts (0 the first), the
 * place blok_txn_smt_put_nodes writes it at; get goes straight to it, or finds a node by its
 * hash when the slot is NONE or holds another node. */
struct blok_smt_memstore;
BLOK_WUR enum blok_err blok_smt_memstore_new(struct blok_smt_memstore **out);
void blok_smt_memstore_free(struct blok_smt_memstore *m);
/* Empties it and keeps its memory, for the next block (no new pages to fault in). */
void blok_smt_memstore_clear(struct blok_smt_memstore *m);
void blok_smt_memstore_bind(struct blok_smt_memstore *m, struct blok_smt_store *s);
size_t blok_smt_memstore_count(const struct blok_smt_memstore *m);
/* Calls fn for every node with the version it was put at, in slot order; stops at and returns
 * the first error. */
BLOK_WUR enum blok_err blok_smt_memstore_foreach(const struct blok_smt_memstore *m,
                                                 enum blok_err (*fn)(void *ctx, uint64_t version,
                                                                     const uint8_t hash[32],
                                                                     const struct blok_smt_node *n),
                                                 void *ctx);

#endif
