/*
 * Ed25519 (blok/sign.h): RFC 8032 vectors, the pinned verification rules one by one, the
 * edge cases of "Taming the many EdDSAs" and Wycheproof, and domain separation.
 *
 * Most rules are checked at two layers: our wrapper (blok_sign_precheck, blok_verify_raw)
 * and libsodium alone (crypto_sign_verify_detached). The first pins our consensus rules; the
 * second notices the day libsodium's behaviour changes under us.
 */
#include <pthread.h>

#include <sodium.h>

#include "test_util.h"

#include "blok/sign.h"
#include "blok/banned.h"

/* L, the group order, little-endian. */
static const char *const order_hex =
    "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

static void unhex_n(uint8_t *out, size_t n, const char *hex) {
  assert_int_equal(blok_hex_decode_exact(out, n, hex, strlen(hex)), BLOK_OK);
}

/* What libsodium alone says: 1 accepted, 0 refused. */
static int sodium_accepts(const uint8_t *sig, const uint8_t *pk, const uint8_t *msg, size_t len) {
  return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

/* s += k * L as 256-bit little-endian integers (asserts there is no carry out). */
static void add_multiple_of_order(uint8_t s[32], unsigned k) {
  uint8_t l[32];
  unhex_n(l, 32, order_hex);
  unsigned carry = 0;
  for (size_t i = 0; i < 32; i++) {
    unsigned v = s[i] + k * l[i] + carry;
    s[i] = (uint8_t)v;
    carry = v >> 8;
  }
  assert_int_equal(carry, 0);
}

/* ---- RFC 8032 section 7.1 ---------------------------------------------------------------- */

struct rfc_vector {
  const char *name, *seed, *pk, *msg, *sig;
};

/* RFC 8032 7.1 TEST 1, TEST 2, TEST 3, TEST 1024 and TEST SHA(abc). Each was also
 * cross-checked against OpenSSL (Python cryptography) when written. */
static const struct rfc_vector rfc8032[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f"
     "77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b27"
     "0b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1"
     "998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa6"
     "2100ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96"
     "bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b"
     "74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17b"
     "a70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bd"
     "e1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63b"
     "cbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d2"
     "38f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d"
     "83d1255dc51addd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9"
     "af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca3"
     "2301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783a"
     "acec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b"
     "2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
     "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b"
     "80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504cc"
     "c493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346"
     "f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d9"
     "0d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c"
     "4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c"
     "15fc910840b94c00a0b9d0",
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
     "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"},
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

/* One vector decoded. */
struct vec {
  uint8_t seed[32], pk[32], sig[64], msg[1024];
  size_t msg_len;
};

static void load(struct vec *v, const struct rfc_vector *r) {
  unhex_n(v->seed, 32, r->seed);
  unhex_n(v->pk, 32, r->pk);
  unhex_n(v->sig, 64, r->sig);
  v->msg_len = test_unhex(v->msg, sizeof v->msg, r->msg);
}

static void test_rfc8032_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(rfc8032); i++) {
    struct vec v;
    load(&v, &rfc8032[i]);
    struct blok_sign_keypair kp;
    uint8_t sig[64];
    assert_int_equal(blok_sign_keypair_from_seed(&kp, v.seed), BLOK_OK);
    assert_memory_equal(kp.pk, v.pk, 32);
    assert_int_equal(blok_sign_raw(sig, &kp, v.msg, v.msg_len), BLOK_OK);
    assert_memory_equal(sig, v.sig, 64);
    assert_int_equal(blok_verify_raw(v.sig, v.pk, v.msg, v.msg_len), BLOK_OK);
    assert_int_equal(blok_sign_check_pk(v.pk), BLOK_OK);
    assert_true(sodium_accepts(v.sig, v.pk, v.msg, v.msg_len));
    blok_sign_keypair_clear(&kp);
  }
  /* TEST 1 signs the empty message; a NULL pointer with length 0 is the same message. */
  struct vec v;
  load(&v, &rfc8032[0]);
  assert_int_equal(blok_verify_raw(v.sig, v.pk, NULL, 0), BLOK_OK);
}

/* Flipping any one bit of the signature or the key, or a bit of the message, is refused. */
static void test_flipped_bits(void **state) {
  (void)state;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(rfc8032); i++) {
    struct vec v;
    load(&v, &rfc8032[i]);
    for (size_t bit = 0; bit < 512; bit++) {
      v.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      assert_int_not_equal(blok_verify_raw(v.sig, v.pk, v.msg, v.msg_len), BLOK_OK);
      v.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t bit = 0; bit < 256; bit++) {
      v.pk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      assert_int_not_equal(blok_verify_raw(v.sig, v.pk, v.msg, v.msg_len), BLOK_OK);
      v.pk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Every bit of the short messages; a spread of bits (stride 61, prime) of TEST 1024. */
    size_t stride = v.msg_len <= 64 ? 1 : 61;
    for (size_t bit = 0; bit < 8 * v.msg_len; bit += stride) {
      v.msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      assert_int_equal(blok_verify_raw(v.sig, v.pk, v.msg, v.msg_len), BLOK_EBADSIG);
      v.msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* A byte more or less is another message too. */
    if (v.msg_len > 0)
      assert_int_equal(blok_verify_raw(v.sig, v.pk, v.msg, v.msg_len - 1), BLOK_EBADSIG);
    assert_int_equal(blok_verify_raw(v.sig, v.pk, v.msg, v.msg_len + 1), BLOK_EBADSIG);
    assert_int_equal(blok_verify_raw(v.sig, v.pk, v.msg, v.msg_len), BLOK_OK);
  }
}

/* ---- S ------------------------------------------------------------------------------------ */

/* S + k*L is the same scalar mod L, so the equation would hold: only the S < L rule refuses
 * it (RFC 8032 5.1.7). Every k that fits 256 bits. */
static void test_malleability_s_plus_l(void **state) {
  (void)state;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(rfc8032); i++) {
    struct vec v;
    load(&v, &rfc8032[i]);
    for (unsigned k = 1; k <= 14; k++) {
      uint8_t sig[64];
      memcpy(sig, v.sig, 64);
      add_multiple_of_order(sig + 32, k);
      assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_EBADSIG);
      assert_int_equal(blok_verify_raw(sig, v.pk, v.msg, v.msg_len), BLOK_EBADSIG);
      assert_false(sodium_accepts(sig, v.pk, v.msg, v.msg_len));
    }
  }
}

