/*
 * The validator replica (blok/replica.h): the pure consensus core driven by frames, timers and
 * the ledger. The rule it adds to the core is that the core only ever sees a proposal whose
 * block this replica executed itself and found to be exactly what its header says, so a vote
 * always stands for a computed state root (as in DiemBFT v4, §3.2 "Ledger": votes certify the
 * execution result, not only the order).
 *
 * Blocks above the committed head live in `blocks`: the execution (its writes in memory: the
 * speculative state of the Ledger's speculate, §3.2) and the proposal frame (to answer
 * fetches). A proposal whose parent is unknown waits in `pending` while the parent is fetched
 * from its sender (and committed blocks synced when it is behind); the report leaves fetching
 * ancestors to its transport (DiemBFT v4, "System Model").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus_internal.h"
#include "blok/replica.h"
#include "blok/sync.h"
#include "blok/banned.h"

#define BLOCKS_MAX    (BLOK_CONS_BLOCKS_MAX + 16)
#define PENDING_MAX   16
#define READY_MAX     4
#define SAFETY_FORMAT 1

struct rblock {
  bool used;
  uint8_t hash[32];
  uint64_t height;
  struct blok_exec *x;
  struct blok_buf frame; /* the proposal frame; empty until broadcast, for our own */
};

struct pending {
  bool used;
  size_t from;
  uint8_t parent[32];
  struct blok_buf frame;
};

struct blok_replica {
  struct blok_ledger *l;
  struct blok_replica_env env;
  const struct blok_genesis *g;
  struct blok_cons *cons;
  struct blok_cons_config ccfg;
  struct blok_cons_actions *acts;
  struct blok_wire_msg *msg;
  struct blok_buf out, tmp;
  struct rblock blocks[BLOCKS_MAX];
  struct pending pending[PENDING_MAX];
  struct blok_replica_config cfg;
  bool build_armed; /* a PROPOSE waits for the build timer */
  bool build_empty; /* ... set to empty_block_ms: nothing was waiting */
  struct blok_cons_action build_act;
  size_t ready_count; /* headers of blocks built, to hand to the core after the actions */
  struct blok_header ready[READY_MAX];
  struct blok_replica_stats stats;
};

/* The persisted safety record: the state of the Safety module (DiemBFT v4, §3.4 "Safety");
 * its highest_vote_round and highest_qc_round are last_voted_round and preferred_round here. */
enum blok_err blok_replica_safety_encode(struct blok_buf *b, const struct blok_cons_safety *s,
                                         const struct blok_qc *high_qc,
                                         const struct blok_tc *high_tc) {
  BLOK_TRY(blok_enc_u8(b, SAFETY_FORMAT));
  BLOK_TRY(blok_enc_u64(b, s->epoch));
  BLOK_TRY(blok_enc_u64(b, s->last_voted_round));
  BLOK_TRY(blok_enc_u64(b, s->preferred_round));
  BLOK_TRY(blok_enc_u64(b, s->highest_timeout_round));
  BLOK_TRY(blok_enc_bool(b, s->has_last_vote));
  if (s->has_last_vote) {
    BLOK_TRY(blok_vote_encode(b, &s->last_vote));
    BLOK_TRY(blok_enc_fixed(b, s->last_vote_sig, BLOK_SIGN_SIG_LEN));
  }
  BLOK_TRY(blok_qc_encode(b, high_qc));
  BLOK_TRY(blok_enc_bool(b, high_tc != NULL));
  return high_tc ? blok_tc_encode(b, high_tc) : BLOK_OK;
}

