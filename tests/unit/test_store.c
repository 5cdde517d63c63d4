/*
 * The LMDB store: values survive a reopen, cursors walk in key order, a write whose function
 * fails changes nothing, the map grows when full (with a reader thread running all along,
 * which is what the resize lock is for), and the state tree over LMDB gives the same roots and
 * proofs as over memory.
 */
#include <pthread.h>
#include <unistd.h>

#include "test_util.h"

#include "blok/sha256.h"
#include "blok/store.h"
#include "blok/banned.h"

static char dir[64];

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/blok-store-XXXXXX");
  assert_non_null(mkdtemp(dir));
}

static void remove_dir(void) {
  char p[128];
  snprintf(p, sizeof p, "%s/data.mdb", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", dir);
  unlink(p);
  rmdir(dir);
}

static struct blok_store *open_store(size_t map) {
  struct blok_store *s;
  struct blok_store_opts o = {.dir = dir, .map_size_bytes = map};
  assert_int_equal(blok_store_open(&s, &o), BLOK_OK);
  return s;
}

struct kv_arg {
  unsigned table;
  unsigned from, to;
  size_t val_len;
  int calls;
  bool fail;
};

static enum blok_err put_range(struct blok_txn *t, void *arg) {
  struct kv_arg *a = arg;
  a->calls++;
  static uint8_t val[1 << 16];
  for (unsigned i = a->from; i < a->to; i++) {
    uint8_t k[8];
    blok_store_u64_key(k, i);
    memset(val, (int)(i & 0xFF), a->val_len);
    BLOK_TRY(blok_txn_put(t, a->table, k, 8, val, a->val_len));
  }
  return a->fail ? BLOK_EINVAL : BLOK_OK;
}

static void check_value(struct blok_store *s, unsigned table, unsigned i, size_t len) {
  struct blok_txn *t;
  const uint8_t *v;
  size_t n;
  uint8_t k[8];
  blok_store_u64_key(k, i);
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  assert_int_equal(blok_txn_get(t, table, k, 8, &v, &n), BLOK_OK);
  assert_int_equal(n, len);
  assert_int_equal(v[0], i & 0xFF);
  assert_int_equal(v[len - 1], i & 0xFF);
  blok_store_read_end(t);
}

static void test_put_get_reopen_cursor(void **state) {
  (void)state;
  make_dir();
  struct blok_store *s = open_store(0);
  unsigned tab;
  assert_int_equal(blok_store_table(s, "vehicle.events", &tab), BLOK_OK);
  assert_int_equal(tab, BLOK_TABLE_CORE_COUNT);
  assert_int_equal(blok_store_table(s, "Bad Name", &tab), BLOK_EINVAL);
  /* A shared id: set by the first store, required equal by later ones. */
  unsigned shared = 0;
  assert_int_equal(blok_store_table_shared(s, "vehicle.events", &shared), BLOK_OK);
  assert_int_equal(shared, BLOK_TABLE_CORE_COUNT);
  assert_int_equal(blok_store_table_shared(s, "vehicle.events", &shared), BLOK_OK);
  assert_int_equal(blok_store_table_shared(s, "other.table", &shared), BLOK_EINVAL);
  assert_int_equal(blok_store_table(s, "", &tab), BLOK_EINVAL);
  struct kv_arg a = {.table = BLOK_TABLE_BLOCKS, .from = 0, .to = 300, .val_len = 100};
  assert_int_equal(blok_store_write(s, put_range, &a), BLOK_OK);
  /* A failing write function leaves nothing behind. */
  struct kv_arg f = {
      .table = BLOK_TABLE_BLOCKS, .from = 300, .to = 310, .val_len = 10, .fail = true};
  assert_int_equal(blok_store_write(s, put_range, &f), BLOK_EINVAL);
  blok_store_close(s);

  s = open_store(0);
  check_value(s, BLOK_TABLE_BLOCKS, 0, 100);
  check_value(s, BLOK_TABLE_BLOCKS, 299, 100);
  struct blok_txn *t;
  struct blok_cursor *c;
  struct blok_kv kv;
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  uint8_t k[8];
  blok_store_u64_key(k, 300);
  const uint8_t *v;
  size_t n;
  assert_int_equal(blok_txn_get(t, BLOK_TABLE_BLOCKS, k, 8, &v, &n), BLOK_ENOTFOUND);
  assert_int_equal(blok_cursor_open(t, BLOK_TABLE_BLOCKS, &c), BLOK_OK);
  assert_int_equal(blok_cursor_last(c, &kv), BLOK_OK);
  assert_int_equal(blok_store_u64_from_key(kv.key), 299);
  blok_store_u64_key(k, 255);
  assert_int_equal(blok_cursor_seek(c, k, 8, &kv), BLOK_OK);
  for (uint64_t want = 255; want < 300; want++) {
    assert_int_equal(blok_store_u64_from_key(kv.key), want);
    enum blok_err rc = blok_cursor_next(c, &kv);
    assert_int_equal(rc, want == 299 ? BLOK_ENOTFOUND : BLOK_OK);
  }
  blok_cursor_close(c);
  blok_store_read_end(t);
  blok_store_close(s);
  remove_dir();
}

struct reader_arg {
  struct blok_store *s;
  volatile bool stop;
  long reads;
};

static void *reader(void *p) {
  struct reader_arg *r = p;
  while (!r->stop) {
    struct blok_txn *t;
    if (blok_store_read_begin(r->s, &t) != BLOK_OK) abort();
    uint8_t k[8];
    const uint8_t *v;
    size_t n;
    blok_store_u64_key(k, 0);
    enum blok_err rc = blok_txn_get(t, BLOK_TABLE_STATE, k, 8, &v, &n);
    if (rc == BLOK_OK && v[0] != 0) abort();
    blok_store_read_end(t);
    r->reads++;
  }
  return NULL;
}

static void test_map_grows(void **state) {
  (void)state;
  make_dir();
  struct blok_store *s = open_store(256 << 10);
  size_t before = blok_store_map_size(s);
  struct reader_arg ra = {.s = s};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, reader, &ra), 0);
  /* Many small transactions, then one transaction larger than the first map. */
  for (unsigned i = 0; i < 200; i++) {
    struct kv_arg a = {
        .table = BLOK_TABLE_STATE, .from = i * 10, .to = i * 10 + 10, .val_len = 4000};
    assert_int_equal(blok_store_write(s, put_range, &a), BLOK_OK);
  }
  struct kv_arg big = {.table = BLOK_TABLE_STATE, .from = 10000, .to = 10200, .val_len = 60000};
  assert_int_equal(blok_store_write(s, put_range, &big), BLOK_OK);
  assert_true(big.calls > 1); /* it was run again after growing */
  ra.stop = true;
  pthread_join(th, NULL);
  assert_true(blok_store_map_size(s) > before);
  assert_true(ra.reads > 0);
  blok_store_close(s);
  s = open_store(256 << 10);
  check_value(s, BLOK_TABLE_STATE, 1999, 4000);
  check_value(s, BLOK_TABLE_STATE, 10199, 60000);
  blok_store_close(s);
  remove_dir();
}

