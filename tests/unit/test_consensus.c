/*
 * The consensus core (docs/CONSENSUS.md): the safety rules alone, then whole cores driven by
 * a tiny deterministic in-test network: a FIFO of messages delivered one at a time, timers
 * that fire only when the test says time has passed, and a "disk" per validator that keeps
 * what PERSIST_SAFETY actions wrote. Every run checks, for every validator, that it never
 * sends two different votes for one round and that its commits are consecutive heights, and
 * that all validators commit the same blocks in the same order.
 */
#include "test_util.h"

#include "../../src/consensus/consensus_internal.h"
#include "blok/consensus.h"
#include "blok/banned.h"

#define CHAIN   "blokauto-test"
#define N_MAX   4
#define Q_MAX   512
#define LOG_MAX 128
#define BASE_MS 1000
#define MAX_MS  8000

struct node {
  struct blok_cons *c;
  struct blok_sign_keypair kp;
  bool has_disk;
  struct blok_cons_safety disk;
  struct blok_qc *disk_qc;
  uint64_t silent_from, silent_to; /* ignores PROPOSE for these rounds */
  bool propose_pending;
  uint64_t propose_round, propose_height;
  uint8_t propose_parent[32];
  uint64_t timer_round, timer_delay[LOG_MAX];
  uint8_t voted[LOG_MAX][32]; /* block voted for in round r (zeros: none) */
  size_t commits;
  size_t commits_on_qc_msg; /* commits made when a broadcast QC arrived */
  uint8_t commit_hash[LOG_MAX][32];
  uint64_t commit_round[LOG_MAX];
};

struct net {
  size_t n;
  uint8_t validators[N_MAX * 32];
  struct node nodes[N_MAX];
  struct blok_cons_actions *out;
  size_t q_head, q_tail;
  size_t q_to[Q_MAX];
  struct blok_cons_msg *q_msg[Q_MAX];
  size_t errors;
  uint64_t stop_round; /* PROPOSE for later rounds waits: time does not pass */
  int delivering;      /* the kind of the message being delivered, 0 when none */
};

static const uint8_t genesis_hash[32] = {0xaa, 0xbb};
static const uint8_t zero[32];

static void keypair(struct blok_sign_keypair *kp, size_t i) {
  uint8_t seed[32];
  memset(seed, (int)(i + 1), sizeof seed);
  assert_int_equal(blok_sign_keypair_from_seed(kp, seed), BLOK_OK);
}

static void config(struct net *net, size_t i, struct blok_cons_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->chain_id = CHAIN;
  cfg->n = net->n;
  cfg->validators = net->validators;
  cfg->self = i;
  cfg->key = &net->nodes[i].kp;
  memcpy(cfg->root_hash, genesis_hash, 32);
  cfg->base_timeout_ms = BASE_MS;
  cfg->max_timeout_ms = MAX_MS;
}

static struct net *net_new(size_t n) {
  struct net *net = calloc(1, sizeof *net);
  assert_non_null(net);
  net->n = n;
  net->stop_round = 12;
  net->out = calloc(1, sizeof *net->out);
  assert_non_null(net->out);
  for (size_t i = 0; i < n; i++) {
    keypair(&net->nodes[i].kp, i);
    memcpy(net->validators + 32 * i, net->nodes[i].kp.pk, 32);
  }
  for (size_t i = 0; i < n; i++) {
    struct blok_cons_config cfg;
    config(net, i, &cfg);
    net->nodes[i].c = calloc(1, sizeof(struct blok_cons));
    net->nodes[i].disk_qc = calloc(1, sizeof(struct blok_qc));
    assert_non_null(net->nodes[i].c);
    assert_int_equal(blok_cons_init(net->nodes[i].c, &cfg), BLOK_OK);
  }
  return net;
}

static void net_free(struct net *net) {
  for (size_t i = net->q_head; i < net->q_tail; i++)
    free(net->q_msg[i]);
  for (size_t i = 0; i < net->n; i++) {
    free(net->nodes[i].c);
    free(net->nodes[i].disk_qc);
    blok_sign_keypair_clear(&net->nodes[i].kp);
  }
  free(net->out);
  free(net);
}

static void enqueue(struct net *net, size_t to, const struct blok_cons_msg *m) {
  assert_true(net->q_tail < Q_MAX);
  net->q_to[net->q_tail] = to;
  net->q_msg[net->q_tail] = malloc(sizeof *m);
  assert_non_null(net->q_msg[net->q_tail]);
  memcpy(net->q_msg[net->q_tail++], m, sizeof *m);
}

