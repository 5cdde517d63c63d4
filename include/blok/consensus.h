/*
 * The consensus core: Jolteon / DiemBFT v4 two-chain HotStuff (docs/CONSENSUS.md) as a pure
 * state machine. Events go in (a message from a peer, a timer that fired, a block the node
 * built), actions come out (send, broadcast, persist the safety record, commit, set a timer,
 * build a block). The core reads no clock, does no I/O and draws no randomness: signing goes
 * through the injected key pair (Ed25519 is deterministic), time arrives as TIMER events, and
 * the node performs the actions in order. That is what lets tests and the simulator run many
 * cores in one process from a script.
 *
 * The core never allocates: struct blok_cons and struct blok_cons_actions are caller-owned
 * and bounded (they are large, hundreds of KiB: allocate them on the heap). Pointers inside
 * actions point into the core or the action list and stay valid until the next call.
 */
#ifndef BLOK_CONSENSUS_H
#define BLOK_CONSENSUS_H

#include <stdbool.h>

#include "blok/block.h"

#define BLOK_CONS_PROPOSAL_TAG "blokauto/proposal/v1"
#define BLOK_CONS_TIMEOUT_TAG  "blokauto/timeout/v1"
/* Uncommitted blocks the core tracks (the tree above the committed head). */
#define BLOK_CONS_BLOCKS_MAX 32
/* Blocks being voted on at once (round, hash): f + 1 Byzantine voters can open one each. */
#define BLOK_CONS_VOTE_SLOTS 8
/* Rounds whose timeouts are being collected at once. */
#define BLOK_CONS_TIMEOUT_SLOTS 4
#define BLOK_CONS_MSGS_MAX      6
#define BLOK_CONS_ACTIONS_MAX   (BLOK_CONS_BLOCKS_MAX + 16)

/* A timeout certificate: 2f+1 timeouts for one round. hqc_rounds[k] and sigs[k] belong to the
 * k-th signer in validator order (bit i of signers, as in struct blok_qc). */
struct blok_tc {
  uint64_t epoch;
  uint64_t round;
  uint16_t validator_count;
  uint8_t signers[BLOK_VALIDATORS_MAX / 8];
  uint16_t sig_count;
  uint64_t hqc_rounds[BLOK_VALIDATORS_MAX];
  uint8_t sigs[BLOK_VALIDATORS_MAX][BLOK_SIGN_SIG_LEN];
};

struct blok_cons_proposal {
  struct blok_header header;
  struct blok_qc qc; /* certifies header.parent */
  bool has_tc;
  struct blok_tc tc; /* for round header.round - 1, when the previous round timed out */
  uint8_t sig[BLOK_SIGN_SIG_LEN]; /* the leader's, over the block hash */
};

struct blok_cons_vote {
  uint16_t from;
  struct blok_vote_data vote;
  uint8_t sig[BLOK_SIGN_SIG_LEN];
};

struct blok_cons_timeout {
  uint16_t from;
  uint64_t epoch;
  uint64_t round;
  struct blok_qc high_qc; /* signed through its round only */
  uint8_t sig[BLOK_SIGN_SIG_LEN];
  /* The sender's highest TC (not signed by the timeout: a TC proves itself). It brings a
   * validator that fell behind (restarted, partitioned) to the round the others are in. */
  bool has_tc;
  struct blok_tc tc;
};

/* QC: a certificate the leader that formed it broadcasts at once, so the others commit (two-chain
 * rule) and enter the next round without waiting for its proposal (docs/CONSENSUS.md). */
enum blok_cons_msg_kind {
  BLOK_CONS_MSG_PROPOSAL = 1,
  BLOK_CONS_MSG_VOTE,
  BLOK_CONS_MSG_TIMEOUT,
  BLOK_CONS_MSG_QC
};

struct blok_cons_msg {
  enum blok_cons_msg_kind kind;
  union {
    struct blok_cons_proposal proposal;
    struct blok_cons_vote vote;
    struct blok_cons_timeout timeout;
    struct blok_qc qc;
  } u;
};

/* The safety record (docs/CONSENSUS.md, "Safety rules"). Persisted, with the highest QC,
 * before any vote or timeout of the validator leaves the node. */