enum blok_err blok_replica_safety_decode(const uint8_t *rec, size_t len, struct blok_cons_safety *s,
                                         struct blok_qc *high_qc, bool *has_tc,
                                         struct blok_tc *high_tc) {
  struct blok_reader r;
  uint8_t format;
  memset(s, 0, sizeof *s);
  blok_reader_init(&r, rec, len);
  BLOK_TRY(blok_dec_u8(&r, &format));
  if (format != SAFETY_FORMAT) return BLOK_EFORMAT;
  BLOK_TRY(blok_dec_u64(&r, &s->epoch));
  BLOK_TRY(blok_dec_u64(&r, &s->last_voted_round));
  BLOK_TRY(blok_dec_u64(&r, &s->preferred_round));
  BLOK_TRY(blok_dec_u64(&r, &s->highest_timeout_round));
  BLOK_TRY(blok_dec_bool(&r, &s->has_last_vote));
  if (s->has_last_vote) {
    BLOK_TRY(blok_dec_u64(&r, &s->last_vote.epoch));
    BLOK_TRY(blok_dec_u64(&r, &s->last_vote.round));
    BLOK_TRY(blok_dec_u64(&r, &s->last_vote.height));
    BLOK_TRY(blok_dec_fixed(&r, s->last_vote.block_hash, 32));
    BLOK_TRY(blok_dec_fixed(&r, s->last_vote_sig, BLOK_SIGN_SIG_LEN));
  }
  BLOK_TRY(blok_qc_decode(&r, high_qc));
  BLOK_TRY(blok_dec_bool(&r, has_tc));
  if (*has_tc) BLOK_TRY(blok_tc_decode(&r, high_tc));
  return blok_dec_end(&r);
}

static struct rblock *block_find(struct blok_replica *r, const uint8_t hash[32]) {
  for (size_t i = 0; i < BLOCKS_MAX; i++)
    if (r->blocks[i].used && memcmp(r->blocks[i].hash, hash, 32) == 0) return &r->blocks[i];
  return NULL;
}

static void block_drop(struct rblock *b) {
  blok_exec_free(b->x);
  blok_buf_release(&b->frame);
  memset(b, 0, sizeof *b);
}

/* Frees the blocks at or below the committed head: committed ones, and branches that lost
 * (the pruning of the Ledger's commit, DiemBFT v4, §3.2 "Ledger"). */
static void prune_blocks(struct blok_replica *r) {
  struct blok_header head;
  blok_ledger_head(r->l, &head, NULL);
  if (r->env.prune_blocks) r->env.prune_blocks(r->env.ctx, head.height);
  for (size_t i = 0; i < BLOCKS_MAX; i++)
    if (r->blocks[i].used && r->blocks[i].height <= head.height) block_drop(&r->blocks[i]);
}

static enum blok_err block_add(struct blok_replica *r, const uint8_t hash[32], uint64_t height,
                               struct blok_exec *x, struct rblock **out) {
  prune_blocks(r);
  for (size_t i = 0; i < BLOCKS_MAX; i++) {
    struct rblock *b = &r->blocks[i];
    if (b->used) continue;
    b->used = true;
    memcpy(b->hash, hash, 32);
    b->height = height;
    b->x = x;
    blok_buf_init(&b->frame, BLOK_WIRE_FRAME_MAX);
    *out = b;
    return BLOK_OK;
  }
  return BLOK_EFULL;
}

/* The execution to build on for block hash: NULL for the committed head. */
static bool parent_exec(struct blok_replica *r, const uint8_t hash[32], struct blok_exec **x) {
  uint8_t head[32];
  blok_ledger_head(r->l, NULL, head);
  if (memcmp(hash, head, 32) == 0) {
    *x = NULL;
    return true;
  }
  struct rblock *b = block_find(r, hash);
  if (b == NULL) return false;
  *x = b->x;
  return true;
}

/* PROPOSE: build a block on the parent the core names, with the node's transactions
 * (DiemBFT v4: the Block-tree's generate_block, §3.3, fed by MemPool, §3.6). */
static enum blok_err build(struct blok_replica *r, const struct blok_cons_action *a) {
  struct blok_exec *px;
  if (!parent_exec(r, a->hash, &px)) return BLOK_OK; /* a QC for a block not fetched yet */
  struct blok_header ph;
  if (px == NULL)
    blok_ledger_head(r->l, &ph, NULL);
  else
    blok_exec_header(px, &ph);
  uint64_t parent_time = ph.timestamp_ms;
  uint64_t now = r->env.now_ms(r->env.ctx);
  uint64_t t = now > parent_time ? now : parent_time + 1;
  struct blok_exec *x;
  BLOK_TRY(blok_exec_begin_on(r->l, px, t, r->ccfg.key->pk, a->round, &x));
  enum blok_err rc = r->env.fill ? r->env.fill(r->env.ctx, x) : BLOK_OK;
  struct blok_header h;
  if (rc == BLOK_OK) rc = blok_exec_finish(x, &h);
  uint8_t hash[32];
  struct rblock *b = NULL;
  if (rc == BLOK_OK) blok_exec_hash(x, hash);
  if (rc == BLOK_OK) rc = block_add(r, hash, h.height, x, &b);
  if (rc != BLOK_OK) {
    blok_exec_free(x);
    return rc;
  }
  if (r->ready_count < READY_MAX) r->ready[r->ready_count++] = h;
  return BLOK_OK;
}

