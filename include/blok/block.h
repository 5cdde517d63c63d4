/*
 * Blocks and quorum certificates (docs/PROTOCOL.md, "Blocks"). The block hash is SHA-256 of
 * the header encoding; the header commits to the transactions (an RFC 9162 tree over their
 * ids), their results, the state root after the block and the validator set. A quorum
 * certificate is 2f+1 validator signatures over a vote for the block; with one validator it
 * is that validator's signature.
 */
#ifndef BLOK_BLOCK_H
#define BLOK_BLOCK_H

#include "blok/codec.h"
#include "blok/sign.h"

#define BLOK_BLOCK_VERSION   1
#define BLOK_BLOCK_TXS_MAX   10000
#define BLOK_BLOCK_BYTES_MAX ((size_t)16 << 20)
#define BLOK_VALIDATORS_MAX  256
#define BLOK_VOTE_TAG        "blokauto/vote/v1"
/* The longest header encoding: version, chain id, three u64, parent, time, proposer, count and
 * four roots. */
#define BLOK_HEADER_ENCODED_MAX (1 + 4 + BLOK_SIGN_CHAIN_ID_MAX + 3 * 8 + 32 + 8 + 32 + 4 + 4 * 32)
_Static_assert(BLOK_HEADER_ENCODED_MAX == 297, "header layout changed: update PROTOCOL.md");

struct blok_header {
  uint8_t version;
  char chain_id[BLOK_SIGN_CHAIN_ID_MAX + 1];
  uint64_t height;
  uint64_t epoch; /* validator-set generation; 0 from genesis */
  uint64_t round; /* consensus round in which it was proposed */
  uint8_t parent[32];
  uint64_t timestamp_ms; /* set by the proposer, later than the parent's */
  uint8_t proposer[32];
  uint32_t tx_count;
  uint8_t tx_root[32];      /* RFC 9162 root over the transaction ids, in block order */
  uint8_t results_root[32]; /* RFC 9162 root over the results: id || u32 code, in block order */
  uint8_t state_root[32];   /* state tree root after the block */
  uint8_t validators_hash[32];
};

BLOK_WUR enum blok_err blok_header_encode(struct blok_buf *out, const struct blok_header *h);
BLOK_WUR enum blok_err blok_header_decode(struct blok_reader *r, struct blok_header *h);
/* SHA-256 of the header's encoding. */
BLOK_WUR enum blok_err blok_header_hash(const struct blok_header *h, uint8_t out[32]);

/* What validators sign: u64 epoch || u64 round || u64 height || fixed[32] block hash,
 * domain-separated with BLOK_VOTE_TAG and the chain id. */
struct blok_vote_data {
  uint64_t epoch;
  uint64_t round;
  uint64_t height;
  uint8_t block_hash[32];
};

/* A quorum certificate: the vote data, a bitmap of the signers (bit i of byte i/8, least
 * significant first, is validator i) and their signatures in validator order. */
struct blok_qc {
  struct blok_vote_data vote;
  uint16_t validator_count;
  uint8_t signers[BLOK_VALIDATORS_MAX / 8];
  uint16_t sig_count;
  uint8_t sigs[BLOK_VALIDATORS_MAX][BLOK_SIGN_SIG_LEN];
};

BLOK_WUR enum blok_err blok_vote_encode(struct blok_buf *out, const struct blok_vote_data *v);
BLOK_WUR enum blok_err blok_vote_sign(uint8_t sig[BLOK_SIGN_SIG_LEN], const char *chain_id,
                                      const struct blok_vote_data *v,
                                      const struct blok_sign_keypair *kp);
BLOK_WUR enum blok_err blok_qc_encode(struct blok_buf *out, const struct blok_qc *qc);
BLOK_WUR enum blok_err blok_qc_decode(struct blok_reader *r, struct blok_qc *qc);
/* Checks a certificate against a validator set: the count matches, more than two thirds of
 * the validators signed (2f+1 of n = 3f+1; all of n = 1), every signature verifies.
 * BLOK_EBADSIG when one does not, BLOK_EBADPROOF for too few signers or a malformed bitmap.
 * validators holds n packed 32-byte public keys. */
BLOK_WUR enum blok_err blok_qc_verify(const struct blok_qc *qc, const char *chain_id,
                                      const uint8_t *validators, size_t n);

/* SHA-256 of list<fixed[32], 256> of the validators' public keys, in order. validators holds
 * n packed 32-byte keys (as in blok_qc_verify). */
BLOK_WUR enum blok_err blok_validators_hash(const uint8_t *validators, size_t n, uint8_t out[32]);

/* Quorum size for n validators: the smallest q with q > 2n/3. */
size_t blok_quorum(size_t n);

#endif