/* The invariant: one block per round per voter, whatever restarts happened. */
static void record_vote(struct node *nd, const struct blok_vote_data *v) {
  assert_true(v->round < LOG_MAX);
  if (memcmp(nd->voted[v->round], zero, 32) != 0)
    assert_memory_equal(nd->voted[v->round], v->block_hash, 32);
  memcpy(nd->voted[v->round], v->block_hash, 32);
}

static void commit(struct net *net, struct node *nd, const struct blok_cons_action *a) {
  assert_true(nd->commits < LOG_MAX);
  assert_int_equal(a->height, nd->commits + 1); /* consecutive, in order */
  assert_memory_equal(a->qc->vote.block_hash, a->hash, 32);
  assert_int_equal(blok_qc_verify(a->qc, CHAIN, net->validators, net->n), BLOK_OK);
  memcpy(nd->commit_hash[nd->commits], a->hash, 32);
  nd->commit_round[nd->commits++] = a->round;
  if (net->delivering == BLOK_CONS_MSG_QC) nd->commits_on_qc_msg++;
}

static void perform(struct net *net, size_t i) {
  struct node *nd = &net->nodes[i];
  bool persisted = false;
  for (size_t k = 0; k < net->out->count; k++) {
    const struct blok_cons_action *a = &net->out->a[k];
    switch (a->kind) {
      case BLOK_CONS_ACT_SEND:
        assert_true(a->to != i && a->to < net->n);
        if (a->msg->kind == BLOK_CONS_MSG_VOTE) {
          /* The safety record is on disk before the vote leaves (a re-sent one already was). */
          const struct blok_vote_data *v = &a->msg->u.vote.vote;
          assert_true(persisted ||
                      (nd->has_disk && memcmp(&nd->disk.last_vote, v, sizeof *v) == 0));
          record_vote(nd, v);
        }
        enqueue(net, a->to, a->msg);
        break;
      case BLOK_CONS_ACT_BROADCAST:
        if (a->msg->kind == BLOK_CONS_MSG_TIMEOUT) assert_true(persisted);
        for (size_t j = 0; j < net->n; j++)
          if (j != i) enqueue(net, j, a->msg);
        break;
      case BLOK_CONS_ACT_PERSIST_SAFETY:
        persisted = true;
        nd->has_disk = true;
        nd->disk = *a->safety;
        *nd->disk_qc = *a->qc;
        if (a->safety->has_last_vote) record_vote(nd, &a->safety->last_vote);
        break;
      case BLOK_CONS_ACT_COMMIT:
        commit(net, nd, a);
        break;
      case BLOK_CONS_ACT_SET_TIMER:
        assert_true(a->round < LOG_MAX);
        nd->timer_round = a->round;
        nd->timer_delay[a->round] = a->delay_ms;
        break;
      case BLOK_CONS_ACT_PROPOSE:
        nd->propose_pending = true;
        nd->propose_round = a->round;
        nd->propose_height = a->height;
        memcpy(nd->propose_parent, a->hash, 32);
        break;
    }
  }
}

static enum blok_err step(struct net *net, size_t i, const struct blok_cons_event *ev) {
  enum blok_err rc = blok_cons_step(net->nodes[i].c, ev, net->out);
  perform(net, i);
  /* Timeouts are re-sent while a round lasts: their duplicates are expected. */
  if (rc != BLOK_OK && rc != BLOK_EDUPLICATE) net->errors++;
  return rc;
}

static void header(struct blok_header *h, const struct blok_sign_keypair *kp, uint64_t round,
                   uint64_t height, const uint8_t parent[32], uint8_t salt) {
  memset(h, 0, sizeof *h);
  h->version = BLOK_BLOCK_VERSION;
  memcpy(h->chain_id, CHAIN, sizeof CHAIN);
  h->height = height;
  h->round = round;
  memcpy(h->parent, parent, 32);
  h->timestamp_ms = 1700000000000u + round;
  memcpy(h->proposer, kp->pk, 32);
  h->state_root[0] = salt;
}

