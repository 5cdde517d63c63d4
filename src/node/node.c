/*
 * The node (blok/node.h): wires the store, ledger, mempool, API and block producer together
 * and runs the producer on a libuv loop.
 *
 * Threads: the loop thread produces blocks (execution and commit); the mempool's workers check
 * signatures and wake the loop through an async handle; libmicrohttpd's threads serve the API
 * with read transactions. Shutdown (SIGINT, SIGTERM) stops the API first, then the mempool's
 * workers, then the loop, so no thread outlives what it uses.
 */
#include <errno.h>
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

static void stop(struct node *n, int code) {
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

/* Runs the batch through the block; gives back the number included. A node failure (not a
 * verdict on a transaction) is returned as an error and the block is abandoned. */
static enum blok_err fill_block(struct node *n, struct blok_exec *x, size_t *included,
                                size_t *failed) {
  *included = *failed = 0;
  for (size_t i = 0; i < n->batch.count; i++) {
    const struct blok_tx *tx = &n->batch.txs[i];
    struct blok_tx_result res, refusal = {0};
    struct blok_why why = {{0}};
    enum blok_err rc = blok_exec_tx(x, tx, true, &res, &why);
    if (rc == BLOK_ENOMEM || rc == BLOK_ESTORE || rc == BLOK_EIO) return rc;
    if (rc != BLOK_OK) {
      refusal.code = rc;
      snprintf(refusal.msg, sizeof refusal.msg, "%s", why.msg);
      blok_mempool_remove(n->mp, tx->id, &refusal);
      continue;
    }
    (*included)++;
    if (res.code != BLOK_OK) (*failed)++;
  }
  return BLOK_OK;
}

static enum blok_err seal(struct node *n, struct blok_exec *x, struct blok_header *h) {
  static struct blok_qc qc; /* loop thread only */
  BLOK_TRY(blok_exec_finish(x, h));
  memset(&qc, 0, sizeof qc);
  qc.vote.epoch = h->epoch;
  qc.vote.round = h->round;
  qc.vote.height = h->height;
  BLOK_TRY(blok_header_hash(h, qc.vote.block_hash));
  qc.validator_count = 1;
  qc.signers[0] = 1;
  qc.sig_count = 1;
  BLOK_TRY(blok_vote_sign(qc.sigs[0], h->chain_id, &qc.vote, &n->key));
  return blok_ledger_commit(n->l, x, &qc);
}

static void after_commit(struct node *n, const struct blok_header *h, size_t failed,
                         uint64_t started_us) {
  for (size_t i = 0; i < n->batch.count; i++)
    blok_mempool_remove(n->mp, n->batch.txs[i].id, NULL);
  blok_notify_committed(&n->notify, h->height);
  uint64_t now = blok_monotonic_ms();
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t took_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u - started_us;
  n->metrics.height = h->height;
  n->metrics.blocks_committed++;
  n->metrics.txs_committed += h->tx_count;
  n->metrics.txs_failed += failed;
  n->metrics.last_block_interval_ms = now - n->last_block_ms;
  n->metrics.last_block_commit_us = took_us;
  n->last_block_ms = now;
  blok_log(BLOK_LOG_INFO, "block", "height=%llu txs=%u failed=%zu took_ms=%.2f",
           (unsigned long long)h->height, h->tx_count, failed, (double)took_us / 1000.0);
}

static void produce(struct node *n, bool allow_empty) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t started_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  enum blok_err rc =
      blok_mempool_take(n->mp, &n->batch, n->c->block_txs_max, n->c->block_bytes_max);
  if (rc != BLOK_OK || (n->batch.count == 0 && !allow_empty)) {
    if (rc != BLOK_OK) blok_log(BLOK_LOG_ERROR, "take", "error=%s", blok_err_name(rc));
    return;
  }
  struct blok_header head, h;
  blok_ledger_head(n->l, &head, NULL);
  uint64_t t = blok__wall_ms();
  if (t <= head.timestamp_ms) t = head.timestamp_ms + 1; /* later than the parent, always */
  struct blok_exec *x = NULL;
  size_t included = 0, failed = 0;
  rc = blok_exec_begin(n->l, t, n->key.pk, head.height + 1, &x);
  if (rc == BLOK_OK) rc = fill_block(n, x, &included, &failed);
  if (rc == BLOK_OK && included == 0 && !allow_empty) rc = BLOK_ENOTFOUND; /* all refused */
  if (rc == BLOK_OK) rc = seal(n, x, &h);
  blok_exec_free(x);
  if (rc == BLOK_ENOTFOUND) return;
  if (rc != BLOK_OK) {
    blok_mempool_untake(n->mp);
    blok_log(BLOK_LOG_ERROR, "block", "height=%llu error=%s; stopping",
             (unsigned long long)head.height + 1, blok_err_name(rc));
    stop(n, 1); /* a store that cannot commit: stop rather than fork from ourselves */
    return;
  }
  after_commit(n, &h, failed, started_us);
  struct blok_mempool_stats st;
  blok_mempool_stats(n->mp, &st);
  if (st.ready > 0) uv_async_send(&n->ready); /* more waiting: the next block at once */
}

