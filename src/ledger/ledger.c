/*
 * Opening the ledger, committing blocks, and the reads of committed data (blok/ledger.h).
 *
 * Storage layout (docs/PROTOCOL.md, "Storage"): blocks by height, certificates by height,
 * heights by block hash, transaction locations and results by id, state values by tree key,
 * state-tree nodes by (version, hash) and roots' versions, and the head's height and the
 * storage format in meta. A commit writes all of a block's
 * entries in one LMDB transaction, so after a crash the store holds whole blocks only.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/merkle.h"
#include "blok/sha256.h"
#include "ledger_internal.h"
#include "blok/banned.h"

#define META_HEAD   "head"
#define META_FORMAT "format"
/* The storage layout's version (docs/PROTOCOL.md, "Storage"); 2: state-tree nodes by
 * (version, hash); 3: a version's nodes in one value; 4: the transaction index in two levels;
 * 5: a version's nodes in slot order, each parent holding its children's slots; 6: the state
 * values in two levels. Format 6 still reads what 3 to 5 wrote (sorted values, a root's version
 * alone, no txidx or state runs), so a folder of format 3, 4 or 5 is marked 6 when opened; one
 * of another format is refused, not misread. */
#define STORE_FORMAT    6
#define TXIDX_VALUE_MAX (8 + 4 + 4 + 4 + BLOK_WHY_MAX)
/*
 * The transaction index and the state values in two levels (docs/PROTOCOL.md, "Storage"). A
 * commit writes its block's txidx entries as one value of txidx.recent and its state writes as
 * one value of state.recent, each a run: one put, in consecutive pages. Every RUNS_MERGE_EVERY
 * heights the runs move into txidx and state, keyed by id (a transaction's, a state-tree
 * key), in id order, in that commit's transaction. Ids are uniform, so a put by id for each
 * of a block's entries rewrote most of the table's leaf pages on every block: four validators
 * with 2,000 transactions in flight committed 8% more without txidx's (docs/BENCHMARKS.md), and
 * state's were most of the bytes a block wrote. A lookup searches the runs, newest first, then
 * the table: at most RUNS_MERGE_EVERY runs of each wait at any time.
 *
 * A run: u32 count (little-endian), count records of RUN_REC bytes in ascending id order
 * (id[32], then the offset and the length of its entry, u32 little-endian), then the entries
 * (each the bytes the table holds for that id), the offsets counted from the first entry. In a
 * state run, offset 0 with length RUN_DELETED says the block deleted the key.
 */
#define RUNS_MERGE_EVERY    16
#define RUN_REC             40
#define RUN_DELETED         UINT32_MAX
#define STATE_RUN_COUNT_MAX ((size_t)1 << 24) /* more keys than a block's bytes can write */

enum blok_err blok_block_parse(struct blok_block_view *v, const uint8_t *block, size_t len) {
  struct blok_reader r;
  size_t count;
  blok_reader_init(&r, block, len);
  BLOK_TRY(blok_header_decode(&r, &v->header));
  BLOK_TRY(blok_dec_count(&r, &count, BLOK_BLOCK_TXS_MAX));
  if (count != v->header.tx_count) return BLOK_EFORMAT;
  for (size_t i = 0; i < count; i++)
    BLOK_TRY(blok_dec_bytes(&r, &v->txs[i], &v->tx_lens[i], BLOK_TX_ENCODED_MAX));
  v->tx_count = count;
  return blok_dec_end(&r);
}

/* What one commit writes; the write function may run more than once (map growth). */
struct commit {
  struct blok_exec *x;
  const struct blok_qc *qc;
  uint8_t hash[32];
  struct blok_buf block; /* header || list of transactions */
};

/* The block's new state-tree nodes, in one value (blok_txn_smt_put_nodes), and where the new
 * root is. */
static enum blok_err write_nodes(struct blok_txn *t, struct blok_exec *x) {
  BLOK_TRY(blok_txn_smt_put_nodes(t, x->h.height, x->smt_new));
  if (memcmp(x->h.state_root, x->base_root, 32) == 0 ||
      memcmp(x->h.state_root, blok_smt_empty_root, 32) == 0)
    return BLOK_OK;
  return blok_txn_smt_root(t, x->h.state_root, x->root_at);
}

/* What differs between the two kinds of runs. */
struct run_kind {
  unsigned runs, main; /* the tables: the runs by height, and what they merge into */
  size_t count_max, entry_max;
  bool deletions; /* an entry may say "deleted" (RUN_DELETED) */
};