static enum blok_err encode_msg(struct blok_replica *r, const struct blok_cons_msg *m) {
  switch (m->kind) {
    case BLOK_CONS_MSG_VOTE:
      return blok_wire_vote(&r->out, &m->u.vote);
    case BLOK_CONS_MSG_TIMEOUT:
      return blok_wire_timeout(&r->out, &m->u.timeout);
    case BLOK_CONS_MSG_QC:
      return blok_wire_qc(&r->out, &m->u.qc);
    case BLOK_CONS_MSG_PROPOSAL: {
      uint8_t hash[32];
      BLOK_TRY(blok_header_hash(&m->u.proposal.header, hash));
      struct rblock *b = block_find(r, hash);
      if (b == NULL) return BLOK_ENOTFOUND;
      blok_buf_clear(&r->tmp);
      BLOK_TRY(blok_exec_encode(b->x, &r->tmp));
      BLOK_TRY(blok_wire_proposal(&r->out, &m->u.proposal, r->tmp.data, r->tmp.len));
      blok_buf_clear(&b->frame);
      BLOK_TRY(blok_buf_append(&b->frame, r->out.data, r->out.len));
      return r->env.persist_block(r->env.ctx, b->height, r->out.data, r->out.len);
    }
  }
  return BLOK_EINVAL;
}

/* COMMIT: the block goes to the ledger (DiemBFT v4, §3.2 "Ledger", commit). */
static enum blok_err commit(struct blok_replica *r, const struct blok_cons_action *a) {
  struct rblock *b = block_find(r, a->hash);
  if (b == NULL) return BLOK_ENOTFOUND; /* the core only knows blocks executed here */
  struct blok_header h;
  BLOK_TRY(blok_ledger_commit(r->l, b->x, a->qc));
  r->stats.commits++;
  if (r->env.committed) {
    blok_ledger_head(r->l, &h, NULL);
    r->env.committed(r->env.ctx, &h, a->hash, b->x);
  }
  prune_blocks(r);
  return BLOK_OK;
}

/* A PROPOSE waits for the build timer: not at once, for a leader with nothing to propose
 * waits, or n = 1 would spin. Soon when transactions wait, or when the parent holds
 * transactions that only the next certified block commits (two-chain rule); else an empty
 * block after empty_block_ms. */
static void arm_build(struct blok_replica *r, const struct blok_cons_action *a) {
  struct blok_exec *px;
  bool soon = r->env.waiting && r->env.waiting(r->env.ctx) > 0;
  if (!soon && parent_exec(r, a->hash, &px) && px != NULL) soon = blok_exec_tx_count(px) > 0;
  r->build_armed = true;
  r->build_empty = !soon;
  r->build_act = *a;
  r->env.set_build_timer(r->env.ctx, soon ? r->cfg.block_delay_ms : r->cfg.empty_block_ms);
}

void blok_replica_txs_waiting(struct blok_replica *r) {
  if (!r->build_armed || !r->build_empty) return;
  r->build_empty = false;
  r->env.set_build_timer(r->env.ctx, r->cfg.block_delay_ms);
}

