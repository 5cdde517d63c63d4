/*
 * Deterministic simulation of a validator cluster (docs/CONSENSUS.md, "Simulation").
 *
 * Every node runs the real replica (consensus core + ledger + state tree + LMDB store, in a
 * folder under /dev/shm) inside this one process; the network, the clock, timers and crashes
 * are simulated and every choice comes from one seed, so a run replays exactly:
 *
 *   sim --seed S [--size N] [--twins K] [--break-vote-rule]      one run, verbose
 *   sim --seeds COUNT [--first S] [...]                          many, one line each failure
 *   sim ... --expect-violation                                   succeeds only if found
 *
 * Faults, by seed: message drops, duplicates, delays and so reordering; symmetric and one-way
 * partitions that come and heal; crashes and restarts (a restarted node keeps only what it
 * synced: its LMDB commits, its safety record and the proposals written before it; proposals
 * written after the last persist, its mempool, uncommitted blocks and timers are lost); Byzantine
 * twins (a second node with a validator's key, and its own state, which equivocates). Then every
 * fault heals and the cluster must commit again.
 *
 * Invariants, checked as the run goes: no two blocks committed at one height by honest nodes
 * (and so one state root per height); no honest validator signs two different votes in one
 * round; a transaction acknowledged as committed is there, at its height, on every honest node
 * that reached that height, also after crashes; after the last heal, with at most f faulty,
 * every honest node commits new blocks within LIVENESS_MS of simulated time.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blok/anchor.h"
#include "blok/consortium.h"
#include "blok/hex.h"
#include "blok/ledger.h"
#include "blok/replica.h"
#include "blok/sha256.h"
#include "blok/store.h"
#include "blok/tx.h"
#include "blok/wire.h"
#include "blok/banned.h"

#define NODES_MAX    16
#define CLIENTS      4
#define POOL_MAX     256
#define FAULT_MS     15000 /* faults happen in [0, FAULT_MS) */
#define LIVENESS_MS  30000 /* after the heal, every honest node must commit within this */
#define BASE_TIMEOUT 1000
#define MAX_TIMEOUT  8000
#define ACKS_MAX     4096
#define HEIGHTS_MAX  100000
#define GENESIS_MS   1700000000000ull /* simulated time 0 */

/* --- deterministic randomness ------------------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static uint64_t below(uint64_t n) {
  return n ? rnd() % n : 0;
}
static bool chance(unsigned per_mille) {
  return below(1000) < per_mille;
}

/* --- the cluster -------------------------------------------------------------------------- */

struct pooled {
  uint8_t id[32];
  size_t len;
  uint8_t *bytes;
};

struct node {
  size_t idx; /* validator index */
  bool twin;  /* the second node with this key: Byzantine */
  bool alive;
  char dir[96];
  struct blok_store *store;
  struct blok_ledger *l;
  struct blok_replica *r;
  uint8_t safety[BLOK_SAFETY_RECORD_MAX]; /* the "disk": what persist synced */
  size_t safety_len;
  size_t disk_blocks; /* persisted proposals */
  uint8_t *disk_frames[64];
  size_t disk_lens[64];
  uint64_t disk_heights[64];
  bool disk_synced[64]; /* false: written, lost in a crash unless a persist followed */
  uint64_t timer_gen, build_gen;
  size_t pool_count;
  struct pooled pool[POOL_MAX];
};

enum ev_kind {
  EV_DELIVER,
  EV_TIMER,
  EV_BUILD,
  EV_SUBMIT,
  EV_CRASH,
  EV_RESTART,
  EV_PARTITION,
  EV_HEAL
};

struct ev {
  uint64_t t, seq;
  enum ev_kind kind;
  size_t node, from;
  uint64_t round, gen;
  uint8_t *frame;
  size_t len;
};

struct client {
  struct blok_sign_keypair key;
  uint64_t nonce; /* of the transaction in flight (0: none yet) */
  uint64_t sent_at;
  bool acked;
  uint8_t id[32];
  struct blok_buf tx;
};

struct ack {
  uint8_t id[32];
  uint64_t height;
};

