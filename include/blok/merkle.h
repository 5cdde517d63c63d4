/*
 * The Merkle log tree of RFC 9162 section 2.1 (the tree of RFC 6962, Certificate
 * Transparency), over SHA-256. Blocks use it for their transaction lists and telematics
 * batches for their records: one root commits to an ordered list, an inclusion proof shows
 * that one entry is in it, and a consistency proof shows that a longer list only appended
 * to a shorter one. docs/PROTOCOL.md, "Merkle log tree", is the byte-level specification.
 *
 *   leaf hash   SHA-256(0x00 || data)
 *   node hash   SHA-256(0x01 || left || right)
 *   empty root  SHA-256("")
 *
 * The trees are built over leaf hashes, not over the data, so a caller hashes each entry
 * once with blok_merkle_leaf_hash and keeps the array. Input arrays of hashes are packed:
 * n hashes are 32 * n bytes back to back, which is also their form on the wire. (They are
 * not `const uint8_t (*)[32]` because ISO C before C2x does not convert a `uint8_t (*)[32]`
 * to that type, and gcc -Wpedantic refuses the call.) Proofs come out into a
 * caller-provided `uint8_t (*out)[32]`; BLOK_MERKLE_PROOF_MAX entries always suffice.
 *
 * Verification sees proofs from the network: it checks sizes and lengths before it reads a
 * proof, reads nothing outside the given lengths, does at most 2 * BLOK_MERKLE_PROOF_MAX
 * node hashes, and answers BLOK_OK or BLOK_EBADPROOF. Generation and verification
 * are checked against the Certificate Transparency test data (tests/data/ct).
 */
#ifndef BLOK_MERKLE_H
#define BLOK_MERKLE_H

#include "blok/err.h"

#define BLOK_MERKLE_HASH_LEN 32
/* Most hashes a proof may hold. An inclusion proof in a tree of n leaves has at most
 * ceil(log2 n) <= 64; a consistency proof can need 65, but only for a tree of more than
 * 2^63 leaves, which no generator can hold in memory; verification refuses such a proof. */
#define BLOK_MERKLE_PROOF_MAX 64

/* out = SHA-256(0x00 || data). */
void blok_merkle_leaf_hash(uint8_t out[BLOK_MERKLE_HASH_LEN], const uint8_t *data, size_t len);
/* out = SHA-256(0x01 || left || right). out may be left or right. */
void blok_merkle_node_hash(uint8_t out[BLOK_MERKLE_HASH_LEN],
                           const uint8_t left[BLOK_MERKLE_HASH_LEN],
                           const uint8_t right[BLOK_MERKLE_HASH_LEN]);

/*
 * out = MTH(D[n]), the root over the n packed leaf hashes (SHA-256("") when n is 0;
 * leaf_hashes may then be NULL). Cannot fail: it uses a fixed stack of 64 subtree hashes,
 * no recursion and no allocation, and n - 1 node hashes.
 */
void blok_merkle_root(uint8_t out[BLOK_MERKLE_HASH_LEN], const uint8_t *leaf_hashes, size_t n);

/*
 * The inclusion proof (RFC 9162 2.1.3.1, the audit path) of leaf `index` in the tree over
 * the n packed leaf hashes, deepest sibling first. Writes *out_len hashes into out.
 * BLOK_ERANGE when index >= n (so always when n is 0); BLOK_ETOOLONG when the proof has
 * more than out_cap hashes (never with out_cap >= BLOK_MERKLE_PROOF_MAX). On failure out
 * and *out_len are unspecified.
 */
BLOK_WUR enum blok_err blok_merkle_inclusion_proof(uint8_t (*out)[BLOK_MERKLE_HASH_LEN],
                                                   size_t out_cap, size_t *out_len,
                                                   const uint8_t *leaf_hashes, size_t n,
                                                   size_t index);

/*
 * Checks that leaf_hash is leaf `index` of the tree of `size` leaves whose root is `root`,
 * given proof_len packed hashes of proof (RFC 9162 2.1.3.2). BLOK_OK, or BLOK_EBADPROOF
 * when index >= size, when proof_len > BLOK_MERKLE_PROOF_MAX, when the proof is longer or
 * shorter than the path for that index and size, or when the hashes do not lead to root.
 * proof may be NULL when proof_len is 0.
 */
BLOK_WUR enum blok_err blok_merkle_verify_inclusion(const uint8_t leaf_hash[BLOK_MERKLE_HASH_LEN],
                                                    uint64_t index, uint64_t size,
                                                    const uint8_t *proof, size_t proof_len,
                                                    const uint8_t root[BLOK_MERKLE_HASH_LEN]);

/*
 * The consistency proof (RFC 9162 2.1.4.1) between the tree over the first m of the n
 * packed leaf hashes and the tree over all n. Empty when m is 0 or m == n. BLOK_ERANGE
 * when m > n; BLOK_ETOOLONG when the proof has more than out_cap hashes (never with
 * out_cap >= BLOK_MERKLE_PROOF_MAX). On failure out and *out_len are unspecified.
 */
BLOK_WUR enum blok_err blok_merkle_consistency_proof(uint8_t (*out)[BLOK_MERKLE_HASH_LEN],
                                                     size_t out_cap, size_t *out_len,
                                                     const uint8_t *leaf_hashes, size_t n,
                                                     size_t m);

/*
 * Checks that the tree of first_size leaves with root first_root is a prefix of the tree
 * of second_size leaves with root second_root (RFC 9162 2.1.4.2). BLOK_OK, or
 * BLOK_EBADPROOF when first_size > second_size, when proof_len > BLOK_MERKLE_PROOF_MAX,
 * when the proof is longer or shorter than it must be, or when the hashes do not lead to
 * both roots. Equal sizes need an empty proof and equal roots. A first size of 0 needs an
 * empty proof and first_root = SHA-256("") (stricter than RFC 9162, which leaves that case
 * undefined: a root that is not the empty tree's is not the root of an empty tree).
 * proof may be NULL when proof_len is 0.
 */
BLOK_WUR enum blok_err blok_merkle_verify_consistency(
    uint64_t first_size, const uint8_t first_root[BLOK_MERKLE_HASH_LEN], uint64_t second_size,
    const uint8_t second_root[BLOK_MERKLE_HASH_LEN], const uint8_t *proof, size_t proof_len);

#endif
