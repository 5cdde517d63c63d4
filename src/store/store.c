/*
 * LMDB storage (blok/store.h).
 *
 * Growing the map: LMDB lets mdb_env_set_mapsize run only while no transaction is active in
 * the process, and does not check it. Every transaction, read or write, therefore holds a
 * read lock on `resize`, and growing takes the write lock: it waits until the readers of the
 * moment finish (read transactions are short: one HTTP request) and then blocks new ones for
 * the microseconds the resize takes. The lock prefers writers so a stream of readers cannot
 * starve a resize.
 */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blok/store.h"
#include "blok/banned.h"

#define DEFAULT_MAP_BYTES ((size_t)64 << 20)

static const char *const core_names[BLOK_TABLE_CORE_COUNT] = {
    "meta", "blocks", "txidx", "smt.blocks", "state", "qc", "blockhash", "smt.roots",
    "txidx.recent"};

struct blok_store {
  MDB_env *env;
  MDB_dbi dbi[BLOK_STORE_TABLES_MAX];
  char names[BLOK_STORE_TABLES_MAX][BLOK_STORE_TABLE_NAME_MAX + 1];
  unsigned count;
  size_t map_size;
  pthread_rwlock_t resize;
  void (*grow_hook)(void *ctx);
  void *grow_ctx;
};

struct blok_txn {
  struct blok_store *s;
  MDB_txn *txn;
  /* State-tree nodes put one by one in a write transaction (blok_txn_smt_store), written as
   * blocks of nodes when it commits. NULL until the first. */
  struct blok_smt_memstore *stage;
};

struct blok_cursor {
  MDB_cursor *cur;
};

static enum blok_err from_mdb(int rc) {
  switch (rc) {
    case MDB_SUCCESS:
      return BLOK_OK;
    case MDB_NOTFOUND:
      return BLOK_ENOTFOUND;
    case MDB_MAP_FULL:
      return BLOK_EMAPFULL;
    case ENOMEM:
      return BLOK_ENOMEM;
    case EACCES:
      return BLOK_EPERM;
    case EIO:
      return BLOK_EIO;
    default:
      return BLOK_ESTORE;
  }
}

static bool valid_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > BLOK_STORE_TABLE_NAME_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_')) return false;
  }
  return true;
}

static enum blok_err open_dbi(struct blok_store *s, const char *name, unsigned *id) {
  for (unsigned i = 0; i < s->count; i++)
    if (strcmp(s->names[i], name) == 0) {
      *id = i;
      return BLOK_OK;
    }
  if (s->count == BLOK_STORE_TABLES_MAX) return BLOK_EFULL;
  MDB_txn *txn;
  int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
  if (rc == MDB_SUCCESS) rc = mdb_dbi_open(txn, name, MDB_CREATE, &s->dbi[s->count]);
  if (rc == MDB_SUCCESS) {
    rc = mdb_txn_commit(txn);
  } else {
    mdb_txn_abort(txn);
  }
  if (rc != MDB_SUCCESS) return from_mdb(rc);
  memcpy(s->names[s->count], name, strlen(name) + 1);
  *id = s->count++;
  return BLOK_OK;
}

static enum blok_err env_open(struct blok_store *s, const struct blok_store_opts *o) {
  if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) return BLOK_EIO;
  int rc = mdb_env_create(&s->env);
  if (rc != MDB_SUCCESS) return from_mdb(rc);
  s->map_size = o->map_size_bytes ? o->map_size_bytes : DEFAULT_MAP_BYTES;
  rc = mdb_env_set_mapsize(s->env, s->map_size);
  if (rc == MDB_SUCCESS) rc = mdb_env_set_maxdbs(s->env, BLOK_STORE_TABLES_MAX);
  if (rc == MDB_SUCCESS) rc = mdb_env_set_maxreaders(s->env, 256);
  unsigned flags = MDB_NOTLS | (o->unsynced_for_bench ? MDB_NOSYNC : 0);
  if (rc == MDB_SUCCESS) rc = mdb_env_open(s->env, o->dir, flags, 0600);
  if (rc != MDB_SUCCESS) return from_mdb(rc);
  MDB_envinfo info;
  mdb_env_info(s->env, &info); /* an existing map may be larger than asked */
  s->map_size = info.me_mapsize;
  return BLOK_OK;
}