/* The S < L comparison at its edges, through the pinned check alone. */
static void test_s_bounds(void **state) {
  (void)state;
  struct vec v;
  load(&v, &rfc8032[0]);
  uint8_t sig[64];
  memcpy(sig, v.sig, 32);
  unhex_n(sig + 32, 32, order_hex); /* S = L */
  assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_EBADSIG);
  sig[32] = 0xec; /* S = L - 1 */
  assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_OK);
  sig[32] = 0xee; /* S = L + 1 */
  assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_EBADSIG);
  memset(sig + 32, 0, 32); /* S = 0 */
  assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_OK);
  sig[63] = 0x10; /* S = 2^252 < L */
  assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_OK);
  sig[48] = 0x01; /* S = 2^252 + 2^128 > L */
  assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_EBADSIG);
  memset(sig + 32, 0xff, 32); /* S = 2^256 - 1 */
  assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_EBADSIG);
  /* The high bits alone decide above L: 0x20 in the top byte is 2^253. */
  memset(sig + 32, 0, 32);
  sig[63] = 0x20;
  assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_EBADSIG);
}

/* ---- A and R: small order, non-canonical --------------------------------------------------- */

/* The 8 small-order points in all 14 encodings (C2SP/CCTV ed25519/README.md). */
static const char *const small_order_hex[] = {
    "0000000000000000000000000000000000000000000000000000000000000000", /* order 4 */
    "0000000000000000000000000000000000000000000000000000000000000080", /* order 4 */
    "0100000000000000000000000000000000000000000000000000000000000000", /* identity */
    "0100000000000000000000000000000000000000000000000000000000000080", /* identity, x = -0 */
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", /* order 8 */
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", /* order 8 */
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", /* order 8 */
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", /* order 8 */
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* order 2 */
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* order 2, x = -0 */
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* order 4, y = p */
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* order 4, y = p */
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* identity, y = p+1 */
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* identity, both */
};

static void test_small_order_keys(void **state) {
  (void)state;
  struct vec v;
  load(&v, &rfc8032[1]);
  for (size_t i = 0; i < BLOK_ARRAY_LEN(small_order_hex); i++) {
    uint8_t pk[32], sig[64];
    unhex_n(pk, 32, small_order_hex[i]);
    assert_int_equal(blok_sign_precheck(v.sig, pk), BLOK_EBADKEY);
    assert_int_equal(blok_verify_raw(v.sig, pk, v.msg, v.msg_len), BLOK_EBADKEY);
    assert_int_equal(blok_sign_check_pk(pk), BLOK_EBADKEY);
    /* R = A, S = 0: for the identity key the equation holds for every message, so a
     * verifier without the rule would accept this "signature" of anything. */
    memcpy(sig, pk, 32);
    memset(sig + 32, 0, 32);
    assert_int_equal(blok_verify_raw(sig, pk, v.msg, v.msg_len), BLOK_EBADKEY);
    assert_false(sodium_accepts(sig, pk, v.msg, v.msg_len));
    assert_false(sodium_accepts(v.sig, pk, v.msg, v.msg_len));
  }
}

/* The encoding with y = p + k (k = 0..18: every y >= p below 2^255) and the given sign bit. */
static void noncanonical(uint8_t out[32], unsigned k, unsigned sign) {
  memset(out, 0xff, 32);
  out[0] = (uint8_t)(0xed + k);
  out[31] = (uint8_t)(0x7f | (sign << 7));
}

/* y in {0, 1, 3, 4, 5, 6, 9, 10, 14, 15, 16, 18} is on the curve, so 24 of these 38
 * encodings name a point: for y = 0 and 1 a small-order one (also in the list above), for
 * the other 20 a point that has its canonical encoding too. All 38 are refused as keys, by
 * the pinned y < p check and by libsodium alike. */
