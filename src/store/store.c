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
    "meta", "blocks",    "txidx",     "smt.blocks",  "state",
    "qc",   "blockhash", "smt.roots", "txidx.recent", "state.recent"};

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
   * blocks of nodes when it commits. NULL until the first; all of stage_version. */
  struct blok_smt_memstore *stage;
  uint64_t stage_version;
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
  if (err == BLOK_OK && t.stage != NULL) err = blok_txn_smt_put_nodes(&t, t.stage_version, t.stage);
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
 * block that wrote them), key u64 version big-endian. A block's tens of thousands of nodes are
 * one put instead of one each (10% of the execution thread went to those). The value is a u32
 * (little-endian) then records, in one of two layouts:
 *
 *   slotted (bit 31 of the u32 set; what this code writes): count = the low 31 bits, then count
 *   records of SLOT_REC bytes in slot order (the order the block made them in):
 *     hash[32] || kind[1] || a[32] || b[32] || va u64 BE || vb u64 BE || sa u32 BE || sb u32 BE
 *   A parent holds its children's slots, so a lookup is one read at slot * SLOT_REC (and a
 *   check of the hash there), where a search of a block's megabytes cost several cache misses.
 *
 *   sorted (bit 31 clear; storage format 4 and older wrote it): count records of SMT_REC bytes
 *   in hash order, hash || kind || a || b || va || vb as above. A node's slot is its place in
 *   that order; a lookup by hash alone interpolates on the hashes' first 8 bytes (block_find).
 *
 * A leaf's va, vb are 0 and its sa, sb NONE.
 */
#define SMT_REC        113
#define SLOT_REC       121
#define SLOTTED        0x80000000u
#define SLOT_BLOCK_MAX ((size_t)(SLOTTED - 1) / SLOT_REC) /* nodes one value holds at most */