/* Performs the actions in order; a failed persist stops everything after it. */
static enum blok_err perform(struct blok_replica *r) {
  struct blok_cons_actions *acts = r->acts;
  enum blok_err first = BLOK_OK;
  for (size_t i = 0; i < acts->count; i++) {
    const struct blok_cons_action *a = &acts->a[i];
    enum blok_err rc = BLOK_OK;
    switch (a->kind) {
      case BLOK_CONS_ACT_SEND:
      case BLOK_CONS_ACT_BROADCAST:
        rc = encode_msg(r, a->msg);
        if (rc != BLOK_OK) break;
        if (a->kind == BLOK_CONS_ACT_SEND)
          r->env.send(r->env.ctx, a->to, r->out.data, r->out.len);
        else
          r->env.broadcast(r->env.ctx, r->out.data, r->out.len);
        break;
      case BLOK_CONS_ACT_PERSIST_SAFETY:
        blok_buf_clear(&r->tmp);
        rc = blok_replica_safety_encode(&r->tmp, a->safety, a->qc, a->tc);
        if (rc == BLOK_OK) rc = r->env.persist(r->env.ctx, r->tmp.data, r->tmp.len);
        if (rc != BLOK_OK) return rc; /* nothing may leave that the disk does not hold */
        break;
      case BLOK_CONS_ACT_COMMIT:
        rc = commit(r, a);
        if (rc != BLOK_OK) {
          r->stats.commit_failures++;
          r->stats.last_commit_error = rc;
        }
        break;
      case BLOK_CONS_ACT_SET_TIMER:
        r->env.set_timer(r->env.ctx, a->round, a->delay_ms);
        break;
      case BLOK_CONS_ACT_PROPOSE:
        arm_build(r, a);
        break;
    }
    if (first == BLOK_OK) first = rc;
  }
  return first;
}

/* Hands the blocks built to the core (which signs and broadcasts them). */
static enum blok_err drain_ready(struct blok_replica *r) {
  enum blok_err rc = BLOK_OK;
  while (r->ready_count > 0) {
    struct blok_header h = r->ready[--r->ready_count];
    struct blok_cons_event bev = {.kind = BLOK_CONS_EV_BLOCK_READY, .header = &h};
    enum blok_err brc = blok_cons_step(r->cons, &bev, r->acts);
    enum blok_err prc = perform(r);
    if (rc == BLOK_OK) rc = brc != BLOK_OK ? brc : prc;
  }
  return rc;
}

/* One event into the core and its actions performed. */
static enum blok_err step(struct blok_replica *r, const struct blok_cons_event *ev) {
  enum blok_err rc = blok_cons_step(r->cons, ev, r->acts);
  enum blok_err prc = perform(r);
  return rc != BLOK_OK ? rc : prc;
}

static void pend(struct blok_replica *r, size_t from, const uint8_t parent[32],
                 const uint8_t *frame, size_t len) {
  struct pending *slot = NULL;
  for (size_t i = 0; i < PENDING_MAX && slot == NULL; i++)
    if (!r->pending[i].used) slot = &r->pending[i];
  if (slot == NULL) slot = &r->pending[0]; /* full: the oldest slot gives way */
  blok_buf_release(&slot->frame);
  slot->used = true;
  slot->from = from;
  memcpy(slot->parent, parent, 32);
  blok_buf_init(&slot->frame, BLOK_WIRE_FRAME_MAX);
  if (blok_buf_append(&slot->frame, frame, len) != BLOK_OK) {
    blok_buf_release(&slot->frame);
    slot->used = false;
  }
}

