/*
 * Signature-check throughput: how many Ed25519 verifications per second blok_verify_domain
 * does on one thread and on two, and how close the mempool gets to the two-thread figure when
 * its two workers check real transactions end to end (submit, queue, verify, ready, take).
 *
 * Everything is measured here, on this machine: the messages are signed before the clock
 * starts, each verification's result is checked, and a mempool run stops only when every
 * transaction it was given has come back out of take. The two-thread figure and the mempool
 * runs are taken in alternating rounds, so that other load on the machine weighs on both
 * alike; the CPU seconds each one used are printed too (per operation), which other load
 * hardly moves. Output is one key=value per line.
 *
 * Last, the other Ed25519 verifier among the project's libraries, OpenSSL's, against
 * libsodium's on one thread over the same signed message, in alternating rounds: the issue asks
 * whether a library in Debian verifies faster under the same strict rules.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blok/anchor.h"
#include "blok/mempool.h"
#include "blok/notify.h"
#include "blok/sha256.h"
#include "blok/banned.h"

#define CHAIN        "blokauto-bench"
#define MSGS         512 /* pre-signed messages per verifying thread, used in a cycle */
#define MSG_MAX      256 /* room for a transaction body */
#define RUN_1T_MS    3000
#define ROUNDS       6   /* alternating two-thread runs and mempool runs */
#define RUN_2T_MS    500 /* per round: 3 s in all */
#define POOL_SENDERS 200
#define POOL_NONCES  100
#define POOL_TXS     (POOL_SENDERS * POOL_NONCES)

static void die(const char *what, enum blok_err rc) {
  fprintf(stderr, "bench_verify: %s: %s\n", what, blok_strerror(rc));
  exit(1);
}

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void) {
  return clock_s(CLOCK_MONOTONIC);
}

/* CPU seconds used by the whole process (every thread). */
static double cpu_s(void) {
  return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* Operations, wall seconds and CPU seconds of one measurement or a sum of them. */
struct tally {
  double ops, wall, cpu;
};

static void tally_add(struct tally *t, const struct tally *u) {
  t->ops += u->ops;
  t->wall += u->wall;
  t->cpu += u->cpu;
}

/* ---- (a) blok_verify_domain on n threads ---- */

struct verifier {
  struct blok_sign_keypair kp;
  double run_s;
  uint8_t msg[MSGS][MSG_MAX];
  size_t msg_len; /* the length of the mempool run's transaction bodies */
  uint8_t sig[MSGS][BLOK_SIGN_SIG_LEN];
  uint64_t done;
};

static void verifier_init(struct verifier *v, unsigned seed, size_t msg_len) {
  if (msg_len > MSG_MAX) die("message length", BLOK_ETOOLONG);
  v->msg_len = msg_len;
  uint8_t s[32];
  memset(s, 0, sizeof s);
  memcpy(s, &seed, sizeof seed);
  enum blok_err rc = blok_sign_keypair_from_seed(&v->kp, s);
  if (rc != BLOK_OK) die("key", rc);
  for (size_t i = 0; i < MSGS; i++) {
    uint8_t h[32];
    uint64_t tag = ((uint64_t)seed << 32) | i;
    blok_sha256(h, &tag, sizeof tag);
    for (size_t j = 0; j < msg_len; j++)
      v->msg[i][j] = (uint8_t)(h[j % 32] + j);
    rc = blok_sign_domain(v->sig[i], &v->kp, BLOK_TX_TAG, CHAIN, v->msg[i], msg_len);
    if (rc != BLOK_OK) die("sign", rc);
  }
  v->done = 0;
}

static void *verify_main(void *arg) {
  struct verifier *v = arg;
  double end = now_s() + v->run_s;
  for (size_t i = 0;; i = (i + 1) % MSGS) {
    enum blok_err rc =
        blok_verify_domain(v->sig[i], v->kp.pk, BLOK_TX_TAG, CHAIN, v->msg[i], v->msg_len);
    if (rc != BLOK_OK) die("verify", rc);
    v->done++;
    if (v->done % 64 == 0 && now_s() >= end) break;
  }
  return NULL;
}

/* Verifications over n threads for run_ms, each thread with its own key and messages. */
static struct tally verify_run(struct verifier *vs, size_t n, unsigned run_ms) {
  pthread_t th[2];
  double t0 = now_s(), c0 = cpu_s();
  for (size_t i = 0; i < n; i++) {
    vs[i].run_s = run_ms / 1000.0;
    if (pthread_create(&th[i], NULL, verify_main, &vs[i]) != 0) die("thread", BLOK_ENOMEM);
  }
  struct tally t = {0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    pthread_join(th[i], NULL);
    t.ops += (double)vs[i].done;
    vs[i].done = 0;
  }
  t.wall = now_s() - t0;
  t.cpu = cpu_s() - c0;
  return t;
}

/* ---- (b) the mempool end to end ---- */

struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cond;
};