static void test_noncanonical_keys(void **state) {
  (void)state;
  struct vec v;
  load(&v, &rfc8032[1]);
  for (unsigned k = 0; k <= 18; k++) {
    for (unsigned sign = 0; sign <= 1; sign++) {
      uint8_t pk[32];
      noncanonical(pk, k, sign);
      assert_int_equal(blok_sign_precheck(v.sig, pk), BLOK_EBADKEY);
      assert_int_equal(blok_verify_raw(v.sig, pk, v.msg, v.msg_len), BLOK_EBADKEY);
      assert_int_equal(blok_sign_check_pk(pk), BLOK_EBADKEY);
      assert_false(sodium_accepts(v.sig, pk, v.msg, v.msg_len));
    }
  }
  /* Just below p, y = p - 1 is canonical: the order-2 point, refused as small order. The
   * check does not refuse y < p on its own: y = p - 20 (not a small-order point) passes the
   * pinned rules, and libsodium then finds it is not on the curve. */
  uint8_t pk[32];
  noncanonical(pk, 0, 0);
  pk[0] = 0xec;
  assert_int_equal(blok_sign_precheck(v.sig, pk), BLOK_EBADKEY);
  pk[0] = 0xd9;
  assert_int_equal(blok_sign_precheck(v.sig, pk), BLOK_OK);
}

static void test_small_order_r(void **state) {
  (void)state;
  for (size_t j = 0; j < BLOK_ARRAY_LEN(rfc8032); j++) {
    struct vec v;
    load(&v, &rfc8032[j]);
    for (size_t i = 0; i < BLOK_ARRAY_LEN(small_order_hex); i++) {
      uint8_t sig[64];
      memcpy(sig, v.sig, 64);
      unhex_n(sig, 32, small_order_hex[i]);
      assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_EBADSIG);
      assert_int_equal(blok_verify_raw(sig, v.pk, v.msg, v.msg_len), BLOK_EBADSIG);
      assert_false(sodium_accepts(sig, v.pk, v.msg, v.msg_len));
    }
  }
}

/*
 * A non-canonical R never verifies. libsodium computes R' = [S]B - [h]A, encodes it (always
 * canonically) and compares those 32 bytes with the signature's R, so an R with y >= p can
 * never be equal; and our pinned check refuses y >= p before that. A valid signature whose R
 * is merely re-encoded cannot be built to show the comparison directly: the re-encodable
 * points are those with y < 19, and nobody knows the discrete log of one that is not of
 * small order. So this checks all 38 encodings with y >= p, as R of each vector's
 * signature (h is then computed over the new R, so the signature is a new one), at both
 * layers.
 */
static void test_noncanonical_r(void **state) {
  (void)state;
  for (size_t j = 0; j < BLOK_ARRAY_LEN(rfc8032); j++) {
    struct vec v;
    load(&v, &rfc8032[j]);
    for (unsigned k = 0; k <= 18; k++) {
      for (unsigned sign = 0; sign <= 1; sign++) {
        uint8_t sig[64];
        memcpy(sig, v.sig, 64);
        noncanonical(sig, k, sign);
        assert_int_equal(blok_sign_precheck(sig, v.pk), BLOK_EBADSIG);
        assert_int_equal(blok_verify_raw(sig, v.pk, v.msg, v.msg_len), BLOK_EBADSIG);
        assert_false(sodium_accepts(sig, v.pk, v.msg, v.msg_len));
      }
    }
  }
}

/* A key that passes the encoding rules but is no curve point fails the equation (EBADSIG)
 * and is refused outright by the registration check. */
static void test_key_not_on_curve(void **state) {
  (void)state;
  struct vec v;
  load(&v, &rfc8032[1]);
  uint8_t pk[32] = {0x02}; /* y = 2: (y^2 - 1) / (d y^2 + 1) is not a square */
  assert_int_equal(blok_sign_precheck(v.sig, pk), BLOK_OK);
  assert_int_equal(blok_verify_raw(v.sig, pk, v.msg, v.msg_len), BLOK_EBADSIG);
  assert_int_equal(blok_sign_check_pk(pk), BLOK_EBADKEY);
}

/* ---- Published edge cases ------------------------------------------------------------------ */

struct edge_case {
  const char *id, *pk, *msg, *sig; /* msg: hex, except ASCII in cctv[] */
  enum blok_err want;              /* under our rules */
};

/*
 * The 12 test vectors of "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, SSR 2020),
 * from github.com/novifinancial/ed25519-speccheck cases.txt. The paper's table lists
 * libsodium as accepting case 3 only, and so do we: A and R both have a torsion component,
 * but the components cancel, so even the cofactorless equation holds. Such a key cannot come
 * from a seed and blok_sign_check_pk refuses it (see test_speccheck). Cases 4 and 5 hold only
 * for the cofactored equation, which we do not use.
 */
static const struct edge_case speccheck[] = {
    {"0: S = 0, small A, small R",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
     "0000000000000000000000000000000000000000000000000000000000000000",
     BLOK_EBADKEY},
    {"1: small A, mixed R", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     BLOK_EBADKEY},
    {"2: mixed A, small R", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
     "8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
     BLOK_EBADSIG},
    {"3: mixed A, mixed R, both equations hold",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f"
     "87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
     BLOK_OK},
    {"4: mixed A, mixed R, cofactored only",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed512"
     "5ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
     BLOK_EBADSIG},
    {"5: mixed A, L-order R, cofactored only",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7"
     "e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
     BLOK_EBADSIG},
    {"6: S > L", "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e"
     "547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
     BLOK_EBADSIG},
    {"7: S >> L", "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa1942"
     "7e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22",
     BLOK_EBADSIG},
    {"8: non-canonical small R", "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f",
     BLOK_EBADSIG},
    {"9: non-canonical small R, h reduced differently",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "ca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908",
     BLOK_EBADSIG},
    {"10: non-canonical small A",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     BLOK_EBADKEY},
    {"11: non-canonical small A, h reduced differently",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     BLOK_EBADKEY},
};

