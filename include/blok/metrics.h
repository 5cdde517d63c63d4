/*
 * Node metrics, served as Prometheus text at GET /metrics. Counters are atomics written by the
 * block producer and the HTTP threads; rendering reads them without locks.
 */
#ifndef BLOK_METRICS_H
#define BLOK_METRICS_H

#include <stdatomic.h>

#include "blok/buf.h"

/* Upper bounds of the request-latency histogram buckets, in microseconds (then +Inf). */
#define BLOK_METRICS_LATENCY_BUCKETS                                                               \
  { 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000 }
#define BLOK_METRICS_LATENCY_BUCKET_COUNT 12

struct blok_metrics {
  _Atomic uint64_t height;           /* committed head */
  _Atomic uint64_t blocks_committed; /* since start */
  _Atomic uint64_t txs_committed;    /* in committed blocks, applied or refused by a module */
  _Atomic uint64_t txs_failed;       /* committed with a module refusal */
  _Atomic uint64_t last_block_interval_ms;
  _Atomic uint64_t last_block_commit_us; /* the consensus step that committed the last block */
  _Atomic uint64_t round;                /* a validator's consensus round (0: not a validator) */
  _Atomic uint64_t requests;
  _Atomic uint64_t request_latency_us_sum;
  _Atomic uint64_t request_latency_buckets[BLOK_METRICS_LATENCY_BUCKET_COUNT + 1]; /* +Inf last */
};

void blok_metrics_init(struct blok_metrics *m);
/* Records one HTTP request's latency. */
void blok_metrics_request(struct blok_metrics *m, uint64_t latency_us);

#endif