static void propose(struct net *net, size_t i) {
  struct node *nd = &net->nodes[i];
  nd->propose_pending = false;
  if (nd->propose_round >= nd->silent_from && nd->propose_round <= nd->silent_to) return;
  struct blok_header h;
  header(&h, &nd->kp, nd->propose_round, nd->propose_height + 1, nd->propose_parent, 0);
  struct blok_cons_event ev = {.kind = BLOK_CONS_EV_BLOCK_READY, .header = &h};
  assert_int_equal(step(net, i, &ev), BLOK_OK);
}

/* Delivers messages and builds requested blocks until nothing is left to do. */
static void run(struct net *net) {
  for (size_t guard = 0; guard < 100000; guard++) {
    bool busy = false;
    for (size_t i = 0; i < net->n; i++)
      if (net->nodes[i].propose_pending && net->nodes[i].propose_round <= net->stop_round) {
        propose(net, i);
        busy = true;
      }
    if (net->q_head < net->q_tail) {
      size_t k = net->q_head++;
      struct blok_cons_event ev = {.kind = BLOK_CONS_EV_MSG, .msg = net->q_msg[k]};
      net->delivering = (int)net->q_msg[k]->kind;
      (void)step(net, net->q_to[k], &ev);
      net->delivering = 0;
      free(net->q_msg[k]);
      busy = true;
    }
    if (!busy) return;
  }
  fail_msg("network did not go quiet");
}

static void start_all(struct net *net) {
  struct blok_cons_event ev = {.kind = BLOK_CONS_EV_START};
  for (size_t i = 0; i < net->n; i++)
    assert_int_equal(step(net, i, &ev), BLOK_OK);
}

/* Validator i's round timer fires. */
static void fire_timer(struct net *net, size_t i) {
  struct blok_cons_event ev = {.kind = BLOK_CONS_EV_TIMER, .round = net->nodes[i].timer_round};
  assert_int_equal(step(net, i, &ev), BLOK_OK);
}

static void fire_timers(struct net *net) {
  for (size_t i = 0; i < net->n; i++)
    fire_timer(net, i);
}

/* All validators committed the same blocks in the same order (as far as each got). */
static size_t check_agreement(const struct net *net) {
  size_t least = SIZE_MAX;
  for (size_t i = 0; i < net->n; i++) {
    const struct node *nd = &net->nodes[i];
    if (nd->commits < least) least = nd->commits;
    for (size_t k = 0; k < nd->commits && k < net->nodes[0].commits; k++)
      assert_memory_equal(nd->commit_hash[k], net->nodes[0].commit_hash[k], 32);
  }
  return least;
}

/* --- the safety rules alone --------------------------------------------------------------- */

static void test_safety_rules(void **state) {
  (void)state;
  struct blok_cons_safety s = {0};
  struct blok_tc tc = {.round = 4, .sig_count = 3, .hqc_rounds = {2, 3, 1}};
  assert_int_equal(blok__cons_safe_vote(&s, 3, 2, NULL), BLOK_OK); /* extends QC of r - 1 */
  assert_int_equal(s.last_voted_round, 3);
  assert_int_equal(s.preferred_round, 2);
  assert_int_equal(blok__cons_safe_vote(&s, 3, 2, NULL), BLOK_EPERM); /* twice in a round */
  assert_int_equal(blok__cons_safe_vote(&s, 2, 1, NULL), BLOK_EPERM); /* an older round */
  assert_int_equal(blok__cons_safe_vote(&s, 5, 2, NULL), BLOK_EPERM); /* gap, no TC */
  assert_int_equal(blok__cons_safe_vote(&s, 5, 2, &tc), BLOK_EPERM);  /* qc below hqc_max 3 */
  assert_int_equal(blok__cons_safe_vote(&s, 6, 3, &tc), BLOK_EPERM);  /* TC not of r - 1 */
  assert_int_equal(s.last_voted_round, 3);
  assert_int_equal(blok__cons_safe_vote(&s, 5, 3, &tc), BLOK_OK);
  assert_int_equal(s.preferred_round, 3);

  /* Timeouts: from the current round only, with a high QC not below the preferred round,
   * and no vote in that round afterwards. */
  struct blok_cons_safety t = {.last_voted_round = 4, .preferred_round = 3};
  assert_int_equal(blok__cons_safe_timeout(&t, 3, 2, NULL), BLOK_EPERM);
  assert_int_equal(blok__cons_safe_timeout(&t, 5, 2, &tc), BLOK_EPERM);  /* hqc 2 < 3 */
  assert_int_equal(blok__cons_safe_timeout(&t, 6, 3, NULL), BLOK_EPERM); /* not r - 1 */
  assert_int_equal(blok__cons_safe_timeout(&t, 5, 4, NULL), BLOK_OK);
  assert_int_equal(t.last_voted_round, 5);
  assert_int_equal(t.highest_timeout_round, 5);
  assert_int_equal(blok__cons_safe_vote(&t, 5, 4, NULL), BLOK_EPERM);
}

