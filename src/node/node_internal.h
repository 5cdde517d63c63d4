/*
 * What the node's files share: the node structure (node.c) and the consensus mode
 * (validator.c), which runs the replica over the validators' network instead of node.c's
 * single-validator producer when the genesis lists more than one validator.
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
  uv_async_t ready;
  uv_timer_t timer;
  uv_signal_t sigint, sigterm;
  uint64_t last_block_ms; /* monotonic */
  int exit_code;
  size_t self;               /* this node's index in the genesis validators */
  struct blok__validator *v; /* consensus mode (more than one validator), else NULL */
};

uint64_t blok__wall_ms(void);

/* Consensus mode, step 1, at start-up before other threads use the store: its tables. */
BLOK_WUR enum blok_err blok__validator_tables(struct node *n, struct blok_why *why);
/* Step 2: opens the network and the replica on n's loop (n->v). */
BLOK_WUR enum blok_err blok__validator_start(struct node *n, struct blok_why *why);
/* Closes what blok__validator_start opened (runs the loop until its handles close). */
void blok__validator_stop(struct node *n);
/* A transaction the API accepted: gossiped to the other validators (any thread). */
void blok__validator_gossip(void *ctx, const uint8_t *raw, size_t len);

#endif
