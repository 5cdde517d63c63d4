/*
 * The mempool: take in nonce order with senders interleaved and both limits respected, untake,
 * remove, status through its states, every refusal at submit with its code, the bad signature
 * found later by a worker, stale transactions dropped by take, and four threads submitting
 * while two workers verify (every transaction ready exactly once, then freed while busy).
 *
 * Workers run on their own, so tests that need a transaction to stay VERIFYING use a gate:
 * the ready callback blocks while the gate is closed, which holds the pool's only worker.
 */
#include <pthread.h>
#include <unistd.h>

#include "test_util.h"

#include "blok/anchor.h"
#include "blok/mempool.h"
#include "blok/notify.h"
#include "blok/sha256.h"
#include "blok/banned.h"

#define CHAIN   "blokauto-test"
#define SENDERS 40

/* ---- the world the pool sees: committed next nonces, and the ready gate ---- */

struct world {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  struct blok_sign_keypair kp[SENDERS];
  uint64_t next[SENDERS]; /* committed next nonce per sender; 1 at start */
  bool gate_closed;
  int in_callback; /* workers blocked in the ready callback */
  uint64_t ready_calls;
  uint64_t nonce_calls;
  pthread_t main_thread; /* the test's: the gate holds only workers */
};

static struct world W;

static enum blok_err next_nonce(void *ctx, const uint8_t sender[32], uint64_t *next) {
  struct world *w = ctx;
  pthread_mutex_lock(&w->mu);
  w->nonce_calls++;
  *next = 1;
  for (size_t i = 0; i < SENDERS; i++)
    if (memcmp(w->kp[i].pk, sender, 32) == 0) *next = w->next[i];
  pthread_mutex_unlock(&w->mu);
  return BLOK_OK;
}

static void on_ready(void *ctx) {
  struct world *w = ctx;
  pthread_mutex_lock(&w->mu);
  w->ready_calls++;
  if (pthread_equal(pthread_self(), w->main_thread)) { /* blok_mempool_check on this thread */
    pthread_mutex_unlock(&w->mu);
    return;
  }
  w->in_callback++;
  pthread_cond_broadcast(&w->cond);
  while (w->gate_closed)
    pthread_cond_wait(&w->cond, &w->mu);
  w->in_callback--;
  pthread_mutex_unlock(&w->mu);
}

static void gate(bool closed) {
  pthread_mutex_lock(&W.mu);
  W.gate_closed = closed;
  pthread_cond_broadcast(&W.cond);
  pthread_mutex_unlock(&W.mu);
}

/* Waits until a worker sits in the ready callback. */
static void wait_in_callback(void) {
  pthread_mutex_lock(&W.mu);
  while (W.in_callback == 0)
    pthread_cond_wait(&W.cond, &W.mu);
  pthread_mutex_unlock(&W.mu);
}

static void set_next(size_t sender, uint64_t next) {
  pthread_mutex_lock(&W.mu);
  W.next[sender] = next;
  pthread_mutex_unlock(&W.mu);
}

static int setup_world(void **state) {
  (void)state;
  pthread_mutex_init(&W.mu, NULL);
  pthread_cond_init(&W.cond, NULL);
  W.main_thread = pthread_self();
  for (size_t i = 0; i < SENDERS; i++) {
    uint8_t seed[32];
    memset(seed, (int)(i + 1), sizeof seed);
    assert_int_equal(blok_sign_keypair_from_seed(&W.kp[i], seed), BLOK_OK);
  }
  return 0;
}

static int reset_world(void **state) {
  (void)state;
  pthread_mutex_lock(&W.mu);
  for (size_t i = 0; i < SENDERS; i++)
    W.next[i] = 1;
  W.gate_closed = false;
  W.ready_calls = W.nonce_calls = 0;
  pthread_mutex_unlock(&W.mu);
  return 0;
}

static struct blok_mempool *pool(size_t count_max, size_t bytes_max, size_t workers,
                                 uint64_t window) {
  struct blok_mempool_opts o = {
      .count_max = count_max, .bytes_max = bytes_max, .workers = workers, .nonce_window = window};
  struct blok_mempool *mp;
  assert_int_equal(blok_mempool_new(&mp, &o, CHAIN, next_nonce, &W), BLOK_OK);
  blok_mempool_on_ready(mp, on_ready, &W);
  return mp;
}

/* ---- transactions ---- */

