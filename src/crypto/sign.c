/*
 * Ed25519 through libsodium, with the verification rules pinned here (blok/sign.h).
 *
 * libsodium 1.0.18 (crypto_sign/ed25519/ref10/open.c) already refuses what our rules refuse:
 * S >= L, R and A in its small-order list, A with y >= p; it computes R' = [S]B - [h]A and
 * compares the canonical encoding of R' with the signature's first 32 bytes, so an R that is
 * not canonical can never match. Those are consensus rules, though, so they are written out
 * once more in this file as byte comparisons that do not depend on the library: a later
 * libsodium that relaxed one of them would otherwise change which blocks are valid with no
 * change to our code. The unit tests check both layers separately.
 */
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "blok/codec.h"
#include "blok/sign.h"
#include "blok/banned.h"

/* The longest domain-separated message: two texts of at most 64 bytes and the message. */
#define BLOK__DOMAIN_MAX (2 * (4 + 64) + BLOK_SIGN_MSG_MAX)
/* A per-thread message buffer that grew past this is freed after use, not kept. */
#define BLOK__DOMAIN_KEEP_MAX ((size_t)64 << 10)

_Static_assert(BLOK_SIGN_SEED_LEN == crypto_sign_ed25519_SEEDBYTES, "seed size");
_Static_assert(BLOK_SIGN_PK_LEN == crypto_sign_ed25519_PUBLICKEYBYTES, "public key size");
_Static_assert(BLOK_SIGN_SK_LEN == crypto_sign_ed25519_SECRETKEYBYTES, "secret key size");
_Static_assert(BLOK_SIGN_SIG_LEN == crypto_sign_ed25519_BYTES, "signature size");
_Static_assert(BLOK_SIGN_TAG_MAX == 64 && BLOK_SIGN_CHAIN_ID_MAX == 64, "domain limits");

/* L = 2^252 + 27742317777372353535851937790883648493, the base point's order, little-endian. */
static const uint8_t group_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

#define FF10 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
#define FF30 FF10, FF10, FF10

/*
 * The low 255 bits (y) of every encoding of a point of small order (1, 2, 4 or 8). With either
 * sign bit these are the 14 encodings of the 8 small-order points, canonical or not: the list
 * of C2SP/CCTV ed25519/README.md, and the one libsodium 1.0.18 checks (ge25519_has_small_order).
 */
static const uint8_t small_order_y[7][32] = {
    {0x00}, /* y = 0: the two points of order 4 */
    {0x01}, /* y = 1: the identity (sign bit set: "x = -0") */
    /* the two y of the four points of order 8 */
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    {0xec, FF30, 0x7f}, /* y = p - 1: the point of order 2 */
    {0xed, FF30, 0x7f}, /* y = p: a non-canonical 0 */
    {0xee, FF30, 0x7f}, /* y = p + 1: a non-canonical 1 */
};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_sodium_rc;
static pthread_key_t g_buf_key;

static _Thread_local struct blok_buf tl_msg;
static _Thread_local int tl_msg_ready;

static void free_thread_buf(void *b) {
  blok_buf_release(b);
}

static void init_once(void) {
  g_sodium_rc = sodium_init(); /* 0 started, 1 already started, -1 failed */
  BLOK_ASSERT(pthread_key_create(&g_buf_key, free_thread_buf) == 0);
}

static enum blok_err start(void) {
  BLOK_ASSERT(pthread_once(&g_once, init_once) == 0);
  return g_sodium_rc < 0 ? BLOK_ECRYPTO : BLOK_OK;
}

/* The calling thread's domain-message buffer, empty; freed when the thread exits. */
static struct blok_buf *thread_buf(void) {
  if (!tl_msg_ready) {
    blok_buf_init(&tl_msg, BLOK__DOMAIN_MAX);
    BLOK_ASSERT(pthread_setspecific(g_buf_key, &tl_msg) == 0);
    tl_msg_ready = 1;
  }
  blok_buf_clear(&tl_msg);
  return &tl_msg;
}

