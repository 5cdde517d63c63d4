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
    "meta", "blocks", "txidx", "smt", "state", "qc", "blockhash", "smt.roots"};

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

/* The SMT table's key: the version, big-endian so that one block's nodes sit together, then
 * the hash. */
static void smt_key(uint8_t k[40], uint64_t version, const uint8_t hash[32]) {
  blok_store_u64_key(k, version);
  memcpy(k + 8, hash, 32);
}

static enum blok_err smt_get(void *ctx, uint64_t version, const uint8_t hash[32],
                             struct blok_smt_node *out) {
  const uint8_t *v;
  size_t n;
  uint8_t k[40];
  smt_key(k, version, hash);
  BLOK_TRY(blok_txn_get(ctx, BLOK_TABLE_SMT, k, sizeof k, &v, &n));
  if (n == 0) return BLOK_EFORMAT;
  out->kind = v[0];
  if (n != (out->kind == BLOK_SMT_INTERNAL ? BLOK_SMT_INTERNAL_LEN : BLOK_SMT_LEAF_LEN))
    return BLOK_EFORMAT;
  memcpy(out->a, v + 1, 32);
  memcpy(out->b, v + 33, 32);
  out->va = out->vb = 0;
  if (out->kind == BLOK_SMT_INTERNAL) {
    out->va = blok_store_u64_from_key(v + 65);
    out->vb = blok_store_u64_from_key(v + 73);
  }
  return BLOK_OK;
}

static enum blok_err smt_put(void *ctx, uint64_t version, const uint8_t hash[32],
                             const struct blok_smt_node *n) {
  struct blok_txn *t = ctx;
  uint8_t v[BLOK_SMT_INTERNAL_LEN], k[40];
  v[0] = n->kind;
  memcpy(v + 1, n->a, 32);
  memcpy(v + 33, n->b, 32);
  size_t len = BLOK_SMT_LEAF_LEN;
  if (n->kind == BLOK_SMT_INTERNAL) {
    blok_store_u64_key(v + 65, n->va);
    blok_store_u64_key(v + 73, n->vb);
    len = BLOK_SMT_INTERNAL_LEN;
  }
  smt_key(k, version, hash);
  MDB_val key = {.mv_size = sizeof k, .mv_data = k};
  MDB_val val = {.mv_size = len, .mv_data = v};
  /* A block's nodes come in key order, after every older version's: appended, without a
   * search. A key that does not sort last (a rewrite, or another caller) takes the usual way. */
  int rc = mdb_put(t->txn, dbi_of(t, BLOK_TABLE_SMT), &key, &val, MDB_APPEND);
  if (rc == MDB_KEYEXIST)
    rc = mdb_put(t->txn, dbi_of(t, BLOK_TABLE_SMT), &key, &val, MDB_NOOVERWRITE);
  return rc == MDB_KEYEXIST ? BLOK_OK : from_mdb(rc); /* content-addressed: same node */
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
