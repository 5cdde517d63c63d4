/*
 * The node's validator (docs/NODE.md, "What it does" and "Several validators"): the replica
 * (blok/replica.h) on the node's libuv loop, with the node's mempool, API and LMDB store, and over
 * the validators' network (blok/net.h) when the genesis lists more than one. One validator runs the
 * same protocol with n = 1: it votes for its own blocks and needs no network.
 *
 * Persistence: the safety record and the proposals the replica accepted live in two tables of
 * the node's store. A proposal is staged and written in the same synced LMDB transaction as the
 * safety record that follows it (the vote for it), or at the end of the replica call when no
 * vote follows; nothing leaves before that write returns. Proposals at or below the committed
 * head are deleted now and then.
 *
 * Transactions: a client's transaction accepted by the API is gossiped to the other validators
 * in TXS frames (API threads queue it, the loop sends it); a validator's mempool takes what
 * peers gossip. The leader fills its block from its mempool and gives the transactions back at
 * once (they leave the mempool when a block holding them commits), so a block built on an
 * uncommitted one skips what its parent holds by nonce.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blok/log.h"
#include "blok/net.h"
#include "blok/replica.h"
#include "blok/sha256.h"
#include "blok/sync.h"
#include "node_internal.h"
#include "blok/banned.h"

#define PRUNE_EVERY      32 /* delete committed proposals every this many heights */
#define SAFETY_KEY       "safety"
#define BLOCKS_LOAD_MAX  256
#define FILL_TAKE_FACTOR 3 /* see env_fill */
#define STAGED_MAX       4 /* proposals waiting to be written with the safety record */
/* A leader whose pool is still verifying a stream of transactions waits, in steps, up to
 * BATCH_WAIT_MAX_MS for block_txs_max / BATCH_MIN_DIV of them to be ready since its last
 * block: a block has a fixed cost (two synced writes, the state tree's upper levels written
 * again, and most leaf pages of the hash-keyed state and transaction tables copied and written
 * again) of tens of ms, which small blocks pay again and again. With a quarter block and 30 ms
 * the single node's blocks held about 1,400 transactions and its work besides verification was
 * 0.51 of the verification's; with half a block and 60 ms, 0.45 (docs/BENCHMARKS.md). An idle
 * pool (a lone transaction) builds at once. */
#define BATCH_MIN_DIV      2
#define BATCH_WAIT_STEP_MS 5
#define BATCH_WAIT_MAX_MS  60

struct staged {
  uint8_t key[40]; /* height (big-endian) || SHA-256 of the frame */
  struct blok_buf frame;
};

struct blok__validator {
  struct node *n;
  struct blok_replica *r;
  struct blok_net *net;
  unsigned t_safety, t_blocks;
  uv_timer_t round_timer, build_timer;
  uint64_t timer_round;
  struct blok_wire_msg *omsg; /* an observer's frame, decoded */
  struct blok_buf out;        /* replies to observers */
  uint64_t pruned_at;
  uint64_t step_started_us; /* when the replica call under way began (for the metrics) */
  struct staged staged[STAGED_MAX];
  size_t staged_count;
  uint64_t commit_failures;   /* the replica's count, as last logged */
  uint64_t verified_at_build; /* the pool's verified total when the last block was built */
  uint64_t batch_waited_ms;   /* how long the armed build has waited for a batch */
  bool handles_open;
  int handles_closed;
};

/* --- the store: safety record and proposals ----------------------------------------------- */

/* The staged proposals and, when rec is set, the safety record: one synced transaction. */
struct persist_arg {
  struct blok__validator *v;
  const uint8_t *rec;
  size_t len;
};

static enum blok_err persist_fn(struct blok_txn *t, void *arg) {
  const struct persist_arg *p = arg;
  struct blok__validator *v = p->v;
  for (size_t i = 0; i < v->staged_count; i++)
    BLOK_TRY(blok_txn_put(t, v->t_blocks, v->staged[i].key, sizeof v->staged[i].key,
                          v->staged[i].frame.data, v->staged[i].frame.len));
  if (p->rec == NULL) return BLOK_OK;
  return blok_txn_put(t, v->t_safety, SAFETY_KEY, strlen(SAFETY_KEY), p->rec, p->len);
}

