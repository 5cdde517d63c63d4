/*
 * SHA-256 with OpenSSL's libcrypto. The streaming functions use the EVP interface, its digest
 * method fetched once (fetching is the slow part of EVP: about 580 ns per one-shot SHA256()
 * against 170 ns with a fetched method and a reused context, for 65 bytes on the development
 * machine). The one-shot functions, which hash every state-tree node and Merkle leaf, call the
 * SHA256_* functions underneath EVP directly where this OpenSSL still has them (3.x, deprecated
 * there): 113 ns against EVP's 178 for a 65-byte node, the same SHA extensions doing the work.
 * Otherwise they keep one EVP context per thread, freed when the thread exits.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init and friends: see above */
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <pthread.h>

#include "blok/sha256.h"
#include "blok/banned.h"

static EVP_MD *g_md;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void) {
  g_md = EVP_MD_fetch(NULL, "SHA256", NULL);
  BLOK_ASSERT(g_md != NULL);
}

static const EVP_MD *md(void) {
  pthread_once(&g_once, init_once);
  return g_md;
}

#if OPENSSL_VERSION_MAJOR == 3
void blok_sha256_2(uint8_t out[BLOK_SHA256_LEN], const void *a, size_t a_len, const void *b,
                   size_t b_len) {
  SHA256_CTX s;
  BLOK_ASSERT(SHA256_Init(&s) == 1);
  BLOK_ASSERT(SHA256_Update(&s, a, a_len) == 1);
  if (b_len > 0) BLOK_ASSERT(SHA256_Update(&s, b, b_len) == 1);
  BLOK_ASSERT(SHA256_Final(out, &s) == 1);
  OPENSSL_cleanse(&s, sizeof s);
}
#else
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_ctx_key;
static _Thread_local EVP_MD_CTX *tl_ctx;

static void free_ctx(void *ctx) {
  EVP_MD_CTX_free(ctx);
}

static void key_once(void) {
  BLOK_ASSERT(pthread_key_create(&g_ctx_key, free_ctx) == 0);
}

static EVP_MD_CTX *thread_ctx(void) {
  if (tl_ctx == NULL) {
    pthread_once(&g_key_once, key_once);
    tl_ctx = EVP_MD_CTX_new();
    BLOK_ASSERT(tl_ctx != NULL);
    BLOK_ASSERT(pthread_setspecific(g_ctx_key, tl_ctx) == 0);
  }
  return tl_ctx;
}

void blok_sha256_2(uint8_t out[BLOK_SHA256_LEN], const void *a, size_t a_len, const void *b,
                   size_t b_len) {
  EVP_MD_CTX *c = thread_ctx();
  BLOK_ASSERT(EVP_DigestInit_ex2(c, md(), NULL) == 1);
  BLOK_ASSERT(EVP_DigestUpdate(c, a, a_len) == 1);
  BLOK_ASSERT(EVP_DigestUpdate(c, b, b_len) == 1);
  unsigned int n = 0;
  BLOK_ASSERT(EVP_DigestFinal_ex(c, out, &n) == 1 && n == BLOK_SHA256_LEN);
}
#endif

void blok_sha256(uint8_t out[BLOK_SHA256_LEN], const void *data, size_t len) {
  blok_sha256_2(out, data, len, NULL, 0);
}

enum blok_err blok_sha256_init(struct blok_sha256 *s) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (c == NULL) return BLOK_ENOMEM;
  if (EVP_DigestInit_ex2(c, md(), NULL) != 1) {
    EVP_MD_CTX_free(c);
    return BLOK_ECRYPTO;
  }
  s->ctx = c;
  return BLOK_OK;
}

void blok_sha256_update(struct blok_sha256 *s, const void *data, size_t len) {
  BLOK_ASSERT(s->ctx != NULL);
  BLOK_ASSERT(EVP_DigestUpdate(s->ctx, data, len) == 1);
}

void blok_sha256_final(struct blok_sha256 *s, uint8_t out[BLOK_SHA256_LEN]) {
  unsigned int n = 0;
  BLOK_ASSERT(s->ctx != NULL);
  BLOK_ASSERT(EVP_DigestFinal_ex(s->ctx, out, &n) == 1 && n == BLOK_SHA256_LEN);
  BLOK_ASSERT(EVP_DigestInit_ex2(s->ctx, md(), NULL) == 1);
}

void blok_sha256_release(struct blok_sha256 *s) {
  EVP_MD_CTX_free(s->ctx);
  s->ctx = NULL;
}
