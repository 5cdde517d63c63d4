/*
 * The sparse Merkle tree against an in-memory model. Random sequences of batched sets and
 * deletes (seeded, so a failure replays) are applied to the tree and to a plain array; after
 * every batch the tree's root must equal a root computed from the array by the definition
 * alone (written again here, independently of src/state/smt.c), the same contents inserted in
 * another order must give the same root, and proofs must verify for present and absent keys
 * while any tampering with them fails.
 */
#include "test_util.h"

#include "blok/sha256.h"
#include "blok/smt.h"
#include "blok/banned.h"

#define KEYS 300

static uint64_t rng_state;
static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

struct model {
  uint8_t key[KEYS][32];
  uint8_t value[KEYS][32];
  bool present[KEYS];
};

static int bit(const uint8_t *k, unsigned d) {
  return (k[d / 8] >> (7 - d % 8)) & 1;
}

/* The definition: 0 items -> zeros, 1 -> its leaf, more -> node(left half, right half). */
static void ref_root(uint8_t out[32], uint8_t (*keys)[32], uint8_t (*vals)[32], size_t n,
                     unsigned depth) {
  if (n == 0) {
    memset(out, 0, 32);
    return;
  }
  if (n == 1) {
    blok_smt_leaf_hash(out, keys[0], vals[0]);
    return;
  }
  size_t m = 0;
  while (m < n && bit(keys[m], depth) == 0)
    m++;
  uint8_t l[32], r[32];
  ref_root(l, keys, vals, m, depth + 1);
  ref_root(r, keys + m, vals + m, n - m, depth + 1);
  blok_smt_node_hash(out, l, r);
}

static int cmp_key(const void *a, const void *b) {
  return memcmp(a, b, 32);
}

static void model_root(const struct model *mo, uint8_t out[32]) {
  static uint8_t kv[KEYS][64];
  static uint8_t keys[KEYS][32], vals[KEYS][32];
  size_t n = 0;
  for (size_t i = 0; i < KEYS; i++)
    if (mo->present[i]) {
      memcpy(kv[n], mo->key[i], 32);
      memcpy(kv[n] + 32, mo->value[i], 32);
      n++;
    }
  qsort(kv, n, 64, cmp_key);
  for (size_t i = 0; i < n; i++) {
    memcpy(keys[i], kv[i], 32);
    memcpy(vals[i], kv[i] + 32, 32);
  }
  ref_root(out, keys, vals, n, 0);
}

/* Keys: mostly uniform, some pairs that share 250+ bits, to exercise deep paths. */
static void make_keys(struct model *mo) {
  for (size_t i = 0; i < KEYS; i++) {
    uint64_t x = i;
    blok_sha256(mo->key[i], &x, sizeof x);
    if (i % 10 == 1) {
      memcpy(mo->key[i], mo->key[i - 1], 32);
      mo->key[i][31] ^= (uint8_t)(1u << (i % 8));
    }
    mo->present[i] = false;
  }
}

static int cmp_write(const void *a, const void *b) {
  return memcmp(((const struct blok_smt_write *)a)->key, ((const struct blok_smt_write *)b)->key,
                32);
}

/* A random batch: distinct model indexes, each set to a fresh value or deleted. */
static size_t random_batch(struct model *mo, struct blok_smt_write *w, size_t max) {
  static bool used[KEYS];
  memset(used, 0, sizeof used);
  size_t n = 1 + rnd() % max, k = 0;
  for (size_t j = 0; j < n; j++) {
    size_t i = rnd() % KEYS;
    if (used[i]) continue;
    used[i] = true;
    memcpy(w[k].key, mo->key[i], 32);
    w[k].del = rnd() % 4 == 0;
    if (w[k].del) {
      mo->present[i] = false;
    } else {
      uint64_t v = rnd();
      blok_sha256(w[k].value_hash, &v, sizeof v);
      memcpy(mo->value[i], w[k].value_hash, 32);
      mo->present[i] = true;
    }
    k++;
  }
  qsort(w, k, sizeof *w, cmp_write);
  return k;
}