static const struct run_kind TXIDX_RUNS = {
    BLOK_TABLE_TXRUN, BLOK_TABLE_TXIDX, BLOK_BLOCK_TXS_MAX, TXIDX_VALUE_MAX, false};
static const struct run_kind STATE_RUNS = {
    BLOK_TABLE_STATERUN, BLOK_TABLE_STATE, STATE_RUN_COUNT_MAX, BLOK_STATE_VALUE_MAX, true};

/* A run's record count, checked against its length. */
static enum blok_err run_count(const struct run_kind *k, const uint8_t *v, size_t len,
                               size_t *count) {
  if (len < 4) return BLOK_EFORMAT;
  size_t n = blok_u32le_get(v);
  if (n == 0 || n > k->count_max || len - 4 < n * RUN_REC) return BLOK_EFORMAT;
  *count = n;
  return BLOK_OK;
}

static const uint8_t *run_id(const uint8_t *v, size_t i) {
  return v + 4 + i * RUN_REC;
}

/* The entry of record i of a run of n records; *deleted when it says the key was deleted. */
static enum blok_err run_entry(const struct run_kind *k, const uint8_t *v, size_t len, size_t n,
                               size_t i, const uint8_t **entry, size_t *entry_len,
                               bool *deleted) {
  const uint8_t *r = run_id(v, i);
  size_t base = 4 + n * RUN_REC, off = blok_u32le_get(r + 32), elen = blok_u32le_get(r + 36);
  *deleted = k->deletions && elen == RUN_DELETED && off == 0;
  if (*deleted) {
    *entry = NULL;
    *entry_len = 0;
    return BLOK_OK;
  }
  if (elen > k->entry_max || off > len - base || elen > len - base - off) return BLOK_EFORMAT;
  *entry = v + base + off;
  *entry_len = elen;
  return BLOK_OK;
}

/* Record i of a run, or BLOK_ENOTFOUND. */
static enum blok_err run_find(const uint8_t *v, size_t n, const uint8_t id[32], size_t *i) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (memcmp(run_id(v, mid), id, 32) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == n || memcmp(run_id(v, lo), id, 32) != 0) return BLOK_ENOTFOUND;
  *i = lo;
  return BLOK_OK;
}

static enum blok_err txidx_entry(struct blok_buf *b, uint64_t height, uint32_t position,
                                 const struct blok_tx_result *r) {
  BLOK_TRY(blok_enc_u64(b, height));
  BLOK_TRY(blok_enc_u32(b, position));
  BLOK_TRY(blok_enc_u32(b, (uint32_t)r->code));
  return blok_enc_text(b, r->msg, strlen(r->msg), BLOK_WHY_MAX);
}

struct run_ref {
  const uint8_t *id, *entry;
  size_t len;
  bool deleted;
  uint64_t height;
  size_t at;  /* its order among those being merged, or given to put_run */
  size_t off; /* put_run: where its entry goes among the entries */
};

/* By id, then height, then place: the newest entry of an id comes last. */
static int ref_by_id(const void *a, const void *b) {
  const struct run_ref *x = a, *y = b;
  int c = memcmp(x->id, y->id, 32);
  if (c != 0) return c;
  if (x->height != y->height) return x->height < y->height ? -1 : 1;
  return (x->at > y->at) - (x->at < y->at);
}

/* The run of the n entries refs name as height's value of k's runs table: the records in id
 * order, the entries in the order given. Sorts refs by id. A state run has one entry per key
 * (the block's writes are a map); ids are unique in a chain, so a txidx run has one per id. */
