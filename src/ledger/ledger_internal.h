/*
 * What the ledger's files share: the ledger and execution structures.
 */
#ifndef BLOK_LEDGER_INTERNAL_H
#define BLOK_LEDGER_INTERNAL_H

#include <pthread.h>

#include "blok/ledger.h"
#include "kvmap.h"

#define BLOK__SPARE_SMT 4

struct blok_ledger {
  struct blok_store *store;
  const struct blok_registry *reg;
  const struct blok_genesis *g;
  uint8_t validators_hash[32];
  pthread_mutex_t head_mu; /* head and head_hash: written by the committer, read by anyone */
  struct blok_header head;
  uint8_t head_hash[32];
  struct blok_exec *live; /* every execution not yet freed (consensus thread only) */
  /* Node stores of freed executions, emptied, for the next ones (consensus thread only): a
   * block's tens of thousands of nodes then go into memory already mapped. */
  struct blok_smt_memstore *spare_smt[BLOK__SPARE_SMT];
  size_t spare_smt_count;
};

struct blok__index_write {
  unsigned table;
  uint8_t *key;
  size_t key_len;
  uint8_t *val;
  size_t val_len;
};

struct blok__index_list {
  struct blok__index_write *v;
  size_t count, cap;
};

struct blok__result {
  uint8_t id[32];
  struct blok_tx_result r;
};

struct blok_exec {
  struct blok_ledger *l;
  /* The committed state, opened on the first read and closed by every commit (growing the
   * LMDB map needs no transaction open in the process). Reopening sees the blocks committed
   * since, which are this execution's ancestors (blok_ledger_commit checks it), so reads do
   * not change: what a committed ancestor wrote was read from its overlay before. */
  struct blok_txn *rtxn;
  /* The uncommitted block this one builds on (NULL: the committed head); its writes are read
   * before the store's. Cleared when the parent is committed. */
  struct blok_exec *parent;
  struct blok_exec *live_prev, *live_next; /* the ledger's list of executions */
  uint8_t base_root[32];                   /* the state root this block builds on */
  struct blok_smt_at root_at;              /* where the new state root's node is (once finished) */
  uint8_t hash[32];                        /* the header's hash, once finished */
  bool committed;
  bool orphaned; /* its parent was freed uncommitted: it can never be committed */
  struct blok_header h;
  struct blok__kvmap block_writes; /* tree key -> value, for the whole block */
  struct blok__kvmap tx_writes;    /* the current transaction's, merged on success */
  struct blok__kvmap read_cache;   /* values read from the store (blok_exec_get) */
  size_t read_cache_bytes;
  struct blok__index_list block_index, tx_index;
  struct blok_buf body;         /* list items: bytes<TX_ENCODED_MAX> per transaction */
  struct blok__result *results; /* per transaction, in block order */
  size_t result_cap;
  struct blok_smt_memstore *smt_new; /* state-tree nodes made by this block */
  bool finished;
  bool genesis; /* builds on empty state, whatever the store holds */
};

BLOK_WUR enum blok_err blok__exec_new(struct blok_ledger *l, struct blok_exec **out);
/* The read transaction on committed state, opened when needed. */
BLOK_WUR enum blok_err blok__exec_view(struct blok_exec *x, struct blok_txn **t);
/* Ends the read transaction of every live execution (before a commit). */
void blok__exec_close_views(struct blok_ledger *l);
/* After x committed: executions that built on x now build on the committed head. */
void blok__exec_committed(struct blok_exec *x);
void blok__index_list_release(struct blok__index_list *l);
/* Moves the current transaction's state and index writes into the block's. */
BLOK_WUR enum blok_err blok__exec_keep_tx_writes(struct blok_exec *x);

#endif
