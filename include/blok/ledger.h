/*
 * The ledger core: genesis, block execution and commit, and the reads the API serves.
 *
 * A block is built in four steps, the same for the proposer and (with the consensus issue) for
 * every validator that checks a proposal:
 *
 *   blok_exec_begin   a fresh execution on top of the committed head, or blok_exec_begin_on
 *                     on a finished execution not committed yet (consensus builds on certified
 *                     blocks before they commit: speculative execution)
 *   blok_exec_tx      admission (chain, expiry, kind, payload, signature, nonce, permission),
 *                     then the module's apply in its own overlay, kept only if it succeeds;
 *                     an admission failure leaves the block as it was (the tx is not in it)
 *   blok_exec_finish  the header: transaction, result and state roots
 *   blok_ledger_commit  everything, in one synced LMDB write transaction
 *
 * Execution reads committed state through an LMDB read transaction and writes only to memory,
 * so an execution that is never committed leaves no trace.
 */
#ifndef BLOK_LEDGER_H
#define BLOK_LEDGER_H

#include "blok/block.h"
#include "blok/module.h"

#define BLOK_GENESIS_BYTES_MAX ((size_t)1 << 20)
#define BLOK_CORE_MODULE       "core"

struct blok_genesis {
  char chain_id[BLOK_SIGN_CHAIN_ID_MAX + 1];
  uint64_t time_ms;
  size_t validator_count;
  uint8_t validators[BLOK_VALIDATORS_MAX][32];
  char validator_names[BLOK_VALIDATORS_MAX][BLOK_NAME_MAX + 1];
  json_t *doc; /* the whole document, for the modules' sections; owned */
};

/* Parses a genesis document: chain_id, genesis_time_ms, validators [{name, public_key}], and
 * one section per registered module; any other field is refused with its name. */
BLOK_WUR enum blok_err blok_genesis_parse(struct blok_genesis *g, const json_t *doc,
                                          const struct blok_registry *reg, struct blok_why *why);
/* Reads and parses a genesis file of at most BLOK_GENESIS_BYTES_MAX bytes. */
BLOK_WUR enum blok_err blok_genesis_load(struct blok_genesis *g, const char *path,
                                         const struct blok_registry *reg, struct blok_why *why);
void blok_genesis_release(struct blok_genesis *g);

struct blok_ledger;

/* Opens the ledger in store: the modules' tables, then either the genesis block (a new store)
 * or a check that the stored chain was made from this genesis (BLOK_EINVAL with a reason
 * otherwise). The ledger keeps pointers to store, reg and g. */
BLOK_WUR enum blok_err blok_ledger_open(struct blok_ledger **out, struct blok_store *store,
                                        const struct blok_registry *reg,
                                        const struct blok_genesis *g, struct blok_why *why);
void blok_ledger_close(struct blok_ledger *l);
/* The committed head: its header and hash. Safe from any thread. */
void blok_ledger_head(const struct blok_ledger *l, struct blok_header *h, uint8_t hash[32]);
struct blok_store *blok_ledger_store(const struct blok_ledger *l);
const struct blok_registry *blok_ledger_registry(const struct blok_ledger *l);
const struct blok_genesis *blok_ledger_genesis(const struct blok_ledger *l);

struct blok_tx_result {
  int32_t code; /* BLOK_OK, or the module's refusal */
  char msg[BLOK_WHY_MAX];
};

/* A new block on the head. The timestamp must be later than the head's (BLOK_EINVAL). */
BLOK_WUR enum blok_err blok_exec_begin(struct blok_ledger *l, uint64_t timestamp_ms,
                                       const uint8_t proposer[32], uint64_t round,
                                       struct blok_exec **out);
/* A new block on parent, a finished execution that is not committed yet, or on the committed
 * head when parent is NULL (or is the committed head). Reads go through the overlays of the
 * uncommitted ancestors, then the store. Parents commit before their children; freeing an
 * uncommitted execution makes the ones built on it unusable (BLOK_EINVAL from then on).
 * BLOK_EINVAL: parent not finished, or committed but no longer the head; timestamp not later
 * than the parent's. Executions and commits of one ledger run on one thread. */
BLOK_WUR enum blok_err blok_exec_begin_on(struct blok_ledger *l, struct blok_exec *parent,
                                          uint64_t timestamp_ms, const uint8_t proposer[32],
                                          uint64_t round, struct blok_exec **out);
/* Admits and applies tx (raw bytes are copied into the block). An admission failure returns
 * its error and reason and changes nothing; otherwise BLOK_OK, and *result says whether the
 * module applied it or refused it (a refused transaction is in the block, its nonce used, none
 * of its writes kept). sig_checked: the caller already verified the signature. */
BLOK_WUR enum blok_err blok_exec_tx(struct blok_exec *x, const struct blok_tx *tx, bool sig_checked,
                                    struct blok_tx_result *result, struct blok_why *why);
