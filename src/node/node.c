/*
 * The node (blok/node.h): wires the store, ledger, mempool, API and the validator (consensus,
 * validator.c) together and runs them on a libuv loop. A network of one validator runs the same
 * consensus protocol as one of many (DESIGN.md, "Consensus"), without a network.
 *
 * Threads: the loop thread runs consensus (execution and commit); the mempool's workers check
 * signatures and wake the loop through an async handle; libmicrohttpd's threads serve the API
 * with read transactions. Shutdown (SIGINT, SIGTERM) stops the API first, then the validator,
 * then the mempool's workers, then the loop, so no thread outlives what it uses.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "blok/api.h"
#include "blok/keyfile.h"
#include "blok/log.h"
#include "blok/modules.h"
#include "blok/node.h"
#include "node_internal.h"
#include "blok/banned.h"

uint64_t blok__wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t blok__monotonic_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void blok__node_committed(struct node *n, const struct blok_header *h, const struct blok_exec *x,
                          uint64_t took_us) {
  size_t failed = blok_exec_failed_count(x);
  for (size_t i = 0; i < blok_exec_tx_count(x); i++)
    blok_mempool_remove(n->mp, blok_exec_tx_id(x, i), NULL);
  blok_notify_committed(&n->notify, h->height);
  uint64_t now = blok_monotonic_ms();
  n->metrics.height = h->height;
  n->metrics.blocks_committed++;
  n->metrics.txs_committed += h->tx_count;
  n->metrics.txs_failed += failed;
  n->metrics.last_block_interval_ms = now - n->last_block_ms;
  n->metrics.last_block_commit_us = took_us;
  n->last_block_ms = now;
  blok_log(BLOK_LOG_INFO, "block", "height=%llu round=%llu txs=%u failed=%zu took_ms=%.2f",
           (unsigned long long)h->height, (unsigned long long)h->round, h->tx_count, failed,
           (double)took_us / 1000.0);
}

size_t blok__node_validator(const struct node *n, const uint8_t pk[32]) {
  for (size_t i = 0; i < n->g.validator_count; i++)
    if (memcmp(n->g.validators[i], pk, 32) == 0) return i;
  return n->g.validator_count;
}

void blok__node_log_peer(const struct node *n, const uint8_t pk[32], const char *state) {
  size_t i = blok__node_validator(n, pk);
  if (i < n->g.validator_count) blok_log(BLOK_LOG_INFO, "peer", "validator=%zu state=%s", i, state);
}

enum blok_err blok__node_net_config(struct node *n, struct blok_net_config *nc,
                                    struct blok_why *why) {
  const struct blok_node_config *c = n->c;
  for (size_t i = 0; i < c->peer_count; i++) {
    if (blok__node_validator(n, c->peers[i].pk) == n->g.validator_count)
      return blok_refuse(why, BLOK_EINVAL, "peers[%zu]: not a validator of the genesis", i);
    memcpy(n->peers[i].pk, c->peers[i].pk, 32);
    n->peers[i].host = c->peers[i].host;
    n->peers[i].port = c->peers[i].port;
  }
  *nc = (struct blok_net_config){
      .chain_id = n->g.chain_id,
      .identity = &n->key,
      .peers = n->peers,
      .peer_count = c->peer_count,
      .limits = {.frame_bytes_max = BLOK_WIRE_FRAME_MAX},
  };
  return BLOK_OK;
}

bool blok__node_fatal(struct node *n, enum blok_err rc, const char *what) {
  if (rc != BLOK_ESTORE && rc != BLOK_EIO && rc != BLOK_ENOMEM && rc != BLOK_EMAPFULL) return false;
  blok_log(BLOK_LOG_ERROR, what, "error=%s action=stop", blok_err_name(rc));
  blok__node_stop(n, 1);
  return true;
}

void blok__node_stop(struct node *n, int code) {
  if (code > n->exit_code) n->exit_code = code;
  uv_stop(&n->loop);
}

static enum blok_err next_nonce(void *ctx, const uint8_t sender[32], uint64_t *next) {
  return blok_ledger_next_nonce(ctx, sender, next);
}

static void on_mempool_ready(void *ctx) {
  struct node *n = ctx;
  uv_async_send(&n->ready);
}

static void on_ready(uv_async_t *a) {
  struct node *n = a->data;
  if (n->o)
    blok__observer_txs_waiting(n);
  else
    blok__validator_txs_waiting(n);
}

static void on_signal(uv_signal_t *s, int signum) {
  blok_log(BLOK_LOG_INFO, "signal", "signal=%d action=shutdown", signum);
  blok__node_stop(s->data, 0);
}

/* --- start and stop ----------------------------------------------------------------------- */

