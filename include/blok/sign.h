/*
 * Ed25519 signatures (RFC 8032) through libsodium, with Blokauto's verification rules pinned
 * in this module rather than left to the library version (docs/PROTOCOL.md, "Ed25519
 * signatures"). Which signatures are valid is a consensus rule: two nodes that disagree on
 * one signature disagree on a block. So the encoding rules are checked here, byte by byte,
 * before libsodium sees the signature, and the tests check that libsodium still agrees:
 *
 *   S       must be below the group order L (no S + L malleability)          BLOK_EBADSIG
 *   A       must be canonical (y < p) and not one of the 8 small-order points
 *           in any of their 14 encodings                                      BLOK_EBADKEY
 *   R       must be canonical (y < p) and not of small order                  BLOK_EBADSIG
 *   then    encode([S]B - [h]A) == R, byte for byte, h = SHA-512(R || A || M) mod L
 *           (the cofactorless equation, libsodium's)                          BLOK_EBADSIG
 *
 * Everything the ledger signs goes through the domain-separated form: the signed bytes are
 * text(tag) || text(chain_id) || message (text is the canonical codec's u32 length then the
 * bytes), so a signature made for one purpose or one chain never verifies for another.
 *
 * A key pair holds the secret seed: fill one only through blok_sign_keypair_from_seed or
 * blok_sign_keypair_generate (a public half that does not match the seed makes libsodium leak
 * the secret key when it signs), and wipe it with blok_sign_keypair_clear.
 */
#ifndef BLOK_SIGN_H
#define BLOK_SIGN_H

#include <stdbool.h>

#include "blok/buf.h"

#define BLOK_SIGN_SEED_LEN 32
#define BLOK_SIGN_PK_LEN   32
#define BLOK_SIGN_SK_LEN   64
#define BLOK_SIGN_SIG_LEN  64
/* Tags name what is signed ("blokauto/tx/v1"): 1..64 bytes of [a-z0-9._/-]. */
#define BLOK_SIGN_TAG_MAX 64
/* Chain ids name the ledger ("blokauto-devnet"): 1..64 bytes of [a-z0-9._-]. */
#define BLOK_SIGN_CHAIN_ID_MAX 64
/* The longest message signed or verified. Formats set their own, smaller limits; this one
 * bounds the buffer the domain-separated forms build. */
#define BLOK_SIGN_MSG_MAX ((size_t)16 << 20)

struct blok_sign_keypair {
  uint8_t sk[BLOK_SIGN_SK_LEN]; /* libsodium's secret key: seed || public key. Secret. */
  uint8_t pk[BLOK_SIGN_PK_LEN];
};

/* The key pair of a 32-byte seed (RFC 8032 5.1.5). BLOK_ECRYPTO if libsodium cannot start. */
BLOK_WUR enum blok_err blok_sign_keypair_from_seed(struct blok_sign_keypair *kp,
                                                   const uint8_t seed[BLOK_SIGN_SEED_LEN]);
/* A new key pair from libsodium's randombytes_buf. BLOK_ECRYPTO if libsodium cannot start. */
BLOK_WUR enum blok_err blok_sign_keypair_generate(struct blok_sign_keypair *kp);
/* Overwrites the key pair with zeros (sodium_memzero, which the compiler cannot drop). */
void blok_sign_keypair_clear(struct blok_sign_keypair *kp);

/*
 * The pinned encoding rules of a signature and key, without the equation: BLOK_EBADKEY for
 * a non-canonical or small-order A, then BLOK_EBADSIG for S >= L or a non-canonical or
 * small-order R. Cheap (byte comparisons), so a node can refuse such input before it queues
 * the full check.
 */
BLOK_WUR enum blok_err blok_sign_precheck(const uint8_t sig[BLOK_SIGN_SIG_LEN],
                                          const uint8_t pk[BLOK_SIGN_PK_LEN]);
/*
 * The full check for a key that enters the ledger (genesis, registration, rotation): the
 * pinned rules, and the key must be a curve point in the prime-order subgroup (a key with
 * a small-order component cannot come from a seed). BLOK_EBADKEY otherwise. Verification
 * itself does not repeat the subgroup check (it would nearly double its cost).
 */
BLOK_WUR enum blok_err blok_sign_check_pk(const uint8_t pk[BLOK_SIGN_PK_LEN]);

/*
 * Plain RFC 8032 Ed25519 over msg, with no domain: for test vectors and for byte strings
 * whose format already names their purpose and chain. Ledger code uses the _domain forms.
 * blok_sign_raw fails only with BLOK_ETOOLONG (msg_len > BLOK_SIGN_MSG_MAX) or BLOK_ECRYPTO.
 * blok_verify_raw: BLOK_OK, or BLOK_EBADKEY / BLOK_EBADSIG as blok_sign_precheck, or
 * BLOK_EBADSIG when the equation fails (including for a key that is not a curve point),
 * BLOK_ETOOLONG, BLOK_ECRYPTO.
 */
BLOK_WUR enum blok_err blok_sign_raw(uint8_t sig[BLOK_SIGN_SIG_LEN],
                                     const struct blok_sign_keypair *kp, const uint8_t *msg,
                                     size_t msg_len);
BLOK_WUR enum blok_err blok_verify_raw(const uint8_t sig[BLOK_SIGN_SIG_LEN],
                                       const uint8_t pk[BLOK_SIGN_PK_LEN], const uint8_t *msg,
                                       size_t msg_len);

/* Whether a NUL-terminated tag or chain id follows the rules above. */
bool blok_sign_tag_valid(const char *tag);
bool blok_sign_chain_id_valid(const char *chain_id);

/*
 * Appends the bytes a domain-separated signature covers, text(tag) || text(chain_id) ||
 * msg, to out. BLOK_EBADTAG for a bad tag or chain id, BLOK_ETOOLONG for msg_len above
 * BLOK_SIGN_MSG_MAX or when out would pass its maximum, BLOK_ENOMEM. On failure out may hold
 * part of the bytes.
 */
BLOK_WUR enum blok_err blok_sign_domain_message(struct blok_buf *out, const char *tag,
                                                const char *chain_id, const uint8_t *msg,
                                                size_t msg_len);
/*
 * Signs and verifies the domain-separated message. Both fail with BLOK_EBADTAG for a bad tag
 * or chain id and BLOK_ETOOLONG or BLOK_ENOMEM as blok_sign_domain_message; verification
 * otherwise fails as blok_verify_raw. The message is built in a per-thread buffer that is
 * reused, so the hot path does not allocate once it has seen a message of the size.
 */
BLOK_WUR enum blok_err blok_sign_domain(uint8_t sig[BLOK_SIGN_SIG_LEN],
                                        const struct blok_sign_keypair *kp, const char *tag,
                                        const char *chain_id, const uint8_t *msg, size_t msg_len);
BLOK_WUR enum blok_err blok_verify_domain(const uint8_t sig[BLOK_SIGN_SIG_LEN],
                                          const uint8_t pk[BLOK_SIGN_PK_LEN], const char *tag,
                                          const char *chain_id, const uint8_t *msg, size_t msg_len);

#endif
