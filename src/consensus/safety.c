/*
 * The safety module of Jolteon / DiemBFT v4 (§3.4 "Safety"; docs/CONSENSUS.md, "Safety rules"):
 * the voting and timeout rules over the small persisted record, and the verification of timeout
 * certificates. These few checks are what keeps an honest validator from ever signing two
 * conflicting messages; everything else in the core is liveness.
 */
#include <string.h>

#include "consensus_internal.h"

#include "blok/banned.h"

bool blok_cons_test_break_vote_rule = false;

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

void blok__cons_vote_bytes(const struct blok_vote_data *v, uint8_t out[56]) {
  put_u64(out, v->epoch);
  put_u64(out + 8, v->round);
  put_u64(out + 16, v->height);
  memcpy(out + 24, v->block_hash, 32);
}

void blok__cons_timeout_bytes(uint64_t epoch, uint64_t round, uint64_t hqc_round, uint8_t out[24]) {
  put_u64(out, epoch);
  put_u64(out + 8, round);
  put_u64(out + 16, hqc_round);
}

/*
 * Jolteon's voting rule (Jolteon paper, the 2-chain voting rule; DiemBFT v4, §3.4 "Safety",
 * safe_to_vote with safe_to_extend; aptos safety rules `safe_to_vote`): vote in round r only once
 * (r above the last voted round), and only for a block that extends the QC of round r - 1, or,
 * after round r - 1 timed out, a QC at least as high as every highest QC the TC's signers reported.
 * The second half is what makes the 2-chain commit safe across a view change: a block committed in
 * round k had 2f+1 votes whose senders all hold a QC of round >= k, so some of them are in any TC,
 * and its hqc_max >= k.
 */
enum blok_err blok__cons_safe_vote(struct blok_cons_safety *s, uint64_t round, uint64_t qc_round,
                                   const struct blok_tc *tc) {
  if (round <= s->last_voted_round && !blok_cons_test_break_vote_rule) return BLOK_EPERM;
  bool extends_qc = round == qc_round + 1;
  bool after_tc = tc != NULL && round == tc->round + 1 && qc_round >= blok_tc_hqc_max(tc);
  if (!extends_qc && !after_tc) return BLOK_EPERM;
  s->last_voted_round = round;
  if (qc_round > s->preferred_round) s->preferred_round = qc_round;
  return BLOK_OK;
}

/*
 * The timeout rule (DiemBFT v4, §3.4 "Safety", `safe_to_timeout`): a validator leaves
 * round r only from round r (entered by a QC or TC of r - 1), reports a highest QC no lower
 * than one it already voted on top of, and never votes in round r afterwards.
 */
enum blok_err blok__cons_safe_timeout(struct blok_cons_safety *s, uint64_t round,
                                      uint64_t hqc_round, const struct blok_tc *tc) {
  if (round < s->last_voted_round) return BLOK_EPERM;
  bool after_qc = round == hqc_round + 1;
  bool after_tc = tc != NULL && round == tc->round + 1;
  if ((!after_qc && !after_tc) || hqc_round < s->preferred_round) return BLOK_EPERM;
  s->last_voted_round = round;
  if (round > s->highest_timeout_round) s->highest_timeout_round = round;
  return BLOK_OK;
}

static bool bit(const uint8_t *bits, size_t i) {
  return (bits[i / 8] >> (i % 8)) & 1;
}

uint64_t blok_tc_hqc_max(const struct blok_tc *tc) {
  uint64_t m = 0;
  for (size_t k = 0; k < tc->sig_count && k < BLOK_VALIDATORS_MAX; k++)
    if (tc->hqc_rounds[k] > m) m = tc->hqc_rounds[k];
  return m;
}

enum blok_err blok_tc_verify(const struct blok_tc *tc, const char *chain_id,
                             const uint8_t *validators, size_t n) {
  if (tc->validator_count != n || n == 0 || n > BLOK_VALIDATORS_MAX) return BLOK_EBADPROOF;
  size_t signers = 0;
  for (size_t i = 0; i < BLOK_VALIDATORS_MAX; i++)
    if (bit(tc->signers, i)) {
      if (i >= n) return BLOK_EBADPROOF;
      signers++;
    }
  if (signers != tc->sig_count || signers < blok_quorum(n)) return BLOK_EBADPROOF;
  for (size_t i = 0, k = 0; i < n; i++) {
    if (!bit(tc->signers, i)) continue;
    if (tc->hqc_rounds[k] >= tc->round) return BLOK_EBADPROOF;
    uint8_t m[24];
    blok__cons_timeout_bytes(tc->epoch, tc->round, tc->hqc_rounds[k], m);
    BLOK_TRY(blok_verify_domain(tc->sigs[k], validators + 32 * i, BLOK_CONS_TIMEOUT_TAG, chain_id,
                                m, sizeof m));
    k++;
  }
  return BLOK_OK;
}