static enum blok_err open_ledger(struct node *n, struct blok_why *why) {
  char dir[PATH_MAX + 8];
  blok_modules_default(&n->reg);
  BLOK_TRY(blok_genesis_load(&n->g, n->c->genesis_path, &n->reg, why));
  const char *role = n->c->observer ? "observer" : "validator";
  enum blok_err rc = blok_keyfile_read(&n->key, n->c->key_path);
  if (rc != BLOK_OK)
    return blok_refuse(why, rc, "%s key %s: %s", role, n->c->key_path, blok_strerror(rc));
  n->self = n->g.validator_count;
  for (size_t i = 0; i < n->g.validator_count; i++)
    if (memcmp(n->key.pk, n->g.validators[i], 32) == 0) n->self = i;
  if (!n->c->observer && n->self == n->g.validator_count)
    return blok_refuse(why, BLOK_EBADKEY,
                       "validator key %s is not one of the genesis validators' (a node that "
                       "only follows the chain takes observer_key instead)",
                       n->c->key_path);
  if (n->c->observer && n->self < n->g.validator_count)
    return blok_refuse(why, BLOK_EBADKEY,
                       "observer key %s is genesis validator %zu's: an observer needs a key of "
                       "its own",
                       n->c->key_path, n->self);
  if (mkdir(n->c->data_dir, 0700) != 0 && errno != EEXIST)
    return blok_refuse(why, BLOK_EIO, "data_dir %s: %s", n->c->data_dir, strerror(errno));
  snprintf(dir, sizeof dir, "%s/ledger", n->c->data_dir);
  struct blok_store_opts so = {.dir = dir, .unsynced_for_bench = n->c->unsynced_for_bench};
  rc = blok_store_open(&n->store, &so);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "store %s: %s", dir, blok_strerror(rc));
  BLOK_TRY(blok_ledger_open(&n->l, n->store, &n->reg, &n->g, why));
  return n->c->observer ? BLOK_OK : blok__validator_tables(n, why);
}

static enum blok_err start_services(struct node *n, struct blok_why *why) {
  BLOK_TRY(blok_mempool_new(&n->mp, &n->c->mempool, n->g.chain_id, next_nonce, n->l));
  blok_mempool_on_ready(n->mp, on_mempool_ready, n);
  struct blok_api_opts ao = {.host = n->c->http_host,
                             .port = n->c->http_port,
                             .web_dir = n->c->web_dir[0] ? n->c->web_dir : NULL};
  struct blok_api_deps ad = {.ledger = n->l,
                             .mempool = n->mp,
                             .notify = &n->notify,
                             .metrics = &n->metrics,
                             .accepted = blok__gossip_push,
                             .accepted_ctx = n,
                             .observer = n->c->observer,
                             .validator_index = n->self};
  return blok_api_start(&n->api, &ao, &ad, why);
}

static void close_cb(uv_handle_t *h) {
  (void)h;
}

static void shutdown_all(struct node *n) {
  blok_notify_close(&n->notify);
  if (n->api) blok_api_stop(n->api);
  blok__validator_stop(n); /* before the mempool: their callbacks use it */
  blok__observer_stop(n);
  if (n->mp) blok_mempool_free(n->mp);
  if (uv_loop_alive(&n->loop)) {
    uv_close((uv_handle_t *)&n->ready, close_cb);
    uv_close((uv_handle_t *)&n->gossip.async, close_cb);
    uv_close((uv_handle_t *)&n->sigint, close_cb);
    uv_close((uv_handle_t *)&n->sigterm, close_cb);
    uv_run(&n->loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&n->loop);
  blok_mempool_batch_release(&n->batch);
  blok__gossip_release(&n->gossip);
  blok_ledger_close(n->l);
  blok_store_close(n->store);
  blok_genesis_release(&n->g);
  blok_notify_release(&n->notify);
  blok_sign_keypair_clear(&n->key);
}

static void loop_init(struct node *n) {
  uv_loop_init(&n->loop);
  uv_async_init(&n->loop, &n->ready, on_ready);
  n->ready.data = n;
  blok__gossip_init(&n->gossip, &n->loop);
  uv_signal_init(&n->loop, &n->sigint);
  uv_signal_init(&n->loop, &n->sigterm);
  n->sigint.data = n->sigterm.data = n;
  uv_signal_start(&n->sigint, on_signal, SIGINT);
  uv_signal_start(&n->sigterm, on_signal, SIGTERM);
}

/* Buffers of up to a few MiB (a block's body, its nodes, a block served over HTTP) are made and
 * freed many times a second. By default glibc maps each one above 128 KiB afresh and unmaps it
 * at free, so every use faults in new zeroed pages: under load that was several per cent of the
 * node's CPU. From the heap, the same memory is used again. */
static void tune_malloc(void) {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

int blok_node_run(const struct blok_node_config *c) {
  static struct node node; /* one per process; large, so not on the stack */
  tune_malloc();
  struct node *n = &node;
  memset(n, 0, sizeof *n);
  n->c = c;
  blok_log_set_level((enum blok_log_level)c->log_level);
  signal(SIGPIPE, SIG_IGN);
  blok_metrics_init(&n->metrics);
  blok_mempool_batch_init(&n->batch);
  loop_init(n);
  struct blok_why why = {{0}};
  enum blok_err rc = open_ledger(n, &why);
  struct blok_header head;
  if (rc == BLOK_OK) {
    blok_ledger_head(n->l, &head, NULL);
    blok_notify_init(&n->notify, head.height);
    n->metrics.height = head.height;
    rc = start_services(n, &why);
    if (rc == BLOK_OK)
      rc = n->c->observer ? blok__observer_start(n, &why) : blok__validator_start(n, &why);
  } else {
    blok_notify_init(&n->notify, 0);
  }
  if (rc != BLOK_OK) {
    blok_log(BLOK_LOG_ERROR, "start", "error=%s reason=\"%s\"", blok_err_name(rc), why.msg);
    shutdown_all(n);
    return 1;
  }
  n->last_block_ms = blok_monotonic_ms();
  blok_log(BLOK_LOG_INFO, "start", "chain_id=%s height=%llu http=http://%s:%u data=%s",
           n->g.chain_id, (unsigned long long)head.height, c->http_host,
           (unsigned)blok_api_port(n->api), c->data_dir);
  uv_run(&n->loop, UV_RUN_DEFAULT);
  blok_log(BLOK_LOG_INFO, "stop", "height=%llu exit=%d", (unsigned long long)n->metrics.height,
           n->exit_code);
  shutdown_all(n);
  return n->exit_code;
}
