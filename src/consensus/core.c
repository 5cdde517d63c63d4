/*
 * The consensus core: Jolteon / DiemBFT v4 (docs/CONSENSUS.md) as a pure state machine over
 * events and actions. This file holds the pacemaker (rounds advanced by QCs and TCs, timers),
 * certificate formation from votes and timeouts, the block tree and the 2-chain commit rule;
 * the safety rules themselves are in safety.c. Nothing here reads a clock, does I/O or
 * allocates: actions go into the caller's bounded list.
 *
 * Sections cited (§) are of the DiemBFT v4 report (docs/CONSENSUS.md names the edition): the
 * event handlers follow its Main module (§3.1), the block tree its Block-tree (§3.3), rounds
 * and timeouts its Pacemaker (§3.5); the safety rules are its Safety module (§3.4).
 */
#include <string.h>

#include "consensus_internal.h"

#include "blok/banned.h"

static struct blok_cons_action *act(struct blok_cons_actions *out,
                                    enum blok_cons_action_kind kind) {
  BLOK_ASSERT(out->count < BLOK_CONS_ACTIONS_MAX);
  struct blok_cons_action *a = &out->a[out->count++];
  memset(a, 0, sizeof *a);
  a->kind = kind;
  return a;
}

static struct blok_cons_msg *new_msg(struct blok_cons_actions *out, enum blok_cons_msg_kind k) {
  BLOK_ASSERT(out->msg_count < BLOK_CONS_MSGS_MAX);
  struct blok_cons_msg *m = &out->msgs[out->msg_count++];
  memset(m, 0, sizeof *m);
  m->kind = k;
  return m;
}

static bool bit(const uint8_t *bits, size_t i) {
  return (bits[i / 8] >> (i % 8)) & 1;
}

static void set_bit(uint8_t *bits, size_t i) {
  bits[i / 8] = (uint8_t)(bits[i / 8] | (1u << (i % 8)));
}

/* Round-robin, the fallback of the report's LeaderElection (DiemBFT v4, §3.7
 * "LeaderElection"); its reputation scheme is not done. */
size_t blok_cons_leader(const struct blok_cons *c, uint64_t round) {
  return (size_t)(round % c->n);
}

uint64_t blok_cons_round(const struct blok_cons *c) {
  return c->round;
}

/* A QC of our epoch that verifies; the round-0 genesis QC is accepted only as the one the
 * core was rooted at. */
static enum blok_err check_qc(const struct blok_cons *c, const struct blok_qc *qc) {
  if (qc->vote.epoch != c->epoch) return BLOK_EINVAL;
  if (qc->vote.round == 0) {
    bool same = c->genesis_root && qc->sig_count == 0 && qc->vote.height == 0 &&
                memcmp(qc->vote.block_hash, c->genesis_qc.vote.block_hash, 32) == 0;
    return same ? BLOK_OK : BLOK_EBADPROOF;
  }
  return blok_qc_verify(qc, c->chain_id, &c->validators[0][0], c->n);
}

static struct blok__cons_block *block_find(struct blok_cons *c, const uint8_t hash[32]) {
  for (size_t i = 0; i < BLOK_CONS_BLOCKS_MAX; i++)
    if (c->blocks[i].used && memcmp(c->blocks[i].hash, hash, 32) == 0) return &c->blocks[i];
  return NULL;
}

bool blok_cons_has_block(const struct blok_cons *c, const uint8_t hash[32]) {
  for (size_t i = 0; i < BLOK_CONS_BLOCKS_MAX; i++)
    if (c->blocks[i].used && memcmp(c->blocks[i].hash, hash, 32) == 0) return true;
  return false;
}

static enum blok_err block_insert(struct blok_cons *c, const uint8_t hash[32],
                                  const struct blok_header *h) {
  if (block_find(c, hash) != NULL) return BLOK_OK;
  for (size_t i = 0; i < BLOK_CONS_BLOCKS_MAX; i++) {
    struct blok__cons_block *b = &c->blocks[i];
    if (b->used) continue;
    memset(b, 0, sizeof *b);
    b->used = true;
    memcpy(b->hash, hash, 32);
    memcpy(b->parent, h->parent, 32);
    b->round = h->round;
    b->height = h->height;
    return BLOK_OK;
  }
  return BLOK_EFULL;
}