struct sim {
  uint64_t seed;
  size_t n, twins, count; /* validators, twins, nodes */
  int verbose;
  uint64_t now, seq;
  struct node nodes[NODES_MAX];
  struct blok_sign_keypair keys[NODES_MAX];
  struct blok_registry reg;
  struct blok_genesis g;
  struct client clients[CLIENTS];
  /* the network */
  bool blocked[NODES_MAX][NODES_MAX]; /* from node, to node */
  unsigned drop_pm, dup_pm;
  uint64_t delay_max;
  /* the event queue: a binary heap */
  struct ev *heap;
  size_t heap_len, heap_cap;
  /* invariants */
  uint8_t (*committed)[32]; /* by height: the first honest commit's hash */
  uint8_t (*roots)[32];
  uint64_t top;                      /* highest height committed by an honest node */
  uint8_t votes[NODES_MAX][512][32]; /* honest node's vote hash by round % 512 */
  uint64_t vote_rounds[NODES_MAX][512];
  struct ack acks[ACKS_MAX];
  size_t ack_count;
  char violation[512];
  uint64_t messages, dropped, crashes, partitions;
};

static struct sim *S;

__attribute__((format(printf, 1, 2))) static void violate(const char *fmt, ...) {
  if (S->violation[0]) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(S->violation, sizeof S->violation, fmt, ap);
  va_end(ap);
}

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...) {
  if (!S->verbose) return;
  va_list ap;
  va_start(ap, fmt);
  printf("[%7" PRIu64 " ms] ", S->now);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

static bool ev_less(const struct ev *a, const struct ev *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(struct ev e) {
  if (S->heap_len == S->heap_cap) {
    S->heap_cap = S->heap_cap ? S->heap_cap * 2 : 1024;
    S->heap = realloc(S->heap, S->heap_cap * sizeof *S->heap);
    if (S->heap == NULL) abort();
  }
  e.seq = S->seq++;
  size_t i = S->heap_len++;
  S->heap[i] = e;
  while (i > 0 && ev_less(&S->heap[i], &S->heap[(i - 1) / 2])) {
    struct ev t = S->heap[i];
    S->heap[i] = S->heap[(i - 1) / 2];
    S->heap[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
}

static struct ev pop(void) {
  struct ev top = S->heap[0];
  S->heap[0] = S->heap[--S->heap_len];
  for (size_t i = 0;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < S->heap_len && ev_less(&S->heap[l], &S->heap[m])) m = l;
    if (r < S->heap_len && ev_less(&S->heap[r], &S->heap[m])) m = r;
    if (m == i) break;
    struct ev t = S->heap[i];
    S->heap[i] = S->heap[m];
    S->heap[m] = t;
    i = m;
  }
  return top;
}

/* --- the environment each replica sees ---------------------------------------------------- */

static size_t node_of(void *ctx) {
  return (size_t)((struct node *)ctx - S->nodes);
}

static uint64_t env_now(void *ctx) {
  /* A twin's clock is a millisecond ahead, so its blocks differ from its sibling's. */
  return GENESIS_MS + S->now + (((struct node *)ctx)->twin ? 1 : 0);
}

/* An honest node's vote: the second different one in a round is a violation. */
static void watch_vote(size_t from, const uint8_t *frame, size_t len) {
  if (S->nodes[from].twin || len < 1 || frame[0] != BLOK_WIRE_VOTE) return;
  struct blok_wire_msg *m = malloc(sizeof *m);
  if (m == NULL) abort();
  if (blok_wire_decode(m, frame, len) == BLOK_OK) {
    const struct blok_vote_data *v = &m->cons.u.vote.vote;
    size_t slot = v->round % 512;
    if (S->vote_rounds[from][slot] == v->round && v->round != 0 &&
        memcmp(S->votes[from][slot], v->block_hash, 32) != 0)
      violate("honest validator %zu signed two different votes in round %" PRIu64,
              S->nodes[from].idx, v->round);
    S->vote_rounds[from][slot] = v->round;
    memcpy(S->votes[from][slot], v->block_hash, 32);
  }
  free(m);
}

static void deliver_copy(size_t from, size_t to, const uint8_t *frame, size_t len) {
  S->messages++;
  if (S->blocked[from][to] || chance(S->drop_pm)) {
    S->dropped++;
    return;
  }
  int copies = chance(S->dup_pm) ? 2 : 1;
  for (int c = 0; c < copies; c++) {
    uint8_t *f = malloc(len);
    if (f == NULL) abort();
    memcpy(f, frame, len);
    uint64_t delay = 1 + below(S->delay_max);
    if (chance(20)) delay += below(2000); /* now and then a long delay */
    push((struct ev){
        .t = S->now + delay, .kind = EV_DELIVER, .node = to, .from = from, .frame = f, .len = len});
  }
}

static void env_send(void *ctx, size_t to, const uint8_t *frame, size_t len) {
  size_t from = node_of(ctx);
  watch_vote(from, frame, len);
  for (size_t i = 0; i < S->count; i++)
    if (S->nodes[i].idx == to && i != from) deliver_copy(from, i, frame, len);
}

static void env_broadcast(void *ctx, const uint8_t *frame, size_t len) {
  size_t from = node_of(ctx);
  for (size_t i = 0; i < S->count; i++)
    if (S->nodes[i].idx != S->nodes[from].idx) deliver_copy(from, i, frame, len);
}

static void env_timer(void *ctx, uint64_t round, uint64_t delay_ms) {
  struct node *nd = ctx;
  nd->timer_gen++;
  push((struct ev){.t = S->now + delay_ms,
                   .kind = EV_TIMER,
                   .node = node_of(ctx),
                   .round = round,
                   .gen = nd->timer_gen});
}

static void env_build_timer(void *ctx, uint64_t delay_ms) {
  struct node *nd = ctx;
  nd->build_gen++;
  push((struct ev){
      .t = S->now + delay_ms, .kind = EV_BUILD, .node = node_of(ctx), .gen = nd->build_gen});
}

static size_t env_waiting(void *ctx) {
  return ((struct node *)ctx)->pool_count;
}

/* The safety record is synced, and with it every proposal written before (persist_block's
 * contract lets a node defer a proposal's write to the next persist, as the node does). */
static enum blok_err env_persist(void *ctx, const uint8_t *rec, size_t len) {
  struct node *nd = ctx;
  if (len > sizeof nd->safety) return BLOK_ETOOLONG;
  memcpy(nd->safety, rec, len);
  nd->safety_len = len;
  for (size_t i = 0; i < nd->disk_blocks; i++)
    nd->disk_synced[i] = true;
  return BLOK_OK;
}

static void disk_drop(struct node *nd, size_t i) {
  free(nd->disk_frames[i]);
  nd->disk_blocks--;
  nd->disk_frames[i] = nd->disk_frames[nd->disk_blocks];
  nd->disk_lens[i] = nd->disk_lens[nd->disk_blocks];
  nd->disk_heights[i] = nd->disk_heights[nd->disk_blocks];
  nd->disk_synced[i] = nd->disk_synced[nd->disk_blocks];
}

static enum blok_err env_persist_block(void *ctx, uint64_t height, const uint8_t *frame,
                                       size_t len) {
  struct node *nd = ctx;
  for (size_t i = 0; i < nd->disk_blocks; i++)
    if (nd->disk_lens[i] == len && memcmp(nd->disk_frames[i], frame, len) == 0) return BLOK_OK;
  if (nd->disk_blocks == 64) { /* the oldest gives way */
    size_t old = 0;
    for (size_t i = 1; i < nd->disk_blocks; i++)
      if (nd->disk_heights[i] < nd->disk_heights[old]) old = i;
    disk_drop(nd, old);
  }
  uint8_t *f = malloc(len);
  if (f == NULL) return BLOK_ENOMEM;
  memcpy(f, frame, len);
  nd->disk_frames[nd->disk_blocks] = f;
  nd->disk_lens[nd->disk_blocks] = len;
  nd->disk_synced[nd->disk_blocks] = false;
  nd->disk_heights[nd->disk_blocks++] = height;
  return BLOK_OK;
}

static void env_prune_blocks(void *ctx, uint64_t height) {
  struct node *nd = ctx;
  for (size_t i = 0; i < nd->disk_blocks;)
    if (nd->disk_heights[i] <= height)
      disk_drop(nd, i);
    else
      i++;
}

static void pool_drop(struct node *nd, size_t i) {
  free(nd->pool[i].bytes);
  nd->pool[i] = nd->pool[--nd->pool_count];
}

static enum blok_err env_fill(void *ctx, struct blok_exec *x) {
  struct node *nd = ctx;
  for (size_t i = 0; i < nd->pool_count;) {
    struct blok_tx tx;
    struct blok_tx_result res;
    struct blok_why why = {{0}};
    enum blok_err rc = blok_tx_decode(&tx, nd->pool[i].bytes, nd->pool[i].len);
    if (rc == BLOK_OK) rc = blok_exec_tx(x, &tx, true, &res, &why);
    if (rc == BLOK_ENOMEM || rc == BLOK_ESTORE || rc == BLOK_EIO) return rc;
    if (rc == BLOK_EGAP) {
      i++;
      continue;
    }
    pool_drop(nd, i); /* in the block, or never admissible (stale nonce, expired) */
  }
  return BLOK_OK;
}

static void pool_add(struct node *nd, const uint8_t *bytes, size_t len) {
  struct blok_tx tx;
  if (blok_tx_decode(&tx, bytes, len) != BLOK_OK || blok_tx_verify(&tx) != BLOK_OK) return;
  for (size_t i = 0; i < nd->pool_count; i++)
    if (memcmp(nd->pool[i].id, tx.id, 32) == 0) return;
  if (nd->pool_count == POOL_MAX) return;
  struct pooled *p = &nd->pool[nd->pool_count];
  p->bytes = malloc(len);
  if (p->bytes == NULL) abort();
  memcpy(p->bytes, bytes, len);
  p->len = len;
  memcpy(p->id, tx.id, 32);
  nd->pool_count++;
}

static void env_txs(void *ctx, size_t from, const struct blok_wire_msg *m) {
  (void)from;
  for (size_t i = 0; i < m->count; i++)
    pool_add(ctx, m->items[i], m->item_lens[i]);
}

static void env_committed(void *ctx, const struct blok_header *h, const uint8_t hash[32],
                          const struct blok_exec *x) {
  struct node *nd = ctx;
  if (nd->twin) return;
  if (h->height >= HEIGHTS_MAX) {
    violate("chain longer than the simulator's table");
    return;
  }
  static const uint8_t zero[32];
  if (memcmp(S->committed[h->height], zero, 32) == 0) {
    memcpy(S->committed[h->height], hash, 32);
    memcpy(S->roots[h->height], h->state_root, 32);
  } else if (memcmp(S->committed[h->height], hash, 32) != 0) {
    violate("two different blocks committed at height %" PRIu64 " (node %zu)", h->height,
            node_of(ctx));
  } else if (memcmp(S->roots[h->height], h->state_root, 32) != 0) {
    violate("two state roots at height %" PRIu64, h->height);
  }
  if (h->height > S->top) S->top = h->height;
  if (S->verbose > 1) say("node %zu committed height %" PRIu64, node_of(ctx), h->height);
  /* Acknowledge the clients' transactions in it. */
  for (size_t i = 0; i < blok_exec_tx_count(x); i++) {
    const uint8_t *id = blok_exec_tx_id(x, i);
    for (size_t c = 0; c < CLIENTS; c++) {
      struct client *cl = &S->clients[c];
      if (cl->acked || memcmp(cl->id, id, 32) != 0) continue;
      cl->acked = true;
      if (S->ack_count < ACKS_MAX) {
        memcpy(S->acks[S->ack_count].id, id, 32);
        S->acks[S->ack_count++].height = h->height;
      }
    }
    for (size_t k = 0; k < nd->pool_count; k++)
      if (memcmp(nd->pool[k].id, id, 32) == 0) pool_drop(nd, k);
  }
}

static const struct blok_replica_env ENV = {
    .now_ms = env_now,
    .send = env_send,
    .broadcast = env_broadcast,
    .set_timer = env_timer,
    .set_build_timer = env_build_timer,
    .waiting = env_waiting,
    .persist = env_persist,
    .persist_block = env_persist_block,
    .prune_blocks = env_prune_blocks,
    .fill = env_fill,
    .committed = env_committed,
    .txs = env_txs,
};

/* --- nodes: open, crash, restart ---------------------------------------------------------- */

static void node_up(size_t i) {
  struct node *nd = &S->nodes[i];
  struct blok_store_opts o = {.dir = nd->dir, .map_size_bytes = (size_t)4 << 20};
  struct blok_why why = {{0}};
  if (blok_store_open(&nd->store, &o) != BLOK_OK) abort();
  if (blok_ledger_open(&nd->l, nd->store, &S->reg, &S->g, &why) != BLOK_OK) {
    fprintf(stderr, "ledger open: %s\n", why.msg);
    abort();
  }
  struct blok_replica_env env = ENV;
  env.ctx = nd;
  struct blok_replica_config cfg = {
      .self = nd->idx,
      .key = &S->keys[nd->idx],
      .base_timeout_ms = BASE_TIMEOUT,
      .max_timeout_ms = MAX_TIMEOUT,
      .block_delay_ms = 20,
      .empty_block_ms = BASE_TIMEOUT / 3,
      .safety_record = nd->safety_len ? nd->safety : NULL,
      .safety_record_len = nd->safety_len,
      .blocks = (const uint8_t *const *)nd->disk_frames,
      .block_lens = nd->disk_lens,
      .block_count = nd->disk_blocks,
  };
  if (blok_replica_open(&nd->r, nd->l, &cfg, &env) != BLOK_OK) abort();
  nd->alive = true;
  if (blok_replica_start(nd->r) != BLOK_OK) violate("node %zu failed to start", i);
}

static void node_down(size_t i) {
  struct node *nd = &S->nodes[i];
  blok_replica_close(nd->r);
  blok_ledger_close(nd->l);
  blok_store_close(nd->store);
  nd->r = NULL;
  nd->l = NULL;
  nd->store = NULL;
  nd->alive = false;
  nd->timer_gen++; /* its timers died with it */
  nd->build_gen++;
  for (size_t k = 0; k < nd->disk_blocks;) /* proposals no persist followed */
    if (!nd->disk_synced[k])
      disk_drop(nd, k);
    else
      k++;
  while (nd->pool_count)
    pool_drop(nd, 0);
}

/* Every transaction acknowledged as committed is on node i at its height. */
static void check_acks(size_t i) {
  struct node *nd = &S->nodes[i];
  if (nd->twin || !nd->alive) return;
  struct blok_header head;
  blok_ledger_head(nd->l, &head, NULL);
  for (size_t k = 0; k < S->ack_count; k++) {
    if (S->acks[k].height > head.height) continue;
    struct blok_tx_location loc;
    if (blok_ledger_tx(nd->l, S->acks[k].id, &loc) != BLOK_OK || loc.height != S->acks[k].height)
      violate("an acknowledged transaction is missing on node %zu", i);
  }
}

/* --- clients ------------------------------------------------------------------------------ */

static void client_tx(struct client *cl) {
  struct blok_tx tx;
  uint8_t payload_mem[256], hash[32];
  struct blok_buf pl = {
      .data = payload_mem, .cap = sizeof payload_mem, .size_bytes_max = sizeof payload_mem};
  char label[48];
  snprintf(label, sizeof label, "doc %" PRIu64, cl->nonce);
  blok_sha256(hash, label, strlen(label));
  hash[0] ^= (uint8_t)(cl - S->clients); /* per client */
  if (blok_anchor_payload(&pl, hash, label) != BLOK_OK) abort();
  memset(&tx, 0, sizeof tx);
  tx.version = BLOK_TX_VERSION;
  snprintf(tx.chain_id, sizeof tx.chain_id, "%s", S->g.chain_id);
  snprintf(tx.module, sizeof tx.module, "anchor");
  snprintf(tx.type, sizeof tx.type, "record");
  tx.nonce = cl->nonce;
  tx.expiry_height = UINT64_MAX / 2;
  tx.payload = pl.data;
  tx.payload_len = pl.len;
  blok_buf_clear(&cl->tx);
  if (blok_tx_sign(&tx, &cl->key, &cl->tx) != BLOK_OK) abort();
  memcpy(cl->id, tx.id, 32);
}

/* A client sends its transaction to a live node, which gossips it; a new one once the last
 * is committed, the same one again to another node when it waited too long. */
static void submit(void) {
  struct client *cl = &S->clients[below(CLIENTS)];
  if (cl->nonce == 0 || cl->acked) {
    cl->nonce++;
    cl->acked = false;
    client_tx(cl);
  } else if (S->now - cl->sent_at < 3000) {
    return;
  }
  cl->sent_at = S->now;
  size_t i = below(S->count);
  struct node *nd = &S->nodes[i];
  if (!nd->alive) return;
  pool_add(nd, cl->tx.data, cl->tx.len);
  uint8_t frame_mem[BLOK_TX_ENCODED_MAX + 16];
  struct blok_buf f = {
      .data = frame_mem, .cap = sizeof frame_mem, .size_bytes_max = sizeof frame_mem};
  const uint8_t *items[1] = {cl->tx.data};
  size_t lens[1] = {cl->tx.len};
  if (blok_wire_txs(&f, items, lens, 1) == BLOK_OK) env_broadcast(nd, f.data, f.len);
}

/* --- setup -------------------------------------------------------------------------------- */

static json_t *hexj(const uint8_t pk[32]) {
  char h[65];
  blok_hex_encode(h, sizeof h, pk, 32);
  return json_string(h);
}

static void keypair(struct blok_sign_keypair *kp, uint64_t a, uint64_t b) {
  uint8_t seed[32] = {0};
  for (int i = 0; i < 8; i++) {
    seed[i] = (uint8_t)(a >> (8 * i));
    seed[8 + i] = (uint8_t)(b >> (8 * i));
  }
  if (blok_sign_keypair_from_seed(kp, seed) != BLOK_OK) abort();
}

static void genesis(void) {
  blok_registry_init(&S->reg);
  if (blok_registry_add(&S->reg, &blok_consortium_module) != BLOK_OK ||
      blok_registry_add(&S->reg, &blok_anchor_module) != BLOK_OK)
    abort();
  S->reg.authorize = blok_consortium_authorize;
  json_t *vals = json_array(), *keys = json_array();
  for (size_t i = 0; i < S->n; i++) {
    keypair(&S->keys[i], 1, i);
    char name[32];
    snprintf(name, sizeof name, "validator-%zu", i);
    json_array_append_new(vals,
                          json_pack("{s:s, s:o}", "name", name, "public_key", hexj(S->keys[i].pk)));
  }
  for (size_t c = 0; c < CLIENTS; c++) {
    keypair(&S->clients[c].key, 2, c);
    json_array_append_new(keys, hexj(S->clients[c].key.pk));
    blok_buf_init(&S->clients[c].tx, BLOK_TX_ENCODED_MAX);
  }
  json_t *doc = json_pack("{s:s, s:I, s:o, s:{s:[{s:s, s:[s], s:o}]}}", "chain_id", "blokauto-sim",
                          "genesis_time_ms", (json_int_t)GENESIS_MS, "validators", vals,
                          "consortium", "members", "name", "Fleet", "roles", "fleet", "keys", keys);
  struct blok_why why = {{0}};
  if (blok_genesis_parse(&S->g, doc, &S->reg, &why) != BLOK_OK) {
    fprintf(stderr, "genesis: %s\n", why.msg);
    abort();
  }
  json_decref(doc);
}

static void rm_dir(const char *dir) {
  char p[160];
  snprintf(p, sizeof p, "%s/data.mdb", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", dir);
  unlink(p);
  rmdir(dir);
}

/* --- faults ------------------------------------------------------------------------------- */

/* Nodes that count against f right now: twins' keys, and crashed honest nodes. */
static size_t faulty_now(void) {
  size_t f = S->twins;
  for (size_t i = 0; i < S->count; i++)
    if (!S->nodes[i].twin && !S->nodes[i].alive) f++;
  return f;
}

static void schedule_faults(void) {
  size_t f = (S->n - 1) / 3;
  uint64_t t = 500 + below(2000);
  while (t < FAULT_MS) {
    uint64_t k = below(10);
    if (k < 4) {
      push((struct ev){.t = t, .kind = EV_CRASH, .node = below(S->count)});
    } else if (k < 8) {
      push((struct ev){.t = t, .kind = EV_PARTITION, .round = below(3)});
    } else {
      push((struct ev){.t = t, .kind = EV_HEAL});
    }
    t += 300 + below(3000);
  }
  (void)f;
  push((struct ev){.t = FAULT_MS, .kind = EV_HEAL, .round = 1}); /* the final heal */
}

static void partition(uint64_t how) {
  memset(S->blocked, 0, sizeof S->blocked);
  S->partitions++;
  bool side[NODES_MAX];
  if (how == 2 && S->twins > 0) {
    /* The twins' split: one instance of each twin with half of the honest nodes. */
    size_t honest = 0;
    for (size_t i = 0; i < S->count; i++) {
      struct node *nd = &S->nodes[i];
      side[i] = nd->twin || (nd->idx >= S->twins && honest++ % 2 == 1);
    }
  } else {
    for (size_t i = 0; i < S->count; i++)
      side[i] = chance(500);
  }
  bool one_way = how == 1;
  for (size_t a = 0; a < S->count; a++)
    for (size_t b = 0; b < S->count; b++)
      if (side[a] != side[b] && (!one_way || side[a])) S->blocked[a][b] = true;
  say("partition (%s)", how == 2 ? "twins" : one_way ? "one-way" : "symmetric");
}

/* A commit the core asked for and the ledger refused: the replica's state and the ledger no
 * longer agree, which no input may cause (honest nodes only; a twin's state is its own). */
static void check_commits(struct node *nd) {
  if (!nd->alive || nd->twin) return;
  struct blok_replica_stats st;
  blok_replica_stats(nd->r, &st);
  if (st.commit_failures == 0) return;
  char state[256];
  blok_replica_describe(nd->r, state, sizeof state);
  violate("node %zu: a commit failed (%s): %s", node_of(nd), blok_err_name(st.last_commit_error),
          state);
}

static void handle(struct ev *e) {
  struct node *nd = &S->nodes[e->node];
  switch (e->kind) {
    case EV_DELIVER:
      if (nd->alive) {
        enum blok_err rc = blok_replica_receive(nd->r, S->nodes[e->from].idx, e->frame, e->len);
        if (rc != BLOK_OK && S->verbose > 1)
          say("node %zu refused kind %u from %zu: %s", e->node, e->frame[0], e->from,
              blok_err_name(rc));
        check_commits(nd);
      }
      free(e->frame);
      break;
    case EV_TIMER:
      if (nd->alive && e->gen == nd->timer_gen) {
        enum blok_err rc = blok_replica_timer(nd->r, e->round);
        if (rc != BLOK_OK || S->verbose > 1)
          say("node %zu timer round %" PRIu64 ": %s", e->node, e->round, blok_err_name(rc));
        check_commits(nd);
      }
      break;
    case EV_BUILD:
      if (nd->alive && e->gen == nd->build_gen) {
        enum blok_err rc = blok_replica_build(nd->r);
        if (rc != BLOK_OK || S->verbose > 1) say("node %zu build: %s", e->node, blok_err_name(rc));
        check_commits(nd);
      }
      break;
    case EV_SUBMIT:
      submit();
      push((struct ev){.t = S->now + 50 + below(300), .kind = EV_SUBMIT});
      break;
    case EV_CRASH: {
      size_t f = (S->n - 1) / 3;
      if (!nd->alive || (!nd->twin && faulty_now() >= f && !chance(300))) break;
      say("crash node %zu", e->node);
      S->crashes++;
      node_down(e->node);
      push((struct ev){.t = S->now + 200 + below(4000), .kind = EV_RESTART, .node = e->node});
      break;
    }
    case EV_RESTART:
      if (nd->alive) break;
      say("restart node %zu", e->node);
      node_up(e->node);
      check_acks(e->node);
      break;
    case EV_PARTITION:
      partition(e->round);
      break;
    case EV_HEAL:
      memset(S->blocked, 0, sizeof S->blocked);
      if (e->round == 1) { /* the final heal: everyone back, a quiet network */
        S->drop_pm = 0;
        S->dup_pm = 0;
        for (size_t i = 0; i < S->count; i++)
          if (!S->nodes[i].alive) node_up(i);
        say("final heal at height %" PRIu64, S->top);
      }
      break;
  }
}

/* --- one run ------------------------------------------------------------------------------ */

static int run(uint64_t seed, size_t n, size_t twins, int verbose) {
  S = calloc(1, sizeof *S);
  if (S == NULL) abort();
  S->seed = seed;
  rng_state = seed * 0x2545f4914f6cdd1dull + 1;
  S->n = n;
  S->twins = twins;
  S->count = n + twins;
  S->verbose = verbose;
  S->committed = calloc(HEIGHTS_MAX, 32);
  S->roots = calloc(HEIGHTS_MAX, 32);
  if (S->committed == NULL || S->roots == NULL) abort();
  unsigned drops[] = {0, 20, 100, 250};
  S->drop_pm = drops[below(4)];
  S->dup_pm = (unsigned)below(60);
  S->delay_max = 5 + below(200);
  genesis();
  for (size_t i = 0; i < S->count; i++) {
    struct node *nd = &S->nodes[i];
    nd->idx = i < n ? i : i - n;
    nd->twin = i >= n;
    snprintf(nd->dir, sizeof nd->dir, "/dev/shm/blok-sim-%d-%" PRIu64 "-%zu", (int)getpid(), seed,
             i);
    rm_dir(nd->dir);
  }
  for (size_t i = 0; i < S->count; i++)
    node_up(i);
  schedule_faults();
  push((struct ev){.t = 100, .kind = EV_SUBMIT});
  uint64_t heal_top = 0;
  bool healed = false;
  uint64_t end = FAULT_MS + LIVENESS_MS;
  while (S->heap_len > 0 && !S->violation[0]) {
    struct ev e = pop();
    if (e.t > end) {
      free(e.frame);
      break;
    }
    S->now = e.t;
    if (!healed && S->now >= FAULT_MS) {
      healed = true;
      heal_top = S->top;
    }
    handle(&e);
    /* Liveness shown: every honest node committed two blocks past the heal. Stop early. */
    if (healed && S->top > heal_top + 2 && (S->seq & 63) == 0) {
      bool all = true;
      for (size_t i = 0; i < S->count && all; i++) {
        struct blok_header head;
        if (S->nodes[i].twin) continue;
        blok_ledger_head(S->nodes[i].l, &head, NULL);
        all = head.height > heal_top + 2;
      }
      if (all) break;
    }
  }
  while (S->heap_len > 0) {
    struct ev e = pop();
    free(e.frame);
  }
  /* Liveness: every honest node committed past the height reached at the final heal. */
  size_t f = (n - 1) / 3;
  for (size_t i = 0; i < S->count && !S->violation[0]; i++) {
    struct node *nd = &S->nodes[i];
    if (nd->twin) continue;
    check_acks(i);
    struct blok_header head;
    blok_ledger_head(nd->l, &head, NULL);
    if (twins <= f && head.height <= heal_top)
      violate("no progress: node %zu at height %" PRIu64 " after the heal at %" PRIu64
              " (%d s of quiet network)",
              i, head.height, heal_top, LIVENESS_MS / 1000);
  }
  int bad = S->violation[0] != 0;
  for (size_t i = 0; i < S->count && verbose; i++) {
    char d[256];
    struct blok_header head;
    if (!S->nodes[i].alive) continue;
    blok_replica_describe(S->nodes[i].r, d, sizeof d);
    blok_ledger_head(S->nodes[i].l, &head, NULL);
    printf("  node %zu%s: height %" PRIu64 " %s\n", i, S->nodes[i].twin ? " (twin)" : "",
           head.height, d);
  }
  if (bad || verbose)
    printf("seed %" PRIu64 " size %zu twins %zu: %s%s (height %" PRIu64 ", %" PRIu64
           " messages, %" PRIu64 " dropped, %" PRIu64 " crashes, %" PRIu64
           " partitions, %zu acked)\n",
           seed, n, twins, bad ? "VIOLATION: " : "ok", S->violation, S->top, S->messages,
           S->dropped, S->crashes, S->partitions, S->ack_count);
  if (bad)
    printf("  replay: sim --seed %" PRIu64 " --size %zu --twins %zu%s\n", seed, n, twins,
           blok_cons_test_break_vote_rule ? " --break-vote-rule" : "");
  for (size_t i = 0; i < S->count; i++) {
    if (S->nodes[i].alive) node_down(i);
    while (S->nodes[i].disk_blocks)
      disk_drop(&S->nodes[i], 0);
    rm_dir(S->nodes[i].dir);
  }
  for (size_t c = 0; c < CLIENTS; c++)
    blok_buf_release(&S->clients[c].tx);
  blok_genesis_release(&S->g);
  free(S->heap);
  free(S->committed);
  free(S->roots);
  free(S);
  S = NULL;
  return bad;
}

static void usage(void) {
  fprintf(stderr, "usage: sim (--seed S | --seeds COUNT [--first S]) [--size 1|4|7] "
                  "[--twins K] [--break-vote-rule] [--expect-violation]\n");
  exit(2);
}

static uint64_t num(const char *s) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || end == s) usage();
  return v;
}

int main(int argc, char **argv) {
  uint64_t first = 1, count = 0, size = 0, twins = UINT64_MAX;
  bool one = false, expect = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
      first = num(argv[++i]);
      count = 1;
      one = true;
    } else if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
      count = num(argv[++i]);
    } else if (!strcmp(argv[i], "--first") && i + 1 < argc) {
      first = num(argv[++i]);
    } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
      size = num(argv[++i]);
    } else if (!strcmp(argv[i], "--twins") && i + 1 < argc) {
      twins = num(argv[++i]);
    } else if (!strcmp(argv[i], "--break-vote-rule")) {
      blok_cons_test_break_vote_rule = true;
    } else if (!strcmp(argv[i], "--expect-violation")) {
      expect = true;
    } else {
      usage();
    }
  }
  if (count == 0 || count > 1000000 || (size && size != 1 && size != 4 && size != 7)) usage();
  size_t failures = 0;
  for (uint64_t s = first; s < first + count; s++) {
    /* Without --size the seed picks: sizes 1, 4 and 7; twins up to f (the safe bound). */
    size_t n = size ? size : (size_t[]){1, 4, 4, 7}[s % 4];
    size_t f = (n - 1) / 3;
    size_t k = twins != UINT64_MAX ? (size_t)twins : (n > 1 ? (size_t)(s / 4 % (f + 1)) : 0);
    if (k + n > NODES_MAX || k > n) usage();
    failures += (size_t)run(s, n, k, one ? (getenv("SIM_DEBUG") ? 2 : 1) : 0);
    if (expect && failures > 0) {
      printf("violation found, as expected, at seed %" PRIu64 "\n", s);
      return 0;
    }
  }
  if (expect) {
    printf("NO violation found in %" PRIu64 " seeds: the checker missed a broken rule\n", count);
    return 1;
  }
  printf("%" PRIu64 " seeds, %zu with violations\n", count, failures);
  return failures ? 1 : 0;
}
