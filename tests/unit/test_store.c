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
  struct blok_smt_at rv;
  blok_txn_smt_store(t, &ss);
  BLOK_TRY(blok_smt_update(&ss, a->root, a->w, a->n, a->version, a->new_root, &rv));
  BLOK_ASSERT(rv.version == a->version);
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

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A version's value as docs/PROTOCOL.md lays it out: slotted (u32 count | 1 << 31, records of
 * 121 bytes) or sorted (u32 count, records of 113 bytes in hash order). */
struct layout {
  const uint8_t *recs;
  size_t n, rec;
  bool slotted;
};

static bool layout_of(struct blok_txn *t, uint64_t version, struct layout *out) {
  uint8_t k[8];
  const uint8_t *v;
  size_t len;
  blok_store_u64_key(k, version);
  if (blok_txn_get(t, BLOK_TABLE_SMT, k, 8, &v, &len) != BLOK_OK) return false;
  assert_true(len >= 4);
  uint32_t word =
      (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
  out->slotted = word >> 31;
  out->n = word & 0x7fffffffu;
  out->rec = out->slotted ? 121 : 113;
  out->recs = v + 4;
  assert_int_equal(len, 4 + out->n * out->rec);
  return true;
}

/* Every child pointer in every version names a node that is there: at its slot when it has
 * one, else (a sorted value) findable by its hash. Gives how many pointers carried a slot, and
 * checks the sorted values are in hash order. */
static size_t check_pointers(struct blok_store *s) {
  struct blok_txn *t;
  struct blok_cursor *c;
  struct blok_kv kv;
  size_t with_slot = 0;
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  assert_int_equal(blok_cursor_open(t, BLOK_TABLE_SMT, &c), BLOK_OK);
  for (enum blok_err rc = blok_cursor_seek(c, (const uint8_t[8]){0}, 8, &kv); rc == BLOK_OK;
       rc = blok_cursor_next(c, &kv)) {
    struct layout l, child;
    assert_true(layout_of(t, blok_store_u64_from_key(kv.key), &l));
    for (size_t i = 0; i < l.n; i++) {
      const uint8_t *r = l.recs + i * l.rec;
      if (!l.slotted && i > 0) assert_true(memcmp(r - l.rec, r, 32) < 0);
      if (r[32] != BLOK_SMT_INTERNAL) continue;
      for (int side = 0; side < 2; side++) {
        const uint8_t *hash = r + 33 + 32 * side;
        uint64_t version = blok_store_u64_from_key(r + 97 + 8 * side);
        uint32_t slot = l.slotted ? be32(r + 113 + 4 * side) : BLOK_SMT_SLOT_NONE;
        bool zero = true;
        for (int b = 0; b < 32; b++)
          zero = zero && hash[b] == 0;
        if (zero) continue; /* an empty subtree is not stored */
        assert_true(layout_of(t, version, &child));
        if (slot == BLOK_SMT_SLOT_NONE) {
          assert_false(child.slotted); /* only what the old layout wrote lacks slots */
          bool found = false;
          for (size_t j = 0; j < child.n && !found; j++)
            found = memcmp(child.recs + j * child.rec, hash, 32) == 0;
          assert_true(found);
        } else {
          assert_true(slot < child.n);
          assert_memory_equal(child.recs + (size_t)slot * child.rec, hash, 32);
          with_slot++;
        }
      }
    }
  }
  blok_cursor_close(c);
  blok_store_read_end(t);
  return with_slot;
}

/*
 * The tree over LMDB, two blocks: 500 keys at version 1, then 100 changed and 100 new ones at
 * version 2 on top. The roots equal the memory store's for the same contents, both roots stay
 * provable, every node of a version is in that version's one value, and every pointer's slot
 * holds the child it names.
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
  struct blok_smt_at rv;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &ms);
  assert_int_equal(blok_smt_update(&ms, blok_smt_empty_root, all, 600, 7, mem_root, &rv), BLOK_OK);
  assert_memory_equal(a.new_root, mem_root, 32);
  prove_in(s, root1, &w1[42]);
  prove_in(s, a.new_root, &w2[7]);
  prove_in(s, a.new_root, &all[300]);

  /* Two values, slotted, with every leaf and the paths above them; every pointer (within a
   * version and from version 2 into 1) has a slot that holds its child; smt.roots gives the
   * new root's version and slot. */
  struct blok_txn *t;
  struct layout l[3];
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  assert_false(layout_of(t, 0, &l[0]));
  assert_true(layout_of(t, 1, &l[1]) && layout_of(t, 2, &l[2]));
  assert_false(layout_of(t, 3, &l[0]));
  assert_true(l[1].slotted && l[2].slotted);
  assert_true(l[1].n >= 500 && l[2].n >= 200);
  const uint8_t *v;
  size_t n;
  assert_int_equal(blok_txn_get(t, BLOK_TABLE_SMT_ROOTS, a.new_root, 32, &v, &n), BLOK_OK);
  assert_int_equal(n, 12);
  assert_int_equal(blok_store_u64_from_key(v), 2);
  assert_true(be32(v + 8) < l[2].n);
  assert_memory_equal(l[2].recs + (size_t)be32(v + 8) * 121, a.new_root, 32);
  blok_store_read_end(t);
  assert_true(check_pointers(s) >= 998); /* version 1 alone: 499 branching nodes, two each */
  blok_smt_memstore_free(m);
  blok_store_close(s);
  remove_dir();
}