/* Drops what can no longer matter: blocks below the committed head (the Block-tree's prune,
 * DiemBFT v4, §3.3 "Block-tree"), votes and timeouts of past rounds. Done at the start of a
 * step so pointers handed out stay valid until the next. */
static void prune(struct blok_cons *c) {
  for (size_t i = 0; i < BLOK_CONS_BLOCKS_MAX; i++)
    if (c->blocks[i].used && c->blocks[i].round < c->committed_round) c->blocks[i].used = false;
  for (size_t i = 0; i < BLOK_CONS_VOTE_SLOTS; i++)
    if (c->votes[i].used && c->votes[i].vote.round + 1 < c->round) c->votes[i].used = false;
  for (size_t i = 0; i < BLOK_CONS_TIMEOUT_SLOTS; i++)
    if (c->timeouts[i].used && c->timeouts[i].round < c->round) c->timeouts[i].used = false;
}

/* Pacemaker timer: the base timeout doubled for each round in a row that ended by a TC, at
 * most max_timeout_ms; a round ended by a QC resets it (docs/CONSENSUS.md, "Pacemaker"). The
 * report's time bounds take a fixed 5 delta and suggest a back-off to estimate delta (DiemBFT
 * v4, §4, "Optimistic Time Bounds"). */
static uint64_t timer_delay(const struct blok_cons *c) {
  uint64_t d = c->base_timeout_ms;
  for (uint32_t i = 0; i < c->failures && d < c->max_timeout_ms; i++)
    d *= 2;
  return d < c->max_timeout_ms ? d : c->max_timeout_ms;
}

static void set_timer(const struct blok_cons *c, struct blok_cons_actions *out) {
  struct blok_cons_action *a = act(out, BLOK_CONS_ACT_SET_TIMER);
  a->round = c->round;
  a->delay_ms = timer_delay(c);
}

/* Pacemaker, advance_round_qc and advance_round_tc (DiemBFT v4, §3.5 "Pacemaker"): enter
 * round r after a QC or TC of r - 1. */
static void enter_round(struct blok_cons *c, uint64_t r, bool by_tc,
                        struct blok_cons_actions *out) {
  BLOK_ASSERT(r > c->round);
  c->round = r;
  c->failures = by_tc ? c->failures + 1 : 0;
  set_timer(c, out);
  if (blok_cons_leader(c, r) != c->self || c->proposed_round >= r) return;
  struct blok_cons_action *a = act(out, BLOK_CONS_ACT_PROPOSE);
  a->round = r;
  memcpy(a->hash, c->high_qc.vote.block_hash, 32);
  a->height = c->high_qc.vote.height;
}

/* The 2-chain commit rule (Jolteon; DiemBFT v4, §3 "DiemBFT Protocol", checked by
 * commit_state_id_candidate, §3.4 "Safety", applied by process_qc, §3.3 "Block-tree"): a QC
 * for B1 whose parent B0 is of the round just before commits B0 and its uncommitted
 * ancestors, oldest first. Nothing is committed while a block of the chain, or the QC of one,
 * is missing (it has to be fetched first). */
static void commit_rule(struct blok_cons *c, const struct blok_qc *qc,
                        struct blok_cons_actions *out) {
  struct blok__cons_block *b1 = block_find(c, qc->vote.block_hash);
  if (b1 == NULL) return;
  struct blok__cons_block *b0 = block_find(c, b1->parent);
  if (b0 == NULL || b0->committed || b1->round != b0->round + 1) return;
  struct blok__cons_block *chain[BLOK_CONS_BLOCKS_MAX];
  size_t len = 0;
  for (struct blok__cons_block *b = b0; !b->committed; b = block_find(c, b->parent)) {
    if (!b->has_qc || len == BLOK_CONS_BLOCKS_MAX) return;
    chain[len++] = b;
    if (block_find(c, b->parent) == NULL) return;
  }
  while (len > 0) {
    struct blok__cons_block *b = chain[--len];
    b->committed = true;
    struct blok_cons_action *a = act(out, BLOK_CONS_ACT_COMMIT);
    memcpy(a->hash, b->hash, 32);
    a->height = b->height;
    a->round = b->round;
    a->qc = &b->qc;
    memcpy(c->committed_hash, b->hash, 32);
    c->committed_round = b->round;
  }
}