static enum blok_err persist(struct blok__validator *v, const uint8_t *rec, size_t len) {
  if (rec == NULL && v->staged_count == 0) return BLOK_OK;
  struct persist_arg p = {v, rec, len};
  BLOK_TRY(blok_store_write(v->n->store, persist_fn, &p));
  v->staged_count = 0;
  return BLOK_OK;
}

static enum blok_err env_persist(void *ctx, const uint8_t *rec, size_t len) {
  return persist(ctx, rec, len);
}

/* Staged, written with the next safety record (the replica persists one before any vote or
 * timeout leaves), or at the end of the replica call: one synced write where there were two. */
static enum blok_err env_persist_block(void *ctx, uint64_t height, const uint8_t *frame,
                                       size_t len) {
  struct blok__validator *v = ctx;
  if (v->staged_count == STAGED_MAX) BLOK_TRY(persist(v, NULL, 0));
  struct staged *s = &v->staged[v->staged_count];
  blok_store_u64_key(s->key, height);
  blok_sha256(s->key + 8, frame, len);
  blok_buf_clear(&s->frame);
  BLOK_TRY(blok_buf_append(&s->frame, frame, len));
  v->staged_count++;
  return BLOK_OK;
}

struct prune_arg {
  unsigned table;
  uint64_t height;
};

static enum blok_err prune_fn(struct blok_txn *t, void *arg) {
  const struct prune_arg *p = arg;
  struct blok_cursor *c;
  struct blok_kv kv;
  static uint8_t keys[BLOCKS_LOAD_MAX][40];
  size_t count = 0;
  BLOK_TRY(blok_cursor_open(t, p->table, &c));
  static const uint8_t first[8];
  enum blok_err rc = blok_cursor_seek(c, first, sizeof first, &kv);
  while (rc == BLOK_OK && count < BLOCKS_LOAD_MAX && kv.key_len == 40 &&
         blok_store_u64_from_key(kv.key) <= p->height) {
    memcpy(keys[count++], kv.key, 40);
    rc = blok_cursor_next(c, &kv);
  }
  blok_cursor_close(c);
  if (rc != BLOK_OK && rc != BLOK_ENOTFOUND) return rc;
  for (size_t i = 0; i < count; i++)
    BLOK_TRY(blok_txn_del(t, p->table, keys[i], 40));
  return BLOK_OK;
}

static void env_prune_blocks(void *ctx, uint64_t height) {
  struct blok__validator *v = ctx;
  if (height < v->pruned_at + PRUNE_EVERY) return;
  struct prune_arg p = {v->t_blocks, height};
  enum blok_err rc = blok_store_write(v->n->store, prune_fn, &p);
  if (rc != BLOK_OK)
    blok_log(BLOK_LOG_WARN, "prune", "error=%s", blok_err_name(rc));
  else
    v->pruned_at = height;
}

/* The persisted record and proposals, for the replica's restart (copies, freed by caller). */
struct loaded {
  uint8_t *safety;
  size_t safety_len;
  size_t count;
  uint8_t *blocks[BLOCKS_LOAD_MAX];
  size_t lens[BLOCKS_LOAD_MAX];
};

static void loaded_free(struct loaded *ld) {
  free(ld->safety);
  for (size_t i = 0; i < ld->count; i++)
    free(ld->blocks[i]);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n) {
  uint8_t *d = malloc(n ? n : 1);
  if (d && n) memcpy(d, p, n);
  return d;
}