/* A signed anchor/record from sender, with a label that makes it unique; out must be empty. */
static void make_tx_chain(struct blok_buf *out, size_t sender, uint64_t nonce, const char *label,
                          const char *chain) {
  uint8_t hash[32];
  struct blok_buf pl;
  struct blok_tx tx;
  char doc[128];
  snprintf(doc, sizeof doc, "%zu/%llu/%s", sender, (unsigned long long)nonce, label);
  blok_sha256(hash, doc, strlen(doc));
  blok_buf_init(&pl, BLOK_TX_PAYLOAD_MAX);
  assert_int_equal(blok_anchor_payload(&pl, hash, label), BLOK_OK);
  memset(&tx, 0, sizeof tx);
  tx.version = BLOK_TX_VERSION;
  snprintf(tx.chain_id, sizeof tx.chain_id, "%s", chain);
  snprintf(tx.module, sizeof tx.module, "anchor");
  snprintf(tx.type, sizeof tx.type, "record");
  tx.nonce = nonce;
  tx.expiry_height = 1000;
  tx.payload = pl.data;
  tx.payload_len = pl.len;
  blok_buf_init(out, BLOK_TX_ENCODED_MAX);
  assert_int_equal(blok_tx_sign(&tx, &W.kp[sender], out), BLOK_OK);
  blok_buf_release(&pl);
}

static void make_tx(struct blok_buf *out, size_t sender, uint64_t nonce, const char *label) {
  make_tx_chain(out, sender, nonce, label, CHAIN);
}

static void tx_id(uint8_t id[32], const struct blok_buf *b) {
  struct blok_tx tx;
  assert_int_equal(blok_tx_decode(&tx, b->data, b->len), BLOK_OK);
  memcpy(id, tx.id, 32);
}

/* Submits and expects code; returns the id. */
static void submit_expect(struct blok_mempool *mp, const struct blok_buf *b, enum blok_err want,
                          uint8_t id[32]) {
  struct blok_why why = {{0}};
  uint8_t local[32];
  enum blok_err rc = blok_mempool_submit(mp, b->data, b->len, id ? id : local, &why);
  if (rc != want)
    fail_msg("submit: got %s (%s), want %s", blok_err_name(rc), why.msg, blok_err_name(want));
  if (want != BLOK_OK) assert_true(why.msg[0] != '\0');
}

static void submit_one(struct blok_mempool *mp, size_t sender, uint64_t nonce, const char *label,
                       uint8_t id[32]) {
  struct blok_buf b;
  make_tx(&b, sender, nonce, label);
  submit_expect(mp, &b, BLOK_OK, id);
  blok_buf_release(&b);
}

/* Waits (at most 20 s) until the pool has no transaction left to verify. */
static void wait_verified(struct blok_mempool *mp) {
  uint64_t deadline = blok_monotonic_ms() + 20000;
  for (;;) {
    struct blok_mempool_stats st;
    blok_mempool_stats(mp, &st);
    if (st.verifying == 0) return;
    if (blok_monotonic_ms() > deadline) fail_msg("still %zu verifying", st.verifying);
    usleep(1000);
  }
}

static size_t sender_of(const struct blok_tx *tx) {
  for (size_t i = 0; i < SENDERS; i++)
    if (memcmp(W.kp[i].pk, tx->sender, 32) == 0) return i;
  fail_msg("unknown sender");
  return 0;
}

/* ---- tests ---- */

/* Three senders, nonces submitted out of order: each sender's in nonce order, senders
 * interleaved round by round. */
