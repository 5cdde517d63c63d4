/*
 * The pure parts of the network handshake (docs/NETWORK.md, "Handshake"): the message layouts,
 * the transcript both sides sign, and the session keys. No I/O and no state, so each function
 * can be checked against the document line by line. The cryptography is libsodium's: crypto_kx
 * for the key exchange (X25519, then BLAKE2b-512 over the shared point and both public keys) and
 * the project's domain-separated Ed25519 (blok/sign.h) for the signatures.
 */
#include <string.h>

#include "net_internal.h"
#include "blok/banned.h"

void blok__net_hello_build(uint8_t out[BLOK__NET_M1_LEN], const uint8_t e_pk[BLOK__NET_EPH_LEN],
                           const uint8_t id[BLOK_NET_KEY_LEN]) {
  memcpy(out, BLOK__NET_MAGIC, BLOK__NET_MAGIC_LEN);
  memcpy(out + BLOK__NET_MAGIC_LEN, e_pk, BLOK__NET_EPH_LEN);
  memcpy(out + BLOK__NET_MAGIC_LEN + BLOK__NET_EPH_LEN, id, BLOK_NET_KEY_LEN);
}

enum blok_err blok__net_hello_parse(const uint8_t in[BLOK__NET_M1_LEN],
                                    uint8_t e_pk[BLOK__NET_EPH_LEN], uint8_t id[BLOK_NET_KEY_LEN]) {
  if (memcmp(in, BLOK__NET_MAGIC, BLOK__NET_MAGIC_LEN) != 0) return BLOK_EFORMAT;
  memcpy(e_pk, in + BLOK__NET_MAGIC_LEN, BLOK__NET_EPH_LEN);
  memcpy(id, in + BLOK__NET_MAGIC_LEN + BLOK__NET_EPH_LEN, BLOK_NET_KEY_LEN);
  return BLOK_OK;
}

void blok__net_transcript(uint8_t out[BLOK__NET_TRANSCRIPT_LEN],
                          const uint8_t e_i[BLOK__NET_EPH_LEN],
                          const uint8_t e_r[BLOK__NET_EPH_LEN],
                          const uint8_t id_i[BLOK_NET_KEY_LEN],
                          const uint8_t id_r[BLOK_NET_KEY_LEN]) {
  memcpy(out, e_i, BLOK__NET_EPH_LEN);
  memcpy(out + 32, e_r, BLOK__NET_EPH_LEN);
  memcpy(out + 64, id_i, BLOK_NET_KEY_LEN);
  memcpy(out + 96, id_r, BLOK_NET_KEY_LEN);
}

enum blok_err blok__net_sign_transcript(uint8_t sig[BLOK_SIGN_SIG_LEN],
                                        const struct blok_sign_keypair *kp, const char *chain_id,
                                        bool initiator, const uint8_t t[BLOK__NET_TRANSCRIPT_LEN]) {
  const char *tag = initiator ? BLOK__NET_TAG_INITIATOR : BLOK__NET_TAG_RESPONDER;
  return blok_sign_domain(sig, kp, tag, chain_id, t, BLOK__NET_TRANSCRIPT_LEN);
}

enum blok_err blok__net_verify_transcript(const uint8_t sig[BLOK_SIGN_SIG_LEN],
                                          const uint8_t pk[BLOK_NET_KEY_LEN], const char *chain_id,
                                          bool initiator,
                                          const uint8_t t[BLOK__NET_TRANSCRIPT_LEN]) {
  const char *tag = initiator ? BLOK__NET_TAG_INITIATOR : BLOK__NET_TAG_RESPONDER;
  return blok_verify_domain(sig, pk, tag, chain_id, t, BLOK__NET_TRANSCRIPT_LEN);
}

enum blok_err blok__net_session_keys(struct blok__net_keys *k, bool initiator,
                                     const uint8_t own_pk[BLOK__NET_EPH_LEN],
                                     const uint8_t own_sk[BLOK__NET_EPH_LEN],
                                     const uint8_t peer_pk[BLOK__NET_EPH_LEN]) {
  /* crypto_kx returns -1 when the X25519 result is all zeros, which a small-order peer key
   * forces; such a "shared" secret would be known to anyone. */
  int rc = initiator ? crypto_kx_client_session_keys(k->rx, k->tx, own_pk, own_sk, peer_pk)
                     : crypto_kx_server_session_keys(k->rx, k->tx, own_pk, own_sk, peer_pk);
  if (rc != 0) {
    sodium_memzero(k, sizeof *k);
    return BLOK_EBADKEY;
  }
  return BLOK_OK;
}

void blok__net_nonce(uint8_t out[BLOK__NET_NONCE_LEN], uint64_t ctr) {
  memset(out, 0, 4);
  for (size_t i = 0; i < 8; i++)
    out[4 + i] = (uint8_t)(ctr >> (8 * i));
}