static enum blok_err put_run(struct blok_txn *t, const struct run_kind *k, uint64_t height,
                             struct run_ref *refs, size_t n) {
  BLOK_ASSERT(n > 0 && n <= k->count_max);
  size_t bytes = 4 + n * RUN_REC, entries = 0;
  for (size_t i = 0; i < n; i++) { /* the entries go in the order given */
    refs[i].off = entries;
    if (!refs[i].deleted) entries += refs[i].len;
  }
  if (entries > UINT32_MAX - bytes) return BLOK_ETOOLONG; /* offsets are u32 */
  bytes += entries;
  bool in_order = true; /* a state run's refs come sorted */
  for (size_t i = 1; i < n && in_order; i++) in_order = ref_by_id(&refs[i - 1], &refs[i]) < 0;
  if (!in_order) qsort(refs, n, sizeof *refs, ref_by_id);
  struct blok_buf run;
  blok_buf_init(&run, bytes);
  enum blok_err rc = blok_buf_reserve(&run, bytes);
  if (rc == BLOK_OK) {
    blok_u32le_put(run.data, (uint32_t)n);
    uint8_t *base = run.data + 4 + n * RUN_REC;
    for (size_t i = 0; i < n; i++) {
      uint8_t *r = run.data + 4 + i * RUN_REC;
      memcpy(r, refs[i].id, 32);
      blok_u32le_put(r + 32, refs[i].deleted ? 0 : (uint32_t)refs[i].off);
      blok_u32le_put(r + 36, refs[i].deleted ? RUN_DELETED : (uint32_t)refs[i].len);
      if (!refs[i].deleted && refs[i].len) memcpy(base + refs[i].off, refs[i].entry, refs[i].len);
    }
    run.len = bytes;
    uint8_t hk[8];
    blok_store_u64_key(hk, height);
    rc = blok_txn_put(t, k->runs, hk, 8, run.data, run.len);
  }
  blok_buf_release(&run);
  return rc;
}

/* Every run of k into its main table, in id order, and out of the runs table; where runs hold
 * one id more than once, the newest entry is the one that stays. The runs are copied first:
 * puts in the same transaction may move the pages their bytes are in. */
static enum blok_err merge_runs(struct blok_txn *t, const struct run_kind *k) {
  struct blok_buf all;
  blok_buf_init(&all, SIZE_MAX);
  size_t runs = 0, total = 0;
  struct blok_cursor *c;
  struct blok_kv kv;
  static const uint8_t first[8];
  BLOK_TRY(blok_cursor_open(t, k->runs, &c));
  enum blok_err rc = blok_cursor_seek(c, first, sizeof first, &kv);
  while (rc == BLOK_OK) { /* each run as: u64 height, u64 length, the value */
    size_t n;
    uint8_t head[16];
    rc = kv.key_len == 8 ? run_count(k, kv.val, kv.val_len, &n) : BLOK_EFORMAT;
    if (rc != BLOK_OK) break;
    memcpy(head, kv.key, 8);
    blok_store_u64_key(head + 8, kv.val_len);
    rc = blok_buf_append(&all, head, sizeof head);
    if (rc == BLOK_OK) rc = blok_buf_append(&all, kv.val, kv.val_len);
    runs++;
    total += n;
    if (rc == BLOK_OK) rc = blok_cursor_next(c, &kv);
  }
  blok_cursor_close(c);
  if (rc == BLOK_ENOTFOUND) rc = BLOK_OK;
  struct run_ref *refs = NULL;
  if (rc == BLOK_OK && total > 0)
    rc = (refs = malloc(total * sizeof *refs)) ? BLOK_OK : BLOK_ENOMEM;
  size_t at = 0;
  for (size_t off = 0, r = 0; rc == BLOK_OK && r < runs; r++) {
    uint64_t height = blok_store_u64_from_key(all.data + off);
    size_t len = (size_t)blok_store_u64_from_key(all.data + off + 8), n;
    const uint8_t *v = all.data + off + 16;
    rc = run_count(k, v, len, &n);
    for (size_t i = 0; rc == BLOK_OK && i < n; i++, at++) {
      refs[at].id = run_id(v, i);
      refs[at].height = height;
      refs[at].at = at;
      rc = run_entry(k, v, len, n, i, &refs[at].entry, &refs[at].len, &refs[at].deleted);
    }
    off += 16 + len;
  }
  if (rc == BLOK_OK && total > 0) qsort(refs, total, sizeof *refs, ref_by_id);
  for (size_t i = 0; rc == BLOK_OK && i < total; i++) {
    if (i + 1 < total && memcmp(refs[i].id, refs[i + 1].id, 32) == 0) continue; /* not newest */
    rc = refs[i].deleted ? blok_txn_del(t, k->main, refs[i].id, 32)
                         : blok_txn_put(t, k->main, refs[i].id, 32, refs[i].entry, refs[i].len);
  }
  for (size_t off = 0, r = 0; rc == BLOK_OK && r < runs; r++) {
    rc = blok_txn_del(t, k->runs, all.data + off, 8);
    off += 16 + (size_t)blok_store_u64_from_key(all.data + off + 8);
  }
  free(refs);
  blok_buf_release(&all);
  return rc;
}