/* --- whole cores -------------------------------------------------------------------------- */

static void test_single_validator(void **state) {
  (void)state;
  struct net *net = net_new(1);
  net->stop_round = 20;
  start_all(net);
  run(net);
  struct node *nd = &net->nodes[0];
  /* Each round certifies its block at once and commits the parent: 19 of 20 blocks. */
  assert_int_equal(blok_cons_round(nd->c), 21);
  assert_int_equal(nd->commits, 19);
  for (size_t k = 0; k < nd->commits; k++)
    assert_int_equal(nd->commit_round[k], k + 1);
  assert_int_equal(nd->timer_delay[20], BASE_MS);
  assert_int_equal(net->errors, 0);
  net_free(net);
}

/* The pacemaker alone: the single validator stays silent in rounds 3 to 6; each timeout
 * doubles the next round's timer up to the cap, and the first block resets it. */
static void test_single_validator_timeouts(void **state) {
  (void)state;
  struct net *net = net_new(1);
  struct node *nd = &net->nodes[0];
  nd->silent_from = 3;
  nd->silent_to = 6;
  net->stop_round = 7;
  start_all(net);
  run(net);
  for (uint64_t r = 3; r <= 6; r++) {
    assert_int_equal(blok_cons_round(nd->c), r);
    fire_timers(net);
    run(net);
  }
  /* Round 7's block extends round 2's and is certified at once, but that is no 2-chain of
   * consecutive rounds: round 2's block stays uncommitted until round 8 certifies its child. */
  assert_int_equal(blok_cons_round(nd->c), 8);
  assert_int_equal(nd->commits, 1);
  net->stop_round = 12;
  run(net);
  assert_int_equal(net->errors, 0);
  uint64_t want[] = {0,           BASE_MS,     BASE_MS, BASE_MS, 2 * BASE_MS,
                     4 * BASE_MS, 8 * BASE_MS, MAX_MS,  BASE_MS};
  for (size_t r = 1; r < BLOK_ARRAY_LEN(want); r++)
    assert_int_equal(nd->timer_delay[r], want[r]);
  /* Round 7 extends round 2's block after the TC; round 8's QC commits 7 and, with it, 2. */
  assert_int_equal(nd->commits, 7); /* blocks of rounds 1, 2 and 7 to 12, the last uncommitted */
  assert_int_equal(nd->commit_round[1], 2);
  assert_int_equal(nd->commit_round[2], 7);
  net_free(net);
}

static enum blok_err deliver(struct net *net, size_t i, const struct blok_cons_msg *m);

/*
 * Four validators, nothing wrong: every round commits. The leader that forms a QC broadcasts it
 * at once, and the others commit on it before its next proposal. A QC message is checked as
 * one in a proposal: a bad signature is refused and moves nothing; a good one for blocks a
 * validator has not seen brings it to the next round and commits nothing.
 */
static void test_four_happy_path(void **state) {
  (void)state;
  struct net *net = net_new(4);
  start_all(net);
  run(net);
  assert_int_equal(net->errors, 0);
  assert_true(check_agreement(net) >= 10);
  for (size_t i = 0; i < 4; i++) {
    const struct node *nd = &net->nodes[i];
    for (size_t k = 0; k < nd->commits; k++)
      assert_int_equal(nd->commit_round[k], k + 1);        /* no round was lost */
    assert_true(nd->commits_on_qc_msg * 2 >= nd->commits); /* it forms one QC in four */
  }
  struct blok_cons_msg *m = calloc(1, sizeof *m);
  assert_non_null(m);
  m->kind = BLOK_CONS_MSG_QC;
  m->u.qc = net->nodes[0].c->high_qc;
  struct net *fresh = net_new(4);
  start_all(fresh);
  uint64_t round = blok_cons_round(fresh->nodes[1].c);
  m->u.qc.sigs[0][5] ^= 1;
  assert_int_not_equal(deliver(fresh, 1, m), BLOK_OK);
  assert_int_equal(blok_cons_round(fresh->nodes[1].c), round);
  m->u.qc.sigs[0][5] ^= 1;
  assert_int_equal(deliver(fresh, 1, m), BLOK_OK);
  assert_int_equal(blok_cons_round(fresh->nodes[1].c), m->u.qc.vote.round + 1);
  assert_int_equal(fresh->nodes[1].commits, 0);
  free(m);
  net_free(fresh);
  net_free(net);
}