enum blok_err blok_store_open(struct blok_store **out, const struct blok_store_opts *o) {
  struct blok_store *s = calloc(1, sizeof *s);
  if (s == NULL) return BLOK_ENOMEM;
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&s->resize, &attr);
  pthread_rwlockattr_destroy(&attr);
  enum blok_err rc = env_open(s, o);
  for (unsigned i = 0; rc == BLOK_OK && i < BLOK_TABLE_CORE_COUNT; i++) {
    unsigned id;
    rc = open_dbi(s, core_names[i], &id);
    BLOK_ASSERT(rc != BLOK_OK || id == i);
  }
  if (rc != BLOK_OK) {
    blok_store_close(s);
    return rc;
  }
  *out = s;
  return BLOK_OK;
}

void blok_store_close(struct blok_store *s) {
  if (s == NULL) return;
  if (s->env) mdb_env_close(s->env);
  pthread_rwlock_destroy(&s->resize);
  free(s);
}

enum blok_err blok_store_table(struct blok_store *s, const char *name, unsigned *id) {
  if (!valid_name(name)) return BLOK_EINVAL;
  return open_dbi(s, name, id);
}

enum blok_err blok_store_table_shared(struct blok_store *s, const char *name, unsigned *id) {
  unsigned got;
  BLOK_TRY(blok_store_table(s, name, &got));
  BLOK_ASSERT(got >= BLOK_TABLE_CORE_COUNT);
  if (*id == 0) *id = got;
  return *id == got ? BLOK_OK : BLOK_EINVAL;
}

size_t blok_store_map_size(const struct blok_store *s) {
  return s->map_size;
}

void blok_store_set_grow_hook(struct blok_store *s, void (*fn)(void *ctx), void *ctx) {
  s->grow_hook = fn;
  s->grow_ctx = ctx;
}

static enum blok_err grow(struct blok_store *s) {
  if (s->grow_hook) s->grow_hook(s->grow_ctx); /* this thread's own readers end first */
  pthread_rwlock_wrlock(&s->resize);
  size_t want = s->map_size * 2;
  int rc = mdb_env_set_mapsize(s->env, want);
  if (rc == MDB_SUCCESS) s->map_size = want;
  pthread_rwlock_unlock(&s->resize);
  return from_mdb(rc);
}

/* One attempt: begin, run fn, commit. BLOK_EMAPFULL asks the caller to grow and retry. */
static enum blok_err write_once(struct blok_store *s, blok_store_write_fn fn, void *arg) {
  struct blok_txn t = {.s = s};
  int rc = mdb_txn_begin(s->env, NULL, 0, &t.txn);
  if (rc != MDB_SUCCESS) return from_mdb(rc);
  enum blok_err err = fn(&t, arg);
  if (err == BLOK_OK && t.stage != NULL) err = blok_txn_smt_put_nodes(&t, t.stage);
  blok_smt_memstore_free(t.stage);
  if (err != BLOK_OK) {
    mdb_txn_abort(t.txn);
    return err;
  }
  return from_mdb(mdb_txn_commit(t.txn)); /* commit frees the txn even when it fails */
}

enum blok_err blok_store_write(struct blok_store *s, blok_store_write_fn fn, void *arg) {
  for (;;) {
    pthread_rwlock_rdlock(&s->resize);
    enum blok_err err = write_once(s, fn, arg);
    pthread_rwlock_unlock(&s->resize);
    if (err != BLOK_EMAPFULL) return err;
    BLOK_TRY(grow(s));
  }
}

enum blok_err blok_store_read_begin(struct blok_store *s, struct blok_txn **out) {
  struct blok_txn *t = malloc(sizeof *t);
  if (t == NULL) return BLOK_ENOMEM;
  t->s = s;
  t->stage = NULL;
  pthread_rwlock_rdlock(&s->resize);
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
  if (rc != MDB_SUCCESS) {
    pthread_rwlock_unlock(&s->resize);
    free(t);
    return from_mdb(rc);
  }
  *out = t;
  return BLOK_OK;
}