/* The entry of id: in k's runs, newest first, then in k's main table. */
static enum blok_err find_entry(struct blok_txn *t, const struct run_kind *k, const uint8_t id[32],
                                const uint8_t **v, size_t *len) {
  struct blok_cursor *c;
  struct blok_kv kv;
  BLOK_TRY(blok_cursor_open(t, k->runs, &c));
  enum blok_err rc = blok_cursor_last(c, &kv);
  bool found = false, deleted = false;
  while (rc == BLOK_OK && !found) {
    size_t n, i;
    rc = run_count(k, kv.val, kv.val_len, &n);
    if (rc != BLOK_OK) break;
    rc = run_find(kv.val, n, id, &i);
    if (rc == BLOK_OK) {
      found = true;
      rc = run_entry(k, kv.val, kv.val_len, n, i, v, len, &deleted);
    } else if (rc == BLOK_ENOTFOUND) {
      rc = blok_cursor_prev(c, &kv);
    }
  }
  blok_cursor_close(c);
  if (found && rc == BLOK_OK && deleted) return BLOK_ENOTFOUND;
  if (found || rc != BLOK_ENOTFOUND) return rc;
  return blok_txn_get(t, k->main, id, 32, v, len);
}

enum blok_err blok_state_get(struct blok_txn *t, const uint8_t key[32], const uint8_t **val,
                             size_t *val_len) {
  return find_entry(t, &STATE_RUNS, key, val, val_len);
}

/* The block's state writes as its run, its index writes as puts. */
static enum blok_err write_state(struct blok_txn *t, struct blok_exec *x) {
  BLOK_TRY(write_nodes(t, x));
  size_t n = x->block_writes.count;
  if (n > STATE_RUN_COUNT_MAX) return BLOK_ETOOLONG;
  const struct blok__kv **sorted = NULL;
  struct run_ref *refs = NULL;
  enum blok_err rc = BLOK_OK;
  if (n > 0) {
    rc = blok__kvmap_sorted(&x->block_writes, &sorted);
    if (rc == BLOK_OK) rc = (refs = malloc(n * sizeof *refs)) ? BLOK_OK : BLOK_ENOMEM;
  }
  for (size_t i = 0; rc == BLOK_OK && i < n; i++)
    refs[i] = (struct run_ref){.id = sorted[i]->key,
                               .entry = sorted[i]->val,
                               .len = sorted[i]->len,
                               .deleted = sorted[i]->deleted,
                               .at = i};
  if (rc == BLOK_OK && n > 0) rc = put_run(t, &STATE_RUNS, x->h.height, refs, n);
  free(refs);
  free(sorted);
  BLOK_TRY(rc);
  for (size_t i = 0; i < x->block_index.count; i++) {
    const struct blok__index_write *w = &x->block_index.v[i];
    BLOK_TRY(blok_txn_put(t, w->table, w->key, w->key_len, w->val, w->val_len));
  }
  return BLOK_OK;
}

/* The block's txidx entries as its run. */
static enum blok_err put_txidx_run(struct blok_txn *t, const struct blok_exec *x) {
  size_t n = x->h.tx_count;
  struct blok_buf entries;
  blok_buf_init(&entries, n * TXIDX_VALUE_MAX);
  struct run_ref *refs = malloc(n * sizeof *refs);
  /* reserved whole, so the entries do not move while the refs point into them */
  enum blok_err rc = refs ? blok_buf_reserve(&entries, n * TXIDX_VALUE_MAX) : BLOK_ENOMEM;
  for (size_t i = 0; rc == BLOK_OK && i < n; i++) {
    size_t off = entries.len;
    rc = txidx_entry(&entries, x->h.height, (uint32_t)i, &x->results[i].r);
    refs[i] = (struct run_ref){
        .id = x->results[i].id, .entry = entries.data + off, .len = entries.len - off, .at = i};
  }
  if (rc == BLOK_OK) rc = put_run(t, &TXIDX_RUNS, x->h.height, refs, n);
  free(refs);
  blok_buf_release(&entries);
  return rc;
}

/* The runs, and every RUNS_MERGE_EVERY heights their merge. */
static enum blok_err write_runs(struct blok_txn *t, struct blok_exec *x) {
  if (x->h.tx_count > 0) BLOK_TRY(put_txidx_run(t, x));
  if (x->h.height % RUNS_MERGE_EVERY != 0) return BLOK_OK;
  BLOK_TRY(merge_runs(t, &TXIDX_RUNS));
  return merge_runs(t, &STATE_RUNS);
}

