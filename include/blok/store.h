/*
 * Storage: LMDB behind a small interface (DESIGN.md, "Storage"). Everything a block changes
 * (the block, the transaction index, state-tree nodes, state values, module indexes) is written
 * in one write transaction, synced on commit, so a crash leaves the node at the last committed
 * block and never between two. Readers use read transactions and never block the writer.
 *
 * Write transactions run a caller function that must be re-runnable: when the memory map is
 * full (MDB_MAP_FULL), the transaction is aborted, the map doubled, and the function run again
 * from the start. So the function must not change anything outside the transaction.
 */
#ifndef BLOK_STORE_H
#define BLOK_STORE_H

#include <stdbool.h>

#include "blok/smt.h"

/* The core tables. Modules open their own with blok_store_table. */
enum blok_table {
  BLOK_TABLE_META = 0,      /* name -> value: the head ... */
  BLOK_TABLE_BLOCKS = 1,    /* u64 height (big-endian, so cursors go in height order) -> block */
  BLOK_TABLE_TXIDX = 2,     /* tx id[32] -> location and result (docs/PROTOCOL.md, "Storage") */
  BLOK_TABLE_SMT = 3,       /* u64 version (big-endian) -> that version's state-tree nodes */
  BLOK_TABLE_STATE = 4,     /* state-tree key[32] -> value bytes (read with blok_state_get) */
  BLOK_TABLE_QC = 5,        /* u64 height (big-endian) -> quorum certificate of that block */
  BLOK_TABLE_BLOCKHASH = 6, /* block hash[32] -> u64 height (big-endian) */
  BLOK_TABLE_SMT_ROOTS = 7, /* state root hash[32] -> u64 version, u32 slot of its node (BE) */
  BLOK_TABLE_TXRUN = 8, /* u64 height (big-endian) -> its block's txidx entries, not merged yet */
  BLOK_TABLE_STATERUN = 9, /* u64 height (big-endian) -> its block's state writes, not merged yet */
  BLOK_TABLE_CORE_COUNT = 10,
};

#define BLOK_STORE_TABLES_MAX     64
#define BLOK_STORE_TABLE_NAME_MAX 63

struct blok_store_opts {
  const char *dir;         /* created if missing (mode 0700) */
  size_t map_size_bytes;   /* initial map size; 0 = 64 MiB; it grows when full */
  bool unsynced_for_bench; /* MDB_NOSYNC: a crash may lose committed blocks. Benchmarks only. */
};

struct blok_store;
struct blok_txn;

BLOK_WUR enum blok_err blok_store_open(struct blok_store **out, const struct blok_store_opts *o);
void blok_store_close(struct blok_store *s);
/* Opens (creating if needed) a named table and gives its id. Names are 1..63 bytes of
 * [a-z0-9._]; call it at start-up, before other threads use the store. */
BLOK_WUR enum blok_err blok_store_table(struct blok_store *s, const char *name, unsigned *id);
/* As blok_store_table, for a module that keeps a table's id in a process-wide variable: the
 * first store opened sets *id (0 means unset: module tables never get id 0); every later store
 * must give the same id, which holds when every store opens the same modules in the same
 * order. Otherwise BLOK_EINVAL: several stores in one process (the simulator) share module
 * code, and a mismatch would send one store's index writes into another table. */
BLOK_WUR enum blok_err blok_store_table_shared(struct blok_store *s, const char *name,
                                               unsigned *id);
/* The current map size, for tests and metrics. */
size_t blok_store_map_size(const struct blok_store *s);
/* Called on the writing thread just before a full map grows. Growing waits until no read
 * transaction is open in the process, so a writer that holds read transactions of its own (the
 * ledger's executions keep read views open between transactions) must end them here, or it
 * waits for itself. One hook per store (NULL removes it); set it before the first write. */
void blok_store_set_grow_hook(struct blok_store *s, void (*fn)(void *ctx), void *ctx);

typedef enum blok_err (*blok_store_write_fn)(struct blok_txn *t, void *arg);
/* Runs fn in one write transaction and commits it (synced unless unsynced_for_bench). When fn
 * fails the transaction is aborted and fn's error returned. A full map is grown and fn run
 * again, so fn sees a fresh transaction each time. */
BLOK_WUR enum blok_err blok_store_write(struct blok_store *s, blok_store_write_fn fn, void *arg);

BLOK_WUR enum blok_err blok_store_read_begin(struct blok_store *s, struct blok_txn **out);
void blok_store_read_end(struct blok_txn *t);

/* *val points into the map and stays valid until the transaction ends. BLOK_ENOTFOUND. */
BLOK_WUR enum blok_err blok_txn_get(struct blok_txn *t, unsigned table, const void *key,
                                    size_t key_len, const uint8_t **val, size_t *val_len);
BLOK_WUR enum blok_err blok_txn_put(struct blok_txn *t, unsigned table, const void *key,
                                    size_t key_len, const void *val, size_t val_len);
/* Deleting an absent key is not an error. */
BLOK_WUR enum blok_err blok_txn_del(struct blok_txn *t, unsigned table, const void *key,
                                    size_t key_len);

/* Cursors walk a table in key order (memcmp). Each positioning call gives the key and value
 * it lands on, or BLOK_ENOTFOUND when there is none. */
struct blok_cursor;
BLOK_WUR enum blok_err blok_cursor_open(struct blok_txn *t, unsigned table,
                                        struct blok_cursor **out);
void blok_cursor_close(struct blok_cursor *c);
struct blok_kv {
  const uint8_t *key;
  size_t key_len;
  const uint8_t *val;
  size_t val_len;
};
/* First entry with key >= the key given. */
BLOK_WUR enum blok_err blok_cursor_seek(struct blok_cursor *c, const void *key, size_t key_len,
                                        struct blok_kv *out);
BLOK_WUR enum blok_err blok_cursor_next(struct blok_cursor *c, struct blok_kv *out);
BLOK_WUR enum blok_err blok_cursor_prev(struct blok_cursor *c, struct blok_kv *out);
BLOK_WUR enum blok_err blok_cursor_last(struct blok_cursor *c, struct blok_kv *out);

/* A state-tree node store over the transaction's SMT tables (nodes, and where roots are). Its
 * puts, all of one version in a transaction (BLOK_EINVAL otherwise), go to memory and are
 * written by blok_txn_smt_put_nodes when the transaction commits. */
void blok_txn_smt_store(struct blok_txn *t, struct blok_smt_store *out);
/* Writes a memory store's nodes, all put at version (BLOK_EINVAL otherwise), as that version's
 * value, each at the slot the memory store gave it (docs/PROTOCOL.md, "Storage"). A version
 * is written once: BLOK_EDUPLICATE when it has nodes already. */
BLOK_WUR enum blok_err blok_txn_smt_put_nodes(struct blok_txn *t, uint64_t version,
                                              const struct blok_smt_memstore *m);
/* Records where a root's node is (the ledger does, for each block's new root). */
BLOK_WUR enum blok_err blok_txn_smt_root(struct blok_txn *t, const uint8_t root[32],
                                         struct blok_smt_at at);

/* Big-endian u64, the key form of heights. */
void blok_store_u64_key(uint8_t out[8], uint64_t v);
uint64_t blok_store_u64_from_key(const uint8_t k[8]);

#endif