struct node_list {
  uint8_t hash[32];
  struct blok_smt_node node;
};

static enum blok_err collect(void *ctx, uint64_t version, const uint8_t hash[32],
                             const struct blok_smt_node *n) {
  (void)version;
  struct node_list **at = ctx;
  memcpy((*at)->hash, hash, 32);
  (*at)->node = *n;
  (*at)++;
  return BLOK_OK;
}

static int cmp_listed(const void *a, const void *b) {
  return memcmp(a, b, 32);
}

struct sorted_arg {
  uint8_t *value;
  size_t len;
  uint8_t root[32];
};

/* Writes version 1 as storage format 4 did: one sorted value, the root's version alone. */
static enum blok_err put_sorted(struct blok_txn *t, void *arg) {
  struct sorted_arg *a = arg;
  uint8_t k[8];
  blok_store_u64_key(k, 1);
  BLOK_TRY(blok_txn_put(t, BLOK_TABLE_SMT, k, 8, a->value, a->len));
  return blok_txn_put(t, BLOK_TABLE_SMT_ROOTS, a->root, 32, k, 8);
}

/*
 * A folder of storage format 4 holds sorted values (records of 113 bytes in hash order, no
 * slots) and 8-byte smt.roots entries: its tree stays readable, and a block on top of it
 * writes a slotted value whose pointers into the old one find their nodes by hash.
 */
