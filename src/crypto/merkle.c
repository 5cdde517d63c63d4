/*
 * The RFC 9162 Merkle log tree (blok/merkle.h). The RFC defines the root and both proofs
 * recursively, splitting a tree of n leaves at k, the largest power of two below n. Here
 * the root is built bottom-up with a stack of complete subtrees (one per bit of n, so 64
 * at most), and the proofs walk the same splits top-down in a loop, hashing each sibling
 * subtree once: the siblings are disjoint ranges of leaves, so a proof costs O(n) hashes
 * and O(1) stack. Verification is the RFC's iterative algorithm over the bits of the
 * index and the size, word for word, behind length checks.
 */
#include <stdbool.h>
#include <string.h>

#include "blok/merkle.h"
#include "blok/sha256.h"
#include "blok/banned.h"

#define HLEN BLOK_MERKLE_HASH_LEN

_Static_assert(BLOK_MERKLE_HASH_LEN == BLOK_SHA256_LEN, "merkle hashes are sha-256");

void blok_merkle_leaf_hash(uint8_t out[HLEN], const uint8_t *data, size_t len) {
  static const uint8_t prefix = 0x00;
  blok_sha256_2(out, &prefix, 1, len ? data : (const uint8_t *)"", len);
}

void blok_merkle_node_hash(uint8_t out[HLEN], const uint8_t left[HLEN], const uint8_t right[HLEN]) {
  uint8_t buf[1 + 2 * HLEN];
  buf[0] = 0x01;
  memcpy(buf + 1, left, HLEN);
  memcpy(buf + 1 + HLEN, right, HLEN);
  blok_sha256(out, buf, sizeof buf); /* out may alias left or right: both are copied */
}

static bool hash_eq(const uint8_t a[HLEN], const uint8_t b[HLEN]) {
  return memcmp(a, b, HLEN) == 0;
}

/* The largest power of two strictly below n (n >= 2): the RFC's split point k. */
static uint64_t split_point(uint64_t n) {
  BLOK_ASSERT(n >= 2);
  /* Double k while 2k < n, written so that it cannot overflow; ends with k < n <= 2k. */
  uint64_t k = 1;
  while (k <= (n - 1) / 2)
    k <<= 1;
  return k;
}

/*
 * Stack of complete subtrees, left to right, strictly decreasing in size: after leaf i is
 * pushed, the two top entries merge as many times as i + 1 has trailing zero bits. Folding
 * what remains from the right gives MTH, because RFC 9162's split puts the largest
 * complete subtree on the left at every level.
 */
void blok_merkle_root(uint8_t out[HLEN], const uint8_t *leaf_hashes, size_t n) {
  if (n == 0) {
    blok_sha256(out, "", 0);
    return;
  }
  BLOK_ASSERT(leaf_hashes != NULL);
  uint8_t stack[64][HLEN];
  size_t top = 0;
  for (size_t i = 0; i < n; i++) {
    BLOK_ASSERT(top < 64);
    memcpy(stack[top++], leaf_hashes + i * HLEN, HLEN);
    for (size_t j = i + 1; (j & 1) == 0; j >>= 1) {
      blok_merkle_node_hash(stack[top - 2], stack[top - 2], stack[top - 1]);
      top--;
    }
  }
  for (; top > 1; top--)
    blok_merkle_node_hash(stack[top - 2], stack[top - 2], stack[top - 1]);
  memcpy(out, stack[0], HLEN);
}

/* MTH over leaves [lo, lo + count) of the packed array. */
static void subtree_root(uint8_t out[HLEN], const uint8_t *leaf_hashes, size_t lo, size_t count) {
  blok_merkle_root(out, leaf_hashes + lo * HLEN, count);
}

/* Copies the sibling hashes collected top-down into out, deepest first (the RFC's order). */
static enum blok_err emit_reversed(uint8_t (*out)[HLEN], size_t out_cap, size_t *out_len, size_t at,
                                   uint8_t (*sib)[HLEN], size_t sib_len) {
  if (sib_len > out_cap - at) return BLOK_ETOOLONG;
  for (size_t i = 0; i < sib_len; i++)
    memcpy(out[at + i], sib[sib_len - 1 - i], HLEN);
  *out_len = at + sib_len;
  return BLOK_OK;
}

/* PATH(m, D[n]) of RFC 9162 2.1.3.1, unrolled: each split records the sibling's MTH. */
enum blok_err blok_merkle_inclusion_proof(uint8_t (*out)[HLEN], size_t out_cap, size_t *out_len,
                                          const uint8_t *leaf_hashes, size_t n, size_t index) {
  if (index >= n) return BLOK_ERANGE;
  BLOK_ASSERT(leaf_hashes != NULL && out_len != NULL);
  uint8_t sib[BLOK_MERKLE_PROOF_MAX][HLEN];
  size_t depth = 0, lo = 0, size = n;
  while (size > 1) {
    size_t k = (size_t)split_point(size);
    /* A tree of n < 2^64 leaves is at most 64 levels deep, one split per level. */
    BLOK_ASSERT(depth < BLOK_MERKLE_PROOF_MAX);
    if (index < k) {
      subtree_root(sib[depth++], leaf_hashes, lo + k, size - k);
      size = k;
    } else {
      subtree_root(sib[depth++], leaf_hashes, lo, k);
      lo += k;
      index -= k;
      size -= k;
    }
  }
  return emit_reversed(out, out_cap, out_len, 0, sib, depth);
}