static enum blok_err on_proposal(struct blok_replica *r, size_t from, const uint8_t *frame,
                                 size_t len) {
  const struct blok_header *h = &r->msg->cons.u.proposal.header;
  uint8_t hash[32];
  struct blok_header head;
  BLOK_TRY(blok_header_hash(h, hash));
  blok_ledger_head(r->l, &head, NULL);
  if (h->height <= head.height || block_find(r, hash) != NULL) return BLOK_OK; /* known */
  if (h->timestamp_ms > r->env.now_ms(r->env.ctx) + BLOK_REPLICA_CLOCK_DRIFT_MS) return BLOK_EINVAL;
  struct blok_exec *px;
  if (!parent_exec(r, h->parent, &px)) {
    pend(r, from, h->parent, frame, len);
    BLOK_TRY(blok_wire_fetch(&r->out, h->parent));
    r->env.send(r->env.ctx, from, r->out.data, r->out.len);
    if (h->height > head.height + 2) {
      BLOK_TRY(blok_wire_sync(&r->out, head.height + 1));
      r->env.send(r->env.ctx, from, r->out.data, r->out.len);
    }
    return BLOK_OK;
  }
  struct blok_exec *x;
  struct blok_why why = {{0}};
  BLOK_TRY(blok_exec_block(r->l, px, r->msg->block, r->msg->block_len, r->env.known, r->env.ctx, &x,
                           &why));
  struct rblock *b;
  enum blok_err rc = block_add(r, hash, h->height, x, &b);
  if (rc != BLOK_OK) {
    blok_exec_free(x);
    return rc;
  }
  r->stats.proposals_executed++;
  BLOK_TRY(blok_buf_append(&b->frame, frame, len));
  BLOK_TRY(r->env.persist_block(r->env.ctx, h->height, frame, len));
  struct blok_cons_event ev = {.kind = BLOK_CONS_EV_MSG, .msg = &r->msg->cons};
  enum blok_err src = step(r, &ev);
  /* A block the core did not take (refused, or of a round its certificates do not reach yet)
   * is not kept either: kept, it would look known, so the core would never be offered it
   * again, and nothing built on it could ever commit here. Its children now wait for it to be
   * fetched, when the core may take it. */
  if (!blok_cons_has_block(r->cons, hash)) {
    struct rblock *kept = block_find(r, hash);
    if (kept != NULL) block_drop(kept);
  }
  return src;
}

/* After the core was rooted again, the proposals this replica holds above the new head go back
 * to it, parents first, as late proposals: the new core starts with an empty tree, and blocks
 * it never sees again could never commit here (the simulator found a node stuck so). A block
 * it does not take is dropped, to be fetched again when it can be. The caller's r->msg is
 * overwritten. */
static void refeed(struct blok_replica *r) {
  struct blok_header head;
  blok_ledger_head(r->l, &head, NULL);
  for (uint64_t height = head.height + 1, any = 1; any; height++) {
    any = 0;
    for (size_t i = 0; i < BLOCKS_MAX; i++) {
      struct rblock *b = &r->blocks[i];
      if (!b->used || b->height != height) continue;
      any = 1;
      if (b->frame.len == 0 || blok_wire_decode(r->msg, b->frame.data, b->frame.len) != BLOK_OK ||
          r->msg->kind != BLOK_WIRE_PROPOSAL)
        continue; /* our own, never sent: nothing builds on it */
      struct blok_exec *px;
      if (!parent_exec(r, r->msg->cons.u.proposal.header.parent, &px)) {
        block_drop(b); /* its parent was dropped: its execution cannot be used */
        continue;
      }
      struct blok_cons_event ev = {.kind = BLOK_CONS_EV_MSG, .msg = &r->msg->cons};
      (void)step(r, &ev); /* refusals were decided before; a failed write shows again */
      if (b->used && !blok_cons_has_block(r->cons, b->hash)) block_drop(b);
    }
  }
}

/* Hands the core's state over to a new committed root (after a sync moved the head). */
static enum blok_err reroot(struct blok_replica *r, const struct blok_qc *qc) {
  struct blok_header head;
  uint8_t hash[32];
  blok_ledger_head(r->l, &head, hash);
  struct blok_cons *old = malloc(sizeof *old);
  if (old == NULL) return BLOK_ENOMEM;
  *old = *r->cons;
  struct blok_cons_config cfg = r->ccfg;
  memcpy(cfg.root_hash, hash, 32);
  cfg.root_round = head.round;
  cfg.root_height = head.height;
  cfg.root_qc = qc;
  cfg.safety = &old->safety;
  cfg.high_qc = old->high_qc.vote.round > qc->vote.round ? &old->high_qc : NULL;
  cfg.high_tc = old->has_tc ? &old->high_tc : NULL;
  enum blok_err rc = blok_cons_init(r->cons, &cfg);
  if (rc == BLOK_OK) {
    /* What the pacemaker learned from TCs is kept: rounds only go forward. */
    if (old->round > r->cons->round) r->cons->round = old->round;
    r->cons->proposed_round = old->proposed_round;
  }
  free(old);
  BLOK_TRY(rc);
  struct blok_cons_event ev = {.kind = BLOK_CONS_EV_START};
  rc = step(r, &ev);
  refeed(r);
  return rc;
}

