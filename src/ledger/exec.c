/*
 * Block execution (blok/ledger.h). Reads go through three layers: the current transaction's
 * writes, the block's writes, then the committed state in LMDB. A transaction's writes are
 * merged into the block's only when its module applied it; its nonce is used either way.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blok/merkle.h"
#include "blok/sha256.h"
#include "ledger_internal.h"
#include "blok/banned.h"

#define NONCE_PREFIX "nonce/"
/* What an execution keeps of the values it read from the store (blok_exec_get). */
#define READ_CACHE_MAX       4096
#define READ_CACHE_BYTES_MAX ((size_t)4 << 20)

/* Cuts msg back to its longest valid UTF-8 prefix: vsnprintf may cut a character in two, and
 * a reason is stored as text, which must be valid UTF-8. */
static void utf8_trim(char *msg) {
  size_t n = strlen(msg);
  while (n > 0 && !blok_utf8_valid((const uint8_t *)msg, n))
    n--;
  msg[n] = '\0';
}

void blok_why_set(struct blok_why *why, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why->msg, sizeof why->msg, fmt, ap);
  va_end(ap);
  utf8_trim(why->msg);
}

enum blok_err blok_refuse(struct blok_why *why, enum blok_err err, const char *fmt, ...) {
  if (why->msg[0] == '\0') {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->msg, sizeof why->msg, fmt, ap);
    va_end(ap);
    utf8_trim(why->msg);
  }
  return err;
}

enum blok_err blok_state_key(uint8_t out[32], const char *module, const void *key, size_t key_len) {
  uint8_t mem[4 + BLOK_TX_NAME_MAX + 4 + BLOK_STATE_KEY_MAX];
  struct blok_buf b = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  if (key_len == 0) return BLOK_EINVAL;
  BLOK_TRY(blok_enc_text(&b, module, strlen(module), BLOK_TX_NAME_MAX));
  BLOK_TRY(blok_enc_bytes(&b, key, key_len, BLOK_STATE_KEY_MAX));
  blok_sha256(out, b.data, b.len);
  return BLOK_OK;
}

enum blok_err blok_exec_get(struct blok_exec *x, const char *module, const void *key,
                            size_t key_len, const uint8_t **val, size_t *val_len) {
  uint8_t k[32];
  BLOK_TRY(blok_state_key(k, module, key, key_len));
  const struct blok__kv *e = blok__kvmap_get(&x->tx_writes, k);
  for (const struct blok_exec *p = x; e == NULL && p != NULL; p = p->parent)
    e = blok__kvmap_get(&p->block_writes, k);
  if (e != NULL) {
    if (e->deleted) return BLOK_ENOTFOUND;
    *val = e->val;
    *val_len = e->len;
    return BLOK_OK;
  }
  if (x->genesis) return BLOK_ENOTFOUND;
  if (x->orphaned) return BLOK_EINVAL; /* as blok__exec_view: its state is not the store's */
  if ((e = blok__kvmap_get(&x->read_cache, k)) != NULL) {
    *val = e->val;
    *val_len = e->len;
    return BLOK_OK;
  }
  struct blok_txn *t;
  BLOK_TRY(blok__exec_view(x, &t));
  BLOK_TRY(blok_state_get(t, k, val, val_len));
  /* Kept for the block's later reads of it (a member's record, read for each of its
   * transactions). What this execution reads below its parents cannot change while it lives:
   * a commit since moves into the store what an ancestor held, read from it before. */
  if (x->read_cache.count < READ_CACHE_MAX &&
      *val_len <= READ_CACHE_BYTES_MAX - x->read_cache_bytes &&
      blok__kvmap_put(&x->read_cache, k, *val, *val_len, false) == BLOK_OK &&
      (e = blok__kvmap_get(&x->read_cache, k)) != NULL) {
    x->read_cache_bytes += *val_len;
    *val = e->val;
    *val_len = e->len;
  }
  return BLOK_OK;
}