/* A verified QC: remember it for its block, raise the highest QC, commit, advance
 * (DiemBFT v4: process_certificate_qc, §3.1 "Main", with the Block-tree's process_qc, §3.3). */
static void process_qc(struct blok_cons *c, const struct blok_qc *qc,
                       struct blok_cons_actions *out) {
  struct blok__cons_block *b = block_find(c, qc->vote.block_hash);
  if (b != NULL && !b->has_qc) {
    b->qc = *qc;
    b->has_qc = true;
  }
  if (qc->vote.round > c->high_qc.vote.round) c->high_qc = *qc;
  commit_rule(c, qc, out);
  if (qc->vote.round >= c->round) enter_round(c, qc->vote.round + 1, false, out);
}

/* A verified TC: remember the highest, advance (DiemBFT v4, §3.5 "Pacemaker",
 * advance_round_tc). */
static void process_tc(struct blok_cons *c, const struct blok_tc *tc,
                       struct blok_cons_actions *out) {
  if (!c->has_tc || tc->round > c->high_tc.round) {
    c->high_tc = *tc;
    c->has_tc = true;
  }
  if (tc->round >= c->round) enter_round(c, tc->round + 1, true, out);
}

/* When every slot is taken, the one of the highest round gives way to a lower round: the
 * current round always finds room, however many far-future rounds peers sign votes for. */
static struct blok__cons_votes *evict_votes(struct blok_cons *c, uint64_t round) {
  struct blok__cons_votes *hi = NULL;
  for (size_t i = 0; i < BLOK_CONS_VOTE_SLOTS; i++)
    if (hi == NULL || c->votes[i].vote.round > hi->vote.round) hi = &c->votes[i];
  return hi != NULL && hi->vote.round > round ? hi : NULL;
}

static struct blok__cons_votes *vote_slot(struct blok_cons *c, const struct blok_cons_vote *v,
                                          enum blok_err *rc) {
  struct blok__cons_votes *free_slot = NULL, *match = NULL;
  for (size_t i = 0; i < BLOK_CONS_VOTE_SLOTS; i++) {
    struct blok__cons_votes *s = &c->votes[i];
    if (!s->used) {
      if (free_slot == NULL) free_slot = s;
      continue;
    }
    if (s->vote.round != v->vote.round) continue;
    if (bit(s->signers, v->from)) { /* one vote per validator and round, whatever the block */
      *rc = BLOK_EDUPLICATE;
      return NULL;
    }
    if (memcmp(&s->vote, &v->vote, sizeof v->vote) == 0) match = s;
  }
  if (match != NULL) return match;
  if (free_slot == NULL) free_slot = evict_votes(c, v->vote.round);
  if (free_slot == NULL) {
    *rc = BLOK_EFULL;
    return NULL;
  }
  memset(free_slot, 0, sizeof *free_slot);
  free_slot->used = true;
  free_slot->vote = v->vote;
  return free_slot;
}

static void form_qc(struct blok_cons *c, struct blok__cons_votes *s, struct blok_qc *qc) {
  memset(qc, 0, sizeof *qc);
  qc->vote = s->vote;
  qc->validator_count = (uint16_t)c->n;
  for (size_t i = 0; i < c->n; i++) {
    if (!bit(s->signers, i)) continue;
    set_bit(qc->signers, i);
    memcpy(qc->sigs[qc->sig_count++], s->sigs[i], BLOK_SIGN_SIG_LEN);
  }
}

/* A vote for round r is collected by the leader of round r + 1, which forms the QC
 * (DiemBFT v4: process_vote_msg, §3.1 "Main", and the Block-tree's process_vote, §3.3). */
