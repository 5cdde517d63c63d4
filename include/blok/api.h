/*
 * The HTTP API (docs/API.md), served with libmicrohttpd and JSON through jansson. It reads the
 * ledger through read transactions and submits to the mempool; it never blocks the block
 * producer. Every request body, connection count and wait is bounded; every error is JSON
 * {"error": {"code": "...", "message": "..."}} with a fitting status.
 */
#ifndef BLOK_API_H
#define BLOK_API_H

#include "blok/ledger.h"
#include "blok/mempool.h"
#include "blok/metrics.h"
#include "blok/notify.h"

struct blok_api_deps {
  struct blok_ledger *ledger;
  struct blok_mempool *mempool;
  struct blok_notify *notify; /* announced after each commit */
  struct blok_metrics *metrics;
  /* Called (on an API thread) for each transaction the mempool accepted from a client, so the
   * node can gossip it to the other validators; may be NULL. */
  void (*accepted)(void *ctx, const uint8_t *raw, size_t len);
  void *accepted_ctx;
  /* What this node is, for GET /v1/status: a validator (its index in the genesis) or, with
   * observer set, an observer. */
  bool observer;
  size_t validator_index;
};

struct blok_api_opts {
  const char *host;         /* an IP address to listen on, e.g. "127.0.0.1" */
  uint16_t port;            /* 0 = pick a free port (see blok_api_port) */
  size_t body_bytes_max;    /* 0 = 1 MiB */
  unsigned connections_max; /* 0 = 256 */
  unsigned wait_ms_default; /* ?wait=commit without timeout_ms; 0 = 10,000 */
  unsigned wait_ms_max;     /* 0 = 60,000 */
  const char *web_dir;      /* static files served at / (NULL: none) */
};

struct blok_api;

/* Starts serving on its own threads. ledger, mempool and notify are required; metrics may be
 * NULL (the API then counts into its own). BLOK_EINVAL for a host that is not an IP address,
 * BLOK_EIO with a reason (address in use ...). */
BLOK_WUR enum blok_err blok_api_start(struct blok_api **out, const struct blok_api_opts *o,
                                      const struct blok_api_deps *d, struct blok_why *why);
/* The port it listens on. */
uint16_t blok_api_port(const struct blok_api *a);
/* Stops accepting, finishes or cancels requests in flight (a request waiting for a commit
 * answers 503 within 200 ms), frees everything. */
void blok_api_stop(struct blok_api *a);

#endif
