/*
 * A Blokauto node: the ledger in LMDB, the mempool, the HTTP API and consensus, run from a
 * config file (docs/NODE.md). A validator (its key one of the genesis validators') takes part
 * in consensus with the others over the validators' network, or alone when it is the only
 * one; its leader rounds propose a block as soon as transactions are ready (up to a count and
 * byte limit), otherwise an empty block. An observer (a key of its own) follows the
 * validators' chain and serves the API.
 */
#ifndef BLOK_NODE_H
#define BLOK_NODE_H

#include <limits.h>
#include <stdbool.h>

#include "blok/mempool.h"

#define BLOK_NODE_CONFIG_BYTES_MAX  (64 * 1024)
#define BLOK_NODE_PEERS_MAX         BLOK_VALIDATORS_MAX
#define BLOK_NODE_ROUND_TIMEOUT_MAX 600000
#define BLOK_NODE_OBSERVERS_MAX     64

struct blok_node_config {
  char data_dir[PATH_MAX]; /* the LMDB store goes in data_dir/ledger */
  char genesis_path[PATH_MAX];
  /* The node's key: a genesis validator's (validator_key), or an observer's own
   * (observer_key: the node follows the chain from the validators in peers and serves the API,
   * docs/NODE.md "Observers"). */
  char key_path[PATH_MAX];
  bool observer;
  char web_dir[PATH_MAX]; /* empty: no web UI */
  char http_host[64];
  uint16_t http_port;
  uint64_t empty_block_interval_ms; /* default 2000 */
  size_t block_txs_max;             /* default 5000 */
  size_t block_bytes_max;           /* default 8 MiB */
  struct blok_mempool_opts mempool;
  int log_level;           /* enum blok_log_level */
  bool unsynced_for_bench; /* LMDB without fsync: benchmarks only */
  /* With more than one validator: where this validator listens for the others, and where they
   * are (keys must be genesis validators); for an observer, the validators it follows. */
  char p2p_host[64];
  uint16_t p2p_port;
  bool has_p2p;
  size_t peer_count;
  struct {
    uint8_t pk[32];
    char host[64];
    uint16_t port;
  } peers[BLOK_VALIDATORS_MAX];
  /* The pacemaker's base timeout; default twice empty_block_interval_ms. A leader with nothing
   * to propose proposes an empty block after min(empty_block_interval_ms, this / 2). */
  uint64_t round_timeout_ms;
  /* The observers a validator lets connect (their keys). */
  size_t observer_count;
  uint8_t observers[BLOK_NODE_OBSERVERS_MAX][32];
};

/* Reads a config file (JSON, at most 64 KiB; docs/NODE.md). Relative paths in it are taken
 * relative to the file's folder. Unknown fields are refused by name. */
BLOK_WUR enum blok_err blok_node_config_load(struct blok_node_config *c, const char *path,
                                             struct blok_why *why);

/* Runs the node until SIGINT or SIGTERM. Returns 0 after a clean shutdown, 1 when it could not
 * start or stopped on an error (the reason is logged). */
int blok_node_run(const struct blok_node_config *c);

#endif