static enum blok_err handle_vote(struct blok_cons *c, const struct blok_cons_vote *v,
                                 struct blok_cons_actions *out) {
  if (v->from >= c->n || v->vote.epoch != c->epoch) return BLOK_EINVAL;
  if (v->vote.round + 1 < c->round || blok_cons_leader(c, v->vote.round + 1) != c->self)
    return BLOK_OK;
  uint8_t m[56];
  blok__cons_vote_bytes(&v->vote, m);
  BLOK_TRY(
      blok_verify_domain(v->sig, c->validators[v->from], BLOK_VOTE_TAG, c->chain_id, m, sizeof m));
  enum blok_err rc = BLOK_OK;
  struct blok__cons_votes *s = vote_slot(c, v, &rc);
  if (s == NULL) return rc;
  set_bit(s->signers, v->from);
  memcpy(s->sigs[v->from], v->sig, BLOK_SIGN_SIG_LEN);
  s->count++;
  if (s->formed || s->count < blok_quorum(c->n)) return BLOK_OK;
  s->formed = true;
  struct blok_cons_msg *qm = new_msg(out, BLOK_CONS_MSG_QC);
  form_qc(c, s, &qm->u.qc);
  if (c->n > 1) act(out, BLOK_CONS_ACT_BROADCAST)->msg = qm;
  process_qc(c, &qm->u.qc, out);
  return BLOK_OK;
}

/* A QC broadcast by the leader that formed it: the same as one carried by a proposal. The
 * broadcast is an addition to the report's flow (docs/CONSENSUS.md, "Messages"). */
static enum blok_err handle_qc(struct blok_cons *c, const struct blok_qc *qc,
                               struct blok_cons_actions *out) {
  if (qc->vote.epoch != c->epoch) return BLOK_EINVAL;
  if (qc->vote.round <= c->committed_round) return BLOK_OK; /* old news */
  BLOK_TRY(check_qc(c, qc));
  process_qc(c, qc, out);
  return BLOK_OK;
}

/* Signs a vote (after the safety rules passed), persists, and sends it to the next leader
 * (with that check, the Safety module's make_vote: DiemBFT v4, §3.4 "Safety"). */
static enum blok_err emit_vote(struct blok_cons *c, const struct blok_cons_safety *next,
                               const struct blok_vote_data *vd, struct blok_cons_actions *out) {
  struct blok_cons_vote v = {.from = (uint16_t)c->self, .vote = *vd};
  if (next != NULL) {
    BLOK_TRY(blok_vote_sign(v.sig, c->chain_id, vd, c->key));
    c->safety = *next;
    c->safety.has_last_vote = true;
    c->safety.last_vote = *vd;
    memcpy(c->safety.last_vote_sig, v.sig, BLOK_SIGN_SIG_LEN);
    struct blok_cons_action *p = act(out, BLOK_CONS_ACT_PERSIST_SAFETY);
    p->safety = &c->safety;
    p->qc = &c->high_qc;
    p->tc = c->has_tc ? &c->high_tc : NULL;
  } else { /* the identical vote again, e.g. after a restart */
    memcpy(v.sig, c->safety.last_vote_sig, BLOK_SIGN_SIG_LEN);
  }
  size_t to = blok_cons_leader(c, vd->round + 1);
  if (to == c->self) {
    enum blok_err rc = handle_vote(c, &v, out);
    return rc == BLOK_EDUPLICATE ? BLOK_OK : rc; /* our own, re-sent */
  }
  struct blok_cons_msg *m = new_msg(out, BLOK_CONS_MSG_VOTE);
  m->u.vote = v;
  struct blok_cons_action *a = act(out, BLOK_CONS_ACT_SEND);
  a->to = to;
  a->msg = m;
  return BLOK_OK;
}

/* Checks a proposal's authenticity: epoch, chain, leader, its signature, the header extends
 * the QC, the QC and TC verify. Computes the block hash. */
