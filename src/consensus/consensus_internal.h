/*
 * Private to src/consensus: the safety rules and the signed byte strings, shared by the core
 * (core.c) and the safety module (safety.c) and called directly by the unit tests.
 */
#ifndef BLOK_CONSENSUS_INTERNAL_H
#define BLOK_CONSENSUS_INTERNAL_H

#include "blok/consensus.h"

/* u64 epoch || u64 round || u64 height || fixed[32] hash: the bytes of a vote, as block.c. */
void blok__cons_vote_bytes(const struct blok_vote_data *v, uint8_t out[56]);
/* u64 epoch || u64 round || u64 hqc_round: the bytes of a timeout. */
void blok__cons_timeout_bytes(uint64_t epoch, uint64_t round, uint64_t hqc_round, uint8_t out[24]);

/* The voting rule; on BLOK_OK the record is updated for the vote. BLOK_EPERM otherwise. */
BLOK_WUR enum blok_err blok__cons_safe_vote(struct blok_cons_safety *s, uint64_t round,
                                            uint64_t qc_round, const struct blok_tc *tc);
/* The timeout rule; on BLOK_OK the record is updated for the timeout. BLOK_EPERM otherwise. */
BLOK_WUR enum blok_err blok__cons_safe_timeout(struct blok_cons_safety *s, uint64_t round,
                                               uint64_t hqc_round, const struct blok_tc *tc);

#endif