/*
 * A selection of C2SP/CCTV ed25519/ed25519vectors.json (numbered as there; the messages are
 * ASCII). 10eb7c3a... is a key with a small-order component. The CCTV README says recent
 * libsodium rejects every vector; libsodium 1.0.18, and we with it, accept those where only
 * the low_order_component flags are set, so that the components cancel (7 and 29), for the
 * reason given above speccheck case 3.
 */
static const struct edge_case cctv[] = {
    {"0", "0000000000000000000000000000000000000000000000000000000000000000", "ed25519vectors 3",
     "0000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000",
     BLOK_EBADKEY},
    {"4", "10eb7c3acfb2bed3e0d6ab89bf5a3d6afddd1176ce4812e38d9fd485058fdb1f", "ed25519vectors 7",
     "0000000000000000000000000000000000000000000000000000000000000000"
     "5e176f12cfb0d4e6eb6929b19ae4c998ef05c1c2cf628a9b1fa1c21312627108",
     BLOK_EBADSIG},
    {"6", "10eb7c3acfb2bed3e0d6ab89bf5a3d6afddd1176ce4812e38d9fd485058fdb1f", "ed25519vectors 10",
     "36684ea91032ba5b1dbab2d02f4debc74c3327f2b3802e2e4d371aa42b12b56b"
     "c02e2b9e63e385c058bf62b14b3a2b29ccefe8e38ddb536bc3f9865320a3d801",
     BLOK_EBADSIG},
    {"7", "10eb7c3acfb2bed3e0d6ab89bf5a3d6afddd1176ce4812e38d9fd485058fdb1f", "ed25519vectors",
     "36684ea91032ba5b1dbab2d02f4debc74c3327f2b3802e2e4d371aa42b12b56b"
     "bbfd00bd9c259d8d222d15e67a3d8228585050dbb9b9585be20d8fadc721da03",
     BLOK_OK},
    {"8", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "ed25519vectors 8",
     "0000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000",
     BLOK_EBADKEY},
    {"16", "10eb7c3acfb2bed3e0d6ab89bf5a3d6afddd1176ce4812e38d9fd485058fdb1f", "ed25519vectors 6",
     "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
     "1cb421dfbd92aa6c30d550bff53c81cf650ace6deb96a8ec22d2fef84dbbe20b",
     BLOK_EBADSIG},
    {"26", "10eb7c3acfb2bed3e0d6ab89bf5a3d6afddd1176ce4812e38d9fd485058fdb1f", "ed25519vectors 11",
     "0000000000000000000000000000000000000000000000000000000000000080"
     "75b3d7e9547febbdbf3fde21df901c7ca1fc59e8b689a4ae283919e78cf62b03",
     BLOK_EBADSIG},
    {"28", "10eb7c3acfb2bed3e0d6ab89bf5a3d6afddd1176ce4812e38d9fd485058fdb1f", "ed25519vectors 9",
     "b797b156efcd45a4e2454d2fd0b21438b3ccd80d4c7fd1d1b2c8e55bd4ed4a94"
     "639734cf989e314e9e049fc01a3864d191fed8f231b12fee6fa50aaadba44b0e",
     BLOK_EBADSIG},
    {"29", "10eb7c3acfb2bed3e0d6ab89bf5a3d6afddd1176ce4812e38d9fd485058fdb1f", "ed25519vectors 2",
     "b797b156efcd45a4e2454d2fd0b21438b3ccd80d4c7fd1d1b2c8e55bd4ed4a94"
     "732d9e0279fe001d90327efa319816e3e4506b78432b8b4e1f2fdc4b960d700f",
     BLOK_OK},
};

/* Checks one case under our rules and that libsodium alone agrees on accept or refuse. */
static void check_edge_case(const struct edge_case *c, const uint8_t *msg, size_t msg_len) {
  uint8_t pk[32], sig[64];
  unhex_n(pk, 32, c->pk);
  unhex_n(sig, 64, c->sig);
  enum blok_err got = blok_verify_raw(sig, pk, msg, msg_len);
  if (got != c->want)
    fail_msg("case %s: got %s, want %s", c->id, blok_err_name(got), blok_err_name(c->want));
  if (sodium_accepts(sig, pk, msg, msg_len) != (c->want == BLOK_OK))
    fail_msg("case %s: libsodium %s disagrees", c->id, sodium_version_string());
}

static void test_speccheck(void **state) {
  (void)state;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(speccheck); i++) {
    uint8_t msg[32];
    size_t n = test_unhex(msg, sizeof msg, speccheck[i].msg);
    check_edge_case(&speccheck[i], msg, n);
  }
  /* Case 3's key has a small-order component: verification accepts its signature, but the
   * key could never be registered. */
  uint8_t pk[32];
  unhex_n(pk, 32, speccheck[3].pk);
  assert_int_equal(blok_sign_check_pk(pk), BLOK_EBADKEY);
}

static void test_cctv(void **state) {
  (void)state;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(cctv); i++)
    check_edge_case(&cctv[i], (const uint8_t *)cctv[i].msg, strlen(cctv[i].msg));
  uint8_t pk[32];
  unhex_n(pk, 32, cctv[1].pk);
  assert_int_equal(blok_sign_check_pk(pk), BLOK_EBADKEY);
}