static enum blok_err commit_fn(struct blok_txn *t, void *arg) {
  struct commit *c = arg;
  struct blok_exec *x = c->x;
  uint8_t hk[8];
  blok_store_u64_key(hk, x->h.height);
  BLOK_TRY(write_state(t, x));
  BLOK_TRY(write_runs(t, x));
  BLOK_TRY(blok_txn_put(t, BLOK_TABLE_BLOCKS, hk, 8, c->block.data, c->block.len));
  BLOK_TRY(blok_txn_put(t, BLOK_TABLE_BLOCKHASH, c->hash, 32, hk, 8));
  if (x->h.height == 0) {
    uint8_t f = STORE_FORMAT;
    BLOK_TRY(blok_txn_put(t, BLOK_TABLE_META, META_FORMAT, strlen(META_FORMAT), &f, 1));
  }
  if (c->qc) {
    uint8_t mem[64 + 2 + 32 + 4 + BLOK_VALIDATORS_MAX * 64];
    struct blok_buf b = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
    BLOK_TRY(blok_qc_encode(&b, c->qc));
    BLOK_TRY(blok_txn_put(t, BLOK_TABLE_QC, hk, 8, b.data, b.len));
  }
  return blok_txn_put(t, BLOK_TABLE_META, META_HEAD, strlen(META_HEAD), hk, 8);
}

enum blok_err blok_exec_encode(const struct blok_exec *x, struct blok_buf *out) {
  BLOK_ASSERT(x->finished);
  BLOK_TRY(blok_header_encode(out, &x->h));
  BLOK_TRY(blok_enc_count(out, x->h.tx_count, BLOK_BLOCK_TXS_MAX));
  return blok_buf_append(out, x->body.data, x->body.len);
}

enum blok_err blok_ledger_commit(struct blok_ledger *l, struct blok_exec *x,
                                 const struct blok_qc *qc) {
  BLOK_ASSERT(x->finished && x->l == l);
  BLOK_ASSERT(qc != NULL || x->h.height == 0);
  struct commit c = {.x = x, .qc = qc};
  memcpy(c.hash, x->hash, 32);
  if (qc && (memcmp(qc->vote.block_hash, c.hash, 32) != 0 || qc->vote.height != x->h.height))
    return BLOK_EINVAL;
  /* Blocks commit in chain order: this one must extend the head (its parent committed). */
  if (x->committed || x->orphaned || x->parent != NULL) return BLOK_EINVAL;
  if (x->h.height != 0 &&
      (x->h.height != l->head.height + 1 || memcmp(x->h.parent, l->head_hash, 32) != 0))
    return BLOK_EINVAL;
  blok_buf_init(&c.block, BLOK_BLOCK_BYTES_MAX);
  enum blok_err rc = blok_exec_encode(x, &c.block);
  /* The read views must end first: growing the map needs no transaction open in the process. */
  blok__exec_close_views(l);
  if (rc == BLOK_OK) rc = blok_store_write(l->store, commit_fn, &c);
  blok_buf_release(&c.block);
  BLOK_TRY(rc);
  pthread_mutex_lock(&l->head_mu);
  l->head = x->h;
  memcpy(l->head_hash, c.hash, 32);
  pthread_mutex_unlock(&l->head_mu);
  blok__exec_committed(x);
  return BLOK_OK;
}

/* Executes the genesis: height 0, no transactions, the modules' initial state. */
static enum blok_err genesis_exec(struct blok_ledger *l, struct blok_exec **out,
                                  struct blok_why *why) {
  struct blok_exec *x;
  BLOK_TRY(blok__exec_new(l, &x));
  x->genesis = true;
  memcpy(x->base_root, blok_smt_empty_root, 32);
  x->h.timestamp_ms = l->g->time_ms;
  enum blok_err rc = BLOK_OK;
  for (size_t i = 0; rc == BLOK_OK && i < l->reg->count; i++) {
    const struct blok_module *m = l->reg->modules[i];
    if (m->genesis == NULL) continue;
    rc = m->genesis(x, l->g->doc, why);
    if (rc == BLOK_OK) rc = blok__exec_keep_tx_writes(x);
  }
  struct blok_header h;
  if (rc == BLOK_OK) rc = blok_exec_finish(x, &h);
  if (rc != BLOK_OK) {
    blok_exec_free(x);
    return rc;
  }
  *out = x;
  return BLOK_OK;
}