static enum blok_err check_proposal(const struct blok_cons *c, const struct blok_cons_proposal *p,
                                    uint8_t hash[32]) {
  const struct blok_header *h = &p->header;
  if (h->epoch != c->epoch || strcmp(h->chain_id, c->chain_id) != 0) return BLOK_EINVAL;
  if (memcmp(h->proposer, c->validators[blok_cons_leader(c, h->round)], 32) != 0) return BLOK_EPERM;
  BLOK_TRY(blok_header_hash(h, hash));
  BLOK_TRY(blok_verify_domain(p->sig, h->proposer, BLOK_CONS_PROPOSAL_TAG, c->chain_id, hash, 32));
  if (memcmp(h->parent, p->qc.vote.block_hash, 32) != 0 || h->height != p->qc.vote.height + 1 ||
      h->round <= p->qc.vote.round)
    return BLOK_EINVAL;
  BLOK_TRY(check_qc(c, &p->qc));
  if (!p->has_tc) return BLOK_OK;
  if (p->tc.epoch != c->epoch || p->tc.round + 1 != h->round) return BLOK_EINVAL;
  return blok_tc_verify(&p->tc, c->chain_id, &c->validators[0][0], c->n);
}

/* A proposal: its certificates first, then its block, then a vote if the safety rules allow
 * (DiemBFT v4: process_proposal_msg, §3.1 "Main"). */
static enum blok_err handle_proposal(struct blok_cons *c, const struct blok_cons_proposal *p,
                                     struct blok_cons_actions *out) {
  uint8_t hash[32];
  BLOK_TRY(check_proposal(c, p, hash));
  process_qc(c, &p->qc, out);
  if (p->has_tc) process_tc(c, &p->tc, out);
  uint64_t r = p->header.round;
  /* A block of a round its own certificates do not reach cannot be voted for; keeping it
   * would let a Byzantine leader of a far round fill the tree. */
  if (r > c->round) return BLOK_OK;
  BLOK_TRY(block_insert(c, hash, &p->header));
  if (r != c->round) return BLOK_OK; /* late: kept for the chain, too old to vote for */
  struct blok_vote_data vd = {.epoch = c->epoch, .round = r, .height = p->header.height};
  memcpy(vd.block_hash, hash, 32);
  if (c->safety.has_last_vote && c->safety.last_vote.round == r && !blok_cons_test_break_vote_rule)
    return memcmp(&c->safety.last_vote, &vd, sizeof vd) == 0 ? emit_vote(c, NULL, &vd, out)
                                                             : BLOK_EPERM;
  struct blok_cons_safety next = c->safety;
  BLOK_TRY(blok__cons_safe_vote(&next, r, p->qc.vote.round, p->has_tc ? &p->tc : NULL));
  return emit_vote(c, &next, &vd, out);
}

static struct blok__cons_timeouts *timeout_slot(struct blok_cons *c, uint64_t round) {
  struct blok__cons_timeouts *free_slot = NULL;
  for (size_t i = 0; i < BLOK_CONS_TIMEOUT_SLOTS; i++) {
    struct blok__cons_timeouts *s = &c->timeouts[i];
    if (s->used && s->round == round) return s;
    if (!s->used && free_slot == NULL) free_slot = s;
  }
  if (free_slot == NULL) { /* as evict_votes: a lower round takes the highest one's slot */
    for (size_t i = 0; i < BLOK_CONS_TIMEOUT_SLOTS; i++)
      if (c->timeouts[i].round > round &&
          (free_slot == NULL || c->timeouts[i].round > free_slot->round))
        free_slot = &c->timeouts[i];
  }
  if (free_slot != NULL) {
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->round = round;
  }
  return free_slot;
}

static void form_tc(struct blok_cons *c, const struct blok__cons_timeouts *s, struct blok_tc *tc) {
  memset(tc, 0, sizeof *tc);
  tc->epoch = c->epoch;
  tc->round = s->round;
  tc->validator_count = (uint16_t)c->n;
  for (size_t i = 0; i < c->n; i++) {
    if (!bit(s->signers, i)) continue;
    set_bit(tc->signers, i);
    tc->hqc_rounds[tc->sig_count] = s->hqc_rounds[i];
    memcpy(tc->sigs[tc->sig_count++], s->sigs[i], BLOK_SIGN_SIG_LEN);
  }
}