static void check_proofs(const struct blok_smt_store *s, const uint8_t root[32],
                         const struct model *mo) {
  static struct blok_smt_proof p, q;
  for (size_t i = 0; i < KEYS; i += 7) {
    bool found;
    uint8_t vh[32];
    assert_int_equal(blok_smt_get(s, root, mo->key[i], &found, vh), BLOK_OK);
    assert_int_equal(found, mo->present[i]);
    assert_int_equal(blok_smt_prove(s, root, mo->key[i], &p), BLOK_OK);
    const uint8_t *want = mo->present[i] ? mo->value[i] : NULL;
    assert_int_equal(blok_smt_verify(root, mo->key[i], want, &p), BLOK_OK);
    if (mo->present[i]) {
      assert_memory_equal(vh, mo->value[i], 32);
      assert_int_equal(blok_smt_verify(root, mo->key[i], NULL, &p), BLOK_EBADPROOF);
      uint8_t other[32];
      memcpy(other, want, 32);
      other[0] ^= 1;
      assert_int_equal(blok_smt_verify(root, mo->key[i], other, &p), BLOK_EBADPROOF);
    } else {
      uint8_t any[32] = {1};
      assert_int_equal(blok_smt_verify(root, mo->key[i], any, &p), BLOK_EBADPROOF);
    }
    /* Tampering: every sibling byte position class, the depth, the end. */
    for (unsigned d = 0; d < p.depth; d++) {
      q = p;
      q.siblings[d][d % 32] ^= 0x80;
      assert_int_equal(blok_smt_verify(root, mo->key[i], want, &q), BLOK_EBADPROOF);
    }
    q = p;
    q.depth = (uint16_t)(p.depth + 1);
    assert_int_equal(blok_smt_verify(root, mo->key[i], want, &q), BLOK_EBADPROOF);
    if (p.depth > 0) {
      q = p;
      q.depth = (uint16_t)(p.depth - 1);
      assert_int_equal(blok_smt_verify(root, mo->key[i], want, &q), BLOK_EBADPROOF);
    }
    if (p.end == BLOK_SMT_LEAF) {
      q = p;
      q.leaf_value_hash[5] ^= 1;
      assert_int_equal(blok_smt_verify(root, mo->key[i], want, &q), BLOK_EBADPROOF);
      q = p;
      q.end = BLOK_SMT_EMPTY;
      assert_int_equal(blok_smt_verify(root, mo->key[i], NULL, &q), BLOK_EBADPROOF);
    }
    uint8_t other_root[32];
    memcpy(other_root, root, 32);
    other_root[31] ^= 1;
    assert_int_equal(blok_smt_verify(other_root, mo->key[i], want, &p), BLOK_EBADPROOF);
  }
}

/* Inserting the model's contents into a fresh store, in a shuffled order and in batches of
 * random sizes, gives the same root. */
static void check_order_independence(const struct model *mo, const uint8_t want[32]) {
  struct blok_smt_memstore *m;
  struct blok_smt_store s;
  struct blok_smt_at rv;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &s);
  size_t order[KEYS], n = 0;
  for (size_t i = 0; i < KEYS; i++)
    if (mo->present[i]) order[n++] = i;
  for (size_t i = n; i > 1; i--) {
    size_t j = rnd() % i, t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
  uint8_t root[32] = {0};
  static struct blok_smt_write w[KEYS];
  for (size_t done = 0; done < n;) {
    size_t k = 1 + rnd() % 17;
    if (k > n - done) k = n - done;
    for (size_t j = 0; j < k; j++) {
      memcpy(w[j].key, mo->key[order[done + j]], 32);
      memcpy(w[j].value_hash, mo->value[order[done + j]], 32);
      w[j].del = false;
    }
    qsort(w, k, sizeof *w, cmp_write);
    assert_int_equal(blok_smt_update(&s, root, w, k, 1, root, &rv), BLOK_OK);
    done += k;
  }
  assert_memory_equal(root, want, 32);
  blok_smt_memstore_free(m);
}

static void run_seed(uint64_t seed) {
  static struct model mo;
  static struct blok_smt_write w[64];
  rng_state = seed;
  make_keys(&mo);
  struct blok_smt_memstore *m;
  struct blok_smt_store s;
  struct blok_smt_at rv;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &s);
  uint8_t root[32] = {0}, want[32];
  for (int round = 0; round < 60; round++) {
    size_t n = random_batch(&mo, w, BLOK_ARRAY_LEN(w));
    uint8_t old[32];
    memcpy(old, root, 32);
    assert_int_equal(blok_smt_update(&s, old, w, n, 1, root, &rv), BLOK_OK);
    model_root(&mo, want);
    if (memcmp(root, want, 32) != 0)
      fail_msg("seed %llu round %d: root differs", (unsigned long long)seed, round);
    if (round % 10 == 9) {
      check_proofs(&s, root, &mo);
      check_order_independence(&mo, root);
    }
  }
  /* Deleting everything gives the empty root again. */
  size_t k = 0;
  static struct blok_smt_write all[KEYS];
  for (size_t i = 0; i < KEYS; i++) {
    memcpy(all[k].key, mo.key[i], 32);
    all[k++].del = true;
  }
  qsort(all, k, sizeof *all, cmp_write);
  assert_int_equal(blok_smt_update(&s, root, all, k, 1, root, &rv), BLOK_OK);
  assert_memory_equal(root, blok_smt_empty_root, 32);
  blok_smt_memstore_free(m);
}

