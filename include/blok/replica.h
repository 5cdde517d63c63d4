/*
 * A validator replica: the consensus core (blok/consensus.h) joined to the ledger
 * (blok/ledger.h) and to the world through an environment of callbacks. It decodes frames
 * (blok/wire.h), executes every proposed block before the core may vote for it (speculatively,
 * on uncommitted certified parents), builds the blocks it proposes, commits what the core
 * commits, persists the safety record before a vote or timeout leaves, fetches blocks it missed
 * and syncs committed blocks when it is behind.
 *
 * No clock, socket or randomness inside: time, sending, timers and disk come in through
 * struct blok_replica_env, so the simulator (tests/sim) runs many replicas in one process from
 * one seed, and the node runs one over the real network. One thread per replica.
 */
#ifndef BLOK_REPLICA_H
#define BLOK_REPLICA_H

#include "blok/consensus.h"
#include "blok/ledger.h"
#include "blok/wire.h"

/* The largest safety record (blok_replica_safety_encode). */
#define BLOK_SAFETY_RECORD_MAX (1 + 4 * 8 + 1 + 56 + 64 + 2 * (2 + 56 + 2 + 32 + 4 + 256 * 72))
/* How far ahead of this node's clock a proposed block's time may be. */
#define BLOK_REPLICA_CLOCK_DRIFT_MS 10000

struct blok_replica_env {
  void *ctx;
  uint64_t (*now_ms)(void *ctx);
  void (*send)(void *ctx, size_t to, const uint8_t *frame, size_t len);
  void (*broadcast)(void *ctx, const uint8_t *frame, size_t len);
  /* Fire blok_replica_timer(round) after delay_ms; replaces the timer set before. */
  void (*set_timer)(void *ctx, uint64_t round, uint64_t delay_ms);
  /* Call blok_replica_build after delay_ms (when this replica leads a round). */
  void (*set_build_timer)(void *ctx, uint64_t delay_ms);
  /* How many transactions wait in the mempool; may be NULL (none). */
  size_t (*waiting)(void *ctx);
  /* Write and sync the safety record; nothing is sent before it returns BLOK_OK. */
  enum blok_err (*persist)(void *ctx, const uint8_t *record, size_t len);
  /* Write a proposal this replica accepted or made (its frame): after a crash its certified
   * blocks may exist nowhere else. The replica calls persist before any vote or timeout
   * leaves, so the write may wait for that persist and share its sync (the simulator's disk
   * keeps a staged proposal only once a persist followed). */
  enum blok_err (*persist_block)(void *ctx, uint64_t height, const uint8_t *frame, size_t len);
  /* Proposals at or below this height may be deleted: they are committed or lost. */
  void (*prune_blocks)(void *ctx, uint64_t committed_height);
  /* Fill a block this replica proposes (from the mempool); may be NULL (empty blocks). */
  enum blok_err (*fill)(void *ctx, struct blok_exec *x);
  /* Whether a transaction's signature was verified already; may be NULL. */
  blok_sig_known_fn known;
  /* After a block is committed to the ledger: its header, hash and execution (for its
   * transactions' ids and results, blok_exec_tx_id); may be NULL. */
  void (*committed)(void *ctx, const struct blok_header *h, const uint8_t hash[32],
                    const struct blok_exec *x);
  /* Transactions a peer gossiped (m->items); may be NULL. */
  void (*txs)(void *ctx, size_t from, const struct blok_wire_msg *m);
};

struct blok_replica_config {
  size_t self;                         /* index in the genesis validators */
  const struct blok_sign_keypair *key; /* kept by the caller */
  uint64_t base_timeout_ms, max_timeout_ms;
  /* A leader builds its block this long after entering the round when transactions wait or
   * the block it extends holds transactions not committed yet (the next block commits them),
   * else after empty_block_ms (keep it below base_timeout_ms, or idle rounds time out). */
  uint64_t block_delay_ms, empty_block_ms;
  const uint8_t *safety_record; /* the last persisted one (NULL: none yet) */
  size_t safety_record_len;
  /* The proposals persisted before a restart (any order), replayed by blok_replica_start. */
  const uint8_t *const *blocks;
  const size_t *block_lens;
  size_t block_count;
};

struct blok_replica_stats {
  uint64_t proposals_executed, blocks_fetched, blocks_synced, commits, refused;
  /* Commits the core asked for that the ledger could not make (never expected: the node logs
   * them loudly), and the last one's error. */
  uint64_t commit_failures;
  int32_t last_commit_error;
};

struct blok_replica;

/* A replica on the ledger's committed head. BLOK_EINVAL for a bad configuration or a safety
 * record that does not decode or belongs to another epoch. */
BLOK_WUR enum blok_err blok_replica_open(struct blok_replica **out, struct blok_ledger *l,
                                         const struct blok_replica_config *cfg,
                                         const struct blok_replica_env *env);
void blok_replica_close(struct blok_replica *r);
/* Replays the persisted proposals, then arms the first timer (and proposes when this replica
 * leads the round). */
BLOK_WUR enum blok_err blok_replica_start(struct blok_replica *r);
/* A frame from validator `from`. An error says the frame was invalid or refused (the peer may
 * be dropped); what it did to the replica is still consistent. */
BLOK_WUR enum blok_err blok_replica_receive(struct blok_replica *r, size_t from,
                                            const uint8_t *frame, size_t len);
BLOK_WUR enum blok_err blok_replica_timer(struct blok_replica *r, uint64_t round);
/* The build timer fired: build and propose the block of the round this replica leads (if it
 * still leads the current round). */
BLOK_WUR enum blok_err blok_replica_build(struct blok_replica *r);
/* Transactions arrived in the mempool: a leader waiting empty_block_ms to build an empty
 * block builds after block_delay_ms instead. */
void blok_replica_txs_waiting(struct blok_replica *r);
uint64_t blok_replica_round(const struct blok_replica *r);
void blok_replica_stats(const struct blok_replica *r, struct blok_replica_stats *out);
/* One line on the replica's consensus state, for logs and the simulator. */
void blok_replica_describe(const struct blok_replica *r, char *out, size_t cap);

/* The safety record's encoding (docs/CONSENSUS.md, "Persistence"): the safety rules' state,
 * the highest QC and the highest TC. */
BLOK_WUR enum blok_err blok_replica_safety_encode(struct blok_buf *b,
                                                  const struct blok_cons_safety *s,
                                                  const struct blok_qc *high_qc,
                                                  const struct blok_tc *high_tc);
BLOK_WUR enum blok_err blok_replica_safety_decode(const uint8_t *rec, size_t len,
                                                  struct blok_cons_safety *s,
                                                  struct blok_qc *high_qc, bool *has_tc,
                                                  struct blok_tc *high_tc);

#endif