static enum blok_err on_sync(struct blok_replica *r, size_t from) {
  uint32_t count;
  BLOK_TRY(blok_sync_reply(r->l, r->msg->height, &r->out, &count));
  if (count > 0) r->env.send(r->env.ctx, from, r->out.data, r->out.len);
  return BLOK_OK;
}

static struct blok_exec *sync_lookup(void *ctx, const uint8_t hash[32]) {
  struct rblock *b = block_find(ctx, hash);
  return b ? b->x : NULL;
}

static void sync_committed(void *ctx, const struct blok_header *h, const uint8_t hash[32],
                           const struct blok_exec *x) {
  struct blok_replica *r = ctx;
  r->stats.blocks_synced++;
  if (r->env.committed) r->env.committed(r->env.ctx, h, hash, x);
}

static bool sync_known(void *ctx, const struct blok_tx *tx) {
  struct blok_replica *r = ctx;
  return r->env.known != NULL && r->env.known(r->env.ctx, tx);
}

/* Committed blocks from a peer (blok/sync.h checks them), then the core follows the new head
 * and asks for more when the reply was full. */
static enum blok_err on_sync_reply(struct blok_replica *r, size_t from) {
  struct blok_qc *qc = malloc(sizeof *qc);
  if (qc == NULL) return BLOK_ENOMEM;
  struct blok_sync_hooks hooks = {
      .ctx = r, .lookup = sync_lookup, .known = sync_known, .committed = sync_committed};
  size_t done;
  enum blok_err rc = blok_sync_apply(r->l, r->msg, &hooks, &done, qc);
  bool full = r->msg->count == BLOK_WIRE_SYNC_BLOCKS; /* reroot overwrites r->msg */
  if (done > 0) {
    prune_blocks(r);
    enum blok_err rrc = reroot(r, qc);
    if (rc == BLOK_OK) rc = rrc;
    if (full) {
      struct blok_header head;
      blok_ledger_head(r->l, &head, NULL);
      if (blok_wire_sync(&r->out, head.height + 1) == BLOK_OK)
        r->env.send(r->env.ctx, from, r->out.data, r->out.len);
    }
  }
  free(qc);
  return rc;
}

static enum blok_err dispatch(struct blok_replica *r, size_t from, const uint8_t *frame,
                              size_t len) {
  BLOK_TRY(blok_wire_decode(r->msg, frame, len));
  struct blok_cons_event ev = {.kind = BLOK_CONS_EV_MSG, .msg = &r->msg->cons};
  switch (r->msg->kind) {
    case BLOK_WIRE_PROPOSAL:
      return on_proposal(r, from, frame, len);
    case BLOK_WIRE_VOTE:
      if (r->msg->cons.u.vote.from != from) return BLOK_EINVAL;
      return step(r, &ev);
    case BLOK_WIRE_TIMEOUT:
      if (r->msg->cons.u.timeout.from != from) return BLOK_EINVAL;
      return step(r, &ev);
    case BLOK_WIRE_FETCH: {
      struct rblock *b = block_find(r, r->msg->hash);
      if (b != NULL && b->frame.len > 0) r->env.send(r->env.ctx, from, b->frame.data, b->frame.len);
      return BLOK_OK;
    }
    case BLOK_WIRE_SYNC:
      return on_sync(r, from);
    case BLOK_WIRE_SYNC_REPLY:
      return on_sync_reply(r, from);
    case BLOK_WIRE_TXS:
      if (r->env.txs) r->env.txs(r->env.ctx, from, r->msg);
      return BLOK_OK;
    case BLOK_WIRE_QC:
      return step(r, &ev);
  }
  return BLOK_EFORMAT;
}

/* Proposals that waited for a parent this replica has now. */
static void retry_pending(struct blok_replica *r) {
  for (bool again = true; again;) {
    again = false;
    for (size_t i = 0; i < PENDING_MAX; i++) {
      struct pending *p = &r->pending[i];
      if (!p->used) continue;
      struct blok_exec *px;
      if (!parent_exec(r, p->parent, &px)) continue;
      struct blok_buf frame = p->frame;
      size_t from = p->from;
      p->used = false;
      memset(&p->frame, 0, sizeof p->frame);
      (void)dispatch(r, from, frame.data, frame.len); /* refusals were the sender's */
      blok_buf_release(&frame);
      again = true;
    }
  }
}