static void test_silent_leader(void **state) {
  (void)state;
  struct net *net = net_new(4);
  net->nodes[3].silent_from = 3; /* the leader of round 3 */
  net->nodes[3].silent_to = 3;
  start_all(net);
  run(net);
  for (size_t i = 0; i < 4; i++)
    assert_true(blok_cons_round(net->nodes[i].c) <= 3);
  for (int tries = 0; tries < 4 && blok_cons_round(net->nodes[0].c) < 5; tries++) {
    fire_timers(net);
    run(net);
  }
  assert_int_equal(net->errors, 0);
  for (size_t i = 0; i < 4; i++) {
    const struct node *nd = &net->nodes[i];
    assert_true(blok_cons_round(nd->c) > 5);
    assert_true(nd->disk.highest_timeout_round >= 3);
    assert_int_equal(memcmp(nd->voted[3], zero, 32), 0); /* no block in round 3 */
    assert_true(nd->timer_delay[4] >= 2 * BASE_MS);      /* entered by TC: doubled */
    assert_int_equal(nd->timer_delay[6], BASE_MS);       /* progress: reset */
  }
  /* Heights stay consecutive though round 3 has no block; round 2's block was committed
   * together with round 4's, as its ancestor. */
  size_t got = check_agreement(net);
  assert_true(got >= 6);
  assert_int_equal(net->nodes[0].commit_round[1], 2);
  assert_int_equal(net->nodes[0].commit_round[2], 4);
  net_free(net);
}

/* Round 3's leader is silent and only validators 0 and 1 time out (their timers fire; 2's and
 * 3's do not): their f + 1 = 2 timeouts make 2 and 3 time out at once, so a TC forms and
 * everybody moves on without waiting for the slower timers (DiemBFT v4's Bracha timeout). One
 * timeout alone moves nobody. */
static void test_timeout_echo(void **state) {
  (void)state;
  struct net *net = net_new(4);
  net->nodes[3].silent_from = 3;
  net->nodes[3].silent_to = 3;
  start_all(net);
  run(net);
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(blok_cons_round(net->nodes[i].c), 3);
  fire_timer(net, 0);
  run(net);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(blok_cons_round(net->nodes[i].c), 3); /* f timeouts: nobody joins */
    assert_true(i == 0 || net->nodes[i].disk.highest_timeout_round < 3);
  }
  fire_timer(net, 1);
  run(net);
  assert_int_equal(net->errors, 0);
  for (size_t i = 0; i < 4; i++) {
    assert_true(blok_cons_round(net->nodes[i].c) > 3);
    assert_true(net->nodes[i].disk.highest_timeout_round >= 3); /* 2 and 3 timed out too */
  }
  net_free(net);
}

/* --- single cores fed crafted messages ---------------------------------------------------- */

static void sign_qc(struct net *net, struct blok_qc *qc, uint64_t round, uint64_t height,
                    const uint8_t hash[32]) {
  memset(qc, 0, sizeof *qc);
  qc->vote.round = round;
  qc->vote.height = height;
  memcpy(qc->vote.block_hash, hash, 32);
  qc->validator_count = (uint16_t)net->n;
  for (size_t i = 0; i < blok_quorum(net->n); i++) {
    qc->signers[i / 8] = (uint8_t)(qc->signers[i / 8] | (1u << (i % 8)));
    assert_int_equal(blok_vote_sign(qc->sigs[qc->sig_count++], CHAIN, &qc->vote, &net->nodes[i].kp),
                     BLOK_OK);
  }
}

static void genesis_qc(struct net *net, struct blok_qc *qc) {
  memset(qc, 0, sizeof *qc);
  memcpy(qc->vote.block_hash, genesis_hash, 32);
  qc->validator_count = (uint16_t)net->n;
}