void blok_store_read_end(struct blok_txn *t) {
  if (t == NULL) return;
  mdb_txn_abort(t->txn);
  pthread_rwlock_unlock(&t->s->resize);
  free(t);
}

static MDB_dbi dbi_of(struct blok_txn *t, unsigned table) {
  BLOK_ASSERT(table < t->s->count);
  return t->s->dbi[table];
}

enum blok_err blok_txn_get(struct blok_txn *t, unsigned table, const void *key, size_t key_len,
                           const uint8_t **val, size_t *val_len) {
  MDB_val k = {.mv_size = key_len, .mv_data = (void *)(uintptr_t)key}, v;
  int rc = mdb_get(t->txn, dbi_of(t, table), &k, &v);
  if (rc != MDB_SUCCESS) return from_mdb(rc);
  *val = v.mv_data;
  *val_len = v.mv_size;
  return BLOK_OK;
}

enum blok_err blok_txn_put(struct blok_txn *t, unsigned table, const void *key, size_t key_len,
                           const void *val, size_t val_len) {
  MDB_val k = {.mv_size = key_len, .mv_data = (void *)(uintptr_t)key};
  MDB_val v = {.mv_size = val_len, .mv_data = (void *)(uintptr_t)val};
  return from_mdb(mdb_put(t->txn, dbi_of(t, table), &k, &v, 0));
}

enum blok_err blok_txn_del(struct blok_txn *t, unsigned table, const void *key, size_t key_len) {
  MDB_val k = {.mv_size = key_len, .mv_data = (void *)(uintptr_t)key};
  int rc = mdb_del(t->txn, dbi_of(t, table), &k, NULL);
  return rc == MDB_NOTFOUND ? BLOK_OK : from_mdb(rc);
}

enum blok_err blok_cursor_open(struct blok_txn *t, unsigned table, struct blok_cursor **out) {
  struct blok_cursor *c = malloc(sizeof *c);
  if (c == NULL) return BLOK_ENOMEM;
  int rc = mdb_cursor_open(t->txn, dbi_of(t, table), &c->cur);
  if (rc != MDB_SUCCESS) {
    free(c);
    return from_mdb(rc);
  }
  *out = c;
  return BLOK_OK;
}

void blok_cursor_close(struct blok_cursor *c) {
  if (c == NULL) return;
  mdb_cursor_close(c->cur);
  free(c);
}

static enum blok_err cursor_op(struct blok_cursor *c, MDB_val *k, MDB_cursor_op op,
                               struct blok_kv *out) {
  MDB_val v;
  int rc = mdb_cursor_get(c->cur, k, &v, op);
  if (rc != MDB_SUCCESS) return from_mdb(rc);
  out->key = k->mv_data;
  out->key_len = k->mv_size;
  out->val = v.mv_data;
  out->val_len = v.mv_size;
  return BLOK_OK;
}

enum blok_err blok_cursor_seek(struct blok_cursor *c, const void *key, size_t key_len,
                               struct blok_kv *out) {
  MDB_val k = {.mv_size = key_len, .mv_data = (void *)(uintptr_t)key};
  return cursor_op(c, &k, MDB_SET_RANGE, out);
}

enum blok_err blok_cursor_next(struct blok_cursor *c, struct blok_kv *out) {
  MDB_val k;
  return cursor_op(c, &k, MDB_NEXT, out);
}

enum blok_err blok_cursor_prev(struct blok_cursor *c, struct blok_kv *out) {
  MDB_val k;
  return cursor_op(c, &k, MDB_PREV, out);
}

enum blok_err blok_cursor_last(struct blok_cursor *c, struct blok_kv *out) {
  MDB_val k;
  return cursor_op(c, &k, MDB_LAST, out);
}

/*
 * State-tree nodes (docs/PROTOCOL.md, "Storage"): one value per version (the height of the
 * block that wrote them), key u64 version big-endian, value u32 count (little-endian) then
 * count records of SMT_REC bytes in hash order:
 *   hash[32] || kind[1] || a[32] || b[32] || va u64 BE || vb u64 BE  (a leaf's va, vb are 0)
 * A block's tens of thousands of nodes are one put instead of one each (10% of the execution
 * thread went to those), and node hashes are uniform, so a lookup interpolates on the hashes'
 * first 8 bytes (block_find), where a walk down a B-tree of every node touched several pages.
 */