struct smt_arg {
  struct blok_smt_write *w;
  size_t n;
  uint64_t version;
  uint8_t root[32], new_root[32];
};

/* One block's update over LMDB: from root, the new nodes at version, the new root indexed. */
static enum blok_err smt_write(struct blok_txn *t, void *arg) {
  struct smt_arg *a = arg;
  struct blok_smt_store ss;
  uint64_t rv;
  blok_txn_smt_store(t, &ss);
  BLOK_TRY(blok_smt_update(&ss, a->root, a->w, a->n, a->version, a->new_root, &rv));
  BLOK_ASSERT(rv == a->version);
  return blok_txn_smt_root(t, a->new_root, rv);
}

static int cmp_write(const void *a, const void *b) {
  return memcmp(a, b, 32);
}

static void fill_writes(struct blok_smt_write *w, size_t n, uint64_t first, uint8_t salt) {
  for (size_t i = 0; i < n; i++) {
    uint64_t x = first + i;
    blok_sha256(w[i].key, &x, sizeof x);
    blok_sha256(w[i].value_hash, w[i].key, 32);
    w[i].value_hash[0] ^= salt;
    w[i].del = false;
  }
  qsort(w, n, sizeof *w, cmp_write);
}

static void prove_in(struct blok_store *s, const uint8_t root[32], const struct blok_smt_write *w) {
  struct blok_txn *t;
  struct blok_smt_store ss;
  static struct blok_smt_proof p;
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  blok_txn_smt_store(t, &ss);
  assert_int_equal(blok_smt_prove(&ss, root, w->key, &p), BLOK_OK);
  assert_int_equal(blok_smt_verify(root, w->key, w->value_hash, &p), BLOK_OK);
  blok_store_read_end(t);
}