static enum blok_err load(struct blok__validator *v, struct loaded *ld) {
  struct blok_txn *t;
  const uint8_t *val;
  size_t len;
  memset(ld, 0, sizeof *ld);
  BLOK_TRY(blok_store_read_begin(v->n->store, &t));
  enum blok_err rc = blok_txn_get(t, v->t_safety, SAFETY_KEY, strlen(SAFETY_KEY), &val, &len);
  if (rc == BLOK_OK) {
    ld->safety = dup_bytes(val, len);
    ld->safety_len = len;
    rc = ld->safety ? BLOK_OK : BLOK_ENOMEM;
  } else if (rc == BLOK_ENOTFOUND) {
    rc = BLOK_OK;
  }
  struct blok_cursor *c = NULL;
  struct blok_kv kv;
  if (rc == BLOK_OK) rc = blok_cursor_open(t, v->t_blocks, &c);
  if (rc == BLOK_OK) rc = blok_cursor_last(c, &kv); /* the newest first: they matter most */
  while (rc == BLOK_OK && ld->count < BLOCKS_LOAD_MAX) {
    ld->blocks[ld->count] = dup_bytes(kv.val, kv.val_len);
    if (ld->blocks[ld->count] == NULL)
      rc = BLOK_ENOMEM;
    else
      ld->lens[ld->count++] = kv.val_len;
    if (rc == BLOK_OK) rc = blok_cursor_prev(c, &kv);
  }
  if (rc == BLOK_ENOTFOUND) rc = BLOK_OK;
  blok_cursor_close(c);
  blok_store_read_end(t);
  return rc;
}

/* --- the environment ---------------------------------------------------------------------- */

static uint64_t env_now(void *ctx) {
  (void)ctx;
  return blok__wall_ms();
}

static void env_send(void *ctx, size_t to, const uint8_t *frame, size_t len) {
  struct blok__validator *v = ctx;
  if (v->net == NULL) return; /* one validator: nobody to send to */
  enum blok_err rc = blok_net_send(v->net, v->n->g.validators[to], frame, len);
  if (rc != BLOK_OK) blok_log(BLOK_LOG_WARN, "send", "to=%zu error=%s", to, blok_err_name(rc));
}

static void env_broadcast(void *ctx, const uint8_t *frame, size_t len) {
  struct blok__validator *v = ctx;
  if (v->net == NULL) return;
  enum blok_err rc = blok_net_broadcast(v->net, frame, len, 0);
  if (rc != BLOK_OK) blok_log(BLOK_LOG_WARN, "broadcast", "error=%s", blok_err_name(rc));
}

/* Before each call into the replica. */
static void step_begin(struct blok__validator *v) {
  v->step_started_us = blok__monotonic_us();
}

/* What a replica call returned: a store that cannot write stops the node (blok__node_fatal);
 * anything else was a peer's bad message or a refused step, logged. */
static void step_end(struct blok__validator *v, enum blok_err rc, const char *what, size_t from) {
  v->n->metrics.round = blok_replica_round(v->r);
  struct blok_replica_stats st;
  blok_replica_stats(v->r, &st);
  if (st.commit_failures != v->commit_failures) { /* our own state, not a peer's message */
    char state[256];
    blok_replica_describe(v->r, state, sizeof state);
    blok_log(BLOK_LOG_WARN, "commit", "failed=%llu error=%s state=\"%s\"",
             (unsigned long long)st.commit_failures, blok_err_name(st.last_commit_error), state);
    v->commit_failures = st.commit_failures;
  }
  enum blok_err prc = persist(v, NULL, 0); /* proposals no vote followed */
  if (prc != BLOK_OK) rc = prc;
  if (rc == BLOK_OK || rc == BLOK_EDUPLICATE || blok__node_fatal(v->n, rc, what)) return;
  blok_log(BLOK_LOG_DEBUG, what, "from=%zu error=%s", from, blok_err_name(rc));
}

static void on_round_timer(uv_timer_t *t) {
  struct blok__validator *v = t->data;
  step_begin(v);
  step_end(v, blok_replica_timer(v->r, v->timer_round), "timeout", v->n->self);
}

static void on_build_timer(uv_timer_t *t) {
  struct blok__validator *v = t->data;
  struct blok_mempool_stats st;
  blok_mempool_stats(v->n->mp, &st);
  if (st.verifying > 0 &&
      st.verified - v->verified_at_build < v->n->c->block_txs_max / BATCH_MIN_DIV &&
      v->batch_waited_ms < BATCH_WAIT_MAX_MS) {
    v->batch_waited_ms += BATCH_WAIT_STEP_MS;
    uv_timer_start(&v->build_timer, on_build_timer, BATCH_WAIT_STEP_MS, 0);
    return;
  }
  v->verified_at_build = st.verified;
  step_begin(v);
  step_end(v, blok_replica_build(v->r), "propose", v->n->self);
}