enum blok_err blok_exec_put(struct blok_exec *x, const char *module, const void *key,
                            size_t key_len, const void *val, size_t val_len) {
  uint8_t k[32];
  if (val_len > BLOK_STATE_VALUE_MAX) return BLOK_ETOOLONG;
  BLOK_TRY(blok_state_key(k, module, key, key_len));
  return blok__kvmap_put(&x->tx_writes, k, val, val_len, false);
}

enum blok_err blok_exec_del(struct blok_exec *x, const char *module, const void *key,
                            size_t key_len) {
  uint8_t k[32];
  BLOK_TRY(blok_state_key(k, module, key, key_len));
  return blok__kvmap_put(&x->tx_writes, k, NULL, 0, true);
}

static enum blok_err index_add(struct blok__index_list *l, unsigned table, const void *key,
                               size_t key_len, const void *val, size_t val_len) {
  if (l->count == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    struct blok__index_write *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL) return BLOK_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  struct blok__index_write *w = &l->v[l->count];
  w->key = malloc(key_len);
  w->val = malloc(val_len ? val_len : 1);
  if (w->key == NULL || w->val == NULL) {
    free(w->key);
    free(w->val);
    return BLOK_ENOMEM;
  }
  memcpy(w->key, key, key_len);
  if (val_len) memcpy(w->val, val, val_len);
  w->table = table;
  w->key_len = key_len;
  w->val_len = val_len;
  l->count++;
  return BLOK_OK;
}

void blok__index_list_release(struct blok__index_list *l) {
  for (size_t i = 0; i < l->count; i++) {
    free(l->v[i].key);
    free(l->v[i].val);
  }
  free(l->v);
  memset(l, 0, sizeof *l);
}

static void index_list_clear(struct blok__index_list *l) {
  for (size_t i = 0; i < l->count; i++) {
    free(l->v[i].key);
    free(l->v[i].val);
  }
  l->count = 0;
}

/* Moves every entry of src to the end of dst: the keys and values change owner, not place. */
static enum blok_err index_list_move(struct blok__index_list *dst, struct blok__index_list *src) {
  if (dst->count + src->count > dst->cap) {
    size_t cap = dst->cap ? dst->cap : 16;
    while (cap < dst->count + src->count)
      cap *= 2;
    struct blok__index_write *v = realloc(dst->v, cap * sizeof *v);
    if (v == NULL) {
      index_list_clear(src);
      return BLOK_ENOMEM;
    }
    dst->v = v;
    dst->cap = cap;
  }
  if (src->count > 0) memcpy(dst->v + dst->count, src->v, src->count * sizeof *src->v);
  dst->count += src->count;
  src->count = 0;
  return BLOK_OK;
}

enum blok_err blok__exec_keep_tx_writes(struct blok_exec *x) {
  BLOK_TRY(blok__kvmap_merge(&x->block_writes, &x->tx_writes));
  return index_list_move(&x->block_index, &x->tx_index);
}

enum blok_err blok_exec_index_put(struct blok_exec *x, unsigned table, const void *key,
                                  size_t key_len, const void *val, size_t val_len) {
  if (key_len == 0 || key_len > 511 || val_len > BLOK_STATE_VALUE_MAX) return BLOK_EINVAL;
  return index_add(&x->tx_index, table, key, key_len, val, val_len);
}

uint64_t blok_exec_height(const struct blok_exec *x) {
  return x->h.height;
}

uint32_t blok_exec_tx_position(const struct blok_exec *x) {
  return x->h.tx_count;
}

uint64_t blok_exec_time_ms(const struct blok_exec *x) {
  return x->h.timestamp_ms;
}

static void nonce_key(uint8_t out[6 + 32], const uint8_t sender[32]) {
  memcpy(out, NONCE_PREFIX, 6);
  memcpy(out + 6, sender, 32);
}

enum blok_err blok_exec_next_nonce(struct blok_exec *x, const uint8_t sender[32], uint64_t *out) {
  uint8_t k[38];
  const uint8_t *v;
  size_t n;
  nonce_key(k, sender);
  enum blok_err rc = blok_exec_get(x, BLOK_CORE_MODULE, k, sizeof k, &v, &n);
  if (rc == BLOK_ENOTFOUND) {
    *out = 1;
    return BLOK_OK;
  }
  BLOK_TRY(rc);
  if (n != 8) return BLOK_EFORMAT;
  struct blok_reader r;
  uint64_t last;
  blok_reader_init(&r, v, n);
  BLOK_TRY(blok_dec_u64(&r, &last));
  *out = last + 1;
  return BLOK_OK;
}