static void test_random_against_model(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 8; seed++)
    run_seed(seed);
}

static void test_empty_and_single(void **state) {
  (void)state;
  struct blok_smt_memstore *m;
  struct blok_smt_store s;
  struct blok_smt_at rv;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &s);
  struct blok_smt_write w = {.key = {0xAB}, .value_hash = {0xCD}};
  uint8_t root[32], leaf[32];
  assert_int_equal(blok_smt_update(&s, blok_smt_empty_root, &w, 1, 1, root, &rv), BLOK_OK);
  blok_smt_leaf_hash(leaf, w.key, w.value_hash);
  assert_memory_equal(root, leaf, 32); /* a lone leaf is the root */
  struct blok_smt_proof p;
  assert_int_equal(blok_smt_prove(&s, root, w.key, &p), BLOK_OK);
  assert_int_equal(p.depth, 0);
  assert_int_equal(blok_smt_verify(root, w.key, w.value_hash, &p), BLOK_OK);
  uint8_t absent[32] = {0x01};
  assert_int_equal(blok_smt_prove(&s, root, absent, &p), BLOK_OK);
  assert_int_equal(blok_smt_verify(root, absent, NULL, &p), BLOK_OK);
  /* Unsorted or repeated keys are refused. */
  struct blok_smt_write two[2] = {w, w};
  assert_int_equal(blok_smt_update(&s, root, two, 2, 1, root, &rv), BLOK_EINVAL);
  blok_smt_memstore_free(m);
}

static void test_proof_encoding(void **state) {
  (void)state;
  struct blok_smt_memstore *m;
  struct blok_smt_store s;
  struct blok_smt_at rv;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &s);
  static struct blok_smt_write w[40];
  for (size_t i = 0; i < 40; i++) {
    uint64_t x = i;
    blok_sha256(w[i].key, &x, sizeof x);
    blok_sha256(w[i].value_hash, w[i].key, 32);
    w[i].del = false;
  }
  qsort(w, 40, sizeof *w, cmp_write);
  uint8_t root[32];
  assert_int_equal(blok_smt_update(&s, blok_smt_empty_root, w, 40, 1, root, &rv), BLOK_OK);
  static struct blok_smt_proof p, back;
  assert_int_equal(blok_smt_prove(&s, root, w[3].key, &p), BLOK_OK);
  struct blok_buf b;
  blok_buf_init(&b, 1 << 14);
  assert_int_equal(blok_smt_proof_encode(&b, &p), BLOK_OK);
  struct blok_reader r;
  blok_reader_init(&r, b.data, b.len);
  assert_int_equal(blok_smt_proof_decode(&r, &back), BLOK_OK);
  assert_int_equal(blok_dec_end(&r), BLOK_OK);
  assert_int_equal(blok_smt_verify(root, w[3].key, w[3].value_hash, &back), BLOK_OK);
  for (size_t n = 0; n < b.len; n++) {
    blok_reader_init(&r, b.data, n);
    assert_int_equal(blok_smt_proof_decode(&r, &back), BLOK_ETRUNC);
  }
  b.data[0] = 7; /* no such end kind */
  blok_reader_init(&r, b.data, b.len);
  assert_int_equal(blok_smt_proof_decode(&r, &back), BLOK_EFORMAT);
  blok_buf_release(&b);
  blok_smt_memstore_free(m);
}

/* Fixed vectors, computed independently (a ten-line Python script over hashlib following the
 * definition) and printed in docs/PROTOCOL.md: keys SHA-256("a"), ("b"), ("c") with value
 * hashes SHA-256("1"), ("2"), ("3"). */