static enum blok_err handle_timer(struct blok_cons *c, uint64_t round,
                                  struct blok_cons_actions *out);

/* A timeout: verify it and its QC, learn the QC, count it; f+1 make this validator time out
 * too, 2f+1 form a TC (DiemBFT v4: process_timeout_message, §3.1 "Main", and the Pacemaker's
 * process_remote_timeout, §3.5). */
static enum blok_err handle_timeout(struct blok_cons *c, const struct blok_cons_timeout *t,
                                    struct blok_cons_actions *out) {
  if (t->from >= c->n || t->epoch != c->epoch) return BLOK_EINVAL;
  if (t->round < c->round) return BLOK_OK;
  if (t->high_qc.vote.round >= t->round) return BLOK_EINVAL;
  uint8_t m[24];
  blok__cons_timeout_bytes(t->epoch, t->round, t->high_qc.vote.round, m);
  BLOK_TRY(blok_verify_domain(t->sig, c->validators[t->from], BLOK_CONS_TIMEOUT_TAG, c->chain_id, m,
                              sizeof m));
  BLOK_TRY(check_qc(c, &t->high_qc));
  /* A TC is worth its signatures' check only when it would move this validator on. */
  bool use_tc = t->has_tc && t->tc.round >= c->round;
  if (use_tc) {
    if (t->tc.epoch != c->epoch) return BLOK_EINVAL;
    BLOK_TRY(blok_tc_verify(&t->tc, c->chain_id, &c->validators[0][0], c->n));
  }
  process_qc(c, &t->high_qc, out);
  if (use_tc) process_tc(c, &t->tc, out);
  if (t->round < c->round) return BLOK_OK;
  struct blok__cons_timeouts *s = timeout_slot(c, t->round);
  if (s == NULL) return BLOK_EFULL;
  if (bit(s->signers, t->from)) return BLOK_EDUPLICATE;
  set_bit(s->signers, t->from);
  s->hqc_rounds[t->from] = t->high_qc.vote.round;
  memcpy(s->sigs[t->from], t->sig, BLOK_SIGN_SIG_LEN);
  s->count++;
  /* Bracha-style timeout (DiemBFT v4, §3.5 "Pacemaker", process_remote_timeout): f + 1
   * timeouts of this validator's round mean at least one honest validator gave up on it, so it
   * times out too at once instead of waiting for its own timer (which may have doubled far
   * beyond the others'). Its own timeout goes through here again, counted; the bit stops a
   * repeat. */
  if (t->round == c->round && t->from != c->self && !bit(s->signers, c->self) &&
      s->count == c->n - blok_quorum(c->n) + 1) {
    BLOK_TRY(handle_timer(c, c->round, out));
    if (c->round != t->round) return BLOK_OK; /* its timeout completed a TC and moved it on */
  }
  if (s->formed || s->count < blok_quorum(c->n)) return BLOK_OK;
  s->formed = true;
  struct blok_tc tc;
  form_tc(c, s, &tc);
  process_tc(c, &tc, out);
  return BLOK_OK;
}

/* The current round's timer fired: time out of it (if the timeout rule allows), persist,
 * broadcast, and re-arm the timer so the timeout is re-sent until the round ends (DiemBFT v4:
 * the Pacemaker's local_timeout_round, §3.5, signed by the Safety module's make_timeout,
 * §3.4). */