/*
 * Wycheproof testvectors/eddsa_test.json (github.com/C2SP/wycheproof), by tcId. Our
 * expected outcome is Wycheproof's, and for invalid ones the code says which rule refuses.
 * Not taken: tcIds 30-41 give signatures of the wrong length, which our fixed 64-byte
 * arguments cannot express.
 */
static const struct edge_case wycheproof[] = {
    {"1", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa", "",
     "d4fbdb52bfa726b44d1786a8c0d171c3e62ca83c9e5bbe63de0bb2483f8fd6cc"
     "1429ab72cafc41ab56af02ff8fcc43b99bfe4c7ae940f60f38ebaa9d311c4007",
     BLOK_OK},
    {"3", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa", "54657374",
     "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0"
     "7a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b30d",
     BLOK_OK},
    {"5", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa", "313233343030",
     "657c1492402ab5ce03e2c3a7f0384d051b9cf3570f1207fc78c1bcc98c281c2b"
     "f0cf5b3a289976458a1be6277a5055545253b45b07dcc1abd96c8b989c00f301",
     BLOK_OK},
    {"42 (bit 0 of R)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "313233343030",
     "647c1492402ab5ce03e2c3a7f0384d051b9cf3570f1207fc78c1bcc98c281c2b"
     "1d125e5538f38afbcc1c84e489521083041d24bc6240767029da063271a1ff0c",
     BLOK_EBADSIG},
    {"45 (bit 7 of R)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "313233343030",
     "e57c1492402ab5ce03e2c3a7f0384d051b9cf3570f1207fc78c1bcc98c281c2b"
     "bb3eb51cd98dddb235a5f46f2bded6af184a58d09cce928bda43f41d69118a03",
     BLOK_EBADSIG},
    {"59 (bit 255 of R)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "313233343030",
     "657c1492402ab5ce03e2c3a7f0384d051b9cf3570f1207fc78c1bcc98c281cab"
     "227aedf259f910f0f3a759a335062665217925d019173b88917eae294f75d40f",
     BLOK_EBADSIG},
    {"60 (R = 0: small order)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "313233343030",
     "0000000000000000000000000000000000000000000000000000000000000000"
     "e0b8e7770d51c7a36375d006c5bffd6af43ff54aaf47e4330dc118c71d61ec02",
     BLOK_EBADSIG},
    {"61 (R = ff..ff: y >= p)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "313233343030",
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "463a1908382e7eb7693acef9884f7cf931a215e0791876be22c631a59881fd0e",
     BLOK_EBADSIG},
    {"62 (all bits of R flipped)",
     "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa", "313233343030",
     "9a83eb6dbfd54a31fc1d3c580fc7b2fae4630ca8f0edf803873e433673d7e3d4"
     "0e94254586cb6188c5386c3febed477cb9a6cb29e3979adc4cb27cf5278fb70a",
     BLOK_EBADSIG},
    {"63 (malleability)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "54657374",
     "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0"
     "67654bce3832c2d76f8f6f5dafc08d9339d4eef676573336a5c51eb6f946b31d",
     BLOK_EBADSIG},
    {"64 (malleability)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "54657374",
     "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0"
     "5439412b5395d42f462c67008eba6ca839d4eef676573336a5c51eb6f946b32d",
     BLOK_EBADSIG},
    {"65 (malleability)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "54657374",
     "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0"
     "2ee12ce5875bf9dff26556464bae2ad239d4eef676573336a5c51eb6f946b34d",
     BLOK_EBADSIG},
    {"66 (malleability)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "54657374",
     "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0"
     "e2300459f1e742404cd934d2c595a6253ad4eef676573336a5c51eb6f946b38d",
     BLOK_EBADSIG},
    {"67 (malleability)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "54657374",
     "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0"
     "7a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b32d",
     BLOK_EBADSIG},
    {"68 (malleability)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "54657374",
     "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0"
     "7a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b34d",
     BLOK_EBADSIG},
    {"69 (malleability)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "54657374",
     "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0"
     "7a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b38d",
     BLOK_EBADSIG},
    {"70 (malleability)", "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa",
     "54657374",
     "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0"
     "679155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b38d",
     BLOK_EBADSIG},
    {"84 (random test failure 1)",
     "8fd659b77b558ed93882c1157438450ac86ec62d421d568e98ee236f3810295a",
     "b0729a713593a92e46b56eaa66b9e435f7a09a8e7de03b078f6f282285276635"
     "f301e7aaafe42187c45d6f5b13f9f16b11195cc125c05b90d24dfe4c",
     "7db17557ac470c0eda4eedaabce99197ab62565653cf911f632ee8be0e5ffcfc"
     "88fb94276b42e0798fd3aa2f0318be7fc6a29fae75f70c3dcdc414a0ad866601",
     BLOK_OK},
    {"89 (random test failure 4)",
     "32ad026f693d0d2afe7f4388d91c4c964426fcb9e3665c3ebd8650009b815c8e", "ec5c7cb078",
     "d920d421a5956b69bfe1ba834c025e2babb6c7a6d78c97de1d9bb1116dfdd118"
     "5147b2887e34e15578172e150774275ea2aad9e02106f7e8ca1caa669a066f0c",
     BLOK_OK},
    {"94 (random test failure 15)",
     "32ad026f693d0d2afe7f4388d91c4c964426fcb9e3665c3ebd8650009b815c8e", "a1",
     "1a74ed2cbdc7d8f3827014e8e6ecf8fd2698ac8f86833acccdd400df710fe0d6"
     "b0543c9cfa00d52bf024ab7ce0d91981944097233ec134d5c7abbd44bfd32d0d",
     BLOK_OK},
    {"97 (random test failure 28)",
     "32ad026f693d0d2afe7f4388d91c4c964426fcb9e3665c3ebd8650009b815c8e", "475f",
     "71a4a06a34075f2fd47bc3abf4714d46db7e97b08cb6180d3f1539ac50b18ce5"
     "1f8af8ae95ed21d4fa0daab7235925631ecea1fd9d0d8a2ba7a7583fd04b900c",
     BLOK_OK},
    {"100 (random test failure 7)",
     "cfda5b899e35764c5229e59295fe1222b7ddce176643697c29e46ecbba10cf10", "ec5c7cb078",
     "30490c28f806298225df62103521dcee047153912c33ab8ab8bbdd1ffabd70fd"
     "4fdb360f05be535b067d1cf4e78c2cb432206bf280aab3bd21aaa1cb894c5b06",
     BLOK_OK},
};