void blok__validator_txs_waiting(struct node *n) {
  if (n->v && n->v->r) blok_replica_txs_waiting(n->v->r);
}

static void env_set_timer(void *ctx, uint64_t round, uint64_t delay_ms) {
  struct blok__validator *v = ctx;
  v->timer_round = round;
  uv_timer_start(&v->round_timer, on_round_timer, delay_ms, 0);
}

static void env_set_build_timer(void *ctx, uint64_t delay_ms) {
  struct blok__validator *v = ctx;
  v->batch_waited_ms = 0;
  uv_timer_start(&v->build_timer, on_build_timer, delay_ms, 0);
}

static size_t env_waiting(void *ctx) {
  struct blok__validator *v = ctx;
  struct blok_mempool_stats st;
  blok_mempool_stats(v->n->mp, &st);
  return st.ready;
}

/* The leader's block from the mempool. Transactions go back at once: they leave the pool when
 * a block holding them commits. Ones the uncommitted parents already hold come out first (the
 * pool orders by committed nonces), so it takes up to FILL_TAKE_FACTOR blocks' worth and skips
 * them by nonce before anything else is checked; ones refused for good are removed with their
 * reason. */
static enum blok_err env_fill(void *ctx, struct blok_exec *x) {
  struct blok__validator *v = ctx;
  struct node *n = v->n;
  size_t txs_max = n->c->block_txs_max, bytes_max = n->c->block_bytes_max, bytes = 0;
  BLOK_TRY(blok_mempool_take(n->mp, &n->batch, txs_max * FILL_TAKE_FACTOR,
                             bytes_max * FILL_TAKE_FACTOR));
  enum blok_err rc = BLOK_OK;
  for (size_t i = 0; rc == BLOK_OK && i < n->batch.count; i++) {
    const struct blok_tx *tx = &n->batch.txs[i];
    uint64_t next;
    rc = blok_exec_next_nonce(x, tx->sender, &next);
    if (rc != BLOK_OK || tx->nonce != next) continue; /* in a parent already, or after a gap */
    if (bytes + tx->raw_len > bytes_max) continue;
    struct blok_tx_result res, refusal = {0};
    struct blok_why why = {{0}};
    enum blok_err e = blok_exec_tx(x, tx, true, &res, &why);
    if (e == BLOK_ENOMEM || e == BLOK_ESTORE || e == BLOK_EIO) {
      rc = e;
    } else if (e == BLOK_OK) {
      bytes += tx->raw_len;
      if (blok_exec_tx_count(x) >= txs_max) break;
    } else if (e != BLOK_EFULL) {
      refusal.code = e;
      snprintf(refusal.msg, sizeof refusal.msg, "%s", why.msg);
      blok_mempool_remove(n->mp, tx->id, &refusal);
    }
  }
  blok_mempool_untake(n->mp);
  return rc;
}

static bool env_known(void *ctx, const struct blok_tx *tx) {
  struct blok__validator *v = ctx;
  return blok_mempool_check(v->n->mp, tx);
}

static void env_committed(void *ctx, const struct blok_header *h, const uint8_t hash[32],
                          const struct blok_exec *x) {
  struct blok__validator *v = ctx;
  (void)hash;
  blok__node_committed(v->n, h, x, blok__monotonic_us() - v->step_started_us);
}

static void env_txs(void *ctx, size_t from, const struct blok_wire_msg *m) {
  struct blok__validator *v = ctx;
  (void)from;
  for (size_t i = 0; i < m->count; i++) {
    uint8_t id[32];
    struct blok_why why = {{0}};
    enum blok_err rc = blok_mempool_submit(v->n->mp, m->items[i], m->item_lens[i], id, &why);
    if (rc != BLOK_OK && rc != BLOK_EDUPLICATE)
      blok_log(BLOK_LOG_DEBUG, "gossip", "refused=%s", blok_err_name(rc));
  }
}

