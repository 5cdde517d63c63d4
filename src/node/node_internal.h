/*
 * What the node's files share: the node structure (node.c) and its validator (validator.c),
 * which runs the replica, over the validators' network when the genesis lists more than one.
 */
#ifndef BLOK_NODE_INTERNAL_H
#define BLOK_NODE_INTERNAL_H

#include <uv.h>

#include "blok/api.h"
#include "blok/mempool.h"
#include "blok/metrics.h"
#include "blok/node.h"
#include "blok/notify.h"

struct blok__validator;

struct node {
  const struct blok_node_config *c;
  struct blok_registry reg;
  struct blok_genesis g;
  struct blok_store *store;
  struct blok_ledger *l;
  struct blok_mempool *mp;
  struct blok_api *api;
  struct blok_notify notify;
  struct blok_metrics metrics;
  struct blok_sign_keypair key;
  struct blok_mempool_batch batch;
  uv_loop_t loop;
  uv_async_t ready; /* the mempool has verified transactions */
  uv_signal_t sigint, sigterm;
  uint64_t last_block_ms; /* monotonic */
  int exit_code;
  size_t self;               /* this node's index in the genesis validators */
  struct blok__validator *v; /* consensus (validator.c) */
};

uint64_t blok__wall_ms(void);
/* Stops the loop; the exit status is the highest code asked for. */
void blok__node_stop(struct node *n, int code);

/* Consensus, step 1, at start-up before other threads use the store: its tables. */
BLOK_WUR enum blok_err blok__validator_tables(struct node *n, struct blok_why *why);
/* Step 2: opens the network (with more than one validator) and the replica on n's loop. */
BLOK_WUR enum blok_err blok__validator_start(struct node *n, struct blok_why *why);
/* Closes what blok__validator_start opened (runs the loop until its handles close). */
void blok__validator_stop(struct node *n);
/* A transaction the API accepted: gossiped to the other validators (any thread). */
void blok__validator_gossip(void *ctx, const uint8_t *raw, size_t len);
/* The mempool has verified transactions (loop thread). */
void blok__validator_txs_waiting(struct node *n);

#endif