enum blok_err blok_replica_receive(struct blok_replica *r, size_t from, const uint8_t *frame,
                                   size_t len) {
  if (from >= r->ccfg.n || from == r->ccfg.self) return BLOK_EINVAL;
  enum blok_err rc = dispatch(r, from, frame, len);
  if (rc != BLOK_OK) r->stats.refused++;
  retry_pending(r);
  return rc;
}

enum blok_err blok_replica_timer(struct blok_replica *r, uint64_t round) {
  struct blok_cons_event ev = {.kind = BLOK_CONS_EV_TIMER, .round = round};
  return step(r, &ev);
}

enum blok_err blok_replica_build(struct blok_replica *r) {
  if (!r->build_armed || r->build_act.round != blok_cons_round(r->cons)) return BLOK_OK;
  r->build_armed = false;
  BLOK_TRY(build(r, &r->build_act));
  return drain_ready(r);
}

/* After a restart: the persisted proposals, parents first (passes until none is left that
 * can be placed), fed to the core as late proposals; the commit rule may commit some. */
static void replay_blocks(struct blok_replica *r) {
  size_t n = r->cfg.block_count;
  bool *done = n ? calloc(n, sizeof *done) : NULL;
  if (n && done == NULL) return;
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t i = 0; i < n; i++) {
      if (done[i]) continue;
      const uint8_t *f = r->cfg.blocks[i];
      size_t len = r->cfg.block_lens[i];
      struct blok_exec *px;
      if (blok_wire_decode(r->msg, f, len) != BLOK_OK || r->msg->kind != BLOK_WIRE_PROPOSAL) {
        done[i] = true;
        continue;
      }
      if (!parent_exec(r, r->msg->cons.u.proposal.header.parent, &px)) continue;
      done[i] = progress = true;
      (void)on_proposal(r, r->cfg.self, f, len);
    }
  }
  free(done);
}

enum blok_err blok_replica_start(struct blok_replica *r) {
  replay_blocks(r);
  r->cfg.blocks = NULL;
  r->cfg.block_lens = NULL;
  r->cfg.block_count = 0;
  struct blok_cons_event ev = {.kind = BLOK_CONS_EV_START};
  return step(r, &ev);
}

uint64_t blok_replica_round(const struct blok_replica *r) {
  return blok_cons_round(r->cons);
}

void blok_replica_stats(const struct blok_replica *r, struct blok_replica_stats *out) {
  *out = r->stats;
}

void blok_replica_describe(const struct blok_replica *r, char *out, size_t cap) {
  const struct blok_cons *c = r->cons;
  size_t blocks = 0, pending = 0;
  for (size_t i = 0; i < BLOCKS_MAX; i++)
    blocks += r->blocks[i].used;
  for (size_t i = 0; i < PENDING_MAX; i++)
    pending += r->pending[i].used;
  snprintf(out, cap,
           "round %llu high_qc %llu (h %llu) tc %llu last_voted %llu preferred %llu timeout %llu "
           "committed_round %llu blocks %zu pending %zu",
           (unsigned long long)c->round, (unsigned long long)c->high_qc.vote.round,
           (unsigned long long)c->high_qc.vote.height,
           (unsigned long long)(c->has_tc ? c->high_tc.round : 0),
           (unsigned long long)c->safety.last_voted_round,
           (unsigned long long)c->safety.preferred_round,
           (unsigned long long)c->safety.highest_timeout_round,
           (unsigned long long)c->committed_round, blocks, pending);
}