static enum blok_err first_nonce(void *ctx, const uint8_t sender[32], uint64_t *next) {
  (void)ctx;
  (void)sender;
  *next = 1;
  return BLOK_OK;
}

static void wake(void *ctx) {
  struct waiter *w = ctx;
  pthread_mutex_lock(&w->mu);
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->mu);
}

static void sign_pool_txs(struct blok_buf *txs) {
  struct blok_buf pl;
  blok_buf_init(&pl, BLOK_TX_PAYLOAD_MAX);
  for (size_t s = 0; s < POOL_SENDERS; s++) {
    struct blok_sign_keypair kp;
    uint8_t seed[32];
    blok_sha256(seed, &s, sizeof s);
    enum blok_err rc = blok_sign_keypair_from_seed(&kp, seed);
    for (uint64_t n = 1; rc == BLOK_OK && n <= POOL_NONCES; n++) {
      char label[64];
      uint8_t hash[32];
      snprintf(label, sizeof label, "bench %zu/%llu", s, (unsigned long long)n);
      blok_sha256(hash, label, strlen(label));
      blok_buf_clear(&pl);
      rc = blok_anchor_payload(&pl, hash, label);
      struct blok_tx tx = {.version = BLOK_TX_VERSION, .nonce = n, .expiry_height = 1000};
      snprintf(tx.chain_id, sizeof tx.chain_id, CHAIN);
      snprintf(tx.module, sizeof tx.module, "anchor");
      snprintf(tx.type, sizeof tx.type, "record");
      tx.payload = pl.data;
      tx.payload_len = pl.len;
      /* Senders interleaved, as many clients would send them. */
      struct blok_buf *out = &txs[(n - 1) * POOL_SENDERS + s];
      blok_buf_init(out, BLOK_TX_ENCODED_MAX);
      if (rc == BLOK_OK) rc = blok_tx_sign(&tx, &kp, out);
    }
    blok_sign_keypair_clear(&kp);
    if (rc != BLOK_OK) die("sign tx", rc);
  }
  blok_buf_release(&pl);
}

/* Waits until n transactions are ready; false after 60 s. */
static bool wait_ready(struct blok_mempool *mp, struct waiter *w, size_t n) {
  double deadline = now_s() + 60;
  struct blok_mempool_stats st;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    blok_mempool_stats(mp, &st);
    if (st.ready + st.refused >= n || now_s() > deadline) break;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->cond, &w->mu, &ts);
  }
  pthread_mutex_unlock(&w->mu);
  return st.ready == n;
}

/* One run: submit every transaction, wait until all are ready, take them all. The tally runs
 * from the first submit until the last became ready; take is timed apart. */
static struct tally pool_run(const struct blok_buf *txs, double *submit_s, double *take_s) {
  struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
  struct blok_mempool_opts o = {.workers = 2};
  struct blok_mempool *mp;
  enum blok_err rc = blok_mempool_new(&mp, &o, CHAIN, first_nonce, NULL);
  if (rc != BLOK_OK) die("mempool", rc);
  blok_mempool_on_ready(mp, wake, &w);
  double t0 = now_s(), c0 = cpu_s();
  for (size_t i = 0; i < POOL_TXS; i++) {
    uint8_t id[32];
    struct blok_why why = {{0}};
    rc = blok_mempool_submit(mp, txs[i].data, txs[i].len, id, &why);
    if (rc != BLOK_OK) die(why.msg, rc);
  }
  *submit_s = now_s() - t0;
  if (!wait_ready(mp, &w, POOL_TXS)) die("not every transaction became ready", BLOK_ETIMEOUT);
  struct tally t = {POOL_TXS, now_s() - t0, cpu_s() - c0};
  double t1 = now_s();
  struct blok_mempool_batch b;
  blok_mempool_batch_init(&b);
  rc = blok_mempool_take(mp, &b, POOL_TXS, SIZE_MAX);
  if (rc != BLOK_OK) die("take", rc);
  if (b.count != POOL_TXS) die("take returned too few", BLOK_EINVAL);
  *take_s = now_s() - t1;
  blok_mempool_batch_release(&b);
  blok_mempool_free(mp);
  return t;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Verifications a second on this thread, for 0.5 s, with libsodium or OpenSSL; every result
 * checked. */
static double one_library(bool openssl, const uint8_t pk[32], const uint8_t sig[64],
                          const uint8_t *msg, size_t len) {
  EVP_PKEY *k = openssl ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32) : NULL;
  EVP_MD_CTX *c = openssl ? EVP_MD_CTX_new() : NULL;
  if (openssl && (k == NULL || c == NULL)) die("openssl key", BLOK_ECRYPTO);
  double t0 = clock_s(CLOCK_MONOTONIC), t = t0;
  size_t n = 0;
  while (t - t0 < 0.5) {
    for (int i = 0; i < 100; i++, n++) {
      bool ok = openssl ? EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
                              EVP_DigestVerify(c, sig, 64, msg, len) == 1
                        : crypto_sign_verify_detached(sig, msg, len, pk) == 0;
      if (!ok) die("a good signature did not verify", BLOK_EBADSIG);
    }
    t = clock_s(CLOCK_MONOTONIC);
  }
  EVP_MD_CTX_free(c);
  EVP_PKEY_free(k);
  return (double)n / (t - t0);
}