/* A proposal for round by its leader, on qc, with salt to make conflicting blocks. */
static void make_proposal(struct net *net, struct blok_cons_msg *m, uint64_t round,
                          const struct blok_qc *qc, uint8_t salt, uint8_t hash[32]) {
  memset(m, 0, sizeof *m);
  m->kind = BLOK_CONS_MSG_PROPOSAL;
  struct blok_cons_proposal *p = &m->u.proposal;
  const struct blok_sign_keypair *kp = &net->nodes[round % net->n].kp;
  header(&p->header, kp, round, qc->vote.height + 1, qc->vote.block_hash, salt);
  p->qc = *qc;
  assert_int_equal(blok_header_hash(&p->header, hash), BLOK_OK);
  assert_int_equal(blok_sign_domain(p->sig, kp, BLOK_CONS_PROPOSAL_TAG, CHAIN, hash, 32), BLOK_OK);
}

static size_t count_votes(const struct blok_cons_actions *out) {
  size_t v = 0;
  for (size_t k = 0; k < out->count; k++)
    if (out->a[k].kind == BLOK_CONS_ACT_SEND && out->a[k].msg->kind == BLOK_CONS_MSG_VOTE) v++;
  return v;
}

static enum blok_err deliver(struct net *net, size_t i, const struct blok_cons_msg *m) {
  struct blok_cons_event ev = {.kind = BLOK_CONS_EV_MSG, .msg = m};
  return step(net, i, &ev);
}

static void test_no_double_vote_after_restart(void **state) {
  (void)state;
  struct net *net = net_new(4);
  struct blok_cons_msg *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  assert_non_null(a);
  assert_non_null(b);
  struct blok_qc *g = malloc(sizeof *g);
  assert_non_null(g);
  genesis_qc(net, g);
  uint8_t ha[32], hb[32];
  make_proposal(net, a, 1, g, 1, ha);
  make_proposal(net, b, 1, g, 2, hb);

  /* Validator 0 votes for A and sends the vote to the leader of round 2, after persisting. */
  assert_int_equal(deliver(net, 0, a), BLOK_OK);
  assert_int_equal(count_votes(net->out), 1);
  assert_int_equal(net->out->a[0].kind, BLOK_CONS_ACT_PERSIST_SAFETY);
  const struct blok_cons_action *send = &net->out->a[net->out->count - 1];
  assert_int_equal(send->to, 2);
  uint8_t sig_a[64];
  memcpy(sig_a, send->msg->u.vote.sig, 64);
  assert_int_equal(deliver(net, 0, b), BLOK_EPERM); /* a second block for round 1 */
  assert_int_equal(count_votes(net->out), 0);

  /* Restart from what was persisted: B is still refused, A gets the very same vote. */
  struct blok_cons_config cfg;
  config(net, 0, &cfg);
  assert_true(net->nodes[0].has_disk);
  cfg.safety = &net->nodes[0].disk;
  cfg.high_qc = net->nodes[0].disk_qc;
  assert_int_equal(blok_cons_init(net->nodes[0].c, &cfg), BLOK_OK);
  assert_int_equal(deliver(net, 0, b), BLOK_EPERM);
  assert_int_equal(count_votes(net->out), 0);
  assert_int_equal(deliver(net, 0, a), BLOK_OK);
  assert_int_equal(count_votes(net->out), 1);
  assert_memory_equal(net->out->a[net->out->count - 1].msg->u.vote.sig, sig_a, 64);
  free(a);
  free(b);
  free(g);
  net_free(net);
}

static void test_equivocating_leader(void **state) {
  (void)state;
  struct net *net = net_new(4);
  struct blok_cons_msg *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  struct blok_qc *g = malloc(sizeof *g);
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(g);
  genesis_qc(net, g);
  uint8_t ha[32], hb[32];
  make_proposal(net, a, 1, g, 1, ha);
  make_proposal(net, b, 1, g, 2, hb);
  /* Validators 0 and 3 see A first, 2 sees B first; the leader (1) is the equivocator. */
  size_t order[3][2] = {{0, 1}, {1, 0}, {0, 1}};
  size_t who[3] = {0, 2, 3};
  for (size_t k = 0; k < 3; k++) {
    size_t votes = 0;
    for (size_t j = 0; j < 2; j++) {
      enum blok_err rc = deliver(net, who[k], order[k][j] == 0 ? a : b);
      assert_int_equal(rc, j == 0 ? BLOK_OK : BLOK_EPERM);
      /* Validator 2 is the next leader: its own vote stays inside, seen by the persist. */
      for (size_t x = 0; x < net->out->count; x++)
        if (net->out->a[x].kind == BLOK_CONS_ACT_PERSIST_SAFETY) votes++;
    }
    assert_int_equal(votes, 1);
  }
  net_free(net);
  free(a);
  free(b);
  free(g);
}

