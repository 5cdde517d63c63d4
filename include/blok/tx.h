/*
 * Signed transactions (docs/PROTOCOL.md, "Transactions"). A transaction is a body followed by
 * the sender's Ed25519 signature over the body, domain-separated with the tag "blokauto/tx/v1"
 * and the chain id. Its id is SHA-256 of the body alone, so no re-encoding of a signature can
 * change it.
 *
 *   u8 version (1) | text<64> chain_id | text<32> module | text<32> type | fixed[32] sender |
 *   u64 nonce | u64 expiry_height | bytes<65536> payload || fixed[64] signature
 */
#ifndef BLOK_TX_H
#define BLOK_TX_H

#include "blok/codec.h"
#include "blok/sign.h"

#define BLOK_TX_VERSION     1
#define BLOK_TX_TAG         "blokauto/tx/v1"
#define BLOK_TX_NAME_MAX    32 /* module and type names: 1..32 bytes of [a-z0-9_] */
#define BLOK_TX_PAYLOAD_MAX 65536
#define BLOK_TX_ENCODED_MAX                                                                        \
  (1 + 4 + BLOK_SIGN_CHAIN_ID_MAX + 2 * (4 + BLOK_TX_NAME_MAX) + 32 + 8 + 8 + 4 +                  \
   BLOK_TX_PAYLOAD_MAX + BLOK_SIGN_SIG_LEN)

struct blok_tx {
  uint8_t version;
  char chain_id[BLOK_SIGN_CHAIN_ID_MAX + 1];
  char module[BLOK_TX_NAME_MAX + 1];
  char type[BLOK_TX_NAME_MAX + 1];
  uint8_t sender[BLOK_SIGN_PK_LEN];
  uint64_t nonce;         /* the sender's first transaction has nonce 1 */
  uint64_t expiry_height; /* the last block height that may include it */
  const uint8_t *payload; /* borrowed: into the bytes decoded, or the caller's */
  size_t payload_len;
  uint8_t sig[BLOK_SIGN_SIG_LEN];
  uint8_t id[32];     /* SHA-256 of the body; set by decode and sign */
  const uint8_t *raw; /* decode: the whole encoding (body || signature) */
  size_t raw_len;
};

/* Whether s (NUL-terminated) is a valid module or type name. */
bool blok_tx_name_valid(const char *s);

/* Parses a whole encoded transaction: every field checked against its limits, names valid,
 * no trailing bytes; computes the id. It does not check the signature. Fails with the codec's
 * errors, BLOK_EFORMAT for a bad version or name, BLOK_EBADTAG for a bad chain id. */
BLOK_WUR enum blok_err blok_tx_decode(struct blok_tx *tx, const uint8_t *data, size_t len);

/* Appends the body encoding. BLOK_EINVAL for a field the decoder would refuse. */
BLOK_WUR enum blok_err blok_tx_encode_body(struct blok_buf *out, const struct blok_tx *tx);

/* Sets tx->sender from kp, signs, sets tx->sig and tx->id, and appends body || signature to
 * out (out must be empty: tx->raw is pointed at it). */
BLOK_WUR enum blok_err blok_tx_sign(struct blok_tx *tx, const struct blok_sign_keypair *kp,
                                    struct blok_buf *out);

/* Checks the signature of a decoded transaction. BLOK_EBADSIG / BLOK_EBADKEY. */
BLOK_WUR enum blok_err blok_tx_verify(const struct blok_tx *tx);

#endif