static enum blok_err load_head(struct blok_ledger *l, bool *empty) {
  struct blok_txn *t;
  const uint8_t *v;
  size_t n;
  BLOK_TRY(blok_store_read_begin(l->store, &t));
  enum blok_err rc = blok_txn_get(t, BLOK_TABLE_META, META_HEAD, strlen(META_HEAD), &v, &n);
  *empty = rc == BLOK_ENOTFOUND;
  if (rc == BLOK_OK) rc = n == 8 ? blok_txn_get(t, BLOK_TABLE_BLOCKS, v, 8, &v, &n) : BLOK_EFORMAT;
  if (rc == BLOK_OK) {
    struct blok_reader r;
    blok_reader_init(&r, v, n);
    rc = blok_header_decode(&r, &l->head);
  }
  if (rc == BLOK_OK) rc = blok_header_hash(&l->head, l->head_hash);
  blok_store_read_end(t);
  return *empty ? BLOK_OK : rc;
}

static enum blok_err stored_hash_at(struct blok_ledger *l, uint64_t height, uint8_t out[32]) {
  struct blok_buf block, qc;
  blok_buf_init(&block, BLOK_BLOCK_BYTES_MAX);
  blok_buf_init(&qc, 1 << 16);
  enum blok_err rc = blok_ledger_block(l, height, &block, &qc);
  struct blok_header h;
  struct blok_reader r;
  blok_reader_init(&r, block.data, block.len);
  if (rc == BLOK_OK) rc = blok_header_decode(&r, &h);
  if (rc == BLOK_OK) rc = blok_header_hash(&h, out);
  blok_buf_release(&block);
  blok_buf_release(&qc);
  return rc;
}

static enum blok_err put_format(struct blok_txn *t, void *arg) {
  return blok_txn_put(t, BLOK_TABLE_META, META_FORMAT, strlen(META_FORMAT), arg, 1);
}

static enum blok_err check_format(struct blok_ledger *l, struct blok_why *why) {
  struct blok_txn *t;
  const uint8_t *v;
  size_t n;
  BLOK_TRY(blok_store_read_begin(l->store, &t));
  enum blok_err rc = blok_txn_get(t, BLOK_TABLE_META, META_FORMAT, strlen(META_FORMAT), &v, &n);
  unsigned format = rc == BLOK_OK && n == 1 ? v[0] : 1; /* format 1 wrote no marker */
  blok_store_read_end(t);
  if (rc != BLOK_OK && rc != BLOK_ENOTFOUND) return rc;
  if (format >= 3 && format < STORE_FORMAT) { /* what they wrote, this format reads */
    uint8_t f = STORE_FORMAT;
    return blok_store_write(l->store, put_format, &f);
  }
  if (format != STORE_FORMAT)
    return blok_refuse(why, BLOK_EINVAL,
                       "the data folder is in storage format %u; this build reads format %d: "
                       "move it away and start with an empty one (a node syncs the chain again "
                       "from the validators; a devnet is made anew)",
                       format, STORE_FORMAT);
  return BLOK_OK;
}

static enum blok_err open_genesis(struct blok_ledger *l, struct blok_why *why) {
  bool empty;
  BLOK_TRY(load_head(l, &empty));
  if (!empty) BLOK_TRY(check_format(l, why));
  struct blok_exec *x;
  BLOK_TRY(genesis_exec(l, &x, why));
  uint8_t hash[32];
  enum blok_err rc = blok_header_hash(&x->h, hash);
  if (rc == BLOK_OK && empty) {
    memset(&l->head, 0, sizeof l->head);
    rc = blok_ledger_commit(l, x, NULL);
  } else if (rc == BLOK_OK) {
    uint8_t stored[32];
    rc = stored_hash_at(l, 0, stored);
    if (rc == BLOK_OK && memcmp(stored, hash, 32) != 0)
      rc = blok_refuse(why, BLOK_EINVAL, "the data folder holds another chain than this genesis");
  }
  blok_exec_free(x);
  return rc;
}

static void close_views(void *ctx) {
  blok__exec_close_views(ctx);
}