/* The root the core starts from: the ledger's head and its certificate. */
static enum blok_err root_of(struct blok_replica *r, struct blok_qc *qc, bool *has_qc) {
  struct blok_header head;
  uint8_t hash[32];
  blok_ledger_head(r->l, &head, hash);
  memcpy(r->ccfg.root_hash, hash, 32);
  r->ccfg.root_round = head.round;
  r->ccfg.root_height = head.height;
  *has_qc = head.height > 0;
  if (!*has_qc) return BLOK_OK;
  struct blok_buf block, qcb;
  blok_buf_init(&block, BLOK_BLOCK_BYTES_MAX);
  blok_buf_init(&qcb, 1 << 16);
  enum blok_err rc = blok_ledger_block(r->l, head.height, &block, &qcb);
  struct blok_reader rd;
  blok_reader_init(&rd, qcb.data, qcb.len);
  if (rc == BLOK_OK) rc = blok_qc_decode(&rd, qc);
  blok_buf_release(&block);
  blok_buf_release(&qcb);
  return rc;
}

enum blok_err blok_replica_open(struct blok_replica **out, struct blok_ledger *l,
                                const struct blok_replica_config *cfg,
                                const struct blok_replica_env *env) {
  const struct blok_genesis *g = blok_ledger_genesis(l);
  if (cfg->self >= g->validator_count || cfg->key == NULL || env->set_build_timer == NULL ||
      env->persist_block == NULL || cfg->empty_block_ms < cfg->block_delay_ms)
    return BLOK_EINVAL;
  struct blok_replica *r = calloc(1, sizeof *r);
  if (r == NULL) return BLOK_ENOMEM;
  r->l = l;
  r->env = *env;
  r->cfg = *cfg;
  r->cfg.safety_record = NULL;
  r->g = g;
  r->cons = malloc(sizeof *r->cons);
  r->acts = malloc(sizeof *r->acts);
  r->msg = malloc(sizeof *r->msg);
  struct blok_cons_safety *safety = malloc(sizeof *safety);
  struct blok_qc *high = malloc(sizeof *high), *root = malloc(sizeof *root);
  struct blok_tc *tc = malloc(sizeof *tc);
  bool has_tc = false;
  blok_buf_init(&r->out, BLOK_WIRE_FRAME_MAX);
  blok_buf_init(&r->tmp, BLOK_WIRE_FRAME_MAX);
  enum blok_err rc =
      r->cons && r->acts && r->msg && safety && high && root && tc ? BLOK_OK : BLOK_ENOMEM;
  r->ccfg = (struct blok_cons_config){
      .chain_id = g->chain_id,
      .epoch = 0,
      .n = g->validator_count,
      .validators = &g->validators[0][0],
      .self = cfg->self,
      .key = cfg->key,
      .base_timeout_ms = cfg->base_timeout_ms,
      .max_timeout_ms = cfg->max_timeout_ms,
  };
  bool has_root_qc = false;
  if (rc == BLOK_OK) rc = root_of(r, root, &has_root_qc);
  if (rc == BLOK_OK && cfg->safety_record != NULL) {
    rc = blok_replica_safety_decode(cfg->safety_record, cfg->safety_record_len, safety, high,
                                    &has_tc, tc);
    if (rc != BLOK_OK) rc = BLOK_EINVAL;
  }
  struct blok_cons_config c = r->ccfg;
  c.root_qc = has_root_qc ? root : NULL;
  c.safety = cfg->safety_record ? safety : NULL;
  /* A high QC of a block this ledger has not got yet is kept only when above the root. */
  c.high_qc = cfg->safety_record && high->vote.round > c.root_round ? high : NULL;
  c.high_tc = has_tc ? tc : NULL;
  if (rc == BLOK_OK) rc = blok_cons_init(r->cons, &c);
  free(safety);
  free(high);
  free(root);
  free(tc);
  if (rc != BLOK_OK) {
    blok_replica_close(r);
    return rc;
  }
  *out = r;
  return BLOK_OK;
}

void blok_replica_close(struct blok_replica *r) {
  if (r == NULL) return;
  /* Children before parents: an uncommitted parent freed first would orphan them. */
  for (bool left = true; left;) {
    left = false;
    for (size_t i = 0; i < BLOCKS_MAX; i++)
      if (r->blocks[i].used) {
        block_drop(&r->blocks[i]);
        left = true;
      }
  }
  for (size_t i = 0; i < PENDING_MAX; i++)
    blok_buf_release(&r->pending[i].frame);
  blok_buf_release(&r->out);
  blok_buf_release(&r->tmp);
  free(r->cons);
  free(r->acts);
  free(r->msg);
  free(r);
}