/* The checks that decide whether a transaction may be in the block at all. */
static enum blok_err admit(struct blok_exec *x, const struct blok_tx *tx, bool sig_checked,
                           const struct blok_tx_kind **kind, struct blok_why *why) {
  if (strcmp(tx->chain_id, x->h.chain_id) != 0)
    return blok_refuse(why, BLOK_EBADTAG, "transaction is for chain %s, this is %s", tx->chain_id,
                       x->h.chain_id);
  if (tx->expiry_height < x->h.height)
    return blok_refuse(why, BLOK_EEXPIRED, "expired at height %llu, the block is at %llu",
                       (unsigned long long)tx->expiry_height, (unsigned long long)x->h.height);
  const struct blok_module *m;
  *kind = blok_registry_kind(x->l->reg, tx->module, tx->type, &m);
  if (*kind == NULL)
    return blok_refuse(why, BLOK_EUNKNOWNKIND, "no transaction kind %s/%s", tx->module, tx->type);
  BLOK_TRY(blok_kind_check((*kind), tx->payload, tx->payload_len, why));
  if (!sig_checked) {
    enum blok_err rc = blok_tx_verify(tx);
    if (rc != BLOK_OK) return blok_refuse(why, rc, "signature: %s", blok_strerror(rc));
  }
  uint64_t next;
  BLOK_TRY(blok_exec_next_nonce(x, tx->sender, &next));
  if (tx->nonce < next)
    return blok_refuse(why, BLOK_ESTALE, "nonce %llu already used; next is %llu",
                       (unsigned long long)tx->nonce, (unsigned long long)next);
  if (tx->nonce > next)
    return blok_refuse(why, BLOK_EGAP, "nonce %llu leaves a gap; next is %llu",
                       (unsigned long long)tx->nonce, (unsigned long long)next);
  if (x->l->reg->authorize == NULL)
    return blok_refuse(why, BLOK_ENOTPERMITTED, "no authorizer registered");
  BLOK_TRY(x->l->reg->authorize(x, tx, *kind, why));
  if (x->h.tx_count >= BLOK_BLOCK_TXS_MAX ||
      x->body.len + 4 + tx->raw_len > BLOK_BLOCK_BYTES_MAX - BLOK_HEADER_ENCODED_MAX)
    return blok_refuse(why, BLOK_EFULL, "block is full");
  return BLOK_OK;
}

static enum blok_err use_nonce(struct blok_exec *x, const struct blok_tx *tx) {
  uint8_t k[38], v[8];
  nonce_key(k, tx->sender);
  struct blok_buf b = {.data = v, .cap = 8, .size_bytes_max = 8};
  BLOK_TRY(blok_enc_u64(&b, tx->nonce));
  uint8_t tk[32];
  BLOK_TRY(blok_state_key(tk, BLOK_CORE_MODULE, k, sizeof k));
  return blok__kvmap_put(&x->block_writes, tk, v, 8, false);
}

static enum blok_err record(struct blok_exec *x, const struct blok_tx *tx,
                            const struct blok_tx_result *res) {
  if (x->h.tx_count == x->result_cap) {
    size_t cap = x->result_cap ? x->result_cap * 2 : 64;
    struct blok__result *v = realloc(x->results, cap * sizeof *v);
    if (v == NULL) return BLOK_ENOMEM;
    x->results = v;
    x->result_cap = cap;
  }
  BLOK_TRY(blok_enc_bytes(&x->body, tx->raw, tx->raw_len, BLOK_TX_ENCODED_MAX));
  memcpy(x->results[x->h.tx_count].id, tx->id, 32);
  x->results[x->h.tx_count].r = *res;
  x->h.tx_count++;
  return BLOK_OK;
}