static void on_ready(uv_async_t *a) {
  struct node *n = a->data;
  if (n->v == NULL) produce(n, false); /* with several validators, the replica proposes */
}

static void on_timer(uv_timer_t *t) {
  struct node *n = t->data;
  if (n->v == NULL && blok_monotonic_ms() - n->last_block_ms >= n->c->empty_block_interval_ms)
    produce(n, true);
}

static void on_signal(uv_signal_t *s, int signum) {
  blok_log(BLOK_LOG_INFO, "signal", "signal=%d action=shutdown", signum);
  stop(s->data, 0);
}

/* --- start and stop ----------------------------------------------------------------------- */

static enum blok_err open_ledger(struct node *n, struct blok_why *why) {
  char dir[PATH_MAX + 8];
  blok_modules_default(&n->reg);
  BLOK_TRY(blok_genesis_load(&n->g, n->c->genesis_path, &n->reg, why));
  enum blok_err rc = blok_keyfile_read(&n->key, n->c->validator_key_path);
  if (rc != BLOK_OK)
    return blok_refuse(why, rc, "validator key %s: %s", n->c->validator_key_path,
                       blok_strerror(rc));
  n->self = n->g.validator_count;
  for (size_t i = 0; i < n->g.validator_count; i++)
    if (memcmp(n->key.pk, n->g.validators[i], 32) == 0) n->self = i;
  if (n->self == n->g.validator_count)
    return blok_refuse(why, BLOK_EBADKEY,
                       "validator key %s is not one of the genesis validators' (a node that "
                       "only follows the chain, an observer, is not built yet)",
                       n->c->validator_key_path);
  if (mkdir(n->c->data_dir, 0700) != 0 && errno != EEXIST)
    return blok_refuse(why, BLOK_EIO, "data_dir %s: %s", n->c->data_dir, strerror(errno));
  snprintf(dir, sizeof dir, "%s/ledger", n->c->data_dir);
  struct blok_store_opts so = {.dir = dir, .unsynced_for_bench = n->c->unsynced_for_bench};
  rc = blok_store_open(&n->store, &so);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "store %s: %s", dir, blok_strerror(rc));
  BLOK_TRY(blok_ledger_open(&n->l, n->store, &n->reg, &n->g, why));
  return n->g.validator_count > 1 ? blok__validator_tables(n, why) : BLOK_OK;
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
                             .accepted = n->v ? blok__validator_gossip : NULL,
                             .accepted_ctx = n};
  return blok_api_start(&n->api, &ao, &ad, why);
}

static void close_cb(uv_handle_t *h) {
  (void)h;
}

static void shutdown_all(struct node *n) {
  blok_notify_close(&n->notify);
  if (n->api) blok_api_stop(n->api);
  blok__validator_stop(n); /* before the mempool: the replica's callbacks use it */
  if (n->mp) blok_mempool_free(n->mp);
  if (uv_loop_alive(&n->loop)) {
    uv_close((uv_handle_t *)&n->ready, close_cb);
    uv_close((uv_handle_t *)&n->timer, close_cb);
    uv_close((uv_handle_t *)&n->sigint, close_cb);
    uv_close((uv_handle_t *)&n->sigterm, close_cb);
    uv_run(&n->loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&n->loop);
  blok_mempool_batch_release(&n->batch);
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
  uv_timer_init(&n->loop, &n->timer);
  n->timer.data = n;
  uint64_t tick = n->c->empty_block_interval_ms / 4;
  uv_timer_start(&n->timer, on_timer, tick ? tick : 1, tick ? tick : 1);
  uv_signal_init(&n->loop, &n->sigint);
  uv_signal_init(&n->loop, &n->sigterm);
  n->sigint.data = n->sigterm.data = n;
  uv_signal_start(&n->sigint, on_signal, SIGINT);
  uv_signal_start(&n->sigterm, on_signal, SIGTERM);
}

int blok_node_run(const struct blok_node_config *c) {
  static struct node node; /* one per process; large, so not on the stack */
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
    if (rc == BLOK_OK && n->v != NULL) rc = blok__validator_start(n, &why);
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
