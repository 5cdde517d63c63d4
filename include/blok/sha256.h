/*
 * SHA-256 through OpenSSL's libcrypto (EVP, which uses the CPU's SHA extensions when it
 * has them). The one-shot form reuses a per-thread context so hashing a small message does
 * not allocate; the incremental form owns its context.
 */
#ifndef BLOK_SHA256_H
#define BLOK_SHA256_H

#include "blok/err.h"

#define BLOK_SHA256_LEN 32

/* out = SHA-256(data). Aborts only if libcrypto cannot allocate its context (out of memory). */
void blok_sha256(uint8_t out[BLOK_SHA256_LEN], const void *data, size_t len);
/* out = SHA-256(a || b): two parts without copying them together. */
void blok_sha256_2(uint8_t out[BLOK_SHA256_LEN], const void *a, size_t a_len, const void *b,
                   size_t b_len);

struct blok_sha256 {
  void *ctx; /* EVP_MD_CTX */
};

/* BLOK_ENOMEM or BLOK_ECRYPTO on failure; on success release with blok_sha256_release. */
BLOK_WUR enum blok_err blok_sha256_init(struct blok_sha256 *s);
void blok_sha256_update(struct blok_sha256 *s, const void *data, size_t len);
/* Writes the digest and resets s for a new message. */
void blok_sha256_final(struct blok_sha256 *s, uint8_t out[BLOK_SHA256_LEN]);
void blok_sha256_release(struct blok_sha256 *s);

#endif