/*
 * SUBPROOF(m, D[n], b) of RFC 9162 2.1.4.1, unrolled. b turns false once the walk goes
 * right; if it is false when m reaches the size of the current subtree, that subtree's
 * root (the old tree's last complete subtree) is the deepest element of the proof.
 */
enum blok_err blok_merkle_consistency_proof(uint8_t (*out)[HLEN], size_t out_cap, size_t *out_len,
                                            const uint8_t *leaf_hashes, size_t n, size_t m) {
  if (m > n) return BLOK_ERANGE;
  BLOK_ASSERT(out_len != NULL);
  *out_len = 0;
  if (m == 0 || m == n) return BLOK_OK;
  BLOK_ASSERT(leaf_hashes != NULL);
  uint8_t sib[BLOK_MERKLE_PROOF_MAX][HLEN];
  size_t depth = 0, lo = 0, size = n;
  bool b = true;
  while (m < size) {
    size_t k = (size_t)split_point(size);
    BLOK_ASSERT(depth < BLOK_MERKLE_PROOF_MAX);
    if (m <= k) {
      subtree_root(sib[depth++], leaf_hashes, lo + k, size - k);
      size = k;
    } else {
      subtree_root(sib[depth++], leaf_hashes, lo, k);
      lo += k;
      m -= k;
      size -= k;
      b = false;
    }
  }
  size_t at = 0;
  if (!b) {
    if (out_cap == 0) return BLOK_ETOOLONG;
    subtree_root(out[at++], leaf_hashes, lo, m);
  }
  return emit_reversed(out, out_cap, out_len, at, sib, depth);
}

/* Right-shifts fn and sn together until fn's low bit is set or fn is 0 (RFC 9162 wording). */
static void shift_to_set_bit(uint64_t *fn, uint64_t *sn) {
  while (*fn != 0 && (*fn & 1) == 0) {
    *fn >>= 1;
    *sn >>= 1;
  }
}

enum blok_err blok_merkle_verify_inclusion(const uint8_t leaf_hash[HLEN], uint64_t index,
                                           uint64_t size, const uint8_t *proof, size_t proof_len,
                                           const uint8_t root[HLEN]) {
  BLOK_ASSERT(proof != NULL || proof_len == 0);
  if (index >= size || proof_len > BLOK_MERKLE_PROOF_MAX) return BLOK_EBADPROOF;
  uint64_t fn = index, sn = size - 1;
  uint8_t r[HLEN];
  memcpy(r, leaf_hash, HLEN);
  for (size_t i = 0; i < proof_len; i++) {
    const uint8_t *p = proof + i * HLEN;
    if (sn == 0) return BLOK_EBADPROOF; /* proof longer than the path */
    if ((fn & 1) || fn == sn) {
      blok_merkle_node_hash(r, p, r);
      shift_to_set_bit(&fn, &sn);
    } else {
      blok_merkle_node_hash(r, r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0 || !hash_eq(r, root)) return BLOK_EBADPROOF; /* sn != 0: proof too short */
  return BLOK_OK;
}

/* RFC 9162 2.1.4.2 steps 3 to 8, for 0 < first < second, with seed the proof's first
 * element (first_root itself when first is a power of two) and rest the others. */
static enum blok_err verify_consistency_path(uint64_t first, const uint8_t first_root[HLEN],
                                             uint64_t second, const uint8_t second_root[HLEN],
                                             const uint8_t seed[HLEN], const uint8_t *rest,
                                             size_t rest_len) {
  uint64_t fn = first - 1, sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  uint8_t fr[HLEN], sr[HLEN];
  memcpy(fr, seed, HLEN);
  memcpy(sr, seed, HLEN);
  for (size_t i = 0; i < rest_len; i++) {
    const uint8_t *c = rest + i * HLEN;
    if (sn == 0) return BLOK_EBADPROOF; /* proof longer than it must be */
    if ((fn & 1) || fn == sn) {
      blok_merkle_node_hash(fr, c, fr);
      blok_merkle_node_hash(sr, c, sr);
      shift_to_set_bit(&fn, &sn);
    } else {
      blok_merkle_node_hash(sr, sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0 || !hash_eq(fr, first_root) || !hash_eq(sr, second_root)) return BLOK_EBADPROOF;
  return BLOK_OK;
}

enum blok_err blok_merkle_verify_consistency(uint64_t first_size, const uint8_t first_root[HLEN],
                                             uint64_t second_size, const uint8_t second_root[HLEN],
                                             const uint8_t *proof, size_t proof_len) {
  BLOK_ASSERT(proof != NULL || proof_len == 0);
  if (first_size > second_size || proof_len > BLOK_MERKLE_PROOF_MAX) return BLOK_EBADPROOF;
  if (first_size == second_size) {
    return proof_len == 0 && hash_eq(first_root, second_root) ? BLOK_OK : BLOK_EBADPROOF;
  }
  if (first_size == 0) {
    uint8_t empty[HLEN];
    blok_sha256(empty, "", 0);
    return proof_len == 0 && hash_eq(first_root, empty) ? BLOK_OK : BLOK_EBADPROOF;
  }
  if (proof_len == 0) return BLOK_EBADPROOF;
  /* Step 2: when first is a power of two its root is a node of the new tree and the proof
   * leaves it out; the RFC prepends first_root, here it becomes the seed instead. */
  if ((first_size & (first_size - 1)) == 0) {
    return verify_consistency_path(first_size, first_root, second_size, second_root, first_root,
                                   proof, proof_len);
  }
  return verify_consistency_path(first_size, first_root, second_size, second_root, proof,
                                 proof + HLEN, proof_len - 1);
}