enum blok_err blok_exec_tx(struct blok_exec *x, const struct blok_tx *tx, bool sig_checked,
                           struct blok_tx_result *result, struct blok_why *why) {
  BLOK_ASSERT(!x->finished && x->tx_writes.count == 0 && x->tx_index.count == 0);
  const struct blok_tx_kind *kind = NULL;
  why->msg[0] = '\0';
  BLOK_TRY(admit(x, tx, sig_checked, &kind, why));
  struct blok_why apply_why = {{0}};
  enum blok_err rc = kind->apply(x, tx, &apply_why);
  if (rc == BLOK_ENOMEM || rc == BLOK_ESTORE || rc == BLOK_EIO) {
    /* Not a verdict on the transaction: the node failed. Leave the block as it was. */
    blok__kvmap_clear(&x->tx_writes);
    index_list_clear(&x->tx_index);
    return blok_refuse(why, rc, "node error while applying: %s", blok_strerror(rc));
  }
  memset(result, 0, sizeof *result);
  result->code = rc;
  if (rc == BLOK_OK) {
    BLOK_TRY(blok__exec_keep_tx_writes(x));
  } else {
    snprintf(result->msg, sizeof result->msg, "%s",
             apply_why.msg[0] ? apply_why.msg : blok_strerror(rc));
    utf8_trim(result->msg);
    blok__kvmap_clear(&x->tx_writes);
    index_list_clear(&x->tx_index);
  }
  BLOK_TRY(use_nonce(x, tx));
  return record(x, tx, result);
}

size_t blok_exec_tx_count(const struct blok_exec *x) {
  return x->h.tx_count;
}

const uint8_t *blok_exec_tx_id(const struct blok_exec *x, size_t i) {
  BLOK_ASSERT(i < x->h.tx_count);
  return x->results[i].id;
}

size_t blok_exec_failed_count(const struct blok_exec *x) {
  size_t failed = 0;
  for (size_t i = 0; i < x->h.tx_count; i++)
    failed += x->results[i].r.code != BLOK_OK;
  return failed;
}

/* State-tree nodes: this block's and its uncommitted ancestors' in memory, older ones in
 * LMDB. A node's version is the height of the block that wrote it (a node is never written
 * again under another: a hoisted leaf keeps its version), so only that block's memory store
 * can hold it, at the slot it gave (the one the commit writes it at); heights fall along the
 * chain. */
static enum blok_err layered_get(void *ctx, struct blok_smt_at at, const uint8_t hash[32],
                                 struct blok_smt_node *out) {
  struct blok_exec *x = ctx;
  for (const struct blok_exec *p = x; p != NULL && p->h.height >= at.version; p = p->parent) {
    if (p->h.height != at.version) continue;
    struct blok_smt_store mem;
    blok_smt_memstore_bind(p->smt_new, &mem);
    enum blok_err rc = mem.get(mem.ctx, at, hash, out);
    if (rc != BLOK_ENOTFOUND) return rc;
  }
  struct blok_txn *t;
  struct blok_smt_store disk;
  BLOK_TRY(blok__exec_view(x, &t));
  blok_txn_smt_store(t, &disk);
  BLOK_TRY(disk.get(disk.ctx, at, hash, out));
  return blok_smt_node_check(hash, out); /* only what comes from disk needs it */
}

static enum blok_err layered_put(void *ctx, uint64_t version, const uint8_t hash[32],
                                 const struct blok_smt_node *n, uint32_t *slot) {
  struct blok_exec *x = ctx;
  struct blok_smt_store mem;
  blok_smt_memstore_bind(x->smt_new, &mem);
  return mem.put(mem.ctx, version, hash, n, slot);
}

/* The parent's root: in memory (an uncommitted ancestor wrote it), or committed, with where it
 * is recorded. */
static enum blok_err layered_root_at(void *ctx, const uint8_t root[32], struct blok_smt_at *at) {
  struct blok_exec *x = ctx;
  for (const struct blok_exec *p = x->parent; p != NULL; p = p->parent)
    if (memcmp(p->h.state_root, root, 32) == 0) {
      *at = p->root_at;
      return BLOK_OK;
    }
  struct blok_txn *t;
  struct blok_smt_store disk;
  BLOK_TRY(blok__exec_view(x, &t));
  blok_txn_smt_store(t, &disk);
  return disk.root_at(disk.ctx, root, at);
}