static void test_smt_sorted_values(void **state) {
  (void)state;
  make_dir();
  struct blok_store *s = open_store(0);
  static struct blok_smt_write w1[300], w2[200], all[400];
  fill_writes(w1, 300, 0, 0);
  struct blok_smt_memstore *m;
  struct blok_smt_store ms;
  struct blok_smt_at rv;
  struct sorted_arg a;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &ms);
  assert_int_equal(blok_smt_update(&ms, blok_smt_empty_root, w1, 300, 1, a.root, &rv), BLOK_OK);
  size_t count = blok_smt_memstore_count(m);
  struct node_list *list = calloc(count, sizeof *list), *at = list;
  assert_non_null(list);
  assert_int_equal(blok_smt_memstore_foreach(m, collect, &at), BLOK_OK);
  qsort(list, count, sizeof *list, cmp_listed);
  a.len = 4 + count * 113;
  a.value = malloc(a.len);
  assert_non_null(a.value);
  for (int b = 0; b < 4; b++)
    a.value[b] = (uint8_t)(count >> (8 * b));
  for (size_t i = 0; i < count; i++) {
    uint8_t *r = a.value + 4 + i * 113;
    bool inner = list[i].node.kind == BLOK_SMT_INTERNAL;
    memcpy(r, list[i].hash, 32);
    r[32] = list[i].node.kind;
    memcpy(r + 33, list[i].node.a, 32);
    memcpy(r + 65, list[i].node.b, 32);
    blok_store_u64_key(r + 97, inner ? list[i].node.va : 0);
    blok_store_u64_key(r + 105, inner ? list[i].node.vb : 0);
  }
  assert_int_equal(blok_store_write(s, put_sorted, &a), BLOK_OK);
  prove_in(s, a.root, &w1[0]);
  prove_in(s, a.root, &w1[299]);

  fill_writes(w2, 100, 200, 1); /* keys 200..299, new values */
  fill_writes(w2 + 100, 100, 300, 0);
  qsort(w2, 200, sizeof *w2, cmp_write);
  struct smt_arg u = {.w = w2, .n = 200, .version = 2};
  memcpy(u.root, a.root, 32);
  assert_int_equal(blok_store_write(s, smt_write, &u), BLOK_OK);
  fill_writes(all, 200, 0, 0);
  fill_writes(all + 200, 100, 200, 1);
  fill_writes(all + 300, 100, 300, 0);
  qsort(all, 400, sizeof *all, cmp_write);
  uint8_t mem_root[32];
  blok_smt_memstore_clear(m);
  assert_int_equal(blok_smt_update(&ms, blok_smt_empty_root, all, 400, 7, mem_root, &rv), BLOK_OK);
  assert_memory_equal(u.new_root, mem_root, 32);
  prove_in(s, u.new_root, &w2[5]);
  prove_in(s, u.new_root, &all[17]); /* an old key, through version 2 into version 1 */
  prove_in(s, a.root, &w1[150]);
  assert_true(check_pointers(s) > 0);
  free(a.value);
  free(list);
  blok_smt_memstore_free(m);
  blok_store_close(s);
  remove_dir();
}

struct nodes_arg {
  uint64_t version;
  struct blok_smt_memstore *m;
};

static enum blok_err put_nodes(struct blok_txn *t, void *arg) {
  struct nodes_arg *a = arg;
  return blok_txn_smt_put_nodes(t, a->version, a->m);
}

static void node_hash(uint8_t h[32], uint64_t i) {
  blok_sha256(h, &i, sizeof i);
}

/* Nodes i in [from, to) of one version into a memory store: node i's hash is SHA-256(i), its
 * left child's version i and slot i * 2, its right child's version 7 and no slot. */
static struct blok_smt_memstore *nodes(uint64_t version, uint64_t from, uint64_t to) {
  struct blok_smt_memstore *m;
  struct blok_smt_store ms;
  assert_int_equal(blok_smt_memstore_new(&m), BLOK_OK);
  blok_smt_memstore_bind(m, &ms);
  for (uint64_t i = from; i < to; i++) {
    uint8_t h[32];
    struct blok_smt_node n = {.kind = i % 3 ? BLOK_SMT_INTERNAL : BLOK_SMT_LEAF,
                              .va = i,
                              .vb = 7,
                              .sa = (uint32_t)i * 2,
                              .sb = BLOK_SMT_SLOT_NONE};
    uint32_t slot;
    node_hash(h, i);
    memcpy(n.a, h, 32);
    if (n.kind == BLOK_SMT_LEAF) {
      n.va = n.vb = 0;
      n.sa = BLOK_SMT_SLOT_NONE;
    }
    assert_int_equal(ms.put(ms.ctx, version, h, &n, &slot), BLOK_OK);
    assert_int_equal(slot, i - from);
  }
  return m;
}

/* Every node in [from, to) of version is found with what it holds, by its slot and by its hash
 * alone, and a wrong slot falls back to the hash; the ones up to `absent` after it are not,
 * nor anything at another version. */