#define SMT_REC       113
#define SMT_BLOCK_MAX ((size_t)UINT32_MAX / SMT_REC) /* nodes one value holds at most */

struct rec_ref {
  uint64_t version, prefix;
  const uint8_t *hash;
  const struct blok_smt_node *node;
};

static void rec_encode(uint8_t *r, const uint8_t hash[32], const struct blok_smt_node *n) {
  memcpy(r, hash, 32);
  r[32] = n->kind;
  memcpy(r + 33, n->a, 32);
  memcpy(r + 65, n->b, 32);
  blok_store_u64_key(r + 97, n->kind == BLOK_SMT_INTERNAL ? n->va : 0);
  blok_store_u64_key(r + 105, n->kind == BLOK_SMT_INTERNAL ? n->vb : 0);
}

static enum blok_err rec_decode(const uint8_t *r, struct blok_smt_node *out) {
  out->kind = r[32];
  if (out->kind != BLOK_SMT_INTERNAL && out->kind != BLOK_SMT_LEAF) return BLOK_EFORMAT;
  memcpy(out->a, r + 33, 32);
  memcpy(out->b, r + 65, 32);
  out->va = blok_store_u64_from_key(r + 97);
  out->vb = blok_store_u64_from_key(r + 105);
  return BLOK_OK;
}

static size_t block_count(const uint8_t *v, size_t len, enum blok_err *rc) {
  *rc = BLOK_EFORMAT;
  if (len < 4) return 0;
  size_t n = (size_t)v[0] | (size_t)v[1] << 8 | (size_t)v[2] << 16 | (size_t)v[3] << 24;
  if (len != 4 + n * SMT_REC) return 0;
  *rc = BLOK_OK;
  return n;
}

static uint64_t rec_prefix(const uint8_t *recs, size_t i) {
  return blok_store_u64_from_key(recs + i * SMT_REC);
}

/* Compares record i with hash: by the first 8 bytes as an integer, the rest only on a tie. */
static int rec_cmp(const uint8_t *recs, size_t i, uint64_t x, const uint8_t hash[32]) {
  uint64_t k = rec_prefix(recs, i);
  if (k != x) return k < x ? -1 : 1;
  return memcmp(recs + i * SMT_REC + 8, hash + 8, 24);
}

/* The record of hash among n sorted ones, or NULL. Hashes are uniform, so interpolation on
 * their first 8 bytes lands next to it in two or three probes; a few rounds of it, then
 * halving, whatever the keys. */
static const uint8_t *block_find(const uint8_t *recs, size_t n, const uint8_t hash[32]) {
  if (n == 0) return NULL;
  uint64_t x = blok_store_u64_from_key(hash);
  size_t lo = 0, hi = n - 1; /* the record, if present, is in [lo, hi] */
  for (int round = 0; lo <= hi; round++) {
    size_t at = lo + (hi - lo) / 2;
    if (round < 4 && lo < hi) { /* interpolate */
      uint64_t klo = rec_prefix(recs, lo), khi = rec_prefix(recs, hi);
      if (x < klo || x > khi) return NULL;
      if (klo < khi) {
        at = lo + (size_t)((double)(x - klo) / (double)(khi - klo) * (double)(hi - lo));
        if (at > hi) at = hi;
      }
    }
    int c = rec_cmp(recs, at, x, hash);
    if (c == 0) return recs + at * SMT_REC;
    if (c < 0)
      lo = at + 1;
    else if (at == 0)
      return NULL;
    else
      hi = at - 1;
  }
  return NULL;
}