enum blok_err blok_ledger_open(struct blok_ledger **out, struct blok_store *store,
                               const struct blok_registry *reg, const struct blok_genesis *g,
                               struct blok_why *why) {
  struct blok_ledger *l = calloc(1, sizeof *l);
  if (l == NULL) return BLOK_ENOMEM;
  l->store = store;
  l->reg = reg;
  l->g = g;
  pthread_mutex_init(&l->head_mu, NULL);
  /* Any write on the execution thread (a commit, or the node's consensus records) may grow the
   * map, which waits for every reader: the executions' views must end first. */
  blok_store_set_grow_hook(store, close_views, l);
  enum blok_err rc = blok_validators_hash(g->validators[0], g->validator_count, l->validators_hash);
  for (size_t i = 0; rc == BLOK_OK && i < reg->count; i++)
    if (reg->modules[i]->open) rc = reg->modules[i]->open(store);
  if (rc == BLOK_OK) rc = open_genesis(l, why);
  if (rc == BLOK_OK) {
    bool empty;
    rc = load_head(l, &empty);
  }
  if (rc != BLOK_OK) {
    blok_ledger_close(l);
    return rc;
  }
  *out = l;
  return BLOK_OK;
}

void blok_ledger_close(struct blok_ledger *l) {
  if (l == NULL) return;
  blok_store_set_grow_hook(l->store, NULL, NULL);
  for (size_t i = 0; i < l->spare_smt_count; i++)
    blok_smt_memstore_free(l->spare_smt[i]);
  pthread_mutex_destroy(&l->head_mu);
  free(l);
}

void blok_ledger_head(const struct blok_ledger *l, struct blok_header *h, uint8_t hash[32]) {
  struct blok_ledger *m = (struct blok_ledger *)(uintptr_t)l; /* the lock is not the data */
  pthread_mutex_lock(&m->head_mu);
  if (h) *h = l->head;
  if (hash) memcpy(hash, l->head_hash, 32);
  pthread_mutex_unlock(&m->head_mu);
}

struct blok_store *blok_ledger_store(const struct blok_ledger *l) {
  return l->store;
}

const struct blok_registry *blok_ledger_registry(const struct blok_ledger *l) {
  return l->reg;
}

const struct blok_genesis *blok_ledger_genesis(const struct blok_ledger *l) {
  return l->g;
}

enum blok_err blok_ledger_block(struct blok_ledger *l, uint64_t height, struct blok_buf *block,
                                struct blok_buf *qc) {
  struct blok_txn *t;
  const uint8_t *v;
  size_t n;
  uint8_t hk[8];
  blok_store_u64_key(hk, height);
  BLOK_TRY(blok_store_read_begin(l->store, &t));
  enum blok_err rc = blok_txn_get(t, BLOK_TABLE_BLOCKS, hk, 8, &v, &n);
  if (rc == BLOK_OK) rc = blok_buf_append(block, v, n);
  if (rc == BLOK_OK) {
    rc = blok_txn_get(t, BLOK_TABLE_QC, hk, 8, &v, &n);
    if (rc == BLOK_OK) rc = blok_buf_append(qc, v, n);
    if (rc == BLOK_ENOTFOUND) rc = BLOK_OK; /* height 0 has no certificate */
  }
  blok_store_read_end(t);
  return rc;
}

enum blok_err blok_ledger_tx(struct blok_ledger *l, const uint8_t id[32],
                             struct blok_tx_location *loc) {
  struct blok_txn *t;
  const uint8_t *v;
  size_t n;
  BLOK_TRY(blok_store_read_begin(l->store, &t));
  enum blok_err rc = find_entry(t, &TXIDX_RUNS, id, &v, &n);
  if (rc == BLOK_OK) {
    struct blok_reader r;
    uint32_t code;
    const char *msg;
    size_t msg_len;
    blok_reader_init(&r, v, n);
    rc = blok_dec_u64(&r, &loc->height);
    if (rc == BLOK_OK) rc = blok_dec_u32(&r, &loc->position);
    if (rc == BLOK_OK) rc = blok_dec_u32(&r, &code);
    if (rc == BLOK_OK) rc = blok_dec_text(&r, &msg, &msg_len, BLOK_WHY_MAX - 1);
    if (rc == BLOK_OK) {
      loc->result.code = (int32_t)code;
      memcpy(loc->result.msg, msg, msg_len);
      loc->result.msg[msg_len] = '\0';
    }
  }
  blok_store_read_end(t);
  return rc;
}

/* The header stored at height, read in t. */
static enum blok_err header_at(struct blok_txn *t, uint64_t height, struct blok_header *h) {
  uint8_t hk[8];
  const uint8_t *v;
  size_t n;
  struct blok_reader r;
  blok_store_u64_key(hk, height);
  BLOK_TRY(blok_txn_get(t, BLOK_TABLE_BLOCKS, hk, 8, &v, &n));
  blok_reader_init(&r, v, n);
  return blok_header_decode(&r, h);
}