/*
 * The tree over LMDB, two blocks: 500 keys at version 1, then 100 changed and 100 new ones at
 * version 2 on top. The roots equal the memory store's for the same contents, both roots stay
 * provable, and every node is stored under (version, hash) with the version first, so one
 * block's nodes are neighbours in the table.
 */
static void test_smt_over_lmdb(void **state) {
  (void)state;
  make_dir();
  struct blok_store *s = open_store(0);
  static struct blok_smt_write w1[500], w2[200], all[600];
  fill_writes(w1, 500, 0, 0);
  fill_writes(w2, 100, 400, 1); /* keys 400..499, new values */
  fill_writes(w2 + 100, 100, 500, 0);
  qsort(w2, 200, sizeof *w2, cmp_write);
  struct smt_arg a = {.w = w1, .n = 500, .version = 1};
  memcpy(a.root, blok_smt_empty_root, 32);
  assert_int_equal(blok_store_write(s, smt_write, &a), BLOK_OK);
  uint8_t root1[32];
  memcpy(root1, a.new_root, 32);
  a = (struct smt_arg){.w = w2, .n = 200, .version = 2};
  memcpy(a.root, root1, 32);
  assert_int_equal(blok_store_write(s, smt_write, &a), BLOK_OK);

  /* The same contents in one go in memory: the same root. */
  fill_writes(all, 400, 0, 0);
  fill_writes(all + 400, 100, 400, 1);
  fill_writes(all + 500, 100, 500, 0);
  qsort(all, 600, sizeof *all, cmp_write);
  struct blok_smt_memstore *m;
  struct blok_smt_store ms;
  uint8_t mem_root[32];
  uint64_t rv;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &ms);
  assert_int_equal(blok_smt_update(&ms, blok_smt_empty_root, all, 600, 7, mem_root, &rv), BLOK_OK);
  assert_memory_equal(a.new_root, mem_root, 32);
  prove_in(s, root1, &w1[42]);
  prove_in(s, a.new_root, &w2[7]);
  prove_in(s, a.new_root, &all[300]);

  /* One value a version (docs/PROTOCOL.md, "Storage"): key the version, big-endian; value u32
   * count, then records of 113 bytes in hash order. */
  struct blok_txn *t;
  struct blok_cursor *c;
  struct blok_kv kv;
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  assert_int_equal(blok_cursor_open(t, BLOK_TABLE_SMT, &c), BLOK_OK);
  size_t count[3] = {0}, values = 0;
  for (enum blok_err rc = blok_cursor_seek(c, (const uint8_t[8]){0}, 8, &kv); rc == BLOK_OK;
       rc = blok_cursor_next(c, &kv)) {
    assert_int_equal(kv.key_len, 8);
    uint64_t v = blok_store_u64_from_key(kv.key);
    assert_true(v >= 1 && v <= 2);
    assert_true(kv.val_len >= 4);
    size_t n = (size_t)kv.val[0] | (size_t)kv.val[1] << 8 | (size_t)kv.val[2] << 16 |
               (size_t)kv.val[3] << 24;
    assert_int_equal(kv.val_len, 4 + n * 113);
    for (size_t i = 1; i < n; i++) /* in hash order */
      assert_true(memcmp(kv.val + 4 + (i - 1) * 113, kv.val + 4 + i * 113, 32) < 0);
    count[v] = n;
    values++;
  }
  blok_cursor_close(c);
  blok_store_read_end(t);
  assert_int_equal(values, 2);
  assert_true(count[1] >= 500 && count[2] >= 200); /* every leaf, and the paths above them */
  blok_smt_memstore_free(m);
  blok_store_close(s);
  remove_dir();
}