static enum blok_err smt_get(void *ctx, uint64_t version, const uint8_t hash[32],
                             struct blok_smt_node *out) {
  struct blok_txn *t = ctx;
  if (t->stage != NULL) {
    struct blok_smt_store mem;
    blok_smt_memstore_bind(t->stage, &mem);
    enum blok_err rc = mem.get(mem.ctx, version, hash, out);
    if (rc != BLOK_ENOTFOUND) return rc;
  }
  uint8_t k[8];
  const uint8_t *v;
  size_t len;
  enum blok_err rc;
  blok_store_u64_key(k, version);
  BLOK_TRY(blok_txn_get(t, BLOK_TABLE_SMT, k, sizeof k, &v, &len));
  size_t n = block_count(v, len, &rc);
  BLOK_TRY(rc);
  const uint8_t *r = block_find(v + 4, n, hash);
  return r ? rec_decode(r, out) : BLOK_ENOTFOUND;
}

static enum blok_err smt_put(void *ctx, uint64_t version, const uint8_t hash[32],
                             const struct blok_smt_node *n) {
  struct blok_txn *t = ctx;
  if (t->stage == NULL) BLOK_TRY(blok_smt_memstore_new(&t->stage));
  struct blok_smt_store mem;
  blok_smt_memstore_bind(t->stage, &mem);
  return mem.put(mem.ctx, version, hash, n);
}

static int ref_order(const void *a, const void *b) {
  const struct rec_ref *x = a, *y = b;
  if (x->version != y->version) return x->version < y->version ? -1 : 1;
  if (x->prefix != y->prefix) return x->prefix < y->prefix ? -1 : 1;
  return memcmp(x->hash, y->hash, 32);
}

/* Sorts v[0..n) by (version, hash). A block's nodes all have its version and uniformly random
 * hashes, so one counting pass on the hashes' first 16 bits leaves buckets of about one node,
 * which insertion sort finishes: linear, where qsort took several ms a block. Anything else
 * (mixed versions, a few nodes, no memory for the counts) goes to qsort. tmp has room for n. */
static void sort_refs(struct rec_ref *v, size_t n, struct rec_ref *tmp) {
  enum { BUCKETS = 1 << 16 };
  bool one_version = true;
  for (size_t i = 1; i < n && one_version; i++)
    one_version = v[i].version == v[0].version;
  size_t *start = one_version && n >= 1024 ? calloc(BUCKETS + 1, sizeof *start) : NULL;
  if (start == NULL) {
    qsort(v, n, sizeof *v, ref_order);
    return;
  }
  for (size_t i = 0; i < n; i++)
    start[(v[i].prefix >> 48) + 1]++;
  for (size_t b = 0; b < BUCKETS; b++)
    start[b + 1] += start[b];
  for (size_t i = 0; i < n; i++)
    tmp[start[v[i].prefix >> 48]++] = v[i];
  for (size_t i = 1; i < n; i++) { /* each node is at most a bucket away from its place */
    struct rec_ref e = tmp[i];
    size_t j = i;
    while (j > 0 && ref_order(&tmp[j - 1], &e) > 0) {
      tmp[j] = tmp[j - 1];
      j--;
    }
    tmp[j] = e;
  }
  free(start);
  memcpy(v, tmp, n * sizeof *v);
  for (size_t i = 1; i < n; i++) /* a wrong order would break every lookup: make it loud */
    BLOK_ASSERT(ref_order(&v[i - 1], &v[i]) < 0);
}

struct gather {
  struct rec_ref *v;
  size_t count, cap;
};

static enum blok_err gather_ref(void *ctx, uint64_t version, const uint8_t hash[32],
                                const struct blok_smt_node *n) {
  struct gather *g = ctx;
  BLOK_ASSERT(g->count < g->cap);
  g->v[g->count++] = (struct rec_ref){
      .version = version, .prefix = blok_store_u64_from_key(hash), .hash = hash, .node = n};
  return BLOK_OK;
}

/* Writes the value of one version: refs (sorted, n of them) merged with what it holds already
 * (a node already there is kept: content-addressed, it is the same). */