static void check_nodes(struct blok_store *s, uint64_t version, uint64_t from, uint64_t to,
                        uint64_t absent) {
  struct blok_txn *t;
  struct blok_smt_store ds;
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  blok_txn_smt_store(t, &ds);
  for (uint64_t i = from; i < absent; i++) {
    uint8_t h[32];
    struct blok_smt_node n;
    const struct blok_smt_at by_slot = {version, (uint32_t)(i - from)},
                             by_hash = {version, BLOK_SMT_SLOT_NONE},
                             wrong = {version, (uint32_t)(i - from + 1) % (uint32_t)(to - from)},
                             elsewhere = {version + 100, (uint32_t)(i - from)};
    node_hash(h, i);
    if (i >= to) {
      assert_int_equal(ds.get(ds.ctx, by_hash, h, &n), BLOK_ENOTFOUND);
      assert_int_equal(ds.get(ds.ctx, wrong, h, &n), BLOK_ENOTFOUND);
      continue;
    }
    const struct blok_smt_at *ways[] = {&by_slot, &by_hash, &wrong};
    for (int w = 0; w < 3; w++) {
      memset(&n, 0, sizeof n);
      assert_int_equal(ds.get(ds.ctx, *ways[w], h, &n), BLOK_OK);
      assert_int_equal(n.kind, i % 3 ? BLOK_SMT_INTERNAL : BLOK_SMT_LEAF);
      assert_memory_equal(n.a, h, 32);
      assert_int_equal(n.va, i % 3 ? i : 0);
      assert_int_equal(n.vb, i % 3 ? 7 : 0);
      assert_int_equal(n.sa, i % 3 ? (uint32_t)i * 2 : BLOK_SMT_SLOT_NONE);
      assert_int_equal(n.sb, BLOK_SMT_SLOT_NONE);
    }
    assert_int_not_equal(ds.get(ds.ctx, elsewhere, h, &n), BLOK_OK);
  }
  blok_store_read_end(t);
}

/*
 * A version's nodes in one value, each at the slot the memory store gave it: every size from
 * one node to thousands, found by slot and by hash, nodes absent from a version not found. A
 * version is written once (a second write is refused and changes nothing), and a memory store
 * with a node of another version is refused.
 */
static void test_smt_node_blocks(void **state) {
  (void)state;
  make_dir();
  struct blok_store *s = open_store(0);
  static const uint64_t sizes[] = {1, 2, 3, 5, 17, 100, 1000, 5000};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    uint64_t n = sizes[k];
    struct nodes_arg a = {k + 1, nodes(k + 1, 0, n)};
    assert_int_equal(blok_store_write(s, put_nodes, &a), BLOK_OK);
    blok_smt_memstore_free(a.m);
    check_nodes(s, k + 1, 0, n, n + 50);
  }
  struct nodes_arg a = {7, nodes(7, 500, 1500)};
  assert_int_equal(blok_store_write(s, put_nodes, &a), BLOK_EDUPLICATE);
  blok_smt_memstore_free(a.m);
  check_nodes(s, 7, 0, 1000, 1050);
  struct blok_txn *t;
  struct layout l;
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  assert_true(layout_of(t, 7, &l));
  assert_true(l.slotted);
  assert_int_equal(l.n, 1000);
  blok_store_read_end(t);
  a = (struct nodes_arg){9, nodes(10, 0, 10)}; /* nodes of version 10 written as 9 */
  assert_int_equal(blok_store_write(s, put_nodes, &a), BLOK_EINVAL);
  blok_smt_memstore_free(a.m);
  assert_int_equal(blok_store_read_begin(s, &t), BLOK_OK);
  assert_false(layout_of(t, 9, &l));
  blok_store_read_end(t);
  blok_store_close(s);
  remove_dir();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_get_reopen_cursor), cmocka_unit_test(test_map_grows),
      cmocka_unit_test(test_smt_over_lmdb),         cmocka_unit_test(test_smt_sorted_values),
      cmocka_unit_test(test_smt_node_blocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