/* --- the network -------------------------------------------------------------------------- */

/* An observer may ask for committed blocks and send transactions; nothing else it sends counts. */
static void on_observer_message(struct blok__validator *v, const uint8_t pk[32],
                                const uint8_t *bytes, size_t len) {
  enum blok_err rc = blok_wire_decode(v->omsg, bytes, len);
  if (rc == BLOK_OK && v->omsg->kind == BLOK_WIRE_SYNC) {
    uint32_t count;
    rc = blok_sync_reply(v->n->l, v->omsg->height, &v->out, &count);
    if (rc == BLOK_OK && count > 0) rc = blok_net_send(v->net, pk, v->out.data, v->out.len);
  } else if (rc == BLOK_OK && v->omsg->kind == BLOK_WIRE_TXS) {
    env_txs(v, 0, v->omsg);
  } else if (rc == BLOK_OK) {
    rc = BLOK_EINVAL;
  }
  if (rc != BLOK_OK)
    blok_log(BLOK_LOG_DEBUG, "observer", "kind=%u error=%s", len ? bytes[0] : 0, blok_err_name(rc));
}

static bool allow_observer(const uint8_t pk[32], void *user) {
  const struct blok_node_config *c = user;
  for (size_t i = 0; i < c->observer_count; i++)
    if (memcmp(c->observers[i], pk, 32) == 0) return true;
  return false;
}

static void on_message(const uint8_t pk[32], unsigned flags, const uint8_t *bytes, size_t len,
                       void *user) {
  struct blok__validator *v = user;
  if (flags & BLOK_NET_OBSERVER) {
    on_observer_message(v, pk, bytes, len);
    return;
  }
  size_t i = blok__node_validator(v->n, pk);
  if (i == v->n->g.validator_count) return;
  step_begin(v);
  step_end(v, blok_replica_receive(v->r, i, bytes, len), "refused", i);
}

static void on_peer_up(const uint8_t pk[32], unsigned flags, void *user) {
  if (!(flags & BLOK_NET_OBSERVER))
    blok__node_log_peer(((struct blok__validator *)user)->n, pk, "up");
}

static void on_peer_down(const uint8_t pk[32], unsigned flags, void *user) {
  if (!(flags & BLOK_NET_OBSERVER))
    blok__node_log_peer(((struct blok__validator *)user)->n, pk, "down");
}

/* --- start and stop ----------------------------------------------------------------------- */

enum blok_err blok__validator_tables(struct node *n, struct blok_why *why) {
  struct blok__validator *v = calloc(1, sizeof *v);
  if (v == NULL) return blok_refuse(why, BLOK_ENOMEM, "out of memory");
  v->n = n;
  n->v = v;
  blok_buf_init(&v->out, BLOK_WIRE_FRAME_MAX);
  v->omsg = malloc(sizeof *v->omsg);
  if (v->omsg == NULL) return blok_refuse(why, BLOK_ENOMEM, "out of memory");
  for (size_t i = 0; i < STAGED_MAX; i++)
    blok_buf_init(&v->staged[i].frame, BLOK_WIRE_FRAME_MAX);
  enum blok_err rc = blok_store_table(n->store, "consensus.safety", &v->t_safety);
  if (rc == BLOK_OK) rc = blok_store_table(n->store, "consensus.proposals", &v->t_blocks);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "consensus tables: %s", blok_strerror(rc));
  return BLOK_OK;
}

/* The validators' network, from the config's p2p address and peers. */
static enum blok_err open_network(struct blok__validator *v, struct blok_why *why) {
  struct node *n = v->n;
  const struct blok_node_config *c = n->c;
  struct blok_net_config nc;
  BLOK_TRY(blok__node_net_config(n, &nc, why));
  nc.listen_host = c->p2p_host;
  nc.listen_port = c->p2p_port;
  if (c->observer_count > 0) {
    nc.allow_observer = allow_observer;
    nc.observer_user = (void *)(uintptr_t)c;
    nc.limits.observers_max = c->observer_count;
  }
  struct blok_net_callbacks cb = {
      .on_message = on_message, .on_peer_up = on_peer_up, .on_peer_down = on_peer_down, .user = v};
  BLOK_TRY(blok_net_open(&v->net, &n->loop, &nc, &cb, why));
  blok__gossip_set_net(&n->gossip, v->net);
  return BLOK_OK;
}