static void thread_buf_done(struct blok_buf *b) {
  if (b->cap > BLOK__DOMAIN_KEEP_MAX) blok_buf_release(b);
}

/* Little-endian 256-bit s < L, compared from the most significant byte down. */
static bool scalar_below_order(const uint8_t s[32]) {
  for (size_t i = 32; i-- > 0;) {
    if (s[i] != group_order[i]) return s[i] < group_order[i];
  }
  return false;
}

/* A point encoding is canonical when its y (the low 255 bits) is below p = 2^255 - 19. The
 * only encodings with y >= p are ed..ff 7f (and with the sign bit, ff): byte 0 >= 0xed, bytes
 * 1 to 30 all 0xff, and byte 31 0x7f once the sign bit is masked. */
static bool point_y_canonical(const uint8_t s[32]) {
  if ((s[31] & 0x7f) != 0x7f || s[0] < 0xed) return true;
  for (size_t i = 1; i < 31; i++) {
    if (s[i] != 0xff) return true;
  }
  return false;
}

static bool point_small_order(const uint8_t s[32]) {
  for (size_t k = 0; k < BLOK_ARRAY_LEN(small_order_y); k++) {
    if (memcmp(s, small_order_y[k], 31) == 0 && (s[31] & 0x7f) == small_order_y[k][31]) return true;
  }
  return false;
}

static enum blok_err pk_precheck(const uint8_t pk[32]) {
  if (!point_y_canonical(pk) || point_small_order(pk)) return BLOK_EBADKEY;
  return BLOK_OK;
}

enum blok_err blok_sign_precheck(const uint8_t sig[BLOK_SIGN_SIG_LEN],
                                 const uint8_t pk[BLOK_SIGN_PK_LEN]) {
  BLOK_TRY(pk_precheck(pk));
  if (!scalar_below_order(sig + 32)) return BLOK_EBADSIG;
  if (!point_y_canonical(sig) || point_small_order(sig)) return BLOK_EBADSIG;
  return BLOK_OK;
}

enum blok_err blok_sign_check_pk(const uint8_t pk[BLOK_SIGN_PK_LEN]) {
  BLOK_TRY(start());
  BLOK_TRY(pk_precheck(pk));
  /* On the curve and in the prime-order subgroup ([L]A is the identity). */
  if (crypto_core_ed25519_is_valid_point(pk) != 1) return BLOK_EBADKEY;
  return BLOK_OK;
}

enum blok_err blok_sign_keypair_from_seed(struct blok_sign_keypair *kp,
                                          const uint8_t seed[BLOK_SIGN_SEED_LEN]) {
  BLOK_TRY(start());
  if (crypto_sign_ed25519_seed_keypair(kp->pk, kp->sk, seed) != 0) return BLOK_ECRYPTO;
  return BLOK_OK;
}

enum blok_err blok_sign_keypair_generate(struct blok_sign_keypair *kp) {
  uint8_t seed[BLOK_SIGN_SEED_LEN];
  BLOK_TRY(start());
  randombytes_buf(seed, sizeof seed);
  enum blok_err rc = blok_sign_keypair_from_seed(kp, seed);
  sodium_memzero(seed, sizeof seed);
  return rc;
}

void blok_sign_keypair_clear(struct blok_sign_keypair *kp) {
  sodium_memzero(kp, sizeof *kp);
}

/* libsodium hashes msg; a NULL pointer with length 0 is given a real (empty) address. */
static const uint8_t *nonnull(const uint8_t *msg) {
  static const uint8_t empty[1];
  return msg != NULL ? msg : empty;
}

static enum blok_err sign_bytes(uint8_t sig[BLOK_SIGN_SIG_LEN], const struct blok_sign_keypair *kp,
                                const uint8_t *msg, size_t msg_len) {
  if (crypto_sign_ed25519_detached(sig, NULL, nonnull(msg), msg_len, kp->sk) != 0)
    return BLOK_ECRYPTO;
  return BLOK_OK;
}

