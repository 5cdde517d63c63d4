/*
 * Node metrics (blok/metrics.h) and their Prometheus page, text format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Counters are relaxed atomics:
 * a page may mix values from slightly different moments, which Prometheus tolerates, but the
 * histogram is made cumulative from one snapshot of its buckets so that its buckets never
 * decrease and its +Inf bucket equals its count.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api_internal.h"
#include "blok/banned.h"

static const uint64_t latency_bounds_us[BLOK_METRICS_LATENCY_BUCKET_COUNT] =
    BLOK_METRICS_LATENCY_BUCKETS;

void blok_metrics_init(struct blok_metrics *m) {
  atomic_init(&m->height, 0);
  atomic_init(&m->blocks_committed, 0);
  atomic_init(&m->txs_committed, 0);
  atomic_init(&m->txs_failed, 0);
  atomic_init(&m->last_block_interval_ms, 0);
  atomic_init(&m->last_block_commit_us, 0);
  atomic_init(&m->round, 0);
  atomic_init(&m->requests, 0);
  atomic_init(&m->request_latency_us_sum, 0);
  for (size_t i = 0; i < BLOK_ARRAY_LEN(m->request_latency_buckets); i++)
    atomic_init(&m->request_latency_buckets[i], 0);
}

void blok_metrics_request(struct blok_metrics *m, uint64_t latency_us) {
  size_t i = 0;
  while (i < BLOK_METRICS_LATENCY_BUCKET_COUNT && latency_us > latency_bounds_us[i])
    i++;
  atomic_fetch_add_explicit(&m->request_latency_buckets[i], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->request_latency_us_sum, latency_us, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->requests, 1, memory_order_relaxed);
}

static uint64_t get(const _Atomic uint64_t *v) {
  return atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)v, memory_order_relaxed);
}

static enum blok_err put(struct blok_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum blok_err put(struct blok_buf *out, const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  BLOK_ASSERT(n > 0 && (size_t)n < sizeof line); /* our own format strings */
  return blok_buf_append(out, line, (size_t)n);
}

/* Microseconds as decimal seconds without trailing zeros: 2500 -> "0.0025". */
static void seconds(char *out, size_t cap, uint64_t us) {
  int n = snprintf(out, cap, "%llu.%06llu", (unsigned long long)(us / 1000000u),
                   (unsigned long long)(us % 1000000u));
  BLOK_ASSERT(n > 0 && (size_t)n < cap);
  while (n > 0 && out[n - 1] == '0')
    out[--n] = '\0';
  if (n > 0 && out[n - 1] == '.') out[--n] = '\0';
}

static enum blok_err metric(struct blok_buf *out, const char *name, const char *type,
                            const char *help, uint64_t v) {
  BLOK_TRY(put(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type));
  return put(out, "%s %llu\n", name, (unsigned long long)v);
}

static enum blok_err histogram(struct blok_buf *out, const struct blok_metrics *m) {
  const char *name = "blok_http_request_duration_seconds";
  uint64_t b[BLOK_METRICS_LATENCY_BUCKET_COUNT + 1], total = 0;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(b); i++)
    b[i] = get(&m->request_latency_buckets[i]);
  BLOK_TRY(put(out, "# HELP %s Time from a request's arrival to its completion.\n", name));
  BLOK_TRY(put(out, "# TYPE %s histogram\n", name));
  char le[32];
  for (size_t i = 0; i < BLOK_METRICS_LATENCY_BUCKET_COUNT; i++) {
    total += b[i];
    seconds(le, sizeof le, latency_bounds_us[i]);
    BLOK_TRY(put(out, "%s_bucket{le=\"%s\"} %llu\n", name, le, (unsigned long long)total));
  }
  total += b[BLOK_METRICS_LATENCY_BUCKET_COUNT];
  BLOK_TRY(put(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)total));
  seconds(le, sizeof le, get(&m->request_latency_us_sum));
  BLOK_TRY(put(out, "%s_sum %s\n", name, le[0] ? le : "0"));
  return put(out, "%s_count %llu\n", name, (unsigned long long)total);
}

enum blok_err blok__metrics_render(struct blok_buf *out, const struct blok_metrics *m,
                                   uint64_t height, const struct blok_mempool_stats *mp,
                                   uint64_t workers_cpu_us) {
  char s[32];
  BLOK_TRY(metric(out, "blok_height", "gauge", "Height of the committed head.", height));
  BLOK_TRY(metric(out, "blok_blocks_committed_total", "counter",
                  "Blocks committed since the node started.", get(&m->blocks_committed)));
  BLOK_TRY(metric(out, "blok_txs_committed_total", "counter",
                  "Transactions in committed blocks, applied or refused by their module.",
                  get(&m->txs_committed)));
  BLOK_TRY(metric(out, "blok_txs_failed_total", "counter",
                  "Transactions committed with a refusal from their module.", get(&m->txs_failed)));
  BLOK_TRY(metric(out, "blok_mempool_transactions", "gauge",
                  "Transactions in the mempool, verifying or ready.", mp->count));
  BLOK_TRY(metric(out, "blok_mempool_bytes", "gauge",
                  "Encoded bytes of the transactions in the mempool.", mp->bytes));
  BLOK_TRY(metric(out, "blok_signatures_verified_total", "counter",
                  "Transaction signatures checked by the mempool's workers.", mp->verified));
  seconds(s, sizeof s, workers_cpu_us);
  BLOK_TRY(put(out, "# HELP blok_mempool_workers_cpu_seconds_total Processor time of the "
                    "mempool's signature-checking workers.\n# TYPE "
                    "blok_mempool_workers_cpu_seconds_total counter\n"));
  BLOK_TRY(put(out, "blok_mempool_workers_cpu_seconds_total %s\n", s[0] ? s : "0"));
  BLOK_TRY(metric(out, "blok_block_interval_ms", "gauge",
                  "Milliseconds between the last two committed blocks.",
                  get(&m->last_block_interval_ms)));
  seconds(s, sizeof s, get(&m->last_block_commit_us));
  BLOK_TRY(put(out, "# HELP blok_block_commit_seconds Time of the consensus step that committed "
                    "the last block.\n# TYPE blok_block_commit_seconds gauge\n"));
  BLOK_TRY(put(out, "blok_block_commit_seconds %s\n", s[0] ? s : "0"));
  BLOK_TRY(metric(out, "blok_consensus_round", "gauge",
                  "The validator's consensus round (0 on an observer).", get(&m->round)));
  BLOK_TRY(metric(out, "blok_http_requests_total", "counter", "HTTP requests completed.",
                  get(&m->requests)));
  return histogram(out, m);
}
