/*
 * What the node's files share: the node structure (node.c), its validator (validator.c: the
 * replica, over the validators' network when the genesis lists more than one), its observer
 * mode (observer.c: follows the validators' chain without voting) and the gossip of client
 * transactions to the validators (gossip.c).
 */
#ifndef BLOK_NODE_INTERNAL_H
#define BLOK_NODE_INTERNAL_H

#include <pthread.h>
#include <uv.h>

#include "blok/api.h"
#include "blok/mempool.h"
#include "blok/metrics.h"
#include "blok/net.h"
#include "blok/node.h"
#include "blok/notify.h"
#include "blok/wire.h"

#define BLOK_GOSSIP_TXS_MAX   8192              /* waiting to be gossiped; more are not */
#define BLOK_GOSSIP_BYTES_MAX ((size_t)8 << 20) /* their bytes */

/* Client transactions on their way to the validators (gossip.c). */
struct blok__gossip {
  uv_async_t async;
  pthread_mutex_t mu;
  struct blok_net *net;             /* NULL: nothing is queued (one validator, or not started) */
  size_t count;                     /* in pending */
  struct blok_buf pending, sending; /* u32 length || bytes, per transaction */
  struct blok_buf frame;
};

struct blok__validator;
struct blok__observer;

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
  struct blok__gossip gossip;
  uv_loop_t loop;
  uv_async_t ready; /* the mempool has verified transactions */
  uv_signal_t sigint, sigterm;
  uint64_t last_block_ms; /* monotonic */
  int exit_code;
  size_t self;               /* a validator's index in the genesis validators */
  struct blok__validator *v; /* a validator's consensus (validator.c), else NULL */
  struct blok__observer *o;  /* an observer's (observer.c), else NULL */
  struct blok_net_peer peers[BLOK_NODE_PEERS_MAX]; /* the config's, for the network */
};

uint64_t blok__wall_ms(void);
uint64_t blok__monotonic_us(void);
/* The index of the genesis validator with this key, or validator_count. */
size_t blok__node_validator(const struct node *n, const uint8_t pk[32]);
/* Logs a validator's connection going up or down. */
void blok__node_log_peer(const struct node *n, const uint8_t pk[32], const char *state);
/* The network config both kinds of node share: chain id, identity, the config's peers (each a
 * genesis validator, or BLOK_EINVAL with a reason), frame limit. The caller adds the rest. */
BLOK_WUR enum blok_err blok__node_net_config(struct node *n, struct blok_net_config *nc,
                                             struct blok_why *why);
/* A store that cannot write (disk full, I/O error, no memory): logs it and stops the node with
 * exit status 1 rather than let it go on with a head or a safety record it could not write.
 * False for any other error (a peer's bad message, a refused step). */
bool blok__node_fatal(struct node *n, enum blok_err rc, const char *what);
/* Stops the loop; the exit status is the highest code asked for. */
void blok__node_stop(struct node *n, int code);
/* After a block is committed, however it came (x: its execution): its transactions leave the
 * mempool, waiters and metrics learn of it, a log line. took_us: the step that committed it,
 * for the metrics. */
void blok__node_committed(struct node *n, const struct blok_header *h, const struct blok_exec *x,
                          uint64_t took_us);

/* A validator, step 1, at start-up before other threads use the store: its tables. */
BLOK_WUR enum blok_err blok__validator_tables(struct node *n, struct blok_why *why);
/* Step 2: opens the network (with more than one validator) and the replica on n's loop. */
BLOK_WUR enum blok_err blok__validator_start(struct node *n, struct blok_why *why);
/* Closes what blok__validator_start opened (runs the loop until its handles close). */
void blok__validator_stop(struct node *n);
/* The mempool has verified transactions (loop thread). */
void blok__validator_txs_waiting(struct node *n);

/* An observer: opens the network to the validators and starts following. */
BLOK_WUR enum blok_err blok__observer_start(struct node *n, struct blok_why *why);
void blok__observer_stop(struct node *n);
/* The mempool has verified transactions: they were forwarded already; they leave the pool. */
void blok__observer_txs_waiting(struct node *n);

/* Gossip (any thread but where it says). */
void blok__gossip_init(struct blok__gossip *g, uv_loop_t *loop); /* loop thread */
/* A transaction the API accepted (the API's `accepted` hook; ctx is the node). */
void blok__gossip_push(void *ctx, const uint8_t *raw, size_t len);
void blok__gossip_set_net(struct blok__gossip *g, struct blok_net *net);
void blok__gossip_release(struct blok__gossip *g); /* after the loop closed its handle */

#endif