static void sign_tc(struct net *net, struct blok_tc *tc, uint64_t round, const uint64_t *hqc) {
  memset(tc, 0, sizeof *tc);
  tc->round = round;
  tc->validator_count = (uint16_t)net->n;
  for (size_t i = 0; i < blok_quorum(net->n); i++) {
    uint8_t bytes[24];
    tc->signers[i / 8] = (uint8_t)(tc->signers[i / 8] | (1u << (i % 8)));
    tc->hqc_rounds[i] = hqc[i];
    blok__cons_timeout_bytes(0, round, hqc[i], bytes);
    assert_int_equal(blok_sign_domain(tc->sigs[i], &net->nodes[i].kp, BLOK_CONS_TIMEOUT_TAG, CHAIN,
                                      bytes, sizeof bytes),
                     BLOK_OK);
    tc->sig_count++;
  }
}

/* After a TC, a proposal may skip rounds only on a QC at least as high as every highest QC
 * the TC reports (the Jolteon voting rule); otherwise a block committed in the round of that
 * higher QC could be forked. */
static void test_vote_after_tc(void **state) {
  (void)state;
  /* Validator 2 votes; the leader of round 5 (validator 1) collects. */
  static const uint64_t low[3] = {1, 1, 0}, high[3] = {1, 2, 1};
  const uint64_t *hqc[2] = {low, high};
  struct net *net = net_new(4);
  struct blok_cons_msg *m = malloc(sizeof *m);
  struct blok_qc *qc = malloc(sizeof *qc);
  assert_non_null(m);
  assert_non_null(qc);
  uint8_t h[32], h1[32] = {9};
  sign_qc(net, qc, 1, 1, h1);
  for (size_t k = 0; k < 2; k++) {
    struct blok_cons_config cfg;
    config(net, 2, &cfg);
    assert_int_equal(blok_cons_init(net->nodes[2].c, &cfg), BLOK_OK);
    make_proposal(net, m, 4, qc, 0, h);
    m->u.proposal.has_tc = true;
    sign_tc(net, &m->u.proposal.tc, 3, hqc[k]);
    assert_int_equal(blok_sign_domain(m->u.proposal.sig, &net->nodes[0].kp, BLOK_CONS_PROPOSAL_TAG,
                                      CHAIN, h, 32),
                     BLOK_OK);
    enum blok_err rc = deliver(net, 2, m);
    assert_int_equal(blok_cons_round(net->nodes[2].c), 4); /* the TC advanced the round */
    assert_int_equal(rc, k == 0 ? BLOK_OK : BLOK_EPERM);
    assert_int_equal(count_votes(net->out), k == 0 ? 1 : 0);
  }
  /* A proposal that skips a round without a TC gets no vote. */
  struct blok_cons_config cfg;
  config(net, 2, &cfg);
  assert_int_equal(blok_cons_init(net->nodes[2].c, &cfg), BLOK_OK);
  make_proposal(net, m, 3, qc, 0, h);
  assert_int_equal(deliver(net, 2, m), BLOK_OK);
  assert_int_equal(blok_cons_round(net->nodes[2].c), 2);
  assert_int_equal(count_votes(net->out), 0);
  free(m);
  free(qc);
  net_free(net);
}