struct blok_cons_safety {
  uint64_t epoch;
  uint64_t last_voted_round;
  uint64_t preferred_round; /* highest QC round in a block voted for (one-chain round) */
  uint64_t highest_timeout_round;
  bool has_last_vote;
  struct blok_vote_data last_vote;
  uint8_t last_vote_sig[BLOK_SIGN_SIG_LEN];
};

enum blok_cons_event_kind {
  BLOK_CONS_EV_START = 1,   /* once, after init: arms the first timer, maybe asks for a block */
  BLOK_CONS_EV_MSG,         /* a message from a peer */
  BLOK_CONS_EV_TIMER,       /* the timer set for round fired */
  BLOK_CONS_EV_BLOCK_READY, /* the node built the block a PROPOSE action asked for */
};

struct blok_cons_event {
  enum blok_cons_event_kind kind;
  const struct blok_cons_msg *msg;  /* EV_MSG */
  uint64_t round;                   /* EV_TIMER */
  const struct blok_header *header; /* EV_BLOCK_READY */
};

enum blok_cons_action_kind {
  BLOK_CONS_ACT_SEND = 1,       /* msg to validator `to` */
  BLOK_CONS_ACT_BROADCAST,      /* msg to every other validator */
  BLOK_CONS_ACT_PERSIST_SAFETY, /* write and sync safety + high_qc before the next action */
  BLOK_CONS_ACT_COMMIT,         /* block hash (height, round) is final; qc certifies it */
  BLOK_CONS_ACT_SET_TIMER,      /* fire EV_TIMER for round after delay_ms (replaces the last) */
  BLOK_CONS_ACT_PROPOSE,        /* build a block for round on parent, answer with BLOCK_READY */
};

struct blok_cons_action {
  enum blok_cons_action_kind kind;
  size_t to;
  const struct blok_cons_msg *msg;
  const struct blok_cons_safety *safety;
  const struct blok_qc *qc; /* PERSIST_SAFETY: the highest QC; COMMIT: the block's QC */
  const struct blok_tc *tc; /* PERSIST_SAFETY: the highest TC, or NULL */
  uint8_t hash[32];         /* COMMIT: the block; PROPOSE: the parent */
  uint64_t height;          /* COMMIT: the block's; PROPOSE: the parent's */
  uint64_t round;           /* COMMIT: the block's; SET_TIMER, PROPOSE: the round */
  uint64_t delay_ms;
};

struct blok_cons_actions {
  size_t count;
  struct blok_cons_action a[BLOK_CONS_ACTIONS_MAX];
  size_t msg_count;
  struct blok_cons_msg msgs[BLOK_CONS_MSGS_MAX];
};

struct blok_cons_config {
  const char *chain_id;
  uint64_t epoch;
  size_t n;                            /* validators, 1..BLOK_VALIDATORS_MAX */
  const uint8_t *validators;           /* n packed 32-byte keys, in genesis order */
  size_t self;                         /* this validator's index */
  const struct blok_sign_keypair *key; /* must match validators[self]; the caller keeps it */
  /* The committed head the core starts from: the genesis block (round 0, height 0, root_qc
   * NULL) or, after a restart, the ledger's head and its QC. */
  uint8_t root_hash[32];
  uint64_t root_round;
  uint64_t root_height;
  const struct blok_qc *root_qc;
  /* After a restart: the last persisted safety record and highest QC (NULL when fresh). */
  const struct blok_cons_safety *safety;
  const struct blok_qc *high_qc;
  const struct blok_tc *high_tc; /* the persisted highest TC, or NULL */
  uint64_t base_timeout_ms;
  uint64_t max_timeout_ms;
};

struct blok__cons_block {
  bool used, committed, has_qc;
  uint8_t hash[32];
  uint8_t parent[32];
  uint64_t round, height;
  struct blok_qc qc; /* the QC that certifies this block, once seen */
};

struct blok__cons_votes {
  bool used, formed;
  struct blok_vote_data vote;
  uint8_t signers[BLOK_VALIDATORS_MAX / 8];
  size_t count;
  uint8_t sigs[BLOK_VALIDATORS_MAX][BLOK_SIGN_SIG_LEN]; /* by validator index */
};