static enum blok_err state_root(struct blok_exec *x, const uint8_t parent_root[32]) {
  const struct blok__kv **sorted;
  BLOK_TRY(blok__kvmap_sorted(&x->block_writes, &sorted));
  size_t n = x->block_writes.count;
  struct blok_smt_write *w = n ? calloc(n, sizeof *w) : NULL;
  if (n && w == NULL) {
    free(sorted);
    return BLOK_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    memcpy(w[i].key, sorted[i]->key, 32);
    w[i].del = sorted[i]->deleted;
    if (!w[i].del) blok_sha256(w[i].value_hash, sorted[i]->val, sorted[i]->len);
  }
  struct blok_smt_store s = {.ctx = x,
                             .checked = true, /* layered_get checks what it reads from disk */
                             .get = layered_get,
                             .put = layered_put,
                             .root_at = layered_root_at};
  enum blok_err rc =
      blok_smt_update(&s, parent_root, w, n, x->h.height, x->h.state_root, &x->root_at);
  free(w);
  free(sorted);
  return rc;
}

/* RFC 9162 roots over the transaction ids and over id || u32 code. */
static enum blok_err result_roots(struct blok_exec *x) {
  size_t n = x->h.tx_count;
  uint8_t *leaves = malloc((n ? n : 1) * 32);
  if (leaves == NULL) return BLOK_ENOMEM;
  for (size_t i = 0; i < n; i++)
    blok_merkle_leaf_hash(leaves + 32 * i, x->results[i].id, 32);
  blok_merkle_root(x->h.tx_root, leaves, n);
  for (size_t i = 0; i < n; i++) {
    uint8_t leaf[36];
    memcpy(leaf, x->results[i].id, 32);
    blok_u32le_put(leaf + 32, (uint32_t)x->results[i].r.code);
    blok_merkle_leaf_hash(leaves + 32 * i, leaf, sizeof leaf);
  }
  blok_merkle_root(x->h.results_root, leaves, n);
  free(leaves);
  return BLOK_OK;
}

enum blok_err blok_exec_finish(struct blok_exec *x, struct blok_header *out) {
  BLOK_ASSERT(!x->finished);
  if (x->orphaned) return BLOK_EINVAL;
  BLOK_TRY(state_root(x, x->base_root));
  BLOK_TRY(result_roots(x));
  memcpy(x->h.validators_hash, x->l->validators_hash, 32);
  BLOK_TRY(blok_header_hash(&x->h, x->hash));
  x->finished = true;
  *out = x->h;
  return BLOK_OK;
}

void blok_exec_hash(const struct blok_exec *x, uint8_t out[32]) {
  BLOK_ASSERT(x->finished);
  memcpy(out, x->hash, 32);
}

void blok_exec_header(const struct blok_exec *x, struct blok_header *out) {
  BLOK_ASSERT(x->finished);
  *out = x->h;
}

enum blok_err blok__exec_view(struct blok_exec *x, struct blok_txn **t) {
  if (x->orphaned) return BLOK_EINVAL;
  if (x->rtxn == NULL) BLOK_TRY(blok_store_read_begin(x->l->store, &x->rtxn));
  *t = x->rtxn;
  return BLOK_OK;
}

void blok__exec_close_views(struct blok_ledger *l) {
  for (struct blok_exec *e = l->live; e != NULL; e = e->live_next) {
    blok_store_read_end(e->rtxn);
    e->rtxn = NULL;
  }
}

void blok__exec_committed(struct blok_exec *x) {
  x->committed = true;
  for (struct blok_exec *e = x->l->live; e != NULL; e = e->live_next)
    if (e->parent == x) e->parent = NULL;
}

/* Executions built on x, directly or not, can no longer be committed: x never will be. */
static void orphan_children(struct blok_exec *x) {
  for (struct blok_exec *e = x->l->live; e != NULL; e = e->live_next)
    if (e->parent == x) {
      e->parent = NULL;
      e->orphaned = true;
      orphan_children(e);
    }
}