/* The pinned rules first, then libsodium's equation (which repeats the rules). */
static enum blok_err verify_bytes(const uint8_t sig[BLOK_SIGN_SIG_LEN],
                                  const uint8_t pk[BLOK_SIGN_PK_LEN], const uint8_t *msg,
                                  size_t msg_len) {
  BLOK_TRY(blok_sign_precheck(sig, pk));
  if (crypto_sign_ed25519_verify_detached(sig, nonnull(msg), msg_len, pk) != 0) return BLOK_EBADSIG;
  return BLOK_OK;
}

enum blok_err blok_sign_raw(uint8_t sig[BLOK_SIGN_SIG_LEN], const struct blok_sign_keypair *kp,
                            const uint8_t *msg, size_t msg_len) {
  BLOK_TRY(start());
  if (msg_len > BLOK_SIGN_MSG_MAX) return BLOK_ETOOLONG;
  return sign_bytes(sig, kp, msg, msg_len);
}

enum blok_err blok_verify_raw(const uint8_t sig[BLOK_SIGN_SIG_LEN],
                              const uint8_t pk[BLOK_SIGN_PK_LEN], const uint8_t *msg,
                              size_t msg_len) {
  BLOK_TRY(start());
  if (msg_len > BLOK_SIGN_MSG_MAX) return BLOK_ETOOLONG;
  return verify_bytes(sig, pk, msg, msg_len);
}

static bool domain_text_valid(const char *s, size_t max, bool slash) {
  size_t n = strnlen(s, max + 1);
  if (n == 0 || n > max) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || (slash && c == '/');
    if (!ok) return false;
  }
  return true;
}

bool blok_sign_tag_valid(const char *tag) {
  return domain_text_valid(tag, BLOK_SIGN_TAG_MAX, true);
}

bool blok_sign_chain_id_valid(const char *chain_id) {
  return domain_text_valid(chain_id, BLOK_SIGN_CHAIN_ID_MAX, false);
}

enum blok_err blok_sign_domain_message(struct blok_buf *out, const char *tag, const char *chain_id,
                                       const uint8_t *msg, size_t msg_len) {
  if (!blok_sign_tag_valid(tag) || !blok_sign_chain_id_valid(chain_id)) return BLOK_EBADTAG;
  if (msg_len > BLOK_SIGN_MSG_MAX) return BLOK_ETOOLONG;
  BLOK_TRY(blok_enc_text(out, tag, strlen(tag), BLOK_SIGN_TAG_MAX));
  BLOK_TRY(blok_enc_text(out, chain_id, strlen(chain_id), BLOK_SIGN_CHAIN_ID_MAX));
  return blok_buf_append(out, msg, msg_len);
}

enum blok_err blok_sign_domain(uint8_t sig[BLOK_SIGN_SIG_LEN], const struct blok_sign_keypair *kp,
                               const char *tag, const char *chain_id, const uint8_t *msg,
                               size_t msg_len) {
  BLOK_TRY(start());
  struct blok_buf *b = thread_buf();
  enum blok_err rc = blok_sign_domain_message(b, tag, chain_id, msg, msg_len);
  if (rc == BLOK_OK) rc = sign_bytes(sig, kp, b->data, b->len);
  thread_buf_done(b);
  return rc;
}

enum blok_err blok_verify_domain(const uint8_t sig[BLOK_SIGN_SIG_LEN],
                                 const uint8_t pk[BLOK_SIGN_PK_LEN], const char *tag,
                                 const char *chain_id, const uint8_t *msg, size_t msg_len) {
  BLOK_TRY(start());
  struct blok_buf *b = thread_buf();
  enum blok_err rc = blok_sign_domain_message(b, tag, chain_id, msg, msg_len);
  if (rc == BLOK_OK) rc = verify_bytes(sig, pk, b->data, b->len);
  thread_buf_done(b);
  return rc;
}