struct nodes_arg {
  struct blok_smt_memstore *m;
};

static enum blok_err put_nodes(struct blok_txn *t, void *arg) {
  return blok_txn_smt_put_nodes(t, ((struct nodes_arg *)arg)->m);
}

static void node_hash(uint8_t h[32], uint64_t i) {
  blok_sha256(h, &i, sizeof i);
}

/* Nodes i in [from, to) of one version into a memory store: node i's hash is SHA-256(i), its
 * left child's version i. */
static struct blok_smt_memstore *nodes(uint64_t version, uint64_t from, uint64_t to) {
  struct blok_smt_memstore *m;
  struct blok_smt_store ms;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &ms);
  for (uint64_t i = from; i < to; i++) {
    uint8_t h[32];
    struct blok_smt_node n = {.kind = i % 3 ? BLOK_SMT_INTERNAL : BLOK_SMT_LEAF, .va = i, .vb = 7};
    node_hash(h, i);
    memcpy(n.a, h, 32);
    if (n.kind == BLOK_SMT_LEAF) n.va = n.vb = 0;
    assert_int_equal(ms.put(ms.ctx, version, h, &n), BLOK_OK);
  }
  return m;
}

/* Every node in [from, to) of version is found with what it holds; the ones up to `absent`
 * after it are not, nor anything at another version. */
static void check_nodes(struct blok_store *s, uint64_t version, uint64_t from, uint64_t to,
                        uint64_t absent) {
  struct blok_txn *t;
  struct blok_smt_store ds;
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  blok_txn_smt_store(t, &ds);
  for (uint64_t i = from; i < absent; i++) {
    uint8_t h[32];
    struct blok_smt_node n;
    node_hash(h, i);
    if (i >= to) {
      assert_int_equal(ds.get(ds.ctx, version, h, &n), BLOK_ENOTFOUND);
      continue;
    }
    assert_int_equal(ds.get(ds.ctx, version, h, &n), BLOK_OK);
    assert_int_equal(n.kind, i % 3 ? BLOK_SMT_INTERNAL : BLOK_SMT_LEAF);
    assert_memory_equal(n.a, h, 32);
    assert_int_equal(n.va, i % 3 ? i : 0);
    assert_int_not_equal(ds.get(ds.ctx, version + 100, h, &n), BLOK_OK);
  }
  blok_store_read_end(t);
}

/*
 * A version's nodes in one value, found by where their hash puts them: every size from one node
 * to thousands (the search starts at a guess and widens both ways), nodes absent from a version
 * not found, and a second write to a version merged with what it holds (an old node kept once).
 */
static void test_smt_node_blocks(void **state) {
  (void)state;
  make_dir();
  struct blok_store *s = open_store(0);
  static const uint64_t sizes[] = {1, 2, 3, 5, 17, 100, 1000, 5000};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    uint64_t v = k + 1, n = sizes[k];
    struct nodes_arg a = {nodes(v, 0, n)};
    assert_int_equal(blok_store_write(s, put_nodes, &a), BLOK_OK);
    blok_smt_memstore_free(a.m);
    check_nodes(s, v, 0, n, n + 50);
  }
  /* Version 7 again: nodes 500..1500 (half of them there already), then all 1500 are. */
  struct nodes_arg a = {nodes(7, 500, 1500)};
  assert_int_equal(blok_store_write(s, put_nodes, &a), BLOK_OK);
  blok_smt_memstore_free(a.m);
  check_nodes(s, 7, 0, 1500, 1600);
  struct blok_txn *t;
  const uint8_t *val;
  size_t len;
  uint8_t key[8];
  blok_store_u64_key(key, 7);
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  assert_int_equal(blok_txn_get(t, BLOK_TABLE_SMT, key, 8, &val, &len), BLOK_OK);
  assert_int_equal(len, 4 + 1500 * 113);
  blok_store_read_end(t);
  blok_store_close(s);
  remove_dir();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_get_reopen_cursor),
      cmocka_unit_test(test_map_grows),
      cmocka_unit_test(test_smt_over_lmdb),
      cmocka_unit_test(test_smt_node_blocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