static void test_bad_signatures(void **state) {
  (void)state;
  struct net *net = net_new(4);
  struct blok_cons_msg *m = malloc(sizeof *m);
  struct blok_qc *qc = malloc(sizeof *qc);
  assert_non_null(m);
  assert_non_null(qc);
  uint8_t h[32], h1[32] = {7};

  /* A proposal whose own signature is broken. */
  genesis_qc(net, qc);
  make_proposal(net, m, 1, qc, 0, h);
  m->u.proposal.sig[5] ^= 1;
  assert_int_equal(deliver(net, 0, m), BLOK_EBADSIG);
  /* Signed by someone who is not the round's leader. */
  make_proposal(net, m, 1, qc, 0, h);
  memcpy(m->u.proposal.header.proposer, net->nodes[2].kp.pk, 32);
  assert_int_equal(deliver(net, 0, m), BLOK_EPERM);
  /* A forged genesis QC (round 0 for another block). */
  qc->vote.block_hash[0] ^= 1;
  make_proposal(net, m, 1, qc, 0, h);
  assert_int_equal(deliver(net, 0, m), BLOK_EBADPROOF);
  /* A QC with one bad signature inside an otherwise good proposal. */
  sign_qc(net, qc, 1, 1, h1);
  qc->sigs[1][3] ^= 1;
  make_proposal(net, m, 2, qc, 0, h);
  assert_int_equal(deliver(net, 0, m), BLOK_EBADSIG);
  /* A QC with too few signers. */
  sign_qc(net, qc, 1, 1, h1);
  qc->signers[0] = 0x03;
  qc->sig_count = 2;
  make_proposal(net, m, 2, qc, 0, h);
  assert_int_equal(deliver(net, 0, m), BLOK_EBADPROOF);
  assert_int_equal(blok_cons_round(net->nodes[0].c), 1); /* nothing was learnt */

  /* A vote with a bad signature, to the leader of the next round. */
  memset(m, 0, sizeof *m);
  m->kind = BLOK_CONS_MSG_VOTE;
  m->u.vote.from = 0;
  m->u.vote.vote.round = 1;
  m->u.vote.vote.height = 1;
  assert_int_equal(blok_vote_sign(m->u.vote.sig, CHAIN, &m->u.vote.vote, &net->nodes[0].kp),
                   BLOK_OK);
  m->u.vote.from = 1; /* someone else's signature */
  assert_int_equal(deliver(net, 2, m), BLOK_EBADSIG);
  m->u.vote.from = 0;
  assert_int_equal(deliver(net, 2, m), BLOK_OK);
  assert_int_equal(deliver(net, 2, m), BLOK_EDUPLICATE);

  /* A timeout with a bad signature, and a TC whose hqc round was changed after signing. */
  memset(m, 0, sizeof *m);
  m->kind = BLOK_CONS_MSG_TIMEOUT;
  m->u.timeout.from = 3;
  m->u.timeout.round = 1;
  genesis_qc(net, &m->u.timeout.high_qc);
  uint8_t bytes[24];
  blok__cons_timeout_bytes(0, 1, 0, bytes);
  assert_int_equal(blok_sign_domain(m->u.timeout.sig, &net->nodes[3].kp, BLOK_CONS_TIMEOUT_TAG,
                                    CHAIN, bytes, sizeof bytes),
                   BLOK_OK);
  m->u.timeout.sig[63] ^= 0x10;
  assert_int_equal(deliver(net, 0, m), BLOK_EBADSIG);

  struct blok_tc *tc = calloc(1, sizeof *tc);
  assert_non_null(tc);
  tc->round = 5;
  tc->validator_count = 4;
  for (size_t i = 0; i < 3; i++) {
    tc->signers[0] = (uint8_t)(tc->signers[0] | (1u << i));
    tc->hqc_rounds[i] = 3;
    blok__cons_timeout_bytes(0, 5, 3, bytes);
    assert_int_equal(blok_sign_domain(tc->sigs[i], &net->nodes[i].kp, BLOK_CONS_TIMEOUT_TAG, CHAIN,
                                      bytes, sizeof bytes),
                     BLOK_OK);
  }
  tc->sig_count = 3;
  assert_int_equal(blok_tc_verify(tc, CHAIN, net->validators, 4), BLOK_OK);
  assert_int_equal(blok_tc_hqc_max(tc), 3);
  tc->hqc_rounds[1] = 4; /* claims a higher QC than it signed */
  assert_int_equal(blok_tc_verify(tc, CHAIN, net->validators, 4), BLOK_EBADSIG);
  tc->hqc_rounds[1] = 3;
  tc->sig_count = 2;
  tc->signers[0] = 0x03;
  assert_int_equal(blok_tc_verify(tc, CHAIN, net->validators, 4), BLOK_EBADPROOF);
  free(tc);
  free(m);
  free(qc);
  net_free(net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_safety_rules),
      cmocka_unit_test(test_single_validator),
      cmocka_unit_test(test_single_validator_timeouts),
      cmocka_unit_test(test_four_happy_path),
      cmocka_unit_test(test_silent_leader),
      cmocka_unit_test(test_timeout_echo),
      cmocka_unit_test(test_no_double_vote_after_restart),
      cmocka_unit_test(test_equivocating_leader),
      cmocka_unit_test(test_vote_after_tc),
      cmocka_unit_test(test_bad_signatures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
