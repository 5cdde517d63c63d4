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
  uint8_t root[32];
};

static enum blok_err smt_write(struct blok_txn *t, void *arg) {
  struct smt_arg *a = arg;
  struct blok_smt_store ss;
  blok_txn_smt_store(t, &ss);
  return blok_smt_update(&ss, blok_smt_empty_root, a->w, a->n, a->root);
}

static int cmp_write(const void *a, const void *b) {
  return memcmp(a, b, 32);
}

static void test_smt_over_lmdb(void **state) {
  (void)state;
  make_dir();
  struct blok_store *s = open_store(0);
  static struct blok_smt_write w[500];
  for (size_t i = 0; i < 500; i++) {
    uint64_t x = i;
    blok_sha256(w[i].key, &x, sizeof x);
    blok_sha256(w[i].value_hash, w[i].key, 32);
    w[i].del = false;
  }
  qsort(w, 500, sizeof *w, cmp_write);
  struct smt_arg a = {.w = w, .n = 500};
  assert_int_equal(blok_store_write(s, smt_write, &a), BLOK_OK);
  struct blok_smt_memstore *m;
  struct blok_smt_store ms;
  uint8_t mem_root[32];
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &ms);
  assert_int_equal(blok_smt_update(&ms, blok_smt_empty_root, w, 500, mem_root), BLOK_OK);
  assert_memory_equal(a.root, mem_root, 32);
  struct blok_txn *t;
  struct blok_smt_store ss;
  static struct blok_smt_proof p;
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  blok_txn_smt_store(t, &ss);
  assert_int_equal(blok_smt_prove(&ss, a.root, w[42].key, &p), BLOK_OK);
  assert_int_equal(blok_smt_verify(a.root, w[42].key, w[42].value_hash, &p), BLOK_OK);
  blok_store_read_end(t);
  blok_smt_memstore_free(m);
  blok_store_close(s);
  remove_dir();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_get_reopen_cursor),
      cmocka_unit_test(test_map_grows),
      cmocka_unit_test(test_smt_over_lmdb),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