static void test_take_order(void **state) {
  (void)state;
  struct blok_mempool *mp = pool(0, 0, 2, 0);
  submit_one(mp, 0, 3, "a", NULL);
  submit_one(mp, 0, 1, "a", NULL);
  submit_one(mp, 1, 2, "b", NULL);
  submit_one(mp, 0, 2, "a", NULL);
  submit_one(mp, 1, 1, "b", NULL);
  submit_one(mp, 2, 1, "c", NULL);
  wait_verified(mp);
  struct blok_mempool_batch b;
  blok_mempool_batch_init(&b);
  assert_int_equal(blok_mempool_take(mp, &b, 100, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 6);
  uint64_t seen[3] = {0, 0, 0};
  size_t round_size[3] = {3, 2, 1}, pos = 0;
  for (size_t r = 0; r < 3; r++) {
    bool in_round[3] = {false, false, false};
    for (size_t k = 0; k < round_size[r]; k++, pos++) {
      size_t s = sender_of(&b.txs[pos]);
      assert_false(in_round[s]);
      in_round[s] = true;
      assert_int_equal(b.txs[pos].nonce, ++seen[s]);
    }
  }
  assert_int_equal(seen[0], 3);
  assert_int_equal(seen[1], 2);
  assert_int_equal(seen[2], 1);
  /* Everything is handed out: a second take gives nothing, untake gives them back. */
  assert_int_equal(blok_mempool_take(mp, &b, 100, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 0);
  blok_mempool_untake(mp);
  assert_int_equal(blok_mempool_take(mp, &b, 100, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 6);
  blok_mempool_batch_release(&b);
  blok_mempool_free(mp);
}

/* count_max and bytes_max; a sender whose next one does not fit stops, the others go on. */
static void test_take_limits(void **state) {
  (void)state;
  struct blok_mempool *mp = pool(0, 0, 2, 0);
  struct blok_buf big, small1;
  make_tx(&big, 0, 1, "a label long enough to make this transaction the biggest of all");
  make_tx(&small1, 1, 1, "s");
  submit_expect(mp, &big, BLOK_OK, NULL);
  submit_expect(mp, &small1, BLOK_OK, NULL);
  for (uint64_t n = 2; n <= 5; n++) {
    submit_one(mp, 0, n, "a", NULL);
    submit_one(mp, 1, n, "s", NULL);
  }
  wait_verified(mp);
  struct blok_mempool_batch b;
  blok_mempool_batch_init(&b);
  assert_int_equal(blok_mempool_take(mp, &b, 3, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 3);
  blok_mempool_untake(mp);
  /* Room for exactly the big one and the small one. */
  assert_int_equal(blok_mempool_take(mp, &b, 100, big.len + small1.len), BLOK_OK);
  assert_int_equal(b.count, 2);
  blok_mempool_untake(mp);
  /* The big one does not fit: sender 0 stops at once, sender 1 gives its first. */
  assert_true(big.len - 1 < small1.len * 2);
  assert_int_equal(blok_mempool_take(mp, &b, 100, big.len - 1), BLOK_OK);
  assert_int_equal(b.count, 1);
  assert_int_equal(sender_of(&b.txs[0]), 1);
  assert_int_equal(b.txs[0].nonce, 1);
  blok_mempool_untake(mp);
  size_t total = 0;
  assert_int_equal(blok_mempool_take(mp, &b, 100, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 10);
  for (size_t i = 0; i < b.count; i++)
    total += b.txs[i].raw_len;
  struct blok_mempool_stats st;
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.bytes, total);
  assert_int_equal(st.count, 10);
  assert_int_equal(st.ready, 10);
  blok_buf_release(&big);
  blok_buf_release(&small1);
  blok_mempool_batch_release(&b);
  blok_mempool_free(mp);
}

/* VERIFYING -> READY -> UNKNOWN after remove; a refusal given to remove is reported. */
static void test_status(void **state) {
  (void)state;
  struct blok_mempool *mp = pool(0, 0, 1, 0);
  uint8_t id0[32], id1[32], id2[32], id3[32], unknown[32] = {0};
  struct blok_tx_result res;
  gate(true);
  submit_one(mp, 0, 1, "first", id0);
  wait_in_callback(); /* the only worker is held: what follows stays VERIFYING */
  submit_one(mp, 1, 1, "second", id1);
  submit_one(mp, 2, 1, "third", id2);
  submit_one(mp, 3, 1, "fourth", id3);
  assert_int_equal(blok_mempool_status(mp, id0, &res), BLOK_MEMPOOL_READY);
  assert_int_equal(blok_mempool_status(mp, id1, &res), BLOK_MEMPOOL_VERIFYING);
  assert_int_equal(blok_mempool_status(mp, unknown, &res), BLOK_MEMPOOL_UNKNOWN);
  /* A queued one can leave before its check (committed through another node's block). */
  blok_mempool_remove(mp, id3, NULL);
  assert_int_equal(blok_mempool_status(mp, id3, &res), BLOK_MEMPOOL_UNKNOWN);
  struct blok_mempool_stats st;
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.count, 3);
  assert_int_equal(st.verifying, 2);
  assert_int_equal(st.ready, 1);
  gate(false);
  wait_verified(mp);
  assert_int_equal(blok_mempool_status(mp, id1, &res), BLOK_MEMPOOL_READY);
  assert_int_equal(res.code, BLOK_OK);

  struct blok_mempool_batch b;
  blok_mempool_batch_init(&b);
  assert_int_equal(blok_mempool_take(mp, &b, 100, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 3);
  assert_int_equal(blok_mempool_status(mp, id1, &res), BLOK_MEMPOOL_READY);
  blok_mempool_remove(mp, id0, NULL);
  blok_mempool_remove(mp, id0, NULL); /* unknown now: ignored */
  assert_int_equal(blok_mempool_status(mp, id0, &res), BLOK_MEMPOOL_UNKNOWN);
  struct blok_tx_result expired = {.code = BLOK_EEXPIRED};
  snprintf(expired.msg, sizeof expired.msg, "expired at height 5, the block is at 6");
  blok_mempool_remove(mp, id1, &expired);
  assert_int_equal(blok_mempool_status(mp, id1, &res), BLOK_MEMPOOL_REFUSED);
  assert_int_equal(res.code, BLOK_EEXPIRED);
  assert_string_equal(res.msg, expired.msg);
  /* The one left (id2) comes back after untake; the removed ones do not. */
  blok_mempool_untake(mp);
  assert_int_equal(blok_mempool_take(mp, &b, 100, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 1);
  assert_memory_equal(b.txs[0].id, id2, 32);
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.count, 1);
  assert_int_equal(st.refused, 1);
  assert_int_equal(st.verified, 3);
  blok_mempool_batch_release(&b);
  blok_mempool_free(mp);
}

/* Nonces: take starts each sender at its committed next nonce, stops at a gap, drops the stale
 * ones as refused, and does not hand out the next while the one before is still taken. */
static void test_nonces(void **state) {
  (void)state;
  struct blok_mempool *mp = pool(0, 0, 2, 0);
  uint8_t id[6][32];
  for (uint64_t n = 1; n <= 3; n++)
    submit_one(mp, 0, n, "a", id[n]);
  submit_one(mp, 1, 1, "b", id[4]);
  submit_one(mp, 1, 3, "b", id[5]);
  wait_verified(mp);
  set_next(0, 3); /* nonces 1 and 2 committed by a block this node did not make */
  struct blok_mempool_batch b;
  blok_mempool_batch_init(&b);
  assert_int_equal(blok_mempool_take(mp, &b, 100, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 2); /* sender 0's nonce 3, sender 1's nonce 1 (3 waits for 2) */
  struct blok_tx_result res;
  assert_int_equal(blok_mempool_status(mp, id[1], &res), BLOK_MEMPOOL_REFUSED);
  assert_int_equal(res.code, BLOK_ESTALE);
  assert_non_null(strstr(res.msg, "next nonce is 3"));
  assert_int_equal(blok_mempool_status(mp, id[2], &res), BLOK_MEMPOOL_REFUSED);
  /* Nonce 2 of sender 1 arrives while nonce 1 is taken: nothing more until 1 is committed. */
  submit_one(mp, 1, 2, "b", NULL);
  wait_verified(mp);
  assert_int_equal(blok_mempool_take(mp, &b, 100, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 0);
  blok_mempool_remove(mp, id[4], NULL);
  blok_mempool_remove(mp, id[3], NULL);
  set_next(1, 2);
  set_next(0, 4);
  assert_int_equal(blok_mempool_take(mp, &b, 100, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 2);
  assert_int_equal(b.txs[0].nonce, 2);
  assert_int_equal(b.txs[1].nonce, 3);
  struct blok_mempool_stats st;
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.count, 2);
  assert_int_equal(st.refused, 2);
  blok_mempool_batch_release(&b);
  blok_mempool_free(mp);
}

/* Adds the group order L to the signature's S (little-endian), keeping it 32 bytes. */
static void add_order_to_s(uint8_t *s) {
  static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
  unsigned carry = 0;
  for (size_t i = 0; i < 32; i++) {
    unsigned v = (unsigned)s[i] + L[i] + carry;
    s[i] = (uint8_t)v;
    carry = v >> 8;
  }
  assert_int_equal(carry, 0);
}

static void expect_refused_later(struct blok_mempool *mp, const uint8_t id[32],
                                 enum blok_err code) {
  struct blok_tx_result res;
  wait_verified(mp);
  assert_int_equal(blok_mempool_status(mp, id, &res), BLOK_MEMPOOL_REFUSED);
  assert_int_equal(res.code, code);
  assert_true(res.msg[0] != '\0');
}

/* Every refusal at submit, each with its code and a reason. */
static void test_refusals(void **state) {
  (void)state;
  struct blok_mempool *mp = pool(0, 0, 2, 16);
  struct blok_buf ok, other, b;
  make_tx(&ok, 0, 1, "ok");
  /* Malformed: truncated, trailing byte. */
  struct blok_why why = {{0}};
  uint8_t id[32];
  assert_int_equal(blok_mempool_submit(mp, ok.data, ok.len - 1, id, &why), BLOK_ETRUNC);
  assert_non_null(strstr(why.msg, "malformed"));
  uint8_t *longer = malloc(ok.len + 1);
  memcpy(longer, ok.data, ok.len);
  longer[ok.len] = 0;
  assert_int_equal(blok_mempool_submit(mp, longer, ok.len + 1, id, &why), BLOK_ETRAILING);
  free(longer);
  /* Another chain's. */
  make_tx_chain(&other, 0, 1, "ok", "blokauto-other");
  submit_expect(mp, &other, BLOK_EBADTAG, NULL);
  blok_buf_release(&other);
  /* Duplicates: the same id, and the same sender and nonce. */
  submit_expect(mp, &ok, BLOK_OK, NULL);
  submit_expect(mp, &ok, BLOK_EDUPLICATE, NULL);
  make_tx(&b, 0, 1, "another");
  submit_expect(mp, &b, BLOK_EDUPLICATE, NULL);
  blok_buf_release(&b);
  /* Stale, and beyond the window (16): next is 5, so 5..20 are taken, 21 is not. */
  set_next(1, 5);
  make_tx(&b, 1, 4, "old");
  submit_expect(mp, &b, BLOK_ESTALE, NULL);
  blok_buf_release(&b);
  make_tx(&b, 1, 21, "far");
  submit_expect(mp, &b, BLOK_EGAP, NULL);
  blok_buf_release(&b);
  submit_one(mp, 1, 20, "edge", NULL);
  wait_verified(mp);
  struct blok_mempool_stats st;
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.count, 2);
  assert_int_equal(st.submitted, 9);
  assert_int_equal(st.refused, 7);
  assert_int_equal(st.verified, 2);
  blok_buf_release(&ok);
  blok_mempool_free(mp);
}

/* The signature: its encoding rules at submit, the equation on a worker. */
static void test_refusals_signature(void **state) {
  (void)state;
  struct blok_mempool *mp = pool(0, 0, 2, 0);
  struct blok_buf b;
  uint8_t id[32];
  /* The encoding rules of the signature (S + L) and the key (a small-order point). */
  make_tx(&b, 2, 1, "malleable");
  add_order_to_s(b.data + b.len - 32);
  submit_expect(mp, &b, BLOK_EBADSIG, NULL);
  blok_buf_release(&b);
  make_tx(&b, 2, 1, "small key");
  size_t sender_at = 1 + 4 + strlen(CHAIN) + 4 + strlen("anchor") + 4 + strlen("record");
  memset(b.data + sender_at, 0, 32);
  b.data[sender_at] = 1; /* the identity point */
  submit_expect(mp, &b, BLOK_EBADKEY, NULL);
  blok_buf_release(&b);
  /* A bad signature that passes the encoding rules: a payload byte flipped after signing. The
   * worker refuses it. */
  uint8_t bad_id[32];
  make_tx(&b, 3, 1, "tampered");
  b.data[b.len - 64 - 1] ^= 1;
  submit_expect(mp, &b, BLOK_OK, bad_id);
  expect_refused_later(mp, bad_id, BLOK_EBADSIG);
  blok_buf_release(&b);
  /* The id does not cover the signature: a forged copy refused first does not keep the
   * genuine one out. */
  make_tx(&b, 4, 1, "genuine");
  uint8_t lowest = b.data[b.len - 32];
  b.data[b.len - 32] ^= 1; /* S's lowest byte: still below L */
  submit_expect(mp, &b, BLOK_OK, bad_id);
  expect_refused_later(mp, bad_id, BLOK_EBADSIG);
  b.data[b.len - 32] = lowest;
  submit_expect(mp, &b, BLOK_OK, id);
  assert_memory_equal(id, bad_id, 32);
  wait_verified(mp);
  assert_int_equal(blok_mempool_status(mp, id, NULL), BLOK_MEMPOOL_READY);
  blok_buf_release(&b);
  /* Committed: the forged copy's refusal was forgotten when the genuine one came in. */
  blok_mempool_remove(mp, id, NULL);
  assert_int_equal(blok_mempool_status(mp, id, NULL), BLOK_MEMPOOL_UNKNOWN);
  struct blok_mempool_stats st;
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.count, 0);
  assert_int_equal(st.submitted, 5);
  assert_int_equal(st.refused, 4);
  assert_int_equal(st.verified, 1);
  blok_mempool_free(mp);
}

/* Full by count and by bytes, with the limit in the reason. */
static void test_full(void **state) {
  (void)state;
  struct blok_buf a, b, c;
  make_tx(&a, 0, 1, "a");
  make_tx(&b, 1, 1, "b");
  make_tx(&c, 2, 1, "c");
  struct blok_mempool *mp = pool(2, 0, 1, 0);
  submit_expect(mp, &a, BLOK_OK, NULL);
  submit_expect(mp, &b, BLOK_OK, NULL);
  struct blok_why why = {{0}};
  uint8_t id[32];
  assert_int_equal(blok_mempool_submit(mp, c.data, c.len, id, &why), BLOK_EFULL);
  assert_string_equal(why.msg, "pool is full (2 transactions); retry later");
  blok_mempool_free(mp);

  mp = pool(0, a.len + b.len - 1, 1, 0);
  submit_expect(mp, &a, BLOK_OK, NULL);
  submit_expect(mp, &b, BLOK_EFULL, NULL);
  /* Room comes back when one leaves. */
  uint8_t aid[32];
  tx_id(aid, &a);
  blok_mempool_remove(mp, aid, NULL);
  submit_expect(mp, &b, BLOK_OK, NULL);
  blok_mempool_free(mp);
  blok_buf_release(&a);
  blok_buf_release(&b);
  blok_buf_release(&c);
}

/* The refusal ring keeps the last refused_max refusals. */
static void test_refusal_ring(void **state) {
  (void)state;
  struct blok_mempool_opts o = {.workers = 1, .refused_max = 3};
  struct blok_mempool *mp;
  assert_int_equal(blok_mempool_new(&mp, &o, CHAIN, next_nonce, &W), BLOK_OK);
  uint8_t id[5][32];
  struct blok_tx_result r = {.code = BLOK_ENOTPERMITTED};
  snprintf(r.msg, sizeof r.msg, "sender not permitted");
  for (size_t i = 0; i < 5; i++) {
    submit_one(mp, i, 1, "x", id[i]);
    blok_mempool_remove(mp, id[i], &r);
  }
  for (size_t i = 0; i < 5; i++)
    assert_int_equal(blok_mempool_status(mp, id[i], NULL),
                     i < 2 ? BLOK_MEMPOOL_UNKNOWN : BLOK_MEMPOOL_REFUSED);
  blok_mempool_free(mp);
}

/* Removal races the workers: removing in arrival order right after submitting catches some
 * transactions in a worker's hands, which the worker then frees (LeakSanitizer checks). */
static void test_remove_while_verifying(void **state) {
  (void)state;
  enum { SENDS = 20, EACH = 100 };
  static struct blok_buf txs[SENDS * EACH];
  static uint8_t ids[SENDS * EACH][32];
  for (size_t i = 0; i < SENDS * EACH; i++)
    make_tx(&txs[i], i % SENDS, i / SENDS + 1, "race");
  struct blok_mempool *mp = pool(0, 0, 2, 0);
  for (size_t i = 0; i < SENDS * EACH; i++)
    submit_expect(mp, &txs[i], BLOK_OK, ids[i]);
  for (size_t i = 0; i < SENDS * EACH; i++)
    blok_mempool_remove(mp, ids[i], NULL);
  struct blok_mempool_stats st;
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.count, 0);
  assert_int_equal(st.bytes, 0);
  assert_int_equal(st.verifying, 0);
  assert_int_equal(st.ready, 0);
  assert_int_equal(blok_mempool_status(mp, ids[0], NULL), BLOK_MEMPOOL_UNKNOWN);
  blok_mempool_free(mp);
  for (size_t i = 0; i < SENDS * EACH; i++)
    blok_buf_release(&txs[i]);
}

/*
 * blok_mempool_check, as a block's execution asks it: true for bytes the pool checked; for
 * bytes still queued it checks them at once on the caller's thread (ready at once, and the
 * worker never checks them again); false for the same id with another signature (an id does not
 * cover the signature) and for what the pool does not hold.
 */
static void test_check(void **state) {
  (void)state;
  struct blok_mempool *mp = pool(0, 0, 1, 0);
  struct blok_buf a, b, other;
  uint8_t ida[32], idb[32];
  gate(true);
  make_tx(&a, 0, 1, "checked");
  submit_expect(mp, &a, BLOK_OK, ida);
  wait_in_callback(); /* the one worker checked a and waits in the callback */
  make_tx(&b, 1, 1, "queued");
  submit_expect(mp, &b, BLOK_OK, idb);
  assert_int_equal(blok_mempool_status(mp, idb, NULL), BLOK_MEMPOOL_VERIFYING);
  struct blok_tx ta, tb, tother;
  assert_int_equal(blok_tx_decode(&ta, a.data, a.len), BLOK_OK);
  assert_int_equal(blok_tx_decode(&tb, b.data, b.len), BLOK_OK);
  /* b's body under another signature: the same id, other bytes. */
  blok_buf_init(&other, BLOK_TX_ENCODED_MAX);
  assert_int_equal(blok_buf_append(&other, b.data, b.len), BLOK_OK);
  other.data[other.len - 1] ^= 0x40; /* the last byte of the signature: it does not verify */
  assert_int_equal(blok_tx_decode(&tother, other.data, other.len), BLOK_OK);
  assert_memory_equal(tother.id, tb.id, 32);
  assert_false(blok_mempool_check(mp, &tother));
  assert_int_equal(blok_mempool_status(mp, idb, NULL), BLOK_MEMPOOL_VERIFYING);
  assert_true(blok_mempool_check(mp, &ta));
  assert_true(blok_mempool_check(mp, &tb));
  assert_int_equal(blok_mempool_status(mp, idb, NULL), BLOK_MEMPOOL_READY);
  struct blok_mempool_stats st;
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.verifying, 0);
  assert_int_equal(st.verified, 2);
  gate(false);
  wait_verified(mp);
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.verified, 2); /* b was not checked again */
  assert_int_equal(st.ready, 2);
  blok_mempool_remove(mp, idb, NULL);
  assert_false(blok_mempool_check(mp, &tb)); /* not held any more */
  blok_mempool_free(mp);
  blok_buf_release(&a);
  blok_buf_release(&b);
  blok_buf_release(&other);
}

/* ---- concurrency ---- */

#define THREADS         4
#define PER_THREAD      2000
#define SENDERS_PER_THR 8
#define NONCES          (PER_THREAD / SENDERS_PER_THR)

struct submitter {
  struct blok_mempool *mp;
  struct blok_buf txs[PER_THREAD];
  size_t failures;
};

static void *submit_main(void *arg) {
  struct submitter *s = arg;
  for (size_t i = 0; i < PER_THREAD; i++) {
    struct blok_why why = {{0}};
    uint8_t id[32];
    if (blok_mempool_submit(s->mp, s->txs[i].data, s->txs[i].len, id, &why) != BLOK_OK)
      s->failures++;
  }
  return NULL;
}

/* Thread t's transactions: its senders' nonces 1..NONCES, senders interleaved, the nonces of
 * each sender in reverse pairs so that some arrive before the one they follow. */
static void sign_for_thread(struct submitter *s, size_t t) {
  size_t k = 0;
  for (uint64_t n = 1; n <= NONCES; n++)
    for (size_t j = 0; j < SENDERS_PER_THR; j++) {
      uint64_t nonce = (n % 2 == 1 && n < NONCES) ? n + 1 : (n % 2 == 0 ? n - 1 : n);
      make_tx(&s->txs[k++], t * SENDERS_PER_THR + j, nonce, "load");
    }
}

/* Runs the submitters on mp, each on its own thread, and checks that every submit passed. */
static void submit_all(struct submitter *subs, struct blok_mempool *mp) {
  pthread_t th[THREADS];
  for (size_t t = 0; t < THREADS; t++) {
    subs[t].mp = mp;
    subs[t].failures = 0;
    assert_int_equal(pthread_create(&th[t], NULL, submit_main, &subs[t]), 0);
  }
  for (size_t t = 0; t < THREADS; t++) {
    assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_int_equal(subs[t].failures, 0);
  }
}

/* Takes in batches of 3,000 as a block producer would, committing each: every sender's
 * nonces come exactly once, in order. */
static void take_all_in_order(struct blok_mempool *mp) {
  struct blok_mempool_batch b;
  blok_mempool_batch_init(&b);
  uint64_t next[THREADS * SENDERS_PER_THR];
  for (size_t i = 0; i < BLOK_ARRAY_LEN(next); i++)
    next[i] = 1;
  size_t total = 0;
  for (;;) {
    assert_int_equal(blok_mempool_take(mp, &b, 3000, SIZE_MAX), BLOK_OK);
    if (b.count == 0) break;
    for (size_t i = 0; i < b.count; i++) {
      size_t s = sender_of(&b.txs[i]);
      assert_int_equal(b.txs[i].nonce, next[s]++);
      blok_mempool_remove(mp, b.txs[i].id, NULL);
    }
    total += b.count;
    for (size_t i = 0; i < BLOK_ARRAY_LEN(next); i++)
      set_next(i, next[i]);
  }
  assert_int_equal(total, THREADS * PER_THREAD);
  for (size_t i = 0; i < BLOK_ARRAY_LEN(next); i++)
    assert_int_equal(next[i], NONCES + 1);
  blok_mempool_batch_release(&b);
}

static void test_concurrent(void **state) {
  (void)state;
  static struct submitter subs[THREADS];
  for (size_t t = 0; t < THREADS; t++)
    sign_for_thread(&subs[t], t);
  struct blok_mempool *mp = pool(0, 0, 2, 0);
  submit_all(subs, mp);
  wait_verified(mp);
  struct blok_mempool_stats st;
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.ready, THREADS * PER_THREAD);
  assert_int_equal(st.verified, THREADS * PER_THREAD);
  assert_int_equal(st.submitted, THREADS * PER_THREAD);
  assert_int_equal(st.refused, 0);
  take_all_in_order(mp);
  blok_mempool_stats(mp, &st);
  assert_int_equal(st.count, 0);
  assert_int_equal(st.bytes, 0);
  blok_mempool_free(mp);

  /* Freed while the workers are busy with a full queue: prompt, and nothing leaks. */
  reset_world(NULL);
  mp = pool(0, 0, 2, 0);
  submit_all(subs, mp);
  blok_mempool_stats(mp, &st);
  assert_true(st.verifying > 0);
  uint64_t t0 = blok_monotonic_ms();
  blok_mempool_free(mp);
  uint64_t took = blok_monotonic_ms() - t0;
  if (took > 1000) fail_msg("free took %llu ms", (unsigned long long)took);
  for (size_t t = 0; t < THREADS; t++)
    for (size_t i = 0; i < PER_THREAD; i++)
      blok_buf_release(&subs[t].txs[i]);
}