enum blok_err blok_ledger_head_in(struct blok_txn *t, struct blok_header *h) {
  const uint8_t *v;
  size_t n;
  BLOK_TRY(blok_txn_get(t, BLOK_TABLE_META, META_HEAD, strlen(META_HEAD), &v, &n));
  if (n != 8) return BLOK_EFORMAT;
  return header_at(t, blok_store_u64_from_key(v), h);
}

enum blok_err blok_ledger_state(struct blok_ledger *l, const char *module, const void *key,
                                size_t key_len, bool *found, struct blok_buf *value,
                                struct blok_smt_proof *proof, struct blok_header *header) {
  uint8_t tk[32];
  BLOK_TRY(blok_state_key(tk, module, key, key_len));
  struct blok_txn *t;
  BLOK_TRY(blok_store_read_begin(l->store, &t));
  const uint8_t *v;
  size_t n;
  struct blok_smt_store s;
  blok_txn_smt_store(t, &s);
  enum blok_err rc = blok_ledger_head_in(t, header);
  if (rc == BLOK_OK) {
    rc = blok_state_get(t, tk, &v, &n);
    *found = rc == BLOK_OK;
    if (rc == BLOK_OK) rc = blok_buf_append(value, v, n);
    if (rc == BLOK_ENOTFOUND) rc = BLOK_OK;
  }
  if (rc == BLOK_OK) rc = blok_smt_prove(&s, header->state_root, tk, proof);
  blok_store_read_end(t);
  return rc;
}

enum blok_err blok_ledger_tx_proof(struct blok_ledger *l, const uint8_t id[32],
                                   struct blok_tx_location *loc, struct blok_buf *tx,
                                   uint8_t (*proof)[32], size_t *proof_len,
                                   struct blok_header *header) {
  BLOK_TRY(blok_ledger_tx(l, id, loc));
  struct blok_buf block, qc;
  blok_buf_init(&block, BLOK_BLOCK_BYTES_MAX);
  blok_buf_init(&qc, 1 << 16);
  struct blok_block_view *v = malloc(sizeof *v);
  uint8_t *leaves = NULL;
  enum blok_err rc = v ? blok_ledger_block(l, loc->height, &block, &qc) : BLOK_ENOMEM;
  if (rc == BLOK_OK) rc = blok_block_parse(v, block.data, block.len);
  if (rc == BLOK_OK && loc->position >= v->tx_count) rc = BLOK_EFORMAT;
  if (rc == BLOK_OK) rc = (leaves = malloc(32 * v->tx_count + 1)) ? BLOK_OK : BLOK_ENOMEM;
  for (size_t i = 0; rc == BLOK_OK && i < v->tx_count; i++) {
    struct blok_tx t;
    rc = blok_tx_decode(&t, v->txs[i], v->tx_lens[i]);
    if (rc == BLOK_OK) blok_merkle_leaf_hash(leaves + 32 * i, t.id, 32);
  }
  if (rc == BLOK_OK)
    rc = blok_merkle_inclusion_proof(proof, BLOK_MERKLE_PROOF_MAX, proof_len, leaves, v->tx_count,
                                     loc->position);
  if (rc == BLOK_OK) rc = blok_buf_append(tx, v->txs[loc->position], v->tx_lens[loc->position]);
  if (rc == BLOK_OK) *header = v->header;
  free(leaves);
  free(v);
  blok_buf_release(&block);
  blok_buf_release(&qc);
  return rc;
}

enum blok_err blok_ledger_next_nonce(struct blok_ledger *l, const uint8_t sender[32],
                                     uint64_t *next) {
  uint8_t k[6 + 32], tk[32];
  memcpy(k, "nonce/", 6);
  memcpy(k + 6, sender, 32);
  BLOK_TRY(blok_state_key(tk, BLOK_CORE_MODULE, k, sizeof k));
  struct blok_txn *t;
  const uint8_t *v;
  size_t n;
  BLOK_TRY(blok_store_read_begin(l->store, &t));
  enum blok_err rc = blok_state_get(t, tk, &v, &n);
  if (rc == BLOK_ENOTFOUND) {
    *next = 1;
    rc = BLOK_OK;
  } else if (rc == BLOK_OK) {
    struct blok_reader r;
    uint64_t last;
    blok_reader_init(&r, v, n);
    rc = n == 8 ? blok_dec_u64(&r, &last) : BLOK_EFORMAT;
    if (rc == BLOK_OK) *next = last + 1;
  }
  blok_store_read_end(t);
  return rc;
}