static uint32_t u32_be(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void u32_be_put(uint8_t *p, uint32_t v) {
  for (int i = 3; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static void rec_encode(uint8_t *r, const uint8_t hash[32], const struct blok_smt_node *n) {
  bool inner = n->kind == BLOK_SMT_INTERNAL;
  memcpy(r, hash, 32);
  r[32] = n->kind;
  memcpy(r + 33, n->a, 32);
  memcpy(r + 65, n->b, 32);
  blok_store_u64_key(r + 97, inner ? n->va : 0);
  blok_store_u64_key(r + 105, inner ? n->vb : 0);
  u32_be_put(r + 113, inner ? n->sa : BLOK_SMT_SLOT_NONE);
  u32_be_put(r + 117, inner ? n->sb : BLOK_SMT_SLOT_NONE);
}

/* Decodes a record of either layout (slots NONE in a sorted one, which has none). */
static enum blok_err rec_decode(const uint8_t *r, bool slotted, struct blok_smt_node *out) {
  out->kind = r[32];
  if (out->kind != BLOK_SMT_INTERNAL && out->kind != BLOK_SMT_LEAF) return BLOK_EFORMAT;
  memcpy(out->a, r + 33, 32);
  memcpy(out->b, r + 65, 32);
  out->va = blok_store_u64_from_key(r + 97);
  out->vb = blok_store_u64_from_key(r + 105);
  out->sa = slotted ? u32_be(r + 113) : BLOK_SMT_SLOT_NONE;
  out->sb = slotted ? u32_be(r + 117) : BLOK_SMT_SLOT_NONE;
  return BLOK_OK;
}

/* A version's value: its records, how many and how long each is. */
struct node_block {
  const uint8_t *recs;
  size_t n, rec_len;
  bool slotted;
};

static enum blok_err block_parse(const uint8_t *v, size_t len, struct node_block *b) {
  if (len < 4) return BLOK_EFORMAT;
  uint32_t word = blok_u32le_get(v);
  b->slotted = (word & SLOTTED) != 0;
  b->n = b->slotted ? word & ~SLOTTED : word;
  b->rec_len = b->slotted ? SLOT_REC : SMT_REC;
  b->recs = v + 4;
  return (len - 4) / b->rec_len == b->n && (len - 4) % b->rec_len == 0 ? BLOK_OK : BLOK_EFORMAT;
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

/* The record of hash in a version's value: at its slot when that holds it; else found by the
 * hash, by searching a sorted value or reading a slotted one through (which a parent written
 * by this code never asks for: it knows its children's slots). */
static const uint8_t *node_find(const struct node_block *b, uint32_t slot, const uint8_t hash[32]) {
  if (slot < b->n && memcmp(b->recs + (size_t)slot * b->rec_len, hash, 32) == 0)
    return b->recs + (size_t)slot * b->rec_len;
  if (!b->slotted) return block_find(b->recs, b->n, hash);
  for (size_t i = 0; i < b->n; i++)
    if (memcmp(b->recs + i * b->rec_len, hash, 32) == 0) return b->recs + i * b->rec_len;
  return NULL;
}

static enum blok_err smt_get(void *ctx, struct blok_smt_at at, const uint8_t hash[32],
                             struct blok_smt_node *out) {
  struct blok_txn *t = ctx;
  if (t->stage != NULL && at.version == t->stage_version) {
    struct blok_smt_store mem;
    blok_smt_memstore_bind(t->stage, &mem);
    enum blok_err rc = mem.get(mem.ctx, at, hash, out);
    if (rc != BLOK_ENOTFOUND) return rc;
  }
  uint8_t k[8];
  const uint8_t *v;
  size_t len;
  struct node_block b;
  blok_store_u64_key(k, at.version);
  BLOK_TRY(blok_txn_get(t, BLOK_TABLE_SMT, k, sizeof k, &v, &len));
  BLOK_TRY(block_parse(v, len, &b));
  const uint8_t *r = node_find(&b, at.slot, hash);
  return r ? rec_decode(r, b.slotted, out) : BLOK_ENOTFOUND;
}

/* A write transaction's puts go to a memory store of one version, written when it commits:
 * the slots it gives are the ones blok_txn_smt_put_nodes writes them at. */
static enum blok_err smt_put(void *ctx, uint64_t version, const uint8_t hash[32],
                             const struct blok_smt_node *n, uint32_t *slot) {
  struct blok_txn *t = ctx;
  if (t->stage == NULL) {
    BLOK_TRY(blok_smt_memstore_new(&t->stage));
    t->stage_version = version;
  }
  if (version != t->stage_version) return BLOK_EINVAL;
  struct blok_smt_store mem;
  blok_smt_memstore_bind(t->stage, &mem);
  return mem.put(mem.ctx, version, hash, n, slot);
}

struct node_writer {
  uint8_t *w;
  uint64_t version;
  size_t left;
};

static enum blok_err write_rec(void *ctx, uint64_t version, const uint8_t hash[32],
                               const struct blok_smt_node *n) {
  struct node_writer *nw = ctx;
  if (version != nw->version || nw->left == 0) return BLOK_EINVAL;
  rec_encode(nw->w, hash, n);
  nw->w += SLOT_REC;
  nw->left--;
  return BLOK_OK;
}

enum blok_err blok_txn_smt_put_nodes(struct blok_txn *t, uint64_t version,
                                     const struct blok_smt_memstore *m) {
  size_t count = blok_smt_memstore_count(m);
  if (count == 0) return BLOK_OK;
  if (count > SLOT_BLOCK_MAX) return BLOK_ETOOLONG;
  enum blok_err rc;
  uint8_t k[8];
  const uint8_t *old;
  size_t old_len;
  blok_store_u64_key(k, version);
  rc = blok_txn_get(t, BLOK_TABLE_SMT, k, sizeof k, &old, &old_len);
  if (rc == BLOK_OK) return BLOK_EDUPLICATE; /* slots are places in one value: no second one */
  if (rc != BLOK_ENOTFOUND) return rc;
  MDB_val key = {.mv_size = sizeof k, .mv_data = k}, val = {.mv_size = 4 + count * SLOT_REC};
  int mrc = mdb_put(t->txn, dbi_of(t, BLOK_TABLE_SMT), &key, &val, MDB_RESERVE);
  if (mrc != MDB_SUCCESS) return from_mdb(mrc);
  uint8_t *w = val.mv_data;
  blok_u32le_put(w, (uint32_t)count | SLOTTED);
  struct node_writer nw = {.w = w + 4, .version = version, .left = count};
  BLOK_TRY(blok_smt_memstore_foreach(m, write_rec, &nw));
  return nw.left == 0 ? BLOK_OK : BLOK_EINVAL;
}

/* smt.roots: u64 version BE || u32 slot BE; format 4 and older wrote the version alone. */
static enum blok_err smt_root_at(void *ctx, const uint8_t root[32], struct blok_smt_at *at) {
  const uint8_t *v;
  size_t n;
  BLOK_TRY(blok_txn_get(ctx, BLOK_TABLE_SMT_ROOTS, root, 32, &v, &n));
  if (n != 8 && n != 12) return BLOK_EFORMAT;
  at->version = blok_store_u64_from_key(v);
  at->slot = n == 12 ? u32_be(v + 8) : BLOK_SMT_SLOT_NONE;
  return BLOK_OK;
}

void blok_txn_smt_store(struct blok_txn *t, struct blok_smt_store *out) {
  out->ctx = t;
  out->checked = false; /* LMDB has no checksums: the tree checks what it reads */
  out->get = smt_get;
  out->put = smt_put;
  out->root_at = smt_root_at;
}

enum blok_err blok_txn_smt_root(struct blok_txn *t, const uint8_t root[32], struct blok_smt_at at) {
  uint8_t v[12];
  blok_store_u64_key(v, at.version);
  u32_be_put(v + 8, at.slot);
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