static void test_vectors(void **state) {
  (void)state;
  struct blok_smt_memstore *m;
  struct blok_smt_store s;
  struct blok_smt_at rv;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &s);
  struct blok_smt_write w[3];
  const char *names[3] = {"c", "b", "a"}, *vals[3] = {"3", "2", "1"}; /* sorted by key */
  for (size_t i = 0; i < 3; i++) {
    blok_sha256(w[i].key, names[i], 1);
    blok_sha256(w[i].value_hash, vals[i], 1);
    w[i].del = false;
  }
  uint8_t root[32], want[32];
  assert_int_equal(blok_smt_update(&s, blok_smt_empty_root, w + 2, 1, 1, root, &rv), BLOK_OK);
  test_unhex(want, 32, "40b3aff522c0bae10cbe057e460498e836bd21445897adb3dcf19bd6198b7260");
  assert_memory_equal(root, want, 32);
  assert_int_equal(blok_smt_update(&s, blok_smt_empty_root, w + 1, 2, 1, root, &rv), BLOK_OK);
  test_unhex(want, 32, "03dea20d75b7a7e21db347611046ff120c81afb3a8afc0b36edd57cce931a10d");
  assert_memory_equal(root, want, 32);
  assert_int_equal(blok_smt_update(&s, blok_smt_empty_root, w, 3, 1, root, &rv), BLOK_OK);
  test_unhex(want, 32, "911b9f48e2cf2848076fedf8d7fab4fdbf01f877e80e797f1674e89a2433b946");
  assert_memory_equal(root, want, 32);
  /* The proof for "b" is four siblings deep: leaf a, empty, empty, leaf c. */
  struct blok_smt_proof p;
  uint8_t leaf_a[32], leaf_c[32], zero[32] = {0};
  assert_int_equal(blok_smt_prove(&s, root, w[1].key, &p), BLOK_OK);
  assert_int_equal(p.depth, 4);
  blok_smt_leaf_hash(leaf_a, w[2].key, w[2].value_hash);
  blok_smt_leaf_hash(leaf_c, w[0].key, w[0].value_hash);
  assert_memory_equal(p.siblings[0], leaf_a, 32);
  assert_memory_equal(p.siblings[1], zero, 32);
  assert_memory_equal(p.siblings[2], zero, 32);
  assert_memory_equal(p.siblings[3], leaf_c, 32);
  blok_smt_memstore_free(m);
}

static enum blok_err count_in_order(void *ctx, uint64_t version, const uint8_t hash[32],
                                    const struct blok_smt_node *n) {
  size_t *seen = ctx;
  uint8_t want[32];
  blok_sha256(want, seen, sizeof *seen); /* put i had the hash of i (as a size_t) */
  if (memcmp(hash, want, 32) != 0 || version != *seen + 1 || n->va != *seen) return BLOK_EINVAL;
  (*seen)++;
  return BLOK_OK;
}

/* The memory store past several index growths: every node is found with its contents, by its
 * slot (its place in the order of puts) or its hash, a put of a hash it holds keeps the first
 * and its slot, foreach goes in put order, and clear empties it for reuse. */
static void test_memstore(void **state) {
  (void)state;
  enum { N = 9000 }; /* more than two chunks of 4,096 */
  struct blok_smt_memstore *m;
  struct blok_smt_store s;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &s);
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < N; i++) {
      uint8_t h[32];
      struct blok_smt_node n = {.kind = BLOK_SMT_INTERNAL, .va = i};
      uint32_t slot = 0, again = 0;
      blok_sha256(h, &i, sizeof i);
      assert_int_equal(s.put(s.ctx, i + 1, h, &n, &slot), BLOK_OK);
      assert_int_equal(slot, i); /* its place in the order of puts */
      n.va = i + 100;            /* the same hash again: the first stays, with its slot */
      assert_int_equal(s.put(s.ctx, i + 1, h, &n, &again), BLOK_OK);
      assert_int_equal(again, i);
    }
    assert_int_equal(blok_smt_memstore_count(m), N);
    for (size_t i = 0; i < N; i++) {
      uint8_t h[32];
      struct blok_smt_node got;
      blok_sha256(h, &i, sizeof i);
      const struct blok_smt_at by_hash = {0, BLOK_SMT_SLOT_NONE}, by_slot = {0, (uint32_t)i},
                               wrong_slot = {0, (uint32_t)((i + 1) % N)};
      assert_int_equal(s.get(s.ctx, by_hash, h, &got), BLOK_OK);
      assert_int_equal(got.va, i);
      assert_int_equal(s.get(s.ctx, by_slot, h, &got), BLOK_OK);
      assert_int_equal(got.va, i);
      assert_int_equal(s.get(s.ctx, wrong_slot, h, &got), BLOK_OK); /* then by its hash */
      assert_int_equal(got.va, i);
      h[31] ^= 1;
      assert_int_equal(s.get(s.ctx, by_hash, h, &got), BLOK_ENOTFOUND);
      assert_int_equal(s.get(s.ctx, by_slot, h, &got), BLOK_ENOTFOUND);
    }
    size_t seen = 0;
    assert_int_equal(blok_smt_memstore_foreach(m, count_in_order, &seen), BLOK_OK);
    assert_int_equal(seen, N);
    blok_smt_memstore_clear(m);
    assert_int_equal(blok_smt_memstore_count(m), 0);
    uint8_t h0[32];
    size_t zero = 0;
    struct blok_smt_node got;
    blok_sha256(h0, &zero, sizeof zero);
    assert_int_equal(s.get(s.ctx, (struct blok_smt_at){0, 0}, h0, &got), BLOK_ENOTFOUND);
  }
  blok_smt_memstore_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_memstore),       cmocka_unit_test(test_empty_and_single),
      cmocka_unit_test(test_vectors),        cmocka_unit_test(test_random_against_model),
      cmocka_unit_test(test_proof_encoding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