struct blok__cons_timeouts {
  bool used, formed;
  uint64_t round;
  uint8_t signers[BLOK_VALIDATORS_MAX / 8];
  size_t count;
  uint64_t hqc_rounds[BLOK_VALIDATORS_MAX]; /* by validator index */
  uint8_t sigs[BLOK_VALIDATORS_MAX][BLOK_SIGN_SIG_LEN];
};

/* Caller-owned; fields are private to src/consensus. */
struct blok_cons {
  char chain_id[BLOK_SIGN_CHAIN_ID_MAX + 1];
  uint64_t epoch;
  size_t n, self;
  uint8_t validators[BLOK_VALIDATORS_MAX][32];
  const struct blok_sign_keypair *key;
  uint64_t base_timeout_ms, max_timeout_ms;
  uint64_t round;          /* pacemaker: current round */
  uint32_t failures;       /* rounds entered by TC since the last one entered by QC */
  uint64_t proposed_round; /* last round this validator proposed in */
  struct blok_cons_safety safety;
  struct blok_qc genesis_qc; /* the empty round-0 QC, when rooted at genesis */
  bool genesis_root;
  struct blok_qc high_qc;
  bool has_tc;
  struct blok_tc high_tc;
  uint8_t committed_hash[32];
  uint64_t committed_round;
  struct blok__cons_block blocks[BLOK_CONS_BLOCKS_MAX];
  struct blok__cons_votes votes[BLOK_CONS_VOTE_SLOTS];
  struct blok__cons_timeouts timeouts[BLOK_CONS_TIMEOUT_SLOTS];
};

/* Sets up c from cfg. BLOK_EINVAL for a bad configuration (n, self, the key does not match
 * validators[self], chain id, a high QC or safety record of another epoch). */
BLOK_WUR enum blok_err blok_cons_init(struct blok_cons *c, const struct blok_cons_config *cfg);
/*
 * Feeds one event; out is cleared and filled with the actions to perform, in order. Input
 * from a peer is refused with an error and changes nothing the peer could exploit:
 * BLOK_EBADSIG (a signature, including one inside a QC or TC), BLOK_EBADPROOF (a certificate
 * with too few or misplaced signers), BLOK_EINVAL (wrong epoch, chain, sender index, a
 * proposal whose header does not extend its QC), BLOK_EPERM (a proposal not from the round's
 * leader, or a valid proposal the safety rules refuse to vote for: a second block for a
 * round already voted in, or one that breaks the voting rule), BLOK_EDUPLICATE (a vote or
 * timeout already counted), BLOK_EFULL (bounded tables full). Stale but valid messages are
 * BLOK_OK with no action. Actions already in out when an error returns must still be
 * performed (a certificate in a refused proposal may have advanced the round).
 */
BLOK_WUR enum blok_err blok_cons_step(struct blok_cons *c, const struct blok_cons_event *ev,
                                      struct blok_cons_actions *out);
/* The leader of round r: validators[r mod n] (docs/CONSENSUS.md, "Leader rotation"). */
size_t blok_cons_leader(const struct blok_cons *c, uint64_t round);
uint64_t blok_cons_round(const struct blok_cons *c);
/* Whether the block is in the core's tree (proposals it refused, or of a round its
 * certificates do not reach, are not). */
bool blok_cons_has_block(const struct blok_cons *c, const uint8_t hash[32]);

/* TEST ONLY: when true, the voting rule forgets that a validator may vote once per round.
 * The simulator sets it to prove that its checker finds the violations this causes; nothing
 * else may (a node never does). */
extern bool blok_cons_test_break_vote_rule;

/* Verifies a TC against a validator set: count, bitmap, quorum, every signature over its
 * signer's (epoch, round, hqc round), and every hqc round below the TC's round. */
BLOK_WUR enum blok_err blok_tc_verify(const struct blok_tc *tc, const char *chain_id,
                                      const uint8_t *validators, size_t n);
/* The largest highest-QC round in a TC. */
uint64_t blok_tc_hqc_max(const struct blok_tc *tc);

#endif