static void test_wycheproof(void **state) {
  (void)state;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(wycheproof); i++) {
    uint8_t msg[64];
    size_t n = test_unhex(msg, sizeof msg, wycheproof[i].msg);
    check_edge_case(&wycheproof[i], msg, n);
  }
}

/* Wycheproof tcIds 10-29 ("special values for r and s"): every pair of R in {0, 1, L, p}
 * and S in {0, 1, L - 1, L, p} (each little-endian), message 3f, all invalid. R = L is the
 * only R that is neither small-order nor non-canonical; it fails the equation. */
static void test_wycheproof_special_values(void **state) {
  (void)state;
  static const char *const r_values[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  static const char *const s_values[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
      "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  uint8_t pk[32], sig[64];
  const uint8_t msg[] = {0x3f};
  unhex_n(pk, 32, "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa");
  for (size_t r = 0; r < BLOK_ARRAY_LEN(r_values); r++) {
    for (size_t s = 0; s < BLOK_ARRAY_LEN(s_values); s++) {
      unhex_n(sig, 32, r_values[r]);
      unhex_n(sig + 32, 32, s_values[s]);
      assert_int_equal(blok_verify_raw(sig, pk, msg, sizeof msg), BLOK_EBADSIG);
      assert_false(sodium_accepts(sig, pk, msg, sizeof msg));
    }
  }
}

/* ---- Keys ---------------------------------------------------------------------------------- */

static void test_generate_and_clear(void **state) {
  (void)state;
  struct blok_sign_keypair a, b;
  assert_int_equal(blok_sign_keypair_generate(&a), BLOK_OK);
  assert_int_equal(blok_sign_keypair_generate(&b), BLOK_OK);
  assert_memory_not_equal(a.sk, b.sk, 32);
  assert_memory_not_equal(a.pk, b.pk, 32);
  assert_int_equal(blok_sign_check_pk(a.pk), BLOK_OK);
  /* The seed gives the same pair again. */
  struct blok_sign_keypair c;
  assert_int_equal(blok_sign_keypair_from_seed(&c, a.sk), BLOK_OK);
  assert_memory_equal(&a, &c, sizeof a);
  const uint8_t msg[] = "a message";
  uint8_t sig[64];
  assert_int_equal(blok_sign_raw(sig, &a, msg, sizeof msg), BLOK_OK);
  assert_int_equal(blok_verify_raw(sig, a.pk, msg, sizeof msg), BLOK_OK);
  assert_int_equal(blok_verify_raw(sig, b.pk, msg, sizeof msg), BLOK_EBADSIG);
  blok_sign_keypair_clear(&a);
  static const struct blok_sign_keypair zero;
  assert_memory_equal(&a, &zero, sizeof a);
  blok_sign_keypair_clear(&b);
  blok_sign_keypair_clear(&c);
}

/* ---- Domain separation --------------------------------------------------------------------- */

#define TAG   "blokauto/tx/v1"
#define CHAIN "blokauto-devnet"

/* The worked example of docs/PROTOCOL.md: seed 00 01 .. 1f, tag "blokauto/tx/v1", chain id
 * "blokauto-devnet", message "hello blokauto". The signature was computed independently
 * with OpenSSL (Python cryptography) over the same 51 bytes. */
static const char *const example_signed_hex = "0e000000"
                                              "626c6f6b6175746f2f74782f7631"
                                              "0f000000"
                                              "626c6f6b6175746f2d6465766e6574"
                                              "68656c6c6f20626c6f6b6175746f";
static const char *const example_pk_hex =
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char *const example_sig_hex =
    "5d8b1a340bc99aa820efb4ed48ad65917c3cbd021a07a1dac8f64a030e9ab83e"
    "6cdc13a68a0972de014a8f70bdb59f383a00004213232447a9638d93f8d9e00e";

static void example_keypair(struct blok_sign_keypair *kp) {
  uint8_t seed[32];
  for (size_t i = 0; i < 32; i++)
    seed[i] = (uint8_t)i;
  assert_int_equal(blok_sign_keypair_from_seed(kp, seed), BLOK_OK);
}

static void test_domain_example(void **state) {
  (void)state;
  struct blok_sign_keypair kp;
  example_keypair(&kp);
  uint8_t want_pk[32], want_sig[64], want_msg[64], sig[64];
  unhex_n(want_pk, 32, example_pk_hex);
  unhex_n(want_sig, 64, example_sig_hex);
  size_t want_len = test_unhex(want_msg, sizeof want_msg, example_signed_hex);
  assert_int_equal(want_len, 51);
  assert_memory_equal(kp.pk, want_pk, 32);

  const uint8_t *msg = (const uint8_t *)"hello blokauto";
  struct blok_buf b;
  blok_buf_init(&b, 1024);
  assert_int_equal(blok_sign_domain_message(&b, TAG, CHAIN, msg, 14), BLOK_OK);
  assert_int_equal(b.len, want_len);
  assert_memory_equal(b.data, want_msg, want_len);
  blok_buf_release(&b);

  assert_int_equal(blok_sign_domain(sig, &kp, TAG, CHAIN, msg, 14), BLOK_OK);
  assert_memory_equal(sig, want_sig, 64);
  assert_int_equal(blok_verify_domain(sig, kp.pk, TAG, CHAIN, msg, 14), BLOK_OK);
  /* It is a plain Ed25519 signature of the 51 bytes, and of nothing shorter. */
  assert_int_equal(blok_verify_raw(sig, kp.pk, want_msg, want_len), BLOK_OK);
  assert_int_equal(blok_verify_raw(sig, kp.pk, msg, 14), BLOK_EBADSIG);
  blok_sign_keypair_clear(&kp);
}

static void test_domain_separation(void **state) {
  (void)state;
  struct blok_sign_keypair kp;
  example_keypair(&kp);
  const uint8_t msg[] = {'x', 'y'};
  uint8_t sig[64];
  assert_int_equal(blok_sign_domain(sig, &kp, TAG, CHAIN, msg, 2), BLOK_OK);
  assert_int_equal(blok_verify_domain(sig, kp.pk, TAG, CHAIN, msg, 2), BLOK_OK);
  assert_int_equal(blok_verify_domain(sig, kp.pk, "blokauto/vote/v1", CHAIN, msg, 2), BLOK_EBADSIG);
  assert_int_equal(blok_verify_domain(sig, kp.pk, "blokauto/tx/v2", CHAIN, msg, 2), BLOK_EBADSIG);
  assert_int_equal(blok_verify_domain(sig, kp.pk, TAG, "blokauto-mainnet", msg, 2), BLOK_EBADSIG);
  assert_int_equal(blok_verify_domain(sig, kp.pk, TAG, CHAIN, msg, 1), BLOK_EBADSIG);
  /* The lengths keep the parts apart: moving bytes between chain id and message, or
   * between tag and chain id, gives other signed bytes. */
  uint8_t s2[64];
  assert_int_equal(blok_sign_domain(s2, &kp, "t", "cx", msg + 1, 1), BLOK_OK);
  assert_int_equal(blok_verify_domain(s2, kp.pk, "t", "c", msg, 2), BLOK_EBADSIG);
  assert_int_equal(blok_verify_domain(s2, kp.pk, "tc", "x", msg + 1, 1), BLOK_EBADSIG);
  assert_int_equal(blok_verify_domain(s2, kp.pk, "t", "cx", msg + 1, 1), BLOK_OK);
  /* The pinned rules apply to the domain form too. */
  uint8_t bad[64];
  memcpy(bad, sig, 64);
  add_multiple_of_order(bad + 32, 1);
  assert_int_equal(blok_verify_domain(bad, kp.pk, TAG, CHAIN, msg, 2), BLOK_EBADSIG);
  uint8_t identity[32] = {0x01};
  assert_int_equal(blok_verify_domain(sig, identity, TAG, CHAIN, msg, 2), BLOK_EBADKEY);
  blok_sign_keypair_clear(&kp);
}

static void test_tag_rules(void **state) {
  (void)state;
  static const char *const good_tags[] = {
      "a", "blokauto/tx/v1", "x.y_z-0/9",
      "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01"};
  static const char *const bad_tags[] = {
      "",
      "Blokauto/tx/v1",
      "blokauto tx",
      "tx\n",
      "tx:v1",
      "tx+v1",
      "caf\xc3\xa9",
      "tx\t",
      "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012"};
  static const char *const good_chains[] = {"c", "blokauto-devnet", "a.b_c-9"};
  static const char *const bad_chains[] = {"", "blokauto/devnet", "Devnet", "dev net", "dev\x7f"};
  for (size_t i = 0; i < BLOK_ARRAY_LEN(good_tags); i++)
    assert_true(blok_sign_tag_valid(good_tags[i]));
  for (size_t i = 0; i < BLOK_ARRAY_LEN(bad_tags); i++)
    assert_false(blok_sign_tag_valid(bad_tags[i]));
  for (size_t i = 0; i < BLOK_ARRAY_LEN(good_chains); i++)
    assert_true(blok_sign_chain_id_valid(good_chains[i]));
  for (size_t i = 0; i < BLOK_ARRAY_LEN(bad_chains); i++)
    assert_false(blok_sign_chain_id_valid(bad_chains[i]));
  assert_int_equal(strlen(good_tags[3]), 64);
  assert_true(
      blok_sign_chain_id_valid("abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01"));
  assert_false(blok_sign_chain_id_valid(
      "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012"));

  struct blok_sign_keypair kp;
  example_keypair(&kp);
  uint8_t sig[64];
  struct blok_buf b;
  blok_buf_init(&b, 1024);
  assert_int_equal(blok_sign_domain(sig, &kp, TAG, CHAIN, NULL, 0), BLOK_OK);
  for (size_t i = 0; i < BLOK_ARRAY_LEN(bad_tags); i++) {
    assert_int_equal(blok_sign_domain(sig, &kp, bad_tags[i], CHAIN, NULL, 0), BLOK_EBADTAG);
    assert_int_equal(blok_verify_domain(sig, kp.pk, bad_tags[i], CHAIN, NULL, 0), BLOK_EBADTAG);
    assert_int_equal(blok_sign_domain_message(&b, bad_tags[i], CHAIN, NULL, 0), BLOK_EBADTAG);
  }
  for (size_t i = 0; i < BLOK_ARRAY_LEN(bad_chains); i++) {
    assert_int_equal(blok_sign_domain(sig, &kp, TAG, bad_chains[i], NULL, 0), BLOK_EBADTAG);
    assert_int_equal(blok_verify_domain(sig, kp.pk, TAG, bad_chains[i], NULL, 0), BLOK_EBADTAG);
  }
  assert_int_equal(b.len, 0);
  blok_buf_release(&b);
  blok_sign_keypair_clear(&kp);
}

/* Messages past the reused per-thread buffer's keep size, and past the maximum. */
static void test_long_messages(void **state) {
  (void)state;
  struct blok_sign_keypair kp;
  example_keypair(&kp);
  size_t sizes[] = {0, 1, 1000, (size_t)100 << 10, (size_t)1 << 20, 10};
  uint8_t *msg = calloc(BLOK_SIGN_MSG_MAX + 1, 1);
  assert_non_null(msg);
  for (size_t i = 0; i < BLOK_ARRAY_LEN(sizes); i++) {
    uint8_t sig[64];
    msg[sizes[i] / 2] = (uint8_t)i;
    assert_int_equal(blok_sign_domain(sig, &kp, TAG, CHAIN, msg, sizes[i]), BLOK_OK);
    assert_int_equal(blok_verify_domain(sig, kp.pk, TAG, CHAIN, msg, sizes[i]), BLOK_OK);
    assert_int_equal(blok_verify_domain(sig, kp.pk, TAG, CHAIN, msg, sizes[i] + 1), BLOK_EBADSIG);
  }
  uint8_t sig[64] = {0};
  assert_int_equal(blok_sign_domain(sig, &kp, TAG, CHAIN, msg, BLOK_SIGN_MSG_MAX), BLOK_OK);
  assert_int_equal(blok_verify_domain(sig, kp.pk, TAG, CHAIN, msg, BLOK_SIGN_MSG_MAX), BLOK_OK);
  size_t over = BLOK_SIGN_MSG_MAX + 1;
  assert_int_equal(blok_sign_domain(sig, &kp, TAG, CHAIN, msg, over), BLOK_ETOOLONG);
  assert_int_equal(blok_verify_domain(sig, kp.pk, TAG, CHAIN, msg, over), BLOK_ETOOLONG);
  assert_int_equal(blok_sign_raw(sig, &kp, msg, over), BLOK_ETOOLONG);
  assert_int_equal(blok_verify_raw(sig, kp.pk, msg, over), BLOK_ETOOLONG);
  free(msg);
  blok_sign_keypair_clear(&kp);
}

/* Each thread has its own message buffer, freed when the thread exits (LeakSanitizer
 * would report it otherwise). */
static void *thread_main(void *arg) {
  const struct blok_sign_keypair *kp = arg;
  uint8_t sig[64], msg[200] = {0};
  for (int i = 0; i < 20; i++) {
    msg[0] = (uint8_t)i;
    if (blok_sign_domain(sig, kp, TAG, CHAIN, msg, sizeof msg) != BLOK_OK) return "sign";
    if (blok_verify_domain(sig, kp->pk, TAG, CHAIN, msg, sizeof msg) != BLOK_OK) return "verify";
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  struct blok_sign_keypair kp;
  example_keypair(&kp);
  pthread_t t[4];
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, thread_main, &kp), 0);
  for (size_t i = 0; i < 4; i++) {
    void *ret = (void *)"unset";
    assert_int_equal(pthread_join(t[i], &ret), 0);
    assert_null(ret);
  }
  blok_sign_keypair_clear(&kp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc8032_vectors),
      cmocka_unit_test(test_flipped_bits),
      cmocka_unit_test(test_malleability_s_plus_l),
      cmocka_unit_test(test_s_bounds),
      cmocka_unit_test(test_small_order_keys),
      cmocka_unit_test(test_noncanonical_keys),
      cmocka_unit_test(test_small_order_r),
      cmocka_unit_test(test_noncanonical_r),
      cmocka_unit_test(test_key_not_on_curve),
      cmocka_unit_test(test_speccheck),
      cmocka_unit_test(test_cctv),
      cmocka_unit_test(test_wycheproof),
      cmocka_unit_test(test_wycheproof_special_values),
      cmocka_unit_test(test_generate_and_clear),
      cmocka_unit_test(test_domain_example),
      cmocka_unit_test(test_domain_separation),
      cmocka_unit_test(test_tag_rules),
      cmocka_unit_test(test_long_messages),
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