size_t blok_exec_tx_count(const struct blok_exec *x);
/* How many of its transactions the modules refused (in the block, none of their writes kept). */
size_t blok_exec_failed_count(const struct blok_exec *x);
/* The id of its i-th transaction (i < blok_exec_tx_count), as computed when it was admitted. */
const uint8_t *blok_exec_tx_id(const struct blok_exec *x, size_t i);
/* The nonce the sender's next transaction must carry, as of this execution. */
BLOK_WUR enum blok_err blok_exec_next_nonce(struct blok_exec *x, const uint8_t sender[32],
                                            uint64_t *out);
/* Computes the header. After it only blok_ledger_commit or blok_exec_free may follow. */
BLOK_WUR enum blok_err blok_exec_finish(struct blok_exec *x, struct blok_header *out);
/* The finished block's hash and its encoding (header || list of transactions). */
void blok_exec_hash(const struct blok_exec *x, uint8_t out[32]);
void blok_exec_header(const struct blok_exec *x, struct blok_header *out);
BLOK_WUR enum blok_err blok_exec_encode(const struct blok_exec *x, struct blok_buf *out);
/* Whether transaction tx's signature is known to be good (the mempool checked these very bytes:
 * an id does not cover the signature, so a proposer could put another signature under a known
 * id), so a block that carries it need not verify it again. */
typedef bool (*blok_sig_known_fn)(void *ctx, const struct blok_tx *tx);
/* Executes a proposed block (header || list of transactions, as blok_exec_encode gives) on
 * parent (as blok_exec_begin_on) and checks that it comes out exactly as proposed: it extends
 * parent, every transaction is admitted, and the computed header equals the block's. On
 * success *out is the finished execution, ready to commit. BLOK_EBADPROOF with a reason when
 * the block is not what its header says; BLOK_EFORMAT when it does not decode. */
BLOK_WUR enum blok_err blok_exec_block(struct blok_ledger *l, struct blok_exec *parent,
                                       const uint8_t *block, size_t len, blok_sig_known_fn known,
                                       void *known_ctx, struct blok_exec **out,
                                       struct blok_why *why);
/* Writes the finished block with its certificate (NULL only for height 0) in one synced
 * transaction and moves the head. The block must extend the head (BLOK_EINVAL): commit
 * speculative blocks parent first. */
BLOK_WUR enum blok_err blok_ledger_commit(struct blok_ledger *l, struct blok_exec *x,
                                          const struct blok_qc *qc);
void blok_exec_free(struct blok_exec *x);

/* The head's header as the read transaction t sees it (for reads that must be consistent with
 * other reads in t). */
BLOK_WUR enum blok_err blok_ledger_head_in(struct blok_txn *t, struct blok_header *h);

/* The committed value of state-tree key (blok_state_key) as t sees it: in the newest of the
 * blocks' runs of writes not merged yet that holds the key, else in the state table
 * (docs/PROTOCOL.md, "Storage"). BLOK_ENOTFOUND when there is none or it was deleted;
 * BLOK_EFORMAT for a damaged run. The bytes live as long as t. */
BLOK_WUR enum blok_err blok_state_get(struct blok_txn *t, const uint8_t key[32],
                                      const uint8_t **val, size_t *val_len);

/* Reads, each in its own read transaction. */
/* The stored block (header || list of transactions) and its certificate (empty for height 0). */
BLOK_WUR enum blok_err blok_ledger_block(struct blok_ledger *l, uint64_t height,
                                         struct blok_buf *block, struct blok_buf *qc);
struct blok_tx_location {
  uint64_t height;
  uint32_t position;
  struct blok_tx_result result;
};
BLOK_WUR enum blok_err blok_ledger_tx(struct blok_ledger *l, const uint8_t id[32],
                                      struct blok_tx_location *loc);
/* A module's state value at the committed head, with its state-tree proof (inclusion, or
 * non-inclusion when *found is false) against the head's state root, all from one read
 * transaction. header receives the head the proof is against. value receives the bytes. */
BLOK_WUR enum blok_err blok_ledger_state(struct blok_ledger *l, const char *module, const void *key,
                                         size_t key_len, bool *found, struct blok_buf *value,
                                         struct blok_smt_proof *proof, struct blok_header *header);
/* The nonce the sender's next transaction must carry, in committed state (1 for a sender with
 * none). Safe from any thread. */
BLOK_WUR enum blok_err blok_ledger_next_nonce(struct blok_ledger *l, const uint8_t sender[32],
                                              uint64_t *next);
/* A committed transaction's location, its encoded bytes, and its RFC 9162 inclusion proof in
 * its block's tx_root (proof holds up to BLOK_MERKLE_PROOF_MAX hashes, deepest first). */
BLOK_WUR enum blok_err blok_ledger_tx_proof(struct blok_ledger *l, const uint8_t id[32],
                                            struct blok_tx_location *loc, struct blok_buf *tx,
                                            uint8_t (*proof)[32], size_t *proof_len,
                                            struct blok_header *header);
/* Splits a stored block into its header and transaction byte strings (pointers into block). */
struct blok_block_view {
  struct blok_header header;
  size_t tx_count;
  const uint8_t *txs[BLOK_BLOCK_TXS_MAX];
  size_t tx_lens[BLOK_BLOCK_TXS_MAX];
};
BLOK_WUR enum blok_err blok_block_parse(struct blok_block_view *v, const uint8_t *block,
                                        size_t len);

#endif