void blok_exec_free(struct blok_exec *x) {
  if (x == NULL) return;
  if (!x->committed) orphan_children(x);
  if (x->live_prev)
    x->live_prev->live_next = x->live_next;
  else if (x->l->live == x)
    x->l->live = x->live_next;
  if (x->live_next) x->live_next->live_prev = x->live_prev;
  blok_store_read_end(x->rtxn);
  blok__kvmap_release(&x->block_writes);
  blok__kvmap_release(&x->tx_writes);
  blok__kvmap_release(&x->read_cache);
  blok__index_list_release(&x->block_index);
  blok__index_list_release(&x->tx_index);
  blok_buf_release(&x->body);
  free(x->results);
  if (x->smt_new && x->l->spare_smt_count < BLOK__SPARE_SMT) {
    blok_smt_memstore_clear(x->smt_new);
    x->l->spare_smt[x->l->spare_smt_count++] = x->smt_new;
  } else {
    blok_smt_memstore_free(x->smt_new);
  }
  free(x);
}

enum blok_err blok__exec_new(struct blok_ledger *l, struct blok_exec **out) {
  struct blok_exec *x = calloc(1, sizeof *x);
  if (x == NULL) return BLOK_ENOMEM;
  x->l = l;
  blok__kvmap_init(&x->block_writes);
  blok__kvmap_init(&x->tx_writes);
  blok__kvmap_init(&x->read_cache);
  blok_buf_init(&x->body, BLOK_BLOCK_BYTES_MAX);
  x->live_next = l->live;
  if (l->live) l->live->live_prev = x;
  l->live = x;
  enum blok_err rc = BLOK_OK;
  if (l->spare_smt_count > 0)
    x->smt_new = l->spare_smt[--l->spare_smt_count];
  else
    rc = blok_smt_memstore_new(&x->smt_new);
  if (rc != BLOK_OK) {
    blok_exec_free(x);
    return rc;
  }
  x->h.version = BLOK_BLOCK_VERSION;
  memcpy(x->h.chain_id, l->g->chain_id, sizeof x->h.chain_id);
  *out = x;
  return BLOK_OK;
}

enum blok_err blok_exec_begin_on(struct blok_ledger *l, struct blok_exec *parent,
                                 uint64_t timestamp_ms, const uint8_t proposer[32], uint64_t round,
                                 struct blok_exec **out) {
  struct blok_header ph;
  uint8_t phash[32];
  blok_ledger_head(l, &ph, phash);
  if (parent != NULL) {
    if (!parent->finished || parent->orphaned || parent->l != l) return BLOK_EINVAL;
    /* A committed parent must be the head: reads go to the store, which is at the head. */
    if (parent->committed && memcmp(parent->hash, phash, 32) != 0) return BLOK_EINVAL;
    ph = parent->h;
    memcpy(phash, parent->hash, 32);
    if (parent->committed) parent = NULL;
  }
  /* The uncommitted chain must start on the head: a block on a branch that lost to another
   * one committed since would read a state that is not its own. */
  const struct blok_exec *root = parent;
  while (root != NULL && root->parent != NULL)
    root = root->parent;
  if (root != NULL) {
    uint8_t head[32];
    blok_ledger_head(l, NULL, head);
    if (memcmp(root->h.parent, head, 32) != 0) return BLOK_EINVAL;
  }
  if (timestamp_ms <= ph.timestamp_ms) return BLOK_EINVAL;
  struct blok_exec *x;
  BLOK_TRY(blok__exec_new(l, &x));
  x->parent = parent;
  memcpy(x->base_root, ph.state_root, 32);
  x->h.height = ph.height + 1;
  x->h.epoch = ph.epoch;
  x->h.round = round;
  memcpy(x->h.parent, phash, 32);
  x->h.timestamp_ms = timestamp_ms;
  memcpy(x->h.proposer, proposer, 32);
  *out = x;
  return BLOK_OK;
}

enum blok_err blok_exec_begin(struct blok_ledger *l, uint64_t timestamp_ms,
                              const uint8_t proposer[32], uint64_t round, struct blok_exec **out) {
  return blok_exec_begin_on(l, NULL, timestamp_ms, proposer, round, out);
}