static enum blok_err handle_timer(struct blok_cons *c, uint64_t round,
                                  struct blok_cons_actions *out) {
  if (round != c->round) return BLOK_OK;
  set_timer(c, out);
  struct blok_cons_safety next = c->safety;
  const struct blok_tc *tc = c->has_tc ? &c->high_tc : NULL;
  if (blok__cons_safe_timeout(&next, round, c->high_qc.vote.round, tc) != BLOK_OK) return BLOK_OK;
  struct blok_cons_msg *msg = new_msg(out, BLOK_CONS_MSG_TIMEOUT);
  struct blok_cons_timeout *t = &msg->u.timeout;
  t->from = (uint16_t)c->self;
  t->epoch = c->epoch;
  t->round = round;
  t->high_qc = c->high_qc;
  uint8_t m[24];
  blok__cons_timeout_bytes(c->epoch, round, c->high_qc.vote.round, m);
  BLOK_TRY(blok_sign_domain(t->sig, c->key, BLOK_CONS_TIMEOUT_TAG, c->chain_id, m, sizeof m));
  if (c->has_tc) {
    t->has_tc = true;
    t->tc = c->high_tc;
  }
  c->safety = next;
  struct blok_cons_action *p = act(out, BLOK_CONS_ACT_PERSIST_SAFETY);
  p->safety = &c->safety;
  p->qc = &c->high_qc;
  p->tc = c->has_tc ? &c->high_tc : NULL;
  act(out, BLOK_CONS_ACT_BROADCAST)->msg = msg;
  enum blok_err rc = handle_timeout(c, t, out);
  return rc == BLOK_EDUPLICATE ? BLOK_OK : rc; /* our own, re-sent */
}

/* The node built the block a PROPOSE asked for: sign it, broadcast it, and treat it as
 * received (the leader votes for its own block). The block extends the highest QC, as the
 * Block-tree's generate_block does (DiemBFT v4, §3.3 "Block-tree"). */
static enum blok_err handle_block_ready(struct blok_cons *c, const struct blok_header *h,
                                        struct blok_cons_actions *out) {
  if (h->round != c->round || blok_cons_leader(c, h->round) != c->self ||
      c->proposed_round >= h->round || h->epoch != c->epoch ||
      memcmp(h->parent, c->high_qc.vote.block_hash, 32) != 0 ||
      h->height != c->high_qc.vote.height + 1 || memcmp(h->proposer, c->key->pk, 32) != 0)
    return BLOK_EINVAL;
  struct blok_cons_msg *msg = new_msg(out, BLOK_CONS_MSG_PROPOSAL);
  struct blok_cons_proposal *p = &msg->u.proposal;
  p->header = *h;
  p->qc = c->high_qc;
  if (c->has_tc && c->high_tc.round + 1 == h->round) {
    p->has_tc = true;
    p->tc = c->high_tc;
  }
  uint8_t hash[32];
  BLOK_TRY(blok_header_hash(h, hash));
  BLOK_TRY(blok_sign_domain(p->sig, c->key, BLOK_CONS_PROPOSAL_TAG, c->chain_id, hash, 32));
  c->proposed_round = h->round;
  act(out, BLOK_CONS_ACT_BROADCAST)->msg = msg;
  return handle_proposal(c, p, out);
}

static enum blok_err handle_msg(struct blok_cons *c, const struct blok_cons_msg *m,
                                struct blok_cons_actions *out) {
  switch (m->kind) {
    case BLOK_CONS_MSG_PROPOSAL:
      return handle_proposal(c, &m->u.proposal, out);
    case BLOK_CONS_MSG_VOTE:
      return handle_vote(c, &m->u.vote, out);
    case BLOK_CONS_MSG_TIMEOUT:
      return handle_timeout(c, &m->u.timeout, out);
    case BLOK_CONS_MSG_QC:
      return handle_qc(c, &m->u.qc, out);
  }
  return BLOK_EINVAL;
}

static void start(struct blok_cons *c, struct blok_cons_actions *out) {
  set_timer(c, out);
  if (blok_cons_leader(c, c->round) != c->self || c->proposed_round >= c->round) return;
  struct blok_cons_action *a = act(out, BLOK_CONS_ACT_PROPOSE);
  a->round = c->round;
  memcpy(a->hash, c->high_qc.vote.block_hash, 32);
  a->height = c->high_qc.vote.height;
}

/* One event in, its actions out: the report's event loop (DiemBFT v4, §3.1 "Main",
 * start_event_processing). */