static enum blok_err put_version(struct blok_txn *t, const struct rec_ref *refs, size_t n) {
  uint8_t k[8];
  const uint8_t *old = NULL;
  size_t old_len = 0, old_n = 0;
  enum blok_err rc;
  blok_store_u64_key(k, refs[0].version);
  rc = blok_txn_get(t, BLOK_TABLE_SMT, k, sizeof k, &old, &old_len);
  uint8_t *copy = NULL;
  if (rc == BLOK_OK) {
    old_n = block_count(old, old_len, &rc);
    BLOK_TRY(rc);
    copy = malloc(old_len); /* the put below may reuse the pages it lives in */
    if (copy == NULL) return BLOK_ENOMEM;
    memcpy(copy, old, old_len);
  } else if (rc != BLOK_ENOTFOUND) {
    return rc;
  }
  if (old_n + n > SMT_BLOCK_MAX) {
    free(copy);
    return BLOK_ETOOLONG;
  }
  const uint8_t *a = copy ? copy + 4 : NULL;
  size_t total = 0;
  for (size_t i = 0, j = 0; i < old_n || j < n; total++) { /* count the union first */
    int c = i == old_n ? 1 : j == n ? -1 : memcmp(a + i * SMT_REC, refs[j].hash, 32);
    i += c <= 0;
    j += c >= 0;
  }
  MDB_val key = {.mv_size = sizeof k, .mv_data = k}, val = {.mv_size = 4 + total * SMT_REC};
  int mrc = mdb_put(t->txn, dbi_of(t, BLOK_TABLE_SMT), &key, &val, MDB_RESERVE);
  if (mrc != MDB_SUCCESS) {
    free(copy);
    return from_mdb(mrc);
  }
  uint8_t *w = val.mv_data;
  for (int b = 0; b < 4; b++)
    w[b] = (uint8_t)(total >> (8 * b));
  w += 4;
  for (size_t i = 0, j = 0; i < old_n || j < n; w += SMT_REC) {
    int c = i == old_n ? 1 : j == n ? -1 : memcmp(a + i * SMT_REC, refs[j].hash, 32);
    if (c <= 0)
      memcpy(w, a + i * SMT_REC, SMT_REC);
    else
      rec_encode(w, refs[j].hash, refs[j].node);
    i += c <= 0;
    j += c >= 0;
  }
  free(copy);
  return BLOK_OK;
}

enum blok_err blok_txn_smt_put_nodes(struct blok_txn *t, const struct blok_smt_memstore *m) {
  size_t cap = blok_smt_memstore_count(m);
  if (cap == 0) return BLOK_OK;
  struct gather g = {.cap = cap, .v = malloc(2 * cap * sizeof *g.v)};
  if (g.v == NULL) return BLOK_ENOMEM;
  enum blok_err rc = blok_smt_memstore_foreach(m, gather_ref, &g);
  if (rc == BLOK_OK) sort_refs(g.v, g.count, g.v + g.cap);
  for (size_t i = 0; rc == BLOK_OK && i < g.count;) {
    size_t j = i + 1;
    while (j < g.count && g.v[j].version == g.v[i].version)
      j++;
    rc = put_version(t, g.v + i, j - i);
    i = j;
  }
  free(g.v);
  return rc;
}

static enum blok_err smt_root_version(void *ctx, const uint8_t root[32], uint64_t *version) {
  const uint8_t *v;
  size_t n;
  BLOK_TRY(blok_txn_get(ctx, BLOK_TABLE_SMT_ROOTS, root, 32, &v, &n));
  if (n != 8) return BLOK_EFORMAT;
  *version = blok_store_u64_from_key(v);
  return BLOK_OK;
}

void blok_txn_smt_store(struct blok_txn *t, struct blok_smt_store *out) {
  out->ctx = t;
  out->checked = false; /* LMDB has no checksums: the tree checks what it reads */
  out->get = smt_get;
  out->put = smt_put;
  out->root_version = smt_root_version;
}

enum blok_err blok_txn_smt_root(struct blok_txn *t, const uint8_t root[32], uint64_t version) {
  uint8_t v[8];
  blok_store_u64_key(v, version);
  return blok_txn_put(t, BLOK_TABLE_SMT_ROOTS, root, 32, v, sizeof v);
}

void blok_store_u64_key(uint8_t out[8], uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    out[i] = (uint8_t)v;
    v >>= 8;
  }
}

uint64_t blok_store_u64_from_key(const uint8_t k[8]) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | k[i];
  return v;
}