/* Free with an empty pool, and bad arguments to new. */
static void test_lifecycle(void **state) {
  (void)state;
  struct blok_mempool *mp;
  assert_int_equal(blok_mempool_new(&mp, NULL, "Bad Chain", next_nonce, &W), BLOK_EINVAL);
  assert_null(mp);
  assert_int_equal(blok_mempool_new(&mp, NULL, CHAIN, NULL, &W), BLOK_EINVAL);
  assert_int_equal(blok_mempool_new(&mp, NULL, CHAIN, next_nonce, &W), BLOK_OK);
  struct blok_mempool_batch b;
  blok_mempool_batch_init(&b);
  assert_int_equal(blok_mempool_take(mp, &b, 100, SIZE_MAX), BLOK_OK);
  assert_int_equal(b.count, 0);
  blok_mempool_untake(mp);
  blok_mempool_batch_release(&b);
  blok_mempool_free(mp);
  blok_mempool_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_lifecycle, reset_world),
      cmocka_unit_test_setup(test_take_order, reset_world),
      cmocka_unit_test_setup(test_take_limits, reset_world),
      cmocka_unit_test_setup(test_status, reset_world),
      cmocka_unit_test_setup(test_check, reset_world),
      cmocka_unit_test_setup(test_nonces, reset_world),
      cmocka_unit_test_setup(test_refusals, reset_world),
      cmocka_unit_test_setup(test_refusals_signature, reset_world),
      cmocka_unit_test_setup(test_full, reset_world),
      cmocka_unit_test_setup(test_refusal_ring, reset_world),
      cmocka_unit_test_setup(test_remove_while_verifying, reset_world),
      cmocka_unit_test_setup(test_concurrent, reset_world),
  };
  return cmocka_run_group_tests(tests, setup_world, NULL);
}