enum blok_err blok_cons_step(struct blok_cons *c, const struct blok_cons_event *ev,
                             struct blok_cons_actions *out) {
  out->count = 0;
  out->msg_count = 0;
  prune(c);
  switch (ev->kind) {
    case BLOK_CONS_EV_START:
      start(c, out);
      return BLOK_OK;
    case BLOK_CONS_EV_MSG:
      return handle_msg(c, ev->msg, out);
    case BLOK_CONS_EV_TIMER:
      return handle_timer(c, ev->round, out);
    case BLOK_CONS_EV_BLOCK_READY:
      return handle_block_ready(c, ev->header, out);
  }
  return BLOK_EINVAL;
}

static enum blok_err init_root(struct blok_cons *c, const struct blok_cons_config *cfg) {
  struct blok__cons_block *b = &c->blocks[0];
  b->used = b->committed = b->has_qc = true;
  memcpy(b->hash, cfg->root_hash, 32);
  b->round = cfg->root_round;
  b->height = cfg->root_height;
  memcpy(c->committed_hash, cfg->root_hash, 32);
  c->committed_round = cfg->root_round;
  c->genesis_root = cfg->root_qc == NULL;
  if (c->genesis_root) {
    if (cfg->root_round != 0 || cfg->root_height != 0) return BLOK_EINVAL;
    c->genesis_qc.vote.epoch = c->epoch;
    memcpy(c->genesis_qc.vote.block_hash, cfg->root_hash, 32);
    c->genesis_qc.validator_count = (uint16_t)c->n;
    b->qc = c->genesis_qc;
  } else {
    BLOK_TRY(check_qc(c, cfg->root_qc));
    b->qc = *cfg->root_qc;
  }
  c->high_qc = b->qc;
  if (cfg->high_tc != NULL) {
    if (cfg->high_tc->epoch != c->epoch) return BLOK_EINVAL;
    BLOK_TRY(blok_tc_verify(cfg->high_tc, c->chain_id, &c->validators[0][0], c->n));
    c->has_tc = true;
    c->high_tc = *cfg->high_tc;
  }
  if (cfg->high_qc == NULL) return BLOK_OK;
  BLOK_TRY(check_qc(c, cfg->high_qc));
  if (cfg->high_qc->vote.round > c->high_qc.vote.round) c->high_qc = *cfg->high_qc;
  return BLOK_OK;
}

enum blok_err blok_cons_init(struct blok_cons *c, const struct blok_cons_config *cfg) {
  memset(c, 0, sizeof *c);
  if (cfg->n == 0 || cfg->n > BLOK_VALIDATORS_MAX || cfg->self >= cfg->n || cfg->key == NULL ||
      cfg->chain_id == NULL || !blok_sign_chain_id_valid(cfg->chain_id) ||
      cfg->base_timeout_ms == 0 || cfg->max_timeout_ms < cfg->base_timeout_ms)
    return BLOK_EINVAL;
  if (memcmp(cfg->key->pk, cfg->validators + 32 * cfg->self, 32) != 0) return BLOK_EINVAL;
  memcpy(c->chain_id, cfg->chain_id, strlen(cfg->chain_id) + 1);
  c->epoch = cfg->epoch;
  c->n = cfg->n;
  c->self = cfg->self;
  memcpy(c->validators, cfg->validators, 32 * cfg->n);
  c->key = cfg->key;
  c->base_timeout_ms = cfg->base_timeout_ms;
  c->max_timeout_ms = cfg->max_timeout_ms;
  c->safety.epoch = cfg->epoch;
  if (cfg->safety != NULL) {
    if (cfg->safety->epoch != cfg->epoch) return BLOK_EINVAL;
    c->safety = *cfg->safety;
  }
  BLOK_TRY(init_root(c, cfg));
  /* The round the certificates reach: the persisted TC counts too, so a restarted validator
   * is back where it left off (and may time out of that round again). */
  c->round = c->high_qc.vote.round + 1;
  if (c->has_tc && c->high_tc.round + 1 > c->round) c->round = c->high_tc.round + 1;
  /* A restarted leader must not sign a second proposal for a round it already voted in. */
  c->proposed_round = c->safety.last_voted_round;
  return BLOK_OK;
}