static void compare_libraries(size_t len) {
  uint8_t pk[32], sk[64], sig[64], msg[MSG_MAX];
  if (sodium_init() < 0) die("sodium_init", BLOK_ECRYPTO);
  randombytes_buf(msg, len);
  crypto_sign_keypair(pk, sk);
  crypto_sign_detached(sig, NULL, msg, len, sk);
  double so[3], os[3];
  for (int r = 0; r < 3; r++) {
    so[r] = one_library(false, pk, sig, msg, len);
    os[r] = one_library(true, pk, sig, msg, len);
  }
  qsort(so, 3, sizeof *so, cmp_double);
  qsort(os, 3, sizeof *os, cmp_double);
  printf("libsodium_verify_1t_per_s=%.0f\n", so[1]);
  printf("openssl_verify_1t_per_s=%.0f\n", os[1]);
  printf("openssl_vs_libsodium=%.2f\n", os[1] / so[1]);
}

int main(void) {
  static struct verifier vs[2];
  struct blok_buf *txs = calloc(POOL_TXS, sizeof *txs);
  if (txs == NULL) die("alloc", BLOK_ENOMEM);
  sign_pool_txs(txs);
  /* Messages as long as the transactions' bodies, so both sides hash the same amount. */
  size_t body_len = txs[POOL_TXS / 2].len - BLOK_SIGN_SIG_LEN;
  verifier_init(&vs[0], 1, body_len);
  verifier_init(&vs[1], 2, body_len);
  printf("message_bytes=%zu\n", body_len);

  struct tally v1 = verify_run(vs, 1, RUN_1T_MS);
  printf("verify_1t_per_s=%.0f\n", v1.ops / v1.wall);
  printf("verify_1t_cpu_us=%.1f\n", v1.cpu / v1.ops * 1e6);
  fflush(stdout);
  struct tally v2 = {0, 0, 0}, mp = {0, 0, 0};
  double ratios[ROUNDS];
  for (size_t r = 0; r < ROUNDS; r++) {
    struct tally a = verify_run(vs, 2, RUN_2T_MS);
    double submit_s, take_s;
    struct tally b = pool_run(txs, &submit_s, &take_s);
    ratios[r] = (b.ops / b.wall) / (a.ops / a.wall);
    printf("round=%zu verify_2t_per_s=%.0f mempool_per_s=%.0f ratio=%.3f submit_ms=%.1f "
           "take_ms=%.1f\n",
           r + 1, a.ops / a.wall, b.ops / b.wall, ratios[r], submit_s * 1e3, take_s * 1e3);
    fflush(stdout);
    tally_add(&v2, &a);
    tally_add(&mp, &b);
  }
  qsort(ratios, ROUNDS, sizeof ratios[0], cmp_double);
  printf("verify_2t_per_s=%.0f\n", v2.ops / v2.wall);
  printf("verify_2t_cpu_us=%.1f\n", v2.cpu / v2.ops * 1e6);
  printf("verify_2t_speedup=%.2f\n", (v2.ops / v2.wall) / (v1.ops / v1.wall));
  printf("mempool_workers=2 mempool_txs_per_run=%d\n", POOL_TXS);
  printf("mempool_per_s=%.0f\n", mp.ops / mp.wall);
  printf("mempool_cpu_us=%.1f\n", mp.cpu / mp.ops * 1e6);
  printf("mempool_vs_verify_2t=%.3f\n", (mp.ops / mp.wall) / (v2.ops / v2.wall));
  printf("mempool_vs_verify_2t_median_round=%.3f\n", ratios[ROUNDS / 2]);
  printf("mempool_vs_verify_cpu=%.3f\n", (v2.cpu / v2.ops) / (mp.cpu / mp.ops));
  compare_libraries(body_len);
  for (size_t i = 0; i < POOL_TXS; i++)
    blok_buf_release(&txs[i]);
  free(txs);
  return 0;
}