enum blok_err blok__validator_start(struct node *n, struct blok_why *why) {
  struct blok__validator *v = n->v;
  const struct blok_node_config *c = n->c;
  uv_timer_init(&n->loop, &v->round_timer);
  uv_timer_init(&n->loop, &v->build_timer);
  v->round_timer.data = v->build_timer.data = v;
  v->handles_open = true;
  if (n->g.validator_count > 1 && !c->has_p2p)
    return blok_refuse(why, BLOK_EINVAL,
                       "genesis lists %zu validators: the config needs p2p "
                       "(HOST:PORT to listen on) and peers",
                       n->g.validator_count);
  if (c->has_p2p) BLOK_TRY(open_network(v, why));
  struct loaded ld;
  enum blok_err rc = load(v, &ld);
  if (rc != BLOK_OK) {
    loaded_free(&ld);
    return blok_refuse(why, rc, "consensus records: %s", blok_strerror(rc));
  }
  struct blok_replica_env env = {
      .ctx = v,
      .now_ms = env_now,
      .send = env_send,
      .broadcast = env_broadcast,
      .set_timer = env_set_timer,
      .set_build_timer = env_set_build_timer,
      .waiting = env_waiting,
      .persist = env_persist,
      .persist_block = env_persist_block,
      .prune_blocks = env_prune_blocks,
      .fill = env_fill,
      .known = env_known,
      .committed = env_committed,
      .txs = env_txs,
  };
  uint64_t base = c->round_timeout_ms;
  struct blok_replica_config rc_cfg = {
      .self = n->self,
      .key = &n->key,
      .base_timeout_ms = base,
      .max_timeout_ms = base * 16,
      .block_delay_ms = 5,
      .empty_block_ms =
          base / 2 < c->empty_block_interval_ms ? base / 2 : c->empty_block_interval_ms,
      .safety_record = ld.safety,
      .safety_record_len = ld.safety_len,
      .blocks = (const uint8_t *const *)ld.blocks,
      .block_lens = ld.lens,
      .block_count = ld.count,
  };
  rc = blok_replica_open(&v->r, n->l, &rc_cfg, &env);
  step_begin(v);
  if (rc == BLOK_OK) rc = blok_replica_start(v->r);
  loaded_free(&ld);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "consensus: %s", blok_strerror(rc));
  if (v->net)
    blok_log(BLOK_LOG_INFO, "consensus", "validator=%zu of=%zu p2p=%s:%u peers=%zu round=%llu",
             n->self, n->g.validator_count, c->p2p_host, (unsigned)blok_net_listen_port(v->net),
             c->peer_count, (unsigned long long)blok_replica_round(v->r));
  else
    blok_log(BLOK_LOG_INFO, "consensus", "validator=%zu of=%zu round=%llu", n->self,
             n->g.validator_count, (unsigned long long)blok_replica_round(v->r));
  return BLOK_OK;
}

static void closed(uv_handle_t *h) {
  ((struct blok__validator *)h->data)->handles_closed++;
}

void blok__validator_stop(struct node *n) {
  struct blok__validator *v = n->v;
  if (v == NULL) return;
  if (v->handles_open) {
    uv_close((uv_handle_t *)&v->round_timer, closed);
    uv_close((uv_handle_t *)&v->build_timer, closed);
    while (v->handles_closed < 2) /* they live in v: closed before it is freed */
      uv_run(&n->loop, UV_RUN_NOWAIT);
  }
  blok__gossip_set_net(&n->gossip, NULL);
  blok_net_close(v->net);
  blok_replica_close(v->r);
  blok_buf_release(&v->out);
  free(v->omsg);
  for (size_t i = 0; i < STAGED_MAX; i++)
    blok_buf_release(&v->staged[i].frame);
  free(v);
  n->v = NULL;
}
